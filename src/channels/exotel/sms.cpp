// Exotel SMS (v1): building Sms/send.json requests, reading SMSMessage replies (send and
// details), and parsing delivery reports (DLR).
#include <string>

#include "channels/exotel/exotel.hpp"
#include "core/json.hpp"

namespace banxway::exotel {

using namespace detail;
using messaging::DeliveryStatus;

DeliveryStatus sms_status(int64_t code, std::string_view status) {
  if (code > 0) {
    if (code >= 23000 && code < 25000) return DeliveryStatus::failed;
    if (code == 20005 || code == 20006) return DeliveryStatus::delivered;
    if (code == 21010 || code == 21015) return DeliveryStatus::queued;  // not yet at the operator
    if (code == 21020) return DeliveryStatus::sent;  // submitted, pending on the operator
    if (code >= 20000 && code < 30000) return DeliveryStatus::sent;  // unknown 2xxxx
  }
  std::string s = lower(trim(status));
  if (s == "delivered") return DeliveryStatus::delivered;
  if (s == "sent" || s == "submitted") return DeliveryStatus::sent;
  if (s == "failed" || s == "failed-dnd" || s == "failed_dnd" || s == "undelivered" ||
      s == "expired" || s == "rejected" || s.starts_with("failed"))
    return DeliveryStatus::failed;
  return DeliveryStatus::queued;  // queued, sending, unknown
}

Result<net::FormFields> build_sms_form(const messaging::ProviderAccount& acct,
                                       const messaging::OutboundMessage& m) {
  const std::string& from = m.from.empty() ? acct.from : m.from;
  if (trim(from).empty()) return InvalidArgument("exotel sms: From: missing (no sender id on the message or the account)");
  if (trim(m.to).empty()) return InvalidArgument("exotel sms: To: missing");
  if (m.text.empty()) return InvalidArgument("exotel sms: Body: missing (SMS needs text)");
  if (m.template_message || m.media)
    return InvalidArgument("exotel sms: templates and media are WhatsApp-only; SMS takes text");
  size_t chars = 0;  // UTF-8 code points
  for (unsigned char c : m.text) chars += (c & 0xC0) != 0x80;
  if (chars > 2000) return InvalidArgument("exotel sms: Body is over 2000 characters");
  net::FormFields f;
  f.emplace_back("From", from);
  f.emplace_back("To", m.to);
  f.emplace_back("Body", m.text);
  if (!m.status_callback_url.empty()) f.emplace_back("StatusCallback", m.status_callback_url);
  if (!m.reference.empty()) f.emplace_back("CustomField", m.reference);
  auto pick = [](const std::string& a, const std::string& b) -> const std::string& {
    return a.empty() ? b : a;
  };
  if (const auto& v = pick(m.dlt_entity_id, acct.dlt_entity_id); !v.empty())
    f.emplace_back("DltEntityId", v);
  if (const auto& v = pick(m.dlt_template_id, acct.dlt_template_id); !v.empty())
    f.emplace_back("DltTemplateId", v);
  if (const auto& v = pick(m.sms_type, acct.sms_type); !v.empty()) f.emplace_back("SmsType", v);
  return f;
}

namespace {

// The first SMSMessage object in a reply of any tolerated shape.
const json::Value* find_sms_message(const json::Value& v) {
  if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      if (const json::Value* m = find_sms_message(e)) return m;
    return nullptr;
  }
  if (!v.IsObject()) return nullptr;
  if (const json::Value* m = json::get(v, "SMSMessage")) {
    if (m->IsObject()) return m;
    if (m->IsArray()) {
      for (const auto& e : m->GetArray()) {
        if (e.IsObject() && json::get(e, "SMSMessage")) return find_sms_message(e);
        if (e.IsObject()) return &e;
      }
    }
    return nullptr;
  }
  if (const json::Value* m = json::get(v, "SMSMessages")) return find_sms_message(*m);
  return nullptr;
}

int64_t detailed_code(const Fields& f) {
  for (const char* k : {"DetailedStatusCode", "ExoStatusCode", "detailed_status_code"})
    if (auto c = to_int(f.get(k))) return *c;
  return 0;
}

// One SMSMessage / DLR as flat fields → StatusUpdate. `sid_key` names the id field for the
// error message.
Result<messaging::StatusUpdate> sms_update(const Fields& f, const char* sid_key,
                                           std::string_view where) {
  messaging::StatusUpdate u;
  u.provider = "exotel";
  u.provider_id = f.get(sid_key);
  if (!f.has(sid_key)) return InvalidArgument(std::string(where) + sid_key + ": missing");
  const int64_t code = detailed_code(f);
  const std::string& status = f.get("Status");
  if (code <= 0 && !f.has("Status") && !f.has("DetailedStatus"))
    return InvalidArgument(std::string(where) + "Status: missing");
  u.status = sms_status(code, status);
  if (code <= 0 && !f.has("Status")) {
    // Only a DetailedStatus string: read it like a Status.
    std::string ds = upper(f.get("DetailedStatus"));
    if (ds.find("FAIL") != std::string::npos || ds.find("BLOCK") != std::string::npos ||
        ds.find("DLT") != std::string::npos)
      u.status = DeliveryStatus::failed;
    else if (ds.find("DELIVERED") != std::string::npos)
      u.status = DeliveryStatus::delivered;
    else if (ds.find("PENDING_ON") != std::string::npos)
      u.status = DeliveryStatus::sent;
  }
  u.provider_status = f.has("DetailedStatus") ? f.get("DetailedStatus")
                      : code > 0              ? std::to_string(code)
                                              : f.get("Status");
  if (u.status == DeliveryStatus::failed) {
    u.error_code = code > 0 ? std::to_string(code) : f.get("Status");
    u.error_message = f.has("DetailedStatus") ? f.get("DetailedStatus") : f.get("Status");
  }
  if (f.has("CustomField")) u.reference = f.get("CustomField");
  for (const char* k : {"DateSent", "DateUpdated"}) {
    if (auto t = parse_time(f.get(k))) {
      u.timestamp = t;
      break;
    }
  }
  return u;
}

}  // namespace

Result<messaging::SendReceipt> parse_sms_send_response(std::string_view body) {
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return Internal("exotel sms send: unreadable reply: " + st.message());
  const json::Value* m = find_sms_message(doc);
  if (!m) return Internal("exotel sms send: reply has no SMSMessage");
  std::string sid = member_text(*m, "Sid");
  if (sid.empty()) return Internal("exotel sms send: reply has no SMSMessage.Sid");
  Fields f;
  add_scalars(*m, &f);
  messaging::SendReceipt r;
  r.provider_id = sid;
  r.status = sms_status(detailed_code(f), f.get("Status"));
  return r;
}

Result<messaging::StatusUpdate> parse_sms_details(std::string_view body) {
  json::Document doc;
  const bool parsed = json::parse(body, &doc).ok();
  const json::Value* m = parsed ? find_sms_message(doc) : nullptr;
  if (!m) {
    if (body.find("No matching") != std::string_view::npos ||
        body.find("no matching") != std::string_view::npos)
      return NotFound("exotel sms details: no such message (No matching results)");
    return Internal("exotel sms details: reply has no SMSMessage");
  }
  Fields f;
  add_scalars(*m, &f);
  return sms_update(f, "Sid", "exotel sms details: SMSMessage.");
}

Result<messaging::StatusUpdate> parse_sms_dlr_fields(const net::FormFields& fields) {
  Fields f(fields);
  return sms_update(f, "SmsSid", "sms dlr: ");
}

Result<messaging::StatusUpdate> parse_sms_dlr(std::string_view content_type,
                                              std::string_view body) {
  BodyKind kind = body_kind(content_type, body);
  if (kind == BodyKind::multipart) {
    auto f = net::multipart_decode(content_type, body);
    if (!f.ok()) return InvalidArgument("sms dlr: malformed multipart body: " + f.status().message());
    return parse_sms_dlr_fields(*f);
  }
  if (kind == BodyKind::form) {
    auto f = net::form_decode(body);
    if (f.ok()) {
      Fields flat(*f);
      if (flat.has("SmsSid") || trim(body).empty() || trim(body)[0] != '{')
        return parse_sms_dlr_fields(*f);
    } else if (trim(body).empty() || trim(body)[0] != '{') {
      return InvalidArgument("sms dlr: malformed form body: " + f.status().message());
    }
    // Form-typed but JSON inside: fall through.
  }
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return InvalidArgument("sms dlr: " + st.message());
  const json::Value* obj = &doc;
  if (doc.IsArray() && !doc.Empty()) obj = &doc[0];
  if (!obj->IsObject()) return InvalidArgument("sms dlr: body is not a JSON object");
  // Some rewritten docs nest the fields; accept {"SmsSid":..} or {"sms":{..}} / {"data":{..}}.
  for (const char* k : {"sms", "data", "SMSMessage"})
    if (const json::Value* inner = json::get(*obj, k); inner && inner->IsObject()) obj = inner;
  Fields f;
  add_scalars(*obj, &f);
  if (!f.has("SmsSid") && f.has("Sid")) f.set("SmsSid", f.get("Sid"));
  return sms_update(f, "SmsSid", "sms dlr: ");
}

}  // namespace banxway::exotel
