// The Db interface, run on every backend: the same SQL text must give the same results.
#include "store/db.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/backends.hpp"

namespace {

using banxway::Code;
using banxway::Status;
using banxway::store::Conn;
using banxway::store::Db;
using banxway::store::Dialect;
using banxway::store::Rows;
using banxway::store::Value;

constexpr const char* kOrg = "0190a0a0-0000-7000-8000-000000000001";
constexpr const char* kOtherOrg = "0190a0a0-0000-7000-8000-000000000002";
constexpr const char* kThread = "0190a0a0-0000-7000-8000-000000000101";
constexpr const char* kT0 = "2026-01-02T03:04:05.678Z";
constexpr const char* kT1 = "2026-01-02T03:04:06.000Z";
constexpr const char* kT2 = "2026-03-04T23:59:59.999Z";

class DbTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    BX_SKIP_IF_NO_BACKEND(GetParam());
    url_ = bxtest::fresh_database_url(GetParam());
    auto db = banxway::store::open(url_);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(db).value();
  }

  /// Runs one statement in its own transaction.
  Status exec(std::string_view sql, std::initializer_list<Value> params = {}) {
    std::vector<Value> p(params);
    return db_->transaction([&](Conn& c) { return c.query(sql, p).status(); });
  }

  Rows must_query(std::string_view sql, std::initializer_list<Value> params = {}) {
    auto r = db_->query(sql, params);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(r).value() : Rows{};
  }

  int64_t count(std::string_view table) {
    Rows r = must_query("SELECT COUNT(*) FROM " + std::string(table));
    return r.empty() ? -1 : r[0].int64(0);
  }

  void insert_org(const char* id, const char* name = "Acme Freight") {
    ASSERT_TRUE(exec("INSERT INTO organizations (id, name, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?)",
                     {id, name, kT0, kT0})
                    .ok());
  }

  void insert_thread(const char* id, Value subject, const char* activity) {
    Status st = exec(
        "INSERT INTO threads (id, org_id, subject, last_activity_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        {id, kOrg, subject, activity, kT0, kT0});
    ASSERT_TRUE(st.ok()) << st.to_string();
  }

  void insert_message(const char* id, Value subject, Value body) {
    Status st = exec(
        "INSERT INTO messages (id, org_id, thread_id, channel, direction, subject, body_text, "
        "created_at) VALUES (?, ?, ?, 'email', 'inbound', ?, ?, ?)",
        {id, kOrg, kThread, subject, body, kT0});
    ASSERT_TRUE(st.ok()) << st.to_string();
  }

  /// Ids of this org's messages matching a search, sorted. The one query that differs by backend.
  std::vector<std::string> search(const std::string& words) {
    const char* sql = db_->dialect() == Dialect::sqlite
                          ? "SELECT m.id FROM messages m JOIN messages_fts f ON f.rowid = m.rowid "
                            "WHERE m.org_id = ? AND messages_fts MATCH ? ORDER BY m.id"
                          : "SELECT id FROM messages WHERE org_id = ? "
                            "AND search @@ plainto_tsquery('simple', ?) ORDER BY id";
    std::vector<std::string> ids;
    for (const auto& row : must_query(sql, {kOrg, words})) ids.push_back(row.str(0));
    return ids;
  }

  std::string url_;
  std::unique_ptr<Db> db_;
};

TEST_P(DbTest, MigrationsApplyOnceAndAreIdempotent) {
  auto v = db_->schema_version();
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_GE(*v, 1);
  EXPECT_EQ(count("schema_migrations"), *v);
  EXPECT_TRUE(db_->ping().ok());

  insert_org(kOrg);
  db_.reset();
  auto again = banxway::store::open(url_);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  db_ = std::move(again).value();
  auto v2 = db_->schema_version();
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, *v);
  EXPECT_EQ(count("schema_migrations"), *v);
  EXPECT_EQ(count("organizations"), 1) << "reopening must not recreate tables";

  auto direct = banxway::store::migrate(*db_);
  ASSERT_TRUE(direct.ok()) << direct.status().to_string();
  EXPECT_EQ(*direct, *v);
}

TEST_P(DbTest, ThreadRoundTripGivesTheSameTextOnEveryBackend) {
  insert_org(kOrg);
  Status st = exec(
      "INSERT INTO threads (id, org_id, subject, status, priority, channels, tags, snoozed_until, "
      "first_response_due_at, last_message_at, last_activity_at, preview, message_count, "
      "unread_count, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {kThread, kOrg, "Booking 4711 — ETA? \"urgent\"", "pending", "high", R"(["email","sms"])",
       R"(["customs","reefer"])", nullptr, kT1, kT1, kT2, "Näher an Hamburg", 3, int64_t{0}, kT0,
       kT0});
  ASSERT_TRUE(st.ok()) << st.to_string();

  Rows r = must_query(
      "SELECT id, org_id, subject, status, priority, assignee_id, channels, tags, snoozed_until, "
      "first_response_due_at, resolution_due_at, last_message_at, last_activity_at, preview, "
      "message_count, unread_count, created_at, updated_at FROM threads "
      "WHERE org_id = ? AND id = ?",
      {kOrg, kThread});
  ASSERT_EQ(r.size(), 1u);
  const auto& row = r[0];
  ASSERT_EQ(row.size(), 18u);
  EXPECT_EQ(r.columns[0], "id");
  EXPECT_EQ(r.columns[12], "last_activity_at");
  EXPECT_EQ(row.text(0), kThread);
  EXPECT_EQ(row.text(1), kOrg);
  EXPECT_EQ(row.text(2), "Booking 4711 — ETA? \"urgent\"");
  EXPECT_EQ(row.text(3), "pending");
  EXPECT_EQ(row.text(4), "high");
  EXPECT_TRUE(row.is_null(5));
  EXPECT_EQ(row.text(6), R"(["email","sms"])");
  EXPECT_EQ(row.text(7), R"(["customs","reefer"])");
  EXPECT_TRUE(row.is_null(8));
  EXPECT_EQ(row.text(9), kT1);
  EXPECT_TRUE(row.is_null(10));
  EXPECT_EQ(row.text(11), kT1);
  EXPECT_EQ(row.text(12), kT2);
  EXPECT_EQ(row.text(13), "Näher an Hamburg");
  EXPECT_EQ(row.text(14), "3");
  EXPECT_EQ(row.int64(14), 3);
  EXPECT_EQ(row.int64(15), 0);
  EXPECT_EQ(row.text(16), kT0);
  EXPECT_EQ(row.text(17), kT0);

  // Column defaults come back as the same text too.
  insert_thread("0190a0a0-0000-7000-8000-000000000102", nullptr, kT0);
  Rows d = must_query(
      "SELECT status, priority, channels, tags, message_count FROM threads "
      "WHERE id = ?",
      {"0190a0a0-0000-7000-8000-000000000102"});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].text(0), "open");
  EXPECT_EQ(d[0].text(1), "normal");
  EXPECT_EQ(d[0].text(2), "[]");
  EXPECT_EQ(d[0].text(3), "[]");
  EXPECT_EQ(d[0].text(4), "0");
}

TEST_P(DbTest, TimeParametersCompareAndAggregateAsTimes) {
  insert_org(kOrg);
  insert_thread(kThread, "a", kT0);
  insert_thread("0190a0a0-0000-7000-8000-000000000102", "b", kT1);
  insert_thread("0190a0a0-0000-7000-8000-000000000103", "c", kT2);

  Rows before = must_query(
      "SELECT subject FROM threads WHERE org_id = ? AND last_activity_at < ? "
      "ORDER BY last_activity_at DESC, id DESC",
      {kOrg, kT2});
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].text(0), "b");
  EXPECT_EQ(before[1].text(0), "a");

  Rows agg = must_query(
      "SELECT MAX(last_activity_at), MIN(last_activity_at), COUNT(*) FROM threads WHERE org_id = ?",
      {kOrg});
  ASSERT_EQ(agg.size(), 1u);
  EXPECT_EQ(agg[0].text(0), kT2);
  EXPECT_EQ(agg[0].text(1), kT0);
  EXPECT_EQ(agg[0].int64(2), 3);

  Rows none = must_query("SELECT COALESCE(MAX(message_count), 0) FROM threads WHERE org_id = ?",
                         {kOtherOrg});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].int64(0), 0);
}

TEST_P(DbTest, MessageRoundTripWithJsonNullsAndIntegers) {
  insert_org(kOrg);
  insert_thread(kThread, "Rates", kT0);
  const char* id = "0190a0a0-0000-7000-8000-000000000201";
  Status st = exec(
      "INSERT INTO messages (id, org_id, thread_id, channel, direction, from_addr, to_addrs, "
      "subject, body_text, message_id, refs, analysis, sent_at, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, kOrg, kThread, "email", "inbound", "ops@shipper.example",
       R"(["desk@forwarder.example"])", "Rates", "Line one\nline two: 40' HC?",
       "<abc@mail.example>", R"(["<x@y>","<z@w>"])", R"({"intent":"quote"})", kT1, kT0});
  ASSERT_TRUE(st.ok()) << st.to_string();

  Rows r = must_query(
      "SELECT from_addr, to_addrs, cc_addrs, body_text, message_id, refs, analysis, sent_at, "
      "created_at, author_id, provider_id, status FROM messages WHERE org_id = ? AND id = ?",
      {kOrg, id});
  ASSERT_EQ(r.size(), 1u);
  const auto& row = r[0];
  EXPECT_EQ(row.text(0), "ops@shipper.example");
  EXPECT_EQ(row.text(1), R"(["desk@forwarder.example"])");
  EXPECT_EQ(row.text(2), "[]");
  EXPECT_EQ(row.text(3), "Line one\nline two: 40' HC?");
  EXPECT_EQ(row.text(4), "<abc@mail.example>");
  EXPECT_EQ(row.text(5), R"(["<x@y>","<z@w>"])");
  EXPECT_EQ(row.text(6), R"({"intent":"quote"})");
  EXPECT_EQ(row.text(7), kT1);
  EXPECT_EQ(row.text(8), kT0);
  EXPECT_TRUE(row.is_null(9));
  EXPECT_TRUE(row.is_null(10));
  EXPECT_TRUE(row.is_null(11));

  // Integer, real and boolean-as-integer parameters.
  st = exec(
      "INSERT INTO attachments (id, org_id, message_id, blob_sha256, size, is_inline, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)",
      {"0190a0a0-0000-7000-8000-000000000301", kOrg, id, "ab12", int64_t{5'000'000'000}, true,
       kT0});
  ASSERT_TRUE(st.ok()) << st.to_string();
  Rows a =
      must_query("SELECT size, is_inline, size * 1.5 FROM attachments WHERE message_id = ?", {id});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].int64(0), 5'000'000'000);
  EXPECT_TRUE(a[0].boolean(1));
  EXPECT_DOUBLE_EQ(a[0].real(2), 7'500'000'000.0);
  Rows half = must_query("SELECT COUNT(*) FROM attachments WHERE size > ?", {2.5e9});
  ASSERT_EQ(half.size(), 1u);
  EXPECT_EQ(half[0].int64(0), 1);
}

TEST_P(DbTest, QuestionMarksInLiteralsIdentifiersAndCommentsAreNotPlaceholders) {
  Rows r = must_query(
      "SELECT 'what?' AS \"q?\", ? AS p, -- is this a parameter?\n"
      "'it''s ?' AS s /* nor ? this */",
      {"x"});
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r.columns.size(), 3u);
  EXPECT_EQ(r.columns[0], "q?");
  EXPECT_EQ(r[0].text(0), "what?");
  EXPECT_EQ(r[0].text(1), "x");
  EXPECT_EQ(r[0].text(2), "it's ?");

  insert_org(kOrg);
  insert_thread(kThread, "why?", kT0);
  Rows t = must_query("SELECT id FROM threads WHERE subject = 'why?' AND org_id = ?", {kOrg});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].text(0), kThread);
}

TEST_P(DbTest, WrongParameterCountIsAnError) {
  auto r = db_->query("SELECT ? AS a, ? AS b", {"only one"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::internal);
}

TEST_P(DbTest, UniqueViolationIsAlreadyExists) {
  insert_org(kOrg);
  Status st = exec(
      "INSERT INTO organizations (id, name, created_at, updated_at) "
      "VALUES (?, ?, ?, ?)",
      {kOrg, "Again", kT0, kT0});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::already_exists) << st.to_string();

  // A partial unique index too.
  insert_thread(kThread, "x", kT0);
  const char* sql =
      "INSERT INTO messages (id, org_id, thread_id, channel, direction, message_id, created_at) "
      "VALUES (?, ?, ?, 'email', 'inbound', ?, ?)";
  ASSERT_TRUE(
      exec(sql, {"0190a0a0-0000-7000-8000-000000000201", kOrg, kThread, "<m@x>", kT0}).ok());
  st = exec(sql, {"0190a0a0-0000-7000-8000-000000000202", kOrg, kThread, "<m@x>", kT0});
  EXPECT_EQ(st.code(), Code::already_exists) << st.to_string();
}

TEST_P(DbTest, ConstraintViolationsAreInvalidArgument) {
  // Foreign key: the organization does not exist.
  Status st = exec(
      "INSERT INTO threads (id, org_id, last_activity_at, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?)",
      {kThread, kOtherOrg, kT0, kT0, kT0});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::invalid_argument) << st.to_string();

  insert_org(kOrg);
  // CHECK constraint.
  st = exec(
      "INSERT INTO threads (id, org_id, status, last_activity_at, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {kThread, kOrg, "bogus", kT0, kT0, kT0});
  EXPECT_EQ(st.code(), Code::invalid_argument) << st.to_string();
  // NOT NULL.
  st = exec("INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
            {kOtherOrg, nullptr, kT0, kT0});
  EXPECT_EQ(st.code(), Code::invalid_argument) << st.to_string();
  EXPECT_EQ(count("threads"), 0);
}

TEST_P(DbTest, FailedTransactionWritesNothing) {
  insert_org(kOrg);
  const char* insert_user =
      "INSERT INTO users (id, org_id, email, role, created_at, updated_at) "
      "VALUES (?, ?, ?, 'agent', ?, ?)";

  // fn returns an error after a successful insert.
  Status st = db_->transaction([&](Conn& c) -> Status {
    auto r = c.query(insert_user, {"0190a0a0-0000-7000-8000-000000000011", kOrg, "a@x", kT0, kT0});
    if (!r.ok()) return r.status();
    return banxway::Conflict("changed my mind");
  });
  EXPECT_EQ(st.code(), Code::conflict);
  EXPECT_EQ(count("users"), 0);

  // A statement fails halfway; fn ignores the error and returns OK: still nothing written.
  st = db_->transaction([&](Conn& c) -> Status {
    auto r = c.query(insert_user, {"0190a0a0-0000-7000-8000-000000000012", kOrg, "b@x", kT0, kT0});
    if (!r.ok()) return r.status();
    (void)c.query(insert_user, {"0190a0a0-0000-7000-8000-000000000012", kOrg, "b@x", kT0, kT0});
    return Status();
  });
  if (db_->dialect() == Dialect::postgres) {
    // PostgreSQL aborts the whole transaction on the first error; it must say so.
    EXPECT_EQ(st.code(), Code::already_exists) << st.to_string();
    EXPECT_EQ(count("users"), 0);
  }

  // An exception rolls back too.
  const int64_t users_before = count("users");
  st = db_->transaction([&](Conn& c) -> Status {
    (void)c.query(insert_user, {"0190a0a0-0000-7000-8000-000000000013", kOrg, "c@x", kT0, kT0});
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(st.code(), Code::internal);
  EXPECT_NE(st.message().find("boom"), std::string::npos);
  EXPECT_EQ(count("users"), users_before);

  // And the database is still usable afterwards.
  st = db_->transaction([&](Conn& c) -> Status {
    return c.query(insert_user, {"0190a0a0-0000-7000-8000-000000000014", kOrg, "d@x", kT0, kT0})
        .status();
  });
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(count("users"), users_before + 1);
}

// Conn::write_deferred: on PostgreSQL the write travels with the next statement. It must
// still be seen by that statement, and a failure must be reported by the savepoint it was
// made in (which alone rolls back), or fail the whole transaction at the top level.
TEST_P(DbTest, DeferredWritesKeepTheirOrderAndFailInTheirOwnSavepoint) {
  insert_org(kOrg);
  const char* insert_user =
      "INSERT INTO users (id, org_id, email, role, created_at, updated_at) "
      "VALUES (?, ?, ?, 'agent', ?, ?)";
  auto user = [&](Conn& c, const char* id, const char* email) {
    return c.write_deferred(insert_user, {id, kOrg, email, kT0, kT0});
  };
  auto has = [&](const char* id) {
    return !must_query("SELECT id FROM users WHERE id = ?", {id}).empty();
  };
  const char* u1 = "0190a0a0-0000-7000-8000-000000000021";
  const char* u2 = "0190a0a0-0000-7000-8000-000000000022";
  const char* u3 = "0190a0a0-0000-7000-8000-000000000023";
  const char* u4 = "0190a0a0-0000-7000-8000-000000000024";
  const char* u5 = "0190a0a0-0000-7000-8000-000000000025";
  const char* u6 = "0190a0a0-0000-7000-8000-000000000026";

  // Seen by the next statement of the same transaction, and committed.
  int64_t seen = -1;
  Status st = db_->transaction([&](Conn& c) -> Status {
    BX_RETURN_IF_ERROR(user(c, u1, "a@x"));
    auto r = c.query("SELECT COUNT(*) FROM users WHERE org_id = ?", {kOrg});
    if (!r.ok()) return r.status();
    seen = r->rows[0].int64(0);
    return Status();
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(seen, 1);
  EXPECT_TRUE(has(u1));

  // A failing write inside a savepoint: that savepoint reports it and rolls back alone (u3
  // goes with it); the writes before and after it commit.
  Status inner;
  st = db_->transaction([&](Conn& c) -> Status {
    BX_RETURN_IF_ERROR(user(c, u2, "b@x"));
    inner = db_->transaction([&](Conn& c2) -> Status {
      BX_RETURN_IF_ERROR(user(c2, u3, "c@x"));
      return user(c2, u1, "dup@x");  // u1 exists: a unique violation
    });
    return user(c, u4, "d@x");
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(inner.code(), Code::already_exists) << inner.to_string();
  EXPECT_NE(inner.message().find("users"), std::string::npos) << inner.to_string();
  EXPECT_TRUE(has(u2));
  EXPECT_FALSE(has(u3));
  EXPECT_TRUE(has(u4));

  // At the top level the failure fails the transaction, even when nothing follows the write.
  st = db_->transaction([&](Conn& c) -> Status {
    BX_RETURN_IF_ERROR(user(c, u5, "e@x"));
    return user(c, u1, "dup@x");
  });
  EXPECT_EQ(st.code(), Code::already_exists) << st.to_string();
  EXPECT_FALSE(has(u5));

  // A savepoint that fails before sending anything rolls back cleanly, and the transaction
  // goes on.
  st = db_->transaction([&](Conn& c) -> Status {
    inner = db_->transaction([&](Conn&) -> Status { return banxway::Conflict("no"); });
    return user(c, u6, "f@x");
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(inner.code(), Code::conflict);
  EXPECT_TRUE(has(u6));
  EXPECT_EQ(count("users"), 4);
}

// PostgreSQL keeps up to 1,000 prepared statements per connection; past that a statement is
// parsed with each use. Two such statements held in one pipeline must each run as written.
TEST_P(DbTest, StatementsPastThePreparedCacheRunAsWrittenEvenWhenHeld) {
  insert_org(kOrg);
  const char* u1 = "0190a0a0-0000-7000-8000-000000000031";
  const char* u2 = "0190a0a0-0000-7000-8000-000000000032";
  Status st = db_->transaction([&](Conn& c) -> Status {
    for (int i = 0; i < 1010; ++i) {
      auto r = c.query("SELECT ? + " + std::to_string(i), {1});
      if (!r.ok()) return r.status();
      if (r->rows[0].int64(0) != i + 1) return banxway::Internal("wrong sum at " + std::to_string(i));
    }
    BX_RETURN_IF_ERROR(c.write_deferred("INSERT INTO users (id, org_id, email, role, created_at, "
                                        "updated_at) VALUES (?, ?, ?, 'agent', ?, ?)",
                                        {u1, kOrg, "a@x", kT0, kT0}));
    return c.write_deferred("INSERT INTO users (id, org_id, email, role, created_at, updated_at) "
                            "VALUES (?, ?, ?, 'viewer', ?, ?)",
                            {u2, kOrg, "b@x", kT0, kT0});
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  Rows r = must_query("SELECT id, role FROM users ORDER BY id");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].str(1), "agent");
  EXPECT_EQ(r[1].str(1), "viewer");
}

TEST_P(DbTest, AffectedRowCounts) {
  insert_org(kOrg);
  insert_thread(kThread, "a", kT0);
  insert_thread("0190a0a0-0000-7000-8000-000000000102", "b", kT0);
  insert_thread("0190a0a0-0000-7000-8000-000000000103", "c", kT0);

  int64_t updated = -1, none = -1, deleted = -1;
  Status st = db_->transaction([&](Conn& c) -> Status {
    auto u = c.query(
        "UPDATE threads SET status = 'pending', message_count = message_count + ? "
        "WHERE org_id = ? AND subject <> ?",
        {2, kOrg, "c"});
    if (!u.ok()) return u.status();
    updated = u->affected;
    auto n = c.query("UPDATE threads SET status = 'closed' WHERE org_id = ?", {kOtherOrg});
    if (!n.ok()) return n.status();
    none = n->affected;
    auto d = c.query("DELETE FROM threads WHERE org_id = ? AND subject = ?", {kOrg, "c"});
    if (!d.ok()) return d.status();
    deleted = d->affected;
    return Status();
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(updated, 2);
  EXPECT_EQ(none, 0);
  EXPECT_EQ(deleted, 1);
  Rows r = must_query("SELECT SUM(message_count) FROM threads WHERE status = 'pending'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].int64(0), 4);
}

TEST_P(DbTest, ConcurrentTransactionsAllLand) {
  insert_org(kOrg);
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status st = db_->transaction([&](Conn& c) -> Status {
          auto r = c.query(
              "INSERT INTO events (org_id, type, subject_type, subject_id, payload, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
              {kOrg, "test.event", "worker", std::to_string(t),
               R"({"i":)" + std::to_string(i) + "}", kT0});
          if (!r.ok()) return r.status();
          if (r->size() != 1) return banxway::Internal("RETURNING gave no row");
          ids[t].push_back(r->rows[0].int64(0));
          return Status();
        });
        if (!st.ok()) {
          errors[t] = st.to_string();
          return;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "worker " << t;

  std::set<int64_t> all;
  for (const auto& mine : ids) {
    ASSERT_EQ(mine.size(), static_cast<size_t>(kPerThread));
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    all.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread)) << "ids must be distinct";
  EXPECT_EQ(count("events"), kThreads * kPerThread);

  Rows r = must_query("SELECT id FROM events WHERE org_id = ? ORDER BY id", {kOrg});
  ASSERT_EQ(r.size(), static_cast<size_t>(kThreads * kPerThread));
  std::vector<int64_t> stored;
  for (const auto& row : r) stored.push_back(row.int64(0));
  EXPECT_TRUE(std::adjacent_find(stored.begin(), stored.end(), std::greater_equal<int64_t>()) ==
              stored.end())
      << "ids must be strictly increasing";
  EXPECT_EQ(std::set<int64_t>(stored.begin(), stored.end()), all);
}

TEST_P(DbTest, FullTextSearchFollowsInsertsUpdatesAndDeletes) {
  insert_org(kOrg);
  insert_thread(kThread, "Rates", kT0);
  const char* m1 = "0190a0a0-0000-7000-8000-000000000201";
  const char* m2 = "0190a0a0-0000-7000-8000-000000000202";
  const char* m3 = "0190a0a0-0000-7000-8000-000000000203";
  insert_message(m1, "Container rates Hamburg", "Please quote a 40ft reefer to Santos.");
  insert_message(m2, "Invoice", "The container was delayed at customs.");
  insert_message(m3, "Hello", nullptr);

  EXPECT_EQ(search("container"), (std::vector<std::string>{m1, m2}));
  EXPECT_EQ(search("reefer"), (std::vector<std::string>{m1}));
  EXPECT_EQ(search("customs delayed"), (std::vector<std::string>{m2}));
  EXPECT_EQ(search("hello"), (std::vector<std::string>{m3}));
  EXPECT_TRUE(search("airfreight").empty());

  ASSERT_TRUE(
      exec("UPDATE messages SET body_text = ? WHERE id = ?", {"Airfreight booking confirmed.", m2})
          .ok());
  EXPECT_EQ(search("container"), (std::vector<std::string>{m1}));
  EXPECT_EQ(search("airfreight"), (std::vector<std::string>{m2}));

  ASSERT_TRUE(exec("DELETE FROM messages WHERE id = ?", {m1}).ok());
  EXPECT_TRUE(search("reefer").empty());
}

TEST_P(DbTest, BrokenConnectionsAreReplaced) {
  if (db_->dialect() != Dialect::postgres) GTEST_SKIP() << "PostgreSQL connection handling";
  ASSERT_TRUE(db_->ping().ok());
  // Kill every server process serving this database (the pool's idle connections), from a
  // separate connection so the killer survives.
  auto killer = banxway::store::open(url_, {.readers = 2, .apply_migrations = false});
  ASSERT_TRUE(killer.ok()) << killer.status().to_string();
  auto killed = (*killer)->query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_TRUE(killed.ok()) << killed.status().to_string();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  // The pool notices the dead connection (on hand-out or on first use) and opens a new one.
  Status st;
  for (int i = 0; i < 3; ++i) {
    st = db_->ping();
    if (st.ok()) break;
    EXPECT_EQ(st.code(), Code::unavailable) << st.to_string();
  }
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_TRUE(exec("INSERT INTO organizations (id, name, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?)",
                   {kOrg, "after", kT0, kT0})
                  .ok());
}

TEST_P(DbTest, SerializationFailuresAreRetriedFiveTimes) {
  if (db_->dialect() != Dialect::postgres) GTEST_SKIP() << "PostgreSQL SQLSTATE handling";
  insert_org(kOrg);
  // Raises serialization_failure on the attempts listed, as a concurrent writer would.
  auto conflict_until = [&](int failing_attempts, int* attempts) {
    return db_->transaction([&, failing_attempts, attempts](Conn& c) -> Status {
      ++*attempts;
      auto u = c.query("UPDATE organizations SET name = ? WHERE id = ?",
                       {"try " + std::to_string(*attempts), kOrg});
      if (!u.ok()) return u.status();
      if (*attempts <= failing_attempts)
        return c.exec_script(
            "DO $$ BEGIN RAISE EXCEPTION 'simulated conflict' USING ERRCODE = '40001'; END $$");
      return Status();
    });
  };
  int attempts = 0;
  Status st = conflict_until(2, &attempts);
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(must_query("SELECT name FROM organizations WHERE id = ?", {kOrg})[0].text(0), "try 3");

  attempts = 0;
  st = conflict_until(100, &attempts);
  EXPECT_EQ(st.code(), Code::unavailable) << st.to_string();
  EXPECT_NE(st.message().find("simulated conflict"), std::string::npos) << st.message();
  EXPECT_EQ(attempts, 5);
  EXPECT_EQ(must_query("SELECT name FROM organizations WHERE id = ?", {kOrg})[0].text(0), "try 3");
}

TEST_P(DbTest, DeadlockedTransactionIsRetried) {
  if (db_->dialect() != Dialect::postgres) GTEST_SKIP() << "SQLite has one writer: no deadlocks";
  insert_org(kOrg, "a");
  insert_org(kOtherOrg, "b");
  std::atomic<int> holding{0};
  // Updates `first`, waits (on its first attempt) until the other transaction holds its own
  // first row, then updates `second`: the two lock in opposite orders and deadlock.
  auto worker = [&](const char* first, const char* second, std::string name, int* attempts,
                    Status* out) {
    *out = db_->transaction([&](Conn& c) -> Status {
      ++*attempts;
      auto a = c.query("UPDATE organizations SET name = ? WHERE id = ?", {name, first});
      if (!a.ok()) return a.status();
      if (*attempts == 1) {
        ++holding;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (holding.load() < 2 && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      return c.query("UPDATE organizations SET name = ? WHERE id = ?", {name, second}).status();
    });
  };
  int attempts1 = 0, attempts2 = 0;
  Status st1, st2;
  std::thread t1(worker, kOrg, kOtherOrg, "one", &attempts1, &st1);
  std::thread t2(worker, kOtherOrg, kOrg, "two", &attempts2, &st2);
  t1.join();
  t2.join();
  EXPECT_TRUE(st1.ok()) << st1.to_string();
  EXPECT_TRUE(st2.ok()) << st2.to_string();
  // One side is the deadlock victim and retries. (Rarely, on a loaded machine, the retry meets
  // the other transaction again and a fourth attempt happens; what matters is that both
  // finish.)
  EXPECT_GE(attempts1 + attempts2, 3) << "the deadlock victim must have retried";
  EXPECT_LE(attempts1 + attempts2, 5);
  // Both transactions committed whole: each wrote both rows, so the rows agree.
  Rows r = must_query("SELECT DISTINCT name FROM organizations");
  ASSERT_EQ(r.size(), 1u);
  if (attempts1 + attempts2 == 3) EXPECT_EQ(r[0].text(0), attempts1 == 2 ? "one" : "two");
}

INSTANTIATE_TEST_SUITE_P(Backends, DbTest, ::testing::ValuesIn(bxtest::backends()),
                         bxtest::BackendName());

TEST(PostgresOpen, UnreachableServerIsUnavailableWithoutPassword) {
  auto db = banxway::store::open("postgres://nobody@127.0.0.1:1/x");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::unavailable);
  EXPECT_NE(db.status().message().find("127.0.0.1"), std::string::npos) << db.status().message();

  auto with_pw = banxway::store::open("postgres://nobody:s3cr3t-pw@127.0.0.1:1/x");
  ASSERT_FALSE(with_pw.ok());
  EXPECT_EQ(with_pw.status().code(), Code::unavailable);
  EXPECT_EQ(with_pw.status().message().find("s3cr3t-pw"), std::string::npos)
      << with_pw.status().message();

  auto in_query = banxway::store::open("postgresql://127.0.0.1:1/x?user=n&password=s3cr3t-pw");
  ASSERT_FALSE(in_query.ok());
  EXPECT_EQ(in_query.status().message().find("s3cr3t-pw"), std::string::npos)
      << in_query.status().message();
}

TEST(PostgresOpen, MalformedUrlIsInvalidArgument) {
  auto db = banxway::store::open("postgres://u:s3cr3t-pw@127.0.0.1:1/x?no_such_option=1");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::invalid_argument) << db.status().message();
  EXPECT_EQ(db.status().message().find("s3cr3t-pw"), std::string::npos) << db.status().message();
}

}  // namespace
