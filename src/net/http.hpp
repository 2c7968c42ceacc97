// One HTTP(S) client for every provider adapter (Exotel, Meta, Twilio, later the LLM APIs), on
// libcurl. Synchronous: one call = one request on the calling (worker) thread.
//
// Safety rules it enforces (docs/MESSAGING.md, "Outbound HTTP"):
//   * only http/https, no redirects followed unless asked (and then only to http/https);
//   * SSRF: the address actually connected to (after DNS, checked at connect time so DNS
//     rebinding cannot slip through) must not be loopback, private (RFC 1918, fc00::/7),
//     link-local (169.254/16, fe80::/10), CGNAT (100.64/10), multicast, unspecified or the
//     cloud metadata address — unless the request says allow_private_network (tests, or an
//     account explicitly configured for an on-premises gateway);
//   * bounded: connect and total timeouts, and a cap on the response body;
//   * credentials never in URLs or logs: Basic auth goes in its own fields.
//
// Implementation notes: a fresh libcurl handle per call (no connection reuse across requests,
// so no connection outlives the SSRF decision it was made under); proxies are disabled (also
// those from http_proxy/https_proxy), since a proxy would connect on our behalf out of reach of
// the check; curl's automatic "Expect: 100-continue" is suppressed unless a header sets Expect.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "banxway/status.hpp"

namespace banxway::net {

using Header = std::pair<std::string, std::string>;
using FormFields = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET POST PUT PATCH DELETE
  std::string url;             // http:// or https:// only; no user:password@ (invalid_argument)
  std::vector<Header> headers;  // names without ':' or blanks, values without CR/LF/NUL
  std::string body;
  std::string basic_user, basic_password;  // HTTP Basic when basic_user is set
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // whole request
  // (both timeouts must be positive: invalid_argument otherwise)
  size_t max_response_bytes = 8u << 20;  // a larger body fails with payload_too_large
  bool allow_private_network = false;    // see the SSRF rule above
  bool follow_redirects = false;         // at most 3, http/https only, same SSRF checks
  bool verify_certificates = true;
};

struct HttpResponse {
  int status = 0;
  std::vector<Header> headers;  // names as received; the final response's only (after 1xx or
                                // followed redirects)
  std::string body;
  /// First header with this name (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
  /// Retry-After as a delay (delta-seconds or an HTTP date relative to now), if present.
  /// A date already past gives zero; anything else unparseable (negative, fractional, junk)
  /// gives nullopt.
  std::optional<std::chrono::milliseconds> retry_after() const;
};

/// Performs the request. Any HTTP status is a successful Result (the caller interprets it).
/// Errors: invalid_argument (bad URL/scheme/method), permission_denied (blocked by the SSRF
/// rule; the message names the address class, not the credentials), unavailable (DNS,
/// connect, TLS, timeout, connection reset, more than 3 redirects), payload_too_large (response
/// over the cap). A redirect to a scheme other than http/https is permission_denied. Messages
/// name the request as "METHOD scheme://host[:port]/path" — never the query or the password.
Result<HttpResponse> http_request(const HttpRequest& req);

/// Callbacks for http_stream. All optional; they run on the calling thread.
struct StreamHandlers {
  /// The final response head (status, headers), once, before any body. False aborts.
  std::function<bool(int, const std::vector<Header>&)> on_head;
  /// Each piece of the body as it arrives. False aborts.
  std::function<bool(std::string_view)> on_data;
  /// Polled at least every 100 ms, also while the peer is silent; true aborts (so another
  /// thread can cancel through a flag this reads).
  std::function<bool()> abort;
};

/// Like http_request, but the body is handed to `h` as it arrives instead of being collected.
/// Returns the final status. Same URL, SSRF, timeout and size rules as http_request
/// (max_response_bytes bounds the total streamed bytes: payload_too_large). A transfer stopped
/// by any handler returns unavailable "... cancelled". An exception thrown by a handler is
/// rethrown after the transfer has been torn down.
Result<int> http_stream(const HttpRequest& req, const StreamHandlers& h);

/// application/x-www-form-urlencoded encoding (RFC 3986 unreserved kept, space as %20... or
/// '+' as browsers do: '+' here) and decoding. Decoding rejects malformed % escapes.
std::string form_encode(const FormFields& fields);
Result<FormFields> form_decode(std::string_view body);
/// Percent-encoding of one URL path segment or query value.
std::string url_escape(std::string_view s);

/// multipart/form-data (RFC 7578) text fields; file parts are returned with their content as
/// the value. `content_type` is the request's Content-Type (the boundary comes from it).
/// Bounded: at most max_fields parts. invalid_argument when malformed. Delimiter and header
/// lines must end in CRLF (RFC 2046); a preamble and an epilogue are ignored; every part needs
/// Content-Disposition: form-data with a name.
Result<FormFields> multipart_decode(std::string_view content_type, std::string_view body,
                                    size_t max_fields = 1000);

/// An http(s) URL taken apart: enough to compare hosts and to spot userinfo.
struct UrlParts {
  std::string scheme;    // lower-case: "http" or "https"
  std::string userinfo;  // "" when none
  std::string host;      // lower-case, without IPv6 brackets and without a trailing dot
  int port = 0;          // explicit, or the scheme's default
  std::string rest;      // path + query, at least "/"
};
/// nullopt for anything but a well-formed http:// or https:// URL.
std::optional<UrlParts> parse_url(std::string_view url);
/// Whether `host` is `domain` or a subdomain of it ("a.b.example" under "b.example").
bool host_under(std::string_view host, std::string_view domain);
/// Whether a provider adapter may send the account's credentials to `url`: never with
/// userinfo; the API's own origin (same scheme, host and port as `api_base`); otherwise only
/// https on one of `domains` (or under them).
bool credentials_allowed(std::string_view url, std::string_view api_base,
                         std::initializer_list<std::string_view> domains);

/// Whether an IP address literal (v4 or v6) is in a range the SSRF rule blocks.
/// IPv4: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16,
/// 198.18/15, 224/4 and 240/4. IPv6: ::/96 (::, ::1, IPv4-compatible), fc00::/7, fe80::/10,
/// fec0::/10, ff00::/8, 100::/64, 64:ff9b:1::/48; IPv4-mapped (::ffff:a.b.c.d), NAT64
/// (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by their embedded IPv4 address.
/// Brackets and a zone id ("%eth0") are accepted. Not an address literal: true (fail closed).
bool is_private_address(std::string_view ip);

}  // namespace banxway::net
