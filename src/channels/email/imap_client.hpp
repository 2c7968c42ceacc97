// ImapClient: a synchronous IMAP4rev1 client (libetpan for the protocol, OpenSSL for TLS) for
// incremental, read-only mailbox polling. One instance per connection, owned by one worker
// thread; only stop() may be called from another thread.
//
// Read-only by construction: folders are opened with EXAMINE and bodies fetched with
// BODY.PEEK[], so the client never sets \Seen, and it has no command that stores flags,
// expunges, copies or moves. Cursor semantics and the test bed: docs/EMAIL.md, "IMAP".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"
#include "core/env.hpp"

namespace banxway::email {

struct ImapConfig {
  std::string host;
  int port = 993;
  /// plain: no TLS (loopback/test only); starttls: plain connect, then STARTTLS is required
  /// (never falls back to plain); tls: TLS from the first byte (port 993).
  enum class Security { plain, starttls, tls } security = Security::tls;
  /// Verify the server's certificate chain (system trust store plus ca_file) and that it names
  /// `host` (DNS name or IP address). Turning this off is for tests only.
  bool verify_certificates = true;
  std::string username, password;
  /// Bound on connect, TLS handshake and on waiting for each server response.
  std::chrono::seconds timeout{30};
  /// Extra trust anchors (PEM file), e.g. a company CA; empty = system trust store only.
  std::string ca_file;
  /// An IDLE is ended and re-issued after this long: servers may drop clients idle for 30 min
  /// (RFC 2177), so 25 min keeps well inside that.
  std::chrono::seconds idle_refresh{25 * 60};
};

/// What EXAMINE reported. A UIDVALIDITY different from the stored cursor's means every stored
/// UID for the folder is void (see resume_point).
struct FolderState {
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 0;  // 0 when the server did not say
  uint32_t exists = 0;
};

/// Flag set on a message larger than fetch_after's max_bytes (its raw is then empty).
inline constexpr std::string_view kTooLargeFlag = "banxway:too-large";

struct FetchedMessage {
  uint32_t uid = 0;
  std::string raw;                 // the full RFC 5322 message exactly as the server sent it
  std::vector<std::string> flags;  // "\\Seen", "\\Flagged", keywords, possibly kTooLargeFlag
  std::optional<TimePoint> internal_date;
  uint32_t size = 0;  // RFC822.SIZE as reported by the server
};

enum class ImapErrorKind { auth_failed, unreachable, tls, protocol, timeout };
std::string_view imap_error_kind_name(ImapErrorKind k) noexcept;
/// The kind of an error Status returned by ImapClient (carried in its details as
/// {"imap_error":"<kind>"}); nullopt for OK or foreign statuses.
std::optional<ImapErrorKind> imap_error_kind(const Status& s);

/// Per-folder progress, stored by the caller after a page is persisted.
struct FolderCursor {
  uint32_t uidvalidity = 0;  // 0 = never synced
  uint32_t last_uid = 0;     // highest UID already persisted
};
struct ResumePoint {
  uint32_t after_uid = 0;  // pass to fetch_after
  /// True when stored UIDs are void (first sync or UIDVALIDITY changed): the caller starts over
  /// from UID 0, keeps what it stored, and dedupes by Message-ID; then stores the new uidvalidity.
  bool resync = false;
};
ResumePoint resume_point(const FolderCursor& cursor, const FolderState& folder) noexcept;

class ImapClient {
 public:
  /// Connects, secures the connection as configured, and logs in. Errors: unauthenticated
  /// (auth_failed), unavailable (unreachable, timeout, tls), internal (protocol); the message
  /// names the kind and never contains the password.
  static Result<std::unique_ptr<ImapClient>> connect(const ImapConfig& cfg);

  ~ImapClient();
  ImapClient(const ImapClient&) = delete;
  ImapClient& operator=(const ImapClient&) = delete;

  /// EXAMINE (read-only SELECT) `folder` (its IMAP name, e.g. "INBOX"; modified UTF-7 for
  /// non-ASCII names). A folder that does not exist gives not_found.
  Result<FolderState> examine(std::string_view folder);

  /// The messages with UID > after_uid in the examined folder, ascending, at most `max`, each
  /// with BODY.PEEK[] + FLAGS + INTERNALDATE. Messages over max_bytes come back with an empty
  /// raw and kTooLargeFlag among their flags. Empty when there is nothing newer.
  Result<std::vector<FetchedMessage>> fetch_after(uint32_t after_uid, size_t max,
                                                  size_t max_bytes = 50u << 20);

  /// Whether the server advertised IDLE (RFC 2177).
  bool supports_idle() const;

  /// Waits for new mail in the examined folder: IDLE (re-issued every idle_refresh) when
  /// supported, otherwise a sleep followed by NOOP. Returns true when the server reported new
  /// messages (EXISTS/RECENT), false when `wait` passed or stop() interrupted the wait.
  Result<bool> idle(std::chrono::seconds wait);

  /// Thread-safe, async-signal-safe: makes the current idle() return promptly, or the next one
  /// return at once if none is running. One stop() ends one idle().
  void stop();

  /// LOGOUT and close. The client is unusable afterwards (as after any connection error).
  Status logout();

 private:
  struct Impl;
  explicit ImapClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace banxway::email
