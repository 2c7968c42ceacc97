// Meta WhatsApp Cloud API: building send requests and interpreting the Graph API's answers.
#include <cctype>
#include <string>

#include "channels/messaging/wire.hpp"
#include "channels/meta/meta.hpp"
#include "core/json.hpp"

namespace banxway::messaging::meta {
namespace {

constexpr size_t kMaxTextChars = 4096;     // text.body
constexpr size_t kMaxCaptionChars = 1024;  // media caption
constexpr size_t kMaxReferenceBytes = 512; // biz_opaque_callback_data
constexpr size_t kMaxProviderMessage = 300;

size_t utf8_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool is_media_kind(std::string_view k) {
  return k == "image" || k == "audio" || k == "video" || k == "document" || k == "sticker";
}

// The media kind of a header/media object: the given kind, else from the MIME type.
std::string media_kind(const Media& m, std::string_view fallback) {
  if (!m.kind.empty()) return m.kind;
  std::string_view t = m.media_type;
  if (t.starts_with("image/")) return "image";
  if (t.starts_with("video/")) return "video";
  if (t.starts_with("audio/")) return "audio";
  if (!t.empty()) return "document";
  return std::string(fallback);
}

// {"link": url} or {"id": media_id}, plus caption/filename when given and allowed.
Status write_media_object(json::Writer& w, const Media& m, const std::string& kind,
                          std::string_view caption, std::string_view where) {
  w.StartObject();
  if (!m.media_id.empty()) {
    json::key(w, "id");
    json::write_str(w, m.media_id);
  } else if (!m.url.empty()) {
    if (!(m.url.starts_with("https://") || m.url.starts_with("http://")))
      return InvalidArgument(std::string(where) + ": media link must be an http(s) URL");
    json::key(w, "link");
    json::write_str(w, m.url);
  } else {
    return InvalidArgument(std::string(where) + ": media needs a url or a media_id");
  }
  if (!caption.empty()) {
    if (kind != "image" && kind != "video" && kind != "document")
      return InvalidArgument(std::string(where) + ": WhatsApp " + kind +
                             " messages cannot carry a caption or text; send the text separately");
    if (utf8_chars(caption) > kMaxCaptionChars)
      return InvalidArgument(std::string(where) + ": caption longer than 1024 characters");
    json::key(w, "caption");
    json::write_str(w, caption);
  }
  if (kind == "document" && !m.filename.empty()) {
    json::key(w, "filename");
    json::write_str(w, m.filename);
  }
  w.EndObject();
  return Status();
}

std::string truncate(std::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 safe
  return std::string(s.substr(0, cut)) + "...";
}

}  // namespace

std::string base_url(const ProviderAccount& acct) {
  std::string b = acct.base_url.empty() ? std::string(kDefaultBaseUrl) : acct.base_url;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}

Result<std::string> build_send_body(const OutboundMessage& m) {
  if (!m.channel.empty() && m.channel != "whatsapp")
    return InvalidArgument("meta: only the whatsapp channel is supported, not '" + m.channel +
                           "'");
  if (m.to.empty()) return InvalidArgument("meta: recipient (to) is missing");
  if (m.reference.size() > kMaxReferenceBytes)
    return InvalidArgument("meta: reference longer than 512 bytes");

  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "messaging_product");
  json::write_str(w, "whatsapp");
  json::key(w, "recipient_type");
  json::write_str(w, "individual");
  json::key(w, "to");
  json::write_str(w, m.to);

  if (m.template_message) {
    const TemplateMessage& t = *m.template_message;
    if (t.name.empty()) return InvalidArgument("meta: template name is missing");
    json::key(w, "type");
    json::write_str(w, "template");
    json::key(w, "template");
    w.StartObject();
    write_template_head(w, t.name, t.language);
    if (t.header_media || !t.body_params.empty()) {
      json::key(w, "components");
      w.StartArray();
      if (t.header_media) {
        std::string kind = media_kind(*t.header_media, "image");
        if (kind != "image" && kind != "video" && kind != "document")
          return InvalidArgument("meta: template header media must be image, video or document");
        w.StartObject();
        json::key(w, "type");
        json::write_str(w, "header");
        json::key(w, "parameters");
        w.StartArray();
        w.StartObject();
        json::key(w, "type");
        json::write_str(w, kind);
        json::key(w, kind);
        // A header has no caption of its own.
        BX_RETURN_IF_ERROR(write_media_object(w, *t.header_media, kind, "", "meta: template header"));
        w.EndObject();
        w.EndArray();
        w.EndObject();
      }
      if (!t.body_params.empty()) {
        write_template_body(w, t.body_params);
      }
      w.EndArray();
    }
    w.EndObject();
  } else if (m.media) {
    std::string kind = media_kind(*m.media, "");
    if (!is_media_kind(kind))
      return InvalidArgument("meta: media kind must be image, audio, video, document or sticker");
    std::string_view caption = m.media->caption.empty() ? std::string_view(m.text)
                                                        : std::string_view(m.media->caption);
    json::key(w, "type");
    json::write_str(w, kind);
    json::key(w, kind);
    BX_RETURN_IF_ERROR(write_media_object(w, *m.media, kind, caption, "meta: media"));
  } else {
    if (m.text.empty()) return InvalidArgument("meta: message has no text, template or media");
    if (utf8_chars(m.text) > kMaxTextChars)
      return InvalidArgument("meta: text longer than 4096 characters");
    json::key(w, "type");
    json::write_str(w, "text");
    json::key(w, "text");
    w.StartObject();
    json::key(w, "body");
    json::write_str(w, m.text);
    if (m.text.find("https://") != std::string::npos ||
        m.text.find("http://") != std::string::npos) {
      json::key(w, "preview_url");
      w.Bool(true);
    }
    w.EndObject();
  }
  if (!m.reference.empty()) {
    json::key(w, "biz_opaque_callback_data");
    json::write_str(w, m.reference);
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

Status error_status(int http_status, std::string_view body,
                    std::optional<std::chrono::milliseconds> retry_after, bool lookup) {
  std::string message, details_text;
  std::optional<int64_t> code, subcode;
  json::Document doc;
  if (!body.empty() && json::parse(body, &doc).ok()) {
    if (const json::Value* e = json::get(doc, "error"); e && e->IsObject()) {
      if (auto s = json::get_string(*e, "message")) message = std::string(*s);
      code = json::get_int(*e, "code");
      subcode = json::get_int(*e, "error_subcode");
      if (const json::Value* d = json::get(*e, "error_data"))
        if (auto s = json::get_string(*d, "details")) details_text = std::string(*s);
    }
  }
  int64_t c = code.value_or(0);

  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "http_status");
  w.Int(http_status);
  if (code) {
    json::key(w, "provider_code");
    json::write_str(w, std::to_string(*code));
  }
  if (subcode) {
    json::key(w, "provider_subcode");
    json::write_str(w, std::to_string(*subcode));
  }
  if (!details_text.empty()) {
    json::key(w, "provider_details");
    json::write_str(w, truncate(details_text, kMaxProviderMessage));
  }
  bool throttled = c == 130429 || c == 131056 || c == 80007 || http_status == 429 ||
                   http_status >= 500;
  if (throttled && retry_after) {
    json::key(w, "retry_after_ms");
    w.Int64(retry_after->count());
  }
  if (c == 131047) {
    json::key(w, "template_required");
    w.Bool(true);
  }
  w.EndObject();
  std::string details(sb.GetString(), sb.GetSize());

  std::string what = "meta: ";
  what += message.empty() ? "HTTP " + std::to_string(http_status) : truncate(message, kMaxProviderMessage);
  if (code) what += " (code " + std::to_string(*code) + ")";
  if (!details_text.empty()) what += ": " + truncate(details_text, kMaxProviderMessage);

  if (c == 131047)
    return InvalidArgument(
        "meta: outside the 24-hour customer-service window; a template message is required (" +
            what.substr(6) + ")",
        details);
  if (c == 190 || http_status == 401) return Status(Code::unauthenticated, what, details);
  if (throttled) return Status(Code::unavailable, what, details);
  if (http_status == 403) return Status(Code::permission_denied, what, details);
  if (http_status == 404 && lookup) return Status(Code::not_found, what, details);
  return InvalidArgument(what, details);
}

Result<SendReceipt> parse_send_response(int http_status, std::string_view body,
                                        std::optional<std::chrono::milliseconds> retry_after) {
  if (http_status < 200 || http_status > 299)
    return error_status(http_status, body, retry_after);
  json::Document doc;
  if (Status st = json::parse(body, &doc); !st.ok())
    return Internal("meta: send accepted (HTTP " + std::to_string(http_status) +
                    ") but the answer is not JSON: " + st.message());
  const json::Value* msgs = json::get(doc, "messages");
  if (!msgs || !msgs->IsArray() || msgs->Empty() || !json::get_string((*msgs)[0], "id"))
    return Internal("meta: send accepted but the answer has no messages[0].id");
  SendReceipt r;
  r.provider_id = std::string(*json::get_string((*msgs)[0], "id"));
  // "accepted" and "held_for_quality_assessment" both mean: not yet sent to the user.
  r.status = DeliveryStatus::queued;
  return r;
}

}  // namespace banxway::messaging::meta
