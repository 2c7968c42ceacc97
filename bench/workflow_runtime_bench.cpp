// Workflow engine at run time, on a real database with the engine's own workers.
//
//   bench_workflow_runtime timers  [--db URL] [--runs 10000] [--workers 2]
//   bench_workflow_runtime latency [--db URL] [--messages 500] [--workers 2]
//
// timers: N runs parked on a one-minute wait whose timers all fall due in the same second (a
//   fake clock moved past it once every run is waiting); the workers then resume every run and
//   apply its next step (set_priority). Reports runs resumed and stepped per second.
// latency: a workflow on message.received that sets the priority; inbound emails are ingested
//   one at a time with the workers and the event dispatcher running; the time from the ingest
//   call to the moment the workflow's thread.updated reaches a live-feed subscriber (what a
//   connected client would see) is recorded per message. Reports p50 / p95 / p99 / max.
//
// Default database: a fresh SQLite file under /tmp/banxway-bench. For PostgreSQL pass
// --db postgres://… naming an empty database.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/env.hpp"
#include "core/json.hpp"
#include "engine_impl.hpp"

namespace {

using namespace banxway;
using Steady = std::chrono::steady_clock;

const char* arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}

std::string fresh_sqlite(const char* name) {
  std::filesystem::create_directories("/tmp/banxway-bench");
  std::string path = std::string("/tmp/banxway-bench/") + name;
  for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(path + ext);
  std::filesystem::remove_all("/tmp/banxway-bench/blobs-" + std::string(name));
  return "sqlite://" + path;
}

Status st_of(const Status& s) { return s; }
template <typename T>
Status st_of(const Result<T>& r) { return r.status(); }

#define MUST(expr)                                                                      \
  do {                                                                                  \
    Status _s = st_of(expr);                                                            \
    if (!_s.ok()) {                                                                     \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, _s.to_string().c_str()); \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

int64_t scalar(Engine& e, const std::string& sql, std::initializer_list<store::Value> args) {
  auto r = e.impl().core.db->query(sql, args);
  if (!r.ok() || r->empty()) return -1;
  return r->rows[0].int64(0);
}

// An engine on `url` with one organization; `who` acts in it as a system principal.
struct Bench {
  std::unique_ptr<Engine> engine;
  std::string org;
  Principal who;
};

Bench open_bench(const std::string& url, std::shared_ptr<Clock> clock) {
  EngineOptions o;
  o.database_url = url;
  o.clock = std::move(clock);
  o.watch_mail = false;
  auto opened = Engine::open(o);
  MUST(opened);
  Bench b;
  b.engine = std::move(opened).value();
  auto boot = b.engine->bootstrap("Bench");
  MUST(boot);
  json::Document od;
  MUST(json::parse(boot->org_json, &od));
  b.org = od["id"].GetString();
  auto who = b.engine->system_principal(b.org, "bench");
  MUST(who);
  b.who = *who;
  return b;
}

int timers(const std::string& url, int runs, int workers) {
  TimePoint t0;
  parse_time("2026-03-10T09:00:00Z", &t0);
  auto clock = std::make_shared<FakeClock>(t0);
  Bench b = open_bench(url, clock);
  auto& engine = b.engine;
  const std::string& org = b.org;
  const Principal* who = &b.who;
  auto wf = engine->call("workflows.create",
                         R"({"name":"remind","trigger":{"manual":true},"steps":[
                             {"action":"wait","for":"PT60S"},
                             {"action":"set_priority","value":"high"}]})",
                         *who);
  MUST(wf);
  json::Document wd;
  MUST(json::parse(wf->data, &wd));
  std::string wf_id = wd["id"].GetString();

  // Threads in bulk, then one manual run each (the API path), then every run to its wait.
  auto& core = engine->impl().core;
  std::vector<std::string> threads(static_cast<size_t>(runs));
  MUST(core.db->transaction([&](store::Conn& c) -> Status {
    for (auto& t : threads) {
      t = core.ids->next();
      BX_RETURN_IF_ERROR(c.query("INSERT INTO threads (id, org_id, subject, status, priority, "
                                 "channels, tags, last_activity_at, created_at, updated_at) VALUES "
                                 "(?, ?, 'Timer bench', 'open', 'normal', '[]', '[]', ?, ?, ?)",
                                 {t, org, format_time(t0), format_time(t0), format_time(t0)})
                             .status());
    }
    return Status();
  }));
  auto s0 = Steady::now();
  for (const auto& t : threads)
    MUST(engine->call("workflows.run", "{\"id\":\"" + wf_id + "\",\"thread_id\":\"" + t + "\"}", *who));
  for (;;) {
    auto n = engine->run_pending(500);
    MUST(n);
    if (*n == 0) break;
  }
  double setup = std::chrono::duration<double>(Steady::now() - s0).count();
  int64_t waiting = scalar(*engine, "SELECT count(*) FROM workflow_runs WHERE status = 'waiting'", {});
  std::printf("setup: %d runs started and parked in %.1f s; waiting: %lld\n", runs, setup,
              static_cast<long long>(waiting));
  if (waiting != runs) return 1;

  // Every timer falls due at t0 + 60 s: move the clock there, then let the workers loose.
  clock->set(t0 + std::chrono::seconds(61));
  auto w0 = Steady::now();
  MUST(engine->start(workers));
  int64_t done = 0;
  while (done < runs) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    done = scalar(*engine, "SELECT count(*) FROM workflow_runs WHERE status = 'completed'", {});
    if (std::chrono::duration<double>(Steady::now() - w0).count() > 600) break;
  }
  double secs = std::chrono::duration<double>(Steady::now() - w0).count();
  engine->stop();
  int64_t high = scalar(*engine, "SELECT count(*) FROM threads WHERE priority = 'high'", {});
  std::printf("timers: %lld of %d runs resumed and stepped in %.2f s = %.0f runs/s (%d workers); "
              "threads changed: %lld\n",
              static_cast<long long>(done), runs, secs, static_cast<double>(done) / secs, workers,
              static_cast<long long>(high));
  return done == runs && high == runs ? 0 : 1;
}

int latency(const std::string& url, int messages, int workers) {
  Bench b = open_bench(url, std::make_shared<SystemClock>());
  auto& engine = b.engine;
  const std::string& org = b.org;
  const Principal* who = &b.who;
  MUST(engine->call("workflows.create",
                    R"({"name":"prioritize","trigger":{"event":"message.received"},
                        "conditions":{"field":"message.direction","op":"eq","value":"inbound"},
                        "steps":[{"action":"set_priority","value":"high"}]})",
                    *who));

  std::mutex mu;
  std::condition_variable cv;
  std::string want_thread;
  bool seen = false;
  LiveHandler h;
  h.on_events = [&](const std::string&, const LiveEvents& batch) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& e : batch)
      if (e->type == "thread.updated" && e->thread_id == want_thread) seen = true;
    cv.notify_all();
  };
  MUST(engine->live_start(h));
  MUST(engine->live_watch(org));
  MUST(engine->start(workers));

  std::vector<double> ms, ingest_ms, after_ms;
  for (int i = 0; i < messages; ++i) {
    std::string raw = "From: buyer" + std::to_string(i % 50) + "@customer" + std::to_string(i) +
                      ".example\r\nTo: desk@forwarder.example\r\nSubject: Booking " +
                      std::to_string(i) + "\r\nMessage-ID: <lat" + std::to_string(i) +
                      "@customer.example>\r\n\r\nPlease confirm the booking.\r\n";
    auto t0 = Steady::now();
    auto r = engine->ingest_email(*who, raw);
    MUST(r);
    ingest_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
    json::Document d;
    MUST(json::parse(*r, &d));
    std::unique_lock<std::mutex> lock(mu);
    want_thread = d["thread_id"].GetString();
    seen = false;
    // The workflow's change may already have been seen while want_thread was still the old one:
    // check the database once before waiting.
    lock.unlock();
    if (scalar(*engine, "SELECT count(*) FROM threads WHERE id = ? AND priority = 'high'",
               {want_thread}) == 1) {
      ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
      after_ms.push_back(ms.back() - ingest_ms.back());
      continue;
    }
    lock.lock();
    for (;;) {
      if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen; })) {
        std::fprintf(stderr, "message %d: the workflow's change never arrived\n", i);
        return 1;
      }
      // Any thread.updated of this thread wakes us (ingest may emit one): only the workflow's
      // change counts.
      lock.unlock();
      bool high = scalar(*engine, "SELECT count(*) FROM threads WHERE id = ? AND priority = 'high'",
                         {want_thread}) == 1;
      lock.lock();
      if (high) break;
      seen = false;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
    after_ms.push_back(ms.back() - ingest_ms.back());
  }
  engine->stop();
  engine->live_stop();
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))]; };
  std::printf("latency message.received -> first step applied (seen live), %zu messages, %d "
              "workers: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              ms.size(), workers, pct(0.50), pct(0.95), pct(0.99), ms.back());
  std::sort(ingest_ms.begin(), ingest_ms.end());
  std::printf("  of which the ingest call itself: p50 %.2f ms, p99 %.2f ms\n",
              ingest_ms[ingest_ms.size() / 2], ingest_ms[ingest_ms.size() * 99 / 100]);
  std::sort(after_ms.begin(), after_ms.end());
  std::printf("  from the ingest's commit (the event exists) to the step seen: p50 %.2f ms, "
              "p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              after_ms[after_ms.size() / 2], after_ms[after_ms.size() * 95 / 100],
              after_ms[after_ms.size() * 99 / 100], after_ms.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_workflow_runtime timers|latency [--db URL] [--runs N] "
                         "[--messages N] [--workers N]\n");
    return 2;
  }
  std::string mode = argv[1];
  int workers = std::atoi(arg(argc, argv, "--workers", "2"));
  if (mode == "timers") {
    std::string url = arg(argc, argv, "--db", "");
    if (url.empty()) url = fresh_sqlite("timers.db");
    return timers(url, std::atoi(arg(argc, argv, "--runs", "10000")), workers);
  }
  if (mode == "latency") {
    std::string url = arg(argc, argv, "--db", "");
    if (url.empty()) url = fresh_sqlite("latency.db");
    return latency(url, std::atoi(arg(argc, argv, "--messages", "500")), workers);
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
