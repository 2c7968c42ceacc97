// SMTP sending (src/channels/email/smtp_sender.cpp) through libcurl:
//  * against the real test bed (OpenSMTPD -> LMTP -> Dovecot; scripts/lib/mail.sh): delivery read
//    back over IMAP, a recipient and a sender the server refuses (5xx), STARTTLS not offered,
//    TLS spoken to the plain port. Skipped without BANXWAY_TEST_SMTP_PORT unless
//    BANXWAY_REQUIRE_MAIL=1, which turns the skip into a failure;
//  * against a scripted in-process stub for what the test bed cannot do: 4xx replies, AUTH
//    refused (535), a server that never answers.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "support/mail_env.hpp"
#include "support/net_util.hpp"

#include <csignal>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "channels/email/imap_client.hpp"
#include "channels/email/mime.hpp"
#include "channels/email/mime_builder.hpp"
#include "channels/email/smtp_sender.hpp"
#include "core/crypto.hpp"

using namespace banxway;
using namespace banxway::email;
using namespace std::chrono_literals;

// The TLS stubs in this file write to clients that may already have hung up (a refused
// certificate); in the test process that must be an error return, not a fatal SIGPIPE.
static const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

namespace {

using bxtest::MailEnv;

SmtpConfig plain_smtp(const MailEnv& env) {
  SmtpConfig c;
  c.host = env.host;
  c.port = env.smtp_port;
  c.security = SmtpConfig::Security::plain;
  c.timeout = 15s;
  c.helo_domain = "banxway.test";
  return c;
}

std::string unique_id() { return crypto::hex(crypto::random_bytes(8)); }

// The messages in `folder` of the test user, waiting (bounded) for delivery to create it.
std::vector<ParsedEmail> read_folder(const MailEnv& env, const std::string& folder,
                                     const std::string& want_message_id) {
  ImapConfig ic;
  ic.host = env.host;
  ic.port = env.imap_port;
  ic.security = ImapConfig::Security::plain;
  ic.username = env.user;
  ic.password = env.password;
  ic.timeout = 10s;
  for (int attempt = 0; attempt < 50; ++attempt) {  // up to ~10 s for the relay to deliver
    auto client = ImapClient::connect(ic);
    if (client.ok() && (*client)->examine(folder).ok()) {
      auto page = (*client)->fetch_after(0, 100);
      if (page.ok()) {
        std::vector<ParsedEmail> out;
        bool found = false;
        for (const auto& m : *page) {
          auto p = parse_email(m.raw);
          if (!p.ok()) continue;
          found |= p->message_id == want_message_id;
          out.push_back(std::move(*p));
        }
        if (found) return out;
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  return {};
}




// A one-connection SMTP stub on loopback. `reply(line)` maps each client line to the raw reply
// (with CRLF); "" sends nothing. With silent = true it accepts and never says a word. Mode tls
// speaks TLS from the first byte; mode starttls upgrades on "STARTTLS". The transcript marks
// the upgrade with a line "[tls]" so tests can see what was sent in clear.
class StubServer {
 public:
  enum class Mode { plain, starttls, tls };

  explicit StubServer(std::function<std::string(const std::string&)> reply, bool silent = false,
                      Mode mode = Mode::plain)
      : reply_(std::move(reply)), mode_(mode) {
    if (mode_ != Mode::plain) {
      bxtest::TestCert cert = bxtest::make_test_cert("IP:127.0.0.1");
      ctx_ = SSL_CTX_new(TLS_server_method());
      BIO* cb = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
      BIO* kb = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
      X509* x = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
      EVP_PKEY* k = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      SSL_CTX_use_certificate(ctx_, x);
      SSL_CTX_use_PrivateKey(ctx_, k);
      X509_free(x);
      EVP_PKEY_free(k);
      BIO_free(cb);
      BIO_free(kb);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 4);
    if (!silent) thread_ = std::thread([this] { serve(); });
  }
  ~StubServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  }
  int port() const { return port_; }
  // Waits for the session to end (the client has closed or sent QUIT), then the lines received.
  std::string transcript() {
    if (thread_.joinable()) thread_.join();
    return transcript_;
  }

 private:
  bool start_tls() {
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, conn_);
    if (SSL_accept(ssl_) != 1) {
      ERR_clear_error();
      return false;
    }
    transcript_ += "[tls]\n";
    return true;
  }
  void send_all(const std::string& s) {
    if (s.empty()) return;
    if (ssl_ != nullptr)
      SSL_write(ssl_, s.data(), static_cast<int>(s.size()));
    else
      (void)!::send(conn_, s.data(), s.size(), MSG_NOSIGNAL);
  }
  int receive(char* buf, int n) {
    return ssl_ != nullptr ? SSL_read(ssl_, buf, n) : static_cast<int>(::recv(conn_, buf, n, 0));
  }

  void serve() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 15000) <= 0) return;  // nobody came: don't hang the test
    conn_ = ::accept(fd_, nullptr, nullptr);
    if (conn_ < 0) return;
    timeval tv{10, 0};
    ::setsockopt(conn_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(conn_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (mode_ != Mode::tls || start_tls()) converse();
    if (ssl_ != nullptr) SSL_free(ssl_);
    ::close(conn_);
  }

  void converse() {
    send_all("220 stub ESMTP\r\n");
    std::string buf;
    char tmp[4096];
    bool data = false;
    for (;;) {
      int n = receive(tmp, sizeof tmp);
      if (n <= 0) return;
      buf.append(tmp, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find("\r\n")) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 2);
        transcript_ += line + "\n";
        if (data) {
          if (line == ".") {
            data = false;
            send_all(reply_("."));
          }
          continue;
        }
        if (line.starts_with("EHLO") && mode_ == Mode::starttls && ssl_ == nullptr) {
          send_all("250-stub\r\n250 STARTTLS\r\n");  // no AUTH offered before TLS
          continue;
        }
        if (line == "STARTTLS" && mode_ == Mode::starttls && ssl_ == nullptr) {
          send_all("220 2.0.0 Ready to start TLS\r\n");
          buf.clear();  // nothing sent in clear after STARTTLS counts
          if (!start_tls()) return;
          continue;
        }
        std::string r = reply_(line);
        if (line == "DATA" && r.starts_with("354")) data = true;
        send_all(r);
        if (line == "QUIT") return;
      }
    }
  }

  std::function<std::string(const std::string&)> reply_;
  Mode mode_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1, conn_ = -1, port_ = 0;
  std::thread thread_;
  std::string transcript_;
};

// Typical replies of a submission server; `override_` gets the first say.
std::function<std::string(const std::string&)> stub_dialogue(
    std::function<std::string(const std::string&)> override_) {
  return [override_](const std::string& line) -> std::string {
    if (auto r = override_(line); !r.empty()) return r;
    if (line.starts_with("EHLO")) return "250-stub\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n";
    // SASL without initial response: "AUTH PLAIN" -> 334, then the credentials line -> 235.
    if (line.starts_with("AUTH"))
      return line.find(' ', 5) == std::string::npos ? "334 \r\n" : "235 2.7.0 ok\r\n";
    if (line.starts_with("MAIL FROM")) return "250 2.1.0 ok\r\n";
    if (line.starts_with("RCPT TO")) return "250 2.1.5 ok\r\n";
    if (line == "DATA") return "354 go ahead\r\n";
    if (line == ".") return "250 2.0.0 Ok: queued as STUB1\r\n";
    if (line == "QUIT") return "221 2.0.0 bye\r\n";
    if (line.find(' ') == std::string::npos) return "235 2.7.0 ok\r\n";  // SASL credentials
    return "500 5.5.2 what?\r\n";
  };
}

SmtpConfig stub_config(int port) {
  SmtpConfig c;
  c.host = "127.0.0.1";
  c.port = port;
  c.security = SmtpConfig::Security::plain;
  c.timeout = 5s;
  return c;
}

const std::string kMessage =
    "From: ops@example.test\r\nTo: a@example.test\r\nSubject: t\r\nMessage-ID: <t@x>\r\n\r\nhi\r\n";

}  // namespace

TEST(Smtp, DeliversBuiltMailReadBackOverImap) {
  BX_REQUIRE_MAIL(env);
  const std::string id = "bx.smtp." + unique_id() + "@example.test";
  OutgoingEmail e;
  e.from = {"Banxway Ops", "ops@example.test"};
  e.to = {{"Ops Smtp One", "ops+smtp1@example.test"}};
  e.bcc = {{"", "ops+smtp1bcc@example.test"}};
  e.subject = reply_subject("AW: Buchung Zürich 40' HC");
  e.message_id = id;
  e.in_reply_to = "parent." + unique_id() + "@customer.example";
  e.references = {"root@customer.example"};
  e.text = "Guten Tag,\n\n.leading dot line\n.\nthe booking is confirmed.\n";
  e.html = "<p>Guten Tag, <b>confirmed</b>.</p>";
  std::string blob;
  for (int i = 0; i < 70000; ++i) blob.push_back(static_cast<char>(i * 31 & 0xff));
  e.attachments.push_back({"Frachtbrief Nr. 7 – Kopie.pdf", "application/pdf", blob, "", false});
  e.auto_submitted = true;
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok()) << raw.status().to_string();

  auto sent = send_email(plain_smtp(env), "ops@example.test", envelope_recipients(e), *raw);
  ASSERT_TRUE(sent.ok()) << sent.status().to_string();
  EXPECT_TRUE(sent->server_reply.starts_with("250")) << sent->server_reply;

  auto msgs = read_folder(env, "smtp1", id);
  const ParsedEmail* got = nullptr;
  for (const auto& m : msgs)
    if (m.message_id == id) got = &m;
  ASSERT_NE(got, nullptr) << "message did not arrive in folder smtp1";
  EXPECT_EQ(got->subject, "Re: Buchung Zürich 40' HC");
  ASSERT_TRUE(got->from);
  EXPECT_EQ(got->from->name, "Banxway Ops");
  ASSERT_EQ(got->to.size(), 1u);
  EXPECT_EQ(got->to[0].email, "ops+smtp1@example.test");
  EXPECT_EQ(got->in_reply_to, e.in_reply_to);
  EXPECT_EQ(got->references, (std::vector<std::string>{"root@customer.example", e.in_reply_to}));
  // The parser drops the trailing newline of a body; everything else, dot lines included, is
  // intact.
  EXPECT_EQ(got->text + "\n", e.text) << "dot-stuffing undone, text intact";
  EXPECT_NE(got->html.find("confirmed"), std::string::npos);
  EXPECT_TRUE(got->auto_submitted);
  EXPECT_FALSE(got->thread_index.empty());
  ASSERT_EQ(got->attachments.size(), 1u);
  EXPECT_EQ(got->attachments[0].filename, "Frachtbrief Nr. 7 – Kopie.pdf");
  EXPECT_EQ(got->attachments[0].data, blob);

  // The Bcc copy arrived through the envelope, and its headers do not name the Bcc recipient.
  auto bcc = read_folder(env, "smtp1bcc", id);
  bool bcc_found = false;
  for (const auto& m : bcc)
    if (m.message_id == id) {
      bcc_found = true;
      for (const auto* list : {&m.to, &m.cc})
        for (const auto& a : *list) EXPECT_NE(a.email, "ops+smtp1bcc@example.test");
    }
  EXPECT_TRUE(bcc_found);
}

TEST(Smtp, RefusedRecipientIsPermanentWithServerText) {
  BX_REQUIRE_MAIL(env);
  // OpenSMTPD accepts any well-formed address (it relays everything into LMTP) but refuses a
  // domain starting with '-': "501 5.1.3 Recipient address syntax error".
  auto r = send_email(plain_smtp(env), "ops@example.test", {"someone@-bad.test"}, kMessage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument) << r.status().to_string();
  EXPECT_NE(r.status().message().find("501"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("Recipient address syntax error"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().details().find("\"smtp_code\":501"), std::string::npos)
      << r.status().details();

  auto s = send_email(plain_smtp(env), "sender@-bad.test", {"ops+smtp2@example.test"}, kMessage);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::invalid_argument) << s.status().to_string();
  EXPECT_NE(s.status().message().find("553"), std::string::npos) << s.status().message();
}

TEST(Smtp, StartTlsNotOfferedFailsWithoutFallback) {
  BX_REQUIRE_MAIL(env);
  auto cfg = plain_smtp(env);
  cfg.security = SmtpConfig::Security::starttls;  // the test bed offers no STARTTLS
  auto r = send_email(cfg, "ops@example.test", {"ops+smtp3@example.test"}, kMessage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_NE(r.status().message().find("smtp tls"), std::string::npos) << r.status().message();
}

TEST(Smtp, TlsToPlainPortFailsCleanly) {
  BX_REQUIRE_MAIL(env);
  auto cfg = plain_smtp(env);
  cfg.security = SmtpConfig::Security::tls;
  cfg.verify_certificates = false;
  cfg.timeout = 10s;
  auto t0 = std::chrono::steady_clock::now();
  auto r = send_email(cfg, "ops@example.test", {"ops+smtp4@example.test"}, kMessage);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_LT(took, 12s) << "bounded by the timeout, no hang";
}

TEST(Smtp, ClosedPortIsUnavailable) {
  SmtpConfig cfg = stub_config(bxtest::closed_port());
  cfg.username = "ops@example.test";
  cfg.password = "hunter2-secret";
  auto r = send_email(cfg, "ops@example.test", {"a@example.test"}, kMessage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_NE(r.status().message().find("unreachable"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos);
}

TEST(Smtp, SilentServerTimesOut) {
  StubServer stub([](const std::string&) { return std::string(); }, /*silent=*/true);
  SmtpConfig cfg = stub_config(stub.port());
  cfg.timeout = 2s;
  auto t0 = std::chrono::steady_clock::now();
  auto r = send_email(cfg, "ops@example.test", {"a@example.test"}, kMessage);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_LT(took, 8s);
}

TEST(Smtp, StubAcceptsAndReportsQueuedReply) {
  StubServer stub(stub_dialogue([](const std::string&) { return std::string(); }));
  SmtpConfig cfg = stub_config(stub.port());
  cfg.username = "ops@example.test";
  cfg.password = "pw-never-logged";
  cfg.helo_domain = "hub.example.test";
  auto r = send_email(cfg, "", {"a@example.test", "b@example.test"}, kMessage);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->server_reply, "250 2.0.0 Ok: queued as STUB1");
  auto t = stub.transcript();
  EXPECT_NE(t.find("EHLO hub.example.test"), std::string::npos) << t;
  EXPECT_NE(t.find("MAIL FROM:<>"), std::string::npos) << t;
  EXPECT_NE(t.find("RCPT TO:<a@example.test>"), std::string::npos) << t;
  EXPECT_NE(t.find("RCPT TO:<b@example.test>"), std::string::npos) << t;
  EXPECT_NE(t.find("AUTH"), std::string::npos) << t;
}

TEST(Smtp, CredentialsButNoAuthOfferedIsRefusedWithoutSendingTheBody) {
  // A server (or a downgrade) that advertises no AUTH: libcurl would carry on unauthenticated.
  StubServer stub(stub_dialogue([](const std::string& l) {
    return l.starts_with("EHLO") ? std::string("250-stub\r\n250 8BITMIME\r\n") : std::string();
  }));
  SmtpConfig cfg = stub_config(stub.port());
  cfg.username = "ops@example.test";
  cfg.password = "pw-never-logged";
  auto r = send_email(cfg, "ops@example.test", {"a@example.test"}, kMessage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unauthenticated) << r.status().to_string();
  EXPECT_NE(r.status().message().find("did not authenticate"), std::string::npos);
  EXPECT_EQ(r.status().message().find("pw-never-logged"), std::string::npos);
  auto t = stub.transcript();
  EXPECT_EQ(t.find("Subject:"), std::string::npos) << t;  // not one byte of the message
  EXPECT_EQ(t.find("\n.\n"), std::string::npos) << t;      // and no end of DATA
}

TEST(Smtp, TransientReplyIsUnavailable) {
  StubServer stub(stub_dialogue([](const std::string& l) {
    return l.starts_with("RCPT TO") ? std::string("451 4.3.0 Temporary lookup failure\r\n")
                                    : std::string();
  }));
  auto r = send_email(stub_config(stub.port()), "ops@example.test", {"a@example.test"}, kMessage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_NE(r.status().message().find("451 4.3.0 Temporary lookup failure"), std::string::npos)
      << r.status().message();
}

TEST(Smtp, DataRefusedByPolicyIsPermissionDenied) {
  StubServer stub(stub_dialogue([](const std::string& l) {
    return l == "." ? std::string("554 5.7.1 Message rejected as spam\r\n") : std::string();
  }));
  auto r = send_email(stub_config(stub.port()), "ops@example.test", {"a@example.test"}, kMessage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::permission_denied) << r.status().to_string();
  EXPECT_NE(r.status().message().find("Message rejected as spam"), std::string::npos)
      << r.status().message();
}

TEST(Smtp, AuthRefusedIsUnauthenticatedWithoutPassword) {
  StubServer stub(stub_dialogue([](const std::string& l) {
    return l.starts_with("AUTH") ? std::string("535 5.7.8 Authentication credentials invalid\r\n")
                                 : std::string();
  }));
  SmtpConfig cfg = stub_config(stub.port());
  cfg.username = "ops@example.test";
  cfg.password = "s3cr3t-pass";
  auto r = send_email(cfg, "ops@example.test", {"a@example.test"}, kMessage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unauthenticated) << r.status().to_string();
  EXPECT_EQ(r.status().message().find("s3cr3t-pass"), std::string::npos);
  EXPECT_EQ(r.status().details().find("s3cr3t-pass"), std::string::npos);
}

TEST(Smtp, EnvelopeInjectionRejectedBeforeConnecting) {
  // Port 1 on loopback: if validation let anything through, the result would be unavailable.
  SmtpConfig cfg = stub_config(1);
  for (std::string bad : {"a@example.test\r\nRCPT TO:<evil@x.example>", "a@example.test\n",
                          "a@example.test>", "<a@example.test", "a b@example.test", "no-at", ""}) {
    auto r = send_email(cfg, "ops@example.test", {bad}, kMessage);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::invalid_argument) << bad << ": " << r.status().to_string();
    auto f = send_email(cfg, bad.empty() ? "x\r\n@y" : bad, {"a@example.test"}, kMessage);
    EXPECT_EQ(f.status().code(), Code::invalid_argument) << bad;
  }
  EXPECT_EQ(send_email(cfg, "ops@example.test", {}, kMessage).status().code(),
            Code::invalid_argument);
  // Credentials in clear text to anything but loopback are refused before connecting.
  SmtpConfig remote = cfg;
  remote.host = "mail.example.com";
  remote.username = "ops@example.com";
  remote.password = "pw";
  auto clear = send_email(remote, "ops@example.test", {"a@example.test"}, kMessage);
  EXPECT_EQ(clear.status().code(), Code::invalid_argument) << clear.status().to_string();
  EXPECT_NE(clear.status().message().find("unencrypted"), std::string::npos);
  cfg.helo_domain = "x\r\nMAIL FROM";
  EXPECT_EQ(send_email(cfg, "ops@example.test", {"a@example.test"}, kMessage).status().code(),
            Code::invalid_argument);
}

TEST(Smtp, StartTlsUpgradesBeforeAuth) {
  StubServer stub(stub_dialogue([](const std::string&) { return std::string(); }), false,
                  StubServer::Mode::starttls);
  SmtpConfig cfg = stub_config(stub.port());
  cfg.security = SmtpConfig::Security::starttls;
  cfg.verify_certificates = false;  // the stub's certificate is self-signed
  cfg.username = "ops@example.test";
  cfg.password = "pw";
  auto r = send_email(cfg, "ops@example.test", {"a@example.test"}, kMessage);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->server_reply, "250 2.0.0 Ok: queued as STUB1");
  auto t = stub.transcript();
  auto tls = t.find("[tls]");
  ASSERT_NE(tls, std::string::npos) << t;
  ASSERT_NE(t.find("AUTH"), std::string::npos) << t;
  ASSERT_NE(t.find("MAIL FROM"), std::string::npos) << t;
  EXPECT_GT(t.find("AUTH"), tls) << "credentials only after the upgrade\n" << t;
  EXPECT_GT(t.find("MAIL FROM"), tls) << t;
}

TEST(Smtp, ImplicitTlsDelivers) {
  StubServer stub(stub_dialogue([](const std::string&) { return std::string(); }), false,
                  StubServer::Mode::tls);
  SmtpConfig cfg = stub_config(stub.port());
  cfg.security = SmtpConfig::Security::tls;
  cfg.verify_certificates = false;
  auto r = send_email(cfg, "ops@example.test", {"a@example.test"}, kMessage);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_NE(stub.transcript().find("[tls]"), std::string::npos);
}

TEST(Smtp, UntrustedCertificateRefusedBeforeAuth) {
  for (auto mode : {StubServer::Mode::tls, StubServer::Mode::starttls}) {
    StubServer stub(stub_dialogue([](const std::string&) { return std::string(); }), false, mode);
    SmtpConfig cfg = stub_config(stub.port());
    cfg.security =
        mode == StubServer::Mode::tls ? SmtpConfig::Security::tls : SmtpConfig::Security::starttls;
    cfg.verify_certificates = true;  // self-signed: not in the trust store
    cfg.username = "ops@example.test";
    cfg.password = "pw-must-not-leave";
    auto r = send_email(cfg, "ops@example.test", {"a@example.test"}, kMessage);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
    EXPECT_NE(r.status().message().find("smtp tls"), std::string::npos) << r.status().message();
    auto t = stub.transcript();
    EXPECT_EQ(t.find("AUTH"), std::string::npos) << t;
    EXPECT_EQ(t.find("MAIL FROM"), std::string::npos) << t;
  }
}
