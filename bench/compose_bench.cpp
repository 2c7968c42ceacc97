// compose.context and compose.suggest latency on a large store: the synthetic inbox of
// bench/seed.cpp (T threads, M messages, a third of them outbound replies), plus shipments
// linked to a sample of threads, so similar-reply search and the shipment sections have work.
//
//   bench_compose [--threads T] [--messages M] [--samples N] [--similar K] [--db URL]
//
// Prints p50/p99/max of compose.context, and of the time from calling compose.suggest
// (offline mode, streaming) to its first "context" event — what an SSE client waits for
// before the model starts. URL defaults to a new SQLite file in a temp directory; a --db that
// already holds a store seeded by this benchmark is measured again as it is.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "banxway/engine.hpp"
#include "core/env.hpp"
#include "engine_impl.hpp"
#include "seed.hpp"

using namespace banxway;
using SteadyClock = std::chrono::steady_clock;

namespace {
double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1)))];
}
}  // namespace

int main(int argc, char** argv) {
  int threads = 100000, messages = 1000000, samples = 1000, similar = 5;
  std::string db;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--threads") threads = std::atoi(v.c_str());
    else if (k == "--messages") messages = std::atoi(v.c_str());
    else if (k == "--samples") samples = std::atoi(v.c_str());
    else if (k == "--db") db = v;
    else if (k == "--similar") similar = std::atoi(v.c_str());
  }
  std::filesystem::path dir;
  if (db.empty()) {
    dir = std::filesystem::temp_directory_path() / ("bx-compose-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    db = "sqlite://" + (dir / "bench.db").string();
  }
  EngineOptions o;
  o.database_url = db;
  o.watch_mail = false;
  auto e = Engine::open(o);
  if (!e.ok()) return std::fprintf(stderr, "%s\n", e.status().message().c_str()), 1;
  auto& engine = **e;
  api::Core& core = engine.impl().core;
  // --db naming a database this benchmark seeded before: measure again without seeding.
  bool reuse = !*engine.empty();
  Result<bxbench::Seeded> s = bxbench::Seeded{};
  Result<Principal> who = Principal{};
  if (reuse) {
    auto o = core.db->query("SELECT id FROM organizations ORDER BY created_at LIMIT 1");
    if (!o.ok() || o->empty()) return std::fprintf(stderr, "no organization\n"), 1;
    s->org_id = (*o)[0].str(0);
    who = engine.system_principal(s->org_id, "bench");
  } else {
    // A third of the messages are the organization's replies, as in a real inbox.
    s = bxbench::seed(engine, threads, messages, 33);
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.status().message().c_str()), 1;
    who = engine.authenticate(s->api_key);
  }
  // Thread ids, and for 2,000 of them a shipment with a milestone.
  auto rows = core.db->query("SELECT id FROM threads WHERE org_id = ? ORDER BY id", {s->org_id});
  std::vector<std::string> ids;
  for (const auto& r : *rows) ids.push_back(r.str(0));
  std::mt19937_64 rng(7);
  for (int i = 0; !reuse && i < 2000 && i < static_cast<int>(ids.size()); ++i) {
    const std::string& t = ids[rng() % ids.size()];
    auto sh = engine.call("shipments.create",
                          R"({"mode":"ocean","origin":"INNSA","destination":"AEJEA","eta":"2026-12-05T00:00:00Z"})",
                          *who);
    if (!sh.ok()) return std::fprintf(stderr, "%s\n", sh.status().message().c_str()), 1;
    std::string sid = sh->data.substr(sh->data.find("\"id\":\"") + 6, 36);
    (void)engine.call("shipments.link_thread", "{\"shipment_id\":\"" + sid + "\",\"thread_id\":\"" + t + "\"}", *who);
    (void)engine.call("shipments.set_milestone", "{\"shipment_id\":\"" + sid +
                                                     "\",\"kind\":\"departed\",\"actual_at\":\"2026-11-20T00:00:00Z\"}",
                      *who);
  }
  std::vector<double> ctx_ms, first_ms;
  for (int i = 0; i < samples; ++i) {
    const std::string& t = ids[rng() % ids.size()];
    auto t0 = SteadyClock::now();
    auto r = engine.call("compose.context",
                         "{\"thread_id\":\"" + t + "\",\"similar\":" + std::to_string(similar) + "}", *who);
    ctx_ms.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().message().c_str()), 1;
    double first = -1;
    auto t1 = SteadyClock::now();
    Engine::StreamSink sink = [&](std::string_view ev, std::string_view) {
      if (ev == "context" && first < 0)
        first = std::chrono::duration<double, std::milli>(SteadyClock::now() - t1).count();
      return true;
    };
    auto d = engine.call_streaming("compose.suggest", "{\"thread_id\":\"" + t + "\",\"mode\":\"rules\"}", *who, sink);
    if (!d.ok()) return std::fprintf(stderr, "%s\n", d.status().message().c_str()), 1;
    first_ms.push_back(first);
  }
  std::printf("store: %d threads, %d messages (%s)\n", threads, messages, db.substr(0, 10).c_str());
  std::printf("compose.context           p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d calls)\n",
              pct(ctx_ms, 0.5), pct(ctx_ms, 0.99), pct(ctx_ms, 1.0), samples);
  std::printf("suggest -> context event  p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", pct(first_ms, 0.5),
              pct(first_ms, 0.99), pct(first_ms, 1.0));
  if (!dir.empty()) std::filesystem::remove_all(dir);
  return 0;
}
