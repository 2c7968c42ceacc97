// The workflow engine at run time (docs/WORKFLOWS.md): matching events to workflows, runs and
// their history, step execution, waits as timer jobs, retries, the loop guard.
//
//  * Matching is the "workflows" event consumer (runtime/event_dispatch.hpp): per organization
//    a cached, compiled set of enabled workflows indexed by trigger event type, revalidated with
//    one read of workflow_gens per batch. A match creates a run row and a `workflow.run` job in
//    the consumer's transaction.
//  * A run advances one step per transaction: the step's effect, its history row, its
//    idempotency key and the run's new position commit together, so a crash or retry never
//    applies a step twice. A webhook step (HTTP, outside any transaction) sends its key as
//    Idempotency-Key so the receiver can drop a repeat.
//  * A wait parks the run (status waiting) and enqueues a timer job at the deadline; an
//    awaited event resumes it earlier through the consumer. Each wait has a sequence number,
//    so a stale timer finds nothing to do.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/context.hpp"
#include "runtime/event_dispatch.hpp"
#include "runtime/jobs.hpp"
#include "workflow/definition.hpp"

namespace banxway::workflow {

inline constexpr std::string_view kConsumer = "workflows";
inline constexpr std::string_view kRunJob = "workflow.run";
inline constexpr std::string_view kTimerJob = "workflow.timer";  // a wait's deadline (group commit)
inline constexpr std::string_view kScheduleJob = "workflow.schedule";
inline constexpr std::string_view kRelativeJob = "workflow.relative";

/// One organization's enabled workflows, compiled, in run order (priority, then name).
struct OrgSet {
  struct Entry {
    std::string id;
    int version = 0;
    std::shared_ptr<const Definition> def;
    uint32_t program = 0;       // the conditions in `matcher`
    bool has_conditions = false;  // (copied here: matching touches no definition)
  };
  int64_t gen = -1;
  FieldTable fields;
  Matcher matcher;
  std::vector<Entry> entries;
  std::map<std::string, std::vector<const Entry*>, std::less<>> by_event;
  std::map<std::string, uint32_t, std::less<>> roots_by_event;  // what to load per event type
  std::vector<const Entry*> relative;                            // relative-time triggers
  std::vector<std::string> waited_events;  // event types some wait step waits for
};

/// A compiled definition version with its own field table (what a run executes).
struct Compiled {
  FieldTable fields;
  std::shared_ptr<const Definition> def;
};

/// Compiled workflows per organization and per (workflow, version), shared by every thread of
/// the engine (lives in api::Core).
class Cache {
 public:
  Result<std::shared_ptr<const OrgSet>> org_set(store::Conn& c, const std::string& org);
  Result<std::shared_ptr<const Compiled>> version(store::Conn& c, const std::string& org,
                                                  const std::string& workflow_id, int version);
  /// Builds an OrgSet from (id, version, definition) rows: also the matching benchmark's entry.
  static std::shared_ptr<OrgSet> build(
      const std::vector<std::tuple<std::string, int, std::string>>& rows,
      const std::vector<std::string>& all_definitions, int64_t gen);

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const OrgSet>> orgs_;
  std::map<std::string, std::shared_ptr<const Compiled>> versions_;
};

Cache& cache(api::Core& core);

/// The workflows that match an event whose facts are loaded: in run order, the loop guard
/// applied (a workflow never matches an event it caused itself).
std::vector<const OrgSet::Entry*> match(const OrgSet& set, const runtime::EventRecord& ev,
                                        const Facts& facts);

/// Loads the facts for an event (and/or thread): the records named by `roots` (bit per Root).
Status load_facts(store::Conn& c, api::Ctx& ctx, Facts& facts, const runtime::EventRecord* ev,
                  const std::optional<std::string>& thread_id, uint32_t roots);

/// The "workflows" event consumer.
Status on_events(store::Conn& c, api::Ctx& ctx, const std::vector<runtime::EventRecord>& events);

/// Queues a job that advances a run (inside the caller's transaction): after a manual retry.
Status enqueue_run(store::Conn& c, api::Ctx& ctx, const std::string& run_id);

/// Starts a run (inside the caller's transaction): run row, history, job. Returns the run id.
struct StartRun {
  std::string workflow_id;
  int version = 0;
  TriggerKind trigger = TriggerKind::event;
  std::optional<int64_t> event_id;
  std::optional<std::string> thread_id;
  std::string subject_json = "{}";  // the trigger event (or {}), kept on the run
  int depth = 0;                    // chain depth of the run's own changes
  std::string note;                 // the first history row's decision text
  bool skipped = false;             // record only (status skipped, error = note)
};
Result<std::string> start_run(store::Conn& c, api::Ctx& ctx, const StartRun& s);

/// Dry run: what each step would do for this event/thread, without doing it. JSON object.
Result<std::string> dry_run(store::Conn& c, api::Ctx& ctx, const Definition& def,
                            const FieldTable& fields, const runtime::EventRecord* ev,
                            const std::optional<std::string>& thread_id);

/// Schedules the next firing of a schedule-triggered workflow (a timer job), or of every
/// relative trigger for a subject; used on save and when a timer fires.
Status schedule_next(store::Conn& c, api::Ctx& ctx, const std::string& workflow_id,
                     const Definition& def, int version);

/// Registers the job handlers (workflow.run, workflow.schedule, workflow.relative).
void register_jobs(runtime::JobQueue& q, api::Core& core);

}  // namespace banxway::workflow
