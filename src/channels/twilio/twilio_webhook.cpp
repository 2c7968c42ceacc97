// Twilio webhooks (form-encoded): inbound SMS/WhatsApp, message status callbacks, voice status
// callbacks.
#include <cctype>
#include <charconv>
#include <string>

#include "channels/twilio/twilio.hpp"

namespace banxway::messaging::twilio {
namespace {

constexpr int kMaxMedia = 10;  // Twilio sends at most 10 media per message

const std::string* find(const net::FormFields& f, std::string_view name) {
  for (const auto& [k, v] : f)
    if (k == name) return &v;
  return nullptr;
}

std::string get(const net::FormFields& f, std::string_view name) {
  const std::string* v = find(f, name);
  return v ? *v : std::string();
}

Status required(const net::FormFields& f, std::string_view name, std::string* out) {
  const std::string* v = find(f, name);
  if (!v || v->empty()) return InvalidArgument(std::string(name) + ": missing");
  *out = *v;
  return Status();
}

std::string strip_whatsapp(std::string s) {
  if (s.starts_with("whatsapp:")) s.erase(0, 9);
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string kind_of(std::string_view mime) {
  if (mime.starts_with("image/")) return "image";
  if (mime.starts_with("audio/")) return "audio";
  if (mime.starts_with("video/")) return "video";
  return "document";
}

// The first of several names that is present (Twilio's older names: SmsSid, SmsStatus).
const std::string* first_of(const net::FormFields& f, std::initializer_list<std::string_view> names) {
  for (auto n : names)
    if (const std::string* v = find(f, n); v && !v->empty()) return v;
  return nullptr;
}

Status parse_inbound(std::string_view channel, const net::FormFields& f, WebhookBatch* batch) {
  bool wa = channel == "whatsapp";
  InboundMessage m;
  m.channel = std::string(channel);
  m.provider = "twilio";
  const std::string* sid = first_of(f, {"MessageSid", "SmsMessageSid", "SmsSid"});
  if (!sid) return InvalidArgument("MessageSid: missing");
  m.provider_id = *sid;
  BX_RETURN_IF_ERROR(required(f, "From", &m.from));
  m.to = get(f, "To");
  if (wa) {
    m.from = strip_whatsapp(m.from);
    m.to = strip_whatsapp(m.to);
  }
  m.profile_name = get(f, "ProfileName");
  m.text = get(f, "Body");
  m.reply_to_provider_id = get(f, "OriginalRepliedMessageSid");

  int num_media = 0;
  if (const std::string* n = find(f, "NumMedia"); n && !n->empty()) {
    auto [p, ec] = std::from_chars(n->data(), n->data() + n->size(), num_media);
    if (ec != std::errc() || p != n->data() + n->size() || num_media < 0 || num_media > kMaxMedia)
      return InvalidArgument("NumMedia: not a number from 0 to 10");
  }
  for (int i = 0; i < num_media; ++i) {
    Media media;
    std::string idx = std::to_string(i);
    BX_RETURN_IF_ERROR(required(f, "MediaUrl" + idx, &media.url));
    media.media_type = get(f, "MediaContentType" + idx);
    media.kind = kind_of(media.media_type);
    media.voice_note = wa && media.kind == "audio";  // WhatsApp audio arrives as voice notes
    m.media.push_back(std::move(media));
  }

  if (!m.media.empty()) {
    m.content_type = m.media[0].kind;
    m.media[0].caption = m.text;
  } else if (const std::string* lat = find(f, "Latitude"); lat && !lat->empty()) {
    m.content_type = "location";
    std::string lon = get(f, "Longitude");
    std::string label = get(f, "Label"), address = get(f, "Address");
    std::string text = label;
    if (!address.empty()) text += (text.empty() ? "" : ", ") + address;
    text += (text.empty() ? "(" : " (") + *lat + "," + lon + ")";
    m.text = text;
  } else if (const std::string* b = first_of(f, {"ButtonText", "ButtonPayload"})) {
    m.content_type = "button";
    m.text = *b;
  } else {
    m.content_type = "text";
  }
  batch->messages.push_back(std::move(m));
  return Status();
}

Status parse_status(const net::FormFields& f, const std::string& raw, WebhookBatch* batch) {
  StatusUpdate u;
  u.provider = "twilio";
  const std::string* sid = first_of(f, {"MessageSid", "SmsMessageSid", "SmsSid"});
  if (!sid) return InvalidArgument("MessageSid: missing");
  u.provider_id = *sid;
  u.provider_status = raw;
  u.status = map_message_status(lower(raw)).value_or(DeliveryStatus::queued);
  u.error_code = get(f, "ErrorCode");
  u.error_message = get(f, "ErrorMessage");
  batch->statuses.push_back(std::move(u));
  return Status();
}

Status parse_voice(const net::FormFields& f, WebhookBatch* batch) {
  CallUpdate c;
  c.provider = "twilio";
  BX_RETURN_IF_ERROR(required(f, "CallSid", &c.call_id));
  c.status = lower(get(f, "CallStatus"));
  // A recording status callback carries RecordingUrl without CallStatus.
  if (c.status.empty() && get(f, "RecordingUrl").empty())
    return InvalidArgument("CallStatus: missing");
  c.from = get(f, "From");
  c.to = get(f, "To");
  std::string dir = get(f, "Direction");
  c.direction = dir == "inbound" ? "inbound" : dir.starts_with("outbound") ? "outbound" : "";
  if (std::string d = get(f, "CallDuration"); !d.empty()) {
    int v = -1;
    auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
    if (ec != std::errc() || p != d.data() + d.size() || v < 0)
      return InvalidArgument("CallDuration: not a number of seconds");
    c.duration_seconds = v;
  }
  std::string ab = lower(get(f, "AnsweredBy"));
  c.answered_by = ab == "human" ? "human" : (ab.starts_with("machine") || ab == "fax") ? "machine" : "";
  c.recording_url = get(f, "RecordingUrl");
  if (c.status == "completed" || c.status == "busy" || c.status == "no-answer" ||
      c.status == "failed" || c.status == "canceled")
    c.event_type = "terminal";
  else if (c.status == "in-progress" || c.status == "answered")
    c.event_type = "answered";
  TimePoint t;
  if (parse_rfc2822(get(f, "Timestamp"), &t)) {
    if (c.event_type == "terminal") c.ended_at = t;
    else if (c.event_type == "answered") c.started_at = t;
  }
  batch->calls.push_back(std::move(c));
  return Status();
}

}  // namespace

Result<WebhookBatch> parse_webhook_fields(std::string_view channel, const net::FormFields& f) {
  WebhookBatch batch;
  if (channel == "voice") {
    BX_RETURN_IF_ERROR(parse_voice(f, &batch));
    return batch;
  }
  if (channel != "sms" && channel != "whatsapp")
    return InvalidArgument("twilio: unknown webhook channel '" + std::string(channel) + "'");
  // A status callback has MessageStatus (or the older SmsStatus) and no Body; inbound messages
  // carry Body (possibly empty) and SmsStatus "received".
  const std::string* st = first_of(f, {"MessageStatus", "SmsStatus"});
  bool inbound_status = st && (lower(*st) == "received" || lower(*st) == "receiving");
  if (st && !find(f, "Body") && !inbound_status) {
    BX_RETURN_IF_ERROR(parse_status(f, *st, &batch));
  } else {
    BX_RETURN_IF_ERROR(parse_inbound(channel, f, &batch));
  }
  return batch;
}

}  // namespace banxway::messaging::twilio
