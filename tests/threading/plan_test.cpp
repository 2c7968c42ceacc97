// Query plans on SQLite (which has no statistics, so its planner's choice is fixed by the
// schema and the SQL text) of statements that once read every row of an organization: the
// thread-counter refresh and the notification moves of merges and splits, the lookup of the
// notification-email thread, the customer overview's reads and what a split moves with each
// message. Each must seek its own rows.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/threading.hpp"
#include "services/customers.hpp"
#include "services/threads.hpp"
#include "store/db.hpp"

namespace {

std::vector<std::string> plan(banxway::store::Db& db, const std::string& sql, size_t params) {
  std::vector<banxway::store::Value> args(params);
  auto r = db.query("EXPLAIN QUERY PLAN " + sql, args);
  EXPECT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> out;
  if (r.ok())
    for (size_t i = 0; i < r->size(); ++i) out.emplace_back(r->rows[i].text(3));
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TEST(SqlitePlans, ThreadCounterRefreshSeeksTheThreadsMessages) {
  auto db = banxway::store::open("sqlite::memory:");
  ASSERT_TRUE(db.ok()) << db.status().message();
  const std::string& sql = banxway::pipeline::thread_counters_sql(banxway::store::Dialect::sqlite);
  auto lines = plan(**db, sql, 10);
  int seeks = 0;
  for (const auto& l : lines) {
    if (l.find("messages") == std::string::npos || l.rfind("SEARCH", 0) != 0) continue;
    EXPECT_NE(l.find("(org_id=? AND thread_id=?)"), std::string::npos) << joined(lines);
    seeks += 1;
  }
  EXPECT_EQ(seeks, 3) << joined(lines);  // count, newest date, preview
}

TEST(SqlitePlans, NotificationsMoveWithTheirThreadOrMessageByIndex) {
  auto db = banxway::store::open("sqlite::memory:");
  ASSERT_TRUE(db.ok()) << db.status().message();
  // threads.merge (pipeline::merge_threads) and threads.split (services/thread_ops.cpp).
  auto by_thread =
      plan(**db, "UPDATE notifications SET thread_id = ? WHERE org_id = ? AND thread_id = ?", 3);
  EXPECT_NE(joined(by_thread).find("USING INDEX notifications_thread (thread_id=?)"),
            std::string::npos)
      << joined(by_thread);
  auto by_message =
      plan(**db, "UPDATE notifications SET thread_id = ? WHERE org_id = ? AND message_id = ?", 3);
  EXPECT_NE(joined(by_message).find("USING INDEX notifications_message (message_id=?)"),
            std::string::npos)
      << joined(by_message);
}

TEST(SqlitePlans, TheNotificationEmailThreadIsFoundByIndex) {
  auto db = banxway::store::open("sqlite::memory:");
  ASSERT_TRUE(db.ok()) << db.status().message();
  // services/notifications.cpp, once per notification email.
  auto lines = plan(**db,
                    "SELECT id FROM threads WHERE org_id = ? AND system_kind = 'notifications' "
                    "ORDER BY created_at, id LIMIT 1",
                    1);
  EXPECT_NE(joined(lines).find("threads_system_kind (org_id=? AND system_kind=?)"),
            std::string::npos)
      << joined(lines);
}

TEST(SqlitePlans, ASplitMovesAMessagesReferencesAndActionsThroughItsThread) {
  auto db = banxway::store::open("sqlite::memory:");
  ASSERT_TRUE(db.ok()) << db.status().message();
  auto refs = plan(**db, banxway::services::kSplitMoveRefsSql, 4);
  EXPECT_NE(joined(refs).find("message_refs_thread (org_id=? AND thread_id=?)"), std::string::npos)
      << joined(refs);
  auto actions = plan(**db, banxway::services::kSplitMoveActionsSql, 4);
  EXPECT_NE(joined(actions).find("actions_thread (org_id=? AND thread_id=?)"), std::string::npos)
      << joined(actions);
}

TEST(SqlitePlans, TheCustomerOverviewSeeksTheCustomersThreads) {
  auto db = banxway::store::open("sqlite::memory:");
  ASSERT_TRUE(db.ok()) << db.status().message();
  const auto d = banxway::store::Dialect::sqlite;
  const std::string by_customer = "threads_org_customer (org_id=? AND customer_id=?)";
  // Most recent open threads: the customer's threads, sorted (not the organization's threads
  // in activity order, filtered).
  auto recent = plan(**db, banxway::services::customer_recent_open_threads_sql(d, "id", 5), 2);
  EXPECT_NE(joined(recent).find(by_customer), std::string::npos) << joined(recent);
  // Last contact: each of the customer's threads, then its messages (not every message of the
  // organization, each joined to its thread).
  auto last = plan(**db, banxway::services::customer_last_contact_sql(d), 2);
  EXPECT_NE(joined(last).find(by_customer), std::string::npos) << joined(last);
  EXPECT_NE(joined(last).find("messages_thread_direction (org_id=? AND thread_id=?"),
            std::string::npos)
      << joined(last);
  EXPECT_EQ(joined(last).find("SCAN"), std::string::npos) << joined(last);
}

}  // namespace
