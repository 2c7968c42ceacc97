// KeyedRateLimiter: token buckets with continuous refill and reservation (see the header).
#include "net/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace banxway::net {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kIdleDrop = std::chrono::minutes(10);

}  // namespace

std::chrono::milliseconds KeyedRateLimiter::acquire(std::string_view key, int per_minute,
                                                    std::chrono::milliseconds max_wait) {
  if (per_minute <= 0) return std::chrono::milliseconds(0);
  const double capacity = static_cast<double>(per_minute);
  const double per_ns = capacity / 60e9;  // tokens per nanosecond
  std::chrono::nanoseconds sleep{0};
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= next_sweep_) sweep_locked(now);
      it = buckets_.emplace(std::string(key), Bucket{capacity, per_minute, now}).first;
    }
    Bucket& b = it->second;
    if (b.per_minute != per_minute) {  // the configured rate changed: adopt it
      b.per_minute = per_minute;
      b.tokens = std::min(b.tokens, capacity);
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - b.last);
    if (elapsed.count() > 0) {
      b.tokens = std::min(capacity, b.tokens + static_cast<double>(elapsed.count()) * per_ns);
      b.last = now;
    }
    const double after = b.tokens - 1.0;
    if (after >= 0) {
      b.tokens = after;
      return std::chrono::milliseconds(0);
    }
    // Time until the bucket has refilled to zero after taking this token.
    const double wait_ns = std::ceil(-after / per_ns);
    sleep = std::chrono::nanoseconds(static_cast<long long>(wait_ns));
    if (sleep > max_wait) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(sleep);
      return std::max(ms, std::chrono::milliseconds(1));
    }
    b.tokens = after;  // reserved: later callers queue behind this one
  }
  std::this_thread::sleep_for(sleep);
  return std::chrono::milliseconds(0);
}

void KeyedRateLimiter::sweep_locked(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const Bucket& b = it->second;
    const double refilled =
        b.tokens + std::chrono::duration<double>(now - b.last).count() * b.per_minute / 60.0;
    if (now - b.last > kIdleDrop && refilled >= static_cast<double>(b.per_minute))
      it = buckets_.erase(it);
    else
      ++it;
  }
  // Amortized: when most keys are live, do not rescan on every new key.
  next_sweep_ = std::max(kSweepThreshold, buckets_.size() * 2);
}

size_t KeyedRateLimiter::bucket_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

KeyedRateLimiter& KeyedRateLimiter::global() {
  static KeyedRateLimiter* instance = new KeyedRateLimiter();  // never destroyed: usable at exit
  return *instance;
}

}  // namespace banxway::net
