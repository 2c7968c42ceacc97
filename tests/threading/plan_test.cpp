// Query plans on SQLite (which has no statistics, so its planner's choice is fixed by the
// schema and the SQL text) of statements that once read every row of an organization: the
// thread-counter refresh and the notification moves of merges and splits, the lookup of the
// notification-email thread, the customer overview's reads and what a split moves with each
// message. Each must seek its own rows. Every statement is the product's own, exported by its
// module, so a change there is what the test sees.
#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/threading.hpp"
#include "services/customers.hpp"
#include "services/notifications.hpp"
#include "services/threads.hpp"
#include "store/db.hpp"

namespace {

// Every test plans against an empty in-memory database with the full schema: without
// statistics the plan depends on the schema and the SQL text only.
class SqlitePlans : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = banxway::store::open("sqlite::memory:");
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
  }
  // The plan of `sql` (with `params` unbound parameters), one line per step.
  std::vector<std::string> plan(const std::string& sql, size_t params) {
    std::vector<banxway::store::Value> args(params);
    auto r = db_->query("EXPLAIN QUERY PLAN " + sql, args);
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<std::string> out;
    if (r.ok())
      for (size_t i = 0; i < r->size(); ++i) out.emplace_back(r->rows[i].text(3));
    return out;
  }
  // The whole plan as text, with a check that it contains each of `steps`.
  std::string expect_plan_has(const std::string& sql, size_t params,
                              std::initializer_list<std::string_view> steps) {
    std::string text;
    for (const auto& l : plan(sql, params)) text += l + "\n";
    for (std::string_view step : steps)
      EXPECT_NE(text.find(step), std::string::npos) << "no \"" << step << "\" in:\n" << text;
    return text;
  }
  std::unique_ptr<banxway::store::Db> db_;
};

TEST_F(SqlitePlans, ThreadCounterRefreshSeeksTheThreadsMessages) {
  const std::string& sql = banxway::pipeline::thread_counters_sql(banxway::store::Dialect::sqlite);
  auto lines = plan(sql, 10);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  int seeks = 0;
  for (const auto& l : lines) {
    if (l.find("messages") == std::string::npos || l.rfind("SEARCH", 0) != 0) continue;
    EXPECT_NE(l.find("(org_id=? AND thread_id=?)"), std::string::npos) << text;
    seeks += 1;
  }
  EXPECT_EQ(seeks, 3) << text;  // count, newest date, preview
}

TEST_F(SqlitePlans, NotificationsMoveWithTheirThreadOrMessageByIndex) {
  // threads.merge (pipeline::merge_threads) and threads.split (services/thread_ops.cpp).
  expect_plan_has(banxway::pipeline::kMergeMoveNotificationsSql, 3,
                  {"USING INDEX notifications_thread (thread_id=?)"});
  expect_plan_has(banxway::services::kSplitMoveNotificationsSql, 3,
                  {"USING INDEX notifications_message (message_id=?)"});
}

TEST_F(SqlitePlans, TheNotificationEmailThreadIsFoundByIndex) {
  // services/notifications.cpp, once per notification email.
  expect_plan_has(banxway::services::kNotificationThreadSql, 1,
                  {"threads_system_kind (org_id=? AND system_kind=?)"});
}

TEST_F(SqlitePlans, ASplitMovesAMessagesReferencesAndActionsThroughItsThread) {
  expect_plan_has(banxway::services::kSplitMoveRefsSql, 4,
                  {"message_refs_thread (org_id=? AND thread_id=?)"});
  expect_plan_has(banxway::services::kSplitMoveActionsSql, 4,
                  {"actions_thread (org_id=? AND thread_id=?)"});
}

TEST_F(SqlitePlans, TheCustomerOverviewSeeksTheCustomersThreads) {
  const auto d = banxway::store::Dialect::sqlite;
  const std::string_view by_customer = "threads_org_customer (org_id=? AND customer_id=?)";
  // Most recent open threads: the customer's threads, sorted (not the organization's threads
  // in activity order, filtered).
  expect_plan_has(banxway::services::customer_recent_open_threads_sql(d, "id", 5), 2,
                  {by_customer});
  // Last contact: each of the customer's threads, then its messages (not every message of the
  // organization, each joined to its thread).
  std::string last =
      expect_plan_has(banxway::services::customer_last_contact_sql(d), 2,
                      {by_customer, "messages_thread_direction (org_id=? AND thread_id=?"});
  EXPECT_EQ(last.find("SCAN"), std::string::npos) << last;
}

}  // namespace
