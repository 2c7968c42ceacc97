// Durable jobs on both backends: transactional enqueue, unique keys, due times, backoff, dead
// letters, lease expiry, concurrent claimers, threaded workers, and the Engine / C ABI wiring.
// Time is a FakeClock moved by hand; only the threaded cases wait, and only with bounds that
// guard against hangs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "banxway/banxway.h"
#include "core/env.hpp"
#include "core/json.hpp"
#include "engine_impl.hpp"
#include "runtime/jobs.hpp"
#include "support/backends.hpp"

namespace {

using namespace std::chrono_literals;
using banxway::Code;
using banxway::FakeClock;
using banxway::Status;
using banxway::TimePoint;
using banxway::runtime::Job;
using banxway::runtime::JobOutcome;
using banxway::runtime::JobQueue;
using banxway::runtime::JobQueueOptions;
using banxway::runtime::JobResult;
using banxway::runtime::JobSpec;
using std::chrono::milliseconds;

constexpr auto kWait = 20s;  // bound on every real-time wait: a hang fails instead of blocking

TimePoint t0() { return TimePoint(std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}); }

struct JobRow {
  std::string status;
  int attempts = 0;
  TimePoint run_at;
  std::string last_error;
  bool exists = false;
};

class JobsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    BX_SKIP_IF_NO_BACKEND(GetParam());
    url = bxtest::fresh_database_url(GetParam());
    clock = std::make_shared<FakeClock>(t0());
    engine = open_engine();
    ASSERT_TRUE(engine);
    auto b = engine->bootstrap("Jobs Org");
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    banxway::json::Document d;
    ASSERT_TRUE(banxway::json::parse(b->org_json, &d).ok());
    auto p = engine->system_principal(d["id"].GetString(), "test");
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    who = *p;
  }

  void TearDown() override {
    engine.reset();
    bxtest::remove_database(url);
  }

  std::unique_ptr<banxway::Engine> open_engine() {
    banxway::EngineOptions o;
    o.database_url = url;
    o.clock = clock;
    auto e = banxway::Engine::open(o);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  banxway::api::Core& core() { return engine->impl().core; }

  /// Enqueues in its own transaction (as org `who`); returns the id.
  std::string enqueue(const JobSpec& spec, banxway::Engine* e = nullptr,
                      const banxway::Principal* as = nullptr) {
    e = e ? e : engine.get();
    banxway::api::Ctx ctx(e->impl().core, as ? *as : who, "test.enqueue");
    std::string id;
    Status st = e->impl().core.db->transaction([&](banxway::store::Conn& c) -> Status {
      BX_ASSIGN_OR_RETURN(id, JobQueue::enqueue(c, ctx, spec));
      return Status();
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
    return id;
  }

  std::string enqueue(const std::string& kind, const std::string& key = "", int max_attempts = 10) {
    JobSpec s;
    s.kind = kind;
    s.unique_key = key;
    s.max_attempts = max_attempts;
    return enqueue(s);
  }

  JobRow row(const std::string& id) {
    JobRow j;
    auto r = core().db->query("SELECT status, attempts, run_at, last_error FROM jobs WHERE id = ?",
                              {id});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok() || r->empty()) return j;
    j.exists = true;
    j.status = r->rows[0].str(0);
    j.attempts = static_cast<int>(r->rows[0].int64(1));
    EXPECT_TRUE(banxway::parse_time(r->rows[0].text(2), &j.run_at)) << r->rows[0].str(2);
    j.last_error = r->rows[0].str(3);
    return j;
  }

  int64_t count_jobs() {
    auto r = core().db->query("SELECT COUNT(*) FROM jobs", {});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->rows[0].int64(0) : -1;
  }

  /// job.dead events of org `who`: (subject_id, payload).
  std::vector<std::pair<std::string, std::string>> dead_events() {
    std::vector<std::pair<std::string, std::string>> out;
    auto r = core().db->query(
        "SELECT subject_id, payload FROM events WHERE org_id = ? AND type = 'job.dead' ORDER BY id",
        {who.org_id});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (r.ok())
      for (const auto& row : *r) out.emplace_back(row.str(0), row.str(1));
    return out;
  }

  int run(JobQueue& q, int max = 100) {
    auto r = q.run_pending(max);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : -1;
  }

  static JobQueueOptions no_jitter() {
    JobQueueOptions o;
    o.jitter = 0;
    return o;
  }

  std::string url;
  std::shared_ptr<FakeClock> clock;
  std::unique_ptr<banxway::Engine> engine;
  banxway::Principal who;
};

// ---- enqueue -------------------------------------------------------------------------------

TEST_P(JobsTest, EnqueueInRolledBackTransactionLeavesNoJob) {
  banxway::api::Ctx ctx(core(), who, "test");
  Status st = core().db->transaction([&](banxway::store::Conn& c) -> Status {
    JobSpec s;
    s.kind = "mail.send";
    auto id = JobQueue::enqueue(c, ctx, s);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    return banxway::Conflict("the business write failed");
  });
  EXPECT_EQ(st.code(), Code::conflict);
  EXPECT_EQ(count_jobs(), 0);

  JobSpec s;
  s.kind = "mail.send";
  s.payload_json = R"({ "to" : "ops@example.com" })";
  std::string id = enqueue(s);
  ASSERT_TRUE(banxway::is_uuid(id));
  JobRow j = row(id);
  EXPECT_EQ(j.status, "pending");
  EXPECT_EQ(j.attempts, 0);
  EXPECT_EQ(j.run_at, clock->now());
  EXPECT_EQ(count_jobs(), 1);

  // The handler sees the payload as compact JSON text on both backends.
  JobQueue q(core());
  std::string seen;
  q.register_handler("mail.send", [&](const Job& job) {
    seen = job.payload_json;
    EXPECT_EQ(job.org_id, who.org_id);
    EXPECT_EQ(job.attempts, 1);
    return JobResult::ok();
  });
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(seen, R"({"to":"ops@example.com"})");
  EXPECT_EQ(row(id).status, "done");
}

TEST_P(JobsTest, EnqueueValidatesItsSpec) {
  banxway::api::Ctx ctx(core(), who, "test");
  auto attempt = [&](JobSpec s) {
    Status out;
    Status st = core().db->transaction([&](banxway::store::Conn& c) -> Status {
      auto r = JobQueue::enqueue(c, ctx, s);
      out = r.status();
      return r.status();
    });
    return out;
  };
  JobSpec bad;
  EXPECT_EQ(attempt(bad).code(), Code::invalid_argument);  // no kind
  bad.kind = "x";
  bad.payload_json = "[1,2]";
  EXPECT_EQ(attempt(bad).code(), Code::invalid_argument);  // not an object
  bad.payload_json = "{oops";
  EXPECT_EQ(attempt(bad).code(), Code::invalid_argument);
  bad.payload_json = "{}";
  bad.max_attempts = 0;
  EXPECT_EQ(attempt(bad).code(), Code::invalid_argument);
  EXPECT_EQ(count_jobs(), 0);
}

TEST_P(JobsTest, UniqueKeyDedupesWhilePendingOrRunningOnly) {
  std::string a = enqueue("sla.check", "thread-1");
  EXPECT_EQ(enqueue("sla.check", "thread-1"), a);  // pending: no double
  std::string other = enqueue("sla.check", "thread-2");
  EXPECT_NE(other, a);
  EXPECT_EQ(count_jobs(), 2);

  // Same key in another organization is another job.
  auto b = engine->bootstrap("Other Org");
  ASSERT_TRUE(b.ok());
  banxway::json::Document d;
  ASSERT_TRUE(banxway::json::parse(b->org_json, &d).ok());
  auto p2 = engine->system_principal(d["id"].GetString());
  ASSERT_TRUE(p2.ok());
  JobSpec s;
  s.kind = "sla.check";
  s.unique_key = "thread-1";
  EXPECT_NE(enqueue(s, nullptr, &*p2), a);

  JobQueue q(core());
  q.register_handler("sla.check", [](const Job&) { return JobResult::ok(); });
  auto claimed = q.claim(10, "tester");
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 3u);
  EXPECT_EQ(enqueue("sla.check", "thread-1"), a);  // running: still no double
  for (const auto& j : *claimed) ASSERT_TRUE(q.finish(j, JobResult::ok()).ok());
  EXPECT_EQ(row(a).status, "done");

  std::string again = enqueue("sla.check", "thread-1");  // done: the key is free again
  EXPECT_NE(again, a);
  EXPECT_EQ(row(again).status, "pending");
}

// ---- timing ---------------------------------------------------------------------------------

TEST_P(JobsTest, DueTimeIsRespected) {
  JobQueue q(core());
  int ran = 0;
  q.register_handler("snooze.wake", [&](const Job&) {
    ++ran;
    return JobResult::ok();
  });
  JobSpec s;
  s.kind = "snooze.wake";
  s.run_at = clock->now() + 10min;
  std::string id = enqueue(s);
  EXPECT_EQ(run(q), 0);
  clock->advance(10min - 1ms);
  EXPECT_EQ(run(q), 0);
  EXPECT_EQ(row(id).status, "pending");
  clock->advance(1ms);
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(row(id).status, "done");
  EXPECT_EQ(run(q), 0);
}

TEST_P(JobsTest, OnlyKindsWithAHandlerAreClaimed) {
  JobQueue q(core());
  std::string id = enqueue("unknown.kind");
  EXPECT_EQ(run(q), 0);  // no handlers at all
  q.register_handler("other", [](const Job&) { return JobResult::ok(); });
  EXPECT_EQ(run(q), 0);
  JobRow j = row(id);
  EXPECT_EQ(j.status, "pending");  // untouched: another instance may know the kind
  EXPECT_EQ(j.attempts, 0);
}

TEST(JobsBackoff, DoublesCapsAndJitters) {
  JobQueueOptions o;  // base 1 s, cap 1 h, ±20%
  EXPECT_EQ(JobQueue::backoff(1, o, 0.5), 1000ms);
  EXPECT_EQ(JobQueue::backoff(2, o, 0.5), 2000ms);
  EXPECT_EQ(JobQueue::backoff(3, o, 0.5), 4000ms);
  EXPECT_EQ(JobQueue::backoff(1, o, 0.0), 800ms);
  EXPECT_LE(JobQueue::backoff(1, o, 0.999999), 1200ms);
  EXPECT_GE(JobQueue::backoff(1, o, 0.999999), 1199ms);
  EXPECT_EQ(JobQueue::backoff(13, o, 0.5), 3600000ms);  // 4096 s > 1 h: capped
  EXPECT_EQ(JobQueue::backoff(1000000, o, 0.5), 3600000ms);  // no overflow
  EXPECT_EQ(JobQueue::backoff(1000000, o, 0.0), 2880000ms);  // jitter applies at the cap too
  o.jitter = 0;
  EXPECT_EQ(JobQueue::backoff(2, o, 0.0), 2000ms);
}

TEST_P(JobsTest, RetryBacksOffExponentially) {
  JobQueue q(core(), no_jitter());
  std::vector<int> attempts;
  q.register_handler("flaky", [&](const Job& j) {
    attempts.push_back(j.attempts);
    return j.attempts < 3 ? JobResult::retry("provider 503") : JobResult::ok();
  });
  std::string id = enqueue("flaky");
  EXPECT_EQ(run(q), 1);  // attempt 1 fails
  JobRow j = row(id);
  EXPECT_EQ(j.status, "pending");
  EXPECT_EQ(j.attempts, 1);
  EXPECT_EQ(j.last_error, "provider 503");
  EXPECT_EQ(j.run_at, clock->now() + 1s);

  clock->advance(999ms);
  EXPECT_EQ(run(q), 0);  // attempt 2 not before base
  clock->advance(1ms);
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(row(id).run_at, clock->now() + 2s);
  clock->advance(1999ms);
  EXPECT_EQ(run(q), 0);  // attempt 3 not before 2 x base
  clock->advance(1ms);
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(row(id).status, "done");
}

TEST_P(JobsTest, RetryJitterStaysWithinTwentyPercent) {
  JobQueue q(core());  // default options: base 1 s, ±20%
  q.register_handler("flaky", [](const Job&) { return JobResult::retry("again"); });
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(enqueue("flaky"));
  EXPECT_EQ(run(q), 20);
  std::set<int64_t> delays;
  for (const auto& id : ids) {
    auto d = (row(id).run_at - clock->now()).count();
    EXPECT_GE(d, 800);
    EXPECT_LE(d, 1200);
    delays.insert(d);
  }
  EXPECT_GT(delays.size(), 1u) << "no jitter at all";
  clock->advance(1200ms);
  EXPECT_EQ(run(q), 20);  // attempt 2 for all
  for (const auto& id : ids) {
    auto d = (row(id).run_at - clock->now()).count();
    EXPECT_GE(d, 1600);
    EXPECT_LE(d, 2400);
  }
}

TEST_P(JobsTest, RetryAfterOverridesBackoff) {
  JobQueue q(core());
  q.register_handler("rate.limited", [](const Job& j) {
    return j.attempts == 1 ? JobResult::retry("429", 90s) : JobResult::ok();
  });
  std::string id = enqueue("rate.limited");
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(row(id).run_at, clock->now() + 90s);
  clock->advance(89s);
  EXPECT_EQ(run(q), 0);
  clock->advance(1s);
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(row(id).status, "done");
}

// ---- dead letters ----------------------------------------------------------------------------

TEST_P(JobsTest, ExhaustedAttemptsGoDeadWithAnEvent) {
  JobQueue q(core());
  int calls = 0;
  q.register_handler("doomed", [&](const Job&) {
    ++calls;
    return JobResult::retry("smtp 451 try later");
  });
  std::string id = enqueue("doomed", "doomed-1", 3);
  for (int i = 0; i < 5; ++i) {
    run(q);
    clock->advance(1h + 15min);  // past any backoff
  }
  EXPECT_EQ(calls, 3);
  JobRow j = row(id);
  EXPECT_EQ(j.status, "dead");
  EXPECT_EQ(j.attempts, 3);
  EXPECT_EQ(j.last_error, "smtp 451 try later");
  auto ev = dead_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].first, id);
  banxway::json::Document d;
  ASSERT_TRUE(banxway::json::parse(ev[0].second, &d).ok()) << ev[0].second;
  EXPECT_EQ(std::string(d["job_id"].GetString()), id);
  EXPECT_EQ(std::string(d["kind"].GetString()), "doomed");
  EXPECT_EQ(std::string(d["error"].GetString()), "smtp 451 try later");
  EXPECT_EQ(d["attempts"].GetInt(), 3);
  // Visible through the public event poll as well.
  auto polled = engine->events_poll(who, 0, 100);
  ASSERT_TRUE(polled.ok()) << polled.status().to_string();
  EXPECT_NE(polled->find("job.dead"), std::string::npos) << *polled;
  // Dead frees the unique key.
  EXPECT_NE(enqueue("doomed", "doomed-1", 3), id);
}

TEST_P(JobsTest, FailGoesDeadAtOnce) {
  JobQueue q(core());
  int calls = 0;
  q.register_handler("bad.address", [&](const Job&) {
    ++calls;
    return JobResult::fail("550 no such user");
  });
  std::string id = enqueue("bad.address");
  EXPECT_EQ(run(q), 1);
  clock->advance(2h);
  EXPECT_EQ(run(q), 0);
  EXPECT_EQ(calls, 1);
  JobRow j = row(id);
  EXPECT_EQ(j.status, "dead");
  EXPECT_EQ(j.attempts, 1);
  EXPECT_EQ(j.last_error, "550 no such user");
  ASSERT_EQ(dead_events().size(), 1u);
}

TEST_P(JobsTest, ThrowingHandlerRetries) {
  JobQueue q(core(), no_jitter());
  int calls = 0;
  q.register_handler("throws", [&](const Job&) -> JobResult {
    if (++calls == 1) throw std::runtime_error("kaput");
    return JobResult::ok();
  });
  std::string id = enqueue("throws");
  EXPECT_EQ(run(q), 1);
  JobRow j = row(id);
  EXPECT_EQ(j.status, "pending");
  EXPECT_NE(j.last_error.find("kaput"), std::string::npos) << j.last_error;
  EXPECT_EQ(j.run_at, clock->now() + 1s);
  clock->advance(1s);
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(row(id).status, "done");
}

TEST_P(JobsTest, ErrorTextIsStoredSafely) {
  JobQueue q(core());
  // Invalid UTF-8 and a NUL would make PostgreSQL refuse the write (leaving the job to its
  // lease); overlong text is cut.
  std::string nasty = std::string("bad \xff\xfe bytes \0 here", 19) + std::string(10000, 'x');
  q.register_handler("nasty", [&](const Job&) { return JobResult::fail(nasty); });
  std::string id = enqueue("nasty");
  EXPECT_EQ(run(q), 1);
  JobRow j = row(id);
  EXPECT_EQ(j.status, "dead");
  EXPECT_EQ(j.last_error.substr(0, 19), "bad ?? bytes ? here");
  EXPECT_LE(j.last_error.size(), 4000u);
  // Well-formed-looking but invalid sequences (a UTF-16 surrogate, an overlong '/') too.
  nasty = "surrogate \xED\xA0\x80 overlong \xC0\xAF ok \xC3\xA9";
  std::string id2 = enqueue("nasty");
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(row(id2).last_error, "surrogate ??? overlong ?? ok \xC3\xA9");
}

// ---- leases ---------------------------------------------------------------------------------

TEST_P(JobsTest, LeaseExpiryRecoversACrashedWorkersJob) {
  JobQueue crashed(core());
  crashed.register_handler("imap.poll", [](const Job&) { return JobResult::ok(); });
  std::string id = enqueue("imap.poll");
  auto claimed = crashed.claim(5, "w-crashed");  // claimed, then the "process dies"
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(row(id).status, "running");

  JobQueue q(core());
  std::vector<int> attempts;
  q.register_handler("imap.poll", [&](const Job& j) {
    attempts.push_back(j.attempts);
    return JobResult::ok();
  });
  EXPECT_EQ(run(q), 0);  // leased
  clock->advance(59s);
  EXPECT_EQ(run(q), 0);  // still leased
  clock->advance(1s);
  EXPECT_EQ(run(q), 1);  // lease (60 s) ran out: reclaimed
  EXPECT_EQ(attempts, std::vector<int>{2});
  EXPECT_EQ(row(id).status, "done");

  // The lost worker comes back and reports: its claim is gone, nothing is overwritten.
  Status late = crashed.finish((*claimed)[0], JobResult::retry("late"));
  EXPECT_EQ(late.code(), Code::conflict) << late.to_string();
  EXPECT_EQ(row(id).status, "done");
}

TEST_P(JobsTest, LeaseExpiryOnTheLastAttemptGoesDead) {
  JobQueue crashed(core());
  crashed.register_handler("once", [](const Job&) { return JobResult::ok(); });
  std::string id = enqueue("once", "", 1);
  ASSERT_TRUE(crashed.claim(1, "w-crashed").ok());
  clock->advance(61s);
  JobQueue q(core());
  int calls = 0;
  q.register_handler("once", [&](const Job&) {
    ++calls;
    return JobResult::ok();
  });
  EXPECT_EQ(run(q), 0);
  EXPECT_EQ(calls, 0);
  JobRow j = row(id);
  EXPECT_EQ(j.status, "dead");
  EXPECT_NE(j.last_error.find("lease"), std::string::npos) << j.last_error;
  EXPECT_EQ(dead_events().size(), 1u);
}

TEST_P(JobsTest, ReleaseReturnsAClaimWithoutCountingIt) {
  JobQueue q(core());
  q.register_handler("k", [](const Job&) { return JobResult::ok(); });
  std::string id = enqueue("k");
  auto claimed = q.claim(1, "w");
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_TRUE(q.release((*claimed)[0]).ok());
  JobRow j = row(id);
  EXPECT_EQ(j.status, "pending");
  EXPECT_EQ(j.attempts, 0);
  EXPECT_EQ(q.release((*claimed)[0]).code(), Code::conflict);
  EXPECT_EQ(run(q), 1);
}

// ---- concurrency --------------------------------------------------------------------------

// Two engines (two connection pools, as two server instances would have) claiming from one
// database at once: every job runs exactly once.
TEST_P(JobsTest, ConcurrentQueuesNeverRunAJobTwice) {
  auto engine2 = open_engine();
  ASSERT_TRUE(engine2);
  constexpr int kJobs = 200;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) ids.push_back(enqueue("count"));

  std::mutex mu;
  std::map<std::string, int> runs;
  std::atomic<int> total{0};
  auto handler = [&](const Job& j) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++runs[j.id];
    }
    ++total;
    return JobResult::ok();
  };
  JobQueue q1(engine->impl().core), q2(engine2->impl().core);
  q1.register_handler("count", handler);
  q2.register_handler("count", handler);
  std::atomic<int> by1{0}, by2{0};
  auto drive = [&](JobQueue& q, std::atomic<int>& by) {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (total.load() < kJobs && std::chrono::steady_clock::now() < deadline) {
      auto r = q.run_pending(7);
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      by += *r;
    }
  };
  std::thread t1(drive, std::ref(q1), std::ref(by1));
  std::thread t2(drive, std::ref(q2), std::ref(by2));
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), kJobs);
  EXPECT_EQ(by1 + by2, kJobs);
  EXPECT_EQ(runs.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id << " ran " << n << " times";
  auto r = core().db->query("SELECT COUNT(*) FROM jobs WHERE status = 'done'", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows[0].int64(0), kJobs);
  RecordProperty("queue1", by1.load());
  RecordProperty("queue2", by2.load());
}

// ---- threaded mode -------------------------------------------------------------------------------

struct Counter {
  std::mutex mu;
  std::condition_variable cv;
  int n = 0;
  void bump() {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++n;
    }
    cv.notify_all();
  }
  bool wait_for(int target) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kWait, [&] { return n >= target; });
  }
};

TEST_P(JobsTest, WorkersRunJobsAndStopJoinsPromptly) {
  JobQueueOptions o;
  // A poll interval far longer than the wait below: the jobs can only run in time if enqueue
  // wakes the idle workers.
  o.poll_interval = 1h;
  JobQueue q(core(), o);
  Counter c;
  q.register_handler("tick", [&](const Job&) {
    c.bump();
    return JobResult::ok();
  });
  EXPECT_EQ(q.start(0).code(), Code::invalid_argument);
  ASSERT_TRUE(q.start(3).ok());
  EXPECT_TRUE(q.running());
  EXPECT_EQ(q.start(1).code(), Code::conflict);
  for (int i = 0; i < 20; ++i) enqueue("tick");
  EXPECT_TRUE(c.wait_for(20)) << "ran " << c.n << " of 20";

  auto t = std::chrono::steady_clock::now();
  q.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t, 2s) << "stop() did not wake the workers";
  EXPECT_FALSE(q.running());
  q.stop();  // idempotent
  EXPECT_EQ(c.n, 20);  // each job once, though three workers were claiming

  std::string later = enqueue("tick");  // no workers now: stepping still works
  EXPECT_EQ(run(q), 1);
  EXPECT_EQ(row(later).status, "done");
  // And the pool can be started again.
  ASSERT_TRUE(q.start(1).ok());
  enqueue("tick");
  EXPECT_TRUE(c.wait_for(22));
  q.stop();
}

TEST_P(JobsTest, StopLetsTheRunningJobFinishAndReleasesTheRest) {
  JobQueue q(core());
  std::promise<void> entered, release;
  std::shared_future<void> release_f = release.get_future().share();
  std::atomic<int> calls{0};
  q.register_handler("slow", [&](const Job&) {
    if (calls++ == 0) {
      entered.set_value();
      EXPECT_EQ(release_f.wait_for(kWait), std::future_status::ready);
    }
    return JobResult::ok();
  });
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(enqueue("slow"));
  ASSERT_TRUE(q.start(1).ok());  // one worker claims all five in one batch
  ASSERT_EQ(entered.get_future().wait_for(kWait), std::future_status::ready);
  auto stopped = std::async(std::launch::async, [&] { q.stop(); });
  // stop() must wait for the handler: it cannot finish before we let the handler go.
  EXPECT_EQ(stopped.wait_for(50ms), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(stopped.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(row(ids[0]).status, "done");
  // The four claimed but never started are back to pending at once, attempt not counted.
  for (size_t i = 1; i < ids.size(); ++i) {
    JobRow j = row(ids[i]);
    EXPECT_EQ(j.status, "pending") << i;
    EXPECT_EQ(j.attempts, 0) << i;
  }
  EXPECT_EQ(run(q), 4);
}

// ---- Engine and C ABI -----------------------------------------------------------------------------

TEST_P(JobsTest, EngineStepsAndRunsWorkers) {
  Counter c;
  engine->impl().jobs->register_handler("engine.job", [&](const Job&) {
    c.bump();
    return JobResult::ok();
  });
  enqueue("engine.job");
  auto r = engine->run_pending();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, 1);
  ASSERT_TRUE(engine->start(2).ok());
  enqueue("engine.job");
  EXPECT_TRUE(c.wait_for(2));
  engine->stop();
  ASSERT_TRUE(engine->start(1).ok());
  engine.reset();  // the destructor stops the workers (a hang here would time the test out)
}

TEST_P(JobsTest, CApi) {
  banxway_engine* e = nullptr;
  std::string config = "{\"database_url\": \"" + url + "\"}";
  ASSERT_EQ(banxway_open(&e, config.c_str()), BANXWAY_OK) << banxway_error_last();
  int ran = -1;
  EXPECT_EQ(banxway_run_pending(&ran, e, 10), BANXWAY_OK) << banxway_error_last();
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(banxway_run_pending(&ran, e, 0), BANXWAY_EINVALID);
  EXPECT_EQ(banxway_run_pending(nullptr, e, 10), BANXWAY_EINVALID);
  EXPECT_EQ(banxway_run_pending(&ran, nullptr, 10), BANXWAY_EINVALID);
  EXPECT_EQ(banxway_start(e, 0), BANXWAY_EINVALID);
  EXPECT_EQ(banxway_start(nullptr, 1), BANXWAY_EINVALID);
  EXPECT_EQ(banxway_start(e, 2), BANXWAY_OK) << banxway_error_last();
  EXPECT_EQ(banxway_start(e, 2), BANXWAY_ECONFLICT);
  banxway_stop(e);
  banxway_stop(e);
  banxway_stop(nullptr);
  EXPECT_EQ(banxway_start(e, 1), BANXWAY_OK);
  banxway_close(e);  // with workers running
}

INSTANTIATE_TEST_SUITE_P(Backends, JobsTest, ::testing::ValuesIn(bxtest::backends()),
                         bxtest::BackendName());

}  // namespace
