#include "config.hpp"

#include <dlfcn.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "banxway/engine.hpp"
#include "router.hpp"

namespace bxserver {
namespace {

// The shared library whose malloc this process calls (the executable's link order decides:
// libmimalloc.so.2 when built with BANXWAY_MIMALLOC, else libc.so.6).
std::string malloc_library() {
  Dl_info info{};
  void* (*m)(std::size_t) = &std::malloc;
  if (!dladdr(reinterpret_cast<void*>(m), &info) || !info.dli_fname) return "unknown";
  std::string name = info.dli_fname;
  auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// A quoted value keeps everything inside the quotes (including '#'); an unquoted one ends at
// " #" so that `PORT=8000 # dev` works as people expect from other .env readers.
std::string dotenv_value(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) {
    char q = v.front();
    auto end = v.find(q, 1);
    if (end != std::string_view::npos) {
      std::string_view inner = v.substr(1, end - 1);
      if (q == '\'') return std::string(inner);
      std::string out;
      for (size_t i = 0; i < inner.size(); ++i) {
        if (inner[i] == '\\' && i + 1 < inner.size()) {
          char c = inner[++i];
          out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
        } else {
          out += inner[i];
        }
      }
      return out;
    }
  }
  auto hash = v.find(" #");
  if (hash != std::string_view::npos) v = trim(v.substr(0, hash));
  return std::string(v);
}

bool parse_int(std::string_view s, long long min, long long max, long long& out) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < min || v > max) return false;
  out = v;
  return true;
}

// Sizes accept a K/M suffix (binary units) because `--max-body 2M` reads better than bytes.
bool parse_size(std::string_view s, std::size_t& out) {
  std::size_t mult = 1;
  if (!s.empty() && (s.back() == 'K' || s.back() == 'k')) mult = 1 << 10;
  if (!s.empty() && (s.back() == 'M' || s.back() == 'm')) mult = 1 << 20;
  if (mult != 1) s.remove_suffix(1);
  long long v = 0;
  if (!parse_int(s, 1, 1LL << 34, v)) return false;
  out = static_cast<std::size_t>(v) * mult;
  return true;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

void print_help() {
  std::printf(
      "usage: banxway-server [options]\n"
      "\n"
      "  --db URL              database (DATABASE_URL; default sqlite://./var/banxway.db)\n"
      "  --host ADDR           listen address (HOST; default 127.0.0.1)\n"
      "  --port N              listen port, 0 picks a free one (PORT; default 8000)\n"
      "  --threads N           I/O threads (default 2)\n"
      "  --workers N           threads running operations against the database (default 4)\n"
      "  --job-workers N       background job threads: outbox sends, timers; 0 = none (default 2)\n"
      "  --public-url URL      the server's public base URL, as providers call it (PUBLIC_URL)\n"
      "  --no-mail-watch       do not fetch mail of email channel accounts (IMAP IDLE/poll)\n"
      "  --max-body SIZE       request body limit, e.g. 1M or 65536 (default 1M)\n"
      "  --max-header SIZE     request line + headers limit (default 8K)\n"
      "  --max-upload SIZE     shipment document upload limit (default 25M)\n"
      "  --blob-inline-max SIZE  blobs up to SIZE (raw messages, small attachments) are kept in\n"
      "                        the database, larger ones as files; 0 = all files (default 64K)\n"
      "  --max-connections N   open connections at most, 0 = no limit (default 10000)\n"
      "  --request-timeout S   seconds from a request's first byte to its answer (default 60)\n"
      "  --header-timeout S    seconds to receive a whole request once it starts (default 30)\n"
      "  --idle-timeout S      seconds a keep-alive connection may wait idle (default 60)\n"
      "  --ws-max-queue N      WebSocket frames queued per client before it is cut off (default "
      "1024)\n"
      "  --ws-idle-timeout S   WebSocket closed after S seconds without traffic; pinged at S/2 "
      "(default 60)\n"
      "  --shutdown-grace S    seconds in-flight requests get after SIGTERM (default 10)\n"
      "  --cors-origins LIST   comma-separated origins or * (CORS_ORIGINS)\n"
      "  --no-access-log       do not log one line per request\n"
      "  --allow-private-targets  outgoing webhooks and workflow webhook steps may call\n"
      "                        private/loopback addresses and plain http (tests, on-premises)\n"
      "  --rate-limit N        requests per second per caller, 0 = off (RATE_LIMIT)\n"
      "  --rate-burst N        burst size per caller (default 2 x rate)\n"
      "  --rate-limit-ip N     requests per second per client address for unauthenticated\n"
      "                        requests, webhooks and failed logins, 0 = off (RATE_LIMIT_IP)\n"
      "  --rate-burst-ip N     burst size per address (default 2 x rate)\n"
      "  --metrics MODE        GET /metrics: off, public or token (admin credential) (default "
      "public)\n"
      "  --list-routes         print the route table (METHOD PATH TARGET) and exit\n"
      "  --log-level LEVEL     trace debug info warn error critical off (LOG_LEVEL)\n"
      "  --log-json            log lines as JSON objects (LOG_FORMAT=json)\n"
      "  --version, --help\n"
      "\n"
      "Environment: DATABASE_URL HOST PORT SUPABASE_JWT_SECRET|JWT_SECRET JWT_AUDIENCE\n"
      "JWT_ISSUER CORS_ORIGINS; a .env file in the working directory fills unset variables.\n");
}

struct Args {
  int argc;
  char** argv;
  int i = 1;
  std::string error;

  // Accepts `--name value` and `--name=value`; returns false when argv[i] is not --name.
  bool take(std::string_view name, std::string& value) {
    std::string_view a = argv[i];
    if (a.substr(0, name.size()) != name) return false;
    if (a.size() == name.size()) {
      if (i + 1 >= argc) {
        error = std::string(name) + " needs a value";
        return true;
      }
      value = argv[++i];
      return true;
    }
    if (a[name.size()] != '=') return false;
    value = std::string(a.substr(name.size() + 1));
    return true;
  }
};

}  // namespace

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    std::string_view part = trim(s.substr(0, comma));
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

void load_dotenv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return;
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    if (l.substr(0, 7) == "export ") l = trim(l.substr(7));
    auto eq = l.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string key(trim(l.substr(0, eq)));
    std::string value = dotenv_value(l.substr(eq + 1));
    ::setenv(key.c_str(), value.c_str(), /*overwrite=*/0);  // the real environment wins
  }
}

ParseOutcome load_config(int argc, char** argv, ServerConfig& cfg) {
  ParseOutcome out;
  long long n = 0;

  if (auto v = env("DATABASE_URL")) cfg.database_url = v;
  if (auto v = env("PUBLIC_URL")) cfg.public_url = v;
  if (auto v = env("HOST")) cfg.host = v;
  if (auto v = env("PORT")) {
    if (!parse_int(v, 0, 65535, n)) return {false, false, "PORT must be a number 0-65535"};
    cfg.port = static_cast<unsigned short>(n);
  }
  if (auto v = env("SUPABASE_JWT_SECRET"))
    cfg.jwt_secret = v;
  else if (auto w = env("JWT_SECRET"))
    cfg.jwt_secret = w;
  if (auto v = env("JWT_AUDIENCE")) cfg.jwt_audience = v;
  if (auto v = env("JWT_ISSUER")) cfg.jwt_issuer = v;
  if (auto v = env("CORS_ORIGINS")) cfg.cors_origins = split_list(v);
  if (auto v = env("LOG_LEVEL")) cfg.log_level = v;
  if (auto v = env("RATE_LIMIT")) {
    if (!parse_int(v, 0, 1000000, n))
      return {false, false, "RATE_LIMIT must be a number 0-1000000"};
    cfg.rate_limit = static_cast<double>(n);
  }
  if (auto v = env("RATE_LIMIT_IP")) {
    if (!parse_int(v, 0, 1000000, n))
      return {false, false, "RATE_LIMIT_IP must be a number 0-1000000"};
    cfg.rate_limit_ip = static_cast<double>(n);
  }
  if (auto v = env("LOG_FORMAT")) cfg.log_json = std::string_view(v) == "json";

  Args a{argc, argv, 1, {}};
  for (; a.i < argc; ++a.i) {
    std::string_view arg = argv[a.i];
    std::string v;
    auto want_int = [&](const char* flag, long long min, long long max, auto& field) {
      if (!a.error.empty()) return;
      if (!parse_int(v, min, max, n)) {
        a.error = std::string(flag) + ": expected a number " + std::to_string(min) + "-" +
                  std::to_string(max) + ", got '" + v + "'";
        return;
      }
      field = static_cast<std::remove_reference_t<decltype(field)>>(n);
    };
    auto want_size = [&](const char* flag, std::size_t& field) {
      if (a.error.empty() && !parse_size(v, field))
        a.error = std::string(flag) + ": expected a size like 65536, 64K or 1M, got '" + v + "'";
    };
    if (arg == "--help" || arg == "-h") {
      print_help();
      return {true, true, {}};
    } else if (arg == "--version") {
      std::printf("banxway-server %s\nmalloc: %s\n", banxway::version(), malloc_library().c_str());
      return {true, true, {}};
    } else if (arg == "--no-access-log") {
      cfg.access_log = false;
    } else if (arg == "--no-mail-watch") {
      cfg.mail_watch = false;
    } else if (arg == "--allow-private-targets") {
      cfg.allow_private_targets = true;
    } else if (arg == "--log-json") {
      cfg.log_json = true;
    } else if (a.take("--rate-limit", v)) {
      want_int("--rate-limit", 0, 1000000, cfg.rate_limit);
    } else if (a.take("--rate-burst-ip", v)) {
      want_int("--rate-burst-ip", 0, 10000000, cfg.rate_burst_ip);
    } else if (a.take("--rate-limit-ip", v)) {
      want_int("--rate-limit-ip", 0, 1000000, cfg.rate_limit_ip);
    } else if (a.take("--rate-burst", v)) {
      want_int("--rate-burst", 0, 10000000, cfg.rate_burst);
    } else if (arg == "--list-routes") {
      for (const auto& r : Router().routes())
        for (const auto& e : r.methods)
          std::printf("%.*s %.*s\n", static_cast<int>(method_name(e.method).size()),
                      method_name(e.method).data(), static_cast<int>(r.path.size()), r.path.data());
      return {true, true, {}};
    } else if (a.take("--metrics", v)) {
      if (v == "off")
        cfg.metrics = ServerConfig::MetricsMode::off;
      else if (v == "public")
        cfg.metrics = ServerConfig::MetricsMode::public_;
      else if (v == "token")
        cfg.metrics = ServerConfig::MetricsMode::token;
      else
        a.error = "--metrics: expected off, public or token, got '" + v + "'";
    } else if (a.take("--blob-inline-max", v)) {
      if (v == "0")
        cfg.blob_inline_max = 0;
      else
        want_size("--blob-inline-max", cfg.blob_inline_max);
    } else if (a.take("--max-upload", v)) {
      want_size("--max-upload", cfg.max_upload);
    } else if (a.take("--max-connections", v)) {
      want_int("--max-connections", 0, 1000000, cfg.max_connections);
    } else if (a.take("--request-timeout", v)) {
      want_int("--request-timeout", 1, 86400, cfg.request_timeout_s);
    } else if (a.take("--log-level", v)) {
      cfg.log_level = v;
    } else if (a.take("--db", v)) {
      cfg.database_url = v;
    } else if (a.take("--host", v)) {
      cfg.host = v;
    } else if (a.take("--port", v)) {
      want_int("--port", 0, 65535, cfg.port);
    } else if (a.take("--threads", v)) {
      want_int("--threads", 1, 256, cfg.io_threads);
    } else if (a.take("--workers", v)) {
      want_int("--workers", 1, 1024, cfg.workers);
    } else if (a.take("--public-url", v)) {
      cfg.public_url = v;
    } else if (a.take("--job-workers", v)) {
      want_int("--job-workers", 0, 64, cfg.job_workers);
    } else if (a.take("--max-body", v)) {
      want_size("--max-body", cfg.max_body);
    } else if (a.take("--max-header", v)) {
      want_size("--max-header", cfg.max_header);
    } else if (a.take("--header-timeout", v)) {
      want_int("--header-timeout", 1, 3600, cfg.header_timeout_s);
    } else if (a.take("--idle-timeout", v)) {
      want_int("--idle-timeout", 1, 86400, cfg.idle_timeout_s);
    } else if (a.take("--ws-max-queue", v)) {
      want_int("--ws-max-queue", 16, 1 << 20, cfg.ws_max_queue);
    } else if (a.take("--ws-idle-timeout", v)) {
      want_int("--ws-idle-timeout", 2, 86400, cfg.ws_idle_timeout_s);
    } else if (a.take("--shutdown-grace", v)) {
      want_int("--shutdown-grace", 0, 3600, cfg.shutdown_grace_s);
    } else if (a.take("--cors-origins", v)) {
      cfg.cors_origins = split_list(v);
    } else {
      a.error = "unknown option '" + std::string(arg) + "' (see --help)";
    }
    if (!a.error.empty()) return {false, false, a.error};
  }
  return out;
}

}  // namespace bxserver
