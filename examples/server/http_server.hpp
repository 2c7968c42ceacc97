// The HTTP/1.1 transport (Boost.Beast). All Beast/Asio code lives in http_server.cpp so that only
// one translation unit pays for those headers; this header exposes none of them.
#pragma once

#include <memory>
#include <string>

namespace banxway {
class Engine;
}

namespace bxserver {

class App;
class Hub;
struct ServerConfig;
struct WsOptions;

class HttpServer {
 public:
  HttpServer(App& app, const ServerConfig& cfg);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Resolves and binds host:port. Returns an error message, or empty on success.
  std::string bind();
  /// The bound port (the real one when --port 0 was asked for).
  unsigned short port() const;

  /// Enables /ws with the given hub (which must outlive run()).
  void set_realtime(Hub* hub, banxway::Engine* engine, const WsOptions& opts);
  int websocket_connections() const;

  /// Serves until SIGINT or SIGTERM, then stops accepting, lets in-flight requests finish
  /// (bounded by cfg.shutdown_grace_s) and returns.
  void run();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bxserver
