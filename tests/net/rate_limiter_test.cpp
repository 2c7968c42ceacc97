// KeyedRateLimiter: logical checks only (no timing thresholds beyond "it refills eventually").
#include "net/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace banxway::net {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, BurstThenWait) {
  KeyedRateLimiter rl;
  for (int i = 0; i < 60; ++i) EXPECT_EQ(rl.acquire("acct", 60, 0ms), 0ms) << i;
  auto wait = rl.acquire("acct", 60, 0ms);
  EXPECT_GT(wait, 0ms);
  EXPECT_LE(wait, 1000ms);  // one token refills in a second at 60/minute
  // A refusal takes nothing: asking again still reports a wait no larger than before.
  auto again = rl.acquire("acct", 60, 0ms);
  EXPECT_GT(again, 0ms);
  EXPECT_LE(again, wait);
}

TEST(RateLimiter, KeysAreIndependent) {
  KeyedRateLimiter rl;
  EXPECT_EQ(rl.acquire("a", 1, 0ms), 0ms);
  EXPECT_GT(rl.acquire("a", 1, 0ms), 0ms);
  EXPECT_EQ(rl.acquire("b", 1, 0ms), 0ms);
  EXPECT_GT(rl.acquire("b", 1, 0ms), 0ms);
  EXPECT_EQ(rl.bucket_count(), 2u);
}

TEST(RateLimiter, ZeroOrNegativeIsUnlimited) {
  KeyedRateLimiter rl;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(rl.acquire("k", 0, 0ms), 0ms);
    EXPECT_EQ(rl.acquire("k", -5, 0ms), 0ms);
  }
  EXPECT_EQ(rl.bucket_count(), 0u);
}

TEST(RateLimiter, WaitsWithinMaxWait) {
  KeyedRateLimiter rl;
  // 6000/minute = one token per 10 ms: after the burst, a generous max_wait always succeeds.
  for (int i = 0; i < 6000; ++i) ASSERT_EQ(rl.acquire("fast", 6000, 0ms), 0ms);
  EXPECT_EQ(rl.acquire("fast", 6000, 60s), 0ms);
  EXPECT_EQ(rl.acquire("fast", 6000, 60s), 0ms);
}

TEST(RateLimiter, ReservedTokensQueueLaterCallers) {
  KeyedRateLimiter rl;
  // 1/minute: the first token is free; a second caller would need ~60 s, more than allowed.
  EXPECT_EQ(rl.acquire("slow", 1, 0ms), 0ms);
  auto w = rl.acquire("slow", 1, 10ms);
  EXPECT_GT(w, 10ms);
  EXPECT_LE(w, 60000ms);
}

TEST(RateLimiter, ConcurrentCallersNeverExceedBurstImmediately) {
  KeyedRateLimiter rl;
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (rl.acquire("shared", 1000, 0ms) == 0ms) ++granted;
    });
  for (auto& th : threads) th.join();
  // The 1000-token burst is always available; anything beyond is refill (time-dependent).
  EXPECT_GE(granted.load(), 1000);
  EXPECT_LE(granted.load(), 2000);
}

TEST(RateLimiter, RateChangeAdoptsNewCapacity) {
  KeyedRateLimiter rl;
  EXPECT_EQ(rl.acquire("k", 100, 0ms), 0ms);
  // Lowering the rate clamps the bucket to the new capacity (2): two more, then a wait.
  EXPECT_EQ(rl.acquire("k", 2, 0ms), 0ms);
  EXPECT_EQ(rl.acquire("k", 2, 0ms), 0ms);
  EXPECT_GT(rl.acquire("k", 2, 0ms), 0ms);
}

TEST(RateLimiter, GlobalIsOneInstance) {
  EXPECT_EQ(&KeyedRateLimiter::global(), &KeyedRateLimiter::global());
  EXPECT_EQ(KeyedRateLimiter::global().acquire("rate_limiter_test.global", 0, 0ms), 0ms);
}

TEST(RateLimiter, ManyKeysStayUsable) {
  KeyedRateLimiter rl;
  // Past the sweep threshold nothing idle long enough exists yet, so all buckets are kept
  // and each key still has its own budget.
  const int n = static_cast<int>(KeyedRateLimiter::kSweepThreshold) + 50;
  for (int i = 0; i < n; ++i) ASSERT_EQ(rl.acquire("key" + std::to_string(i), 1, 0ms), 0ms);
  EXPECT_EQ(rl.bucket_count(), static_cast<size_t>(n));
  EXPECT_GT(rl.acquire("key0", 1, 0ms), 0ms);
}

}  // namespace
}  // namespace banxway::net
