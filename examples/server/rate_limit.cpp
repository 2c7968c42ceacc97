#include "rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace bxserver {

namespace {
// Buckets idle long enough to be full again carry no state worth keeping; past this many
// keys they are dropped so memory stays bounded whatever the number of keys.
constexpr size_t kMaxBuckets = 100000;
}  // namespace

RateLimiter::Bucket& RateLimiter::refill(std::string_view key, TimePoint now) {
  if (buckets_.size() >= kMaxBuckets) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double idle = std::chrono::duration<double>(now - it->second.last).count();
      it = it->second.tokens + idle * rate_ >= burst_ ? buckets_.erase(it) : std::next(it);
    }
    if (buckets_.size() >= kMaxBuckets) buckets_.clear();
  }
  auto [it, fresh] = buckets_.try_emplace(std::string(key), Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  return b;
}

int RateLimiter::seconds_to_token(const Bucket& b) const {
  double s = (1.0 - b.tokens) / rate_;
  return std::max(1, static_cast<int>(std::ceil(s)));
}

bool RateLimiter::allow(std::string_view key, TimePoint now, int* retry_after_s) {
  if (!enabled()) return true;
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = refill(key, now);
  if (b.tokens < 1.0) {
    if (retry_after_s) *retry_after_s = seconds_to_token(b);
    return false;
  }
  b.tokens -= 1.0;
  return true;
}

bool RateLimiter::exhausted(std::string_view key, TimePoint now, int* retry_after_s) {
  if (!enabled()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = refill(key, now);
  if (b.tokens >= 1.0) return false;
  if (retry_after_s) *retry_after_s = seconds_to_token(b);
  return true;
}

}  // namespace bxserver
