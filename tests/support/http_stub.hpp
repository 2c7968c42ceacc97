// A provider stand-in for tests: a small HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that
// hands every request to a handler and records it. One thread accepts and serves connections
// one after another; each request is answered and the connection closed (no keep-alive), which
// is all an adapter under test needs. Handlers run on the server thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bxtest {

struct StubRequest {
  std::string method, target;  // target: path + query as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() != name.size()) continue;
      bool eq = true;
      for (size_t i = 0; i < k.size() && eq; ++i)
        eq = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
      if (eq) return v;
    }
    return "";
  }
  std::string path() const { return target.substr(0, target.find('?')); }
};

struct StubResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  /// Wait this long before answering (timeouts); the server thread sleeps.
  std::chrono::milliseconds delay{0};
  /// Streaming: when not empty, the head goes out without Content-Length (the body ends when
  /// the connection closes), then `body`, then each chunk after its own delay. Sending stops
  /// early when the client hangs up or the stub is destroyed.
  struct Chunk {
    std::chrono::milliseconds delay{0};
    std::string bytes;
  };
  std::vector<Chunk> chunks;
};

class HttpStub {
 public:
  using Handler = std::function<StubResponse(const StubRequest&)>;

  explicit HttpStub(Handler h) : handler_(std::move(h)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 64);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpStub() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  HttpStub(const HttpStub&) = delete;
  HttpStub& operator=(const HttpStub&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<StubRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{10, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      StubRequest req;
      if (read_request(c, req)) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(req);
        }
        StubResponse res = handler_(req);
        if (res.delay.count() > 0) std::this_thread::sleep_for(res.delay);
        std::string out = "HTTP/1.1 " + std::to_string(res.status) + " Stub\r\nContent-Type: " +
                          res.content_type + "\r\n";
        if (res.chunks.empty()) out += "Content-Length: " + std::to_string(res.body.size()) + "\r\n";
        out += "Connection: close\r\n";
        for (const auto& [k, v] : res.headers) out += k + ": " + v + "\r\n";
        out += "\r\n" + res.body;
        bool open = send_all(c, out);
        for (size_t i = 0; open && i < res.chunks.size(); ++i)
          open = wait_open(c, res.chunks[i].delay) && send_all(c, res.chunks[i].bytes);
      }
      ::close(c);
    }
  }

  static bool send_all(int c, const std::string& out) {
    size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Sleeps for `d`; false as soon as the peer has hung up or the stub is stopping.
  bool wait_open(int c, std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    do {
      if (stop_) return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      pollfd p{c, POLLRDHUP, 0};
      int wait = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(20, left.count())));
      if (::poll(&p, 1, wait) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return false;
    } while (std::chrono::steady_clock::now() < until);
    return !stop_;
  }

  static bool read_request(int c, StubRequest& req) {
    std::string buf;
    char tmp[8192];
    size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0 || buf.size() > (1u << 20)) return false;
      buf.append(tmp, static_cast<size_t>(n));
    }
    std::string head = buf.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) return false;
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        req.headers.emplace_back(line.substr(0, colon), v);
      }
      pos = e + 2;
    }
    size_t length = 0;
    if (auto cl = req.header("Content-Length"); !cl.empty()) length = std::stoul(cl);
    req.body = buf.substr(head_end + 4);
    while (req.body.size() < length) {
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      req.body.append(tmp, static_cast<size_t>(n));
    }
    req.body.resize(std::min(req.body.size(), length));
    return true;
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<StubRequest> requests_;
  std::thread thread_;
};

}  // namespace bxtest
