// Maps method + path onto an operation (or a built-in endpoint). The table is the REST surface
// of docs/SERVER.md; it holds no business rules, only names.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bxserver {

enum class Method : uint8_t { get, post, patch, del, put, head, options, other };
Method method_from(std::string_view name);

/// What a matched route does besides calling an operation by name.
// webhook: a provider callback (no API key; the engine authenticates it); the route's
// "operation" names "<provider>/<channel>".
// document_upload / document_download: shipment document bytes (Engine::upload_document and
// download_document). openapi / metrics: the server's own description and Prometheus text.
enum class Target : uint8_t {
  operation,
  any_operation,
  health,
  info,
  inbound_email,
  webhook,
  document_upload,
  document_download,
  openapi,
  metrics,
  websocket  // /ws: served by ws_session.cpp on upgrade; a plain request gets 426
};

/// Upper-case method name ("GET"), for tables and OpenAPI.
std::string_view method_name(Method m);

/// One route as the table declares it, for generated descriptions (OpenAPI) and checks.
struct RouteInfo {
  std::string_view path;      // "/api/v1/shipments/:id", ":x" marks the variable segment
  std::string_view id_param;  // params key the path segment goes to (may be empty)
  struct Entry {
    Method method;
    std::string_view op;  // operation name, "*" for /ops/:name, or a built-in's name
    Target target;
  };
  std::vector<Entry> methods;
};

struct RouteMatch {
  enum class Kind : uint8_t { found, not_found, method_not_allowed } kind = Kind::not_found;
  Target target = Target::operation;
  std::string_view op;        // operation name (Target::operation)
  std::string_view id_param;  // params key that receives the path id ("id", "thread_id"), or empty
  std::string id_value;    // percent-decoded path segment (the id, or the op name for /ops/:name)
  std::string_view allow;  // methods the path accepts, for 405 and OPTIONS
  std::string_view pattern;  // the route's path as declared ("/api/v1/shipments/:id"), for metrics
};

class Router {
 public:
  Router();
  /// `path` is the request target without its query string.
  RouteMatch match(Method m, std::string_view path) const;
  /// Every operation name a route mentions (for the info endpoint and start-up checks).
  std::vector<std::string_view> operations() const;
  /// The whole table, in matching order.
  std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    std::vector<std::string_view> segments;  // ":x" marks the one variable segment
    std::string_view id_param;
    Target target = Target::operation;
    // Operation per method, indexed by Method; empty = not allowed.
    std::array<std::string_view, 8> ops{};
    std::array<Target, 8> targets{};  // per method: a route may mix operations and built-ins
    std::string_view path;
    std::string allow;
  };
  const Route* find(std::string_view path, std::string& var, bool& bad_escape) const;

  std::vector<Route> routes_;
};

/// Decodes %XX escapes (and '+' as space when `plus_is_space`). False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace bxserver
