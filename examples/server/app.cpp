#include "app.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <exception>

#include "banxway/engine.hpp"
#include "envelope.hpp"
#include "metrics.hpp"
#include "openapi.hpp"

namespace bxserver {
namespace {

using banxway::Code;

void set_error(HttpResponse& res, Code code, std::string_view message,
               std::string_view details = {}) {
  res.status = banxway::code_http_status(code);
  res.body = error_envelope(banxway::code_name(code), message, details);
}

void set_error(HttpResponse& res, const banxway::Status& st) {
  res.status = banxway::code_http_status(st.code());
  res.body = error_envelope(st);
}

// The media type without parameters or trailing spaces.
std::string_view bare_media_type(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return ct;
}

// a == b ignoring ASCII case (b is lower case).
bool ieq_lower(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

// application/json, optionally with parameters ("; charset=utf-8"), or any "+json" type.
bool is_json_media_type(std::string_view ct) {
  ct = bare_media_type(ct);
  if (ieq_lower(ct, "application/json")) return true;
  return ct.size() > 5 && ieq_lower(ct.substr(ct.size() - 5), "+json");
}

bool is_rfc822_media_type(std::string_view ct) {
  return ieq_lower(bare_media_type(ct), "message/rfc822");
}

void set_rate_limited(HttpResponse& res, int retry_after, std::string_view by) {
  set_error(res, Code::rate_limited,
            by == "address" ? "too many requests from this address; retry after the given seconds"
                            : "too many requests from this caller; slow down and retry");
  res.retry_after = retry_after > 0 ? retry_after : 1;
  Metrics::rate_limited_add(by);
}

bool is_multipart_form(std::string_view ct) {
  return ieq_lower(bare_media_type(ct), "multipart/form-data");
}

// Parameters of a header such as Content-Disposition or Content-Type ("a; x=1; y=\"q\"").
// Names come back lower-case; quoted values unquoted.
std::vector<std::pair<std::string, std::string>> header_params(std::string_view h) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = h.find(';');
  while (i != std::string_view::npos && i < h.size()) {
    ++i;
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
    size_t eq = h.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string name(h.substr(i, eq - i));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    i = eq + 1;
    while (i < h.size() && h[i] == ' ') ++i;
    std::string value;
    if (i < h.size() && h[i] == '"') {
      ++i;
      while (i < h.size() && h[i] != '"') {
        if (h[i] == '\\' && i + 1 < h.size()) ++i;
        value += h[i++];
      }
      i = h.find(';', i);
    } else {
      size_t end = h.find(';', i);
      value = std::string(
          h.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      while (!value.empty() && value.back() == ' ') value.pop_back();
      i = end;
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// The file name a Content-Disposition gives: filename* (RFC 5987/8187, UTF-8) over filename.
std::string disposition_filename(std::string_view h) {
  std::string plain;
  for (auto& [k, v] : header_params(h)) {
    if (k == "filename*") {
      auto q = v.find("''");
      if (q == std::string::npos) continue;
      std::string charset = v.substr(0, q);
      for (auto& c : charset) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string decoded;
      if ((charset == "utf-8" || charset == "us-ascii") &&
          percent_decode(v.substr(q + 2), decoded, false))
        return decoded;
    } else if (k == "filename") {
      plain = v;
    }
  }
  return plain;
}

// Content-Disposition for a download: an ASCII fallback and the exact name in RFC 8187 form.
std::string attachment_disposition(std::string_view filename) {
  std::string ascii, ext;
  for (unsigned char c : filename)
    ascii += (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '_' : static_cast<char>(c);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : filename) {
    if (std::isalnum(c) ||
        std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos) {
      ext += static_cast<char>(c);
    } else {
      ext += '%';
      ext += kHex[c >> 4];
      ext += kHex[c & 15];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + ext;
}

struct UploadForm {
  std::string_view data;
  std::string content_type;
  std::string filename;
  std::vector<std::pair<std::string, std::string>> fields;  // text parts
};

// multipart/form-data with exactly one file part (a part with a filename, or named "file");
// other parts are short text fields (kind, filename). Returns an error message or "".
std::string parse_upload_form(std::string_view content_type, std::string_view body,
                              UploadForm& form) {
  std::string boundary;
  for (auto& [k, v] : header_params(content_type))
    if (k == "boundary") boundary = v;
  if (boundary.empty() || boundary.size() > 200) return "multipart body without a usable boundary";
  const std::string delim = "--" + boundary;
  const std::string next_delim = "\r\n" + delim;
  size_t pos = body.starts_with(delim) ? 0 : body.find(next_delim);
  if (pos == std::string_view::npos) return "the multipart boundary does not occur in the body";
  if (pos != 0) pos += 2;
  bool have_file = false;
  for (int parts = 0;; ++parts) {
    size_t p = pos + delim.size();
    if (body.substr(p, 2) == "--") break;
    if (body.substr(p, 2) != "\r\n") return "malformed multipart delimiter line";
    if (parts >= 20) return "too many multipart parts";
    p += 2;
    size_t head_end = body.find("\r\n\r\n", p);
    if (body.substr(p, 2) == "\r\n") head_end = p - 2;
    if (head_end == std::string_view::npos) return "unterminated multipart part headers";
    std::string_view head = body.substr(p, head_end + 2 - p);
    size_t start = head_end + 4;
    size_t end = body.find(next_delim, start);
    if (end == std::string_view::npos) return "missing closing multipart boundary";
    std::string_view content = body.substr(start, end - start);
    std::string disposition, part_type;
    for (size_t q = 0; q < head.size();) {
      size_t e = head.find("\r\n", q);
      if (e == std::string_view::npos) e = head.size();
      std::string_view line = head.substr(q, e - q);
      q = e + 2;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (ieq_lower(name, "content-disposition")) disposition = std::string(value);
      if (ieq_lower(name, "content-type")) part_type = std::string(value);
    }
    std::string field_name;
    bool has_filename = false;
    for (auto& [k, v] : header_params(disposition)) {
      if (k == "name") field_name = v;
      if (k == "filename" || k == "filename*") has_filename = true;
    }
    if (has_filename || field_name == "file") {
      if (have_file) return "more than one file in the multipart body";
      have_file = true;
      form.data = content;
      form.content_type = part_type;
      form.filename = disposition_filename(disposition);
    } else if (!field_name.empty()) {
      if (content.size() > 1024) return "multipart field '" + field_name + "' is too long";
      form.fields.emplace_back(field_name, std::string(content));
    }
    pos = end + 2;
  }
  if (!have_file) return "the multipart body has no file part";
  return "";
}

std::string make_info(const OpCatalog& catalog) {
  std::string out = "{\"name\":\"banxway\",\"version\":";
  append_json_string(out, banxway::version());
  out += ",\"operations\":[";
  bool first = true;
  for (const auto& n : catalog.names()) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, n);
  }
  out += "]}";
  return out;
}

}  // namespace

App::App(banxway::Engine& engine, const ServerConfig& cfg)
    : engine_(engine),
      catalog_(engine.operations()),
      info_json_(make_info(catalog_)),
      limiter_(cfg.rate_limit, cfg.rate_burst > 0 ? cfg.rate_burst : 2 * cfg.rate_limit),
      ip_limiter_(cfg.rate_limit_ip,
                  cfg.rate_burst_ip > 0 ? cfg.rate_burst_ip : 2 * cfg.rate_limit_ip),
      metrics_mode_(cfg.metrics),
      max_body_(cfg.max_body),
      // Room for a multipart wrapper around a document of the largest accepted size.
      upload_body_(cfg.max_upload + 64 * 1024),
      public_url_(cfg.public_url) {
  openapi_json_ = openapi_document(router_, engine.operations(), catalog_,
                                   OpenApiOptions{cfg.metrics, banxway::version()});
  while (!public_url_.empty() && public_url_.back() == '/') public_url_.pop_back();
  for (const auto& o : cfg.cors_origins) {
    if (o == "*")
      cors_any_ = true;
    else
      cors_origins_.push_back(o);
  }
}

std::vector<std::string_view> App::missing_operations() const {
  std::vector<std::string_view> out;
  for (auto op : router_.operations())
    if (!catalog_.find(op)) out.push_back(op);
  return out;
}

std::string_view App::allowed_origin(std::string_view origin) const {
  if (origin.empty()) return {};
  if (cors_any_) return "*";
  for (const auto& o : cors_origins_)
    if (o == origin) return origin;
  return {};
}

bool App::prepare(const HttpRequest& req, Prepared& p, HttpResponse& res) const {
  std::string_view path = req.target;
  auto q = path.find('?');
  if (q != std::string_view::npos) {
    p.query = path.substr(q + 1);
    path = path.substr(0, q);
  }

  RouteMatch m = router_.match(req.method, path);
  if (m.kind != RouteMatch::Kind::not_found && m.target == Target::metrics &&
      metrics_mode_ == ServerConfig::MetricsMode::off)
    m = RouteMatch{};  // --metrics off: as if there were no such route
  res.allow = m.allow;
  res.route = m.pattern;
  if (m.kind == RouteMatch::Kind::not_found) {
    if (!allow_address(req, res)) return true;
    set_error(res, Code::not_found, "no route for this path; see GET /api/v1 and docs/SERVER.md");
    return true;
  }
  if (req.method == Method::options) {
    if (!allow_address(req, res)) return true;
    res.status = 204;  // CORS headers, if any, are added by the HTTP layer
    return true;
  }
  if (m.kind == RouteMatch::Kind::method_not_allowed) {
    if (!allow_address(req, res)) return true;
    res.status = 405;
    // The envelope code stays within the contract's names; the 405 says the rest.
    res.body = error_envelope("invalid_argument",
                              "method not allowed here; allowed: " + std::string(m.allow));
    return true;
  }

  p.target = m.target;
  p.post = req.method == Method::post;
  if (m.target == Target::websocket) {
    // An upgrade never gets here (the transport takes it over first).
    if (!allow_address(req, res)) return true;
    res.status = 426;
    res.headers.emplace_back("Upgrade", "websocket");
    res.body = error_envelope("invalid_argument",
                              "/ws speaks WebSocket: send an Upgrade request (docs/REALTIME.md)");
    return true;
  }
  if (m.target == Target::info || m.target == Target::openapi) {
    if (!allow_address(req, res)) return true;
    res.status = 200;
    res.body = m.target == Target::info ? info_json_ : openapi_json_;
    return true;
  }
  // Health checks and public metrics scrapes come from monitoring: never rate limited.
  if (m.target == Target::health) return false;
  if (m.target == Target::metrics && metrics_mode_ == ServerConfig::MetricsMode::public_)
    return false;
  if (m.target == Target::webhook) {
    if (!allow_address(req, res)) return true;
    // No API key: the engine authenticates the provider (token, signature) itself.
    p.webhook = m.op;
    p.id_value = std::move(m.id_value);

    return false;
  }

  bool builtin = m.target == Target::document_upload || m.target == Target::document_download ||
                 m.target == Target::metrics;
  if (!builtin) {
    std::string_view op_name = m.target == Target::any_operation ? m.id_value : m.op;
    p.op = catalog_.find(op_name);
    if (!p.op) {
      set_error(res, Code::not_found, "unknown operation '" + std::string(op_name) + "'");
      return true;
    }
  }
  p.id_param = m.id_param;
  p.id_value = std::move(m.id_value);

  // An MTA pipes mail in as the raw message (Content-Type: message/rfc822); JSON works too.
  bool raw_mail = m.target == Target::inbound_email && is_rfc822_media_type(req.content_type);
  // A document upload carries the file itself (any type; the engine checks it).
  bool raw_file = m.target == Target::document_upload;
  if (!raw_mail && !raw_file && !req.body.empty() && !req.content_type.empty() &&
      !is_json_media_type(req.content_type)) {
    set_error(res, Code::invalid_argument,
              "request body must be JSON (Content-Type: application/json)");
    res.status = 415;
    return true;
  }
  // A bearer Authorization wins; X-API-Key beats any other Authorization scheme (a proxy's
  // Basic credentials, say) so that it can still be used behind such a proxy.
  bool bearer = req.authorization.size() > 7 && (req.authorization.substr(0, 7) == "Bearer " ||
                                                 req.authorization.substr(0, 7) == "bearer ");
  p.credential = bearer || req.api_key.empty() ? req.authorization : req.api_key;
  if (p.credential.empty()) {
    if (!allow_address(req, res)) return true;
    set_error(res, Code::unauthenticated,
              "missing credentials: send 'Authorization: Bearer <API key or JWT>' or 'X-API-Key'");
    res.www_authenticate = true;
    return true;
  }
  // A client address whose bucket is empty (failed logins, unauthenticated floods) is refused
  // before its credential costs a lookup; a valid credential itself takes no address token.
  int retry = 0;
  if (ip_limiter_.enabled() &&
      ip_limiter_.exhausted(req.remote_addr, std::chrono::steady_clock::now(), &retry)) {
    set_rate_limited(res, retry, "address");
    return true;
  }
  return false;
}

bool App::allow_address(const HttpRequest& req, HttpResponse& res) const {
  int retry = 0;
  if (!ip_limiter_.enabled() ||
      ip_limiter_.allow(req.remote_addr, std::chrono::steady_clock::now(), &retry))
    return true;
  set_rate_limited(res, retry, "address");
  return false;
}

std::size_t App::body_limit(Method m, std::string_view target) const {
  if (m != Method::post) return max_body_;
  std::string_view path = target.substr(0, target.find('?'));
  // Only the upload route's shape is checked: cheap, and a false match just allows the larger
  // limit for a request that is then refused by routing or the engine anyway.
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.starts_with("/api/v1/shipments/") && path.ends_with("/documents")) return upload_body_;
  return max_body_;
}

bool App::authenticate(const HttpRequest& req, const Prepared& p, HttpResponse& res,
                       banxway::Principal& who) {
  auto r = engine_.authenticate(p.credential);
  if (!r.ok()) {
    int retry = 0;
    if (ip_limiter_.enabled() &&
        !ip_limiter_.allow(req.remote_addr, std::chrono::steady_clock::now(), &retry)) {
      set_rate_limited(res, retry, "address");
      return false;
    }
    set_error(res, r.status());
    res.www_authenticate = r.status().code() == Code::unauthenticated;
    return false;
  }
  int retry = 0;
  if (limiter_.enabled() &&
      !limiter_.allow(r->org_id + '/' + r->actor_id, std::chrono::steady_clock::now(), &retry)) {
    set_rate_limited(res, retry, "caller");
    return false;
  }
  who = std::move(*r);
  return true;
}

void App::execute(const HttpRequest& req, const Prepared& p, HttpResponse& res) {
  // The engine reports failures as Status, but a host must survive a bug that throws.
  try {
    if (p.target == Target::health)
      health(res);
    else if (p.target == Target::metrics)
      metrics(req, p, res);
    else if (p.target == Target::document_upload)
      upload_document(req, p, res);
    else if (p.target == Target::document_download)
      download_document(req, p, res);
    else if (p.target == Target::webhook)
      run_webhook(req, p, res);
    else
      run_operation(req, p, res);
  } catch (const std::exception& e) {
    spdlog::error("request failed with an exception: {}", e.what());
    set_error(res, Code::internal, "internal error");
  }
}

std::string App::cached_stats() {
  // Scrapers call often; the counts are a few COUNT queries over all organizations, so they
  // are refreshed at most every 5 seconds (a failure is retried after the same pause).
  std::lock_guard<std::mutex> lock(stats_mu_);
  auto now = std::chrono::steady_clock::now();
  if (stats_at_.time_since_epoch().count() == 0 || now - stats_at_ >= std::chrono::seconds(5)) {
    auto r = engine_.stats();
    if (r.ok())
      stats_json_ = std::move(*r);
    else {
      spdlog::warn("metrics: engine stats unavailable: {}", r.status().to_string());
      stats_json_.clear();
    }
    stats_at_ = now;
  }
  return stats_json_;
}

void App::metrics(const HttpRequest& req, const Prepared& p, HttpResponse& res) {
  if (metrics_mode_ == ServerConfig::MetricsMode::token) {
    banxway::Principal who;
    if (!authenticate(req, p, res, who)) return;
    if (who.role != banxway::Role::admin) {
      set_error(res, Code::permission_denied, "metrics need an admin credential");
      return;
    }
  }
  res.status = 200;
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = Metrics::global().render(cached_stats());
}

void App::upload_document(const HttpRequest& req, const Prepared& p, HttpResponse& res) {
  banxway::Principal who;
  if (!authenticate(req, p, res, who)) return;
  std::string kind, filename, content_type;
  bool have_filename = false;
  // Query: kind, filename (each at most once).
  for (std::string_view q = p.query; !q.empty();) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key, value;
    if (!percent_decode(pair.substr(0, eq), key, true) ||
        !percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                        value, true)) {
      set_error(res, Code::invalid_argument, "malformed %-escape in the query string");
      return;
    }
    if (key == "kind" && kind.empty()) {
      kind = value;
    } else if (key == "filename" && !have_filename) {
      filename = value;
      have_filename = true;
    } else {
      std::string details = "{\"param\":";
      append_json_string(details, key);
      details += '}';
      set_error(res, Code::invalid_argument,
                "query parameter '" + key + "' is unknown or repeated here (kind, filename)",
                details);
      return;
    }
  }
  std::string_view data = req.body;
  if (is_multipart_form(req.content_type)) {
    UploadForm form;
    if (auto err = parse_upload_form(req.content_type, req.body, form); !err.empty()) {
      set_error(res, Code::invalid_argument, err);
      return;
    }
    data = form.data;
    content_type = form.content_type;
    if (!have_filename && !form.filename.empty()) filename = form.filename;
    for (auto& [k, v] : form.fields) {
      if (k == "kind" && kind.empty())
        kind = v;
      else if (k == "filename" && filename.empty())
        filename = v;
    }
  } else {
    content_type = std::string(req.content_type);
    if (!have_filename) filename = disposition_filename(req.content_disposition);
  }
  std::string params = "{\"shipment_id\":";
  append_json_string(params, p.id_value);
  if (!kind.empty()) {
    params += ",\"kind\":";
    append_json_string(params, kind);
  }
  if (!filename.empty()) {
    params += ",\"filename\":";
    append_json_string(params, filename);
  }
  if (!content_type.empty()) {
    params += ",\"content_type\":";
    append_json_string(params, content_type);
  }
  params += '}';
  auto r = engine_.upload_document(who, params, data);
  if (!r.ok()) {
    set_error(res, r.status());
    return;
  }
  res.status = 201;
  res.body = success_envelope(*r);
}

void App::download_document(const HttpRequest& req, const Prepared& p, HttpResponse& res) {
  banxway::Principal who;
  if (!authenticate(req, p, res, who)) return;
  auto d = engine_.download_document(who, p.id_value);
  if (!d.ok()) {
    set_error(res, d.status());
    return;
  }
  res.status = 200;
  res.content_type = d->content_type;
  res.body = std::move(d->bytes);
  res.headers.emplace_back("Content-Disposition", attachment_disposition(d->filename));
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Cache-Control", "private, no-store");
}

void App::health(HttpResponse& res) {
  banxway::Status st = engine_.ping();
  std::string out = "{\"status\":";
  if (st.ok()) {
    auto v = engine_.schema_version();
    out += "\"ok\",\"database\":\"ok\"";
    out += ",\"version\":";
    append_json_string(out, banxway::version());
    out += ",\"schema_version\":";
    out += v.ok() ? std::to_string(*v) : std::string("null");
    res.status = 200;
  } else {
    out += "\"error\",\"database\":\"unavailable\",\"version\":";
    append_json_string(out, banxway::version());
    out += ",\"schema_version\":null";
    res.status = 503;
  }
  out += '}';
  res.body = std::move(out);
}

void App::run_webhook(const HttpRequest& req, const Prepared& p, HttpResponse& res) {
  banxway::WebhookRequest w;
  auto slash = p.webhook.find('/');
  w.provider = std::string(p.webhook.substr(0, slash));
  w.channel = std::string(p.webhook.substr(slash + 1));
  w.token = p.id_value;
  w.method = req.method == Method::get ? "GET" : "POST";
  // Twilio signs the URL it was configured with: behind a proxy, --public-url says what it is.
  std::string base = !public_url_.empty() ? public_url_ : "http://" + std::string(req.host);
  w.url = base + std::string(req.target);
  w.query = std::string(p.query);
  w.content_type = std::string(req.content_type);
  if (!req.hub_signature_256.empty())
    w.headers.emplace_back("X-Hub-Signature-256", std::string(req.hub_signature_256));
  if (!req.twilio_signature.empty())
    w.headers.emplace_back("X-Twilio-Signature", std::string(req.twilio_signature));
  w.body = std::string(req.body);
  w.remote_addr = std::string(req.remote_addr);
  auto r = engine_.receive_webhook(w);
  if (!r.ok()) {
    set_error(res, r.status());
    return;
  }
  res.status = r->status;
  res.content_type = r->content_type;
  res.body = std::move(r->body);
}

void App::run_operation(const HttpRequest& req, const Prepared& p, HttpResponse& res) {
  banxway::Principal principal;
  if (!authenticate(req, p, res, principal)) return;
  const banxway::Principal* who = &principal;
  if (p.target == Target::inbound_email && is_rfc822_media_type(req.content_type)) {
    auto r = engine_.ingest_email(*who, req.body);
    if (!r.ok()) {
      set_error(res, r.status());
      return;
    }
    // 201 for a new message, 200 when it was already stored (ingest is idempotent).
    res.status = r->find("\"duplicate\":true") != std::string::npos ? 200 : 201;
    res.body = success_envelope(*r);
    return;
  }
  // A GET carries its params in the query and path only.
  std::string_view body = req.method == Method::get ? std::string_view() : req.body;
  auto params = build_params(*p.op, ParamsInput{p.query, p.id_param, p.id_value, body});
  if (!params.ok()) {
    set_error(res, params.status());
    return;
  }
  if (req.stream && p.op->name == "compose.suggest") {
    // Server-Sent Events (docs/COMPOSE.md): each engine event becomes one SSE event; an error
    // after the stream started is an "error" event, before it an ordinary JSON answer.
    bool started = false;
    banxway::Engine::StreamSink sink = [&](std::string_view event, std::string_view data) {
      started = true;
      std::string frame;
      frame.reserve(event.size() + data.size() + 16);
      frame.append("event: ").append(event).append("\ndata: ").append(data).append("\n\n");
      return req.stream->write(frame);
    };
    auto r = engine_.call_streaming(p.op->name, *params, *who, sink, req.stream->cancel_flag());
    if (!started) {
      if (!r.ok()) return set_error(res, r.status());
      res.body = success_envelope(r->data);  // (a stream that never started: nothing to send)
      return;
    }
    if (!r.ok() && !req.stream->cancel_flag()->load()) {
      std::string frame = "event: error\ndata: ";
      frame += error_envelope(r.status());
      frame += "\n\n";
      req.stream->write(frame);
    }
    res.streamed = true;
    return;
  }
  auto r = engine_.call(p.op->name, *params, *who);
  if (!r.ok()) {
    set_error(res, r.status());
    return;
  }
  res.status = !p.post ? 200 : p.op->is_create ? 201 : p.op->is_accepted ? 202 : 200;
  res.body = p.op->is_list ? list_envelope(r->data) : success_envelope(r->data);
}

}  // namespace bxserver
