#include "rate_limit.hpp"

#include <algorithm>

namespace bxserver {

namespace {
// Buckets idle long enough to be full again carry no state worth keeping; past this many
// callers they are dropped so memory stays bounded whatever the number of keys.
constexpr size_t kMaxBuckets = 100000;
}  // namespace

bool RateLimiter::allow(const std::string& caller, std::chrono::steady_clock::time_point now) {
  if (!enabled()) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() >= kMaxBuckets) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double idle = std::chrono::duration<double>(now - it->second.last).count();
      it = it->second.tokens + idle * rate_ >= burst_ ? buckets_.erase(it) : std::next(it);
    }
    if (buckets_.size() >= kMaxBuckets) buckets_.clear();
  }
  auto [it, fresh] = buckets_.try_emplace(caller, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace bxserver
