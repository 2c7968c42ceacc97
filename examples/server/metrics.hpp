// Server metrics in the Prometheus text exposition format (version 0.0.4), served on
// GET /metrics (docs/SERVER.md "Metrics"). Counters and gauges are process-wide; the HTTP layer
// and the WebSocket code update them through the static functions below, which are cheap
// (atomics, or one short mutex section per finished request).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace bxserver {

class Metrics {
 public:
  /// Latency histogram bucket upper bounds, in seconds.
  static constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  static constexpr size_t kBucketCount = sizeof(kBuckets) / sizeof(kBuckets[0]);

  static Metrics& global();

  /// One finished HTTP request: route is the route's pattern ("/api/v1/shipments/:id"), or
  /// empty for a request that matched no route (or was refused before routing).
  static void request_done(std::string_view route, std::string_view method, int status,
                           double seconds);
  static void inflight_add(int d) { global().inflight_.fetch_add(d, std::memory_order_relaxed); }
  static void connections_add(int d) {
    global().connections_.fetch_add(d, std::memory_order_relaxed);
  }
  static void connections_refused_add(int d) {
    global().refused_.fetch_add(d, std::memory_order_relaxed);
  }
  static void rate_limited_add(std::string_view by);  // "caller" or "address"
  /// For the WebSocket endpoint: open connections (+1 on upgrade, -1 on close) and messages
  /// (frames carrying an event or reply) sent to clients.
  static void ws_connections_add(int d) {
    global().ws_connections_.fetch_add(d, std::memory_order_relaxed);
  }
  static void ws_messages_sent_add(int64_t n) {
    global().ws_messages_sent_.fetch_add(n, std::memory_order_relaxed);
  }
  /// Where the WebSocket gauge comes from when the transport counts its sockets itself (the
  /// HTTP server passes its own counter); without one, ws_connections_add's sum is shown.
  static void set_ws_connections_source(std::function<int64_t()> f) {
    std::lock_guard<std::mutex> lock(global().mu_);
    global().ws_source_ = std::move(f);
  }
  static int64_t ws_connections() {
    return global().ws_connections_.load(std::memory_order_relaxed);
  }
  static int64_t connections() { return global().connections_.load(std::memory_order_relaxed); }

  /// The exposition text. `engine_stats_json` is Engine::stats() output (or empty when it is
  /// unavailable: the engine families are then left out and banxway_engine_stats_up is 0).
  std::string render(std::string_view engine_stats_json) const;

 private:
  struct Series {
    uint64_t count = 0;  // requests with this route/method/status
  };
  struct Latency {
    uint64_t buckets[kBucketCount] = {};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  // std::less<> lets a request look its series up by string_views: no allocation per request.
  std::map<std::tuple<std::string, std::string, int>, Series, std::less<>> requests_;
  std::map<std::tuple<std::string, std::string>, Latency, std::less<>> latency_;
  std::map<std::string, uint64_t> rate_limited_;
  std::atomic<int64_t> inflight_{0};
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> refused_{0};
  std::atomic<int64_t> ws_connections_{0};
  std::atomic<int64_t> ws_messages_sent_{0};
  std::function<int64_t()> ws_source_;  // guarded by mu_
};

}  // namespace bxserver
