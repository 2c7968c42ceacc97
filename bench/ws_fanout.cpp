// Event fan-out over /ws (docs/PERFORMANCE.md, "Realtime"). A load client for a running
// banxway-server, driven by bench/ws_fanout.sh:
//
//   bench_ws_fanout --port P --keys FILE --clients N --rate R --duration S
//       N WebSocket clients, spread over the organizations whose API keys FILE lists (one per
//       line), each subscribed to its organization's room. Then R messages per second are
//       ingested over HTTP (POST /api/v1/inbound/email, each org in turn) for S seconds; every
//       client times the message.received event of each message from the moment its POST was
//       sent. Prints deliveries and the latency percentiles, and the POST latency alone.
//   bench_ws_fanout --port P --keys FILE --clients N --idle S
//       N clients connect, subscribe and stay idle for S seconds (the script reads the
//       server's RSS meanwhile).
//
// One I/O thread runs every WebSocket; senders use their own threads and HTTP connections.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string host = "127.0.0.1";
  std::string port = "8000";
  std::string keys_file;
  int clients = 100;
  double rate = 1000;
  int duration = 10;
  int idle = 0;
  int senders = 16;
};

std::vector<std::string> g_keys;
constexpr int kMaxSeq = 1 << 22;
std::vector<std::atomic<int64_t>> g_sent_ns(kMaxSeq);  // steady-clock ns when POST began
std::vector<std::atomic<int64_t>> g_acked_ns(kMaxSeq);  // when its HTTP answer arrived
std::mutex g_lat_mu;
std::vector<double> g_latency_ms;
std::vector<double> g_after_ack_ms;  // delivery minus HTTP answer (negative: event came first)
std::atomic<long> g_subscribed{0}, g_failed{0}, g_frames{0};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

class WsClient : public std::enable_shared_from_this<WsClient> {
 public:
  WsClient(asio::io_context& ioc, const Args& a, std::string key)
      : a_(a), key_(std::move(key)), resolver_(ioc), ws_(ioc) {}

  void start() {
    resolver_.async_resolve(a_.host, a_.port, [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
      if (ec) return self->fail("resolve");
      beast::get_lowest_layer(self->ws_).async_connect(r, [self](beast::error_code ec, auto) {
        if (ec) return self->fail("connect");
        beast::get_lowest_layer(self->ws_).expires_never();
        self->ws_.set_option(websocket::stream_base::decorator([k = self->key_](websocket::request_type& req) {
          req.set(http::field::authorization, "Bearer " + k);
        }));
        self->ws_.async_handshake(self->a_.host, "/ws", [self](beast::error_code ec) {
          if (ec) return self->fail("handshake");
          self->ws_.text(true);
          self->out_ = R"({"type":"subscribe","room":"org"})";
          self->ws_.async_write(asio::buffer(self->out_), [self](beast::error_code ec, std::size_t) {
            if (ec) return self->fail("subscribe");
            self->read();
          });
        });
      });
    });
  }

 private:
  void fail(const char* what) {
    if (g_failed.fetch_add(1) < 5) std::fprintf(stderr, "client failed: %s\n", what);
  }

  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      int64_t t = now_ns();
      g_frames.fetch_add(1, std::memory_order_relaxed);
      std::string_view f(static_cast<const char*>(self->buf_.data().data()), self->buf_.size());
      if (f.find("\"type\":\"subscribed\"") != std::string_view::npos) g_subscribed.fetch_add(1);
      if (f.find("\"type\":\"message.received\"") != std::string_view::npos) {
        auto p = f.find("bxb-");
        if (p != std::string_view::npos) {
          long seq = std::strtol(f.data() + p + 4, nullptr, 10);
          if (seq >= 0 && seq < kMaxSeq) {
            int64_t s = g_sent_ns[seq].load(std::memory_order_relaxed);
            if (s > 0) {
              int64_t a = g_acked_ns[seq].load(std::memory_order_relaxed);
              std::lock_guard<std::mutex> l(g_lat_mu);
              g_latency_ms.push_back((t - s) / 1e6);
              if (a > 0) g_after_ack_ms.push_back((t - a) / 1e6);
            }
          }
        }
      }
      self->buf_.consume(self->buf_.size());
      self->read();
    });
  }

  const Args& a_;
  std::string key_;
  tcp::resolver resolver_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  std::string out_;
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// One sender thread: its own keep-alive HTTP connection, messages seq = id, id + n, ...
void sender(const Args& a, int id, std::atomic<long>& next_seq, long total, Clock::time_point t0,
            std::vector<double>& post_ms) {
  asio::io_context ioc;
  tcp::resolver res(ioc);
  beast::tcp_stream s(ioc);
  s.connect(res.resolve(a.host, a.port));
  beast::flat_buffer b;
  for (;;) {
    long seq = next_seq.fetch_add(1);
    if (seq >= total) break;
    auto due = t0 + std::chrono::nanoseconds(static_cast<int64_t>(seq * 1e9 / a.rate));
    std::this_thread::sleep_until(due);
    const std::string& key = g_keys[seq % g_keys.size()];
    http::request<http::string_body> req{http::verb::post, "/api/v1/inbound/email", 11};
    req.set(http::field::host, a.host);
    req.set(http::field::authorization, "Bearer " + key);
    req.set(http::field::content_type, "message/rfc822");
    req.body() = "From: Shipper " + std::to_string(seq % 97) + " <shipper" +
                 std::to_string(seq % 97) + "@example.test>\r\nTo: ops@forwarder.test\r\n"
                 "Subject: bxb-" + std::to_string(seq) + " booking update\r\nMessage-ID: <bxb-" +
                 std::to_string(seq) + "." + std::to_string(now_ns()) +
                 "@bench.test>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nContainer MSKU9070323 "
                 "gated in. Please confirm the booking.\r\n";
    req.prepare_payload();
    int64_t start = now_ns();
    g_sent_ns[seq].store(start, std::memory_order_relaxed);
    http::write(s, req);
    http::response<http::string_body> r;
    http::read(s, b, r);
    int64_t acked = now_ns();
    g_acked_ns[seq].store(acked, std::memory_order_relaxed);
    post_ms.push_back((acked - start) / 1e6);
    if (r.result_int() >= 300 && g_failed.fetch_add(1) < 5)
      std::fprintf(stderr, "ingest failed: %d %s\n", r.result_int(), r.body().c_str());
  }
  (void)id;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") a.host = v;
    else if (k == "--port") a.port = v;
    else if (k == "--keys") a.keys_file = v;
    else if (k == "--clients") a.clients = std::atoi(v.c_str());
    else if (k == "--rate") a.rate = std::atof(v.c_str());
    else if (k == "--duration") a.duration = std::atoi(v.c_str());
    else if (k == "--idle") a.idle = std::atoi(v.c_str());
    else if (k == "--senders") a.senders = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::ifstream kf(a.keys_file);
  for (std::string line; std::getline(kf, line);)
    if (!line.empty()) g_keys.push_back(line);
  if (g_keys.empty()) {
    std::fprintf(stderr, "no API keys in %s\n", a.keys_file.c_str());
    return 2;
  }

  asio::io_context ioc;
  std::vector<std::shared_ptr<WsClient>> clients;
  auto c0 = Clock::now();
  for (int i = 0; i < a.clients; ++i) {
    clients.push_back(std::make_shared<WsClient>(ioc, a, g_keys[i % g_keys.size()]));
    clients.back()->start();
  }
  std::thread io([&] { ioc.run(); });
  auto guard = asio::make_work_guard(ioc);
  while (g_subscribed.load() + g_failed.load() < a.clients &&
         Clock::now() - c0 < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  double connect_s = std::chrono::duration<double>(Clock::now() - c0).count();
  std::printf("clients: %ld subscribed, %ld failed, in %.2f s\n", g_subscribed.load(),
              g_failed.load(), connect_s);
  std::fflush(stdout);

  if (a.idle > 0) {
    std::printf("holding %d idle connections for %d s\n", a.clients, a.idle);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(a.idle));
  } else {
    long total = static_cast<long>(a.rate * a.duration);
    std::atomic<long> next{0};
    std::vector<std::vector<double>> post_ms(a.senders);
    std::vector<std::thread> senders;
    auto t0 = Clock::now() + std::chrono::milliseconds(100);
    for (int i = 0; i < a.senders; ++i)
      senders.emplace_back([&, i] { sender(a, i, next, total, t0, post_ms[i]); });
    for (auto& t : senders) t.join();
    double send_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::seconds(2));  // let the last deliveries land
    std::vector<double> post;
    for (auto& v : post_ms) post.insert(post.end(), v.begin(), v.end());
    std::sort(post.begin(), post.end());
    std::vector<double> lat, after_ack;
    {
      std::lock_guard<std::mutex> l(g_lat_mu);
      lat = g_latency_ms;
      after_ack = g_after_ack_ms;
    }
    std::sort(lat.begin(), lat.end());
    std::sort(after_ack.begin(), after_ack.end());
    long expected = 0;
    for (long s = 0; s < total; ++s) {
      // Clients of org k receive the messages with seq % orgs == k.
      size_t org = static_cast<size_t>(s) % g_keys.size();
      expected += a.clients / static_cast<long>(g_keys.size()) +
                  (static_cast<long>(org) < a.clients % static_cast<long>(g_keys.size()) ? 1 : 0);
    }
    std::printf("ingested %ld messages in %.2f s (%.0f/s asked %.0f/s)\n", total, send_s,
                total / send_s, a.rate);
    std::printf("POST latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n", pct(post, 0.5),
                pct(post, 0.9), pct(post, 0.99), post.empty() ? 0 : post.back());
    std::printf("deliveries: %zu of %ld expected (%ld frames in all)\n", lat.size(), expected,
                g_frames.load());
    std::printf("ingest-to-client latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
                pct(lat, 0.5), pct(lat, 0.9), pct(lat, 0.99), lat.empty() ? 0 : lat.back());
    std::printf("delivery after the HTTP answer ms (fan-out alone; negative = before it): p50 %.2f "
                "p90 %.2f p99 %.2f max %.2f\n",
                pct(after_ack, 0.5), pct(after_ack, 0.9), pct(after_ack, 0.99),
                after_ack.empty() ? 0 : after_ack.back());
  }
  std::fflush(stdout);
  guard.reset();
  ioc.stop();
  io.join();
  return 0;
}
