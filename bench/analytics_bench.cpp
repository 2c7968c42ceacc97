// analytics.* on a seeded inbox (100k threads, 1M messages by default): wall time of each
// operation, run several times after a warm-up, on SQLite and — when BANXWAY_BENCH_PG_URL names
// an empty or previously seeded PostgreSQL database — on PostgreSQL too.
//
//   bench_analytics [--db sqlite:///tmp/banxway-bench/analytics.db] [--threads 100000]
//                   [--messages 1000000] [--runs 7]
//
// The inbox is seeded here rather than by seed.cpp: analytics needs replies, notes, several
// channels, agents, customers and resolved threads, which threads.list's inbox does not have.
// An existing seeded database is reused.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/env.hpp"
#include "core/json.hpp"
#include "engine_impl.hpp"

namespace {

using namespace banxway;
using Clock = std::chrono::steady_clock;

constexpr int64_t kBaseMs = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int kAgents = 20, kCustomers = 500;

std::string at(int64_t ms) { return format_time(TimePoint(std::chrono::milliseconds(ms))); }

// Threads are created one a minute from kBaseMs; each gets a conversation: mostly opened by
// the customer, then replies, more customer messages and a few internal notes, minutes to
// hours apart. About half the threads end resolved or closed.
Status seed(Engine& engine, const std::string& org, int threads, int messages) {
  api::Core& core = engine.impl().core;
  std::mt19937_64 rng(42);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::vector<std::string> agents, customers;
  BX_RETURN_IF_ERROR(core.db->transaction([&](store::Conn& c) -> Status {
    for (int i = 0; i < kAgents; ++i) {
      agents.push_back(core.ids->next());
      auto r = c.query(
          "INSERT INTO users (id, org_id, email, name, role, active, created_at, updated_at) "
          "VALUES (?, ?, ?, ?, 'agent', 1, ?, ?)",
          {agents.back(), org, "agent" + std::to_string(i) + "@bench.example",
           "Agent " + std::to_string(i), at(kBaseMs), at(kBaseMs)});
      if (!r.ok()) return r.status();
    }
    for (int i = 0; i < kCustomers; ++i) {
      customers.push_back(core.ids->next());
      auto r = c.query(
          "INSERT INTO customers (id, org_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
          {customers.back(), org, "Customer " + std::to_string(i), at(kBaseMs), at(kBaseMs)});
      if (!r.ok()) return r.status();
    }
    return Status();
  }));
  const char* statuses[] = {"open",     "open",     "open",     "open",     "open",
                            "open",     "open",     "pending",  "pending",  "snoozed",
                            "resolved", "resolved", "resolved", "resolved", "resolved",
                            "resolved", "resolved", "closed",   "closed",   "closed"};
  const char* channels[] = {"email", "email",    "email",    "email",    "email",
                            "email", "whatsapp", "whatsapp", "whatsapp", "sms"};
  auto t0 = Clock::now();
  int written = 0;
  const int batch = 2000;  // threads per transaction (about 20k messages)
  for (int start = 0; start < threads; start += batch) {
    BX_RETURN_IF_ERROR(core.db->transaction([&](store::Conn& c) -> Status {
      for (int i = start; i < std::min(threads, start + batch); ++i) {
        std::string id = core.ids->next();
        int64_t created = kBaseMs + static_cast<int64_t>(i) * 60000;
        // Spread the messages exactly: the first (messages % threads) threads get one more.
        int n = messages / threads + (i < messages % threads ? 1 : 0);
        const char* status = statuses[pick(20)];
        bool done = std::string_view(status) == "resolved" || std::string_view(status) == "closed";
        std::optional<std::string> assignee, customer;
        if (pick(10)) assignee = agents[pick(kAgents)];
        if (pick(10)) customer = customers[pick(kCustomers)];
        const char* channel = channels[pick(10)];
        std::vector<std::tuple<int64_t, const char*, const char*>> conv;  // time, channel, dir
        int64_t t = created;
        for (int m = 0; m < n; ++m) {
          int r = pick(100);
          if (m == 0)
            conv.emplace_back(t, channel, r < 90 ? "inbound" : "outbound");
          else if (r < 10)
            conv.emplace_back(t, "note", "internal");
          else
            conv.emplace_back(t, channel, r < 55 ? "inbound" : "outbound");
          t += 60000LL * (1 + pick(360));  // 1 minute to 6 hours later
        }
        int64_t updated = done ? t + 60000LL * pick(600) : std::max(created, t - 1);
        auto r = c.query(
            "INSERT INTO threads (id, org_id, subject, status, assignee_id, customer_id, channels, "
            "last_activity_at, last_message_at, message_count, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {id, org, "Shipment " + std::to_string(i), status, store::Value(assignee),
             store::Value(customer), std::string("[\"") + channel + "\"]", at(updated), at(t), n,
             at(created), at(updated)});
        if (!r.ok()) return r.status();
        for (const auto& [mt, ch, dir] : conv) {
          bool out = std::string_view(dir) == "outbound";
          r = c.query(
              "INSERT INTO messages (id, org_id, thread_id, channel, direction, author_id, status, "
              "snippet, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
              {core.ids->next(), org, id, ch, dir,
               out || std::string_view(dir) == "internal" ? store::Value(assignee) : store::Value(),
               out ? store::Value("sent") : store::Value(), "Latest update on the shipment",
               at(mt)});
          if (!r.ok()) return r.status();
          ++written;
        }
      }
      return Status();
    }));
    if ((start / batch) % 10 == 0)
      std::fprintf(stderr, "seeded %d threads, %d messages (%.0f s)\n",
                   std::min(threads, start + batch), written,
                   std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::fprintf(stderr, "seeded %d threads, %d messages in %.0f s\n", threads, written,
               std::chrono::duration<double>(Clock::now() - t0).count());
  return Status();
}

// Wall time of `runs` calls after one warm-up call: min / median / max in milliseconds.
void time_op(Engine& engine, const Principal& who, const char* label, const char* op,
             const std::string& params, int runs) {
  auto warm = engine.call(op, params, who);
  if (!warm.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", label, warm.status().to_string().c_str());
    return;
  }
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    auto r = engine.call(op, params, who);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!r.ok()) return;
  }
  std::sort(ms.begin(), ms.end());
  std::printf("  %-44s min %8.1f ms  median %8.1f ms  max %8.1f ms  (%zu bytes)\n", label,
              ms.front(), ms[ms.size() / 2], ms.back(), warm->data.size());
}

int run(const std::string& db, int threads, int messages, int runs) {
  // The engine's clock stands at the end of the seeded period, so the backlog has every age.
  int64_t span_ms = static_cast<int64_t>(threads) * 60000;
  auto clock = std::make_shared<FakeClock>(TimePoint(std::chrono::milliseconds(kBaseMs + span_ms)));
  EngineOptions o;
  o.database_url = db;
  o.clock = clock;
  o.watch_mail = false;
  auto e = Engine::open(o);
  if (!e.ok()) {
    std::fprintf(stderr, "open %s: %s\n", db.c_str(), e.status().to_string().c_str());
    return 1;
  }
  auto engine = std::move(e).value();
  std::string org;
  auto empty = engine->empty();
  if (empty.ok() && *empty) {
    auto b = engine->bootstrap("Bench Analytics");
    if (!b.ok()) return 1;
    json::Document d;
    if (!json::parse(b->org_json, &d).ok()) return 1;
    org = d["id"].GetString();
    std::fprintf(stderr, "seeding %d threads, %d messages into %s\n", threads, messages,
                 db.c_str());
    Status st = seed(*engine, org, threads, messages);
    if (!st.ok()) {
      std::fprintf(stderr, "seed: %s\n", st.to_string().c_str());
      return 1;
    }
  } else {
    auto r = engine->impl().core.db->query(
        "SELECT id FROM organizations WHERE name = 'Bench Analytics' LIMIT 1", {});
    if (!r.ok() || r->empty()) {
      std::fprintf(stderr, "%s is not an analytics bench database\n", db.c_str());
      return 1;
    }
    org = r->rows[0].text(0);
  }
  auto who = engine->system_principal(org, "bench");
  if (!who.ok()) return 1;
  auto count = engine->impl().core.db->query(
      "SELECT (SELECT COUNT(*) FROM threads WHERE org_id = ?), "
      "(SELECT COUNT(*) FROM messages WHERE org_id = ?)",
      {org, org});
  if (count.ok())
    std::printf("%s: %s threads, %s messages\n", db.substr(0, db.find(':')).c_str(),
                count->rows[0].str(0).c_str(), count->rows[0].str(1).c_str());
  // The seeded period runs from 2026-01-01 for threads/1440 days (69 days for 100k threads);
  // a month in the middle, and the whole period.
  std::string all_to = format_time(clock->now() + std::chrono::days(7)).substr(0, 10);
  std::string month = R"({"from":"2026-02-01","to":"2026-02-28")";
  std::string whole = "{\"from\":\"2026-01-01\",\"to\":\"" + all_to + "\"";
  time_op(*engine, *who, "analytics.volume (28 days, by day)", "analytics.volume", month + "}",
          runs);
  time_op(*engine, *who, "analytics.volume (whole period, by day)", "analytics.volume", whole + "}",
          runs);
  time_op(*engine, *who, "analytics.volume (whole, email inbound)", "analytics.volume",
          whole + R"(,"channel":"email","direction":"inbound"})", runs);
  time_op(*engine, *who, "analytics.response_times (28 days, agent)", "analytics.response_times",
          month + R"(,"by":"agent"})", runs);
  time_op(*engine, *who, "analytics.response_times (28 days, channel)", "analytics.response_times",
          month + R"(,"by":"channel"})", runs);
  time_op(*engine, *who, "analytics.response_times (whole, customer)", "analytics.response_times",
          whole + R"(,"by":"customer"})", runs);
  time_op(*engine, *who, "analytics.backlog", "analytics.backlog", "{}", runs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db = "sqlite:///tmp/banxway-bench/analytics.db";
  int threads = 100000, messages = 1000000, runs = 7;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--db" && i + 1 < argc)
      db = argv[++i];
    else if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--messages" && i + 1 < argc)
      messages = std::atoi(argv[++i]);
    else if (a == "--runs" && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (threads < 1 || messages < 0) return 2;
  int rc = run(db, threads, messages, runs);
  if (const char* pg = std::getenv("BANXWAY_BENCH_PG_URL"); pg && *pg && rc == 0)
    rc = run(pg, threads, messages, runs);
  return rc;
}
