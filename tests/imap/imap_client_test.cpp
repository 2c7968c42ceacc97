// ImapClient against a real Dovecot (scripts/lib/mail.sh starts one; the tests skip without it,
// or fail with BANXWAY_REQUIRE_MAIL=1), plus TLS checks against an in-process TLS stub server
// with a certificate made on the fly (Dovecot on the test bed runs without TLS).
#include "channels/email/imap_client.hpp"

#include <gtest/gtest.h>

#include "support/mail_env.hpp"
#include "support/net_util.hpp"

#include <csignal>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "imap/lmtp.hpp"

namespace banxway::email {
// The TLS stubs in this file write to clients that may already have hung up (a refused
// certificate); in the test process that must be an error return, not a fatal SIGPIPE.
static const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// ---- the mail test bed --------------------------------------------------------------------

using bxtest::MailEnv;

ImapConfig plain_config(const MailEnv& env) {
  ImapConfig c;
  c.host = env.host;
  c.port = env.imap_port;
  c.security = ImapConfig::Security::plain;
  c.username = env.user;
  c.password = env.password;
  c.timeout = 20s;
  return c;
}



// A realistic message; the dotted line checks LMTP dot-stuffing round-trips byte for byte.
std::string make_message(const std::string& folder, int i, size_t filler = 0) {
  std::string m = "From: Shipper <shipper@example.test>\r\n"
                  "To: ops@example.test\r\n"
                  "Subject: Booking BWX" + std::to_string(1000 + i) + "\r\n"
                  "Message-ID: <" + folder + "-" + std::to_string(i) + "@example.test>\r\n"
                  "Date: Wed, 14 Jan 2026 10:00:00 +0000\r\n"
                  "MIME-Version: 1.0\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "\r\n"
                  "Container MSCU" + std::to_string(1234560 + i) + " is ready for pickup.\r\n"
                  ".a line that starts with a dot\r\n";
  while (filler > 0) {
    size_t n = std::min<size_t>(filler, 76);
    m.append(n, static_cast<char>('a' + i % 26));
    m += "\r\n";
    filler -= n;
  }
  return m;
}

bool has_flag(const FetchedMessage& m, std::string_view flag) {
  return std::find(m.flags.begin(), m.flags.end(), flag) != m.flags.end();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}


double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// ---- pure helpers (no server) -------------------------------------------------------------

TEST(ImapCursor, ResumesAfterLastUidWhileUidvalidityHolds) {
  ResumePoint p = resume_point(FolderCursor{777, 41}, FolderState{777, 50, 45});
  EXPECT_EQ(p.after_uid, 41u);
  EXPECT_FALSE(p.resync);
}

TEST(ImapCursor, ChangedUidvalidityOrFirstSyncStartsOver) {
  ResumePoint changed = resume_point(FolderCursor{777, 41}, FolderState{778, 3, 2});
  EXPECT_EQ(changed.after_uid, 0u);
  EXPECT_TRUE(changed.resync);
  ResumePoint first = resume_point(FolderCursor{}, FolderState{778, 3, 2});
  EXPECT_EQ(first.after_uid, 0u);
  EXPECT_TRUE(first.resync);
}

TEST(ImapErrors, KindRoundTripsThroughStatusDetails) {
  Status s(Code::unavailable, "imap tls: x", "{\"imap_error\":\"tls\"}");
  EXPECT_EQ(imap_error_kind(s), ImapErrorKind::tls);
  EXPECT_EQ(imap_error_kind(Status::OK()), std::nullopt);
  EXPECT_EQ(imap_error_kind(Internal("other")), std::nullopt);
}

TEST(ImapConnect, RejectsInvalidConfig) {
  ImapConfig c;
  c.host = "127.0.0.1";
  c.username = "u";
  c.password = "pa\r\nss";
  auto r = ImapClient::connect(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_EQ(r.status().message().find("pa\r\nss"), std::string::npos);
}

TEST(ImapConnect, ClosedPortIsUnavailable) {
  ImapConfig c;
  c.host = "127.0.0.1";
  c.port = bxtest::closed_port();
  c.security = ImapConfig::Security::plain;
  c.username = "ops@example.test";
  c.password = "secret";
  c.timeout = 10s;
  auto r = ImapClient::connect(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_EQ(imap_error_kind(r.status()), ImapErrorKind::unreachable) << r.status().to_string();
}

// ---- against Dovecot ----------------------------------------------------------------------

TEST(ImapDovecot, LoginSucceedsAndAdvertisesIdle) {
  BX_REQUIRE_MAIL(env);
  auto r = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE((*r)->supports_idle());
  EXPECT_TRUE((*r)->logout().ok());
  // After LOGOUT the client fails fast instead of touching a closed socket.
  auto after = (*r)->examine("INBOX");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), Code::unavailable);
}

TEST(ImapDovecot, WrongPasswordIsUnauthenticatedWithoutThePassword) {
  BX_REQUIRE_MAIL(env);
  ImapConfig c = plain_config(env);
  c.password = "hunter2-not-the-password";
  auto r = ImapClient::connect(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unauthenticated) << r.status().to_string();
  EXPECT_EQ(imap_error_kind(r.status()), ImapErrorKind::auth_failed);
  EXPECT_EQ(r.status().to_string().find("hunter2"), std::string::npos) << r.status().to_string();
}

TEST(ImapDovecot, ExamineReportsUidvalidityUidnextAndExists) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("t");
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(bxtest::lmtp_deliver(env.lmtp_port, bxtest::rcpt_for(env, folder), make_message(folder, i)), "");
  }
  auto c = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  auto st = (*c)->examine(folder);
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  EXPECT_NE(st->uidvalidity, 0u);
  EXPECT_EQ(st->uidnext, 3u);
  EXPECT_EQ(st->exists, 2u);

  auto missing = (*c)->examine(folder + "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::not_found) << missing.status().to_string();
  // A refused EXAMINE leaves the connection usable.
  auto again = (*c)->examine(folder);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->uidvalidity, st->uidvalidity);
}

TEST(ImapDovecot, FetchBeforeExamineIsRejected) {
  BX_REQUIRE_MAIL(env);
  auto c = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  auto r = (*c)->fetch_after(0, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
}

TEST(ImapDovecot, PagesTwentyFiveMessagesExactlyAndLeavesThemUnseen) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("t");
  std::vector<std::string> sent;
  {
    bxtest::LmtpSession lmtp(env.lmtp_port);
    for (int i = 0; i < 25; ++i) {
      sent.push_back(make_message(folder, i, static_cast<size_t>(i) * 40));
      ASSERT_EQ(lmtp.deliver("sender@example.test", {bxtest::rcpt_for(env, folder)}, sent.back()), "");
    }
  }
  auto c = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  auto st = (*c)->examine(folder);
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  ASSERT_EQ(st->exists, 25u);

  uint32_t after = 0;
  size_t index = 0;
  for (size_t expected : {10u, 10u, 5u}) {
    auto page = (*c)->fetch_after(after, 10);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    ASSERT_EQ(page->size(), expected);
    for (const auto& m : *page) {
      EXPECT_GT(m.uid, after);
      after = m.uid;
      // Dovecot prepends Return-Path/Delivered-To/Received; the delivered bytes follow intact.
      EXPECT_TRUE(ends_with(m.raw, sent[index])) << "uid " << m.uid << " raw:\n" << m.raw;
      EXPECT_TRUE(m.internal_date.has_value());
      EXPECT_FALSE(has_flag(m, "\\Seen"));
      EXPECT_FALSE(has_flag(m, kTooLargeFlag));
      ++index;
    }
  }
  EXPECT_EQ(index, 25u);
  auto rest = (*c)->fetch_after(after, 10);
  ASSERT_TRUE(rest.ok()) << rest.status().to_string();
  EXPECT_TRUE(rest->empty());

  // A second look, on a new connection: fetching did not mark anything \Seen.
  auto c2 = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c2.ok()) << c2.status().to_string();
  ASSERT_TRUE((*c2)->examine(folder).ok());
  auto all = (*c2)->fetch_after(0, 100);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->size(), 25u);
  for (const auto& m : *all) EXPECT_FALSE(has_flag(m, "\\Seen")) << "uid " << m.uid;
}

TEST(ImapDovecot, FirstSyncResumesFromTheStoredCursorOnANewConnection) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("t");
  {
    bxtest::LmtpSession lmtp(env.lmtp_port);
    for (int i = 0; i < 12; ++i) {
      ASSERT_EQ(lmtp.deliver("sender@example.test", {bxtest::rcpt_for(env, folder)}, make_message(folder, i)), "");
    }
  }
  FolderCursor cursor;
  {
    auto c = ImapClient::connect(plain_config(env));
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    auto st = (*c)->examine(folder);
    ASSERT_TRUE(st.ok());
    ResumePoint p = resume_point(cursor, *st);
    EXPECT_TRUE(p.resync);
    auto page = (*c)->fetch_after(p.after_uid, 5);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    ASSERT_EQ(page->size(), 5u);
    cursor = FolderCursor{st->uidvalidity, page->back().uid};  // "persisted", then the worker dies
  }
  auto c = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  auto st = (*c)->examine(folder);
  ASSERT_TRUE(st.ok());
  ResumePoint p = resume_point(cursor, *st);
  EXPECT_FALSE(p.resync);
  auto rest = (*c)->fetch_after(p.after_uid, 100);
  ASSERT_TRUE(rest.ok()) << rest.status().to_string();
  ASSERT_EQ(rest->size(), 7u);
  EXPECT_EQ(rest->front().uid, cursor.last_uid + 1);
}

TEST(ImapDovecot, MessageOverMaxBytesComesBackFlaggedWithoutBody) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("t");
  std::vector<std::string> sent = {make_message(folder, 0), make_message(folder, 1, 20000),
                                   make_message(folder, 2)};
  for (const auto& m : sent) ASSERT_EQ(bxtest::lmtp_deliver(env.lmtp_port, bxtest::rcpt_for(env, folder), m), "");
  auto c = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE((*c)->examine(folder).ok());
  auto r = (*c)->fetch_after(0, 10, 5000);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_TRUE(ends_with((*r)[0].raw, sent[0]));
  EXPECT_TRUE((*r)[1].raw.empty());
  EXPECT_TRUE(has_flag((*r)[1], kTooLargeFlag));
  EXPECT_GT((*r)[1].size, 5000u);
  EXPECT_TRUE(ends_with((*r)[2].raw, sent[2]));
  EXPECT_FALSE(has_flag((*r)[2], kTooLargeFlag));
}

TEST(ImapDovecot, IdleWakesOnDeliveryFromAnotherThread) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("t");
  ASSERT_EQ(bxtest::lmtp_deliver(env.lmtp_port, bxtest::rcpt_for(env, folder), make_message(folder, 0)), "");
  auto c = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE((*c)->examine(folder).ok());
  auto first = (*c)->fetch_after(0, 10);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);

  std::string delivery_error = "not run";
  std::thread deliverer([&] {
    std::this_thread::sleep_for(500ms);
    delivery_error = bxtest::lmtp_deliver(env.lmtp_port, bxtest::rcpt_for(env, folder), make_message(folder, 1));
  });
  auto t0 = SteadyClock::now();
  auto woke = (*c)->idle(30s);
  double took = seconds_since(t0);
  deliverer.join();
  ASSERT_EQ(delivery_error, "");
  ASSERT_TRUE(woke.ok()) << woke.status().to_string();
  EXPECT_TRUE(*woke);
  EXPECT_LT(took, 20.0);  // hang guard only; it normally wakes within a second of the delivery
  auto next = (*c)->fetch_after(first->back().uid, 10);
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->front().uid, first->back().uid + 1);
}

TEST(ImapDovecot, StopInterruptsIdleAndTheConnectionStaysUsable) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("t");
  ASSERT_EQ(bxtest::lmtp_deliver(env.lmtp_port, bxtest::rcpt_for(env, folder), make_message(folder, 0)), "");
  auto c = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE((*c)->examine(folder).ok());
  ImapClient* client = c->get();
  std::thread stopper([client] {
    std::this_thread::sleep_for(300ms);
    client->stop();
  });
  auto t0 = SteadyClock::now();
  auto r = client->idle(120s);
  double took = seconds_since(t0);
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(*r);
  EXPECT_LT(took, 30.0);  // hang guard: without stop() this would take 120 s
  auto msgs = client->fetch_after(0, 10);
  ASSERT_TRUE(msgs.ok()) << msgs.status().to_string();
  EXPECT_EQ(msgs->size(), 1u);
}

TEST(ImapDovecot, StopBeforeIdleEndsTheNextIdleOnly) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("t");
  ASSERT_EQ(bxtest::lmtp_deliver(env.lmtp_port, bxtest::rcpt_for(env, folder), make_message(folder, 0)), "");
  auto c = ImapClient::connect(plain_config(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE((*c)->examine(folder).ok());
  (*c)->stop();
  auto t0 = SteadyClock::now();
  auto r = (*c)->idle(120s);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(*r);
  EXPECT_LT(seconds_since(t0), 30.0);  // hang guard
  // The stop was consumed: this one runs to its (short) end, still without news.
  auto r2 = (*c)->idle(1s);
  ASSERT_TRUE(r2.ok()) << r2.status().to_string();
  EXPECT_FALSE(*r2);
}

TEST(ImapDovecot, IdleIsReissuedAfterTheRefreshIntervalAndStillSeesMail) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("t");
  ASSERT_EQ(bxtest::lmtp_deliver(env.lmtp_port, bxtest::rcpt_for(env, folder), make_message(folder, 0)), "");
  ImapConfig cfg = plain_config(env);
  cfg.idle_refresh = 1s;
  auto c = ImapClient::connect(cfg);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE((*c)->examine(folder).ok());
  auto quiet = (*c)->idle(3s);  // three IDLE/DONE rounds, nothing new
  ASSERT_TRUE(quiet.ok()) << quiet.status().to_string();
  EXPECT_FALSE(*quiet);

  std::string delivery_error = "not run";
  std::thread deliverer([&] {
    std::this_thread::sleep_for(1500ms);  // lands in a later round
    delivery_error = bxtest::lmtp_deliver(env.lmtp_port, bxtest::rcpt_for(env, folder), make_message(folder, 1));
  });
  auto woke = (*c)->idle(30s);
  deliverer.join();
  ASSERT_EQ(delivery_error, "");
  ASSERT_TRUE(woke.ok()) << woke.status().to_string();
  EXPECT_TRUE(*woke);
}

TEST(ImapDovecot, ImplicitTlsAgainstThePlainPortFailsCleanly) {
  BX_REQUIRE_MAIL(env);
  ImapConfig c = plain_config(env);
  c.security = ImapConfig::Security::tls;
  c.timeout = 10s;
  auto t0 = SteadyClock::now();
  auto r = ImapClient::connect(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_EQ(imap_error_kind(r.status()), ImapErrorKind::tls) << r.status().to_string();
  EXPECT_LT(seconds_since(t0), 20.0);  // hang guard
}

TEST(ImapDovecot, StarttlsWhenTheServerOffersNoneFailsInsteadOfFallingBack) {
  BX_REQUIRE_MAIL(env);
  ImapConfig c = plain_config(env);
  c.security = ImapConfig::Security::starttls;
  auto r = ImapClient::connect(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_EQ(imap_error_kind(r.status()), ImapErrorKind::tls) << r.status().to_string();
}

// ---- TLS verification against an in-process stub ------------------------------------------



class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/banxway-imap-test-XXXXXX";
    int fd = ::mkstemp(tmpl);
    path_ = tmpl;
    ::close(fd);
    std::ofstream(path_) << content;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Serves one connection: implicit TLS, or plain + STARTTLS (optionally injecting a plaintext
// line right after its OK). Records whether a LOGIN ever reached it.
class StubImapServer {
 public:
  enum class Mode { tls, starttls, starttls_inject };

  StubImapServer(Mode mode, const bxtest::TestCert& cert, bool advertise_idle = true)
      : mode_(mode), caps_(advertise_idle ? "IMAP4rev1 IDLE" : "IMAP4rev1") {
    ctx_ = SSL_CTX_new(TLS_server_method());
    BIO* cb = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
    X509* x = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO* kb = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(ctx_, x);
    SSL_CTX_use_PrivateKey(ctx_, k);
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);

    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 4);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~StubImapServer() {
    thread_.join();
    ::close(listen_fd_);
    SSL_CTX_free(ctx_);
  }

  int port() const { return port_; }
  bool login_seen() const { return login_seen_; }

 private:
  void serve() {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 15000) <= 0) return;  // nobody came: don't hang the test
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    fd_ = fd;
    if (mode_ == Mode::tls) {
      if (start_tls()) converse();
    } else {
      converse();
    }
    if (ssl_ != nullptr) SSL_free(ssl_);
    ::close(fd);
  }

  bool start_tls() {
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (SSL_accept(ssl_) != 1) {
      ERR_clear_error();
      return false;
    }
    return true;
  }

  bool send(const std::string& s) {
    if (ssl_ != nullptr) return SSL_write(ssl_, s.data(), static_cast<int>(s.size())) > 0;
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }

  bool read_line(std::string* line) {
    for (;;) {
      auto p = buf_.find("\r\n");
      if (p != std::string::npos) {
        *line = buf_.substr(0, p);
        buf_.erase(0, p + 2);
        return true;
      }
      char tmp[2048];
      int n = ssl_ != nullptr ? SSL_read(ssl_, tmp, sizeof tmp) : static_cast<int>(::recv(fd_, tmp, sizeof tmp, 0));
      if (n <= 0) return false;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  void converse() {
    const bool plain_phase = mode_ != Mode::tls;
    if (!send(plain_phase ? "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] stub ready\r\n"
                          : "* OK [CAPABILITY " + caps_ + "] stub ready\r\n")) {
      return;
    }
    std::string line;
    while (read_line(&line)) {
      auto sp = line.find(' ');
      std::string tag = line.substr(0, sp);
      std::string cmd = sp == std::string::npos ? "" : line.substr(sp + 1);
      std::string verb = cmd.substr(0, cmd.find(' '));
      std::transform(verb.begin(), verb.end(), verb.begin(), [](unsigned char ch) { return std::toupper(ch); });
      if (verb == "CAPABILITY") {
        send(ssl_ == nullptr ? "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n" : "* CAPABILITY " + caps_ + "\r\n");
        send(tag + " OK done\r\n");
      } else if (verb == "STARTTLS" && ssl_ == nullptr) {
        // The injection case sends a plaintext line in the same segment as the OK.
        send(tag + " OK begin TLS\r\n" + (mode_ == Mode::starttls_inject ? "* OK injected\r\n" : ""));
        buf_.clear();
        if (!start_tls()) return;
      } else if (verb == "LOGIN") {
        login_seen_ = true;
        send(tag + " OK [CAPABILITY " + caps_ + "] logged in\r\n");
      } else if (verb == "EXAMINE") {
        send("* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 2] ok\r\n" + tag +
             " OK [READ-ONLY] examined\r\n");
      } else if (verb == "UID") {
        send(tag + " NO [SERVERBUG] fetch refused\r\n");
      } else if (verb == "NOOP") {
        // The second NOOP reports a new message (the polling fallback's wake-up).
        send((++noops_ == 2 ? "* 2 EXISTS\r\n" : "") + tag + " OK noop\r\n");
      } else if (verb == "LOGOUT") {
        send("* BYE bye\r\n" + tag + " OK bye\r\n");
        return;
      } else {
        send(tag + " BAD unknown command\r\n");
      }
    }
  }

  Mode mode_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int listen_fd_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::string caps_;
  std::string buf_;
  int noops_ = 0;
  std::atomic<bool> login_seen_{false};
  std::thread thread_;
};

ImapConfig stub_config(int port, ImapConfig::Security sec, const std::string& host = "localhost") {
  ImapConfig c;
  c.host = host;
  c.port = port;
  c.security = sec;
  c.username = "ops@example.test";
  c.password = "secret";
  c.timeout = 10s;
  return c;
}

TEST(ImapTls, UntrustedCertificateIsRejectedBeforeLogin) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:localhost,IP:127.0.0.1");
  StubImapServer stub(StubImapServer::Mode::tls, cert);
  auto r = ImapClient::connect(stub_config(stub.port(), ImapConfig::Security::tls));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_EQ(imap_error_kind(r.status()), ImapErrorKind::tls) << r.status().to_string();
  EXPECT_NE(r.status().message().find("certificate verification failed"), std::string::npos)
      << r.status().to_string();
  EXPECT_FALSE(stub.login_seen());
}

TEST(ImapTls, TrustedCertificateForTheHostNameIsAccepted) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:localhost,IP:127.0.0.1");
  TempFile ca(cert.cert_pem);
  StubImapServer stub(StubImapServer::Mode::tls, cert);
  ImapConfig c = stub_config(stub.port(), ImapConfig::Security::tls);
  c.ca_file = ca.path();
  auto r = ImapClient::connect(c);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE((*r)->supports_idle());
  EXPECT_TRUE((*r)->logout().ok());
  EXPECT_TRUE(stub.login_seen());
}

TEST(ImapTls, IpAddressIsCheckedAgainstIpSubjectAltName) {
  bxtest::TestCert cert = bxtest::make_test_cert("IP:127.0.0.1");
  TempFile ca(cert.cert_pem);
  StubImapServer stub(StubImapServer::Mode::tls, cert);
  ImapConfig c = stub_config(stub.port(), ImapConfig::Security::tls, "127.0.0.1");
  c.ca_file = ca.path();
  auto r = ImapClient::connect(c);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE((*r)->logout().ok());
}

TEST(ImapTls, TrustedCertificateForAnotherNameIsRejected) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:mail.other.test");
  TempFile ca(cert.cert_pem);
  StubImapServer stub(StubImapServer::Mode::tls, cert);
  ImapConfig c = stub_config(stub.port(), ImapConfig::Security::tls);
  c.ca_file = ca.path();
  auto r = ImapClient::connect(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(imap_error_kind(r.status()), ImapErrorKind::tls) << r.status().to_string();
  EXPECT_NE(r.status().message().find("hostname mismatch"), std::string::npos) << r.status().to_string();
  EXPECT_FALSE(stub.login_seen());
}

TEST(ImapTls, VerificationCanBeTurnedOffExplicitly) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:mail.other.test");
  StubImapServer stub(StubImapServer::Mode::tls, cert);
  ImapConfig c = stub_config(stub.port(), ImapConfig::Security::tls);
  c.verify_certificates = false;
  auto r = ImapClient::connect(c);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE((*r)->logout().ok());
}

TEST(ImapTls, StarttlsUpgradesVerifiesAndThenLogsIn) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:localhost");
  TempFile ca(cert.cert_pem);
  StubImapServer stub(StubImapServer::Mode::starttls, cert);
  ImapConfig c = stub_config(stub.port(), ImapConfig::Security::starttls);
  c.ca_file = ca.path();
  auto r = ImapClient::connect(c);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  // Capabilities were asked again over TLS (the plain ones said LOGINDISABLED, no IDLE).
  EXPECT_TRUE((*r)->supports_idle());
  EXPECT_TRUE((*r)->logout().ok());
  EXPECT_TRUE(stub.login_seen());
}

TEST(ImapTls, StarttlsWithAnUntrustedCertificateNeverSendsTheLogin) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:localhost");
  StubImapServer stub(StubImapServer::Mode::starttls, cert);
  auto r = ImapClient::connect(stub_config(stub.port(), ImapConfig::Security::starttls));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(imap_error_kind(r.status()), ImapErrorKind::tls) << r.status().to_string();
  EXPECT_FALSE(stub.login_seen());
}

TEST(ImapTls, StarttlsRejectsPlaintextInjectedAfterTheOk) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:localhost");
  TempFile ca(cert.cert_pem);
  StubImapServer stub(StubImapServer::Mode::starttls_inject, cert);
  ImapConfig c = stub_config(stub.port(), ImapConfig::Security::starttls);
  c.ca_file = ca.path();
  auto r = ImapClient::connect(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(imap_error_kind(r.status()), ImapErrorKind::tls) << r.status().to_string();
  EXPECT_FALSE(stub.login_seen());
}

TEST(ImapTls, WithoutIdleCapabilityIdlePollsWithNoop) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:localhost");
  StubImapServer stub(StubImapServer::Mode::tls, cert, /*advertise_idle=*/false);
  ImapConfig c = stub_config(stub.port(), ImapConfig::Security::tls);
  c.verify_certificates = false;
  auto r = ImapClient::connect(c);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE((*r)->supports_idle());
  auto st = (*r)->examine("INBOX");
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  EXPECT_EQ(st->uidvalidity, 42u);
  // NOOP (nothing), a 1 s sleep, NOOP again: the stub now reports EXISTS.
  auto woke = (*r)->idle(1s);
  ASSERT_TRUE(woke.ok()) << woke.status().to_string();
  EXPECT_TRUE(*woke);
  (*r)->stop();
  auto stopped = (*r)->idle(60s);
  ASSERT_TRUE(stopped.ok()) << stopped.status().to_string();
  EXPECT_FALSE(*stopped);
  EXPECT_TRUE((*r)->logout().ok());
}

TEST(ImapTls, RefusedUidFetchIsAProtocolErrorAndKeepsTheConnection) {
  bxtest::TestCert cert = bxtest::make_test_cert("DNS:localhost");
  StubImapServer stub(StubImapServer::Mode::tls, cert);
  ImapConfig c = stub_config(stub.port(), ImapConfig::Security::tls);
  c.verify_certificates = false;
  auto r = ImapClient::connect(c);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE((*r)->examine("INBOX").ok());
  auto f = (*r)->fetch_after(0, 10);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::internal);
  EXPECT_EQ(imap_error_kind(f.status()), ImapErrorKind::protocol) << f.status().to_string();
  EXPECT_NE(f.status().message().find("fetch refused"), std::string::npos) << f.status().to_string();
  EXPECT_TRUE((*r)->logout().ok());  // a NO leaves the session usable
}

}  // namespace
}  // namespace banxway::email
