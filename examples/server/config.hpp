// banxway-server configuration: flags over environment over `.env` over defaults.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bxserver {

struct ServerConfig {
  std::string database_url = "sqlite://./var/banxway.db";
  std::string host = "127.0.0.1";
  unsigned short port = 8000;
  int io_threads = 2;
  int workers = 4;
  int job_workers = 2;      // background job threads (outbox, timers); 0 = none
  bool mail_watch = true;   // IMAP watchers for the email channel accounts
  // Outgoing webhooks and workflow webhook steps may target private or loopback addresses and
  // plain http (tests, receivers on the same network). Off by default.
  bool allow_private_targets = false;
  std::string public_url;   // e.g. https://hub.example.com: the URL providers call (Twilio signs it)
  std::size_t max_body = 1 << 20;     // bytes
  std::size_t max_header = 8 << 10;   // bytes, request line + all header fields
  std::size_t max_upload = 25 << 20;  // bytes, a shipment document (its route's body limit)
  std::size_t blob_inline_max = 64 << 10;  // bytes: smaller blobs live in the database
  int max_connections = 10000;        // open HTTP + WebSocket connections; 0 = no limit
  int request_timeout_s = 60;         // from a request's first byte to its response written
  int header_timeout_s = 30;          // from a request's first byte to its last
  int idle_timeout_s = 60;            // keep-alive connection waiting for a new request
  int ws_max_queue = 1024;            // WebSocket frames queued per client (docs/REALTIME.md)
  int ws_idle_timeout_s = 60;         // WebSocket without traffic; pings at half of it
  int shutdown_grace_s = 10;          // in-flight requests get this long after SIGTERM
  bool access_log = true;
  double rate_limit = 0;   // requests per second per caller; 0 = off
  double rate_burst = 0;   // bucket size; 0 = twice the rate
  double rate_limit_ip = 0;  // requests per second per client address (unauthenticated); 0 = off
  double rate_burst_ip = 0;  // bucket size; 0 = twice the rate
  enum class MetricsMode { off, public_, token } metrics = MetricsMode::public_;
  std::string log_level = "info";  // trace debug info warn error critical off
  bool log_json = false;           // one JSON object per log line

  std::string jwt_secret;
  std::string jwt_audience;
  std::string jwt_issuer;

  // Empty: no CORS headers. {"*"}: any origin.
  std::vector<std::string> cors_origins;
};

/// Reads `path` (KEY=VALUE lines, `#` comments, optional `export `, optional quotes) and sets
/// each variable that the real environment does not already define. A missing file is fine.
void load_dotenv(const std::string& path);

/// Splits "a, b ,c" into {"a","b","c"}, dropping empty entries.
std::vector<std::string> split_list(std::string_view s);

struct ParseOutcome {
  bool ok = true;
  bool exit_now = false;  // --help / --version were handled
  std::string error;      // when !ok
};

/// Fills `cfg` from the environment, then from argv. Prints --help/--version itself.
ParseOutcome load_config(int argc, char** argv, ServerConfig& cfg);

}  // namespace bxserver
