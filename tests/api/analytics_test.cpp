// analytics.* on every backend: a fixed dataset with hand-computed answers, the resolved_at
// trigger, and the same answers from SQLite and PostgreSQL (byte-identical JSON).
#include "services/analytics.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/env.hpp"
#include "core/json.hpp"
#include "store/db.hpp"
#include "support/backends.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;

namespace {

// Fixed ids, so the two backends hold byte-identical data.
std::string uid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "0190a0a0-0000-7000-8000-%012d", n);
  return buf;
}
const std::string U1 = uid(1), U2 = uid(2), C1 = uid(11), C2 = uid(12);
std::string T(int n) { return uid(100 + n); }

banxway::TimePoint at(const char* s) {
  banxway::TimePoint t;
  EXPECT_TRUE(banxway::parse_time(s, &t)) << s;
  return t;
}

// The engine under test on one backend, its clock fixed at 2026-03-10T12:00:00Z.
struct Bench {
  std::string url;
  std::unique_ptr<banxway::Engine> engine;
  std::shared_ptr<banxway::FakeClock> clock;
  std::string org, key, org_b, key_b;

  void open(const std::string& backend) {
    url = bxtest::fresh_database_url(backend);
    clock = std::make_shared<banxway::FakeClock>(at("2026-03-10T12:00:00Z"));
    banxway::EngineOptions o;
    o.database_url = url;
    o.clock = clock;
    o.watch_mail = false;
    auto e = banxway::Engine::open(o);
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    engine = std::move(e).value();
    for (auto [o_id, k] : {std::pair{&org, &key}, std::pair{&org_b, &key_b}}) {
      auto b = engine->bootstrap(o_id == &org ? "Org A" : "Org B");
      ASSERT_TRUE(b.ok()) << b.status().to_string();
      Document d;
      ASSERT_TRUE(banxway::json::parse(b->org_json, &d).ok());
      *o_id = d["id"].GetString();
      *k = b->api_key;
    }
  }
  void close() {
    engine.reset();
    if (!url.empty()) bxtest::remove_database(url);
  }

  void exec(banxway::store::Db& db, const std::string& sql,
            std::initializer_list<banxway::store::Value> args) {
    auto st = db.transaction([&](banxway::store::Conn& c) { return c.query(sql, args).status(); });
    ASSERT_TRUE(st.ok()) << sql << ": " << st.to_string();
  }

  // The dataset (see the expectations in the tests): threads T1..T13 of organization A.
  void seed() {
    banxway::store::DbOptions o;
    o.readers = 1;
    o.apply_migrations = false;
    auto db = banxway::store::open(url, o);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    auto& d = **db;
    const char* t0 = "2026-01-01T00:00:00.000Z";
    for (auto [id, name] : {std::pair{U1, "alice"}, std::pair{U2, "bob"}})
      exec(d,
           "INSERT INTO users (id, org_id, email, name, role, active, created_at, updated_at) "
           "VALUES (?, ?, ?, ?, 'agent', 1, ?, ?)",
           {id, org, std::string(name) + "@a.example", name, t0, t0});
    for (auto id : {C1, C2})
      exec(d,
           "INSERT INTO customers (id, org_id, name, created_at, updated_at) "
           "VALUES (?, ?, ?, ?, ?)",
           {id, org, "Customer " + id.substr(30), t0, t0});
    struct Th {
      int n;
      const char* status;
      std::string assignee, customer;
      const char* created;
      const char* updated;
    };
    const std::vector<Th> threads = {
        {1, "resolved", U1, C1, "2026-03-01T09:00:00.000Z", "2026-03-02T09:00:00.000Z"},
        {2, "open", U1, C2, "2026-03-01T10:00:00.000Z", "2026-03-01T11:00:00.000Z"},
        {3, "closed", U2, C1, "2026-03-02T08:00:00.000Z", "2026-03-02T20:00:00.000Z"},
        {4, "open", U2, "", "2026-03-03T12:00:00.000Z", "2026-03-03T12:00:00.000Z"},
        {5, "pending", "", C2, "2026-02-27T23:00:00.000Z", "2026-03-01T09:00:00.000Z"},
        {6, "resolved", U1, C1, "2026-03-04T00:00:00.000Z", "2026-03-04T01:00:00.000Z"},
        {7, "open", U1, C1, "2026-03-05T00:00:00.000Z", "2026-03-05T00:00:00.000Z"},
        {8, "open", U2, C2, "2026-03-10T11:30:00.000Z", "2026-03-10T11:30:00.000Z"},
        {9, "snoozed", U1, "", "2026-03-10T09:00:00.000Z", "2026-03-10T09:00:00.000Z"},
        {10, "open", "", "", "2026-02-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"},
        {11, "open", "", "", "2026-03-08T12:00:00.000Z", "2026-03-08T12:00:00.000Z"},
        {12, "pending", "", "", "2026-03-06T00:00:00.000Z", "2026-03-06T00:00:00.000Z"},
        {13, "open", "", "", "2026-03-10T00:00:00.000Z", "2026-03-10T00:00:00.000Z"},
        {14, "open", U1, C1, "2026-03-10T11:50:00.000Z", "2026-03-10T11:50:00.000Z"},
    };
    auto opt = [](const std::string& s) {
      return s.empty() ? banxway::store::Value() : banxway::store::Value(s);
    };
    for (const auto& t : threads)
      exec(d,
           "INSERT INTO threads (id, org_id, subject, status, assignee_id, customer_id, "
           "last_activity_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
           {T(t.n), org, "T" + std::to_string(t.n), t.status, opt(t.assignee), opt(t.customer),
            t.updated, t.created, t.updated});
    // T7 was merged into T1: left out of every thread figure (its messages still count).
    exec(d, "UPDATE threads SET merged_into = ? WHERE id = ?", {T(1), T(7)});
    // T14 is a system thread (notification emails): never a conversation.
    exec(d, "UPDATE threads SET system_kind = 'notifications' WHERE id = ?", {T(14)});

    struct Msg {
      int thread;
      const char* channel;
      const char* direction;
      const char* created;
      std::string author;
      const char* status;
    };
    const std::vector<Msg> msgs = {
        {1, "email", "inbound", "2026-03-01T09:00:00.000Z", "", nullptr},
        {1, "note", "internal", "2026-03-01T09:05:00.000Z", U2, nullptr},
        {1, "email", "outbound", "2026-03-01T09:10:00.000Z", U1, "sent"},
        {2, "whatsapp", "inbound", "2026-03-01T10:00:00.000Z", "", nullptr},
        {2, "whatsapp", "inbound", "2026-03-01T10:30:00.000Z", "", nullptr},
        {2, "whatsapp", "outbound", "2026-03-01T11:00:00.000Z", U1, "delivered"},
        {3, "email", "inbound", "2026-03-02T08:00:00.000Z", "", nullptr},
        {3, "email", "outbound", "2026-03-02T08:00:30.000Z", U2, "failed"},  // never arrived
        {3, "email", "outbound", "2026-03-02T08:20:00.000Z", U2, "sent"},
        {4, "sms", "inbound", "2026-03-03T12:00:00.000Z", "", nullptr},    // unanswered
        {5, "email", "inbound", "2026-02-27T23:00:00.000Z", "", nullptr},  // before the range
        {5, "email", "inbound", "2026-03-01T08:00:00.000Z", "", nullptr},
        {5, "email", "outbound", "2026-03-01T09:00:00.000Z", "", "sent"},
        {6, "email", "outbound", "2026-03-04T00:00:00.000Z", U1, "sent"},  // agent wrote first
        {6, "email", "inbound", "2026-03-04T00:30:00.000Z", "", nullptr},
        {6, "email", "outbound", "2026-03-04T00:45:00.000Z", U1, "sent"},
        {7, "email", "inbound", "2026-03-05T00:00:00.000Z", "", nullptr},
        {7, "email", "outbound", "2026-03-05T00:01:00.000Z", U1, "sent"},
        {8, "voice", "inbound", "2026-03-10T11:30:00.000Z", "", nullptr},
    };
    int n = 0;
    for (const auto& m : msgs)
      exec(d,
           "INSERT INTO messages (id, org_id, thread_id, channel, direction, author_id, status, "
           "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
           {uid(1000 + ++n), org, T(m.thread), m.channel, m.direction, opt(m.author),
            banxway::store::Value(m.status), m.created});
  }

  std::string call(const std::string& op, const std::string& params, const std::string& k = "") {
    auto r = engine->call(op, params, k.empty() ? key : k);
    EXPECT_TRUE(r.ok()) << op << " " << params << ": " << r.status().to_string();
    return r.ok() ? r->data : "";
  }
};

Document parse(const std::string& s) {
  Document d;
  EXPECT_TRUE(banxway::json::parse(s, &d).ok()) << s;
  return d;
}

std::string j(const banxway::json::Value& v) { return banxway::json::stringify(v); }

class AnalyticsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    BX_SKIP_IF_NO_BACKEND(GetParam());
    b.open(GetParam());
    if (HasFatalFailure()) return;
    b.seed();
  }
  void TearDown() override { b.close(); }
  Bench b;
};

// The group of `by` with key (or null), from a response_times answer.
const banxway::json::Value* group(const Document& d, const char* key) {
  for (auto& g : d["groups"].GetArray()) {
    if (key == nullptr ? g["key"].IsNull() : (g["key"].IsString() && str(g, "key") == key))
      return &g;
  }
  return nullptr;
}

}  // namespace

TEST(NearestRank, SmallestValueCoveringThePercentage) {
  using banxway::services::nearest_rank;
  EXPECT_EQ(nearest_rank({7}, 50), 7);
  EXPECT_EQ(nearest_rank({7}, 90), 7);
  EXPECT_EQ(nearest_rank({1, 2}, 50), 1);  // the lower median: rank ceil(1.0) = 1
  EXPECT_EQ(nearest_rank({1, 2}, 90), 2);
  EXPECT_EQ(nearest_rank({1, 2, 3, 4}, 50), 2);
  std::vector<int64_t> ten{10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  EXPECT_EQ(nearest_rank(ten, 50), 50);
  EXPECT_EQ(nearest_rank(ten, 90), 90);
  std::vector<int64_t> eleven = ten;
  eleven.push_back(110);
  EXPECT_EQ(nearest_rank(eleven, 90), 100);  // rank ceil(9.9) = 10
  EXPECT_EQ(nearest_rank(eleven, 100), 110);
}

TEST_P(AnalyticsTest, VolumeByDayChannelAndDirection) {
  // Dates read inclusively: 1 to 2 March is [03-01T00:00Z, 03-03T00:00Z).
  auto d = parse(b.call("analytics.volume", R"({"from":"2026-03-01","to":"2026-03-02"})"));
  EXPECT_EQ(str(d, "from"), "2026-03-01T00:00:00.000Z");
  EXPECT_EQ(str(d, "to"), "2026-03-03T00:00:00.000Z");
  EXPECT_EQ(str(d, "group_by"), "day");
  EXPECT_EQ(d["total"].GetInt64(), 11);
  EXPECT_EQ(j(d["by_channel"]), R"({"email":7,"note":1,"whatsapp":3})");
  EXPECT_EQ(j(d["by_direction"]), R"({"inbound":5,"internal":1,"outbound":5})");
  EXPECT_EQ(j(d["items"]),
            R"([{"period":"2026-03-01","channel":"email","direction":"inbound","count":2},)"
            R"({"period":"2026-03-01","channel":"email","direction":"outbound","count":2},)"
            R"({"period":"2026-03-01","channel":"note","direction":"internal","count":1},)"
            R"({"period":"2026-03-01","channel":"whatsapp","direction":"inbound","count":2},)"
            R"({"period":"2026-03-01","channel":"whatsapp","direction":"outbound","count":1},)"
            R"({"period":"2026-03-02","channel":"email","direction":"inbound","count":1},)"
            R"({"period":"2026-03-02","channel":"email","direction":"outbound","count":2}])");

  // Filters, a date-time with an offset (05:30+05:30 is midnight UTC), and months.
  auto f = parse(b.call("analytics.volume",
                        R"({"from":"2026-03-01T05:30:00+05:30","to":"2026-03-10T00:00:00Z",)"
                        R"("channel":"email","direction":"inbound"})"));
  EXPECT_EQ(f["total"].GetInt64(), 5);  // T1, T3, T5 (its 1 March message), T6, T7
  EXPECT_EQ(j(f["by_channel"]), R"({"email":5})");
  auto m = parse(
      b.call("analytics.volume", R"({"from":"2026-02-01","to":"2026-03-31","group_by":"month"})"));
  EXPECT_EQ(m["total"].GetInt64(), 19);
  EXPECT_EQ(j(m["by_direction"]), R"({"inbound":10,"internal":1,"outbound":8})");
  std::string months;
  for (auto& it : m["items"].GetArray()) months += str(it, "period") + " ";
  EXPECT_NE(months.find("2026-02 "), std::string::npos);
  EXPECT_NE(months.find("2026-03 "), std::string::npos);

  // Partial days at both ends (counted from messages) around a whole day (from the daily
  // counts): 1 March from 09:05 (the note, T1's reply, T2's three), all of 2 March (T3's three),
  // 3 March until 12:00:01 (T4's SMS).
  auto part = parse(
      b.call("analytics.volume", R"({"from":"2026-03-01T09:05:00Z","to":"2026-03-03T12:00:01Z"})"));
  EXPECT_EQ(part["total"].GetInt64(), 9);
  EXPECT_EQ(j(part["by_channel"]), R"({"email":4,"note":1,"sms":1,"whatsapp":3})");

  // The other organization sees none of it.
  auto other =
      parse(b.call("analytics.volume", R"({"from":"2026-02-01","to":"2026-03-31"})", b.key_b));
  EXPECT_EQ(other["total"].GetInt64(), 0);
  EXPECT_EQ(other["items"].Size(), 0u);
}

TEST_P(AnalyticsTest, ResponseTimesByAgent) {
  auto d = parse(b.call("analytics.response_times",
                        R"({"from":"2026-03-01","to":"2026-03-09","by":"agent"})"));
  EXPECT_EQ(str(d, "by"), "agent");
  // First responses: T1 600 s, T2 3600 s (from the first inbound), T3 1200 s (the failed send
  // does not count), T6 900 s (the reply after the customer's message); T4 unanswered; T5's
  // first inbound precedes the range; T7 is merged.
  EXPECT_EQ(j(d["overall"]),
            R"({"first_response":{"answered":4,"unanswered":1,"time":{"count":4,)"
            R"("median_seconds":900,"p90_seconds":3600}},)"
            R"("resolution":{"count":3,"median_seconds":43200,"p90_seconds":86400}})");
  ASSERT_EQ(d["groups"].Size(), 2u);
  const auto* alice = group(d, U1.c_str());
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(j((*alice)["first_response"]),
            R"({"answered":3,"unanswered":0,"time":{"count":3,"median_seconds":900,)"
            R"("p90_seconds":3600}})");
  EXPECT_EQ(j((*alice)["resolution"]), R"({"count":2,"median_seconds":3600,"p90_seconds":86400})");
  const auto* bob = group(d, U2.c_str());
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(j((*bob)["first_response"]),
            R"({"answered":1,"unanswered":1,"time":{"count":1,"median_seconds":1200,)"
            R"("p90_seconds":1200}})");
  EXPECT_EQ(j((*bob)["resolution"]), R"({"count":1,"median_seconds":43200,"p90_seconds":43200})");
}

TEST_P(AnalyticsTest, ResponseTimesByChannelAndCustomer) {
  auto ch = parse(b.call("analytics.response_times",
                         R"({"from":"2026-03-01","to":"2026-03-09","by":"channel"})"));
  ASSERT_EQ(ch["groups"].Size(), 3u);
  EXPECT_EQ(j((*group(ch, "email"))["first_response"]["time"]),
            R"({"count":3,"median_seconds":900,"p90_seconds":1200})");
  EXPECT_EQ(j((*group(ch, "email"))["resolution"]),
            R"({"count":3,"median_seconds":43200,"p90_seconds":86400})");
  EXPECT_EQ(j((*group(ch, "whatsapp"))["first_response"]["time"]),
            R"({"count":1,"median_seconds":3600,"p90_seconds":3600})");
  EXPECT_EQ((*group(ch, "sms"))["first_response"]["unanswered"].GetInt(), 1);
  EXPECT_TRUE((*group(ch, "sms"))["first_response"]["time"]["median_seconds"].IsNull());

  auto cu = parse(b.call("analytics.response_times",
                         R"({"from":"2026-03-01","to":"2026-03-09","by":"customer"})"));
  ASSERT_EQ(cu["groups"].Size(), 3u);
  EXPECT_TRUE(cu["groups"][0]["key"].IsNull());  // no customer first
  EXPECT_EQ((*group(cu, nullptr))["first_response"]["unanswered"].GetInt(), 1);
  EXPECT_EQ(j((*group(cu, C1.c_str()))["first_response"]["time"]),
            R"({"count":3,"median_seconds":900,"p90_seconds":1200})");
  EXPECT_EQ(j((*group(cu, C1.c_str()))["resolution"]),
            R"({"count":3,"median_seconds":43200,"p90_seconds":86400})");
  EXPECT_EQ(j((*group(cu, C2.c_str()))["first_response"]["time"]),
            R"({"count":1,"median_seconds":3600,"p90_seconds":3600})");

  // A narrower range moves threads out: only 2 March (T3 answered; T1 resolved on the 2nd).
  auto day =
      parse(b.call("analytics.response_times", R"({"from":"2026-03-02","to":"2026-03-02"})"));
  EXPECT_EQ(str(day, "by"), "agent");
  EXPECT_EQ(day["overall"]["first_response"]["answered"].GetInt(), 1);
  EXPECT_EQ(day["overall"]["resolution"]["count"].GetInt(), 2);
}

TEST_P(AnalyticsTest, BacklogByStatusAndAge) {
  auto d = parse(b.call("analytics.backlog", "{}"));
  EXPECT_EQ(str(d, "as_of"), "2026-03-10T12:00:00.000Z");
  EXPECT_EQ(d["total"].GetInt64(), 9);
  // T4 is exactly 7 days old: the boundary belongs to the older bucket.
  EXPECT_EQ(j(d["by_age"]), R"({"lt_1h":1,"1h_4h":1,"4h_24h":1,"1d_3d":1,"3d_7d":1,"gt_7d":4})");
  EXPECT_EQ(
      j(d["by_status"]["open"]),
      R"({"total":6,"by_age":{"lt_1h":1,"1h_4h":0,"4h_24h":1,"1d_3d":1,"3d_7d":0,"gt_7d":3}})");
  EXPECT_EQ(
      j(d["by_status"]["pending"]),
      R"({"total":2,"by_age":{"lt_1h":0,"1h_4h":0,"4h_24h":0,"1d_3d":0,"3d_7d":1,"gt_7d":1}})");
  EXPECT_EQ(d["by_status"]["snoozed"]["by_age"]["1h_4h"].GetInt(), 1);

  // Time passes: the same threads age into older buckets.
  b.clock->advance(std::chrono::hours(2));
  auto later = parse(b.call("analytics.backlog", "{}"));
  EXPECT_EQ(j(later["by_age"]),
            R"({"lt_1h":0,"1h_4h":1,"4h_24h":2,"1d_3d":1,"3d_7d":1,"gt_7d":4})");

  auto other = parse(b.call("analytics.backlog", "{}", b.key_b));
  EXPECT_EQ(other["total"].GetInt64(), 0);
}

TEST_P(AnalyticsTest, ResolvedAtFollowsStatusChanges) {
  // threads.update at the engine's clock: resolving stamps resolved_at, reopening clears it,
  // resolved -> closed keeps the first stamp.
  auto t = parse(b.call("threads.create", R"({"subject":"new"})"));
  std::string id = str(t, "id");
  auto resolved_at = [&]() -> std::string {
    banxway::store::DbOptions o;
    o.readers = 1;
    o.apply_migrations = false;
    auto db = banxway::store::open(b.url, o);
    EXPECT_TRUE(db.ok());
    auto r = (*db)->query("SELECT resolved_at FROM threads WHERE id = ?", {id});
    EXPECT_TRUE(r.ok() && r->size() == 1);
    return r->rows[0].is_null(0) ? "null" : r->rows[0].str(0);
  };
  EXPECT_EQ(resolved_at(), "null");
  b.clock->advance(std::chrono::minutes(90));
  b.call("threads.update", "{\"id\":\"" + id + "\",\"status\":\"resolved\"}");
  EXPECT_EQ(resolved_at(), "2026-03-10T13:30:00.000Z");
  b.clock->advance(std::chrono::minutes(10));
  b.call("threads.update", "{\"id\":\"" + id + "\",\"status\":\"closed\"}");
  EXPECT_EQ(resolved_at(), "2026-03-10T13:30:00.000Z");
  b.call("threads.update", "{\"id\":\"" + id + "\",\"status\":\"open\"}");
  EXPECT_EQ(resolved_at(), "null");
  b.clock->advance(std::chrono::minutes(20));
  b.call("threads.update", "{\"id\":\"" + id + "\",\"status\":\"resolved\"}");
  EXPECT_EQ(resolved_at(), "2026-03-10T14:00:00.000Z");

  // It shows in the figures: created 12:00, resolved 14:00 -> 7200 s.
  auto d = parse(b.call("analytics.response_times",
                        R"({"from":"2026-03-10","to":"2026-03-10","by":"agent"})"));
  EXPECT_EQ(j((*group(d, nullptr))["resolution"]),
            R"({"count":1,"median_seconds":7200,"p90_seconds":7200})");
}

TEST_P(AnalyticsTest, DailyCountsFollowEveryWrite) {
  // The daily counts are kept by triggers: moving, re-channelling and deleting messages behind
  // the engine's back still gives the count of the rows themselves.
  banxway::store::DbOptions o;
  o.readers = 1;
  o.apply_migrations = false;
  auto db = banxway::store::open(b.url, o);
  ASSERT_TRUE(db.ok());
  b.exec(**db, "UPDATE messages SET created_at = ? WHERE id = ?",
         {"2026-03-05T10:00:00.000Z", uid(1001)});  // T1's first: 1 -> 5 March
  b.exec(**db, "UPDATE messages SET channel = 'sms' WHERE id = ?", {uid(1004)});  // T2 whatsapp
  b.exec(**db, "DELETE FROM messages WHERE id = ?", {uid(1019)});                 // T8's voice call
  auto raw = [&](const char* from, const char* to) {
    auto r = (*db)->query(
        "SELECT COUNT(*) FROM messages WHERE org_id = ? AND created_at >= ? AND "
        "created_at < ?",
        {b.org, from, to});
    EXPECT_TRUE(r.ok());
    return r->rows[0].int64(0);
  };
  auto v = parse(b.call("analytics.volume", R"({"from":"2026-02-01","to":"2026-03-31"})"));
  EXPECT_EQ(v["total"].GetInt64(), raw("2026-02-01", "2026-04-01"));
  EXPECT_EQ(v["total"].GetInt64(), 18);
  EXPECT_FALSE(v["by_channel"].HasMember("voice"));
  EXPECT_EQ(v["by_channel"]["sms"].GetInt(), 2);
  auto first = parse(b.call("analytics.volume", R"({"from":"2026-03-01","to":"2026-03-01"})"));
  EXPECT_EQ(first["total"].GetInt64(), raw("2026-03-01", "2026-03-02"));
  EXPECT_EQ(first["total"].GetInt64(), 7);
  auto fifth = parse(b.call("analytics.volume", R"({"from":"2026-03-05","to":"2026-03-05"})"));
  EXPECT_EQ(fifth["total"].GetInt64(), 3);
}

TEST_P(AnalyticsTest, BadInputIsNamed) {
  auto fails = [&](const std::string& op, const std::string& params, const std::string& field) {
    auto r = b.engine->call(op, params, b.key);
    ASSERT_FALSE(r.ok()) << params;
    EXPECT_EQ(r.status().code(), Code::invalid_argument) << r.status().to_string();
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().to_string();
  };
  fails("analytics.volume", R"({"from":"2026-03-01"})", "to");
  fails("analytics.volume", R"({"from":"yesterday","to":"2026-03-02"})", "from");
  fails("analytics.volume", R"({"from":"2026-02-30","to":"2026-03-02"})", "from");
  fails("analytics.volume", R"({"from":"2026-03-01T10:00:00","to":"2026-03-02"})", "from");
  fails("analytics.volume", R"({"from":"2026-03-05","to":"2026-03-01"})", "to: must be after");
  fails("analytics.volume", R"({"from":"2020-01-01","to":"2026-03-01"})", "731 days");
  fails("analytics.volume", R"({"from":"2026-03-01","to":"2026-03-02","group_by":"hour"})",
        "group_by");
  fails("analytics.response_times", R"({"from":"2026-03-01","to":"2026-03-02","by":"team"})", "by");
}

BX_INSTANTIATE_BACKENDS(AnalyticsTest);

// The same data on SQLite and PostgreSQL gives byte-identical answers for every analytics call.
TEST(AnalyticsAgreement, SqliteAndPostgresGiveIdenticalResults) {
  BX_SKIP_IF_NO_BACKEND("postgres");
  Bench lite, pg;
  lite.open("sqlite");
  pg.open("postgres");
  ASSERT_FALSE(HasFatalFailure());
  lite.seed();
  pg.seed();
  ASSERT_FALSE(HasFatalFailure());
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"analytics.volume", R"({"from":"2026-02-01","to":"2026-03-31"})"},
      {"analytics.volume", R"({"from":"2026-02-01","to":"2026-03-31","group_by":"month"})"},
      {"analytics.volume", R"({"from":"2026-03-01T09:05:00Z","to":"2026-03-04T00:30:00.000Z",)"
                           R"("channel":"email"})"},
      {"analytics.response_times", R"({"from":"2026-03-01","to":"2026-03-09","by":"agent"})"},
      {"analytics.response_times", R"({"from":"2026-02-01","to":"2026-03-31","by":"customer"})"},
      {"analytics.response_times", R"({"from":"2026-03-01","to":"2026-03-05","by":"channel"})"},
      {"analytics.backlog", "{}"},
  };
  for (const auto& [op, params] : calls) {
    std::string a = lite.call(op, params), b = pg.call(op, params);
    EXPECT_FALSE(a.empty());
    EXPECT_EQ(a, b) << op << " " << params;
  }
  lite.close();
  pg.close();
}
