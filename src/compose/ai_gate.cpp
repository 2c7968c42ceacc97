#include "compose/ai_gate.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "core/json.hpp"
#include "services/common.hpp"

namespace banxway::compose {

Status open_provider(api::Core& core) {
  const EngineOptions& o = core.opts;
  if (o.ai_provider.empty()) return Status();
  ai::ProviderConfig cfg;
  cfg.kind = o.ai_provider;
  cfg.base_url = o.ai_base_url;
  cfg.api_key = o.ai_api_key;
  cfg.model = o.ai_model;
  cfg.connect_timeout = std::chrono::milliseconds(o.ai_connect_timeout_ms);
  cfg.first_token_timeout = std::chrono::milliseconds(o.ai_first_token_timeout_ms);
  cfg.total_timeout = std::chrono::milliseconds(o.ai_total_timeout_ms);
  cfg.max_attempts = o.ai_max_attempts;
  cfg.allow_private_network = o.ai_allow_private_network;
  cfg.log_traffic = o.ai_log_traffic;
  auto p = ai::make_provider(std::move(cfg));
  if (!p.ok()) return InvalidArgument("ai provider: " + p.status().message());
  core.ai = std::shared_ptr<const ai::Provider>(std::move(p).value());
  return Status();
}

std::string month_of(std::string_view iso_time) {
  return std::string(iso_time.substr(0, std::min<size_t>(7, iso_time.size())));
}

Result<Budget> read_budget(store::Conn& c, api::Core& core, const std::string& org,
                           const std::string& month) {
  Budget b;
  b.limit = core.opts.ai_monthly_token_budget;
  BX_ASSIGN_OR_RETURN(auto s, c.query("SELECT settings FROM organizations WHERE id = ?", {org}));
  if (!s.empty()) {
    json::Document d;
    if (json::parse(s[0].text(0), &d).ok() && d.IsObject())
      if (auto v = json::get_int(d, "ai_monthly_token_budget")) b.limit = *v;
  }
  BX_ASSIGN_OR_RETURN(auto u, c.query("SELECT COALESCE(SUM(input_tokens + output_tokens), 0) "
                                      "FROM ai_usage WHERE org_id = ? AND month = ?",
                                      {org, month}));
  b.used = u.empty() ? 0 : u[0].int64(0);
  return b;
}

namespace {

Status record(api::Core& core, const Principal& who, const CallPurpose& what,
              const std::string& now, const ai::Completion* done, std::string_view status,
              const std::string& error, int64_t duration_ms) {
  const auto& cfg = core.ai->config();
  return core.db->transaction([&](store::Conn& c) -> Status {
    return c
        .query(
            "INSERT INTO ai_usage (id, org_id, month, feature, actor, provider, model, "
            "input_tokens, output_tokens, estimated, status, error, attempts, duration_ms, "
            "first_token_ms, subject_type, subject_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {core.ids->next(), who.org_id, month_of(now), what.feature,
             who.actor_type + ":" + who.actor_id, cfg.kind,
             done && !done->model.empty() ? done->model : cfg.model,
             done ? done->usage.input_tokens : int64_t{0},
             done ? done->usage.output_tokens : int64_t{0},
             done ? done->usage.estimated : false, std::string(status),
             error.empty() ? store::Value() : store::Value(error.substr(0, 500)),
             done ? done->attempts : 1, duration_ms,
             done ? store::Value(static_cast<int64_t>(done->first_token.count()))
                  : store::Value(),
             what.subject_type.empty() ? store::Value() : store::Value(what.subject_type),
             what.subject_id.empty() ? store::Value() : store::Value(what.subject_id), now})
        .status();
  });
}

}  // namespace

Result<ai::Completion> call_model(api::Core& core, const Principal& who, const CallPurpose& what,
                                  const ai::ChatRequest& req, const ai::OnDelta& on_delta,
                                  const std::atomic<bool>* cancel) {
  if (!core.ai) return Unavailable("no AI provider is configured");
  std::string now = format_time(core.clock->now());
  std::string month = month_of(now);
  {
    // A read outside any transaction: the budget is a soft limit (calls running at the same
    // time may overshoot it by what they use).
    services::DbReader reader(*core.db);
    BX_ASSIGN_OR_RETURN(Budget b, read_budget(reader, core, who.org_id, month));
    if (b.spent())
      return Status(Code::rate_limited, "the organization's monthly AI budget of " + std::to_string(b.limit) +
                         " tokens is spent (" + std::to_string(b.used) + " used in " + month +
                         "); raise settings.ai_monthly_token_budget or wait for next month");
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = core.ai->chat(req, on_delta, cancel);
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count();
  Status st;
  if (r.ok()) {
    st = record(core, who, what, now, &*r, "ok", "", ms);
  } else {
    bool cancelled = cancel && cancel->load();
    st = record(core, who, what, now, nullptr, cancelled ? "cancelled" : "error",
                r.status().message(), ms);
  }
  if (!st.ok()) spdlog::warn("ai usage for {} not recorded: {}", what.feature, st.message());
  return r;
}

}  // namespace banxway::compose
