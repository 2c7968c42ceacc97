#include "http_server.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <array>
#include <chrono>
#include <deque>
#include <ctime>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "access_log.hpp"
#include "app.hpp"
#include "banxway/engine.hpp"
#include "config.hpp"
#include "envelope.hpp"
#include "metrics.hpp"
#include "realtime.hpp"
#include "ws_session.hpp"

namespace bxserver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view bsv(std::string_view s) { return {s.data(), s.size()}; }

Method to_method(http::verb v) {
  switch (v) {
    case http::verb::get:
      return Method::get;
    case http::verb::post:
      return Method::post;
    case http::verb::patch:
      return Method::patch;
    case http::verb::delete_:
      return Method::del;
    case http::verb::put:
      return Method::put;
    case http::verb::head:
      return Method::head;
    case http::verb::options:
      return Method::options;
    default:
      return Method::other;
  }
}

// The Date header changes once a second; formatting it per response would be wasted work.
const std::string& http_date() {
  thread_local std::time_t cached_at = 0;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    char buf[64];
    std::tm tm{};
    gmtime_r(&now, &tm);
    size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached.assign(buf, n);
    cached_at = now;
  }
  return cached;
}

const std::string& server_header() {
  static const std::string s = std::string("banxway/") + banxway::version();
  return s;
}

}  // namespace

struct HttpServer::Impl {
  Impl(App& a, const ServerConfig& c)
      : app(a),
        cfg(c),
        ioc(c.io_threads),
        control(asio::make_strand(ioc)),
        acceptor(control),
        signals(control, SIGINT, SIGTERM),
        drain_timer(control),
        retry_timer(control),
        pool(static_cast<size_t>(c.workers)) {
    if (cfg.access_log) access = access_logger();
    Metrics::set_ws_connections_source([this] { return static_cast<int64_t>(ws.open.load()); });
  }

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void wait_for_signal();
  void begin_shutdown();
  void poll_drain();

  // First member, so it outlives the io_context: WebSocket sessions still referenced by
  // handlers the io_context destroys touch it in their destructors.
  WsEnv ws;  // /ws connections (docs/REALTIME.md); ws.hub is null when realtime is off
  App& app;
  const ServerConfig& cfg;
  asio::io_context ioc;
  // The acceptor, signals and timers share one strand: their handlers touch each other's state
  // (the signal handler closes the acceptor) and may otherwise run on different I/O threads.
  asio::strand<asio::io_context::executor_type> control;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer drain_timer;
  asio::steady_timer retry_timer;
  asio::thread_pool pool;  // runs engine calls so database latency never blocks I/O threads
  std::shared_ptr<spdlog::logger> access;
  std::atomic<int> inflight{0};
  std::atomic<bool> stopping{false};
  Clock::time_point drain_deadline;
};

namespace {

// One connection. Requests are handled one at a time (read -> prepare -> [worker] -> write),
// all on the connection's strand; the worker only touches req_/prep_/out_ while the strand is
// waiting for it, so no locking is needed.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& srv, tcp::socket&& socket)
      : srv_(srv), stream_(std::move(socket)), deadline_(stream_.get_executor()) {
    Metrics::connections_add(1);
  }
  ~Session() { Metrics::connections_add(-1); }

  void start() {
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);  // small responses must not wait
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = ep.address().to_string();
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::wait_for_request, shared_from_this()));
  }

 private:
  using Parser = http::request_parser<http::string_body>;

  // An idle keep-alive connection gets the idle timeout; once a request starts arriving, the
  // whole request must arrive within the header timeout (a slow sender cannot hold it open).
  void wait_for_request() {
    if (buffer_.size() > 0) return read_header();  // pipelined request already buffered
    stream_.expires_after(std::chrono::seconds(srv_.cfg.idle_timeout_s));
    stream_.async_read_some(
        buffer_.prepare(4096),
        beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, std::size_t n) {
    if (ec) return close();
    buffer_.commit(n);
    read_header();
  }

  // A request counts as in flight from its first byte until its response is written, so a
  // graceful shutdown waits for requests that are still arriving too (bounded by the grace).
  void begin_request() {
    if (counted_) return;
    counted_ = true;
    srv_.inflight.fetch_add(1);
    Metrics::inflight_add(1);
  }

  void end_request() {
    if (!counted_) return;
    counted_ = false;
    srv_.inflight.fetch_sub(1);
    Metrics::inflight_add(-1);
  }

  void read_header() {
    begin_request();
    parser_.emplace();
    // The largest route limit until the target is known (on_header narrows it).
    body_limit_ = srv_.app.max_body_limit();
    parser_->body_limit(body_limit_);
    parser_->header_limit(static_cast<std::uint32_t>(srv_.cfg.max_header));
    started_ = Clock::now();
    // The request must arrive within --header-timeout and be answered within --request-timeout.
    stream_.expires_after(
        std::chrono::seconds(std::min(srv_.cfg.header_timeout_s, srv_.cfg.request_timeout_s)));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    // Per-route body limit: document uploads may be larger than JSON bodies.
    body_limit_ = srv_.app.body_limit(to_method(req.method()), sv(req.target()));
    if (parser_->content_length() && *parser_->content_length() > body_limit_)
      return on_read_error(http::error::body_limit);
    parser_->body_limit(body_limit_);
    // Clients such as curl wait for "100 Continue" before sending a large body.
    if (!parser_->is_done() && beast::iequals(req[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code e, std::size_t) {
                          if (e) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    handle_request();
  }

  // Parse errors get an answer (then the connection closes: the stream position is unknown);
  // transport errors and timeouts just close.
  void on_read_error(beast::error_code ec) {
    keep_alive_ = false;
    out_ = HttpResponse{};
    if (ec == http::error::body_limit) {
      out_.status = 413;
      out_.body =
          error_envelope("payload_too_large", "request body exceeds the limit of " +
                                                  std::to_string(body_limit_) + " bytes");
    } else if (ec == http::error::header_limit) {
      out_.status = 431;
      out_.body = error_envelope("invalid_argument", "request headers are too large");
    } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      out_.status = 400;
      out_.body = error_envelope("invalid_argument", "malformed HTTP request: " + ec.message());
    } else {
      return close();
    }
    send();
  }

  void handle_request() {
    auto& r = parser_->get();
    if (beast::websocket::is_upgrade(r)) {
      std::string_view path = sv(r.target());
      path = path.substr(0, path.find('?'));
      if (path == "/ws" || path == "/ws/") {
        // The connection leaves HTTP for good: hand the socket and the request over.
        log_access_upgrade();
        end_request();
        serve_websocket(srv_.ws, stream_.release_socket(), parser_->release(), peer_);
        return;
      }
    }
    req_.method = to_method(r.method());
    req_.target = sv(r.target());
    req_.authorization = sv(r[http::field::authorization]);
    req_.api_key = sv(r["X-API-Key"]);
    req_.content_type = sv(r[http::field::content_type]);
    req_.body = r.body();
    req_.host = sv(r[http::field::host]);
    req_.hub_signature_256 = sv(r["X-Hub-Signature-256"]);
    req_.twilio_signature = sv(r["X-Twilio-Signature"]);
    req_.remote_addr = peer_;
    req_.content_disposition = sv(r[http::field::content_disposition]);
    req_.accept = sv(r[http::field::accept]);
    req_.stream = nullptr;
    if (req_.accept.find("text/event-stream") != std::string_view::npos) {
      sse_ = std::make_shared<SseWriter>(*this);
      req_.stream = sse_.get();
    }
    keep_alive_ = r.keep_alive();
    prep_ = Prepared{};
    out_ = HttpResponse{};
    if (srv_.app.prepare(req_, prep_, out_)) return send();
    // The worker fills its own response: if --request-timeout passes first, the connection
    // answers 503 and closes, and the late result is dropped.
    timed_out_ = false;
    work_done_ = false;
    const uint64_t seq = ++request_seq_;
    asio::post(srv_.pool, [self = shared_from_this(), route = out_.route] {
      self->work_out_ = HttpResponse{};
      self->work_out_.route = route;
      self->srv_.app.execute(self->req_, self->prep_, self->work_out_);
      asio::post(self->stream_.get_executor(), [self] {
        if (self->timed_out_) return;
        self->work_done_ = true;
        self->deadline_.cancel();
        self->out_ = std::move(self->work_out_);
        if (self->out_.streamed) return self->finish_stream();
        self->sse_.reset();
        self->send();
      });
    });
    deadline_.expires_at(started_ + std::chrono::seconds(srv_.cfg.request_timeout_s));
    deadline_.async_wait([self = shared_from_this(), seq](beast::error_code e) {
      // A timer that fired while the result was being delivered, or for an earlier request on
      // this connection, must not answer a second time.
      if (e || self->timed_out_ || self->work_done_ || self->streaming_ ||
          seq != self->request_seq_)
        return;
      self->timed_out_ = true;
      self->keep_alive_ = false;
      std::string_view route = self->out_.route;
      self->out_ = HttpResponse{};
      self->out_.route = route;
      self->out_.status = 503;
      self->out_.body = error_envelope(
          "unavailable", "the request took longer than " +
                             std::to_string(self->srv_.cfg.request_timeout_s) +
                             " s (--request-timeout)");
      self->send();
    });
  }

  // --- Server-Sent Events (compose.suggest; docs/COMPOSE.md) ----------------------------
  // The worker hands frames to SseWriter::write; they are queued and written here, on the
  // strand, one after another. The response has no length: it ends when the connection closes
  // (Connection: close). A read kept pending on the socket notices a client that goes away and
  // sets the cancel flag the engine polls.
 public:
  class SseWriter final : public StreamWriter {
   public:
    explicit SseWriter(Session& s) : s_(s) {}
    bool write(std::string_view bytes) override {
      if (cancel_.load()) return false;
      // A client that does not read cannot make the server buffer without bound.
      if (queued_.fetch_add(bytes.size()) + bytes.size() > (4u << 20)) {
        cancel_.store(true);
        return false;
      }
      asio::post(s_.stream_.get_executor(),
                 [self = s_.shared_from_this(), frame = std::string(bytes)]() mutable {
                   self->stream_push(std::move(frame));
                 });
      return true;
    }
    std::atomic<bool>* cancel_flag() override { return &cancel_; }
    std::atomic<bool> cancel_{false};
    std::atomic<size_t> queued_{0};

   private:
    Session& s_;
  };

 private:
  void stream_push(std::string frame) {
    if (timed_out_ || !sse_) {
      if (sse_) sse_->cancel_.store(true);
      return;
    }
    if (!streaming_) {
      streaming_ = true;
      deadline_.cancel();
      keep_alive_ = false;
      std::string head = "HTTP/1.1 200 OK\r\nServer: ";
      head += server_header();
      head += "\r\nDate: " + http_date() +
              "\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
              "X-Accel-Buffering: no\r\nConnection: close\r\n";
      if (parser_ && parser_->is_header_done()) {
        std::string_view allowed = srv_.app.allowed_origin(sv(parser_->get()[http::field::origin]));
        if (!allowed.empty()) {
          head += "Access-Control-Allow-Origin: " + std::string(allowed) + "\r\n";
          if (allowed != "*") head += "Vary: Origin\r\n";
        }
      }
      head += "\r\n";
      sse_->queued_.fetch_add(head.size());
      stream_queue_.push_back(std::move(head));
      watch_close();
    }
    stream_queue_.push_back(std::move(frame));
    pump();
  }

  void watch_close() {
    stream_.socket().async_read_some(
        asio::buffer(watch_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) {
            if (self->sse_) self->sse_->cancel_.store(true);
            if (self->stream_closing_) self->close();
            return;
          }
          self->watch_close();  // bytes after the request are ignored
        });
  }

  void pump() {
    if (stream_writing_ || stream_queue_.empty()) return;
    stream_writing_ = true;
    stream_.expires_after(std::chrono::seconds(30));  // a client that stops reading
    asio::async_write(stream_, asio::buffer(stream_queue_.front()),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->stream_writing_ = false;
                        std::size_t sz = self->stream_queue_.front().size();
                        self->stream_queue_.pop_front();
                        if (self->sse_) self->sse_->queued_.fetch_sub(sz);
                        if (ec) {
                          if (self->sse_) self->sse_->cancel_.store(true);
                          self->stream_queue_.clear();
                          self->stream_failed_ = true;
                        }
                        if (self->stream_queue_.empty() && self->stream_finished_)
                          return self->end_stream();
                        if (!ec) self->pump();
                      });
  }

  // The worker is done: once the queue is written, the response ends with the connection.
  void finish_stream() {
    stream_finished_ = true;
    if (!stream_writing_ && stream_queue_.empty()) end_stream();
  }

  void end_stream() {
    res_ = http::response<http::string_body>{};
    res_.result(stream_failed_ ? 499 : 200);
    log_access();
    record_metrics();
    end_request();
    stream_closing_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    // The pending read sees the client's close; give it two seconds at most.
    deadline_.expires_after(std::chrono::seconds(2));
    deadline_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->close();
    });
  }

  void add_cors_headers() {
    if (!parser_ || !parser_->is_header_done()) return;
    auto& r = parser_->get();
    std::string_view allowed = srv_.app.allowed_origin(sv(r[http::field::origin]));
    if (allowed.empty()) return;
    res_.set(http::field::access_control_allow_origin, bsv(allowed));
    if (allowed != "*") res_.set(http::field::vary, "Origin");
    bool preflight = r.method() == http::verb::options &&
                     r.find(http::field::access_control_request_method) != r.end();
    if (preflight) {
      res_.set(http::field::access_control_allow_methods, bsv(out_.allow));
      res_.set(http::field::access_control_allow_headers, "Authorization, Content-Type, X-API-Key");
      res_.set(http::field::access_control_max_age, "600");
    }
  }

  void send() {
    if (srv_.stopping.load()) keep_alive_ = false;
    res_ = http::response<http::string_body>{};
    res_.version(11);
    res_.result(static_cast<unsigned>(out_.status));
    res_.set(http::field::server, server_header());
    res_.set(http::field::date, http_date());
    if (!out_.allow.empty() && (out_.status == 405 || out_.status == 204))
      res_.set(http::field::allow, bsv(out_.allow));
    if (out_.www_authenticate) res_.set(http::field::www_authenticate, "Bearer");
    if (out_.retry_after > 0) res_.set(http::field::retry_after, std::to_string(out_.retry_after));
    for (const auto& [name, value] : out_.headers) res_.set(bsv(name), value);
    add_cors_headers();
    if (out_.status != 204) {
      res_.set(http::field::content_type,
               bsv(out_.content_type.empty() ? std::string_view("application/json")
                                            : std::string_view(out_.content_type)));
      res_.body() = std::move(out_.body);
    }
    res_.keep_alive(keep_alive_);
    if (out_.status != 204) res_.prepare_payload();  // a 204 carries no Content-Length at all
    stream_.expires_after(std::chrono::seconds(srv_.cfg.header_timeout_s));
    // Counted before the response leaves: a client holding the answer then always finds the
    // request in /metrics (counted after the write, a scrape on another connection could run
    // first). The duration is the time to a ready response.
    record_metrics();
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    log_access();
    end_request();
    if (ec) return close();
    if (!keep_alive_) return linger_close();
    parser_.reset();
    wait_for_request();
  }

  void record_metrics() {
    std::string_view method;
    if (parser_ && parser_->is_header_done())
      method = method_name(to_method(parser_->get().method()));
    Metrics::request_done(out_.route, method, res_.result_int(),
                          std::chrono::duration<double>(Clock::now() - started_).count());
  }

  // Secrets can sit in query strings, so the log shows the path only; headers never appear.
  void log_access() {
    if (!srv_.access) return;
    std::string_view method = "-", path = "-";
    if (parser_ && parser_->is_header_done()) {
      auto& r = parser_->get();
      method = sv(r.method_string());
      path = sv(r.target());
      path = path.substr(0, path.find('?'));
      // Exotel's callback URLs carry the account's secret token as the last path segment.
      if (path.starts_with("/api/v1/webhooks/exotel/")) path = path.substr(0, path.rfind('/') + 1);
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    srv_.access->info("{} {} {} {} {}B {:.2f}ms", peer_, method, path, res_.result_int(),
                      res_.body().size(), ms);
  }

  void log_access_upgrade() {
    if (!srv_.access) return;
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    srv_.access->info("{} GET /ws 101 0B {:.2f}ms", peer_, ms);
  }

  // Closing right after answering a request whose body we did not read would make the kernel
  // reset the connection, and the client could lose our response. So: stop sending, read and
  // discard what the client still sends (bounded in time and bytes), then close.
  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }

  void drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > 64u * 1024 * 1024) return self->close();
                              self->drain();
                            });
  }

  void close() {
    end_request();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  HttpServer::Impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  http::response<http::string_body> res_;
  HttpRequest req_;
  Prepared prep_;
  HttpResponse out_;
  std::string peer_ = "-";
  bool keep_alive_ = true;
  bool counted_ = false;
  std::size_t drained_ = 0;
  Clock::time_point started_ = Clock::now();
  std::size_t body_limit_ = 0;
  asio::steady_timer deadline_;  // --request-timeout while an operation runs
  HttpResponse work_out_;        // written by the worker
  std::shared_ptr<SseWriter> sse_;  // the current request's stream, when it accepts SSE
  std::deque<std::string> stream_queue_;
  std::array<char, 512> watch_buf_{};
  bool streaming_ = false, stream_writing_ = false, stream_finished_ = false;
  bool stream_closing_ = false, stream_failed_ = false;
  bool timed_out_ = false;
  bool work_done_ = false;
  uint64_t request_seq_ = 0;
};

// A connection over --max-connections: a 503 (Connection: close) is written, then the
// connection is read until the client closes or 2 s pass, so the client sees the answer
// instead of a reset.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  explicit Refusal(tcp::socket s) : sock_(std::move(s)), timer_(sock_.get_executor()) {}
  void start() {
    static const std::string response = [] {
      std::string body = error_envelope("unavailable", "too many open connections; retry shortly");
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             "Connection: close\r\nRetry-After: 1\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->close(); });
    asio::async_write(sock_, asio::buffer(response),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        beast::error_code e;
                        self->sock_.shutdown(tcp::socket::shutdown_send, e);
                        self->drain();
                      });
  }

 private:
  void drain() {
    sock_.async_read_some(asio::buffer(buf_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->close();
                            self->drain();
                          });
  }
  void close() {
    beast::error_code ec;
    timer_.cancel();
    sock_.close(ec);
  }
  tcp::socket sock_;
  asio::steady_timer timer_;
  char buf_[4096];
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    on_accept(ec, std::move(s));
  });
}

void HttpServer::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping.load() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Typically out of file descriptors: back off briefly instead of spinning.
    spdlog::warn("accept failed: {}", ec.message());
    retry_timer.expires_after(std::chrono::milliseconds(100));
    retry_timer.async_wait([this](beast::error_code e) {
      if (!e) accept();
    });
    return;
  }
  // --max-connections counts HTTP connections and WebSockets; the excess gets a 503.
  if (cfg.max_connections > 0 &&
      Metrics::connections() + ws.open.load() >= static_cast<int64_t>(cfg.max_connections)) {
    Metrics::connections_refused_add(1);
    std::make_shared<Refusal>(std::move(socket))->start();
    accept();
    return;
  }
  std::make_shared<Session>(*this, std::move(socket))->start();
  accept();
}

// The first signal starts a graceful shutdown; a second one (an impatient Ctrl-C) ends the
// grace period at once.
void HttpServer::Impl::wait_for_signal() {
  signals.async_wait([this](beast::error_code ec, int) {
    if (ec) return;
    if (stopping.load()) {
      spdlog::warn("second signal: stopping without waiting for in-flight requests");
      drain_deadline = Clock::now();
      return;
    }
    begin_shutdown();
    wait_for_signal();
  });
}

void HttpServer::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  spdlog::info("shutting down: no new connections, waiting for {} in-flight request(s)",
               inflight.load());
  beast::error_code ec;
  acceptor.close(ec);
  retry_timer.cancel();
  if (ws.hub) ws.hub->close_all(1001, "server shutting down");
  drain_deadline = Clock::now() + std::chrono::seconds(cfg.shutdown_grace_s);
  poll_drain();
}

// Idle keep-alive connections do not hold up the exit; only requests being served do.
void HttpServer::Impl::poll_drain() {
  // WebSocket clients were sent a going-away close; they get the same grace to answer it.
  if ((inflight.load() == 0 && ws.open.load() == 0) || Clock::now() >= drain_deadline) {
    if (inflight.load() != 0)
      spdlog::warn("shutdown grace period over with {} request(s) unfinished", inflight.load());
    if (ws.open.load() != 0)
      spdlog::warn("shutdown grace period over with {} WebSocket(s) still open", ws.open.load());
    ioc.stop();
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(20));
  drain_timer.async_wait([this](beast::error_code) { poll_drain(); });
}

HttpServer::HttpServer(App& app, const ServerConfig& cfg)
    : impl_(std::make_unique<Impl>(app, cfg)) {}

HttpServer::~HttpServer() = default;

void HttpServer::set_realtime(Hub* hub, banxway::Engine* engine, const WsOptions& opts) {
  impl_->ws.hub = hub;
  impl_->ws.engine = engine;
  impl_->ws.pool = &impl_->pool;
  impl_->ws.opts = opts;
}

int HttpServer::websocket_connections() const { return impl_->ws.open.load(); }

std::string HttpServer::bind() {
  auto& im = *impl_;
  beast::error_code ec;
  tcp::resolver resolver(im.ioc);
  auto results =
      resolver.resolve(im.cfg.host, std::to_string(im.cfg.port), tcp::resolver::passive, ec);
  if (ec || results.empty())
    return "cannot resolve host '" + im.cfg.host + "': " + (ec ? ec.message() : "no address");
  tcp::endpoint ep = results.begin()->endpoint();
  im.acceptor.open(ep.protocol(), ec);
  if (!ec) im.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor.bind(ep, ec);
  if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return "cannot listen on " + im.cfg.host + ":" + std::to_string(im.cfg.port) + ": " +
           ec.message();
  return {};
}

unsigned short HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::run() {
  auto& im = *impl_;
  im.wait_for_signal();
  im.accept();

  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(im.cfg.io_threads));
  for (int i = 0; i < im.cfg.io_threads; ++i) threads.emplace_back([&im] { im.ioc.run(); });
  for (auto& t : threads) t.join();

  // Operations still running past the grace period finish; queued ones are dropped.
  im.pool.stop();
  im.pool.join();
  if (im.access) im.access->flush();
}

}  // namespace bxserver
