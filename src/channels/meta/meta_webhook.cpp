// Meta WhatsApp Cloud API webhooks: the GET verification handshake, X-Hub-Signature-256 and the
// whatsapp_business_account envelope (messages and statuses).
#include <cctype>
#include <charconv>
#include <cstdio>
#include <string>

#include "channels/meta/meta.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"

namespace banxway::messaging {

Result<std::string> meta_verify_challenge(const ProviderAccount& acct, std::string_view mode,
                                          std::string_view token, std::string_view challenge) {
  // Evaluate both checks before deciding, so timing says nothing about which one failed.
  bool mode_ok = mode == "subscribe";
  bool token_ok = !acct.verify_token.empty() && crypto::constant_time_equal(token, acct.verify_token);
  if (!mode_ok || !token_ok) return PermissionDenied("meta: webhook verification refused");
  if (challenge.empty() || challenge.size() > 1024)
    return InvalidArgument("meta: hub.challenge is empty or too long");
  return std::string(challenge);
}

namespace meta {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// ---- path-aware JSON access ------------------------------------------------------------------

std::string idx(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }
std::string member(const std::string& path, const char* key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

Status missing(const std::string& path) { return InvalidArgument(path + ": missing"); }
Status wrong_type(const std::string& path, const char* expected) {
  return InvalidArgument(path + ": expected " + expected);
}

// Optional string member: absent/null → "", string → value, else a type error.
Status opt_string(const json::Value& obj, const char* key, const std::string& path,
                  std::string* out) {
  const json::Value* v = json::get(obj, key);
  if (!v || v->IsNull()) return Status();
  if (!v->IsString()) return wrong_type(member(path, key), "a string");
  out->assign(v->GetString(), v->GetStringLength());
  return Status();
}

Status req_string(const json::Value& obj, const char* key, const std::string& path,
                  std::string* out) {
  const json::Value* v = json::get(obj, key);
  if (!v || v->IsNull()) return missing(member(path, key));
  if (!v->IsString()) return wrong_type(member(path, key), "a string");
  out->assign(v->GetString(), v->GetStringLength());
  if (out->empty()) return InvalidArgument(member(path, key) + ": empty");
  return Status();
}

// Optional object member: nullptr when absent; a type error when present but not an object.
Result<const json::Value*> opt_object(const json::Value& obj, const char* key,
                                      const std::string& path) {
  const json::Value* v = json::get(obj, key);
  if (!v || v->IsNull()) return static_cast<const json::Value*>(nullptr);
  if (!v->IsObject()) return wrong_type(member(path, key), "an object");
  return v;
}

Result<const json::Value*> req_object(const json::Value& obj, const char* key,
                                      const std::string& path) {
  const json::Value* v = json::get(obj, key);
  if (!v || v->IsNull()) return missing(member(path, key));
  if (!v->IsObject()) return wrong_type(member(path, key), "an object");
  return v;
}

Result<const json::Value*> opt_array(const json::Value& obj, const char* key,
                                     const std::string& path) {
  const json::Value* v = json::get(obj, key);
  if (!v || v->IsNull()) return static_cast<const json::Value*>(nullptr);
  if (!v->IsArray()) return wrong_type(member(path, key), "an array");
  return v;
}

// Unix seconds as a string ("1768473000") or a number.
Status opt_timestamp(const json::Value& obj, const char* key, const std::string& path,
                     std::optional<TimePoint>* out) {
  const json::Value* v = json::get(obj, key);
  if (!v || v->IsNull()) return Status();
  int64_t secs = 0;
  if (v->IsInt64()) {
    secs = v->GetInt64();
  } else if (v->IsString()) {
    std::string_view s(v->GetString(), v->GetStringLength());
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size())
      return InvalidArgument(member(path, key) + ": not a Unix timestamp");
  } else {
    return wrong_type(member(path, key), "a Unix timestamp");
  }
  if (secs < 0 || secs > 253402300799)  // up to 9999-12-31
    return InvalidArgument(member(path, key) + ": timestamp out of range");
  *out = TimePoint(std::chrono::seconds(secs));
  return Status();
}

// A coordinate as text: numbers (shortest round-trip form) or numeric strings as given.
std::string coordinate(const json::Value* v) {
  if (!v) return "";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsNumber()) {
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v->GetDouble());
    if (ec == std::errc()) return std::string(buf, p);
  }
  return "";
}

// ---- messages --------------------------------------------------------------------------------

struct ContactInfo {
  std::string wa_id, user_id, name;
};

Status parse_contacts(const json::Value& value, const std::string& path,
                      std::vector<ContactInfo>* out) {
  BX_ASSIGN_OR_RETURN(const json::Value* arr, opt_array(value, "contacts", path));
  if (!arr) return Status();
  std::string apath = member(path, "contacts");
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    const json::Value& c = (*arr)[i];
    std::string cpath = idx(apath, i);
    if (!c.IsObject()) return wrong_type(cpath, "an object");
    ContactInfo info;
    BX_RETURN_IF_ERROR(opt_string(c, "wa_id", cpath, &info.wa_id));
    BX_RETURN_IF_ERROR(opt_string(c, "user_id", cpath, &info.user_id));
    BX_ASSIGN_OR_RETURN(const json::Value* profile, opt_object(c, "profile", cpath));
    if (profile) BX_RETURN_IF_ERROR(opt_string(*profile, "name", member(cpath, "profile"), &info.name));
    out->push_back(std::move(info));
  }
  return Status();
}

// A BSUID looks like "IN.1502576394655843" (ISO country, a dot, alphanumerics; parent ids
// carry ".ENT."). Phone numbers are digits only.
bool looks_like_bsuid(std::string_view s) {
  return s.size() > 3 && std::isupper(static_cast<unsigned char>(s[0])) &&
         std::isupper(static_cast<unsigned char>(s[1])) && s[2] == '.';
}

Status parse_media(const json::Value& msg, const std::string& type, const std::string& path,
                   InboundMessage* out) {
  BX_ASSIGN_OR_RETURN(const json::Value* obj, req_object(msg, type.c_str(), path));
  std::string opath = member(path, type.c_str());
  Media media;
  media.kind = type;
  BX_RETURN_IF_ERROR(req_string(*obj, "id", opath, &media.media_id));
  BX_RETURN_IF_ERROR(opt_string(*obj, "mime_type", opath, &media.media_type));
  BX_RETURN_IF_ERROR(opt_string(*obj, "caption", opath, &media.caption));
  BX_RETURN_IF_ERROR(opt_string(*obj, "filename", opath, &media.filename));
  BX_RETURN_IF_ERROR(opt_string(*obj, "url", opath, &media.url));  // newer payloads
  media.voice_note = json::get_bool(*obj, "voice").value_or(false);
  out->text = media.caption;
  out->media.push_back(std::move(media));
  return Status();
}

Status parse_message_content(const json::Value& msg, const std::string& type,
                             const std::string& path, InboundMessage* out) {
  if (type == "text") {
    out->content_type = "text";
    BX_ASSIGN_OR_RETURN(const json::Value* t, req_object(msg, "text", path));
    return opt_string(*t, "body", member(path, "text"), &out->text);
  }
  if (type == "image" || type == "video" || type == "audio" || type == "document" ||
      type == "sticker") {
    out->content_type = type;
    return parse_media(msg, type, path, out);
  }
  if (type == "location") {
    out->content_type = "location";
    BX_ASSIGN_OR_RETURN(const json::Value* l, req_object(msg, "location", path));
    std::string lpath = member(path, "location"), name, address;
    BX_RETURN_IF_ERROR(opt_string(*l, "name", lpath, &name));
    BX_RETURN_IF_ERROR(opt_string(*l, "address", lpath, &address));
    std::string lat = coordinate(json::get(*l, "latitude"));
    std::string lon = coordinate(json::get(*l, "longitude"));
    if (lat.empty()) return missing(member(lpath, "latitude"));
    if (lon.empty()) return missing(member(lpath, "longitude"));
    std::string text = name;
    if (!address.empty()) text += (text.empty() ? "" : ", ") + address;
    text += (text.empty() ? "(" : " (") + lat + "," + lon + ")";
    out->text = text;
    return Status();
  }
  if (type == "contacts") {
    out->content_type = "contacts";
    BX_ASSIGN_OR_RETURN(const json::Value* arr, opt_array(msg, "contacts", path));
    if (!arr) return missing(member(path, "contacts"));
    std::string text;
    for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
      const json::Value& c = (*arr)[i];
      if (!c.IsObject()) return wrong_type(idx(member(path, "contacts"), i), "an object");
      std::string line;
      if (const json::Value* n = json::get(c, "name"))
        if (auto f = json::get_string(*n, "formatted_name")) line = std::string(*f);
      std::string phones;
      if (const json::Value* ps = json::get(c, "phones"); ps && ps->IsArray()) {
        for (const auto& p : ps->GetArray()) {
          auto ph = json::get_string(p, "phone");
          if (!ph) continue;
          if (!phones.empty()) phones += ", ";
          phones += std::string(*ph);
        }
      }
      if (!phones.empty()) line += (line.empty() ? "" : ": ") + phones;
      if (line.empty()) continue;
      if (!text.empty()) text += "\n";
      text += line;
    }
    out->text = text;
    return Status();
  }
  if (type == "interactive") {
    out->content_type = "interactive";
    BX_ASSIGN_OR_RETURN(const json::Value* it, req_object(msg, "interactive", path));
    std::string ipath = member(path, "interactive"), itype;
    BX_RETURN_IF_ERROR(req_string(*it, "type", ipath, &itype));
    if (itype == "button_reply" || itype == "list_reply") {
      BX_ASSIGN_OR_RETURN(const json::Value* r, req_object(*it, itype.c_str(), ipath));
      return opt_string(*r, "title", member(ipath, itype.c_str()), &out->text);
    }
    if (itype == "nfm_reply") {
      BX_ASSIGN_OR_RETURN(const json::Value* r, req_object(*it, "nfm_reply", ipath));
      std::string rpath = member(ipath, "nfm_reply");
      // The Flow's answers (a JSON string) are the content; "body" is only "Sent".
      BX_RETURN_IF_ERROR(opt_string(*r, "response_json", rpath, &out->text));
      if (out->text.empty()) BX_RETURN_IF_ERROR(opt_string(*r, "body", rpath, &out->text));
      return Status();
    }
    return Status();  // other interactive replies: kept with empty text
  }
  if (type == "button") {
    out->content_type = "button";
    BX_ASSIGN_OR_RETURN(const json::Value* b, req_object(msg, "button", path));
    BX_RETURN_IF_ERROR(opt_string(*b, "text", member(path, "button"), &out->text));
    if (out->text.empty()) BX_RETURN_IF_ERROR(opt_string(*b, "payload", member(path, "button"), &out->text));
    return Status();
  }
  if (type == "reaction") {
    out->content_type = "reaction";
    BX_ASSIGN_OR_RETURN(const json::Value* r, req_object(msg, "reaction", path));
    std::string rpath = member(path, "reaction");
    BX_RETURN_IF_ERROR(opt_string(*r, "emoji", rpath, &out->text));  // empty: reaction removed
    BX_RETURN_IF_ERROR(opt_string(*r, "message_id", rpath, &out->reply_to_provider_id));
    return Status();
  }
  // unsupported, order, system, request_welcome and anything new.
  out->content_type = "unsupported";
  if (type == "system")
    if (const json::Value* s = json::get(msg, "system"))
      if (auto b = json::get_string(*s, "body")) out->text = std::string(*b);
  return Status();
}

Status parse_message(const json::Value& msg, const std::string& path,
                     const std::vector<ContactInfo>& contacts, const std::string& our_number,
                     WebhookBatch* batch) {
  if (!msg.IsObject()) return wrong_type(path, "an object");
  InboundMessage m;
  m.channel = "whatsapp";
  m.provider = "meta";
  m.to = our_number;
  BX_RETURN_IF_ERROR(req_string(msg, "id", path, &m.provider_id));
  BX_RETURN_IF_ERROR(req_string(msg, "from", path, &m.from));
  BX_RETURN_IF_ERROR(opt_string(msg, "from_user_id", path, &m.from_user_id));
  std::string type;
  BX_RETURN_IF_ERROR(req_string(msg, "type", path, &type));
  BX_RETURN_IF_ERROR(opt_timestamp(msg, "timestamp", path, &m.timestamp));
  BX_ASSIGN_OR_RETURN(const json::Value* ctx, opt_object(msg, "context", path));
  if (ctx) BX_RETURN_IF_ERROR(opt_string(*ctx, "id", member(path, "context"), &m.reply_to_provider_id));
  BX_RETURN_IF_ERROR(parse_message_content(msg, type, path, &m));

  // Profile name and BSUID from value.contacts: by wa_id, else by user_id, else the only one.
  const ContactInfo* who = nullptr;
  for (const auto& c : contacts)
    if (!c.wa_id.empty() && c.wa_id == m.from) { who = &c; break; }
  if (!who)
    for (const auto& c : contacts)
      if (!c.user_id.empty() && c.user_id == m.from) { who = &c; break; }
  if (!who && contacts.size() == 1) who = &contacts[0];
  if (who) {
    m.profile_name = who->name;
    if (m.from_user_id.empty()) m.from_user_id = who->user_id;
  }
  if (m.from_user_id.empty() && looks_like_bsuid(m.from)) m.from_user_id = m.from;
  batch->messages.push_back(std::move(m));
  return Status();
}

std::optional<DeliveryStatus> map_status(std::string_view s) {
  if (s == "sent") return DeliveryStatus::sent;
  if (s == "delivered") return DeliveryStatus::delivered;
  if (s == "read" || s == "played") return DeliveryStatus::read;
  if (s == "failed") return DeliveryStatus::failed;
  return std::nullopt;
}

Status parse_status(const json::Value& st, const std::string& path, WebhookBatch* batch) {
  if (!st.IsObject()) return wrong_type(path, "an object");
  StatusUpdate u;
  u.provider = "meta";
  BX_RETURN_IF_ERROR(req_string(st, "id", path, &u.provider_id));
  BX_RETURN_IF_ERROR(req_string(st, "status", path, &u.provider_status));
  BX_RETURN_IF_ERROR(opt_timestamp(st, "timestamp", path, &u.timestamp));
  BX_RETURN_IF_ERROR(opt_string(st, "biz_opaque_callback_data", path, &u.reference));
  BX_ASSIGN_OR_RETURN(const json::Value* errors, opt_array(st, "errors", path));
  if (errors && !errors->Empty()) {
    const json::Value& e = (*errors)[0];
    std::string epath = idx(member(path, "errors"), 0);
    if (!e.IsObject()) return wrong_type(epath, "an object");
    if (const json::Value* c = json::get(e, "code")) {
      if (c->IsInt64()) u.error_code = std::to_string(c->GetInt64());
      else if (c->IsString()) u.error_code.assign(c->GetString(), c->GetStringLength());
    }
    std::string title, message;
    BX_RETURN_IF_ERROR(opt_string(e, "title", epath, &title));
    BX_RETURN_IF_ERROR(opt_string(e, "message", epath, &message));
    if (!title.empty() && !message.empty() && title != message)
      u.error_message = title + ": " + message;
    else
      u.error_message = title.empty() ? message : title;
    if (const json::Value* d = json::get(e, "error_data"))
      if (auto det = json::get_string(*d, "details"); det && !det->empty() &&
                                                      u.error_message.find(*det) == std::string::npos)
        u.error_message += (u.error_message.empty() ? "" : " — ") + std::string(*det);
  }
  auto mapped = map_status(u.provider_status);
  if (!mapped) return Status();  // a status banxway does not track (e.g. "deleted"): ignored
  u.status = *mapped;
  batch->statuses.push_back(std::move(u));
  return Status();
}

}  // namespace

Status verify_signature(std::string_view app_secret, std::string_view header,
                        std::string_view body) {
  if (app_secret.empty())
    return Unauthenticated("meta: no app secret configured; cannot verify the webhook");
  header = trim(header);
  if (header.empty()) return Unauthenticated("meta: X-Hub-Signature-256 header missing");
  constexpr std::string_view kPrefix = "sha256=";
  if (!header.starts_with(kPrefix) || header.size() != kPrefix.size() + 64 ||
      !is_lower_hex(header.substr(kPrefix.size())))
    return Unauthenticated("meta: X-Hub-Signature-256 header malformed");
  std::string expected = crypto::hex(crypto::hmac_sha256(app_secret, body));
  if (!crypto::constant_time_equal(expected, header.substr(kPrefix.size())))
    return Unauthenticated("meta: webhook signature mismatch");
  return Status();
}

Result<WebhookBatch> parse_webhook_body(std::string_view body) {
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return Status(st.code(), "meta webhook: " + st.message());
  if (!doc.IsObject()) return InvalidArgument("meta webhook: body is not a JSON object");
  WebhookBatch batch;
  if (auto obj = json::get_string(doc, "object"); obj && *obj != "whatsapp_business_account")
    return batch;  // another product's webhook (page, instagram...): nothing for us
  const json::Value* entries = json::get(doc, "entry");
  if (!entries || entries->IsNull()) return missing("entry");
  if (!entries->IsArray()) return wrong_type("entry", "an array");
  for (rapidjson::SizeType i = 0; i < entries->Size(); ++i) {
    const json::Value& entry = (*entries)[i];
    std::string epath = idx("entry", i);
    if (!entry.IsObject()) return wrong_type(epath, "an object");
    const json::Value* changes = json::get(entry, "changes");
    if (!changes || changes->IsNull()) return missing(member(epath, "changes"));
    if (!changes->IsArray()) return wrong_type(member(epath, "changes"), "an array");
    for (rapidjson::SizeType j = 0; j < changes->Size(); ++j) {
      const json::Value& change = (*changes)[j];
      std::string cpath = idx(member(epath, "changes"), j);
      if (!change.IsObject()) return wrong_type(cpath, "an object");
      auto field = json::get_string(change, "field");
      if (!field || *field != "messages") continue;  // templates, quality, account updates...
      BX_ASSIGN_OR_RETURN(const json::Value* value, req_object(change, "value", cpath));
      std::string vpath = member(cpath, "value");

      std::string our_number;
      BX_ASSIGN_OR_RETURN(const json::Value* md, opt_object(*value, "metadata", vpath));
      if (md) {
        BX_RETURN_IF_ERROR(opt_string(*md, "display_phone_number", member(vpath, "metadata"), &our_number));
        if (our_number.empty())
          BX_RETURN_IF_ERROR(opt_string(*md, "phone_number_id", member(vpath, "metadata"), &our_number));
      }
      std::vector<ContactInfo> contacts;
      BX_RETURN_IF_ERROR(parse_contacts(*value, vpath, &contacts));

      BX_ASSIGN_OR_RETURN(const json::Value* msgs, opt_array(*value, "messages", vpath));
      if (msgs)
        for (rapidjson::SizeType k = 0; k < msgs->Size(); ++k)
          BX_RETURN_IF_ERROR(parse_message((*msgs)[k], idx(member(vpath, "messages"), k), contacts,
                                           our_number, &batch));
      BX_ASSIGN_OR_RETURN(const json::Value* sts, opt_array(*value, "statuses", vpath));
      if (sts)
        for (rapidjson::SizeType k = 0; k < sts->Size(); ++k)
          BX_RETURN_IF_ERROR(parse_status((*sts)[k], idx(member(vpath, "statuses"), k), &batch));
    }
  }
  return batch;
}

}  // namespace meta
}  // namespace banxway::messaging
