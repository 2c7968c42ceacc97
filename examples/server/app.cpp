#include "app.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <exception>

#include "banxway/engine.hpp"
#include "envelope.hpp"

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

bool is_rfc822_media_type(std::string_view ct) { return ieq_lower(bare_media_type(ct), "message/rfc822"); }

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
      public_url_(cfg.public_url) {
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
  res.allow = m.allow;
  if (m.kind == RouteMatch::Kind::not_found) {
    set_error(res, Code::not_found, "no route for this path; see GET /api/v1 and docs/SERVER.md");
    return true;
  }
  if (req.method == Method::options) {
    res.status = 204;  // CORS headers, if any, are added by the HTTP layer
    return true;
  }
  if (m.kind == RouteMatch::Kind::method_not_allowed) {
    res.status = 405;
    // The envelope code stays within the contract's names; the 405 says the rest.
    res.body = error_envelope("invalid_argument",
                              "method not allowed here; allowed: " + std::string(m.allow));
    return true;
  }

  p.target = m.target;
  p.post = req.method == Method::post;
  if (m.target == Target::info) {
    res.status = 200;
    res.body = info_json_;
    return true;
  }
  if (m.target == Target::health) return false;
  if (m.target == Target::webhook) {
    // No API key: the engine authenticates the provider (token, signature) itself.
    p.webhook = m.op;
    p.id_value = std::move(m.id_value);

    return false;
  }

  std::string_view op_name = m.target == Target::any_operation ? m.id_value : m.op;
  p.op = catalog_.find(op_name);
  if (!p.op) {
    set_error(res, Code::not_found, "unknown operation '" + std::string(op_name) + "'");
    return true;
  }
  p.id_param = m.id_param;
  p.id_value = std::move(m.id_value);

  // An MTA pipes mail in as the raw message (Content-Type: message/rfc822); JSON works too.
  bool raw_mail = m.target == Target::inbound_email && is_rfc822_media_type(req.content_type);
  if (!raw_mail && !req.body.empty() && !req.content_type.empty() &&
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
    set_error(res, Code::unauthenticated,
              "missing credentials: send 'Authorization: Bearer <API key or JWT>' or 'X-API-Key'");
    res.www_authenticate = true;
    return true;
  }
  return false;
}

void App::execute(const HttpRequest& req, const Prepared& p, HttpResponse& res) {
  // The engine reports failures as Status, but a host must survive a bug that throws.
  try {
    if (p.target == Target::health)
      health(res);
    else if (p.target == Target::webhook)
      run_webhook(req, p, res);
    else
      run_operation(req, p, res);
  } catch (const std::exception& e) {
    spdlog::error("request failed with an exception: {}", e.what());
    set_error(res, Code::internal, "internal error");
  }
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
  auto who = engine_.authenticate(p.credential);
  if (!who.ok()) {
    set_error(res, who.status());
    res.www_authenticate = who.status().code() == Code::unauthenticated;
    return;
  }
  if (limiter_.enabled() && !limiter_.allow(who->org_id + '/' + who->actor_id)) {
    set_error(res, Code::rate_limited, "too many requests from this caller; slow down and retry");
    return;
  }
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
  auto r = engine_.call(p.op->name, *params, *who);
  if (!r.ok()) {
    set_error(res, r.status());
    return;
  }
  res.status = !p.post ? 200 : p.op->is_create ? 201 : p.op->is_accepted ? 202 : 200;
  res.body = p.op->is_list ? list_envelope(r->data) : success_envelope(r->data);
}

}  // namespace bxserver
