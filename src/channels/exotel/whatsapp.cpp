// Exotel WhatsApp (v2 unified messages API): the send envelope, the per-element reply, and the
// webhook envelope carrying delivery reports (callback_type "dlr") and inbound messages
// ("icm" / "incoming_message").
#include <string>

#include "channels/exotel/exotel.hpp"
#include "channels/messaging/wire.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"

namespace banxway::exotel {

using namespace detail;
using messaging::DeliveryStatus;

namespace {

bool is_media_kind(std::string_view k) {
  return k == "image" || k == "video" || k == "audio" || k == "document" || k == "sticker";
}

void write_media_object(json::Writer& w, const messaging::Media& media, bool with_caption) {
  w.StartObject();
  json::key(w, "link");
  json::write_str(w, media.url);
  if (with_caption && !media.caption.empty() && media.kind != "audio" && media.kind != "sticker") {
    json::key(w, "caption");
    json::write_str(w, media.caption);
  }
  if (media.kind == "document" && !media.filename.empty()) {
    json::key(w, "filename");
    json::write_str(w, media.filename);
  }
  w.EndObject();
}

Status check_media(const messaging::Media& media, std::string_view where) {
  if (!is_media_kind(media.kind))
    return InvalidArgument("exotel whatsapp: " + std::string(where) +
                           ".kind must be image, video, audio, document or sticker");
  if (media.url.empty())
    return InvalidArgument("exotel whatsapp: " + std::string(where) +
                           ".url: missing (Exotel sends media by public link)");
  auto u = net::parse_url(media.url);
  if (!u || !u->userinfo.empty())
    return InvalidArgument("exotel whatsapp: " + std::string(where) +
                           ".url must be an http(s) URL without credentials");
  return Status();
}

}  // namespace

Result<std::string> build_whatsapp_request(const messaging::ProviderAccount& acct,
                                           const messaging::OutboundMessage& m) {
  const std::string& from = m.from.empty() ? acct.from : m.from;
  if (trim(from).empty())
    return InvalidArgument("exotel whatsapp: from: missing (no number on the message or the account)");
  if (trim(m.to).empty()) return InvalidArgument("exotel whatsapp: to: missing");
  if (m.template_message) {
    if (trim(m.template_message->name).empty())
      return InvalidArgument("exotel whatsapp: template.name: missing");
    if (m.template_message->header_media)
      BX_RETURN_IF_ERROR(check_media(*m.template_message->header_media, "template.header_media"));
  } else if (m.media) {
    BX_RETURN_IF_ERROR(check_media(*m.media, "media"));
  } else if (m.text.empty()) {
    return InvalidArgument("exotel whatsapp: nothing to send (text, media or template)");
  }

  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  if (!m.reference.empty()) {
    json::key(w, "custom_data");
    json::write_str(w, m.reference);
  }
  if (!m.status_callback_url.empty()) {
    json::key(w, "status_callback");
    json::write_str(w, m.status_callback_url);
  }
  json::key(w, "whatsapp");
  w.StartObject();
  json::key(w, "messages");
  w.StartArray();
  w.StartObject();
  if (!m.reference.empty()) {
    json::key(w, "custom_data");
    json::write_str(w, m.reference);
  }
  json::key(w, "from");
  json::write_str(w, from);
  json::key(w, "to");
  json::write_str(w, m.to);
  json::key(w, "content");
  w.StartObject();
  json::key(w, "recipient_type");
  json::write_str(w, "individual");
  if (m.template_message) {
    const auto& t = *m.template_message;
    json::key(w, "type");
    json::write_str(w, "template");
    json::key(w, "template");
    w.StartObject();
    messaging::write_template_head(w, t.name, t.language);
    json::key(w, "components");
    w.StartArray();
    if (t.header_media) {
      w.StartObject();
      json::key(w, "type");
      json::write_str(w, "header");
      json::key(w, "parameters");
      w.StartArray();
      w.StartObject();
      json::key(w, "type");
      json::write_str(w, t.header_media->kind);
      json::key(w, t.header_media->kind);
      write_media_object(w, *t.header_media, /*with_caption=*/false);
      w.EndObject();
      w.EndArray();
      w.EndObject();
    }
    if (!t.body_params.empty()) {
      messaging::write_template_body(w, t.body_params);
    }
    w.EndArray();
    w.EndObject();
  } else if (m.media) {
    json::key(w, "type");
    json::write_str(w, m.media->kind);
    json::key(w, m.media->kind);
    messaging::Media media = *m.media;
    if (media.caption.empty() && !m.text.empty()) media.caption = m.text;
    write_media_object(w, media, /*with_caption=*/true);
  } else {
    json::key(w, "type");
    json::write_str(w, "text");
    json::key(w, "text");
    w.StartObject();
    json::key(w, "preview_url");
    w.Bool(false);
    json::key(w, "body");
    json::write_str(w, m.text);
    w.EndObject();
  }
  w.EndObject();  // content
  w.EndObject();  // message
  w.EndArray();
  w.EndObject();  // whatsapp
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

Result<messaging::SendReceipt> parse_whatsapp_send_response(std::string_view body) {
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return Internal("exotel whatsapp send: unreadable reply: " + st.message());
  const json::Value* resp = json::get(doc, "response");
  const json::Value* wa = resp ? json::get(*resp, "whatsapp") : nullptr;
  const json::Value* msgs = wa ? json::get(*wa, "messages") : nullptr;
  if (!msgs || !msgs->IsArray() || msgs->Empty() || !(*msgs)[0].IsObject()) {
    // A request-level refusal inside a 2xx (shape varies): report what it says.
    ProviderError pe = extract_error(body);
    if (!pe.code.empty() || !pe.message.empty()) {
      std::string msg = "exotel whatsapp send: request refused";
      if (!pe.code.empty()) msg += " (code " + pe.code + ")";
      if (!pe.message.empty()) msg += ": " + pe.message;
      return Status(Code::invalid_argument, msg, error_details(-1, -1, pe.code));
    }
    return Internal("exotel whatsapp send: reply has no response.whatsapp.messages[0]");
  }
  const json::Value& e = (*msgs)[0];
  std::string status = lower(member_text(e, "status"));
  if (status == "success" || (status.empty() && json::get(e, "data"))) {
    const json::Value* data = json::get(e, "data");
    std::string sid = data ? member_text(*data, "sid") : "";
    if (sid.empty())
      return Internal("exotel whatsapp send: response.whatsapp.messages[0].data.sid: missing");
    messaging::SendReceipt r;
    r.provider_id = sid;
    r.status = DeliveryStatus::queued;
    return r;
  }
  // A failure element (inside a 2xx reply).
  std::string elem_code = member_text(e, "code");
  std::string code, description;
  if (const json::Value* ed = json::get(e, "error_data"); ed && ed->IsObject()) {
    code = member_text(*ed, "code");
    for (const char* k : {"description", "message", "details", "title"}) {
      description = member_text(*ed, k);
      if (!description.empty()) break;
    }
  } else if (ed && ed->IsString()) {
    description = scalar_text(ed);
  }
  if (code.empty()) code = elem_code;
  if (description.empty()) description = member_text(e, "message");
  if (description.size() > 300) description = description.substr(0, 300) + "...";
  std::string msg = "exotel whatsapp send: message refused";
  if (!code.empty()) msg += " (code " + code + ")";
  if (!description.empty()) msg += ": " + description;
  const int64_t ec = to_int(elem_code).value_or(0);
  if (ec == 429 || ec >= 500)
    return Status(Code::unavailable, msg, error_details(static_cast<int>(ec), -1, code));
  return Status(Code::invalid_argument, msg, error_details(-1, -1, code));
}

std::optional<DeliveryStatus> whatsapp_status_from_string(std::string_view text) {
  std::string s = upper(trim(text));
  if (s.empty()) return std::nullopt;
  for (const char* w : {"ERROR", "FAIL", "RESTRICT", "REENGAGE", "INVALID", "PARAM", "BLOCK",
                        "REJECT", "UNDELIVER", "EXPIRE", "INCAPABLE", "UNSUPPORTED", "LIMIT",
                        "TOO_MANY", "MISSING"})
    if (s.find(w) != std::string::npos) return DeliveryStatus::failed;
  // Whole words (split on '_', '-', ' '), so that e.g. "ALREADY" is not "READ".
  bool read = false, delivered = false, sent = false;
  size_t p = 0;
  while (p <= s.size()) {
    size_t e = s.find_first_of("_- .", p);
    if (e == std::string::npos) e = s.size();
    std::string_view word(s.data() + p, e - p);
    if (word == "SEEN" || word == "READ") read = true;
    if (word == "DELIVERED") delivered = true;
    if (word == "SENT") sent = true;
    p = e + 1;
  }
  if (read) return DeliveryStatus::read;
  if (delivered) return DeliveryStatus::delivered;
  if (sent) return DeliveryStatus::sent;
  return std::nullopt;
}

std::optional<DeliveryStatus> whatsapp_status_from_code(int64_t code) {
  if (code == 30001) return DeliveryStatus::sent;
  if (code == 30002) return DeliveryStatus::delivered;
  if (code == 30003) return DeliveryStatus::read;
  if (code >= 30004 && code <= 30099) return DeliveryStatus::failed;
  return std::nullopt;
}

namespace {

std::string field_path(size_t i, std::string_view field) {
  std::string p = "whatsapp.messages[" + std::to_string(i) + "]";
  if (!field.empty()) p += "." + std::string(field);
  return p;
}

std::optional<TimePoint> event_time(const json::Value& e) {
  return parse_time(member_text(e, "timestamp"));
}

Result<messaging::StatusUpdate> parse_dlr(const json::Value& e, size_t i) {
  messaging::StatusUpdate u;
  u.provider = "exotel";
  u.provider_id = member_text(e, "sid");
  if (u.provider_id.empty()) return InvalidArgument(field_path(i, "sid") + ": missing");
  std::string detailed = member_text(e, "exo_detailed_status");
  std::string code_text = member_text(e, "exo_status_code");
  auto code = to_int(code_text);
  if (detailed.empty() && !code)
    return InvalidArgument(field_path(i, "exo_detailed_status") + ": missing");
  std::optional<DeliveryStatus> st = whatsapp_status_from_string(detailed);
  if (!st && code) st = whatsapp_status_from_code(*code);
  // Unknown: queued is the lowest rank, so a forward-only pipeline leaves the state unchanged
  // while the raw status is still recorded.
  u.status = st.value_or(DeliveryStatus::queued);
  u.provider_status = detailed.empty() ? code_text : detailed;
  if (u.status == DeliveryStatus::failed) {
    u.error_code = code_text;
    u.error_message = member_text(e, "description");
    if (u.error_message.empty()) u.error_message = detailed;
  }
  u.reference = member_text(e, "custom_data");
  u.timestamp = event_time(e);
  return u;
}

std::string format_number(const json::Value* v) { return scalar_text(v); }

Result<messaging::InboundMessage> parse_inbound(const json::Value& e, size_t i) {
  messaging::InboundMessage in;
  in.channel = "whatsapp";
  in.provider = "exotel";
  in.from = member_text(e, "from");
  if (in.from.empty()) return InvalidArgument(field_path(i, "from") + ": missing");
  const json::Value* content = json::get(e, "content");
  if (!content || !content->IsObject()) return InvalidArgument(field_path(i, "content") + ": missing");
  in.to = member_text(e, "to");
  in.profile_name = member_text(e, "profile_name");
  if (in.profile_name.empty()) {
    // Meta-shaped: "contacts":[{"profile":{"name":..}}] next to the message, or a "profile".
    if (const json::Value* p = json::get(e, "profile"); p && p->IsObject())
      in.profile_name = member_text(*p, "name");
  }
  in.timestamp = event_time(e);

  std::string type = lower(member_text(*content, "type"));
  if (type.empty()) {
    for (const char* k : {"text", "image", "video", "audio", "document", "sticker", "location",
                          "contacts", "interactive", "button", "reaction"})
      if (json::get(*content, k)) {
        type = k;
        break;
      }
  }
  const json::Value* body = type.empty() ? nullptr : json::get(*content, type.c_str());
  if (type == "text") {
    in.content_type = "text";
    if (body && body->IsObject())
      in.text = member_text(*body, "body");
    else
      in.text = scalar_text(body);
  } else if (is_media_kind(type)) {
    in.content_type = type;
    if (!body || !body->IsObject())
      return InvalidArgument(field_path(i, "content." + type) + ": missing");
    messaging::Media media;
    media.kind = type;
    media.url = member_text(*body, "url");
    if (media.url.empty()) media.url = member_text(*body, "link");
    media.media_id = member_text(*body, "id");
    media.media_type = member_text(*body, "mime_type");
    media.filename = member_text(*body, "filename");
    media.caption = member_text(*body, "caption");
    media.voice_note = json::get_bool(*body, "voice").value_or(false);
    if (media.url.empty() && media.media_id.empty())
      return InvalidArgument(field_path(i, "content." + type + ".url") + ": missing");
    in.text = media.caption;
    in.media.push_back(std::move(media));
  } else if (type == "location") {
    in.content_type = "location";
    if (body && body->IsObject()) {
      std::string name = member_text(*body, "name"), address = member_text(*body, "address");
      std::string lat = format_number(json::get(*body, "latitude"));
      std::string lon = format_number(json::get(*body, "longitude"));
      std::string t = name;
      if (!address.empty()) t += (t.empty() ? "" : ", ") + address;
      if (!lat.empty() || !lon.empty()) t += (t.empty() ? "(" : " (") + lat + "," + lon + ")";
      in.text = t;
    }
  } else if (type == "contacts") {
    in.content_type = "contacts";
    if (body && body->IsArray()) {
      std::string t;
      for (const auto& c : body->GetArray()) {
        if (!c.IsObject()) continue;
        std::string one;
        if (const json::Value* n = json::get(c, "name"); n && n->IsObject())
          one = member_text(*n, "formatted_name");
        std::string phones;
        if (const json::Value* ph = json::get(c, "phones"); ph && ph->IsArray())
          for (const auto& p : ph->GetArray())
            if (p.IsObject() && !member_text(p, "phone").empty())
              phones += (phones.empty() ? "" : ", ") + member_text(p, "phone");
        if (!phones.empty()) one += (one.empty() ? "" : " ") + ("(" + phones + ")");
        if (!one.empty()) t += (t.empty() ? "" : "; ") + one;
      }
      in.text = t;
    }
  } else if (type == "interactive") {
    in.content_type = "interactive";
    if (body && body->IsObject()) {
      for (const char* k : {"button_reply", "list_reply"})
        if (const json::Value* r = json::get(*body, k); r && r->IsObject()) {
          in.text = member_text(*r, "title");
          if (in.text.empty()) in.text = member_text(*r, "id");
        }
      if (const json::Value* r = json::get(*body, "nfm_reply"); r && r->IsObject()) {
        in.text = member_text(*r, "response_json");
        if (in.text.empty()) in.text = member_text(*r, "body");
      }
    }
  } else if (type == "button") {
    in.content_type = "button";
    if (body && body->IsObject()) {
      in.text = member_text(*body, "text");
      if (in.text.empty()) in.text = member_text(*body, "payload");
    }
  } else if (type == "reaction") {
    in.content_type = "reaction";
    if (body && body->IsObject()) {
      in.text = member_text(*body, "emoji");
      in.reply_to_provider_id = member_text(*body, "message_id");
    }
  } else {
    in.content_type = "unsupported";
    const json::Value* err = json::get(*content, "error");
    if (!err) err = json::get(e, "error");
    if (err && err->IsObject()) {
      in.text = member_text(*err, "description");
      if (in.text.empty()) in.text = member_text(*err, "message");
      if (in.text.empty()) in.text = member_text(*err, "title");
    }
  }

  // Reply context: content.context or the element's context: {id | message_id | sid}.
  for (const json::Value* holder : {content, &e}) {
    if (!in.reply_to_provider_id.empty()) break;
    if (const json::Value* ctx = json::get(*holder, "context"); ctx && ctx->IsObject())
      for (const char* k : {"id", "message_id", "sid"})
        if (in.reply_to_provider_id.empty()) in.reply_to_provider_id = member_text(*ctx, k);
  }

  in.provider_id = member_text(e, "sid");
  if (in.provider_id.empty()) in.provider_id = member_text(e, "id");
  if (in.provider_id.empty()) {
    // No sid: a stable key from sender, time and content, so redeliveries dedupe.
    std::string basis = in.from + "|" + member_text(e, "timestamp") + "|" + json::stringify(*content);
    in.provider_id = "exo-" + crypto::sha256_hex(basis).substr(0, 32);
  }
  return in;
}

}  // namespace

Result<messaging::WebhookBatch> parse_whatsapp_webhook(std::string_view body) {
  json::Document doc;
  if (Status st = json::parse(body, &doc, {.max_depth = 32, .max_bytes = 4u << 20}); !st.ok())
    return Status(st.code(), "whatsapp webhook: " + st.message());
  if (!doc.IsObject()) return InvalidArgument("whatsapp webhook: body is not a JSON object");
  const json::Value* wa = json::get(doc, "whatsapp");
  if (!wa || !wa->IsObject()) return InvalidArgument("whatsapp: missing");
  const json::Value* msgs = json::get(*wa, "messages");
  if (!msgs) return InvalidArgument("whatsapp.messages: missing");
  if (!msgs->IsArray()) return InvalidArgument("whatsapp.messages: not an array");
  messaging::WebhookBatch batch;
  for (size_t i = 0; i < msgs->Size(); ++i) {
    const json::Value& e = (*msgs)[static_cast<rapidjson::SizeType>(i)];
    if (!e.IsObject()) return InvalidArgument(field_path(i, "") + ": not an object");
    std::string type = lower(member_text(e, "callback_type"));
    if (type == "dlr") {
      BX_ASSIGN_OR_RETURN(auto u, parse_dlr(e, i));
      batch.statuses.push_back(std::move(u));
    } else if (type == "icm" || type == "incoming_message" ||
               (json::get(e, "from") && json::get(e, "content"))) {
      BX_ASSIGN_OR_RETURN(auto in, parse_inbound(e, i));
      batch.messages.push_back(std::move(in));
    } else if (type.empty() && (json::get(e, "exo_detailed_status") || json::get(e, "exo_status_code"))) {
      // A DLR without its callback_type.
      BX_ASSIGN_OR_RETURN(auto u, parse_dlr(e, i));
      batch.statuses.push_back(std::move(u));
    }
    // Anything else (unknown callback types) is ignored.
  }
  return batch;
}

}  // namespace banxway::exotel
