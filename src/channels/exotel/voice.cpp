// Exotel voice (v1): click-to-call (Calls/connect.json), call details, and the StatusCallback
// in its three encodings (JSON, form-encoded, multipart).
#include <string>
#include <vector>

#include "channels/exotel/exotel.hpp"
#include "core/json.hpp"

namespace banxway::exotel {

using namespace detail;

Result<net::FormFields> build_call_form(const messaging::ProviderAccount& acct,
                                        const messaging::CallRequest& r) {
  if (trim(r.from).empty()) return InvalidArgument("exotel call: From: missing (the agent's phone)");
  if (trim(r.to).empty()) return InvalidArgument("exotel call: To: missing (the customer's phone)");
  const std::string& caller_id = r.caller_id.empty() ? acct.from : r.caller_id;
  if (trim(caller_id).empty())
    return InvalidArgument("exotel call: CallerId: missing (no ExoPhone on the request or the account)");
  if (r.time_limit_seconds < 0 || r.time_limit_seconds > 14400)
    return InvalidArgument("exotel call: TimeLimit must be 0..14400 seconds");
  net::FormFields f;
  f.emplace_back("From", r.from);
  f.emplace_back("To", r.to);
  f.emplace_back("CallerId", caller_id);
  f.emplace_back("Record", r.record ? "true" : "false");
  if (r.time_limit_seconds > 0) f.emplace_back("TimeLimit", std::to_string(r.time_limit_seconds));
  if (!r.reference.empty()) f.emplace_back("CustomField", r.reference);
  if (!r.status_callback_url.empty()) {
    f.emplace_back("StatusCallback", r.status_callback_url);
    f.emplace_back("StatusCallbackEvents[0]", "terminal");
    f.emplace_back("StatusCallbackEvents[1]", "answered");
    f.emplace_back("StatusCallbackContentType", "application/json");
  }
  return f;
}

namespace {

struct VoiceFields {
  Fields top;
  std::vector<Fields> legs;
};

Fields& leg_at(VoiceFields& v, size_t i) {
  if (v.legs.size() <= i) v.legs.resize(i + 1);
  return v.legs[i];
}

void add_json_legs(const json::Value* legs, VoiceFields* out) {
  if (!legs || !legs->IsArray()) return;
  size_t i = 0;
  for (const auto& l : legs->GetArray()) {
    if (i >= 16) break;
    if (!l.IsObject()) continue;
    const json::Value* leg = &l;
    if (const json::Value* inner = json::get(l, "Leg"); inner && inner->IsObject()) leg = inner;
    add_scalars(*leg, &leg_at(*out, i));
    ++i;
  }
}

VoiceFields from_json(const json::Value& root) {
  VoiceFields v;
  const json::Value* obj = &root;
  if (const json::Value* c = json::get(root, "Call"); c && c->IsObject()) obj = c;
  add_scalars(*obj, &v.top);
  add_json_legs(json::get(*obj, "Legs"), &v);
  if (const json::Value* d = json::get(*obj, "Details"); d && d->IsObject()) {
    add_scalars(*d, &v.top);
    if (v.legs.empty()) add_json_legs(json::get(*d, "Legs"), &v);
  }
  return v;
}

// Form keys: "Legs[0][AnsweredBy]", "Legs[1][Leg][Status]" → legs[i][last bracket].
VoiceFields from_form(const net::FormFields& f) {
  VoiceFields v;
  for (const auto& [k, val] : f) {
    if (k.starts_with("Legs[")) {
      size_t close = k.find(']');
      auto idx = close == std::string::npos ? std::nullopt : to_int(k.substr(5, close - 5));
      size_t lb = k.rfind('['), rb = k.rfind(']');
      if (idx && *idx >= 0 && *idx < 16 && lb > close && rb > lb)
        leg_at(v, static_cast<size_t>(*idx)).set(k.substr(lb + 1, rb - lb - 1), val);
      continue;
    }
    v.top.set(k, val);
  }
  return v;
}

std::string normalize_status(std::string_view s) {
  std::string t = lower(trim(s));
  for (char& c : t)
    if (c == '_' || c == ' ') c = '-';
  if (t == "cancelled") t = "canceled";
  if (t == "noanswer") t = "no-answer";
  if (t == "inprogress") t = "in-progress";
  if (t == "null") t.clear();
  return t;
}

std::string normalize_answered_by(std::string_view s) {
  std::string t = lower(trim(s));
  if (t == "human") return "human";
  if (t == "machine") return "machine";
  return "";  // NotSure, NA, null, anything else
}

Result<messaging::CallUpdate> call_update(const VoiceFields& v, std::string_view where,
                                          const char* sid_key, bool status_required) {
  const Fields& f = v.top;
  messaging::CallUpdate u;
  u.provider = "exotel";
  if (!f.has(sid_key)) return InvalidArgument(std::string(where) + sid_key + ": missing");
  u.call_id = f.get(sid_key);
  u.status = normalize_status(f.get("Status"));
  if (status_required && u.status.empty())
    return InvalidArgument(std::string(where) + "Status: missing");
  if (f.has("From")) u.from = f.get("From");
  if (f.has("To")) u.to = f.get("To");
  std::string dir = lower(f.get("Direction"));
  if (dir.starts_with("outbound"))
    u.direction = "outbound";
  else if (dir.starts_with("inbound") || dir == "incoming")
    u.direction = "inbound";
  u.event_type = lower(trim(f.get("EventType")));
  if (u.event_type != "terminal" && u.event_type != "answered") u.event_type.clear();
  for (const char* k : {"ConversationDuration", "DialCallDuration", "Duration"})
    if (auto d = to_int(f.get(k)); d && *d >= 0) {
      u.duration_seconds = static_cast<int>(*d);
      break;
    }
  // AnsweredBy: the customer's leg (the second, for click-to-call) first, then any leg, then a
  // top-level value (details API).
  std::vector<const Fields*> order;
  if (v.legs.size() > 1) order.push_back(&v.legs[1]);
  for (const auto& l : v.legs) order.push_back(&l);
  for (const Fields* l : order) {
    u.answered_by = normalize_answered_by(l->get("AnsweredBy"));
    if (!u.answered_by.empty()) break;
  }
  if (u.answered_by.empty()) u.answered_by = normalize_answered_by(f.get("AnsweredBy"));
  if (f.has("RecordingUrl")) u.recording_url = f.get("RecordingUrl");
  if (u.recording_url.empty() && f.has("PreSignedRecordingUrl"))
    u.recording_url = f.get("PreSignedRecordingUrl");
  if (f.has("CustomField")) u.reference = f.get("CustomField");
  u.started_at = parse_time(f.get("StartTime"));
  u.ended_at = parse_time(f.get("EndTime"));
  return u;
}

}  // namespace

Result<messaging::CallReceipt> parse_call_response(std::string_view body) {
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return Internal("exotel call: unreadable reply: " + st.message());
  const json::Value* c = json::get(doc, "Call");
  if (c && c->IsArray() && !c->Empty()) c = &(*c)[0];
  if (!c || !c->IsObject()) return Internal("exotel call: reply has no Call");
  messaging::CallReceipt r;
  r.call_id = member_text(*c, "Sid");
  if (r.call_id.empty()) return Internal("exotel call: reply has no Call.Sid");
  r.status = normalize_status(member_text(*c, "Status"));
  return r;
}

Result<messaging::CallUpdate> parse_call_details(std::string_view body) {
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return Internal("exotel call details: unreadable reply: " + st.message());
  const json::Value* c = json::get(doc, "Call");
  if (!c || !c->IsObject()) {
    if (body.find("No matching") != std::string_view::npos)
      return NotFound("exotel call details: no such call (No matching results)");
    return Internal("exotel call details: reply has no Call");
  }
  VoiceFields v = from_json(doc);
  auto u = call_update(v, "exotel call details: Call.", "Sid", /*status_required=*/false);
  if (!u.ok()) return Status(Code::internal, u.status().message());
  return u;
}

Result<messaging::CallUpdate> parse_voice_callback(std::string_view content_type,
                                                   std::string_view body) {
  VoiceFields v;
  switch (body_kind(content_type, body)) {
    case BodyKind::json: {
      json::Document doc;
      if (Status st = json::parse(body, &doc); !st.ok())
        return Status(st.code(), "voice callback: " + st.message());
      const json::Value* obj = &doc;
      if (doc.IsArray() && !doc.Empty()) obj = &doc[0];
      if (!obj->IsObject()) return InvalidArgument("voice callback: body is not a JSON object");
      v = from_json(*obj);
      break;
    }
    case BodyKind::multipart: {
      auto f = net::multipart_decode(content_type, body);
      if (!f.ok())
        return InvalidArgument("voice callback: malformed multipart body: " + f.status().message());
      v = from_form(*f);
      break;
    }
    case BodyKind::form: {
      auto f = net::form_decode(body);
      if (!f.ok())
        return InvalidArgument("voice callback: malformed form body: " + f.status().message());
      v = from_form(*f);
      break;
    }
  }
  return call_update(v, "voice callback: ", "CallSid", /*status_required=*/true);
}

}  // namespace banxway::exotel
