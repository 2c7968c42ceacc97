// Engine::live_* on every backend: events arrive once, in id order, with nothing skipped even
// while several threads write at once; organizations stay apart; live_read pages the past;
// signals reach the handler. On PostgreSQL a second engine on the same database sees the
// first one's events (LISTEN/NOTIFY) and signals.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "api/context.hpp"
#include "engine_impl.hpp"
#include "support/engine_fixture.hpp"

using banxway::LiveEvents;

namespace {

class LiveFeedTest : public bxtest::EngineTest {};

// Collects what the feed hands over.
struct Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int64_t> ids;
  std::vector<std::string> orgs;
  std::vector<std::string> signals;

  banxway::LiveHandler handler() {
    banxway::LiveHandler h;
    h.on_events = [this](const std::string& org, const LiveEvents& b) {
      std::lock_guard<std::mutex> l(mu);
      for (const auto& e : b) {
        ids.push_back(e->id);
        orgs.push_back(org);
        EXPECT_EQ(e->org_id, org);
        EXPECT_EQ(e->json.front(), '{');
      }
      cv.notify_all();
    };
    h.on_signal = [this](const std::string& p) {
      std::lock_guard<std::mutex> l(mu);
      signals.push_back(p);
      cv.notify_all();
    };
    return h;
  }

  template <class Pred>
  bool wait(Pred p, int ms = 10000) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::milliseconds(ms), p);
  }
};

std::vector<int64_t> event_ids(banxway::Engine& e, const std::string& org, int64_t after) {
  std::vector<int64_t> out;
  for (;;) {
    auto page = e.live_read(org, after, 0, 500);
    EXPECT_TRUE(page.ok());
    if (!page.ok() || page->empty()) break;
    for (auto& ev : *page) out.push_back(ev->id);
    after = page->back()->id;
  }
  return out;
}

/// The first column of every row a query returns, in order.
std::vector<std::string> first_column(banxway::store::Db& db, std::string_view sql,
                                      std::initializer_list<banxway::store::Value> params) {
  auto rows = db.query(sql, params);
  EXPECT_TRUE(rows.ok()) << rows.status().to_string();
  std::vector<std::string> out;
  if (rows.ok())
    for (const auto& r : rows->rows) out.push_back(r.str(0));
  return out;
}

TEST_P(LiveFeedTest, ConcurrentWritersNoGapsNoRepeats) {
  Sink sink;
  ASSERT_TRUE(engine->live_start(sink.handler()).ok());
  auto head = engine->live_watch(org_a);
  ASSERT_TRUE(head.ok());
  // Org B is written too but never watched: none of its events may arrive.
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        auto r = engine->call("threads.create",
                              "{\"subject\":\"w" + std::to_string(w) + "-" + std::to_string(i) + "\"}",
                              (w % 2 == 0) ? key_a : key_b);
        if (!r.ok()) failures++;
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);
  auto want = event_ids(*engine, org_a, *head);
  ASSERT_GE(want.size(), 50u);
  ASSERT_TRUE(sink.wait([&] { return sink.ids.size() >= want.size(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // nothing extra may follow
  std::lock_guard<std::mutex> l(sink.mu);
  EXPECT_EQ(sink.ids, want);
  for (const auto& o : sink.orgs) EXPECT_EQ(o, org_a);
  engine->live_stop();
}

TEST_P(LiveFeedTest, WatchReturnsHeadAndReadPagesThePast) {
  ok("threads.create", R"({"subject":"before watching"})");
  auto all_before = event_ids(*engine, org_a, 0);
  ASSERT_FALSE(all_before.empty());
  Sink sink;
  ASSERT_TRUE(engine->live_start(sink.handler()).ok());
  auto head = engine->live_watch(org_a);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, all_before.back());
  // Bounded read: (after, upto].
  auto page = engine->live_read(org_a, 0, all_before.back(), 1000);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), all_before.size());
  ok("threads.create", R"({"subject":"after watching"})");
  ASSERT_TRUE(sink.wait([&] { return !sink.ids.empty(); }));
  {
    std::lock_guard<std::mutex> l(sink.mu);
    EXPECT_GT(sink.ids.front(), *head);
  }
  EXPECT_FALSE(engine->live_watch("not-a-uuid").ok());
  EXPECT_EQ(engine->live_start(sink.handler()).code(), banxway::Code::conflict);
  engine->live_stop();
}

TEST_P(LiveFeedTest, UnwatchedOrganizationsAreNotRead) {
  Sink sink;
  ASSERT_TRUE(engine->live_start(sink.handler()).ok());
  ASSERT_TRUE(engine->live_watch(org_a).ok());
  engine->live_unwatch(org_a);
  ok("threads.create", R"({"subject":"nobody watches"})");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the 1 s safety poll
  {
    std::lock_guard<std::mutex> l(sink.mu);
    EXPECT_TRUE(sink.ids.empty());
  }
  auto all = event_ids(*engine, org_a, 0);
  auto head = engine->live_watch(org_a);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, all.back());  // watching again starts at the present
  ok("threads.create", R"({"subject":"watched again"})");
  ASSERT_TRUE(sink.wait([&] { return !sink.ids.empty(); }));
  std::lock_guard<std::mutex> l(sink.mu);
  EXPECT_GT(sink.ids.front(), *head);
  engine->live_stop();
}

TEST_P(LiveFeedTest, SignalsReachTheHandler) {
  Sink sink;
  ASSERT_TRUE(engine->live_start(sink.handler()).ok());
  ASSERT_TRUE(engine->live_signal(R"({"k":"hello"})").ok());
  ASSERT_TRUE(sink.wait([&] { return !sink.signals.empty(); }));
  std::lock_guard<std::mutex> l(sink.mu);
  EXPECT_EQ(sink.signals.front(), R"({"k":"hello"})");
  engine->live_stop();
}

// Events and audit rows appended inside a savepoint that rolls back are not written, those
// around it are, in order (on PostgreSQL they wait in the connection until just before COMMIT).
TEST_P(LiveFeedTest, EventsOfARolledBackSavepointAreNotWritten) {
  auto& core = engine->impl().core;
  auto who = engine->system_principal(org_a, "test");
  ASSERT_TRUE(who.ok());
  banxway::api::Ctx ctx(core, *who, "test");
  auto st = core.db->transaction([&](banxway::store::Conn& c) -> banxway::Status {
    BX_RETURN_IF_ERROR(ctx.event(c, "test.first", "thing", "1", std::nullopt, "{}"));
    BX_RETURN_IF_ERROR(ctx.audit(c, "thing", "1"));
    banxway::Status inner = core.db->transaction([&](banxway::store::Conn& c2) -> banxway::Status {
      BX_RETURN_IF_ERROR(ctx.event(c2, "test.dropped", "thing", "2", std::nullopt, "{}"));
      BX_RETURN_IF_ERROR(ctx.audit(c2, "thing", "2"));
      return banxway::Internal("fail on purpose");
    });
    EXPECT_FALSE(inner.ok());
    BX_RETURN_IF_ERROR(ctx.audit(c, "thing", "3"));
    return ctx.event(c, "test.last", "thing", "3", std::nullopt, "{}");
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(first_column(*core.db,
                         "SELECT type FROM events WHERE org_id = ? AND type LIKE 'test.%' "
                         "ORDER BY id",
                         {org_a}),
            (std::vector<std::string>{"test.first", "test.last"}));
  EXPECT_EQ(first_column(*core.db,
                         "SELECT target_id FROM audit WHERE org_id = ? AND target_type = 'thing' "
                         "ORDER BY target_id",
                         {org_a}),
            (std::vector<std::string>{"1", "3"}));
}

TEST_P(LiveFeedTest, SecondEngineOnPostgresSeesEventsAndSignals) {
  if (GetParam() != "postgres") GTEST_SKIP() << "processes share a database only on PostgreSQL";
  banxway::EngineOptions o;
  o.database_url = url;
  o.watch_mail = false;
  auto other = banxway::Engine::open(o);
  ASSERT_TRUE(other.ok()) << other.status().to_string();
  Sink sink;
  ASSERT_TRUE((*other)->live_start(sink.handler()).ok());
  auto head = (*other)->live_watch(org_a);
  ASSERT_TRUE(head.ok());
  for (int i = 0; i < 5; ++i) ok("threads.create", R"({"subject":"from engine one"})");
  auto want = event_ids(*engine, org_a, *head);
  // Woken by NOTIFY, well before the once-a-second poll would matter for 5 events.
  ASSERT_TRUE(sink.wait([&] { return sink.ids.size() >= want.size(); }));
  {
    std::lock_guard<std::mutex> l(sink.mu);
    EXPECT_EQ(sink.ids, want);
  }
  ASSERT_TRUE(engine->live_signal(R"({"k":"from-one"})").ok());
  ASSERT_TRUE(sink.wait([&] {
    for (auto& s : sink.signals)
      if (s == R"({"k":"from-one"})") return true;
    return false;
  }));
  (*other)->live_stop();
}

BX_INSTANTIATE_BACKENDS(LiveFeedTest);

}  // namespace
