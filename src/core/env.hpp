// Env: the side-effect seams (clock and id source). Real implementations by default,
// fakes in tests (see FakeClock / SequentialIds).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace banxway {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

/// A clock tests move by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : ms_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(std::chrono::milliseconds(ms_.load())); }
  void advance(std::chrono::milliseconds d) { ms_ += d.count(); }
  void set(TimePoint t) { ms_ = t.time_since_epoch().count(); }

 private:
  std::atomic<int64_t> ms_;
};

class IdSource {
 public:
  virtual ~IdSource() = default;
  /// A new UUIDv7 in canonical lower-case text form.
  virtual std::string next() = 0;
};

/// UUIDv7 from the clock plus a CSPRNG; monotonic within one process.
class Uuid7Source final : public IdSource {
 public:
  explicit Uuid7Source(std::shared_ptr<Clock> clock);
  std::string next() override;

 private:
  std::shared_ptr<Clock> clock_;
  std::mutex mu_;
  int64_t last_ms_ = 0;
  uint16_t seq_ = 0;  // 12-bit counter in rand_a, for ordering within one millisecond
};

/// ISO-8601 UTC with milliseconds: 2026-01-02T03:04:05.678Z
std::string format_time(TimePoint t);
/// Parses ISO-8601 / RFC 3339 (Z or ±hh:mm offset, optional fraction). False if malformed.
bool parse_time(std::string_view s, TimePoint* out);
/// Is this text a canonical UUID (any version; hex case-insensitive)?
bool is_uuid(std::string_view s);

}  // namespace banxway
