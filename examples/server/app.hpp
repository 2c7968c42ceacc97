// The application side of banxway-server, free of any HTTP library: it sees a request as a few
// string views and produces a status and a JSON body. Work is split in two so the I/O threads
// never block: prepare() answers everything that needs no database (routing, 404/405, 415,
// missing credentials, OPTIONS, info) and execute() — run on a worker — does the rest.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"
#include "params.hpp"
#include "rate_limit.hpp"
#include "router.hpp"

namespace banxway {
class Engine;
}

namespace bxserver {

/// Where a streamed (text/event-stream) answer goes: the connection, owned by the transport.
/// write() may be called from the worker thread; false means the client is gone (or too slow:
/// more than a bounded amount is waiting to be sent). cancel_flag() is set when the client
/// closes the connection, even while nothing is being written.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  /// The first call sends the response head (200, text/event-stream) before `bytes`.
  virtual bool write(std::string_view bytes) = 0;
  virtual std::atomic<bool>* cancel_flag() = 0;
};

struct HttpRequest {
  Method method = Method::other;
  std::string_view target;         // path and query as sent
  std::string_view authorization;  // header values, empty when absent
  std::string_view api_key;
  std::string_view content_type;
  std::string_view body;
  // For provider webhooks only (signatures and the public URL they sign).
  std::string_view host;
  std::string_view hub_signature_256;  // Meta
  std::string_view twilio_signature;   // Twilio
  std::string_view remote_addr;
  std::string_view content_disposition;  // raw document uploads may name the file here
  std::string_view accept;
  StreamWriter* stream = nullptr;  // set when the client accepts text/event-stream
};

struct HttpResponse {
  int status = 200;
  std::string body;        // JSON; empty for 204
  std::string content_type;  // empty: application/json
  std::string_view allow;  // Allow header (405 and OPTIONS), static storage
  bool www_authenticate = false;
  std::string_view route;  // the matched route's pattern (metrics label); empty: none
  int retry_after = 0;     // seconds, for 429 (Retry-After); 0: no header
  std::vector<std::pair<std::string_view, std::string>> headers;  // any others to send
  bool streamed = false;  // the answer already went out through HttpRequest::stream
};

/// What prepare() decided, carried to the worker that runs execute().
struct Prepared {
  Target target = Target::operation;
  const OpSpec* op = nullptr;
  std::string_view id_param;
  std::string id_value;
  std::string_view query;
  std::string_view credential;
  std::string_view webhook;  // Target::webhook: "<provider>/<channel>"
  bool post = false;
};

class App {
 public:
  App(banxway::Engine& engine, const ServerConfig& cfg);

  /// I/O thread. True when `res` is the final answer; false when execute() must run.
  bool prepare(const HttpRequest& req, Prepared& p, HttpResponse& res) const;
  /// Worker thread: health check, authentication, params, the operation itself.
  void execute(const HttpRequest& req, const Prepared& p, HttpResponse& res);

  /// The body limit for a request, decided from its method and target once the header is in:
  /// the document upload route takes --max-upload, everything else --max-body.
  std::size_t body_limit(Method m, std::string_view target) const;
  /// The largest body limit of any route (what the parser must accept before routing).
  std::size_t max_body_limit() const { return std::max(max_body_, upload_body_); }

  /// The Access-Control-Allow-Origin value for a request's Origin, or empty (no CORS headers).
  std::string_view allowed_origin(std::string_view origin) const;

  const OpCatalog& catalog() const { return catalog_; }

  /// Route operations the engine does not provide (reported at start-up).
  std::vector<std::string_view> missing_operations() const;

 private:
  void run_operation(const HttpRequest& req, const Prepared& p, HttpResponse& res);
  void run_webhook(const HttpRequest& req, const Prepared& p, HttpResponse& res);
  void health(HttpResponse& res);
  void metrics(const HttpRequest& req, const Prepared& p, HttpResponse& res);
  void upload_document(const HttpRequest& req, const Prepared& p, HttpResponse& res);
  void download_document(const HttpRequest& req, const Prepared& p, HttpResponse& res);
  /// Authenticates p.credential and applies the per-caller rate limit. On failure `res` holds
  /// the answer (a failed authentication also costs the client address a token).
  bool authenticate(const HttpRequest& req, const Prepared& p, HttpResponse& res,
                    banxway::Principal& who);
  /// Takes a token from the client address's bucket; false (and a 429 in res) when empty.
  bool allow_address(const HttpRequest& req, HttpResponse& res) const;
  std::string cached_stats();

  banxway::Engine& engine_;
  OpCatalog catalog_;
  Router router_;
  std::string info_json_;
  std::vector<std::string> cors_origins_;
  bool cors_any_ = false;
  RateLimiter limiter_;
  mutable RateLimiter ip_limiter_;
  ServerConfig::MetricsMode metrics_mode_;
  std::size_t max_body_;
  std::size_t upload_body_;
  std::string openapi_json_;
  std::mutex stats_mu_;
  std::string stats_json_;
  std::chrono::steady_clock::time_point stats_at_{};
  std::string public_url_;  // --public-url, without a trailing slash
};

}  // namespace bxserver
