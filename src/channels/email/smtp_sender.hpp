// SMTP submission of a built message (mime_builder.hpp) through libcurl. One call = one
// connection: EHLO, STARTTLS or implicit TLS as configured, AUTH when credentials are set and
// the server offers it, MAIL FROM, RCPT TO per recipient, DATA, QUIT.
//
// Errors tell the caller what to do with the message (docs/EMAIL.md, "Sending"):
//   unavailable        transient (no connection, timeout, TLS failure, 4xx reply): retry later
//   unauthenticated    the server refused the credentials (535 and friends): fix the account
//   invalid_argument   permanent 5xx reply (bad recipient, message refused) or bad input
//   permission_denied  permanent 5xx policy refusal (5.7.x, 554): mark failed
// Messages carry the server's reply text and never the password.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"

namespace banxway::email {

struct SmtpConfig {
  std::string host;
  int port = 587;
  /// plain: no TLS (loopback/test only); starttls: STARTTLS required (no fallback to plain);
  /// tls: TLS from the first byte (smtps://, port 465).
  enum class Security { plain, starttls, tls } security = Security::starttls;
  bool verify_certificates = true;  // chain + host name; off for tests only
  std::string username, password;   // empty username: no AUTH
  /// Bounds the connect and every wait for a server reply; a transfer that moves nothing for
  /// this long is aborted too.
  std::chrono::seconds timeout{60};
  std::string helo_domain;  // the EHLO name; empty: libcurl's default
};

struct SendResult {
  std::string server_reply;  // the final reply, e.g. "250 2.0.0 Ok: queued as ..."
};

/// Sends `rfc5322` (CRLF line ends; no Bcc header) to `recipients` (bare addresses, no <>).
/// envelope_from empty = null reverse-path "<>". Addresses with CR/LF, '<', '>', spaces or no
/// '@' are rejected before any connection is made (invalid_argument).
Result<SendResult> send_email(const SmtpConfig& cfg, const std::string& envelope_from,
                              const std::vector<std::string>& recipients, std::string_view rfc5322);

}  // namespace banxway::email
