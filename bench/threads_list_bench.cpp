// threads.list on a seeded inbox: Google Benchmark timings plus an explicit latency
// distribution (p50/p99/p999) of the operation itself, first page and deep pages.
//
//   bench_threads_list [--db sqlite:///tmp/bx-bench.db] [--threads 100000] [--messages 1000000]
//                      [--seed-only] [benchmark flags]
// An existing seeded database is reused (seeding 1M messages takes a minute or two).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine_impl.hpp"
#include "seed.hpp"

namespace {

std::unique_ptr<banxway::Engine> g_engine;
banxway::Principal g_who;
std::vector<std::string> g_cursors;  // cursors of pages 1..N for deep-page runs

void BM_ThreadsListFirstPage(benchmark::State& state) {
  for (auto _ : state) {
    auto r = g_engine->call("threads.list", R"({"limit":50})", g_who);
    if (!r.ok()) state.SkipWithError(r.status().to_string().c_str());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ThreadsListFirstPage);

void BM_ThreadsListDeepPage(benchmark::State& state) {
  size_t i = 0;
  for (auto _ : state) {
    const std::string& c = g_cursors[i++ % g_cursors.size()];
    auto r = g_engine->call("threads.list", "{\"limit\":50,\"cursor\":\"" + c + "\"}", g_who);
    if (!r.ok()) state.SkipWithError(r.status().to_string().c_str());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ThreadsListDeepPage);

void BM_ThreadsListByStatus(benchmark::State& state) {
  for (auto _ : state) {
    auto r = g_engine->call("threads.list", R"({"limit":50,"status":"pending"})", g_who);
    if (!r.ok()) state.SkipWithError(r.status().to_string().c_str());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ThreadsListByStatus);

void latency_report(const char* name, const std::function<std::string()>& params, int n) {
  std::vector<double> us;
  us.reserve(n);
  for (int i = 0; i < n; ++i) {
    std::string p = params();
    auto t0 = std::chrono::steady_clock::now();
    auto r = g_engine->call("threads.list", p, g_who);
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) {
      std::fprintf(stderr, "%s failed: %s\n", name, r.status().to_string().c_str());
      return;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))]; };
  std::printf("%-28s n=%d  p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
              name, n, pct(0.5), pct(0.9), pct(0.99), pct(0.999), us.back());
}

}  // namespace

int main(int argc, char** argv) {
  std::string db = "sqlite:///tmp/banxway-bench/threads.db";
  int threads = 100000, messages = 1000000;
  bool seed_only = false;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--db" && i + 1 < argc) db = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--messages" && i + 1 < argc) messages = std::atoi(argv[++i]);
    else if (a == "--seed-only") seed_only = true;
    else rest.push_back(argv[i]);
  }
  banxway::EngineOptions o;
  o.database_url = db;
  auto e = banxway::Engine::open(o);
  if (!e.ok()) {
    std::fprintf(stderr, "open %s: %s\n", db.c_str(), e.status().to_string().c_str());
    return 1;
  }
  g_engine = std::move(e).value();
  auto empty = g_engine->empty();
  std::string org;
  if (empty.ok() && *empty) {
    std::fprintf(stderr, "seeding %d threads, %d messages into %s\n", threads, messages, db.c_str());
    auto s = bxbench::seed(*g_engine, threads, messages);
    if (!s.ok()) {
      std::fprintf(stderr, "seed: %s\n", s.status().to_string().c_str());
      return 1;
    }
    org = s->org_id;
  }
  if (org.empty()) {
    auto r = g_engine->impl().core.db->query(
        "SELECT id FROM organizations WHERE name = 'Bench Freight' LIMIT 1", {});
    if (!r.ok() || r->empty()) {
      std::fprintf(stderr, "%s is not a bench database (no 'Bench Freight' org)\n", db.c_str());
      return 1;
    }
    org = r->rows[0].text(0);
  }
  auto who = g_engine->system_principal(org, "bench");
  if (!who.ok()) return 1;
  g_who = *who;
  if (seed_only) {
    std::printf("{\"org_id\":\"%s\"}\n", org.c_str());
    return 0;
  }
  // Collect cursors for 200 pages to sample deep pagination.
  std::string cursor;
  for (int i = 0; i < 200; ++i) {
    auto r = g_engine->call("threads.list",
                            cursor.empty() ? std::string(R"({"limit":50})")
                                           : "{\"limit\":50,\"cursor\":\"" + cursor + "\"}",
                            g_who);
    banxway::json::Document d;
    if (!r.ok() || !banxway::json::parse(r->data, &d, {64, SIZE_MAX}).ok() || d["next_cursor"].IsNull()) break;
    cursor = d["next_cursor"].GetString();
    g_cursors.push_back(cursor);
  }
  latency_report("threads.list first page", [] { return std::string(R"({"limit":50})"); }, 5000);
  size_t i = 0;
  latency_report("threads.list deep pages", [&] {
    return "{\"limit\":50,\"cursor\":\"" + g_cursors[i++ % g_cursors.size()] + "\"}";
  }, 5000);
  latency_report("threads.list status=pending", [] { return std::string(R"({"limit":50,"status":"pending"})"); }, 5000);
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
