// send_email(): one libcurl easy transfer per message. libcurl does the SMTP dialogue,
// dot-stuffing and the final "CRLF.CRLF"; we supply the envelope and the bytes, and turn the
// outcome (CURLcode + last reply code + the reply text seen through the debug callback) into a
// Status the outbound worker can act on (retry / mark failed / fix credentials).
#include "channels/email/smtp_sender.hpp"
#include "core/sigpipe.hpp"

#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <mutex>

namespace banxway::email {
namespace {

void ensure_curl() {
  // curl_global_init is not thread-safe; doing it once here keeps curl_easy_init from doing it
  // implicitly on whichever worker thread sends first.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyCleanup {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

// Envelope addresses go into "MAIL FROM:<…>" / "RCPT TO:<…>" verbatim: anything that could end
// the command or the bracket is refused before a connection is made.
Status check_envelope_address(const char* what, std::string_view a) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument(std::string("smtp: ") + what + " " + why,
                           std::string("{\"field\":\"") + what + "\"}");
  };
  if (a.empty()) return bad("is empty");
  if (a.size() > 254) return bad("is longer than 254 bytes");
  for (unsigned char c : a) {
    if (c == '\r' || c == '\n') return bad("contains CR/LF");
    if (c == '<' || c == '>') return bad("contains < or >");
    if (c <= 0x20 || c == 0x7f) return bad("contains a space or control character");
  }
  if (a.find('@') == std::string_view::npos) return bad("has no @");
  return Status::OK();
}

// The reply text of the server, assembled from the response lines libcurl hands to the debug
// callback (CURLINFO_HEADER_IN). Only incoming lines are kept: the outgoing side would include
// the AUTH exchange, i.e. the password.
struct Dialogue {
  std::string current;  // lines of the reply being received
  std::string
      last_ok;  // the last complete 2xx/3xx reply other than QUIT's 221 (lines joined by "; ")
  std::string error;  // the last complete 4xx/5xx reply
  long error_code = 0;
  bool authenticated = false;  // the server answered 235 (authentication successful)
};

long reply_code(std::string_view line) {
  if (line.size() < 3) return 0;
  for (int i = 0; i < 3; ++i)
    if (line[i] < '0' || line[i] > '9') return 0;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* userp) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* d = static_cast<Dialogue*>(userp);
  std::string_view chunk(data, size);
  while (!chunk.empty()) {
    size_t nl = chunk.find('\n');
    std::string_view line = chunk.substr(0, nl);
    chunk.remove_prefix(nl == std::string_view::npos ? chunk.size() : nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (line.empty()) continue;
    if (d->current.size() < 4096) {
      if (!d->current.empty()) d->current += "; ";
      d->current += line;
    }
    // "250 text" (or a bare "250") ends a reply; "250-text" continues it.
    // After a refusal libcurl still sends QUIT, whose "221 Bye" must not hide the refusal:
    // errors and successes are kept apart.
    if (line.size() >= 3 && (line.size() == 3 || line[3] == ' ')) {
      long code = reply_code(line);
      if (code == 235) d->authenticated = true;
      if (code >= 400) {
        d->error = std::move(d->current);
        d->error_code = code;
      } else if (code != 221) {
        // A refusal the dialogue recovered from (EHLO 502 -> HELO) is no longer the outcome.
        d->last_ok = std::move(d->current);
        d->error.clear();
        d->error_code = 0;
      }
      d->current.clear();
    }
  }
  return 0;
}

struct Upload {
  std::string_view data;
  size_t pos = 0;
  // With credentials configured, the message goes out only over an authenticated session:
  // libcurl skips AUTH silently when the server offers none, so the body is withheld (the
  // transfer aborted before its first byte) unless the server said 235.
  const Dialogue* dialogue = nullptr;
  bool require_auth = false;
  bool refused_unauthenticated = false;
};

size_t on_read(char* buf, size_t size, size_t nitems, void* userp) {
  auto* u = static_cast<Upload*>(userp);
  if (u->require_auth && u->pos == 0 && !u->dialogue->authenticated) {
    u->refused_unauthenticated = true;
    return CURL_READFUNC_ABORT;
  }
  size_t n = std::min(size * nitems, u->data.size() - u->pos);
  std::memcpy(buf, u->data.data() + u->pos, n);
  u->pos += n;
  return n;
}

std::string scrub(std::string s, const std::string& secret) {
  if (secret.empty()) return s;
  for (size_t p; (p = s.find(secret)) != std::string::npos;) s.replace(p, secret.size(), "***");
  return s;
}

bool is_loopback(std::string_view host) {
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

Status failure(Code code, const std::string& kind, long reply_code, const std::string& text) {
  std::string details = "{\"smtp_error\":\"" + kind + "\"";
  if (reply_code > 0) details += ",\"smtp_code\":" + std::to_string(reply_code);
  details += "}";
  return Status(code, "smtp " + kind + ": " + text, details);
}

}  // namespace

Result<SendResult> send_email(const SmtpConfig& cfg, const std::string& envelope_from,
                              const std::vector<std::string>& recipients,
                              std::string_view rfc5322) {
  if (cfg.host.empty() || cfg.host.find_first_of("/@?#\r\n \t") != std::string::npos)
    return InvalidArgument("smtp: host is empty or malformed", "{\"field\":\"host\"}");
  if (cfg.port <= 0 || cfg.port > 65535)
    return InvalidArgument("smtp: port out of range", "{\"field\":\"port\"}");
  for (unsigned char c : cfg.helo_domain)
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '[' || c == ']' || c == ':'))
      return InvalidArgument("smtp: helo_domain is not a host name", "{\"field\":\"helo_domain\"}");
  // AUTH over an unencrypted connection would put the password on the wire; `plain` exists for
  // loopback test servers, so credentials with it are refused for any other host.
  if (cfg.security == SmtpConfig::Security::plain && !cfg.username.empty() &&
      !is_loopback(cfg.host))
    return InvalidArgument(
        "smtp: credentials over an unencrypted connection are only allowed to a "
        "loopback host; use starttls or tls",
        "{\"field\":\"security\"}");
  if (!envelope_from.empty())
    BX_RETURN_IF_ERROR(check_envelope_address("envelope_from", envelope_from));
  if (recipients.empty())
    return InvalidArgument("smtp: no recipients", "{\"field\":\"recipients\"}");
  for (const auto& r : recipients) BX_RETURN_IF_ERROR(check_envelope_address("recipient", r));
  if (rfc5322.empty()) return InvalidArgument("smtp: empty message", "{\"field\":\"message\"}");

  ensure_curl();
  std::unique_ptr<CURL, EasyCleanup> curl(curl_easy_init());
  if (!curl) return Internal("smtp: curl_easy_init failed");
  CURL* h = curl.get();

  const bool ipv6 = cfg.host.find(':') != std::string::npos && cfg.host.front() != '[';
  std::string url =
      std::string(cfg.security == SmtpConfig::Security::tls ? "smtps://" : "smtp://") +
      (ipv6 ? "[" + cfg.host + "]" : cfg.host) + ":" + std::to_string(cfg.port) + "/" +
      cfg.helo_domain;  // the URL path is libcurl's EHLO name

  std::string from = "<" + envelope_from + ">";  // "<>" = null reverse-path (bounces)
  curl_slist* rcpt_raw = nullptr;
  for (const auto& r : recipients) {
    curl_slist* next = curl_slist_append(rcpt_raw, ("<" + r + ">").c_str());
    if (!next) {
      curl_slist_free_all(rcpt_raw);
      return Internal("smtp: out of memory");
    }
    rcpt_raw = next;
  }
  std::unique_ptr<curl_slist, SlistFree> rcpt(rcpt_raw);

  Dialogue dialogue;
  Upload upload{rfc5322};
  upload.dialogue = &dialogue;
  upload.require_auth = !cfg.username.empty();
  char errbuf[CURL_ERROR_SIZE] = {0};
  const long timeout = static_cast<long>(cfg.timeout.count() > 0 ? cfg.timeout.count() : 60);

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");  // never follow into anything else
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);                 // worker threads: no SIGALRM
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USE_SSL,
                   cfg.security == SmtpConfig::Security::starttls
                       ? static_cast<long>(CURLUSESSL_ALL)
                       : static_cast<long>(CURLUSESSL_NONE));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, cfg.verify_certificates ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, cfg.verify_certificates ? 2L : 0L);
  if (!cfg.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, cfg.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, cfg.password.c_str());
  }
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  // Lets libcurl announce SIZE= so an oversized message is refused before it is uploaded.
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(rfc5322.size()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
  curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
  // No overall CURLOPT_TIMEOUT (large attachments on slow links are legitimate); a transfer
  // that stalls below 1 byte/s for `timeout` is aborted instead.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, timeout);
  // The debug callback is the only way libcurl exposes the servers' reply text; VERBOSE only
  // routes it there (nothing is printed while a DEBUGFUNCTION is set).
  curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(h, CURLOPT_DEBUGDATA, &dialogue);
  curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);

  CURLcode rc;
  {
    SigpipeBlock no_sigpipe;  // a server that hangs up mid-TLS must not kill the host
    rc = curl_easy_perform(h);
  }
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (upload.refused_unauthenticated)
    return failure(Code::unauthenticated, "auth_failed", 0,
                   cfg.host + ":" + std::to_string(cfg.port) +
                       ": credentials are configured but the server did not authenticate the "
                       "session (no AUTH offered); the message was not sent");
  if (rc == CURLE_OK && (code == 0 || (code >= 200 && code < 300)))
    return SendResult{scrub(dialogue.last_ok, cfg.password)};
  // The refusing reply decides, not whatever came last (QUIT's 221).
  if (dialogue.error_code >= 400) code = dialogue.error_code;
  std::string reply = scrub(dialogue.error, cfg.password);

  std::string detail =
      scrub(errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc)), cfg.password);
  std::string text = reply.empty() ? detail : detail + " (server: " + reply + ")";
  const std::string where = cfg.host + ":" + std::to_string(cfg.port);

  // Authentication first: libcurl reports a refused AUTH as LOGIN_DENIED whatever the code.
  if (rc == CURLE_LOGIN_DENIED || code == 535 || code == 534 || code == 530)
    return failure(Code::unauthenticated, "auth_failed", code, where + ": " + text);
  if (code >= 400 && code < 500)
    return failure(Code::unavailable, "transient", code, where + ": " + text);
  if (code >= 500 && code < 600) {
    // Policy refusals (enhanced status 5.7.x, or 554 "transaction failed") vs. everything else
    // permanent (unknown mailbox, syntax, size): both are final for this message.
    bool policy = code == 554 || reply.find(" 5.7.") != std::string::npos;
    return failure(policy ? Code::permission_denied : Code::invalid_argument,
                   policy ? "rejected" : "permanent", code, where + ": " + text);
  }
  switch (rc) {
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return failure(Code::unavailable, "tls", code, where + ": " + text);
    case CURLE_OPERATION_TIMEDOUT:
      return failure(Code::unavailable, "timeout", code, where + ": " + text);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return failure(Code::invalid_argument, "config", code, where + ": " + text);
    default:
      // Refused/reset connections, DNS, unexpected server talk: a later attempt may succeed.
      return failure(Code::unavailable, "unreachable", code, where + ": " + text);
  }
}

}  // namespace banxway::email
