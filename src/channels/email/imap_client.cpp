// ImapClient: libetpan speaks IMAP; the bytes travel over a libetpan stream driver of our own
// (below) that does TCP and TLS itself. Why not libetpan's socket/SSL streams: Debian builds
// libetpan against GnuTLS and its SSL stream verifies nothing (no chain, no host name), and its
// public API gives no handle to add verification during the handshake. With our driver OpenSSL
// verifies chain and host name inside the handshake, before a single IMAP byte (let alone the
// password) is exchanged; and every wait honours the configured timeout.
#include "channels/email/imap_client.hpp"
#include "core/sigpipe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <libetpan/mailimap.h>
#include <libetpan/mailstream.h>
#include <libetpan/mailstream_low.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace banxway::email {

namespace {

using Clock = std::chrono::steady_clock;

// ---- errors -------------------------------------------------------------------------------

Code code_for(ImapErrorKind k) {
  switch (k) {
    case ImapErrorKind::auth_failed:
      return Code::unauthenticated;
    case ImapErrorKind::protocol:
      return Code::internal;
    default:
      return Code::unavailable;
  }
}

Status imap_error(ImapErrorKind k, const std::string& msg, Code code) {
  std::string name(imap_error_kind_name(k));
  return Status(code, "imap " + name + ": " + msg, "{\"imap_error\":\"" + name + "\"}");
}

Status imap_error(ImapErrorKind k, const std::string& msg) { return imap_error(k, msg, code_for(k)); }

std::string openssl_error_text() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// ---- the connection: TCP + optional TLS, all waits bounded -------------------------------

struct Conn {
  enum class Fail { none, timeout, closed, io, tls };

  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int timeout_ms = 30000;
  bool tls_up = false;  // handshake completed: only then may close_notify be sent
  Fail fail = Fail::none;
  std::string fail_detail;

  ~Conn() { shutdown(); }

  // Closes the socket; a TLS close_notify is attempted once, without waiting for an answer.
  void shutdown() {
    if (ssl != nullptr) {
      if (fd >= 0 && tls_up && fail == Fail::none) {
        SigpipeBlock guard;
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      ssl = nullptr;
      tls_up = false;
    }
    if (ctx != nullptr) {
      SSL_CTX_free(ctx);
      ctx = nullptr;
    }
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }

  void record(Fail f, std::string detail) {
    if (fail == Fail::none) {
      fail = f;
      fail_detail = std::move(detail);
    }
  }

  // 1: ready, 0: timed out, -1: poll failed.
  int wait(short events, int ms) {
    pollfd p{fd, events, 0};
    for (;;) {
      int r = ::poll(&p, 1, ms);
      if (r < 0 && errno == EINTR) continue;
      return r > 0 ? 1 : r;
    }
  }

  bool wait_or_record(short events) {
    int r = wait(events, timeout_ms);
    if (r == 1) return true;
    if (r == 0) {
      record(Fail::timeout, "no data from the server within " + std::to_string(timeout_ms / 1000) + " s");
    } else {
      record(Fail::io, std::string("poll: ") + std::strerror(errno));
    }
    return false;
  }

  // TLS error after SSL_read/SSL_write returned r; true when the caller should wait and retry.
  bool tls_retry(int r) {
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) return wait_or_record(POLLIN);
    if (e == SSL_ERROR_WANT_WRITE) return wait_or_record(POLLOUT);
    if (e == SSL_ERROR_ZERO_RETURN) {
      record(Fail::closed, "the server closed the TLS session");
    } else if (e == SSL_ERROR_SYSCALL) {
      record(Fail::closed, errno != 0 ? std::string("connection lost: ") + std::strerror(errno)
                                      : std::string("the server closed the connection"));
    } else {
      record(Fail::tls, openssl_error_text());
    }
    return false;
  }

  ssize_t read(void* buf, size_t count) {
    if (fail != Fail::none) return -1;
    if (ssl != nullptr) {
      for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(ssl, buf, static_cast<int>(std::min<size_t>(count, INT32_MAX)));
        if (n > 0) return n;
        if (!tls_retry(n)) return -1;
      }
    }
    for (;;) {
      ssize_t n = ::recv(fd, buf, count, 0);
      if (n > 0) return n;
      if (n == 0) {
        record(Fail::closed, "the server closed the connection");
        return -1;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!wait_or_record(POLLIN)) return -1;
        continue;
      }
      record(Fail::closed, std::string("connection lost: ") + std::strerror(errno));
      return -1;
    }
  }

  ssize_t write(const void* buf, size_t count) {
    if (fail != Fail::none) return -1;
    if (ssl != nullptr) {
      SigpipeBlock guard;
      for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(ssl, buf, static_cast<int>(std::min<size_t>(count, INT32_MAX)));
        if (n > 0) return n;
        if (!tls_retry(n)) return -1;
      }
    }
    for (;;) {
      ssize_t n = ::send(fd, buf, count, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!wait_or_record(POLLOUT)) return -1;
        continue;
      }
      record(Fail::closed, std::string("connection lost: ") + std::strerror(errno));
      return -1;
    }
  }

  // Bytes already decrypted and waiting inside OpenSSL (invisible to poll on the socket).
  bool tls_pending() const { return ssl != nullptr && SSL_pending(ssl) > 0; }
};

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// Non-blocking TCP connect to the first address of `host` that answers, within `timeout`.
Status tcp_connect(Conn& c, const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(port);
  int gr = ::getaddrinfo(host.c_str(), port_s.c_str(), &hints, &res);
  if (gr != 0) {
    return imap_error(ImapErrorKind::unreachable,
                      "cannot resolve " + host + ": " + ::gai_strerror(gr));
  }
  const auto deadline = Clock::now() + timeout;
  std::string last = "no address";
  bool timed_out = false;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r < 0 && errno == EINPROGRESS) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd, POLLOUT, 0};
      int pr;
      do {
        pr = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
      } while (pr < 0 && errno == EINTR);
      if (pr == 0) {
        timed_out = true;
        last = "connect timed out";
        ::close(fd);
        break;  // the deadline covers all addresses
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (pr < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
      r = err == 0 ? 0 : -1;
      errno = err;
    }
    if (r == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      c.fd = fd;
      ::freeaddrinfo(res);
      return Status::OK();
    }
    last = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  std::string where = host + ":" + port_s;
  if (timed_out) {
    return imap_error(ImapErrorKind::timeout, "connecting to " + where + ": " + last);
  }
  return imap_error(ImapErrorKind::unreachable, "cannot connect to " + where + ": " + last);
}

// TLS client handshake on c.fd. With verification on, OpenSSL checks the chain against the
// system store (+ ca_file) and the certificate against `host` during the handshake.
Status tls_handshake(Conn& c, const ImapConfig& cfg, std::chrono::milliseconds timeout) {
  c.ctx = SSL_CTX_new(TLS_client_method());
  if (c.ctx == nullptr) return imap_error(ImapErrorKind::tls, "SSL_CTX_new: " + openssl_error_text());
  SSL_CTX_set_min_proto_version(c.ctx, TLS1_2_VERSION);
  if (cfg.verify_certificates) {
    SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_default_verify_paths(c.ctx) != 1) {
      return imap_error(ImapErrorKind::tls, "cannot load the system trust store: " + openssl_error_text());
    }
    if (!cfg.ca_file.empty() &&
        SSL_CTX_load_verify_locations(c.ctx, cfg.ca_file.c_str(), nullptr) != 1) {
      return imap_error(ImapErrorKind::tls, "cannot load ca_file " + cfg.ca_file + ": " + openssl_error_text());
    }
  } else {
    SSL_CTX_set_verify(c.ctx, SSL_VERIFY_NONE, nullptr);
  }
  c.ssl = SSL_new(c.ctx);
  if (c.ssl == nullptr || SSL_set_fd(c.ssl, c.fd) != 1) {
    return imap_error(ImapErrorKind::tls, "SSL_new: " + openssl_error_text());
  }
  SSL_set_mode(c.ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  const bool ip = is_ip_literal(cfg.host);
  if (!ip) SSL_set_tlsext_host_name(c.ssl, cfg.host.c_str());  // SNI takes DNS names only
  if (cfg.verify_certificates) {
    X509_VERIFY_PARAM* param = SSL_get0_param(c.ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, cfg.host.c_str())
                : X509_VERIFY_PARAM_set1_host(param, cfg.host.c_str(), cfg.host.size());
    if (ok != 1) return imap_error(ImapErrorKind::tls, "cannot check host name " + cfg.host);
  }

  const auto deadline = Clock::now() + timeout;
  SigpipeBlock guard;
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(c.ssl);
    if (r == 1) {
      c.tls_up = true;
      break;
    }
    int e = SSL_get_error(c.ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      int w = c.wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                     static_cast<int>(std::max<int64_t>(0, left.count())));
      if (w == 1) continue;
      return imap_error(ImapErrorKind::tls, w == 0 ? "TLS handshake timed out"
                                                   : std::string("poll: ") + std::strerror(errno));
    }
    long vr = SSL_get_verify_result(c.ssl);
    if (cfg.verify_certificates && vr != X509_V_OK) {
      return imap_error(ImapErrorKind::tls, std::string("certificate verification failed for ") +
                                                cfg.host + ": " + X509_verify_cert_error_string(vr));
    }
    std::string why = e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
                          ? "the server closed the connection during the handshake"
                          : openssl_error_text();
    return imap_error(ImapErrorKind::tls, "TLS handshake with " + cfg.host + " failed: " + why);
  }
  if (cfg.verify_certificates) {
    // Belt and braces: SSL_VERIFY_PEER already failed the handshake on a bad chain.
    X509* peer = SSL_get1_peer_certificate(c.ssl);
    long vr = SSL_get_verify_result(c.ssl);
    if (peer != nullptr) X509_free(peer);
    if (peer == nullptr || vr != X509_V_OK) {
      return imap_error(ImapErrorKind::tls, "the server presented no verifiable certificate");
    }
  }
  return Status::OK();
}

// ---- the libetpan stream driver over Conn -------------------------------------------------
// The mailstream_low's data is the Conn, owned by ImapClient::Impl (not by the stream): close
// shuts the socket, free releases only libetpan's struct.

Conn* conn_of(mailstream_low* s) { return static_cast<Conn*>(s->data); }
ssize_t drv_read(mailstream_low* s, void* buf, size_t n) { return conn_of(s)->read(buf, n); }
ssize_t drv_write(mailstream_low* s, const void* buf, size_t n) { return conn_of(s)->write(buf, n); }
int drv_close(mailstream_low* s) {
  conn_of(s)->shutdown();
  return 0;
}
int drv_get_fd(mailstream_low* s) { return conn_of(s)->fd; }
void drv_free(mailstream_low* s) { std::free(s); }  // mailstream_low_new allocated it with malloc
void drv_cancel(mailstream_low*) {}
struct mailstream_cancel* drv_get_cancel(mailstream_low*) { return nullptr; }
carray* drv_get_certificate_chain(mailstream_low*) { return nullptr; }

mailstream_low_driver g_driver = {
    drv_read,  drv_write,      drv_close,
    drv_get_fd, drv_free,      drv_cancel,
    drv_get_cancel, drv_get_certificate_chain,
    nullptr /* setup_idle */, nullptr /* unsetup_idle */, nullptr /* interrupt_idle */,
};

// ---- libetpan helpers ---------------------------------------------------------------------

bool has_capability(mailimap* s, const char* name) {
  if (s->imap_connection_info == nullptr || s->imap_connection_info->imap_capability == nullptr) {
    return false;
  }
  clist* caps = s->imap_connection_info->imap_capability->cap_list;
  for (clistiter* it = clist_begin(caps); it != nullptr; it = clist_next(it)) {
    auto* cap = static_cast<struct mailimap_capability*>(clist_content(it));
    if (cap->cap_type == MAILIMAP_CAPABILITY_NAME && cap->cap_data.cap_name != nullptr &&
        ::strcasecmp(cap->cap_data.cap_name, name) == 0) {
      return true;
    }
  }
  return false;
}

bool capabilities_known(mailimap* s) {
  return s->imap_connection_info != nullptr && s->imap_connection_info->imap_capability != nullptr;
}

// Forgets the server's capabilities: they must be asked again after STARTTLS and LOGIN.
void forget_capabilities(mailimap* s) {
  if (capabilities_known(s)) {
    mailimap_capability_data_free(s->imap_connection_info->imap_capability);
    s->imap_connection_info->imap_capability = nullptr;
  }
}

std::string flag_name(const mailimap_flag* f) {
  switch (f->fl_type) {
    case MAILIMAP_FLAG_ANSWERED:
      return "\\Answered";
    case MAILIMAP_FLAG_FLAGGED:
      return "\\Flagged";
    case MAILIMAP_FLAG_DELETED:
      return "\\Deleted";
    case MAILIMAP_FLAG_SEEN:
      return "\\Seen";
    case MAILIMAP_FLAG_DRAFT:
      return "\\Draft";
    case MAILIMAP_FLAG_KEYWORD:
      return f->fl_data.fl_keyword != nullptr ? f->fl_data.fl_keyword : "";
    case MAILIMAP_FLAG_EXTENSION:
      return f->fl_data.fl_extension != nullptr ? std::string("\\") + f->fl_data.fl_extension : "";
  }
  return "";
}

std::optional<TimePoint> to_time_point(const mailimap_date_time* d) {
  using namespace std::chrono;
  if (d == nullptr) return std::nullopt;
  year_month_day ymd{year{d->dt_year}, month{static_cast<unsigned>(d->dt_month)},
                     day{static_cast<unsigned>(d->dt_day)}};
  if (!ymd.ok() || d->dt_hour < 0 || d->dt_hour > 23 || d->dt_min < 0 || d->dt_min > 59 ||
      d->dt_sec < 0 || d->dt_sec > 60) {
    return std::nullopt;
  }
  // dt_zone is the numeric zone as written, e.g. -0530 -> -530.
  int zone = std::abs(d->dt_zone);
  int offset_min = (zone / 100) * 60 + zone % 100;
  if (d->dt_zone < 0) offset_min = -offset_min;
  auto t = sys_days{ymd} + hours{d->dt_hour} + minutes{d->dt_min} + seconds{d->dt_sec} -
           minutes{offset_min};
  return time_point_cast<milliseconds>(t);
}

// What one FETCH response carried.
struct MsgAtt {
  uint32_t uid = 0;
  uint32_t size = 0;
  bool has_flags = false;
  std::vector<std::string> flags;
  std::optional<TimePoint> internal_date;
  bool has_body = false;
  std::string body;
};

MsgAtt read_msg_att(const mailimap_msg_att* att) {
  MsgAtt out;
  for (clistiter* it = clist_begin(att->att_list); it != nullptr; it = clist_next(it)) {
    auto* item = static_cast<mailimap_msg_att_item*>(clist_content(it));
    if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
      out.has_flags = true;
      mailimap_msg_att_dynamic* dyn = item->att_data.att_dyn;
      if (dyn == nullptr || dyn->att_list == nullptr) continue;
      for (clistiter* f = clist_begin(dyn->att_list); f != nullptr; f = clist_next(f)) {
        auto* ff = static_cast<mailimap_flag_fetch*>(clist_content(f));
        if (ff->fl_type == MAILIMAP_FLAG_FETCH_RECENT) {
          out.flags.emplace_back("\\Recent");
        } else if (ff->fl_flag != nullptr) {
          std::string n = flag_name(ff->fl_flag);
          if (!n.empty()) out.flags.push_back(std::move(n));
        }
      }
    } else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC) {
      mailimap_msg_att_static* st = item->att_data.att_static;
      if (st == nullptr) continue;
      switch (st->att_type) {
        case MAILIMAP_MSG_ATT_UID:
          out.uid = st->att_data.att_uid;
          break;
        case MAILIMAP_MSG_ATT_RFC822_SIZE:
          out.size = st->att_data.att_rfc822_size;
          break;
        case MAILIMAP_MSG_ATT_INTERNALDATE:
          out.internal_date = to_time_point(st->att_data.att_internal_date);
          break;
        case MAILIMAP_MSG_ATT_BODY_SECTION: {
          mailimap_msg_att_body_section* sec = st->att_data.att_body_section;
          out.has_body = true;
          if (sec != nullptr && sec->sec_body_part != nullptr) {
            out.body.assign(sec->sec_body_part, sec->sec_length);
          }
          break;
        }
        default:
          break;
      }
    }
  }
  return out;
}

// Owners for libetpan structures, so every early return frees them.
struct SetDeleter {
  void operator()(mailimap_set* s) const { mailimap_set_free(s); }
};
struct FetchTypeDeleter {
  void operator()(mailimap_fetch_type* f) const { mailimap_fetch_type_free(f); }
};
struct FetchListDeleter {
  void operator()(clist* l) const { mailimap_fetch_list_free(l); }
};
using SetPtr = std::unique_ptr<mailimap_set, SetDeleter>;
using FetchTypePtr = std::unique_ptr<mailimap_fetch_type, FetchTypeDeleter>;
using FetchListPtr = std::unique_ptr<clist, FetchListDeleter>;

bool add_att(mailimap_fetch_type* ft, mailimap_fetch_att* att) {
  if (att == nullptr) return false;
  if (mailimap_fetch_type_new_fetch_att_list_add(ft, att) != MAILIMAP_NO_ERROR) {
    mailimap_fetch_att_free(att);
    return false;
  }
  return true;
}

bool has_bad_chars(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

// ---- public helpers -----------------------------------------------------------------------

std::string_view imap_error_kind_name(ImapErrorKind k) noexcept {
  switch (k) {
    case ImapErrorKind::auth_failed:
      return "auth_failed";
    case ImapErrorKind::unreachable:
      return "unreachable";
    case ImapErrorKind::tls:
      return "tls";
    case ImapErrorKind::protocol:
      return "protocol";
    case ImapErrorKind::timeout:
      return "timeout";
  }
  return "protocol";
}

std::optional<ImapErrorKind> imap_error_kind(const Status& s) {
  if (s.ok()) return std::nullopt;
  constexpr std::string_view key = "\"imap_error\":\"";
  const std::string& d = s.details();
  auto pos = d.find(key);
  if (pos == std::string::npos) return std::nullopt;
  pos += key.size();
  auto end = d.find('"', pos);
  if (end == std::string::npos) return std::nullopt;
  std::string_view name(d.data() + pos, end - pos);
  for (auto k : {ImapErrorKind::auth_failed, ImapErrorKind::unreachable, ImapErrorKind::tls,
                 ImapErrorKind::protocol, ImapErrorKind::timeout}) {
    if (imap_error_kind_name(k) == name) return k;
  }
  return std::nullopt;
}

ResumePoint resume_point(const FolderCursor& cursor, const FolderState& folder) noexcept {
  if (cursor.uidvalidity == 0 || cursor.uidvalidity != folder.uidvalidity) return {0, true};
  return {cursor.last_uid, false};
}

// ---- ImapClient::Impl ---------------------------------------------------------------------

struct ImapClient::Impl {
  ImapConfig cfg;
  Conn conn;
  mailimap* session = nullptr;
  int stop_fd = -1;  // eventfd: stop() makes it readable, idle() polls it with the socket
  bool selected = false;
  bool closed = false;  // after LOGOUT or a connection-level error: every call fails fast

  ~Impl() {
    if (session != nullptr) {
      // No LOGOUT here: a destructor must not wait on the network. Closing the stream closes
      // the socket (TLS close_notify is best effort); mailimap_free then has nothing to send.
      drop_stream();
      mailimap_free(session);
    }
    if (stop_fd >= 0) ::close(stop_fd);
  }

  void drop_stream() {
    if (session != nullptr && session->imap_stream != nullptr) {
      mailstream_close(session->imap_stream);
      session->imap_stream = nullptr;
      session->imap_state = MAILIMAP_STATE_DISCONNECTED;
    }
    conn.shutdown();
    closed = true;
    selected = false;
  }

  // Error text from the server, without the password (a hostile server could echo it) and
  // bounded in size.
  std::string server_text() const {
    std::string t = session != nullptr && session->imap_response != nullptr ? session->imap_response : "";
    return scrub(t);
  }

  std::string scrub(std::string t) const {
    if (!cfg.password.empty()) {
      for (auto p = t.find(cfg.password); p != std::string::npos; p = t.find(cfg.password, p + 3)) {
        t.replace(p, cfg.password.size(), "***");
      }
    }
    if (t.size() > 300) t.resize(300);
    return t;
  }

  Status closed_error() const {
    return imap_error(ImapErrorKind::unreachable, "the connection is closed (after LOGOUT or an error); reconnect");
  }

  // Maps a libetpan result for `what` to a Status. Errors that leave the protocol state
  // unknown close the connection, so later calls fail fast instead of reading garbage.
  Status fail(int r, const std::string& what) {
    std::string text = server_text();
    switch (r) {
      case MAILIMAP_ERROR_STREAM: {
        Conn::Fail f = conn.fail;
        std::string detail = scrub(conn.fail_detail.empty() ? "stream error" : conn.fail_detail);
        drop_stream();
        if (f == Conn::Fail::timeout) return imap_error(ImapErrorKind::timeout, what + ": " + detail);
        if (f == Conn::Fail::tls) return imap_error(ImapErrorKind::tls, what + ": " + detail);
        return imap_error(ImapErrorKind::unreachable, what + ": " + detail);
      }
      case MAILIMAP_ERROR_FATAL:
      case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
        drop_stream();
        return imap_error(ImapErrorKind::unreachable, what + ": the server said BYE" +
                                                          (text.empty() ? "" : ": " + text));
      case MAILIMAP_ERROR_PARSE:
        drop_stream();
        return imap_error(ImapErrorKind::protocol, what + ": unparsable server response");
      case MAILIMAP_ERROR_PROTOCOL:
        drop_stream();
        return imap_error(ImapErrorKind::protocol, what + ": the server answered BAD" +
                                                       (text.empty() ? "" : ": " + text));
      case MAILIMAP_ERROR_MEMORY:
        drop_stream();
        return Internal("imap: out of memory during " + what);
      case MAILIMAP_ERROR_BAD_STATE:
        return imap_error(ImapErrorKind::protocol, what + ": not allowed in the current IMAP state");
      default:  // the command's own NO
        return imap_error(ImapErrorKind::protocol, what + " refused by the server" +
                                                       (text.empty() ? "" : ": " + text));
    }
  }

  Status ensure_capabilities() {
    if (capabilities_known(session)) return Status::OK();
    mailimap_capability_data* caps = nullptr;
    int r = mailimap_capability(session, &caps);
    if (r != MAILIMAP_NO_ERROR) return fail(r, "CAPABILITY");
    mailimap_capability_data_free(caps);  // a copy; the session keeps its own
    return Status::OK();
  }

  Status starttls() {
    if (session->imap_state != MAILIMAP_STATE_NON_AUTHENTICATED) {
      // PREAUTH: already logged in over plain text; STARTTLS is no longer allowed.
      return imap_error(ImapErrorKind::tls, "the server pre-authenticated the plain connection; cannot STARTTLS");
    }
    BX_RETURN_IF_ERROR(ensure_capabilities());
    if (!has_capability(session, "STARTTLS")) {
      return imap_error(ImapErrorKind::tls, "the server does not offer STARTTLS (security=starttls never falls back to plain)");
    }
    int r = mailimap_starttls(session);
    if (r != MAILIMAP_NO_ERROR) {
      Status s = fail(r, "STARTTLS");
      if (imap_error_kind(s) == ImapErrorKind::protocol) {
        return imap_error(ImapErrorKind::tls, "STARTTLS refused by the server: " + server_text());
      }
      return s;
    }
    // Anything the server sent after its OK arrived unencrypted and must not be treated as
    // part of the TLS session (the STARTTLS command-injection class of bugs).
    if (session->imap_stream->read_buffer_len != 0) {
      return imap_error(ImapErrorKind::tls, "the server sent data after accepting STARTTLS");
    }
    BX_RETURN_IF_ERROR(tls_handshake(conn, cfg, cfg.timeout));
    forget_capabilities(session);  // pre-TLS capabilities may have been tampered with
    return Status::OK();
  }

  Status login() {
    BX_RETURN_IF_ERROR(ensure_capabilities());
    if (has_capability(session, "LOGINDISABLED")) {
      return imap_error(ImapErrorKind::protocol,
                        "the server refuses LOGIN on this connection (LOGINDISABLED); use security starttls or tls");
    }
    forget_capabilities(session);  // they change after login; the OK usually carries the new set
    int r = mailimap_login(session, cfg.username.c_str(), cfg.password.c_str());
    if (r == MAILIMAP_ERROR_LOGIN) {
      std::string text = server_text();
      const char* code = session->imap_response_info != nullptr ? session->imap_response_info->rsp_atom : nullptr;
      if (code != nullptr && ::strcasecmp(code, "UNAVAILABLE") == 0) {  // RFC 5530: try later
        return imap_error(ImapErrorKind::unreachable, "login temporarily unavailable: " + text);
      }
      return imap_error(ImapErrorKind::auth_failed,
                        "login rejected for " + scrub(cfg.username) + (text.empty() ? "" : ": " + text));
    }
    if (r != MAILIMAP_NO_ERROR) return fail(r, "LOGIN");
    return ensure_capabilities();
  }

  Status require_open() const { return closed ? closed_error() : Status::OK(); }

  // Reads and clears "the server announced new messages" (EXISTS/RECENT since the last reset).
  bool take_new_mail_flag() {
    mailimap_selection_info* sel = session->imap_selection_info;
    if (sel == nullptr) return false;
    bool any = sel->sel_has_exists || sel->sel_has_recent;
    sel->sel_has_exists = 0;
    sel->sel_has_recent = 0;
    return any;
  }

  Result<std::vector<MsgAtt>> uid_fetch(mailimap_set* set, bool body) {
    FetchTypePtr ft(mailimap_fetch_type_new_fetch_att_list_empty());
    if (!ft) return Internal("imap: out of memory");
    bool ok = add_att(ft.get(), mailimap_fetch_att_new_uid());
    if (body) {
      mailimap_section* section = mailimap_section_new(nullptr);
      mailimap_fetch_att* att = section != nullptr ? mailimap_fetch_att_new_body_peek_section(section) : nullptr;
      if (att == nullptr && section != nullptr) mailimap_section_free(section);
      ok = ok && add_att(ft.get(), att);
    } else {
      ok = ok && add_att(ft.get(), mailimap_fetch_att_new_flags()) &&
           add_att(ft.get(), mailimap_fetch_att_new_internaldate()) &&
           add_att(ft.get(), mailimap_fetch_att_new_rfc822_size());
    }
    if (!ok) return Internal("imap: out of memory");
    clist* raw = nullptr;
    int r = mailimap_uid_fetch(session, set, ft.get(), &raw);
    // On a NO libetpan frees the list itself but leaves the pointer set: adopt it only on success.
    if (r != MAILIMAP_NO_ERROR) return fail(r, "UID FETCH");
    FetchListPtr list(raw);
    std::vector<MsgAtt> out;
    if (list) {
      out.reserve(clist_count(list.get()));
      for (clistiter* it = clist_begin(list.get()); it != nullptr; it = clist_next(it)) {
        out.push_back(read_msg_att(static_cast<mailimap_msg_att*>(clist_content(it))));
      }
    }
    return out;
  }
};

// ---- ImapClient ---------------------------------------------------------------------------

ImapClient::ImapClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ImapClient::~ImapClient() = default;

Result<std::unique_ptr<ImapClient>> ImapClient::connect(const ImapConfig& cfg) {
  if (cfg.host.empty() || has_bad_chars(cfg.host)) return InvalidArgument("imap: host is required");
  if (cfg.port <= 0 || cfg.port > 65535) return InvalidArgument("imap: port must be 1..65535");
  if (cfg.username.empty() || has_bad_chars(cfg.username) || has_bad_chars(cfg.password)) {
    return InvalidArgument("imap: username is required; username and password must not contain CR, LF or NUL");
  }
  if (cfg.timeout.count() <= 0) return InvalidArgument("imap: timeout must be positive");
  if (cfg.idle_refresh.count() <= 0) return InvalidArgument("imap: idle_refresh must be positive");

  auto impl = std::make_unique<Impl>();
  impl->cfg = cfg;
  impl->conn.timeout_ms = static_cast<int>(std::min<int64_t>(cfg.timeout.count(), 24 * 3600) * 1000);
  impl->stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->stop_fd < 0) return Internal(std::string("imap: eventfd: ") + std::strerror(errno));
  impl->session = mailimap_new(0, nullptr);
  if (impl->session == nullptr) return Internal("imap: out of memory");

  BX_RETURN_IF_ERROR(tcp_connect(impl->conn, cfg.host, cfg.port, cfg.timeout));
  if (cfg.security == ImapConfig::Security::tls) {
    BX_RETURN_IF_ERROR(tls_handshake(impl->conn, cfg, cfg.timeout));
  }

  mailstream_low* low = mailstream_low_new(&impl->conn, &g_driver);
  if (low == nullptr) return Internal("imap: out of memory");
  mailstream* stream = mailstream_new(low, 8192);
  if (stream == nullptr) {
    mailstream_low_free(low);
    return Internal("imap: out of memory");
  }
  // From here the session owns the stream (mailimap_connect stores it even when it fails).
  int r = mailimap_connect(impl->session, stream);
  if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
    if (impl->session->imap_stream == nullptr) mailstream_close(stream);
    return impl->fail(r, "reading the greeting of " + cfg.host);
  }

  if (cfg.security == ImapConfig::Security::starttls) BX_RETURN_IF_ERROR(impl->starttls());
  if (impl->session->imap_state == MAILIMAP_STATE_NON_AUTHENTICATED) {
    BX_RETURN_IF_ERROR(impl->login());
  } else {
    BX_RETURN_IF_ERROR(impl->ensure_capabilities());  // PREAUTH
  }
  return std::unique_ptr<ImapClient>(new ImapClient(std::move(impl)));
}

Result<FolderState> ImapClient::examine(std::string_view folder) {
  Impl& d = *impl_;
  BX_RETURN_IF_ERROR(d.require_open());
  if (folder.empty() || has_bad_chars(folder)) {
    return InvalidArgument("imap: folder name must be non-empty without CR, LF or NUL");
  }
  d.selected = false;
  std::string name(folder);
  int r = mailimap_examine(d.session, name.c_str());
  if (r == MAILIMAP_ERROR_EXAMINE) {
    return imap_error(ImapErrorKind::protocol, "EXAMINE " + name + " refused: " + d.server_text(),
                      Code::not_found);
  }
  if (r != MAILIMAP_NO_ERROR) return d.fail(r, "EXAMINE " + name);
  mailimap_selection_info* sel = d.session->imap_selection_info;
  if (sel == nullptr || sel->sel_uidvalidity == 0) {
    // Without UIDVALIDITY stored UIDs cannot be trusted across sessions (RFC 3501 requires it).
    return imap_error(ImapErrorKind::protocol, "EXAMINE " + name + ": the server reported no UIDVALIDITY");
  }
  FolderState st{sel->sel_uidvalidity, sel->sel_uidnext, sel->sel_exists};
  d.take_new_mail_flag();  // EXAMINE's own EXISTS is not news
  d.selected = true;
  return st;
}

Result<std::vector<FetchedMessage>> ImapClient::fetch_after(uint32_t after_uid, size_t max,
                                                            size_t max_bytes) {
  Impl& d = *impl_;
  BX_RETURN_IF_ERROR(d.require_open());
  if (!d.selected) return imap_error(ImapErrorKind::protocol, "fetch_after before a successful examine()", Code::invalid_argument);
  std::vector<FetchedMessage> out;
  if (max == 0 || after_uid == std::numeric_limits<uint32_t>::max()) return out;

  // EXISTS seen from here on may announce messages this call does not return; idle() reports
  // them at once instead of waiting.
  d.take_new_mail_flag();

  // 1. Metadata (UID FLAGS INTERNALDATE RFC822.SIZE) for the first `max` UIDs above the cursor.
  // A first sync of a big mailbox must not list every message on every page, so ask for a UID
  // window that grows until it holds `max` messages or reaches UIDNEXT, where it becomes
  // "lo:*" (which also catches mail that arrived after EXAMINE).
  uint32_t known_top = std::numeric_limits<uint32_t>::max();
  if (d.session->imap_selection_info != nullptr && d.session->imap_selection_info->sel_uidnext > 0) {
    known_top = d.session->imap_selection_info->sel_uidnext - 1;
  }
  std::vector<MsgAtt> meta;
  uint64_t lo = static_cast<uint64_t>(after_uid) + 1;
  uint64_t window = std::max<uint64_t>(64, 2 * static_cast<uint64_t>(max));
  for (;;) {
    bool last = lo + window - 1 >= known_top;
    uint64_t hi = last ? 0 : lo + window - 1;  // 0 = "*" in libetpan sets
    SetPtr set(mailimap_set_new_interval(static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)));
    if (!set) return Internal("imap: out of memory");
    BX_ASSIGN_OR_RETURN(auto page, d.uid_fetch(set.get(), false));
    for (auto& m : page) {
      // "lo:*" returns the highest message even when its UID is below lo; unsolicited FETCH
      // responses (flag changes elsewhere) may carry no UID at all.
      if (m.uid < lo || (hi != 0 && m.uid > hi)) continue;
      meta.push_back(std::move(m));
    }
    if (meta.size() >= max || last) break;
    lo = hi + 1;
    window *= 4;
  }
  std::sort(meta.begin(), meta.end(), [](const MsgAtt& a, const MsgAtt& b) { return a.uid < b.uid; });
  meta.erase(std::unique(meta.begin(), meta.end(), [](const MsgAtt& a, const MsgAtt& b) { return a.uid == b.uid; }),
             meta.end());
  if (meta.size() > max) meta.resize(max);
  if (meta.empty()) return out;

  // 2. Bodies (BODY.PEEK[]: \Seen stays as it is) of the ones within max_bytes, in one command.
  SetPtr bodies(mailimap_set_new_empty());
  if (!bodies) return Internal("imap: out of memory");
  size_t wanted = 0;
  for (const auto& m : meta) {
    if (m.size <= max_bytes) {
      if (mailimap_set_add_single(bodies.get(), m.uid) != MAILIMAP_NO_ERROR) return Internal("imap: out of memory");
      ++wanted;
    }
  }
  std::vector<MsgAtt> fetched;
  if (wanted > 0) {
    BX_ASSIGN_OR_RETURN(fetched, d.uid_fetch(bodies.get(), true));
  }
  std::sort(fetched.begin(), fetched.end(), [](const MsgAtt& a, const MsgAtt& b) { return a.uid < b.uid; });

  out.reserve(meta.size());
  for (auto& m : meta) {
    FetchedMessage fm;
    fm.uid = m.uid;
    fm.flags = std::move(m.flags);
    fm.internal_date = m.internal_date;
    fm.size = m.size;
    if (m.size > max_bytes) {
      fm.flags.emplace_back(kTooLargeFlag);
    } else {
      auto it = std::lower_bound(fetched.begin(), fetched.end(), m.uid,
                                 [](const MsgAtt& a, uint32_t uid) { return a.uid < uid; });
      if (it == fetched.end() || it->uid != m.uid || !it->has_body) {
        // Expunged by another client between the two commands: skip it. Its UID is above the
        // ones returned only if no later message follows, so the caller's cursor stays safe.
        continue;
      }
      if (it->body.size() > max_bytes) {  // RFC822.SIZE lied; honour the limit anyway
        fm.flags.emplace_back(kTooLargeFlag);
      } else {
        fm.raw = std::move(it->body);
      }
    }
    out.push_back(std::move(fm));
  }
  return out;
}

bool ImapClient::supports_idle() const {
  return !impl_->closed && has_capability(impl_->session, "IDLE");
}

Result<bool> ImapClient::idle(std::chrono::seconds wait) {
  Impl& d = *impl_;
  BX_RETURN_IF_ERROR(d.require_open());
  if (!d.selected) return imap_error(ImapErrorKind::protocol, "idle before a successful examine()", Code::invalid_argument);
  const auto deadline = Clock::now() + std::max(wait, std::chrono::seconds(0));
  auto take_stop = [&d] {
    uint64_t v = 0;
    return ::read(d.stop_fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v);
  };
  auto ms_until = [](Clock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(ms, 0, 24 * 3600 * 1000));
  };

  if (take_stop()) return false;
  // News that arrived with earlier responses, or is pending on the server: a NOOP collects it
  // (some servers report EXISTS before IDLE's continuation, where libetpan would drop it).
  if (d.take_new_mail_flag()) return true;
  int r = mailimap_noop(d.session);
  if (r != MAILIMAP_NO_ERROR) return d.fail(r, "NOOP");
  if (d.take_new_mail_flag()) return true;
  if (wait.count() <= 0) return false;

  if (!has_capability(d.session, "IDLE")) {
    // Polling fallback: sleep (stop() still wakes us), then NOOP for news.
    pollfd p{d.stop_fd, POLLIN, 0};
    int pr;
    do {
      pr = ::poll(&p, 1, ms_until(deadline));
    } while (pr < 0 && errno == EINTR);
    if (pr > 0 && take_stop()) return false;
    r = mailimap_noop(d.session);
    if (r != MAILIMAP_NO_ERROR) return d.fail(r, "NOOP");
    return d.take_new_mail_flag();
  }

  for (;;) {
    const auto round_end = std::min(deadline, Clock::now() + d.cfg.idle_refresh);
    r = mailimap_idle(d.session);
    if (r != MAILIMAP_NO_ERROR) return d.fail(r, "IDLE");

    // Wait for the server (data already buffered counts), stop(), or the end of this round.
    bool stopped = false;
    bool woke = d.session->imap_stream->read_buffer_len > 0 || d.conn.tls_pending();
    while (!woke && !stopped) {
      pollfd p[2] = {{d.conn.fd, POLLIN, 0}, {d.stop_fd, POLLIN, 0}};
      int left = ms_until(round_end);
      int pr = ::poll(p, 2, left);
      if (pr < 0 && errno == EINTR) continue;
      if (pr < 0) {
        std::string why = std::string("poll: ") + std::strerror(errno);
        d.drop_stream();  // still inside IDLE: the session cannot be reused
        return imap_error(ImapErrorKind::unreachable, why);
      }
      if (pr == 0) break;  // round over
      if (p[1].revents & POLLIN) stopped = true;
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) woke = true;
    }

    // DONE reads what the server sent while idling (EXISTS, keepalives) and ends the IDLE.
    r = mailimap_idle_done(d.session);
    if (r != MAILIMAP_NO_ERROR) return d.fail(r, "IDLE DONE");
    if (stopped) {
      take_stop();
      return false;
    }
    if (d.take_new_mail_flag()) return true;
    if (Clock::now() >= deadline) return false;
    // A keepalive ("* OK Still here"), a flag change, or the refresh interval: idle again.
  }
}

void ImapClient::stop() {
  uint64_t one = 1;
  // write(2) on an eventfd is async-signal-safe; EAGAIN (counter full) still leaves it readable.
  [[maybe_unused]] ssize_t n = ::write(impl_->stop_fd, &one, sizeof one);
}

Status ImapClient::logout() {
  Impl& d = *impl_;
  if (d.closed) return Status::OK();
  int r = mailimap_logout(d.session);  // closes the stream whatever the answer
  d.session->imap_stream = nullptr;
  d.conn.shutdown();
  d.closed = true;
  d.selected = false;
  if (r == MAILIMAP_NO_ERROR) return Status::OK();
  Status s = imap_error(ImapErrorKind::protocol, "LOGOUT: " + d.server_text());
  if (r == MAILIMAP_ERROR_STREAM) {
    s = imap_error(d.conn.fail == Conn::Fail::timeout ? ImapErrorKind::timeout : ImapErrorKind::unreachable,
                   "LOGOUT: " + d.scrub(d.conn.fail_detail));
  }
  return s;
}

}  // namespace banxway::email
