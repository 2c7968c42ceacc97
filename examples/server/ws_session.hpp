// WebSocket connections on /ws (docs/REALTIME.md). Only http_server.cpp and ws_session.cpp
// include this header; it names Beast types, ws_session.cpp pays for Beast's websocket code.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <cstddef>
#include <string>

namespace banxway {
class Engine;
}

namespace bxserver {

class Hub;

struct WsOptions {
  std::size_t max_queue = 1024;        // frames waiting to be sent; over it the client is cut off
  int idle_timeout_s = 60;             // no traffic (pings included) for this long: closed
  int auth_timeout_s = 10;             // without a credential, the auth message must come in time
  std::size_t max_message = 64 << 10;  // largest message a client may send
};

struct WsEnv {
  Hub* hub = nullptr;
  banxway::Engine* engine = nullptr;
  boost::asio::thread_pool* pool = nullptr;
  WsOptions opts;
  std::atomic<int> open{0};  // connections, for /metrics and the shutdown log
  std::atomic<long long> frames_sent{0};
  std::atomic<long long> slow_closed{0};
};

/// Takes over a connection whose request asked to upgrade to a WebSocket.
void serve_websocket(WsEnv& env, boost::asio::ip::tcp::socket&& socket,
                     boost::beast::http::request<boost::beast::http::string_body>&& req,
                     std::string peer);

}  // namespace bxserver
