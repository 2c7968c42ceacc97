// Client-side rate limiting for provider APIs (Exotel: 200 requests/minute per account): a
// token bucket per key (the account), refilled continuously. Thread-safe; process-wide.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace banxway::net {

class KeyedRateLimiter {
 public:
  /// Takes one token for `key` from a bucket of `per_minute` tokens (capacity per_minute,
  /// refilled at per_minute/60 per second). Waits for it up to max_wait; returns the wait
  /// still needed (zero = acquired) when it would have to wait longer — the caller then
  /// reports unavailable with that retry-after instead of blocking a worker.
  /// per_minute <= 0: no limit (always zero).
  ///
  /// A caller that decides to wait reserves its token first (the bucket may go below zero) and
  /// sleeps outside the lock, so waiters are served in arrival order and none oversleeps. A
  /// non-zero return takes nothing. The wait returned is rounded up to whole milliseconds
  /// (at least 1 ms). If a key is used with a different per_minute, the bucket adopts the new
  /// rate and capacity from then on.
  std::chrono::milliseconds acquire(std::string_view key, int per_minute,
                                    std::chrono::milliseconds max_wait);

  static KeyedRateLimiter& global();

  /// Number of buckets currently held (tests, metrics). Memory is bounded: once more than
  /// kSweepThreshold keys exist, buckets that are full and idle for over 10 minutes — which
  /// behave exactly like a fresh bucket — are dropped.
  size_t bucket_count() const;
  static constexpr size_t kSweepThreshold = 10000;

 private:
  struct Bucket {
    double tokens = 0;  // may go below zero: tokens reserved by waiting callers
    int per_minute = 0;
    std::chrono::steady_clock::time_point last;  // of the last refill
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  void sweep_locked(std::chrono::steady_clock::time_point now);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket, KeyHash, std::equal_to<>> buckets_;
  size_t next_sweep_ = kSweepThreshold;
};

}  // namespace banxway::net
