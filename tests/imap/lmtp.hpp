// Test helper: drops messages straight into Dovecot over LMTP (RFC 2033) on a plain loopback
// socket — the quickest way to load a mailbox, and independent of the code under test.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

namespace bxtest {

/// The message as it goes over the wire and is stored: CRLF line ends, ending in CRLF.
/// (LMTP/SMTP require CRLF; Dovecot hands the same bytes back over IMAP.)
inline std::string crlf(std::string_view msg) {
  std::string out;
  out.reserve(msg.size() + msg.size() / 32 + 2);
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')) out += '\r';
    out += msg[i];
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

class LmtpSession {
 public:
  explicit LmtpSession(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    timeval tv{10, 0};  // a stuck server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      error_ = "connect to LMTP port " + std::to_string(port) + " failed";
      return;
    }
    if (!expect('2', "greeting")) return;
    if (!command("LHLO banxway.test", '2')) return;
  }
  ~LmtpSession() {
    if (fd_ >= 0) {
      if (error_.empty()) command("QUIT", '2');
      ::close(fd_);
    }
  }
  LmtpSession(const LmtpSession&) = delete;
  LmtpSession& operator=(const LmtpSession&) = delete;

  /// Delivers `message` (LF or CRLF line ends) to every recipient; "" on success, else why not.
  /// user+folder@domain lands in `folder` on the test bed (docs/EMAIL.md).
  std::string deliver(const std::string& from, const std::vector<std::string>& rcpts,
                      std::string_view message) {
    if (!error_.empty()) return error_;
    if (!command("MAIL FROM:<" + from + ">", '2')) return error_;
    for (const auto& r : rcpts) {
      if (!command("RCPT TO:<" + r + ">", '2')) return error_;
    }
    if (!command("DATA", '3')) return error_;
    std::string data;
    std::string body = crlf(message);
    size_t start = 0;
    while (start < body.size()) {  // dot-stuffing (RFC 5321 4.5.2)
      size_t end = body.find("\r\n", start);
      if (body[start] == '.') data += '.';
      data.append(body, start, end + 2 - start);
      start = end + 2;
    }
    data += ".\r\n";
    if (!send_all(data)) return error_;
    for (size_t i = 0; i < rcpts.size(); ++i) {  // LMTP: one reply per recipient
      if (!expect('2', "delivery to " + rcpts[i])) return error_;
    }
    return "";
  }

  const std::string& error() const { return error_; }

 private:
  bool send_all(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        error_ = "LMTP send failed";
        return false;
      }
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  bool read_line(std::string* line) {
    for (;;) {
      size_t p = buf_.find("\r\n");
      if (p != std::string::npos) {
        *line = buf_.substr(0, p);
        buf_.erase(0, p + 2);
        return true;
      }
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  // Reads one (possibly multi-line "250-...") reply and checks its first digit.
  bool expect(char klass, const std::string& what) {
    std::string line;
    do {
      if (!read_line(&line)) {
        error_ = "LMTP: no reply to " + what;
        return false;
      }
    } while (line.size() > 3 && line[3] == '-');
    if (line.empty() || line[0] != klass) {
      error_ = "LMTP " + what + ": " + line;
      return false;
    }
    return true;
  }

  bool command(const std::string& cmd, char klass) {
    return send_all(cmd + "\r\n") && expect(klass, cmd);
  }

  int fd_ = -1;
  std::string buf_;
  std::string error_;
};

/// One-shot delivery; "" on success.
inline std::string lmtp_deliver(int port, const std::string& rcpt, std::string_view message,
                                const std::string& from = "sender@example.test") {
  LmtpSession s(port);
  return s.deliver(from, {rcpt}, message);
}

}  // namespace bxtest
