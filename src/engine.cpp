// Engine: opens storage, holds the registry and the authenticator, dispatches operations.
#include "banxway/engine.hpp"

#include <spdlog/spdlog.h>

#include "engine_impl.hpp"
#include "api/auth.hpp"
#include "api/context.hpp"
#include "api/registry.hpp"
#include "core/json.hpp"
#include "pipeline/ingest.hpp"
#include "services/orgs.hpp"
#include "services/messaging.hpp"
#include "services/notifications.hpp"
#include "services/sla.hpp"
#include "services/webhooks.hpp"
#include "workflow/runner.hpp"
#include "compose/ai_gate.hpp"
#include "compose/message_analysis.hpp"
#include "services/outbox.hpp"
#include "services/shipments.hpp"

namespace banxway {

std::string_view role_name(Role r) noexcept {
  switch (r) {
    case Role::viewer: return "viewer";
    case Role::agent: return "agent";
    case Role::manager: return "manager";
    case Role::admin: return "admin";
  }
  return "viewer";
}

std::optional<Role> role_from_name(std::string_view s) noexcept {
  if (s == "viewer") return Role::viewer;
  if (s == "agent") return Role::agent;
  if (s == "manager") return Role::manager;
  if (s == "admin") return Role::admin;
  return std::nullopt;
}

const char* version() noexcept { return BANXWAY_VERSION_STRING; }

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
// Workers run handlers against this engine's storage: they must be joined before it goes.
Engine::~Engine() {
  if (impl_ && impl_->feed) impl_->feed->stop();
  if (impl_ && impl_->dispatch) impl_->dispatch->stop();
  if (impl_ && impl_->mail) impl_->mail->stop();
  if (impl_ && impl_->jobs) impl_->jobs->stop();
  if (impl_ && impl_->core.db) impl_->core.db->set_commit_observer(nullptr);
}

Result<std::unique_ptr<Engine>> Engine::open(EngineOptions opts) {
  auto impl = std::make_unique<Impl>();
  if (opts.database_url.empty()) opts.database_url = "sqlite://./var/banxway.db";
  if (!opts.clock) opts.clock = std::make_shared<SystemClock>();
  if (!opts.ids) opts.ids = std::make_shared<Uuid7Source>(opts.clock);
  store::DbOptions dbo;
  dbo.readers = opts.db_pool_size;
  BX_ASSIGN_OR_RETURN(impl->core.db, store::open(opts.database_url, dbo));
  impl->core.blobs = std::make_unique<store::Blobs>(
      store::default_blob_store(opts.database_url, opts.blob_dir), opts.blob_inline_max_bytes);
  impl->core.clock = opts.clock;
  impl->core.ids = opts.ids;
  impl->core.opts = std::move(opts);
  impl->auth = std::make_unique<api::Authenticator>(impl->core);
  impl->jobs = std::make_unique<runtime::JobQueue>(impl->core);
  impl->feed = std::make_unique<runtime::EventFeed>(impl->core);
  impl->dispatch = std::make_unique<runtime::EventDispatcher>(impl->core);
  impl->core.workflows = std::make_shared<workflow::Cache>();
  impl->dispatch->add(std::string(workflow::kConsumer), workflow::on_events);
  impl->dispatch->add(std::string(services::kSlaConsumer), services::sla_on_events);
  impl->dispatch->add("webhooks", services::webhooks_on_events);
  impl->dispatch->add(std::string(compose::kAnalysisConsumer), compose::analysis_on_events);
  BX_RETURN_IF_ERROR(compose::open_provider(impl->core));
  impl->core.db->set_commit_observer(
      [feed = impl->feed.get(), dispatch = impl->dispatch.get()](
          const std::vector<std::string>& orgs) {
        feed->on_commit(orgs);
        dispatch->on_commit(orgs);
      });
  api::Core* core = &impl->core;
  impl->jobs->register_handler(std::string(services::kEmailSendJob),
                               [core](const runtime::Job& j) {
                                 return services::run_email_send(*core, j);
                               });
  auto handle = [core](runtime::JobResult (*fn)(api::Core&, const runtime::Job&)) {
    return [core, fn](const runtime::Job& j) { return fn(*core, j); };
  };
  impl->jobs->register_handler(std::string(services::kWebhookDrainJob),
                               handle(&services::run_webhook_drain));
  impl->jobs->register_handler(std::string(services::kMessagingSendJob),
                               handle(&services::run_messaging_send));
  impl->jobs->register_handler(std::string(services::kCallStartJob),
                               handle(&services::run_call_start));
  impl->jobs->register_handler(std::string(services::kMessagingPollJob),
                               handle(&services::run_messaging_poll));
  impl->jobs->register_handler(std::string(services::kTranscribeJob),
                               handle(&services::run_transcribe));
  impl->jobs->register_handler(std::string(services::kNotificationEmailJob),
                               handle(&services::run_notification_email));
  workflow::register_jobs(*impl->jobs, impl->core);
  services::register_sla_jobs(*impl->jobs, impl->core);
  services::register_webhook_jobs(*impl->jobs, impl->core);
  compose::register_analysis_jobs(*impl->jobs, impl->core);
  impl->mail = std::make_unique<runtime::MailWatcher>(
      impl->core, "mail:" + impl->core.ids->next());
  for (const auto& op : api::registry().all()) {
    impl->infos.push_back(OperationInfo{op->name, op->summary,
                                        std::string(api::permission_name(op->permission)),
                                        op->schema.text(), op->is_list, op->is_write});
  }
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<Principal> Engine::authenticate(std::string_view credential) {
  return impl_->auth->authenticate(credential);
}

Result<CallResult> Engine::call(std::string_view op_name, std::string_view params_json,
                                std::string_view credential) {
  // Resolve the operation first so an unknown name is reported as such, then authenticate.
  if (!api::registry().find(op_name))
    return NotFound("unknown operation: " + std::string(op_name.substr(0, 100)));
  BX_ASSIGN_OR_RETURN(Principal who, authenticate(credential));
  return call(op_name, params_json, who);
}

Result<CallResult> Engine::call(std::string_view op_name, std::string_view params_json,
                                const Principal& who) {
  return call_streaming(op_name, params_json, who, StreamSink{});
}

Result<CallResult> Engine::call_streaming(std::string_view op_name, std::string_view params_json,
                                          const Principal& who, const StreamSink& sink,
                                          std::atomic<bool>* cancel) {
  const api::Operation* op = api::registry().find(op_name);
  if (!op) return NotFound("unknown operation: " + std::string(op_name.substr(0, 100)));
  if (who.org_id.empty()) return Unauthenticated("no organization for this caller");
  if (!api::role_allows(who.role, op->permission))
    return PermissionDenied("role " + std::string(role_name(who.role)) + " may not call " +
                            op->name + " (needs " +
                            std::string(api::permission_name(op->permission)) + ")");
  json::Document params;
  std::string_view text = params_json.empty() ? std::string_view("{}") : params_json;
  BX_RETURN_IF_ERROR(json::parse(text, &params, {32, impl_->core.opts.max_params_bytes}));
  if (!params.IsObject()) return InvalidArgument("params must be a JSON object");
  BX_RETURN_IF_ERROR(op->schema.validate(params, params.GetAllocator()));
  api::Ctx ctx(impl_->core, who, op->name);
  if (sink) ctx.set_stream(&sink, cancel);
  Result<std::string> r = [&]() -> Result<std::string> {
    try {
      return op->handler(ctx, params);
    } catch (const std::exception& e) {
      spdlog::error("operation {} threw: {}", op->name, e.what());
      return Internal("internal error in " + op->name);
    }
  }();
  if (!r.ok()) {
    if (r.status().code() == Code::internal)
      spdlog::error("operation {} failed: {}", op->name, r.status().message());
    return r.status();
  }
  if (op->name.starts_with("apikeys.") || op->name.starts_with("users."))
    impl_->auth->invalidate();  // roles, activity or keys may have changed
  return CallResult{std::move(r).value()};
}

namespace api {
std::string ingest_result_json(const pipeline::IngestResult& r);
}

Result<std::string> Engine::ingest_email(const Principal& who, std::string_view raw,
                                         std::string_view channel_account_id) {
  if (!api::role_allows(who.role, api::Permission::write))
    return PermissionDenied("role " + std::string(role_name(who.role)) + " may not ingest mail");
  api::Ctx ctx(impl_->core, who, "inbound.email");
  pipeline::IngestOptions o;
  if (!channel_account_id.empty()) o.channel_account_id = std::string(channel_account_id);
  BX_ASSIGN_OR_RETURN(auto r, pipeline::ingest_email(ctx, raw, o));
  return api::ingest_result_json(r);
}

std::vector<Result<std::string>> Engine::ingest_email_batch(
    const Principal& who, const std::vector<std::string_view>& raws, size_t batch) {
  std::vector<Result<std::string>> out;
  if (!api::role_allows(who.role, api::Permission::write)) {
    for (size_t i = 0; i < raws.size(); ++i)
      out.emplace_back(PermissionDenied("role " + std::string(role_name(who.role)) +
                                        " may not ingest mail"));
    return out;
  }
  api::Ctx ctx(impl_->core, who, "inbound.email");
  for (auto& r : pipeline::ingest_email_batch(ctx, raws, batch)) {
    if (r.ok())
      out.emplace_back(api::ingest_result_json(*r));
    else
      out.emplace_back(r.status());
  }
  return out;
}

Result<WebhookResponse> Engine::receive_webhook(const WebhookRequest& req) {
  try {
    return services::receive_webhook(impl_->core, req);
  } catch (const std::exception& e) {
    spdlog::error("webhook {}/{} threw: {}", req.provider, req.channel, e.what());
    return Internal("internal error receiving the webhook");
  }
}

Result<std::string> Engine::upload_document(const Principal& who, std::string_view params_json,
                                            std::string_view bytes) {
  if (who.org_id.empty()) return Unauthenticated("no organization for this caller");
  if (!api::role_allows(who.role, api::Permission::write))
    return PermissionDenied("role " + std::string(role_name(who.role)) +
                            " may not upload documents (needs write)");
  api::Ctx ctx(impl_->core, who, "shipments.document_upload");
  try {
    return services::shipments_document_upload(ctx, params_json, bytes);
  } catch (const std::exception& e) {
    spdlog::error("document upload threw: {}", e.what());
    return Internal("internal error uploading the document");
  }
}

Result<Download> Engine::download_document(const Principal& who, std::string_view id) {
  if (who.org_id.empty()) return Unauthenticated("no organization for this caller");
  if (!api::role_allows(who.role, api::Permission::read))
    return PermissionDenied("role " + std::string(role_name(who.role)) + " may not read documents");
  api::Ctx ctx(impl_->core, who, "shipments.document_download");
  BX_ASSIGN_OR_RETURN(auto d, services::shipments_document_download(ctx, id));
  return Download{std::move(d.content_type), std::move(d.filename), std::move(d.bytes)};
}

Result<std::string> Engine::stats() {
  auto& db = *impl_->core.db;
  // From the per-day counts the message triggers keep (migrations/*/0008), not from messages:
  // no scan, and no index on messages for this alone (0015 dropped it).
  BX_ASSIGN_OR_RETURN(auto m, db.query("SELECT channel, direction, CAST(SUM(count) AS BIGINT) FROM "
                                       "message_counts_daily GROUP BY channel, direction "
                                       "HAVING SUM(count) > 0 ORDER BY channel, direction"));
  BX_ASSIGN_OR_RETURN(auto j, db.query("SELECT kind, status, COUNT(*) FROM jobs "
                                       "GROUP BY kind, status ORDER BY kind, status"));
  std::string out = "{\"messages\":[";
  for (size_t i = 0; i < m.size(); ++i) {
    if (i) out += ',';
    out += "{\"channel\":" + json::quote(m[i].text(0)) + ",\"direction\":" +
           json::quote(m[i].text(1)) + ",\"count\":" + std::to_string(m[i].int64(2)) + "}";
  }
  out += "],\"jobs\":[";
  for (size_t i = 0; i < j.size(); ++i) {
    if (i) out += ',';
    out += "{\"kind\":" + json::quote(j[i].text(0)) + ",\"status\":" + json::quote(j[i].text(1)) +
           ",\"count\":" + std::to_string(j[i].int64(2)) + "}";
  }
  return out + "]}";
}

Result<std::string> Engine::events_poll(const Principal& who, int64_t after, int limit) {
  std::string params = "{\"after\":" + std::to_string(after) + ",\"limit\":" +
                       std::to_string(limit) + "}";
  BX_ASSIGN_OR_RETURN(CallResult r, call("events.list", params, who));
  // events.list returns {"items": [...], "next_cursor": …}; the poll API wants the array.
  json::Document d;
  BX_RETURN_IF_ERROR(json::parse(r.data, &d, {64, SIZE_MAX}));
  return json::stringify(d["items"]);
}

Result<Bootstrap> Engine::bootstrap(std::string_view org_name) {
  return services::bootstrap_org(impl_->core, org_name);
}

Result<bool> Engine::empty() {
  auto r = impl_->core.db->query("SELECT COUNT(*) FROM organizations", {});
  if (!r.ok()) return r.status();
  return r->rows[0].int64(0) == 0;
}

Result<Principal> Engine::system_principal(std::string_view org_id, std::string_view label) {
  if (!is_uuid(org_id)) return InvalidArgument("org id: expected a UUID");
  std::string id(org_id);
  for (auto& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto r = impl_->core.db->query("SELECT id FROM organizations WHERE id = ?", {id});
  if (!r.ok()) return r.status();
  if (r->empty()) return NotFound("organization " + id + " not found");
  Principal p;
  p.org_id = id;
  p.role = Role::admin;
  p.actor_type = "system";
  p.actor_id = std::string(label);
  return p;
}

Status Engine::start(int workers) {
  BX_RETURN_IF_ERROR(impl_->jobs->start(workers));
  BX_RETURN_IF_ERROR(impl_->dispatch->start());
  if (impl_->core.opts.watch_mail) impl_->mail->start();
  return Status();
}
void Engine::stop() {
  impl_->mail->stop();
  impl_->dispatch->stop();
  impl_->jobs->stop();
}
// Host-stepped: hand new events to their consumers first (they enqueue jobs), then run jobs.
Result<int> Engine::run_pending(int max) {
  BX_ASSIGN_OR_RETURN(int events, impl_->dispatch->run_pending());
  BX_ASSIGN_OR_RETURN(int jobs, impl_->jobs->run_pending(max));
  return events + jobs;
}

Status Engine::live_start(LiveHandler handler) { return impl_->feed->start(std::move(handler)); }
void Engine::live_stop() { impl_->feed->stop(); }
Result<int64_t> Engine::live_watch(std::string_view org_id) {
  if (!is_uuid(org_id)) return InvalidArgument("org_id: not a UUID");
  return impl_->feed->watch(std::string(org_id));
}
void Engine::live_unwatch(std::string_view org_id) { impl_->feed->unwatch(std::string(org_id)); }
Result<LiveEvents> Engine::live_read(std::string_view org_id, int64_t after, int64_t upto,
                                     int limit) {
  if (!is_uuid(org_id)) return InvalidArgument("org_id: not a UUID");
  return impl_->feed->read(std::string(org_id), after, upto, limit);
}
Status Engine::live_signal(std::string_view payload) { return impl_->feed->signal(payload); }
void Engine::set_presence_probe(
    std::function<bool(const std::string& org_id, const std::string& user_id)> probe) {
  impl_->core.user_online = std::move(probe);
}

Status Engine::ping() { return impl_->core.db->ping(); }
Result<int> Engine::schema_version() { return impl_->core.db->schema_version(); }
std::vector<OperationInfo> Engine::operations() const { return impl_->infos; }
const OperationInfo* Engine::operation(std::string_view name) const {
  for (const auto& i : impl_->infos)
    if (i.name == name) return &i;
  return nullptr;
}

}  // namespace banxway
