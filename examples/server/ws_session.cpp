#include "ws_session.hpp"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <vector>
#include <memory>
#include <mutex>

#include "banxway/engine.hpp"
#include "envelope.hpp"
#include "metrics.hpp"
#include "realtime.hpp"

namespace bxserver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// Close codes (docs/REALTIME.md). 1000-1015 are RFC 6455's; 4000-4999 are ours.
constexpr uint16_t kCloseUnauthenticated = 4001;
constexpr uint16_t kCloseTooSlow = 4008;

std::atomic<uint64_t> g_next_conn{1};

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

// "bearer.<credential>" among the offered subprotocols (browsers cannot set headers).
std::string credential_from_protocols(std::string_view offered, bool* offered_banxway) {
  std::string cred;
  size_t pos = 0;
  while (pos <= offered.size()) {
    size_t comma = offered.find(',', pos);
    std::string_view item = offered.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("bearer.")) cred = std::string(item.substr(7));
    if (item == "banxway") *offered_banxway = true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return cred;
}

// The layer under Beast's WebSocket stream: it gathers the frames the session writes while
// draining its queue into one buffer and hands them to the kernel in one write.
//
// Beast writes each WebSocket message with its own write on the next layer, so a client that
// has several events queued (a message usually brings message.received, thread.updated and
// contact.*) costs one sendmsg, one TCP segment and one wake-up of the reader per frame. Here
// a write only copies into `pend_` and completes at once; the bytes go out when the session
// uncorks (its queue is empty) or, for Beast's own control frames written while not corked
// (pong, keep-alive ping, close), straight away. Only one kernel write is in flight at a time,
// so frames can never interleave, and the order is the order Beast wrote them in. Strand-only.
class CoalescingStream {
 public:
  using next_layer_type = beast::tcp_stream;
  using executor_type = next_layer_type::executor_type;

  explicit CoalescingStream(tcp::socket&& s) : next_(std::move(s)) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  /// Keeps the owner alive while a kernel write is in flight (this object lives inside it).
  void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }
  /// Called on the strand whenever a kernel write finished and nothing is backlogged.
  void on_drain(std::function<void()> f) { on_drain_ = std::move(f); }

  void cork() { corked_ = true; }
  void uncork() {
    corked_ = false;
    if (!inflight_ && !pend_.empty()) flush();
  }
  /// More than this many bytes not yet taken by the kernel: the writer should wait for a drain.
  bool backlogged() const { return pend_.size() + out_.size() > kBacklogBytes; }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return asio::async_initiate<WriteHandler, void(beast::error_code, std::size_t)>(
        [this](auto h, const ConstBufferSequence& b) {
          beast::error_code ec = error_;
          std::size_t n = 0;
          if (!ec) {
            n = asio::buffer_size(b);
            size_t at = pend_.size();
            pend_.resize(at + n);
            asio::buffer_copy(asio::buffer(pend_.data() + at, n), b);
            if (!corked_ && !inflight_) flush();
          }
          asio::post(next_.get_executor(), beast::bind_front_handler(std::move(h), ec, n));
        },
        handler, buffers);
  }

  /// Runs `f` once nothing is in flight (what Beast's teardown needs: the close frame out).
  void when_flushed(std::function<void()> f) {
    if (!inflight_ && (pend_.empty() || error_)) return f();
    flushed_waiters_.push_back(std::move(f));
    if (!inflight_) flush();
  }

 private:
  static constexpr size_t kBacklogBytes = 256 << 10;

  void flush() {
    inflight_ = true;
    out_.swap(pend_);
    pend_.clear();
    asio::async_write(next_, asio::buffer(out_),
                      [this, keep = owner_.lock()](beast::error_code ec, std::size_t) {
                        inflight_ = false;
                        out_.clear();
                        if (ec) {
                          error_ = ec;
                          pend_.clear();
                        } else if (!pend_.empty() && !corked_) {
                          flush();
                        }
                        if (!inflight_) {
                          auto waiters = std::move(flushed_waiters_);
                          flushed_waiters_.clear();
                          for (auto& w : waiters) w();
                        }
                        if (!backlogged() && on_drain_) on_drain_();
                      });
  }

  next_layer_type next_;
  std::weak_ptr<void> owner_;
  std::function<void()> on_drain_;
  std::vector<std::function<void()>> flushed_waiters_;
  std::string pend_, out_;
  bool corked_ = false, inflight_ = false;
  beast::error_code error_;
};

// Beast's close handshake ends with a teardown of the next layer: let the close frame (and
// anything before it) reach the kernel first.
template <class TeardownHandler>
void async_teardown(beast::role_type role, CoalescingStream& s, TeardownHandler&& handler) {
  auto h = std::make_shared<std::decay_t<TeardownHandler>>(std::forward<TeardownHandler>(handler));
  s.when_flushed([role, &s, h] { beast::async_teardown(role, s.next_layer(), std::move(*h)); });
}

class WsSession : public LiveClient, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(WsEnv& env, tcp::socket&& socket, std::string peer)
      : env_(env), ws_(std::move(socket)), timer_(ws_.get_executor()), peer_(std::move(peer)) {
    conn_id = g_next_conn.fetch_add(1);
  }

  ~WsSession() override {
    env_.open.fetch_sub(1);
    Metrics::ws_connections_add(-1);
  }

  void run(http::request<http::string_body>&& req) {
    ws_.next_layer().set_owner(weak_from_this());
    ws_.next_layer().on_drain([this] {
      if (!waiting_drain_) return;
      waiting_drain_ = false;
      write_next();
    });
    env_.open.fetch_add(1);
    Metrics::ws_connections_add(1);
    req_ = std::move(req);
    std::string_view auth = sv(req_[http::field::authorization]);
    std::string_view key = sv(req_["X-API-Key"]);
    bool offered_banxway = false;
    std::string from_proto =
        credential_from_protocols(sv(req_[http::field::sec_websocket_protocol]), &offered_banxway);
    if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer "))
      credential_ = std::string(auth);
    else if (!key.empty())
      credential_ = std::string(key);
    else if (!from_proto.empty())
      credential_ = from_proto;
    subprotocol_ = offered_banxway || !from_proto.empty();
    if (credential_.empty()) return accept();  // the first message must authenticate
    // Check the credential before upgrading: a bad one gets a plain HTTP 401.
    asio::post(*env_.pool, [self = shared_from_this()] {
      auto who = self->env_.engine->authenticate(self->credential_);
      asio::post(self->ws_.get_executor(), [self, who = std::move(who)]() mutable {
        if (!who.ok()) return self->reject(who.status());
        self->principal = std::move(*who);
        self->authenticated_ = true;
        self->accept();
      });
    });
  }

  // --- LiveClient -------------------------------------------------------------------------

  void push(Frame frame) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_) return;
      if (queue_.size() >= env_.opts.max_queue) {
        overflow_locked();
        return;
      }
      queue_.push_back(std::move(frame));
      if (writing_) return;
      writing_ = true;
    }
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] { self->write_next(); });
  }

  bool push_paced(Frame frame) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      bool drained = space_.wait_for(lock, std::chrono::seconds(30), [this] {
        return closing_ || queue_.size() < env_.opts.max_queue / 2;
      });
      if (closing_) return false;
      if (!drained) {
        overflow_locked();
        return false;
      }
    }
    push(std::move(frame));
    return true;
  }

  void close(uint16_t code, std::string reason) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_) return;
      closing_ = true;
      queue_.clear();
    }
    space_.notify_all();
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
      self->start_close(code, reason);
    });
  }

 private:
  void overflow_locked() {
    // Never let a slow reader grow memory: drop it with a clear code.
    closing_ = true;
    size_t n = queue_.size();
    queue_.clear();
    env_.slow_closed.fetch_add(1);
    spdlog::info("ws {} ({}): send queue full ({} frames), closing slow client", conn_id, peer_, n);
    space_.notify_all();
    // post, not dispatch: mu_ is held here and the close path takes it.
    asio::post(ws_.get_executor(), [self = shared_from_this(), n] {
      self->start_close(kCloseTooSlow,
                        "client too slow: " + std::to_string(n) + " messages waiting");
    });
  }

  void reject(const banxway::Status& st) {
    http::response<http::string_body> res{http::status::unauthorized, req_.version()};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::www_authenticate, "Bearer");
    res.body() = error_envelope(banxway::code_name(st.code()), st.message());
    res.prepare_payload();
    res.keep_alive(false);
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    auto& stream = beast::get_lowest_layer(ws_);
    stream.expires_after(std::chrono::seconds(5));
    http::async_write(stream, *sp, [self = shared_from_this(), sp](beast::error_code, std::size_t) {
      beast::error_code ec;
      beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(self->ws_).close();
    });
  }

  void accept() {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = std::chrono::seconds(env_.opts.idle_timeout_s);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(env_.opts.max_message);
    ws_.auto_fragment(false);  // one frame per event: the layer below batches the writes
    bool proto = subprotocol_;
    ws_.set_option(websocket::stream_base::decorator([proto](websocket::response_type& res) {
      res.set(http::field::server, std::string("banxway/") + banxway::version());
      if (proto) res.set(http::field::sec_websocket_protocol, "banxway");
    }));
    ws_.async_accept(req_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->finish();
      self->req_ = {};
      self->accepted_ = true;
      if (self->authenticated_) {
        self->on_authenticated();
      } else {
        // The auth message must arrive within the deadline.
        self->timer_.expires_after(std::chrono::seconds(self->env_.opts.auth_timeout_s));
        self->timer_.async_wait([self](beast::error_code e) {
          if (!e && !self->authenticated_)
            self->close(kCloseUnauthenticated, "no credentials within the time allowed");
        });
      }
      self->read();
    });
  }

  void on_authenticated() {
    timer_.cancel();
    env_.hub->attach(shared_from_this());
    attached_ = true;
    push(std::make_shared<const std::string>(
        "{\"type\":\"welcome\",\"connection_id\":" + std::to_string(conn_id) +
        ",\"org_id\":\"" + principal.org_id + "\",\"user_id\":" +
        (principal.user_id.empty() ? std::string("null") : "\"" + principal.user_id + "\"") +
        ",\"role\":\"" + std::string(banxway::role_name(principal.role)) + "\"}"));
  }

  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      if (!self->ws_.got_text()) {
        self->in_.consume(self->in_.size());
        self->push(Hub::error_frame("invalid_argument", "send text (JSON) messages"));
        return self->read();
      }
      std::string text = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      if (!self->authenticated_) return self->authenticate_message(std::move(text));
      // One message at a time, in order, on a worker (subscribing may read the database).
      asio::post(*self->env_.pool, [self, text = std::move(text)] {
        self->env_.hub->handle(self, text);
        asio::post(self->ws_.get_executor(), [self] { self->read(); });
      });
    });
  }

  void authenticate_message(std::string text) {
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    std::string token;
    if (!d.HasParseError() && d.IsObject()) {
      auto t = d.FindMember("type");
      auto k = d.FindMember("token");
      if (t != d.MemberEnd() && t->value.IsString() && std::string_view(t->value.GetString()) == "auth" &&
          k != d.MemberEnd() && k->value.IsString())
        token.assign(k->value.GetString(), k->value.GetStringLength());
    }
    if (token.empty())
      return close(kCloseUnauthenticated,
                   "authenticate first: {\"type\":\"auth\",\"token\":\"<API key or JWT>\"}");
    asio::post(*env_.pool, [self = shared_from_this(), token = std::move(token)] {
      auto who = self->env_.engine->authenticate(token);
      asio::post(self->ws_.get_executor(), [self, who = std::move(who)]() mutable {
        if (!who.ok()) return self->close(kCloseUnauthenticated, "invalid credentials");
        self->principal = std::move(*who);
        self->authenticated_ = true;
        self->on_authenticated();
        self->read();
      });
    });
  }

  // Drains the queue through the coalescing layer: every frame queued now goes out in one
  // kernel write when the queue is empty (uncork), or when the layer holds enough to send.
  void write_next() {
    auto& out = ws_.next_layer();
    Frame f;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_ || queue_.empty() || !accepted_) {
        writing_ = false;
        out.uncork();
        return;
      }
      if (out.backlogged()) {
        // The kernel has not taken what was written: wait for the layer to drain (the queue
        // meanwhile fills, and a client that never drains is cut off at max_queue).
        waiting_drain_ = true;
        out.uncork();
        return;
      }
      f = queue_.front();
    }
    out.cork();
    ws_.text(true);
    ws_.async_write(asio::buffer(*f), [self = shared_from_this(), f](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      self->env_.frames_sent.fetch_add(1);
      Metrics::ws_messages_sent_add(1);
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        if (!self->queue_.empty()) self->queue_.pop_front();
        if (self->queue_.size() < self->env_.opts.max_queue / 2) self->space_.notify_all();
      }
      self->write_next();
    });
  }

  void start_close(uint16_t code, const std::string& reason) {
    if (close_started_) return;
    close_started_ = true;
    if (!accepted_) return finish();
    // A client that stopped reading would never let the close frame out: cut it after 2 s.
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) {
        beast::error_code ec;
        beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(self->ws_).close();
      }
    });
    websocket::close_reason cr(static_cast<websocket::close_code>(code), reason);
    ws_.async_close(cr, [self = shared_from_this()](beast::error_code) {
      // The read loop sees the close and finishes.
      self->timer_.cancel();
      beast::error_code ec;
      beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(self->ws_).close();
    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      queue_.clear();
    }
    space_.notify_all();
    timer_.cancel();
    if (attached_) env_.hub->detach(this);
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
  }

  WsEnv& env_;
  websocket::stream<CoalescingStream> ws_;
  asio::steady_timer timer_;
  std::string peer_;
  http::request<http::string_body> req_;
  beast::flat_buffer in_;
  std::string credential_;
  bool subprotocol_ = false;
  // Strand-only state.
  bool accepted_ = false, authenticated_ = false, attached_ = false;
  bool close_started_ = false, finished_ = false;
  // Send queue, shared with pushing threads.
  std::mutex mu_;
  std::condition_variable space_;
  std::deque<Frame> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool waiting_drain_ = false;  // strand-only: write_next resumes when the layer drains
};

}  // namespace

void serve_websocket(WsEnv& env, tcp::socket&& socket, http::request<http::string_body>&& req,
                     std::string peer) {
  if (!env.hub) {
    // Realtime is off: refuse the upgrade plainly.
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    auto res = std::make_shared<http::response<http::string_body>>(http::status::not_found, 11);
    res->set(http::field::content_type, "application/json");
    res->body() = error_envelope("not_found", "WebSocket endpoint is not enabled");
    res->prepare_payload();
    res->keep_alive(false);
    http::async_write(*s, *res, [s, res](beast::error_code, std::size_t) {
      beast::error_code ec;
      s->shutdown(tcp::socket::shutdown_both, ec);
    });
    return;
  }
  std::make_shared<WsSession>(env, std::move(socket), std::move(peer))->run(std::move(req));
}

}  // namespace bxserver
