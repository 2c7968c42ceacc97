// Durable jobs: a table, not a broker (ARCHITECTURE.md §6, docs/RUNTIME.md).
//
// A job is a row in `jobs`, written by enqueue() inside the caller's transaction, so the work is
// recorded if and only if the business change that asked for it commits (transactional outbox).
// Workers claim due rows with a lease, run the kind's handler, and record the outcome:
// at-least-once delivery, exponential backoff with jitter, a unique key against doubles, and a
// dead state (plus a `job.dead` event) after the last attempt. The host either starts a pool of
// worker threads (start/stop) or steps the queue itself (run_pending): an embedded library never
// forces threads on its host. Every time comes from core.clock, so tests move a FakeClock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/context.hpp"
#include "banxway/status.hpp"
#include "core/env.hpp"
#include "store/db.hpp"

namespace banxway::runtime {

struct JobSpec {
  std::string kind;
  std::string payload_json = "{}";  // a JSON object
  std::optional<TimePoint> run_at;  // not before; default: now (timers are jobs with run_at)
  std::string unique_key;           // non-empty: at most one pending/running job per (org, key)
  int max_attempts = 10;
};

struct Job {
  std::string id, org_id, kind, payload_json;
  int attempts = 0;  // including the current one (1 on the first run)
  std::string unique_key;
  int max_attempts = 10;
  std::string locked_by;  // the claim's owner; finish() checks it (with attempts) to spot a lost lease
  bool last_attempt() const { return attempts >= max_attempts; }
};

/// A string field of a job's JSON payload; nullopt when the payload is not a JSON object or the
/// field is missing or not a string.
std::optional<std::string> payload_string(const Job& job, const char* key);

enum class JobOutcome { done, retry, fail };  // retry: backoff and try again; fail: permanent -> dead

struct JobResult {
  JobOutcome outcome = JobOutcome::done;
  std::string error;
  std::optional<std::chrono::milliseconds> retry_after;  // overrides the computed backoff
  static JobResult ok() { return {}; }
  static JobResult retry(std::string e, std::optional<std::chrono::milliseconds> after = {}) {
    return {JobOutcome::retry, std::move(e), after};
  }
  static JobResult fail(std::string e) { return {JobOutcome::fail, std::move(e), {}}; }
};

using JobHandler = std::function<JobResult(const Job&)>;

struct JobQueueOptions {
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
  std::chrono::milliseconds backoff_base{std::chrono::seconds(1)};
  std::chrono::milliseconds backoff_cap{std::chrono::hours(1)};
  double jitter = 0.2;  // ±20% of the delay
  /// Background workers poll this often when no in-process enqueue wakes them.
  std::chrono::milliseconds poll_interval{500};
  /// Jobs claimed per claim statement. Small, so a batch's later jobs do not sit out their lease
  /// behind slow earlier ones (another instance would then run them a second time).
  int claim_batch = 10;
};

class JobQueue {
 public:
  explicit JobQueue(api::Core& core, JobQueueOptions opts = {});
  ~JobQueue();  // stops workers
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  /// Inside the caller's transaction (transactional outbox): returns the new job's id, or the
  /// existing pending/running job's id when spec.unique_key matches one (no double). The job
  /// belongs to ctx.org(). Wakes this process's idle workers.
  static Result<std::string> enqueue(store::Conn& c, api::Ctx& ctx, const JobSpec& spec);

  /// Handlers may be registered at any time; a queue only ever claims kinds it has a handler
  /// for, so instances with different handler sets can share one database.
  ///
  /// group_commit: jobs of this kind claimed together run in ONE transaction (each handler's
  /// own transactions join it as savepoints, and each outcome is recorded inside it), so a
  /// burst of small jobs — timers falling due in the same second — costs one commit per claim
  /// instead of two per job. Only for handlers that never block (no network): they hold the
  /// write transaction while they run.
  void register_handler(std::string kind, JobHandler h, bool group_commit = false);

  /// Host-stepped mode: claims up to `max` due jobs (pending with run_at <= now, or running with
  /// an expired lease), runs their handlers on this thread, records outcomes; returns how many
  /// handlers ran.
  Result<int> run_pending(int max = 100);

  /// Starts `workers` background threads (1..64). Fails if already started.
  Status start(int workers);
  /// Joins the workers. A job already running finishes and is recorded; jobs a worker had
  /// claimed but not begun go back to pending at once (not after their lease).
  void stop();
  bool running() const;

  // Lower-level steps, for hosts that run jobs their own way (and for tests that simulate a
  // worker that crashes between claim and finish).
  /// Claims up to max due jobs for `worker` (a label recorded in locked_by).
  Result<std::vector<Job>> claim(int max, std::string_view worker = "step");
  /// Records a claimed job's outcome. Conflict when the claim is no longer ours (the lease
  /// expired and another worker took the job): nothing is written then.
  Status finish(const Job& job, const JobResult& r);
  /// Gives a claimed, not yet started job back (pending, attempt not counted).
  Status release(const Job& job);

  /// The retry delay after `attempts` failed attempts: base × 2^(attempts-1), capped, then
  /// scaled by 1 + jitter × (2u - 1) for u in [0, 1).
  static std::chrono::milliseconds backoff(int attempts, const JobQueueOptions& o, double u);

  /// Lets a running job's unique key go, so the same key can be enqueued again while this run
  /// continues (a "drain" job: work arriving during a run gets a run of its own after it).
  static Status release_unique_key(store::Db& db, const Job& job);

  /// Wakes idle workers (enqueue calls this for every queue on the same Core).
  void notify();

  const JobQueueOptions& options() const { return opts_; }

 private:
  Result<int> run_batch(int max, std::string_view worker, const std::atomic<bool>* stopping);
  JobResult invoke(const Job& job);
  void worker_loop(int n);
  std::vector<std::string> kinds() const;
  double random_unit();

  api::Core& core_;
  const JobQueueOptions opts_;
  const std::string instance_;  // host:pid:n, the prefix of every locked_by

  mutable std::mutex handlers_mu_;
  std::map<std::string, JobHandler, std::less<>> handlers_;
  std::set<std::string, std::less<>> grouped_;  // kinds registered with group_commit

  std::mutex rng_mu_;
  uint64_t rng_state_;

  std::mutex lifecycle_mu_;  // serializes start() and stop()
  mutable std::mutex mu_;    // guards wake_seq_ and threads_
  std::condition_variable cv_;
  uint64_t wake_seq_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace banxway::runtime
