#include "seed.hpp"

#include <chrono>
#include <cstdio>
#include <random>

#include "engine_impl.hpp"
#include "core/json.hpp"

namespace bxbench {

using namespace banxway;

Result<Seeded> seed(Engine& engine, int threads, int messages, int outbound_pct) {
  BX_ASSIGN_OR_RETURN(Bootstrap b, engine.bootstrap("Bench Freight"));
  json::Document d;
  BX_RETURN_IF_ERROR(json::parse(b.org_json, &d));
  Seeded s{d["id"].GetString(), b.api_key};
  api::Core& core = engine.impl().core;
  std::mt19937_64 rng(42);
  const char* statuses[] = {"open", "open", "open", "pending", "resolved", "closed"};
  const char* words[] = {"booking", "container", "customs", "invoice", "delay", "vessel",
                         "ETA", "clearance", "shipment", "Nhava", "Sheva", "Mundra", "BL"};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> thread_ids;
  thread_ids.reserve(threads);
  int64_t base_ms = 1767225600000;  // 2026-01-01
  const int batch = 20000;
  for (int start = 0; start < threads; start += batch) {
    Status st = core.db->transaction([&](store::Conn& c) -> Status {
      for (int i = start; i < std::min(threads, start + batch); ++i) {
        std::string id = core.ids->next();
        thread_ids.push_back(id);
        std::string at = format_time(TimePoint(std::chrono::milliseconds(base_ms + i * 60000LL)));
        auto r = c.query(
            "INSERT INTO threads (id, org_id, subject, status, priority, channels, tags, "
            "last_activity_at, last_message_at, preview, message_count, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'normal', '[\"email\"]', '[]', ?, ?, ?, ?, ?, ?)",
            {id, s.org_id, "Shipment " + std::to_string(i) + " " + words[i % 13],
             statuses[rng() % 6], at, at, "Latest update on the shipment", messages / threads,
             at, at});
        if (!r.ok()) return r.status();
      }
      return Status();
    });
    if (!st.ok()) return st;
  }
  for (int start = 0; start < messages; start += batch) {
    Status st = core.db->transaction([&](store::Conn& c) -> Status {
      for (int i = start; i < std::min(messages, start + batch); ++i) {
        const std::string& tid = thread_ids[rng() % thread_ids.size()];
        std::string at = format_time(TimePoint(std::chrono::milliseconds(base_ms + i * 6000LL)));
        std::string text;
        bool outbound = outbound_pct > 0 && static_cast<int>(rng() % 100) < outbound_pct;
        if (outbound) text = "We have checked with the carrier and will update you: ";
        for (int w = 0; w < 30; ++w) {
          text += words[rng() % 13];
          text += ' ';
        }
        auto r = c.query(
            "INSERT INTO messages (id, org_id, thread_id, channel, direction, subject, body_text, "
            "snippet, created_at) VALUES (?, ?, ?, 'email', ?, ?, ?, ?, ?)",
            {core.ids->next(), s.org_id, tid, outbound ? "outbound" : "inbound",
             "Re: shipment update", text, text.substr(0, 100), at});
        if (!r.ok()) return r.status();
      }
      return Status();
    });
    if (!st.ok()) return st;
    if ((start / batch) % 10 == 0)
      std::fprintf(stderr, "seeded %d/%d messages (%.0f s)\n", start + batch, messages,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return s;
}

}  // namespace bxbench
