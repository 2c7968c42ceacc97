#include "runtime/jobs.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <utility>

#include "core/json.hpp"

namespace banxway::runtime {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxErrorBytes = 4000;
constexpr int kMaxWorkers = 64;
// After an in-process wake-up found nothing, look again this soon: the enqueuing transaction
// wakes us before it commits (there is no after-commit hook), and on PostgreSQL our claim can
// run before that commit lands.
constexpr milliseconds kRecheckAfterWake{50};
constexpr milliseconds kRecheckMax{1600};  // 50, 100, ... 1600 ms, then the poll interval

// Every live queue, so the static enqueue() can wake the workers that share its Core.
std::mutex g_queues_mu;
std::vector<std::pair<api::Core*, JobQueue*>> g_queues;

void wake_queues(api::Core* core) {
  std::lock_guard<std::mutex> lock(g_queues_mu);
  for (auto& [c, q] : g_queues)
    if (c == core) q->notify();
}

std::string make_instance_id() {
  static std::atomic<int> seq{0};
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "host") + ":" + std::to_string(::getpid()) + ":" +
         std::to_string(++seq);
}

/// Error text fit for a text column on both backends: valid UTF-8 (PostgreSQL rejects anything
/// else, and a failed write would leave the job to its lease), no NUL, bounded length.
std::string clean_error(std::string_view s) {
  std::string out;
  out.reserve(std::min(s.size(), kMaxErrorBytes));
  size_t i = 0;
  while (i < s.size() && out.size() < kMaxErrorBytes) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size() && !(n == 1 && c == 0);
    for (size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && n > 1) {  // overlong forms, UTF-16 surrogates, beyond U+10FFFF
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c < 0xC2 || (c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) ||
             (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90) || c > 0xF4);
    }
    if (!ok) {
      out += '?';
      ++i;
      continue;
    }
    if (out.size() + n > kMaxErrorBytes) break;
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string placeholders(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += i ? ", ?" : "?";
  return s;
}

Job job_from_row(const store::Row& r) {
  Job j;
  j.id = r.str(0);
  j.org_id = r.str(1);
  j.kind = r.str(2);
  j.payload_json = r.str(3);
  j.attempts = static_cast<int>(r.int64(4));
  j.max_attempts = static_cast<int>(r.int64(5));
  j.unique_key = r.str(6);  // "" for NULL
  return j;
}

// The row a finish()/release() may touch: still running under this very claim. attempts
// identifies the claim (each claim increments it), so a worker whose lease expired and whose
// job was re-claimed by someone else writes nothing.
constexpr const char* kOurClaim = " WHERE id = ? AND status = 'running' AND locked_by = ? AND attempts = ?";

}  // namespace

JobQueue::JobQueue(api::Core& core, JobQueueOptions opts)
    : core_(core), opts_(std::move(opts)), instance_(make_instance_id()) {
  std::random_device rd;
  rng_state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  std::lock_guard<std::mutex> lock(g_queues_mu);
  g_queues.emplace_back(&core_, this);
}

JobQueue::~JobQueue() {
  {
    std::lock_guard<std::mutex> lock(g_queues_mu);
    std::erase_if(g_queues, [this](const auto& e) { return e.second == this; });
  }
  stop();
}

// ---- enqueue --------------------------------------------------------------------------------

Result<std::string> JobQueue::enqueue(store::Conn& c, api::Ctx& ctx, const JobSpec& spec) {
  if (spec.kind.empty() || spec.kind.size() > 200)
    return InvalidArgument("job kind: expected 1..200 characters");
  if (spec.max_attempts < 1) return InvalidArgument("job max_attempts: expected at least 1");
  if (spec.unique_key.size() > 500) return InvalidArgument("job unique_key: at most 500 characters");
  if (ctx.org().empty()) return InvalidArgument("a job needs an organization");
  json::Document d;
  BX_RETURN_IF_ERROR(json::parse(spec.payload_json.empty() ? "{}" : spec.payload_json, &d,
                                 {64, 16u << 20}));
  if (!d.IsObject()) return InvalidArgument("job payload: expected a JSON object");
  // Compact text, so both backends store (and handlers read) the same bytes.
  const std::string payload = json::stringify(d);
  const std::string run_at = spec.run_at ? format_time(*spec.run_at) : ctx.now();
  const store::Value key = spec.unique_key.empty() ? store::Value() : store::Value(spec.unique_key);

  // ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a failed
  // statement would abort the caller's whole transaction. The only unique constraint a fresh
  // UUID can meet is jobs_unique (org_id, unique_key) over pending/running rows.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto ins = c.query(
        "INSERT INTO jobs (id, org_id, kind, payload, status, run_at, attempts, max_attempts, "
        "unique_key, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, 0, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING id",
        {ctx.new_id(), ctx.org(), spec.kind, payload, run_at, spec.max_attempts, key, ctx.now(),
         ctx.now()});
    if (!ins.ok()) return ins.status();
    if (!ins->empty()) {
      // Workers are woken once the job is visible: a wake before COMMIT would find nothing on
      // PostgreSQL and leave the job to the next recheck.
      api::Core* core = &ctx.core();
      c.after_commit(core, [core] { wake_queues(core); });
      return ins->rows[0].str(0);
    }
    if (spec.unique_key.empty()) return Internal("job insert conflicted without a unique key");
    auto existing = c.query(
        "SELECT id FROM jobs WHERE org_id = ? AND unique_key = ? AND status IN "
        "('pending', 'running')",
        {ctx.org(), spec.unique_key});
    if (!existing.ok()) return existing.status();
    if (!existing->empty()) return existing->rows[0].str(0);
    // PostgreSQL only: the conflicting job finished between our insert and our select (each
    // statement has its own snapshot); the key is free again, so insert once more.
  }
  return Conflict("job unique_key " + spec.unique_key + ": contended, try again");
}

// ---- handlers ---------------------------------------------------------------------------------

void JobQueue::register_handler(std::string kind, JobHandler h, bool group_commit) {
  {
    std::lock_guard<std::mutex> lock(handlers_mu_);
    if (group_commit) grouped_.insert(kind);
    else grouped_.erase(kind);
    handlers_[std::move(kind)] = std::move(h);
  }
  notify();  // jobs of this kind may already be waiting
}

std::vector<std::string> JobQueue::kinds() const {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  std::vector<std::string> out;
  for (const auto& [k, h] : handlers_) out.push_back(k);
  return out;
}

JobResult JobQueue::invoke(const Job& job) {
  JobHandler h;
  {
    std::lock_guard<std::mutex> lock(handlers_mu_);
    auto it = handlers_.find(job.kind);
    if (it != handlers_.end()) h = it->second;
  }
  if (!h) return JobResult::retry("no handler for job kind " + job.kind);
  // A throwing handler is a transient failure: retried with backoff, the text kept as error.
  try {
    return h(job);
  } catch (const std::exception& e) {
    return JobResult::retry(std::string("handler threw: ") + e.what());
  } catch (...) {
    return JobResult::retry("handler threw a non-standard exception");
  }
}

// ---- claim / finish -----------------------------------------------------------------------------

Result<std::vector<Job>> JobQueue::claim(int max, std::string_view worker) {
  std::vector<Job> jobs;
  if (max <= 0) return jobs;
  const std::vector<std::string> ks = kinds();
  // Never claim a kind we cannot run: another instance sharing the database may have it.
  if (ks.empty()) return jobs;
  const TimePoint now = core_.clock->now();
  const std::string now_s = format_time(now);
  const std::string lease_s = format_time(now + opts_.lease);
  const std::string owner = instance_ + "/" + std::string(worker);
  const std::string kinds_in = "kind IN (" + placeholders(ks.size()) + ")";
  // Qualified on PostgreSQL, where `due` brings a second `id` into scope.
  const std::string returning =
      core_.db->dialect() == store::Dialect::postgres
          ? " RETURNING jobs.id, jobs.org_id, jobs.kind, jobs.payload, jobs.attempts, "
            "jobs.max_attempts, jobs.unique_key"
          : " RETURNING id, org_id, kind, payload, attempts, max_attempts, unique_key";
  std::vector<store::Value> params;
  std::string sql;
  if (core_.db->dialect() == store::Dialect::postgres) {
    // SKIP LOCKED: concurrent claimers (threads, server instances) each lock different rows and
    // never wait on one another. A row another claimer committed meanwhile is re-checked
    // against the WHERE clause after locking, so a job is never claimed twice while leased.
    //
    // Due pending jobs and expired leases are two range scans on jobs_due (status, run_at),
    // read in run_at order and stopped at the limit. Not one OR, and the kind compared as an
    // expression: either let the planner prefer jobs_kind_status (the /metrics index) and sort
    // every pending job of the handled kinds — 3.5 ms per claim with 10,000 timers pending.
    const std::string kinds_expr = "(kind || '') IN (" + placeholders(ks.size()) + ")";
    sql = "WITH p AS (SELECT id FROM jobs WHERE status = 'pending' AND run_at <= ? AND " +
          kinds_expr + " ORDER BY run_at, id LIMIT ? FOR UPDATE SKIP LOCKED), "
          "r AS (SELECT id FROM jobs WHERE status = 'running' AND lease_until <= ? AND " +
          kinds_expr + " ORDER BY lease_until, id LIMIT ? FOR UPDATE SKIP LOCKED), "
          "due AS (SELECT id FROM p UNION ALL SELECT id FROM r LIMIT ?) "
          "UPDATE jobs SET status = 'running', lease_until = ?, locked_by = ?, "
          "attempts = jobs.attempts + 1, updated_at = ? FROM due WHERE jobs.id = due.id" +
          returning;
    params.emplace_back(now_s);
    for (const auto& k : ks) params.emplace_back(k);
    params.emplace_back(max);
    params.emplace_back(now_s);
    for (const auto& k : ks) params.emplace_back(k);
    params.emplace_back(max);
    params.emplace_back(max);
    params.insert(params.end(), {lease_s, owner, now_s});
  } else {
    // SQLite has one writer: the select and update run inside the write transaction, so no
    // other claimer can see the rows in between.
    // The same two range scans as on PostgreSQL.
    sql = "UPDATE jobs SET status = 'running', lease_until = ?, locked_by = ?, "
          "attempts = attempts + 1, updated_at = ? WHERE id IN (SELECT id FROM (SELECT id FROM "
          "jobs WHERE status = 'pending' AND run_at <= ? AND " + kinds_in +
          " ORDER BY run_at, id LIMIT ?) UNION ALL SELECT id FROM (SELECT id FROM jobs WHERE "
          "status = 'running' AND lease_until <= ? AND " + kinds_in +
          " ORDER BY lease_until, id LIMIT ?) LIMIT ?)" + returning;
    params.insert(params.end(), {lease_s, owner, now_s, now_s});
    for (const auto& k : ks) params.emplace_back(k);
    params.emplace_back(max);
    params.emplace_back(now_s);
    for (const auto& k : ks) params.emplace_back(k);
    params.emplace_back(max);
    params.emplace_back(max);
  }
  Status st = core_.db->transaction([&](store::Conn& c) -> Status {
    jobs.clear();  // the backend may run this function again after a conflict
    // PostgreSQL's estimate of due pending jobs comes from statistics taken when few were
    // pending (the common state); a burst of thousands falling due then gets a bitmap scan
    // that reads and sorts all of them on every claim (1.3 ms per claim with 10,000 due,
    // quadratic over the burst). The index already yields run_at order: read it in order
    // and stop at the limit, whatever the statistics say. This transaction only.
    if (c.dialect() == store::Dialect::postgres)
      BX_RETURN_IF_ERROR(c.exec_deferred("SET LOCAL enable_bitmapscan = off"));
    auto r = c.query(sql, params);
    if (!r.ok()) return r.status();
    for (const auto& row : *r) {
      jobs.push_back(job_from_row(row));
      jobs.back().locked_by = owner;
    }
    return Status();
  });
  if (!st.ok()) return st;
  // UUIDv7 ids are time-ordered: run in (roughly) enqueue order.
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.id < b.id; });
  return jobs;
}

std::chrono::milliseconds JobQueue::backoff(int attempts, const JobQueueOptions& o, double u) {
  const int64_t base = std::max<int64_t>(0, o.backoff_base.count());
  const int64_t cap = std::max<int64_t>(0, o.backoff_cap.count());
  int64_t d = base;
  for (int i = 1; i < attempts && d < cap; ++i) d *= 2;  // stops doubling at the cap: no overflow
  d = std::min(d, cap);
  // Jitter after the cap, so jobs that all reached the cap still spread out.
  double j = std::clamp(o.jitter, 0.0, 1.0);
  double scaled = static_cast<double>(d) * (1.0 + j * (2.0 * std::clamp(u, 0.0, 1.0) - 1.0));
  return milliseconds(static_cast<int64_t>(scaled));
}

double JobQueue::random_unit() {
  std::lock_guard<std::mutex> lock(rng_mu_);
  // splitmix64: fast, good enough for jitter, no shared global generator.
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

Status JobQueue::finish(const Job& job, const JobResult& r) {
  const TimePoint now = core_.clock->now();
  const std::string now_s = format_time(now);
  const bool dead = r.outcome == JobOutcome::fail ||
                    (r.outcome == JobOutcome::retry && job.attempts >= job.max_attempts);
  std::string error = clean_error(r.error);
  if (dead && error.empty()) error = r.outcome == JobOutcome::fail ? "failed" : "retries exhausted";
  std::string sql;
  std::vector<store::Value> params;
  if (r.outcome == JobOutcome::done) {
    // locked_by stays: which worker last ran the job is worth keeping for diagnosis.
    sql = std::string("UPDATE jobs SET status = 'done', lease_until = NULL, updated_at = ?") +
          kOurClaim;
    params = {now_s};
  } else if (dead) {
    sql = std::string(
              "UPDATE jobs SET status = 'dead', lease_until = NULL, last_error = ?, updated_at = ?") +
          kOurClaim;
    params = {error, now_s};
  } else {
    milliseconds delay = r.retry_after ? std::max(milliseconds(0), *r.retry_after)
                                       : backoff(job.attempts, opts_, random_unit());
    sql = std::string(
              "UPDATE jobs SET status = 'pending', run_at = ?, lease_until = NULL, "
              "locked_by = NULL, last_error = ?, updated_at = ?") +
          kOurClaim;
    params = {format_time(now + delay), error.empty() ? std::string("retry") : error, now_s};
  }
  params.insert(params.end(), {job.id, job.locked_by, job.attempts});
  return core_.db->transaction([&](store::Conn& c) -> Status {
    auto u = c.query(sql, params);
    if (!u.ok()) return u.status();
    if (u->affected == 0)
      return Conflict("job " + job.id + ": claim lost (lease expired and the job was re-claimed, "
                      "or it was finished already); outcome not recorded");
    if (!dead) return Status();
    // The event is written with the dead row, in one transaction: subscribers see it if and
    // only if the job is dead.
    Principal sys = api::system_principal(job.org_id, "jobs");
    api::Ctx ctx(core_, sys, "jobs.run");
    std::string data = "{\"job_id\":" + json::quote(job.id) + ",\"kind\":" + json::quote(job.kind) +
                       ",\"error\":" + json::quote(error) +
                       ",\"attempts\":" + std::to_string(job.attempts) + ",\"unique_key\":" +
                       (job.unique_key.empty() ? std::string("null") : json::quote(job.unique_key)) +
                       "}";
    return ctx.event(c, "job.dead", "job", job.id, std::nullopt, data);
  });
}

Status JobQueue::release(const Job& job) {
  const std::string now_s = format_time(core_.clock->now());
  return core_.db->transaction([&](store::Conn& c) -> Status {
    auto u = c.query(std::string("UPDATE jobs SET status = 'pending', attempts = attempts - 1, "
                                 "lease_until = NULL, locked_by = NULL, updated_at = ?") +
                         kOurClaim,
                     {now_s, job.id, job.locked_by, job.attempts});
    if (!u.ok()) return u.status();
    if (u->affected == 0) return Conflict("job " + job.id + ": claim lost; not released");
    return Status();
  });
}

// ---- running ------------------------------------------------------------------------------------

Result<int> JobQueue::run_pending(int max) { return run_batch(max, "step", nullptr); }

Result<int> JobQueue::run_batch(int max, std::string_view worker,
                                const std::atomic<bool>* stopping) {
  int ran = 0;
  while (ran < max) {
    if (stopping && stopping->load()) break;
    const int want = std::min(max - ran, std::max(1, opts_.claim_batch));
    auto claimed = claim(want, worker);
    if (!claimed.ok()) {
      if (ran > 0) {  // what ran is recorded; report the count, the next call sees the error
        spdlog::warn("jobs: claim failed: {}", claimed.status().message());
        break;
      }
      return claimed.status();
    }
    std::vector<Job>& jobs = *claimed;
    // Group-commit kinds first, all in one transaction (see register_handler).
    std::vector<Job> grouped;
    {
      std::lock_guard<std::mutex> lock(handlers_mu_);
      for (auto it = jobs.begin(); it != jobs.end();) {
        if (grouped_.count(it->kind) && it->attempts <= it->max_attempts) {
          grouped.push_back(std::move(*it));
          it = jobs.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (!grouped.empty()) {
      Status st = core_.db->transaction([&](store::Conn& c) -> Status {
        // Jobs that succeed are marked done together by one statement at the end (the common
        // case: a timer per job); the others are recorded one by one as usual.
        std::string done_sql;
        std::vector<store::Value> done_ids;
        std::vector<store::Value> done_params{format_time(core_.clock->now())};
        for (const Job& job : grouped) {
          JobResult r = invoke(job);
          if (r.outcome == JobOutcome::done) {
            done_sql += done_sql.empty() ? "(id = ? AND locked_by = ? AND attempts = ?)"
                                         : " OR (id = ? AND locked_by = ? AND attempts = ?)";
            done_ids.emplace_back(job.id);
            done_params.insert(done_params.end(), {job.id, job.locked_by, job.attempts});
            continue;
          }
          Status fs = finish(job, r);
          if (!fs.ok())
            spdlog::warn("jobs: outcome of {} ({}) not recorded: {}", job.id, job.kind, fs.message());
        }
        if (done_sql.empty()) return Status();
        // A job whose claim was lost meanwhile (lease expired, re-claimed) matches no row: its
        // outcome is not recorded, as finish() would have refused it. Nothing reads the
        // count, so on PostgreSQL it travels with the COMMIT. The rows are found by primary
        // key: the status is compared as an expression so that PostgreSQL does not also read
        // jobs_due's 'running' range, which holds an entry for every job run since the last
        // vacuum (7,000 of them, 0.5 ms per update, in a burst of 10,000 timers).
        const std::string in = store::value_rows(1, done_ids.size());  // (?, ?, ...)
        done_params.insert(done_params.end(), done_ids.begin(), done_ids.end());
        return c.write_deferred("UPDATE jobs SET status = 'done', lease_until = NULL, "
                                "updated_at = ? WHERE (" + done_sql + ") AND id IN " + in +
                                    " AND (status || '') = 'running'",
                                done_params);
      });
      // A failed commit loses the outcomes: those jobs run again after their lease.
      if (!st.ok()) spdlog::warn("jobs: group of {} jobs not committed: {}", grouped.size(), st.message());
      ran += static_cast<int>(grouped.size());
    }
    for (size_t i = 0; i < jobs.size(); ++i) {
      const Job& job = jobs[i];
      if (stopping && stopping->load()) {
        // Shutting down: hand back what we have not begun, instead of leaving it to the lease.
        for (size_t k = i; k < jobs.size(); ++k) {
          Status st = jobs[k].attempts > jobs[k].max_attempts ? Status() : release(jobs[k]);
          if (!st.ok()) spdlog::warn("jobs: release of {} failed: {}", jobs[k].id, st.message());
        }
        return ran;
      }
      if (job.attempts > job.max_attempts) {
        // Its last attempt's worker vanished (crash, kill) and the lease ran out: no tries left.
        Status st = finish(job, JobResult::fail("lease expired during the last attempt (worker lost)"));
        if (!st.ok()) spdlog::warn("jobs: could not mark {} dead: {}", job.id, st.message());
        continue;
      }
      JobResult r = invoke(job);
      ++ran;
      Status st = finish(job, r);
      // Not fatal: an unrecorded outcome means the job runs again after its lease
      // (at-least-once), which handlers must tolerate anyway.
      if (!st.ok()) spdlog::warn("jobs: outcome of {} ({}) not recorded: {}", job.id, job.kind, st.message());
    }
    if (static_cast<int>(jobs.size() + grouped.size()) < want) break;  // nothing more is due
  }
  return ran;
}

Status JobQueue::start(int workers) {
  if (workers < 1 || workers > kMaxWorkers)
    return InvalidArgument("workers: expected 1.." + std::to_string(kMaxWorkers));
  std::lock_guard<std::mutex> life(lifecycle_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (!threads_.empty()) return Conflict("job workers already started; stop() first");
  stopping_ = false;
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
  return Status();
}

void JobQueue::stop() {
  std::lock_guard<std::mutex> life(lifecycle_mu_);
  std::vector<std::thread> ts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (threads_.empty()) return;
    stopping_ = true;
    ts.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : ts) {
    // A handler calling stop() on its own queue would join itself; let that thread end alone.
    if (t.get_id() == std::this_thread::get_id())
      t.detach();
    else
      t.join();
  }
}

bool JobQueue::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !threads_.empty();
}

void JobQueue::notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wake_seq_;
  }
  cv_.notify_one();
}

void JobQueue::worker_loop(int n) {
  const std::string name = "w" + std::to_string(n);
  uint64_t seen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen = wake_seq_;
  }
  // After a wake-up that found nothing, look again soon, then less and less often: the wake
  // may have come before the enqueuing transaction committed (see kRecheckAfterWake).
  milliseconds recheck{0};  // 0: no recheck pending, sleep the poll interval
  while (!stopping_.load()) {
    auto r = run_batch(std::max(1, opts_.claim_batch), name, &stopping_);
    if (!r.ok()) spdlog::warn("jobs: worker {} claim failed: {}", name, r.status().message());
    if (r.ok() && *r > 0) {
      // A full batch suggests a backlog: wake a peer to share it (one enqueue wakes one
      // worker, so without this a burst would be worked by one thread until the next poll).
      if (*r >= std::max(1, opts_.claim_batch)) notify();
      recheck = milliseconds(0);
      continue;  // more may be due: no sleeping while there is work
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_.load()) break;
    milliseconds wait = recheck.count() > 0 ? std::min(recheck, opts_.poll_interval) : opts_.poll_interval;
    bool woke = cv_.wait_for(lock, wait, [&] { return stopping_.load() || wake_seq_ != seen; }) &&
                !stopping_.load();
    if (woke)
      recheck = kRecheckAfterWake;
    else if (recheck.count() > 0)
      recheck = recheck * 2 > kRecheckMax ? milliseconds(0) : recheck * 2;
    seen = wake_seq_;
  }
}

Status JobQueue::release_unique_key(store::Db& db, const Job& job) {
  auto r = db.query("UPDATE jobs SET unique_key = NULL WHERE id = ? AND org_id = ? AND "
                    "locked_by = ?",
                    {job.id, job.org_id, job.locked_by});
  return r.status();
}

std::optional<std::string> payload_string(const Job& job, const char* key) {
  json::Document d;
  if (!json::parse(job.payload_json, &d).ok() || !d.IsObject()) return std::nullopt;
  auto v = json::get_string(d, key);
  if (!v) return std::nullopt;
  return std::string(*v);
}

}  // namespace banxway::runtime
