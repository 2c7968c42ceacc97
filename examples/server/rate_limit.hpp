// Per-caller request rate limiting: a token bucket for each authenticated principal
// (organization + actor), refilled continuously. Off unless a rate is configured.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bxserver {

class RateLimiter {
 public:
  /// rate: sustained requests per second per caller (0 disables); burst: bucket size.
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst > 0 ? burst : rate) {}
  bool enabled() const { return rate_ > 0; }
  /// Takes one token for `caller`; false when the caller is over its rate.
  bool allow(const std::string& caller,
             std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  double rate_;
  double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace bxserver
