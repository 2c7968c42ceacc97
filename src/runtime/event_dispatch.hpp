// Event consumers: durable, in-order readers of the event log (docs/WORKFLOWS.md, "Event
// dispatch").
//
// Workflows, SLA clocks and outgoing webhooks all react to events. Each is a named consumer with
// one cursor per organization (table `event_cursors`): a pass locks the cursor row, reads the
// organization's events after it (in id order, which on PostgreSQL is commit order: see
// docs/REALTIME.md), hands them to the consumer inside the same transaction, and moves the
// cursor, so every event is consumed exactly once, also with several servers on one database.
// An organization is read only once the consumer has been activated for it (activate(), called
// when the first workflow, SLA policy or webhook subscription is created), starting at the event
// log's end: history is never replayed.
//
// What a consumer does with an event must be cheap and local: write rows, enqueue jobs. Slow
// work (HTTP, sending) belongs in the jobs it enqueues. A consumer deals with a bad event itself
// (records it and moves on); an error it returns rolls the whole batch back to be tried again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/context.hpp"
#include "banxway/status.hpp"
#include "store/db.hpp"

namespace banxway::runtime {

struct EventRecord {
  int64_t id = 0;
  std::string org_id, type, subject_type, subject_id;
  std::optional<std::string> thread_id;
  std::string payload;     // the event's JSON object, as stored
  std::string created_at;  // ISO 8601 UTC
  std::string actor;       // "user:<id>", "api_key:<id>", "system:<label>", "workflow:<id>"
  int depth = 0;           // workflow chain depth: 0 unless a workflow's step caused the event
};

/// One stored event of an organization (nullopt when there is none with this id there).
Result<std::optional<EventRecord>> read_event(store::Conn& c, const std::string& org, int64_t id);

/// Called inside the pass's transaction with a batch of one organization's events (ids
/// ascending). ctx is a system principal of that organization labelled with the consumer's name;
/// rows and jobs written through c commit together with the cursor move.
using EventConsumerFn =
    std::function<Status(store::Conn& c, api::Ctx& ctx, const std::vector<EventRecord>& events)>;

class EventDispatcher {
 public:
  explicit EventDispatcher(api::Core& core);
  ~EventDispatcher();  // stops the thread
  EventDispatcher(const EventDispatcher&) = delete;
  EventDispatcher& operator=(const EventDispatcher&) = delete;

  /// Registers a consumer (before start/run_pending). Names are [a-z_.]+, unique.
  void add(std::string name, EventConsumerFn fn);

  /// Makes `consumer` read `org`'s events from now on (inside the caller's transaction; a no-op
  /// when already active). The cursor starts at the organization's last event, so of this very
  /// transaction's events those appended after the call are read and those before it are not.
  static Status activate(store::Conn& c, std::string_view consumer, const std::string& org,
                         std::string_view now);

  /// One pass over every consumer and active organization with unread events; returns how many
  /// events were handed to consumers. Host-stepped mode (Engine::run_pending calls it) and tests.
  Result<int> run_pending(int max_batches = 100);

  /// A background thread that runs passes when woken (on_commit) and every poll interval.
  Status start(std::chrono::milliseconds poll = std::chrono::seconds(1));
  void stop();
  /// Wakes the thread when a local transaction appended events for an organization some
  /// consumer reads (others are not worth a pass).
  void on_commit(const std::vector<std::string>& orgs);

 private:
  Result<int> pass_one(const std::string& consumer, const EventConsumerFn& fn,
                       const std::string& org, bool* more);
  void loop(std::chrono::milliseconds poll);

  /// Re-reads which organizations have a cursor (after an activation in this process, and at
  /// least once a second for activations elsewhere).
  void refresh_active();

  api::Core& core_;
  std::vector<std::pair<std::string, EventConsumerFn>> consumers_;
  std::mutex active_mu_;
  std::set<std::string, std::less<>> active_;  // organizations with at least one cursor
  uint64_t active_epoch_ = ~0ull;              // activation epoch active_ was read at
  std::chrono::steady_clock::time_point active_read_{};
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t wake_seq_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// Batch size of one pass per (consumer, organization).
inline constexpr int kEventBatch = 200;

}  // namespace banxway::runtime
