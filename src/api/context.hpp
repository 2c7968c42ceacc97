// What an operation handler sees: the engine's core services, the caller, and helpers for the
// write path (one transaction with an event row and an audit row).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/engine.hpp"
#include "core/env.hpp"
#include "core/json.hpp"
#include "store/blob_store.hpp"
#include "store/db.hpp"

namespace banxway::workflow {
class Cache;
}
namespace banxway::ai {
class Provider;
}

namespace banxway::api {

enum class Permission { read, write, remove, users_admin };
std::string_view permission_name(Permission p);
bool role_allows(Role r, Permission p);

struct Core {
  std::unique_ptr<store::Db> db;
  std::unique_ptr<store::Blobs> blobs;
  std::shared_ptr<Clock> clock;
  std::shared_ptr<IdSource> ids;
  EngineOptions opts;
  /// Whether a user has a live connection right now (set by the host through
  /// Engine::set_presence_probe; null means nobody is known to be online).
  std::function<bool(const std::string& org_id, const std::string& user_id)> user_online;
  /// Compiled workflows (workflow/runner.hpp), created with the engine.
  std::shared_ptr<workflow::Cache> workflows;
  /// The configured AI provider (EngineOptions::ai_*), or null: deterministic paths only.
  std::shared_ptr<const ai::Provider> ai;
};

class Ctx {
 public:
  Ctx(Core& core, const Principal& who, std::string_view op)
      : core_(core), who_(who), op_(op), now_(format_time(core.clock->now())) {}
  store::Db& db() { return *core_.db; }
  const Principal& who() const { return who_; }
  const std::string& org() const { return who_.org_id; }
  /// The call's timestamp: one value for every row the call writes.
  const std::string& now() const { return now_; }
  std::string new_id() { return core_.ids->next(); }
  std::string_view op() const { return op_; }
  Core& core() { return core_; }
  /// "<actor_type>:<actor_id>", as events record who caused them.
  std::string actor_label() const { return who_.actor_type + ":" + who_.actor_id; }

  /// Appends an event row (inside the caller's transaction). data_json is the event's payload.
  /// On PostgreSQL the row is written just before the transaction commits (store::Conn's
  /// deferred events); store::flush_deferred_events writes it earlier for a reader.
  Status event(store::Conn& c, std::string_view type, std::string_view subject_type,
               std::string_view subject_id, const std::optional<std::string>& thread_id,
               std::string_view data_json);
  /// The event row event() would write.
  store::EventRow event_row(std::string_view type, std::string_view subject_type,
                            std::string_view subject_id,
                            const std::optional<std::string>& thread_id,
                            std::string_view data_json) const;
  /// Appends an audit row for this operation (inside the caller's transaction).
  Status audit(store::Conn& c, std::string_view target_type, std::string_view target_id,
               std::string_view detail_json = "{}");

  /// Bulk paths (the webhook drain): while deferring, event() and audit() collect their rows and
  /// flush_appends() writes them with a few multi-row INSERTs, in the order they were made, before
  /// the transaction commits. discard_appends() drops what a failed attempt collected.
  void defer_appends(bool on) { defer_ = on; }
  Status flush_appends(store::Conn& c);
  void discard_appends() {
    events_.clear();
    audits_.clear();
  }

  /// Streaming operations (Engine::call_streaming): emit() hands an event to the caller's sink
  /// and returns false once the caller has cancelled (then cancelled() stays true, and
  /// cancel_flag() is set for a provider call to poll). Without a sink, emit() does nothing.
  /// `cancel`, when given, is the caller's own flag (it may set it from another thread).
  void set_stream(const Engine::StreamSink* sink, std::atomic<bool>* cancel) {
    sink_ = sink;
    if (cancel) cancel_ = cancel;
  }
  bool streaming() const { return sink_ != nullptr; }
  bool emit(std::string_view event, std::string_view data_json) {
    if (cancel_->load()) return false;
    if (sink_ && !(*sink_)(event, data_json)) cancel_->store(true);
    return !cancel_->load();
  }
  bool cancelled() const { return cancel_->load(); }
  const std::atomic<bool>* cancel_flag() const { return cancel_; }

 private:
  Core& core_;
  const Principal& who_;
  std::string_view op_;
  std::string now_;
  struct PendingEvent {
    std::string type, subject_type, subject_id, data;
    std::optional<std::string> thread_id;
  };
  struct PendingAudit {
    std::string id, target_type, target_id, detail;
  };
  bool defer_ = false;
  const Engine::StreamSink* sink_ = nullptr;
  std::atomic<bool> own_cancel_{false};
  std::atomic<bool>* cancel_ = &own_cancel_;
  std::vector<PendingEvent> events_;
  std::vector<PendingAudit> audits_;
};

/// A system principal acting as admin in `org_id` (jobs, watchers, webhooks); `label` is the
/// actor recorded in events and audit rows.
Principal system_principal(const std::string& org_id, const std::string& label);

/// Keyset cursors: opaque base64url text over a JSON array of strings.
std::string encode_cursor(std::initializer_list<std::string_view> parts);
Result<std::vector<std::string>> decode_cursor(std::string_view cursor, size_t expected_parts);
/// A [time, uuid] keyset cursor, both parts checked (a forged cursor is invalid_argument, never
/// a database type error).
Result<std::vector<std::string>> decode_time_id_cursor(std::string_view cursor);

/// Reads limit (default 50) from params.
int param_limit(const json::Value& params, int def = 50);
std::optional<std::string> param_str(const json::Value& params, const char* key);
/// True when the key is present with JSON null (e.g. "assignee_id": null to unassign).
bool param_is_null(const json::Value& params, const char* key);

/// Builds the JSON text {"items": [...], "next_cursor": ...} from already-serialized items.
std::string list_result(const std::string& items_json_array, const std::optional<std::string>& next);

}  // namespace banxway::api
