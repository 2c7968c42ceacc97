// Seeds a database with a synthetic inbox for benchmarks: T threads, M messages, one org.
#pragma once
#include <string>

#include "banxway/engine.hpp"

namespace bxbench {

struct Seeded {
  std::string org_id;
  std::string api_key;
};

/// Fills the engine's database (must be empty) through the storage layer in large
/// transactions. Messages spread over threads with a skew like a real inbox.
/// outbound_pct: that share of the messages (0-100) are the organization's replies (direction
/// outbound, a reply-like text), interleaved with the inbound ones.
banxway::Result<Seeded> seed(banxway::Engine& engine, int threads, int messages,
                             int outbound_pct = 0);

}  // namespace bxbench
