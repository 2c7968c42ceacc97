// banxway-server: libbanxway behind a small REST surface (docs/SERVER.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <string>

#include "app.hpp"
#include "banxway/engine.hpp"
#include "config.hpp"
#include "core/log.hpp"
#include "envelope.hpp"
#include "http_server.hpp"
#include "realtime.hpp"
#include "ws_session.hpp"

namespace {

using bxserver::ServerConfig;

// SQLite will not create missing directories, and the default URL points into ./var.
void ensure_sqlite_directory(const std::string& url) {
  constexpr std::string_view prefix = "sqlite://";
  if (url.compare(0, prefix.size(), prefix) != 0) return;
  std::string path = url.substr(prefix.size());
  path = path.substr(0, path.find('?'));
  if (path.empty() || path.front() == ':') return;  // sqlite::memory: and friends
  auto dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
}

std::string base_url(const std::string& host, unsigned short port) {
  bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// First start on an empty database: create an organization and show its admin key once, so
// the server is usable without any other tool.
bool bootstrap_if_empty(banxway::Engine& engine, const std::string& url) {
  auto empty = engine.empty();
  if (!empty.ok()) {
    spdlog::error("cannot inspect the database: {}", empty.status().to_string());
    return false;
  }
  if (!*empty) return true;
  auto b = engine.bootstrap("Default organization");
  if (!b.ok()) {
    spdlog::error("cannot create the first organization: {}", b.status().to_string());
    return false;
  }
  std::string_view org_id = "?";
  if (bxserver::find_member(b->org_json, "id", org_id) && org_id.size() >= 2 &&
      org_id.front() == '"')
    org_id = org_id.substr(1, org_id.size() - 2);
  std::printf(
      "banxway-server: empty database; created \"Default organization\" (id %.*s)\n"
      "admin API key (shown once, keep it safe): %s\n"
      "try: curl -H 'Authorization: Bearer %s' %s/api/v1/communications/threads\n",
      static_cast<int>(org_id.size()), org_id.data(), b->api_key.c_str(), b->api_key.c_str(),
      url.c_str());
  std::fflush(stdout);
  return true;
}

banxway::EngineOptions engine_options(const ServerConfig& cfg) {
  banxway::EngineOptions o;
  o.database_url = cfg.database_url;
  o.jwt_secret = cfg.jwt_secret;
  o.jwt_audience = cfg.jwt_audience;
  o.jwt_issuer = cfg.jwt_issuer;
  // Every worker may hold a connection; one more keeps health checks from queueing behind them.
  o.db_pool_size = cfg.workers + 1;
  o.max_params_bytes = cfg.max_body;
  o.max_document_bytes = cfg.max_upload;
  o.blob_inline_max_bytes = cfg.blob_inline_max;
  o.watch_mail = cfg.mail_watch;
  o.webhooks_allow_private_network = cfg.allow_private_targets;
  o.webhooks_allow_http = cfg.allow_private_targets;
  o.workflow_webhooks_allow_private_network = cfg.allow_private_targets;
  // Call transcription (docs/MESSAGING.md): an OpenAI-compatible endpoint, when configured.
  if (const char* v = std::getenv("TRANSCRIPTION_URL")) o.transcription_url = v;
  if (const char* v = std::getenv("TRANSCRIPTION_API_KEY"))
    o.transcription_api_key = v;
  else if (const char* w = std::getenv("OPENAI_API_KEY"))
    o.transcription_api_key = w;
  if (const char* v = std::getenv("TRANSCRIPTION_MODEL")) o.transcription_model = v;
  // AI provider for drafts and message analysis (docs/AI.md): AI_PROVIDER=openai|anthropic.
  auto env = [](const char* k) -> std::string {
    const char* v = std::getenv(k);
    return v ? v : "";
  };
  o.ai_provider = env("AI_PROVIDER");
  o.ai_base_url = env("AI_BASE_URL");
  o.ai_model = env("AI_MODEL");
  o.ai_api_key = env("AI_API_KEY");
  if (o.ai_api_key.empty())
    o.ai_api_key = env(o.ai_provider == "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY");
  if (o.ai_base_url.empty() && o.ai_provider == "openai") o.ai_base_url = "https://api.openai.com/v1";
  if (o.ai_base_url.empty() && o.ai_provider == "anthropic") o.ai_base_url = "https://api.anthropic.com";
  auto env_int = [&](const char* k, auto fallback) {
    std::string v = env(k);
    long long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty()) return fallback;
    if (ec != std::errc() || end != v.data() + v.size() || n < 0) {
      spdlog::warn("{}={} is not a non-negative integer; using {}", k, v, fallback);
      return fallback;
    }
    return static_cast<decltype(fallback)>(n);
  };
  o.ai_monthly_token_budget = env_int("AI_MONTHLY_TOKEN_BUDGET", int64_t{0});
  o.ai_first_token_timeout_ms = env_int("AI_FIRST_TOKEN_TIMEOUT_MS", o.ai_first_token_timeout_ms);
  o.ai_total_timeout_ms = env_int("AI_TOTAL_TIMEOUT_MS", o.ai_total_timeout_ms);
  o.ai_log_traffic = env("AI_LOG_TRAFFIC") == "1";
  o.ai_analyze_messages = env("AI_ANALYZE_MESSAGES") != "0";
  o.ai_allow_private_network = cfg.allow_private_targets || env("AI_ALLOW_PRIVATE_NETWORK") == "1";
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // stdout carries only the start-up lines people and scripts read; all logging goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("banxway"));

  bxserver::load_dotenv(".env");
  ServerConfig cfg;
  auto parsed = bxserver::load_config(argc, argv, cfg);
  if (!parsed.ok) {
    std::fprintf(stderr, "banxway-server: %s\n", parsed.error.c_str());
    return 2;
  }
  if (parsed.exit_now) return 0;
  if (auto st = banxway::log::configure({cfg.log_level, cfg.log_json}); !st.ok()) {
    std::fprintf(stderr, "banxway-server: %s\n", st.message().c_str());
    return 2;
  }

  ensure_sqlite_directory(cfg.database_url);
  auto engine = banxway::Engine::open(engine_options(cfg));
  if (!engine.ok()) {
    spdlog::error("cannot open the engine on {}: {}", cfg.database_url,
                  engine.status().to_string());
    return 1;
  }

  bxserver::App app(**engine, cfg);
  for (auto op : app.missing_operations())
    spdlog::warn("route operation {} is not provided by this engine; its route answers 404", op);

  bxserver::HttpServer server(app, cfg);
  if (auto err = server.bind(); !err.empty()) {
    spdlog::error("{}", err);
    return 1;
  }
  std::string url = base_url(cfg.host, server.port());
  if (!bootstrap_if_empty(**engine, url)) return 1;

  // Live events, presence and typing for /ws (docs/REALTIME.md). Started before the job
  // workers: it installs the presence probe their notification e-mails consult.
  bxserver::Hub hub(**engine);
  if (auto st = hub.start(); !st.ok()) {
    spdlog::error("cannot start the live event feed: {}", st.to_string());
    return 1;
  }
  bxserver::WsOptions ws;
  ws.max_queue = cfg.ws_max_queue;
  ws.idle_timeout_s = cfg.ws_idle_timeout_s;
  server.set_realtime(&hub, engine->get(), ws);

  // Outbox sends, timers and (with mail watching) the IMAP watchers run beside the HTTP server;
  // job_workers 0 leaves all of them to another process sharing the database.
  if (cfg.job_workers > 0) {
    if (auto st = (*engine)->start(cfg.job_workers); !st.ok()) {
      spdlog::error("cannot start the job workers: {}", st.to_string());
      return 1;
    }
  }
  std::printf("banxway-server listening on %s\n", url.c_str());
  std::fflush(stdout);
  server.run();
  (*engine)->stop();  // a send in progress finishes and is recorded
  hub.stop();         // after the job workers: they may still ask it who is online
  spdlog::info("banxway-server stopped");
  return 0;
}
