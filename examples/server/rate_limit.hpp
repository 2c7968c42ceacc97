// Request rate limiting: a token bucket per key (an authenticated caller, or a client address),
// refilled continuously. Off unless a rate is configured.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bxserver {

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  /// rate: sustained requests per second per key (0 disables); burst: bucket size.
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst > 0 ? burst : rate) {}
  bool enabled() const { return rate_ > 0; }
  /// Takes one token for `key`; false when the key is over its rate. When refused and
  /// `retry_after_s` is given, it receives the whole seconds until a token is back (>= 1).
  bool allow(std::string_view key, TimePoint now = std::chrono::steady_clock::now(),
             int* retry_after_s = nullptr);
  /// Whether `key` has no token left right now (takes nothing).
  bool exhausted(std::string_view key, TimePoint now = std::chrono::steady_clock::now(),
                 int* retry_after_s = nullptr);

 private:
  struct Bucket {
    double tokens;
    TimePoint last;
  };
  Bucket& refill(std::string_view key, TimePoint now);
  int seconds_to_token(const Bucket& b) const;
  double rate_;
  double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace bxserver
