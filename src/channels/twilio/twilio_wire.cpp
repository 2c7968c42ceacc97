// Twilio REST API (2010-04-01): building Messages.json / Calls.json requests and interpreting
// the answers (message and call resources, errors).
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

#include "channels/twilio/twilio.hpp"
#include "core/json.hpp"

namespace banxway::messaging::twilio {
namespace {

constexpr size_t kMaxBodyChars = 1600;  // Messages.json Body
constexpr size_t kMaxProviderMessage = 300;

size_t utf8_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string truncate(std::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "...";
}

std::string with_whatsapp_prefix(std::string_view addr) {
  if (addr.starts_with("whatsapp:")) return std::string(addr);
  return "whatsapp:" + std::string(addr);
}

// A string field, or a number written as text; "" when absent or null.
std::string str_field(const json::Value& obj, const char* key) {
  const json::Value* v = json::get(obj, key);
  if (!v) return "";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  return "";
}

bool is_sid(std::string_view s) {
  if (s.size() < 2 || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::string base_url(const ProviderAccount& acct) {
  std::string b = acct.base_url.empty() ? std::string(kDefaultBaseUrl) : acct.base_url;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}

Result<net::FormFields> build_message_form(const ProviderAccount& acct, const OutboundMessage& m) {
  std::string channel = m.channel.empty() ? acct.channel : m.channel;
  if (channel != "sms" && channel != "whatsapp")
    return InvalidArgument("twilio: messages go over sms or whatsapp, not '" + channel + "'");
  bool wa = channel == "whatsapp";
  if (m.to.empty()) return InvalidArgument("twilio: recipient (to) is missing");
  std::string from = m.from.empty() ? acct.from : m.from;
  if (from.empty()) return InvalidArgument("twilio: no sender (from) on the message or account");

  net::FormFields f;
  f.emplace_back("To", wa ? with_whatsapp_prefix(m.to) : m.to);
  // A Messaging Service SID (MG + 32 hex) sends from the service's pool instead of one number.
  if (from.size() == 34 && from.starts_with("MG") && is_sid(from))
    f.emplace_back("MessagingServiceSid", from);
  else
    f.emplace_back("From", wa ? with_whatsapp_prefix(from) : from);

  std::string body = m.text;
  if (m.template_message) {
    const TemplateMessage& t = *m.template_message;
    // Twilio's WhatsApp templates are Content API templates, addressed by their HX… SID.
    if (!(t.name.starts_with("HX") && is_sid(t.name)))
      return InvalidArgument(
          "twilio: a template must be named by its Content SID (HX…), not '" + t.name + "'");
    if (t.header_media)
      return InvalidArgument("twilio: template header media belongs to the Content template");
    f.emplace_back("ContentSid", t.name);
    if (!t.body_params.empty()) {
      rapidjson::StringBuffer sb;
      json::Writer w(sb);
      w.StartObject();
      for (size_t i = 0; i < t.body_params.size(); ++i) {
        json::key(w, std::to_string(i + 1));
        json::write_str(w, t.body_params[i]);
      }
      w.EndObject();
      f.emplace_back("ContentVariables", std::string(sb.GetString(), sb.GetSize()));
    }
    body.clear();  // the template is the content
  } else {
    if (m.media) {
      if (m.media->url.empty())
        return InvalidArgument("twilio: media must be given by URL (MediaUrl)");
      if (!(m.media->url.starts_with("https://") || m.media->url.starts_with("http://")))
        return InvalidArgument("twilio: MediaUrl must be an http(s) URL");
      if (body.empty()) body = m.media->caption;
    }
    if (body.empty() && !m.media)
      return InvalidArgument("twilio: message has no text, media or template");
    if (utf8_chars(body) > kMaxBodyChars)
      return InvalidArgument("twilio: body longer than 1600 characters");
    if (!body.empty()) f.emplace_back("Body", body);
    if (m.media) f.emplace_back("MediaUrl", m.media->url);
  }
  if (!m.status_callback_url.empty()) f.emplace_back("StatusCallback", m.status_callback_url);
  return f;
}

Result<std::string> build_dial_twiml(std::string_view customer, std::string_view caller_id,
                                     int time_limit_seconds) {
  auto escape = [](std::string_view s, std::string* out) -> bool {
    for (char c : s) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) return false;  // no control characters in TwiML text
      switch (c) {
        case '&': *out += "&amp;"; break;
        case '<': *out += "&lt;"; break;
        case '>': *out += "&gt;"; break;
        case '"': *out += "&quot;"; break;
        case '\'': *out += "&apos;"; break;
        default: *out += c;
      }
    }
    return true;
  };
  if (customer.empty()) return InvalidArgument("twilio: the number to dial is missing");
  std::string x = "<Response><Dial";
  if (!caller_id.empty()) {
    x += " callerId=\"";
    if (!escape(caller_id, &x)) return InvalidArgument("twilio: caller id has control characters");
    x += "\"";
  }
  if (time_limit_seconds > 0) x += " timeLimit=\"" + std::to_string(time_limit_seconds) + "\"";
  x += ">";
  if (!escape(customer, &x)) return InvalidArgument("twilio: number has control characters");
  x += "</Dial></Response>";
  return x;
}

Result<net::FormFields> build_call_form(const ProviderAccount& acct, const CallRequest& r) {
  std::string caller = r.caller_id.empty() ? acct.from : r.caller_id;
  if (caller.empty()) return InvalidArgument("twilio: no caller id on the request or account");
  if (r.from.empty()) return InvalidArgument("twilio: the agent's number (from) is missing");
  if (r.to.empty()) return InvalidArgument("twilio: the customer's number (to) is missing");
  BX_ASSIGN_OR_RETURN(std::string twiml, build_dial_twiml(r.to, caller, r.time_limit_seconds));
  net::FormFields f;
  f.emplace_back("From", caller);
  f.emplace_back("To", r.from);  // first leg: the agent
  f.emplace_back("Twiml", std::move(twiml));
  if (!r.status_callback_url.empty()) {
    f.emplace_back("StatusCallback", r.status_callback_url);
    f.emplace_back("StatusCallbackMethod", "POST");
    f.emplace_back("StatusCallbackEvent", "answered");
    f.emplace_back("StatusCallbackEvent", "completed");
  }
  if (r.record) f.emplace_back("Record", "true");
  if (r.time_limit_seconds > 0) f.emplace_back("TimeLimit", std::to_string(r.time_limit_seconds));
  return f;
}

std::optional<DeliveryStatus> map_message_status(std::string_view s) {
  if (s == "queued" || s == "accepted" || s == "scheduled" || s == "sending")
    return DeliveryStatus::queued;
  if (s == "sent" || s == "partially_delivered") return DeliveryStatus::sent;
  if (s == "delivered") return DeliveryStatus::delivered;
  if (s == "read") return DeliveryStatus::read;
  if (s == "undelivered" || s == "failed" || s == "canceled") return DeliveryStatus::failed;
  return std::nullopt;
}

Status error_status(int http_status, std::string_view body,
                    std::optional<std::chrono::milliseconds> retry_after, bool lookup) {
  std::string message, code, more_info;
  json::Document doc;
  if (!body.empty() && json::parse(body, &doc).ok() && doc.IsObject()) {
    message = str_field(doc, "message");
    code = str_field(doc, "code");
    more_info = str_field(doc, "more_info");
  }
  bool transient = http_status == 429 || http_status >= 500;
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "http_status");
  w.Int(http_status);
  if (!code.empty()) {
    json::key(w, "provider_code");
    json::write_str(w, code);
  }
  if (!more_info.empty()) {
    json::key(w, "more_info");
    json::write_str(w, truncate(more_info, kMaxProviderMessage));
  }
  if (transient && retry_after) {
    json::key(w, "retry_after_ms");
    w.Int64(retry_after->count());
  }
  w.EndObject();
  std::string details(sb.GetString(), sb.GetSize());
  std::string what = "twilio: " + (message.empty() ? "HTTP " + std::to_string(http_status)
                                                   : truncate(message, kMaxProviderMessage));
  if (!code.empty()) what += " (code " + code + ")";
  if (http_status == 401) return Status(Code::unauthenticated, what, details);
  if (transient) return Status(Code::unavailable, what, details);
  if (http_status == 403) return Status(Code::permission_denied, what, details);
  if (http_status == 404 && lookup) return Status(Code::not_found, what, details);
  return InvalidArgument(what, details);
}

Result<SendReceipt> parse_send_response(int http_status, std::string_view body,
                                        std::optional<std::chrono::milliseconds> retry_after) {
  if (http_status < 200 || http_status > 299) return error_status(http_status, body, retry_after);
  json::Document doc;
  if (!json::parse(body, &doc).ok() || !doc.IsObject() || str_field(doc, "sid").empty())
    return Internal("twilio: message accepted (HTTP " + std::to_string(http_status) +
                    ") but the answer has no sid");
  SendReceipt r;
  r.provider_id = str_field(doc, "sid");
  r.status = map_message_status(str_field(doc, "status")).value_or(DeliveryStatus::queued);
  return r;
}

Result<CallReceipt> parse_call_response(int http_status, std::string_view body,
                                        std::optional<std::chrono::milliseconds> retry_after) {
  if (http_status < 200 || http_status > 299) return error_status(http_status, body, retry_after);
  json::Document doc;
  if (!json::parse(body, &doc).ok() || !doc.IsObject() || str_field(doc, "sid").empty())
    return Internal("twilio: call accepted (HTTP " + std::to_string(http_status) +
                    ") but the answer has no sid");
  CallReceipt r;
  r.call_id = str_field(doc, "sid");
  r.status = str_field(doc, "status");
  return r;
}

Result<StatusUpdate> parse_message_resource(std::string_view body) {
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return InvalidArgument("twilio: message resource: " + st.message());
  if (!doc.IsObject()) return InvalidArgument("twilio: message resource is not an object");
  StatusUpdate u;
  u.provider = "twilio";
  u.provider_id = str_field(doc, "sid");
  if (u.provider_id.empty()) return InvalidArgument("sid: missing");
  u.provider_status = str_field(doc, "status");
  if (u.provider_status.empty()) return InvalidArgument("status: missing");
  // Unknown statuses (receiving, received...) rank lowest, so they never move a message back.
  u.status = map_message_status(u.provider_status).value_or(DeliveryStatus::queued);
  u.error_code = str_field(doc, "error_code");
  u.error_message = str_field(doc, "error_message");
  TimePoint t;
  if (parse_rfc2822(str_field(doc, "date_updated"), &t)) u.timestamp = t;
  return u;
}

namespace {

std::string normalize_direction(std::string_view d) {
  if (d == "inbound") return "inbound";
  if (d.starts_with("outbound")) return "outbound";  // outbound-api, outbound-dial
  return "";
}

std::string normalize_answered_by(std::string_view a) {
  std::string s(a);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "human") return "human";
  if (s.starts_with("machine") || s == "fax") return "machine";
  return "";
}

std::string call_event_type(std::string_view status) {
  if (status == "completed" || status == "busy" || status == "no-answer" ||
      status == "failed" || status == "canceled")
    return "terminal";
  if (status == "in-progress" || status == "answered") return "answered";
  return "";
}

int parse_seconds(std::string_view s) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0) return -1;
  return v;
}

}  // namespace

Result<CallUpdate> parse_call_resource(std::string_view body) {
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return InvalidArgument("twilio: call resource: " + st.message());
  if (!doc.IsObject()) return InvalidArgument("twilio: call resource is not an object");
  CallUpdate c;
  c.provider = "twilio";
  c.call_id = str_field(doc, "sid");
  if (c.call_id.empty()) return InvalidArgument("sid: missing");
  c.status = str_field(doc, "status");
  if (c.status.empty()) return InvalidArgument("status: missing");
  c.event_type = call_event_type(c.status);
  c.from = str_field(doc, "from");
  c.to = str_field(doc, "to");
  c.direction = normalize_direction(str_field(doc, "direction"));
  c.duration_seconds = parse_seconds(str_field(doc, "duration"));
  c.answered_by = normalize_answered_by(str_field(doc, "answered_by"));
  TimePoint t;
  if (parse_rfc2822(str_field(doc, "start_time"), &t)) c.started_at = t;
  if (parse_rfc2822(str_field(doc, "end_time"), &t)) c.ended_at = t;
  return c;
}

bool parse_rfc2822(std::string_view s, TimePoint* out) {
  if (s.empty() || s.size() > 64) return false;
  std::string buf(s);
  const char* p = buf.c_str();
  if (const char* comma = std::strchr(p, ','); comma) p = comma + 1;  // "Wed,"
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0, consumed = 0;
  char mon[4] = {0};
  if (std::sscanf(p, " %d %3s %d %d:%d:%d%n", &day, mon, &year, &hh, &mm, &ss, &consumed) != 6)
    return false;
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int month = 0;
  for (int i = 0; i < 12; ++i)
    if (std::strcmp(mon, kMonths[i]) == 0) month = i + 1;
  if (month == 0 || hh > 23 || mm > 59 || ss > 60) return false;
  std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                  std::chrono::day(day)};
  if (!ymd.ok()) return false;
  int offset_min = 0;
  std::string_view zone(p + consumed);
  while (!zone.empty() && zone.front() == ' ') zone.remove_prefix(1);
  if (zone.size() >= 5 && (zone[0] == '+' || zone[0] == '-')) {
    int z = 0;
    auto [q, ec] = std::from_chars(zone.data() + 1, zone.data() + 5, z);
    if (ec != std::errc() || q != zone.data() + 5) return false;
    offset_min = (z / 100) * 60 + z % 100;
    if (zone[0] == '-') offset_min = -offset_min;
  } else if (!(zone.empty() || zone == "GMT" || zone == "UT" || zone == "UTC" || zone == "Z")) {
    return false;
  }
  auto t = std::chrono::sys_days(ymd) + std::chrono::hours(hh) + std::chrono::minutes(mm) +
           std::chrono::seconds(ss) - std::chrono::minutes(offset_min);
  *out = std::chrono::time_point_cast<std::chrono::milliseconds>(t);
  return true;
}

}  // namespace banxway::messaging::twilio
