// http_request() on a libcurl easy handle (a fresh one per call: a pooled connection must never
// carry a request past the SSRF check it was not made under), plus the small encoders/decoders
// the provider adapters need (forms, multipart, Retry-After).
#include "net/http.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>

#include "core/sigpipe.hpp"

namespace banxway::net {
namespace {

// ---------------------------------------------------------------------------------------------
// small text helpers

char lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void percent_encode_into(std::string& out, std::string_view s, bool space_as_plus) {
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else if (c == ' ' && space_as_plus) {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
}

// Decodes one form component ('+' = space). False on a malformed % escape.
bool form_unescape(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size()) return false;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// SSRF address classes

// The class of a blocked IPv4 address (host byte order), or nullptr when allowed.
const char* blocked_v4(uint32_t a) {
  auto in = [a](uint32_t net, int bits) {
    uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return (a & mask) == (net & mask);
  };
  if (in(0x00000000, 8)) return "unspecified";        // 0.0.0.0/8 "this network"
  if (in(0x7F000000, 8)) return "loopback";           // 127/8
  if (in(0x0A000000, 8)) return "private";            // 10/8
  if (in(0xAC100000, 12)) return "private";           // 172.16/12
  if (in(0xC0A80000, 16)) return "private";           // 192.168/16
  if (in(0x64400000, 10)) return "shared (CGNAT)";    // 100.64/10
  if (in(0xA9FE0000, 16)) return "link-local";        // 169.254/16 (incl. cloud metadata)
  if (in(0xC0000000, 24)) return "reserved";          // 192.0.0/24 IETF protocol assignments
  if (in(0xC6120000, 15)) return "reserved";          // 198.18/15 benchmarking
  if (in(0xE0000000, 4)) return "multicast";          // 224/4
  if (in(0xF0000000, 4)) return "reserved";           // 240/4 incl. 255.255.255.255
  return nullptr;
}

uint32_t v4_at(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

const char* blocked_v6(const unsigned char* a) {
  static const unsigned char kZero[16] = {};
  // ::/96 — the unspecified address, loopback and the deprecated IPv4-compatible form.
  if (std::memcmp(a, kZero, 12) == 0) {
    if (std::memcmp(a, kZero, 16) == 0) return "unspecified";
    if (std::memcmp(a, kZero, 15) == 0 && a[15] == 1) return "loopback";
    return "reserved";
  }
  // ::ffff:a.b.c.d — IPv4-mapped: the kernel connects to the IPv4 address.
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a, kMapped, 12) == 0) return blocked_v4(v4_at(a + 12));
  // 64:ff9b::/96 — well-known NAT64 prefix: the translator connects to the embedded IPv4.
  static const unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(a, kNat64, 12) == 0) return blocked_v4(v4_at(a + 12));
  // 64:ff9b:1::/48 — local-use NAT64 (RFC 8215): site-specific, treat as private.
  if (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0 && a[5] == 1)
    return "private";
  // 2002::/16 — 6to4: the relay reaches the IPv4 address in bits 16..47.
  if (a[0] == 0x20 && a[1] == 0x02) return blocked_v4(v4_at(a + 2));
  // 100::/64 — discard-only.
  if (a[0] == 0x01 && std::memcmp(a + 1, kZero, 7) == 0) return "reserved";
  if ((a[0] & 0xfe) == 0xfc) return "private";                     // fc00::/7 unique local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return "link-local";  // fe80::/10
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return "private";     // fec0::/10 site-local
  if (a[0] == 0xff) return "multicast";                            // ff00::/8
  return nullptr;
}

const char* blocked_sockaddr(const sockaddr* sa, std::string& text) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    text = buf;
    return blocked_v4(ntohl(in->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    text = buf;
    return blocked_v6(in6->sin6_addr.s6_addr);
  }
  text = "address family " + std::to_string(sa->sa_family);
  return "non-IP";
}

// ---------------------------------------------------------------------------------------------
// libcurl plumbing

void ensure_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyCleanup {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
struct UrlFree {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};

constexpr size_t kMaxHeaderBytes = 1u << 20;  // all header lines of all responses together

struct Transfer {
  bool allow_private = false;
  // SSRF: the first address refused at connect time.
  bool blocked = false;
  std::string blocked_address;
  const char* blocked_class = nullptr;
  // body
  std::string body;
  size_t max_body = 0;
  bool too_large = false;
  // headers of the latest response
  std::vector<Header> headers;
  size_t header_bytes = 0;
  bool headers_too_large = false;
  // http_stream only: the body goes to these handlers instead of `body`
  const StreamHandlers* stream = nullptr;
  CURL* handle = nullptr;
  bool head_delivered = false;
  bool stopped = false;           // a handler returned false
  size_t streamed = 0;            // body bytes handed over so far
  std::exception_ptr exception;   // thrown by a handler; rethrown once curl is out of the way
};

curl_socket_t on_open_socket(void* userp, curlsocktype purpose, curl_sockaddr* addr) {
  auto* t = static_cast<Transfer*>(userp);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  if (!t->allow_private) {
    std::string text;
    if (const char* cls = blocked_sockaddr(&addr->addr, text)) {
      if (!t->blocked) {
        t->blocked = true;
        t->blocked_address = text;
        t->blocked_class = cls;
      }
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

// Hands the final response head to the stream handler (once). False when it declines.
bool deliver_head(Transfer* t) {
  t->head_delivered = true;
  if (!t->stream->on_head) return true;
  long code = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &code);
  return t->stream->on_head(static_cast<int>(code), t->headers);
}

size_t on_stream_write(Transfer* t, char* data, size_t len) {
  if (len > t->max_body - t->streamed) {
    t->too_large = true;
    return 0;
  }
  t->streamed += len;
  try {
    if (!t->head_delivered && !deliver_head(t)) {
      t->stopped = true;
      return 0;
    }
    if (t->stream->on_data && !t->stream->on_data(std::string_view(data, len))) {
      t->stopped = true;
      return 0;
    }
  } catch (...) {  // must not unwind through libcurl
    t->exception = std::current_exception();
    t->stopped = true;
    return 0;
  }
  return len;
}

size_t on_write(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t len = size * n;
  if (t->stream) return on_stream_write(t, data, len);
  if (len > t->max_body - t->body.size()) {
    t->too_large = true;
    return 0;  // aborts with CURLE_WRITE_ERROR
  }
  t->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > kMaxHeaderBytes) {
    t->headers_too_large = true;
    return 0;
  }
  std::string_view line(data, len);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
    t->headers.clear();  // a new response (after 1xx or a redirect): keep only the last one
    return len;
  }
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    // obs-fold continuation of the previous header
    std::string_view more = trim(line);
    if (!t->headers.empty() && !more.empty()) {
      t->headers.back().second += ' ';
      t->headers.back().second += more;
    }
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return len;  // blank line ends the block
  t->headers.emplace_back(std::string(trim(line.substr(0, colon))),
                          std::string(trim(line.substr(colon + 1))));
  return len;
}

bool has_header(const std::vector<Header>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return true;
  return false;
}

// Replaces every occurrence of `secret` in `s`.
void scrub(std::string& s, std::string_view secret, std::string_view with) {
  if (secret.empty()) return;
  for (size_t p = s.find(secret); p != std::string::npos; p = s.find(secret, p + with.size()))
    s.replace(p, secret.size(), with);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HttpResponse

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> HttpResponse::retry_after() const {
  auto value = header("Retry-After");
  if (!value) return std::nullopt;
  std::string_view v = trim(*value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delta-seconds; absurd values are clamped rather than overflowing
    constexpr int64_t kMaxSeconds = int64_t{100} * 365 * 24 * 3600;
    int64_t secs = 0;
    for (char c : v) {
      secs = secs * 10 + (c - '0');
      if (secs > kMaxSeconds) {
        secs = kMaxSeconds;
        break;
      }
    }
    return std::chrono::milliseconds(secs * 1000);
  }
  // An HTTP date. It must at least look like one (a letter first: a weekday name); libcurl's
  // parser accepts all three formats RFC 9110 requires recipients to accept.
  if (!std::isalpha(static_cast<unsigned char>(v.front()))) return std::nullopt;
  std::string text(v);
  time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == static_cast<time_t>(-1)) return std::nullopt;
  auto target = std::chrono::system_clock::from_time_t(when);
  auto delta =
      std::chrono::duration_cast<std::chrono::milliseconds>(target - std::chrono::system_clock::now());
  if (delta.count() < 0) return std::chrono::milliseconds(0);  // already passed: retry now
  return delta;
}

// ---------------------------------------------------------------------------------------------
// http_request and http_stream share the checks and the option setup below; only the way the
// transfer is driven differs (curl_easy_perform, or a multi loop that can be cancelled).

namespace {

// One prepared transfer: the libcurl handles, and how messages name the request.
struct Prepared {
  std::unique_ptr<CURLU, UrlFree> url;
  std::unique_ptr<curl_slist, SlistFree> list;
  std::unique_ptr<CURL, EasyCleanup> curl;
  std::string where, host, query;  // "METHOD scheme://host[:port]/path"; no query, no password
  char errbuf[CURL_ERROR_SIZE] = {};
};

// Validates the request and sets up an easy handle writing into `t`.
Status prepare(const HttpRequest& req, Transfer& t, Prepared& p) {
  static const char* const kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  if (std::none_of(std::begin(kMethods), std::end(kMethods),
                   [&](const char* m) { return req.method == m; }))
    return InvalidArgument("http: unsupported method \"" + req.method.substr(0, 16) +
                           "\" (GET, POST, PUT, PATCH or DELETE)");
  if (req.connect_timeout.count() <= 0 || req.timeout.count() <= 0)
    return InvalidArgument("http: timeouts must be positive");

  ensure_curl();

  // --- the URL: parsed once, here, so errors can name it without its query or credentials
  p.url.reset(curl_url());
  if (!p.url) return Internal("http: out of memory");
  if (req.url.size() > 8192 || req.url.find_first_of("\r\n") != std::string::npos ||
      curl_url_set(p.url.get(), CURLUPART_URL, req.url.c_str(), 0) != CURLUE_OK)
    return InvalidArgument("http: malformed URL");
  auto part = [&](CURLUPart which) -> std::string {
    char* cp = nullptr;
    std::string out;
    if (curl_url_get(p.url.get(), which, &cp, 0) == CURLUE_OK && cp) out = cp;
    curl_free(cp);
    return out;
  };
  const std::string scheme = part(CURLUPART_SCHEME);
  p.host = part(CURLUPART_HOST);
  if (scheme != "http" && scheme != "https")
    return InvalidArgument("http: only http:// and https:// URLs are allowed");
  if (p.host.empty()) return InvalidArgument("http: the URL has no host");
  if (!part(CURLUPART_USER).empty() || !part(CURLUPART_PASSWORD).empty())
    return InvalidArgument(
        "http: credentials in the URL are not allowed (use basic_user/basic_password)");
  const std::string port = part(CURLUPART_PORT);
  p.query = part(CURLUPART_QUERY);
  p.where = req.method + " " + scheme + "://" + p.host + (port.empty() ? "" : ":" + port) +
            part(CURLUPART_PATH);

  // --- headers
  auto add = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(p.list.get(), line.c_str());
    if (!next) return false;  // the old list is intact and still owned
    (void)p.list.release();
    p.list.reset(next);
    return true;
  };
  for (const auto& [name, value] : req.headers) {
    if (name.empty() || name.find_first_of(std::string_view(":\r\n\0 \t", 6)) != std::string::npos)
      return InvalidArgument("http: invalid header name");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      return InvalidArgument("http: header " + name + " contains CR, LF or NUL");
    // "Name;" is libcurl's way to send an empty value; "Name:" would remove the header.
    if (!add(value.empty() ? name + ";" : name + ": " + value))
      return Internal("http: out of memory");
  }
  // No "Expect: 100-continue" round trip for larger bodies unless the caller asks for it.
  if (!has_header(req.headers, "Expect") && !add("Expect:")) return Internal("http: out of memory");

  p.curl.reset(curl_easy_init());
  if (!p.curl) return Internal("http: curl_easy_init failed");
  CURL* h = p.curl.get();
  t.allow_private = req.allow_private_network;
  t.max_body = req.max_response_bytes;
  t.handle = h;

  curl_easy_setopt(h, CURLOPT_CURLU, p.url.get());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
  // A proxy (also one from http_proxy/https_proxy in the environment) would resolve and
  // connect to the target itself, out of reach of the SSRF check below: none is used.
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, p.errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, req.verify_certificates ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, req.verify_certificates ? 2L : 0L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  if (req.max_response_bytes > 0)  // refuses early when Content-Length already says too much
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(std::min<size_t>(
                         req.max_response_bytes, std::numeric_limits<curl_off_t>::max())));
  if (!has_header(req.headers, "User-Agent"))
    curl_easy_setopt(h, CURLOPT_USERAGENT, "banxway/" BANXWAY_VERSION_STRING);
  if (p.list) curl_easy_setopt(h, CURLOPT_HTTPHEADER, p.list.get());
  if (!req.basic_user.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, req.basic_user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, req.basic_password.c_str());
  }
  const bool with_body =
      !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (with_body) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  return Status::OK();
}

// The Status for a failed transfer (rc != CURLE_OK).
Status transfer_error(CURLcode rc, const HttpRequest& req, const Transfer& t, const Prepared& p) {
  const std::string& where = p.where;
  const std::string& host = p.host;
  if (t.blocked)
    return PermissionDenied("http: refusing to connect to a " + std::string(t.blocked_class) +
                            " address (" + t.blocked_address + ") for " + where);
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return PayloadTooLarge("http: the response to " + where + " exceeds " +
                           std::to_string(req.max_response_bytes) + " bytes");
  if (t.headers_too_large)
    return PayloadTooLarge("http: the response headers from " + where + " exceed " +
                           std::to_string(kMaxHeaderBytes) + " bytes");

  std::string detail = p.errbuf[0] ? std::string(p.errbuf) : std::string(curl_easy_strerror(rc));
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  scrub(detail, req.basic_password, "***");
  if (!p.query.empty()) scrub(detail, p.query, "…");
  auto InvalidArgument_ = [](std::string m) { return InvalidArgument(std::move(m)); };
  auto fail = [&](Status (*make)(std::string), const std::string& what) {
    return make("http: " + where + ": " + what + " (" + detail + ")");
  };
  switch (rc) {
    case CURLE_URL_MALFORMAT:
      return fail(InvalidArgument_, "malformed URL");
    case CURLE_UNSUPPORTED_PROTOCOL:  // a redirect to something other than http/https
      return fail(PermissionDenied, "refusing a redirect to a scheme other than http/https");
    case CURLE_OUT_OF_MEMORY:
      return fail(Internal, "out of memory");
    case CURLE_OPERATION_TIMEDOUT:
      return fail(Unavailable, "timed out");
    case CURLE_COULDNT_RESOLVE_HOST:
      return fail(Unavailable, "cannot resolve " + host);
    case CURLE_COULDNT_CONNECT:
      return fail(Unavailable, "cannot connect to " + host);
    case CURLE_TOO_MANY_REDIRECTS:
      return fail(Unavailable, "more than 3 redirects");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return fail(Unavailable, "TLS with " + host + " failed");
    default:
      // reset connections, empty replies, broken framing: a later attempt may succeed
      return fail(Unavailable, "request failed");
  }
}

struct MultiCleanup {
  void operator()(CURLM* m) const noexcept { curl_multi_cleanup(m); }
};

}  // namespace

Result<HttpResponse> http_request(const HttpRequest& req) {
  Transfer t;
  Prepared p;
  BX_RETURN_IF_ERROR(prepare(req, t, p));

  CURLcode rc;
  {
    SigpipeBlock no_sigpipe;  // a peer that hangs up mid-TLS must not kill the host
    rc = curl_easy_perform(p.curl.get());
  }

  if (rc == CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(p.curl.get(), CURLINFO_RESPONSE_CODE, &code);
    HttpResponse res;
    res.status = static_cast<int>(code);
    res.headers = std::move(t.headers);
    res.body = std::move(t.body);
    return res;
  }
  return transfer_error(rc, req, t, p);
}

Result<int> http_stream(const HttpRequest& req, const StreamHandlers& handlers) {
  Transfer t;
  t.stream = &handlers;
  Prepared p;
  BX_RETURN_IF_ERROR(prepare(req, t, p));

  // A multi loop rather than curl_easy_perform: the easy interface may sit up to a second in
  // one wait while the peer is quiet, and a cancel must land within 100 ms.
  std::unique_ptr<CURLM, MultiCleanup> multi(curl_multi_init());
  if (!multi) return Internal("http: curl_multi_init failed");
  CURL* h = p.curl.get();
  if (curl_multi_add_handle(multi.get(), h) != CURLM_OK)
    return Internal("http: curl_multi_add_handle failed");
  constexpr int kPollMs = 50;
  CURLcode rc = CURLE_OK;
  bool cancelled = false, multi_failed = false;
  {
    SigpipeBlock no_sigpipe;
    while (true) {
      if (handlers.abort) {
        bool stop = false;
        try {
          stop = handlers.abort();
        } catch (...) {
          t.exception = std::current_exception();
          stop = true;
        }
        if (stop) {
          cancelled = true;
          break;
        }
      }
      int running = 0;
      if (curl_multi_perform(multi.get(), &running) != CURLM_OK) {
        multi_failed = true;
        break;
      }
      if (running == 0) {
        int left = 0;
        rc = CURLE_RECV_ERROR;  // a finished transfer without a DONE message: treat as failed
        while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left))
          if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) rc = msg->data.result;
        break;
      }
      if (curl_multi_poll(multi.get(), nullptr, 0, kPollMs, nullptr) != CURLM_OK) {
        multi_failed = true;
        break;
      }
    }
  }
  curl_multi_remove_handle(multi.get(), h);
  if (t.exception) std::rethrow_exception(t.exception);

  if (cancelled || (t.stopped && !t.too_large))
    return Unavailable("http: " + p.where + ": cancelled");
  if (multi_failed) return Internal("http: " + p.where + ": the curl multi interface failed");
  if (rc != CURLE_OK) return transfer_error(rc, req, t, p);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (!t.head_delivered) {  // a response without a body: the head is all there is
    if (!deliver_head(&t)) return Unavailable("http: " + p.where + ": cancelled");
  }
  return static_cast<int>(code);
}

// ---------------------------------------------------------------------------------------------
// forms

std::string form_encode(const FormFields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    percent_encode_into(out, k, true);
    out += '=';
    percent_encode_into(out, v, true);
  }
  return out;
}

Result<FormFields> form_decode(std::string_view body) {
  FormFields fields;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'
    size_t eq = pair.find('=');
    std::string name, value;
    if (!form_unescape(pair.substr(0, eq), name) ||
        (eq != std::string_view::npos && !form_unescape(pair.substr(eq + 1), value)))
      return InvalidArgument("form: malformed percent-escape");
    fields.emplace_back(std::move(name), std::move(value));
  }
  return fields;
}

std::string url_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  percent_encode_into(out, s, false);
  return out;
}

// ---------------------------------------------------------------------------------------------
// multipart/form-data

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;  // names lower-cased

// Parses `; name=value; name="quoted"` after a media type or disposition. False when malformed.
bool parse_params(std::string_view s, Params& out) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  while (true) {
    skip_ws();
    if (i >= s.size()) return true;
    if (s[i] != ';') return false;
    ++i;
    skip_ws();
    if (i >= s.size()) return true;  // a trailing ';'
    size_t name_start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ';' && s[i] != ' ' && s[i] != '\t') ++i;
    std::string name(s.substr(name_start, i - name_start));
    if (name.empty()) return false;
    for (char& c : name) c = lower_ascii(c);
    skip_ws();
    if (i >= s.size() || s[i] != '=') return false;
    ++i;
    skip_ws();
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        // Only \" and \\ are escapes: browsers send Windows paths with bare backslashes.
        if (c == '\\' && i < s.size() && (s[i] == '"' || s[i] == '\\')) c = s[i++];
        value += c;
      }
      if (!closed) return false;
    } else {
      size_t v_start = i;
      while (i < s.size() && s[i] != ';' && s[i] != ' ' && s[i] != '\t') ++i;
      value = std::string(s.substr(v_start, i - v_start));
    }
    out.emplace_back(std::move(name), std::move(value));
  }
}

const std::string* find_param(const Params& p, std::string_view name) {
  for (const auto& [k, v] : p)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace

Result<FormFields> multipart_decode(std::string_view content_type, std::string_view body,
                                    size_t max_fields) {
  auto bad = [](const std::string& why) { return InvalidArgument("multipart: " + why); };
  size_t semi = content_type.find(';');
  std::string_view media = trim(content_type.substr(0, semi));
  if (!iequals(media, "multipart/form-data")) return bad("Content-Type is not multipart/form-data");
  Params params;
  if (semi == std::string_view::npos || !parse_params(content_type.substr(semi), params))
    return bad("malformed Content-Type parameters");
  const std::string* boundary = find_param(params, "boundary");
  if (!boundary || boundary->empty()) return bad("Content-Type has no boundary");
  if (boundary->size() > 200 || boundary->find_first_of(std::string_view("\r\n\0", 3)) !=
                                    std::string::npos)
    return bad("invalid boundary");

  const std::string delim = "--" + *boundary;
  const std::string crlf_delim = "\r\n" + delim;
  size_t pos;  // start of a delimiter ("--boundary")
  if (body.substr(0, delim.size()) == delim) {
    pos = 0;
  } else {
    pos = body.find(crlf_delim);  // after a preamble
    if (pos == std::string_view::npos) return bad("the boundary does not occur in the body");
    pos += 2;
  }

  FormFields fields;
  while (true) {
    size_t p = pos + delim.size();
    if (body.substr(p, 2) == "--") return fields;  // close delimiter; the epilogue is ignored
    while (p < body.size() && (body[p] == ' ' || body[p] == '\t')) ++p;  // transport padding
    if (body.substr(p, 2) != "\r\n") return bad("a boundary line is not followed by CRLF");
    p += 2;
    if (fields.size() >= max_fields)
      return bad("more than " + std::to_string(max_fields) + " parts");

    // part headers, up to an empty line (which may come at once: a part without headers)
    std::string_view head;
    size_t content_start;
    if (body.substr(p, 2) == "\r\n") {
      content_start = p + 2;
    } else {
      size_t end = body.find("\r\n\r\n", p);
      if (end == std::string_view::npos) return bad("unterminated part headers");
      head = body.substr(p, end - p);
      content_start = end + 4;
    }
    size_t next = body.find(crlf_delim, content_start);
    if (next == std::string_view::npos) return bad("missing closing boundary");
    std::string_view content = body.substr(content_start, next - content_start);

    // Content-Disposition: form-data; name="..."
    std::string disposition;
    bool have_disposition = false;
    {
      size_t q = 0;
      std::vector<std::string> lines;
      while (q < head.size()) {
        size_t e = head.find("\r\n", q);
        if (e == std::string_view::npos) e = head.size();
        std::string_view line = head.substr(q, e - q);
        q = e + 2;
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && !lines.empty())
          lines.back() += " " + std::string(trim(line));
        else
          lines.emplace_back(line);
      }
      for (const auto& line : lines) {
        size_t colon = line.find(':');
        if (colon == std::string::npos) return bad("malformed part header");
        if (iequals(trim(std::string_view(line).substr(0, colon)), "Content-Disposition")) {
          if (have_disposition) return bad("a part has two Content-Disposition headers");
          have_disposition = true;
          disposition = std::string(trim(std::string_view(line).substr(colon + 1)));
        }
      }
    }
    if (!have_disposition) return bad("a part has no Content-Disposition");
    size_t dsemi = disposition.find(';');
    if (!iequals(trim(std::string_view(disposition).substr(0, dsemi)), "form-data"))
      return bad("a part's disposition is not form-data");
    Params dparams;
    if (dsemi == std::string::npos ||
        !parse_params(std::string_view(disposition).substr(dsemi), dparams))
      return bad("malformed Content-Disposition");
    const std::string* name = find_param(dparams, "name");
    if (!name) return bad("a part has no name");
    fields.emplace_back(*name, std::string(content));
    pos = next + 2;
  }
}

// ---------------------------------------------------------------------------------------------

bool is_private_address(std::string_view ip) {
  std::string s(ip);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (size_t pct = s.find('%'); pct != std::string::npos) s.resize(pct);  // zone id
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return blocked_v4(v4_at(buf)) != nullptr;
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return blocked_v6(buf) != nullptr;
  return true;  // not an address literal: fail closed
}

namespace {
std::string lower_copy(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

std::optional<UrlParts> parse_url(std::string_view url) {
  UrlParts u;
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  u.scheme = lower_copy(url.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(colon + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  u.rest = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
  if (!u.rest.empty() && u.rest[0] != '/') u.rest = "/" + u.rest;
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    u.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else if (size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c + 1);
  }
  u.host = lower_copy(host);
  while (!u.host.empty() && u.host.back() == '.') u.host.pop_back();
  if (u.host.empty()) return std::nullopt;
  if (port.empty()) {
    u.port = u.scheme == "https" ? 443 : 80;
  } else {
    int p = 0;
    for (char ch : port) {
      if (ch < '0' || ch > '9' || p > 65535) return std::nullopt;
      p = p * 10 + (ch - '0');
    }
    if (p <= 0 || p > 65535) return std::nullopt;
    u.port = p;
  }
  return u;
}

bool host_under(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  return host.size() > domain.size() + 1 && host.ends_with(domain) &&
         host[host.size() - domain.size() - 1] == '.';
}

bool credentials_allowed(std::string_view url, std::string_view api_base,
                         std::initializer_list<std::string_view> domains) {
  auto u = parse_url(url);
  if (!u || !u->userinfo.empty()) return false;
  if (auto b = parse_url(api_base);
      b && b->scheme == u->scheme && b->host == u->host && b->port == u->port)
    return true;
  if (u->scheme != "https") return false;  // never credentials in clear text elsewhere
  for (std::string_view d : domains)
    if (host_under(u->host, d)) return true;
  return false;
}

}  // namespace banxway::net
