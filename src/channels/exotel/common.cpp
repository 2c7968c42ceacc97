// Shared pieces of the Exotel adapter: times, URLs, error mapping, scrubbing, flat fields.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

#include "channels/exotel/exotel.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"

namespace banxway::exotel {

namespace detail {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::optional<int64_t> to_int(std::string_view text) {
  std::string s = trim(text);
  if (s.empty() || s.size() > 18) return std::nullopt;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return std::nullopt;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

BodyKind body_kind(std::string_view content_type, std::string_view body) {
  std::string ct = lower(trim(content_type));
  if (ct.find("json") != std::string::npos) return BodyKind::json;
  if (istarts_with(ct, "multipart/")) return BodyKind::multipart;
  if (ct.find("x-www-form-urlencoded") != std::string::npos) return BodyKind::form;
  // Unknown or absent: sniff.
  std::string b = trim(body.substr(0, 64));
  if (!b.empty() && (b[0] == '{' || b[0] == '[')) return BodyKind::json;
  return BodyKind::form;
}

Fields::Fields(const net::FormFields& f) {
  for (const auto& [k, v] : f) set(k, v);
}

void Fields::set(std::string key, std::string value) {
  for (const auto& [k, v] : items_)
    if (k == key) return;
  items_.emplace_back(std::move(key), std::move(value));
}

const std::string& Fields::get(std::string_view key) const {
  static const std::string empty;
  for (const auto& [k, v] : items_)
    if (k == key) return v;
  return empty;
}

bool Fields::has(std::string_view key) const {
  const std::string& v = get(key);
  return !v.empty() && v != "null";
}

std::string scalar_text(const json::Value* v) {
  if (!v) return "";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsUint64()) return std::to_string(v->GetUint64());
  if (v->IsNumber()) return json::stringify(*v);
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  return "";
}

std::string member_text(const json::Value& obj, const char* key) {
  return scalar_text(json::get(obj, key));
}

void add_scalars(const json::Value& obj, Fields* out) {
  if (!obj.IsObject()) return;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if (it->value.IsObject() || it->value.IsArray()) continue;
    out->set(std::string(it->name.GetString(), it->name.GetStringLength()),
             scalar_text(&it->value));
  }
}

std::string error_details(int http_status, int64_t retry_after_ms, std::string_view provider_code) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  bool any = false;
  if (http_status > 0) {
    json::key(w, "http_status");
    w.Int(http_status);
    any = true;
  }
  if (retry_after_ms >= 0) {
    json::key(w, "retry_after_ms");
    w.Int64(retry_after_ms);
    any = true;
  }
  if (!provider_code.empty()) {
    json::key(w, "provider_code");
    json::write_str(w, provider_code);
    any = true;
  }
  w.EndObject();
  return any ? std::string(sb.GetString(), sb.GetSize()) : std::string();
}

}  // namespace detail

using namespace detail;

std::optional<TimePoint> parse_time(std::string_view text) {
  std::string s = trim(text);
  if (s.empty() || iequals(s, "null")) return std::nullopt;
  TimePoint t;
  bool all_digits = std::all_of(s.begin(), s.end(),
                                [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (all_digits) {
    auto n = to_int(s);
    if (!n) return std::nullopt;
    int64_t ms = *n > 100000000000LL ? *n : *n * 1000;  // > year 5138 in seconds: milliseconds
    t = TimePoint(std::chrono::milliseconds(ms));
  } else if (s.size() == 19 && (s[10] == ' ' || s[10] == 'T')) {
    // v1: "YYYY-MM-DD HH:mm:ss" without a zone: Indian Standard Time.
    if (!banxway::parse_time(s + "+05:30", &t)) return std::nullopt;
  } else if (!banxway::parse_time(s, &t)) {
    return std::nullopt;
  }
  if (t.time_since_epoch().count() == 0) return std::nullopt;  // Exotel's "unset"
  return t;
}


Result<std::string> base_url(const messaging::ProviderAccount& acct) {
  std::string b = trim(acct.base_url);
  if (b.empty()) b = kDefaultBaseUrl;
  auto u = net::parse_url(b);
  // The URL itself is not echoed: it could carry credentials.
  if (!u) return InvalidArgument("exotel: the account's base_url is not an http(s) URL");
  if (!u->userinfo.empty())
    return InvalidArgument(
        "exotel: the account's base_url must not carry credentials (use api_key/api_token)");
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}

namespace {


}  // namespace

bool may_send_credentials(const messaging::ProviderAccount& acct, std::string_view media_url) {
  auto m = net::parse_url(media_url);
  if (!m || !m->userinfo.empty()) return false;
  auto b = base_url(acct);
  if (b.ok()) {
    auto api = net::parse_url(*b);
    if (api && api->scheme == m->scheme && api->host == m->host && api->port == m->port)
      return true;
  }
  if (m->scheme != "https") return false;  // never Basic credentials in clear text elsewhere
  // Not amazonaws.com: anyone can host a bucket there, and a forged media URL must not collect
  // the account's credentials. S3-hosted recordings are fetched without them (pre-signed URLs).
  return net::host_under(m->host, "exotel.com") || net::host_under(m->host, "exotel.in");
}

ProviderError extract_error(std::string_view body) {
  ProviderError e;
  auto clip = [](std::string s) {
    if (s.size() > 300) s = s.substr(0, 300) + "...";
    return s;
  };
  json::Document doc;
  std::string text = trim(body);
  if (!text.empty() && (text[0] == '{' || text[0] == '[') && json::parse(text, &doc).ok()) {
    // v1: {"RestException": {"Status": 400, "Message": "...", "Code": 40205}}
    const json::Value* obj = &doc;
    if (const json::Value* re = json::get(doc, "RestException"); re && re->IsObject()) obj = re;
    // v2: {"response": {"code":400, "error_data": {...}}} or {"response": {"whatsapp":
    // {"messages": [{"code":..., "error_data": {...}}]}}} or a bare {"error_data": ...}
    if (const json::Value* r = json::get(doc, "response"); r && r->IsObject()) {
      obj = r;
      const json::Value* wa = json::get(*r, "whatsapp");
      const json::Value* msgs = wa ? json::get(*wa, "messages") : nullptr;
      if (msgs && msgs->IsArray() && !msgs->Empty() && (*msgs)[0].IsObject()) obj = &(*msgs)[0];
    }
    const json::Value* ed = json::get(*obj, "error_data");
    if (!ed) ed = json::get(*obj, "error");
    if (ed && ed->IsObject()) {
      e.code = member_text(*ed, "code");
      for (const char* k : {"description", "message", "Message", "details", "title"}) {
        e.message = member_text(*ed, k);
        if (!e.message.empty()) break;
      }
    } else if (ed && ed->IsString()) {
      e.message = scalar_text(ed);
    }
    if (e.code.empty()) e.code = member_text(*obj, "Code");
    if (e.code.empty()) e.code = member_text(*obj, "code");
    for (const char* k : {"Message", "message", "description", "Description"}) {
      if (!e.message.empty()) break;
      e.message = member_text(*obj, k);
    }
  } else if (!text.empty() && text[0] != '<') {
    e.message = text;  // e.g. "No matching results"
  } else if (!text.empty()) {
    // XML (TwilioResponse/RestException): pick <Message> and <Code>.
    auto tag = [&](std::string_view name) -> std::string {
      std::string open = "<" + std::string(name) + ">", close = "</" + std::string(name) + ">";
      size_t a = text.find(open);
      if (a == std::string::npos) return "";
      a += open.size();
      size_t b = text.find(close, a);
      return b == std::string::npos ? "" : trim(std::string_view(text).substr(a, b - a));
    };
    e.message = tag("Message");
    e.code = tag("Code");
  }
  // Keep it to one printable line.
  for (char& c : e.message)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  e.message = clip(trim(e.message));
  e.code = clip(trim(e.code));
  return e;
}

Status http_error(const net::HttpResponse& res, std::string_view what, bool lookup) {
  ProviderError pe = extract_error(res.body);
  std::string msg = "exotel " + std::string(what) + ": HTTP " + std::to_string(res.status);
  if (!pe.code.empty()) msg += " (code " + pe.code + ")";
  if (!pe.message.empty()) msg += ": " + pe.message;
  int64_t retry = -1;
  if (auto ra = res.retry_after()) retry = std::max<int64_t>(0, ra->count());
  std::string details = error_details(res.status, -1, pe.code);
  const int s = res.status;
  if (s == 401) return Status(Code::unauthenticated, msg + " — check the account's API key/token",
                              details);
  if (s == 403) return Status(Code::permission_denied, msg, details);
  if (s == 404 && lookup) return Status(Code::not_found, msg, details);
  if (s == 429 || s >= 500 || s < 200 || (s >= 300 && s < 400) || s == 408)
    return Status(Code::unavailable, msg, error_details(s, retry, pe.code));
  return Status(Code::invalid_argument, msg, details);
}

std::string scrub(std::string text, const messaging::ProviderAccount& acct) {
  auto replace_all = [&](const std::string& secret) {
    if (secret.size() < 4) return;  // too short to scrub without mangling ordinary text
    for (size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p + 3))
      text.replace(p, secret.size(), "***");
  };
  if (!acct.api_key.empty() || !acct.api_token.empty())
    replace_all(crypto::base64_encode(acct.api_key + ":" + acct.api_token));
  replace_all(acct.api_token);
  replace_all(acct.api_key);
  replace_all(acct.auth_token);
  replace_all(acct.access_token);
  return text;
}

Status scrub(const Status& st, const messaging::ProviderAccount& acct) {
  if (st.ok()) return st;
  return Status(st.code(), scrub(st.message(), acct), scrub(st.details(), acct));
}

}  // namespace banxway::exotel
