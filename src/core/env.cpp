#include "core/env.hpp"

#include <openssl/rand.h>

#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace banxway {

TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

Uuid7Source::Uuid7Source(std::shared_ptr<Clock> clock) : clock_(std::move(clock)) {}

std::string Uuid7Source::next() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  int64_t ms = clock_->now().time_since_epoch().count();
  uint16_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ms <= last_ms_) {
      // Same (or earlier: clock stepped back) millisecond: keep order with a counter.
      ms = last_ms_;
      if (++seq_ > 0x0fff) {  // counter exhausted: borrow the next millisecond
        ++ms;
        last_ms_ = ms;
        seq_ = 0;
      }
    } else {
      last_ms_ = ms;
      seq_ = static_cast<uint16_t>(b[6] & 0x03);  // small random start, room to count up
    }
    seq = seq_;
  }
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((seq >> 8) & 0x0f));
  b[7] = static_cast<unsigned char>(seq & 0xff);
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3f));
  static const char* hex = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(hex[b[i] >> 4]);
    s.push_back(hex[b[i] & 0xf]);
  }
  return s;
}

std::string format_time(TimePoint t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

namespace {
bool digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}
}  // namespace

bool parse_time(std::string_view s, TimePoint* out) {
  using namespace std::chrono;
  int Y, M, D, h = 0, m = 0, sec = 0, ms = 0;
  if (!digits(s, 0, 4, &Y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, &M) || s[7] != '-' ||
      !digits(s, 8, 2, &D))
    return false;
  size_t p = 10;
  int offset_min = 0;
  if (p < s.size()) {
    if (s[p] != 'T' && s[p] != 't' && s[p] != ' ') return false;
    ++p;
    if (!digits(s, p, 2, &h) || p + 2 >= s.size() || s[p + 2] != ':' || !digits(s, p + 3, 2, &m))
      return false;
    p += 5;
    if (p < s.size() && s[p] == ':') {
      if (!digits(s, p + 1, 2, &sec)) return false;
      p += 3;
    }
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      int n = 0;
      while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) {
        if (n < 3) ms = ms * 10 + (s[p] - '0');
        ++n;
        ++p;
      }
      if (n == 0) return false;
      for (; n < 3; ++n) ms *= 10;
    }
    if (p >= s.size()) return false;  // a time without a zone is ambiguous
    if (s[p] == 'Z' || s[p] == 'z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      int oh, om;
      if (!digits(s, p + 1, 2, &oh)) return false;
      size_t q = p + 3;
      if (q < s.size() && s[q] == ':') ++q;
      if (!digits(s, q, 2, &om)) return false;
      offset_min = (oh * 60 + om) * (s[p] == '-' ? -1 : 1);
      p = q + 2;
    } else {
      return false;
    }
    if (p != s.size()) return false;
  }
  if (M < 1 || M > 12 || h > 23 || m > 59 || sec > 60) return false;
  year_month_day ymd{year{Y}, month{static_cast<unsigned>(M)}, day{static_cast<unsigned>(D)}};
  if (!ymd.ok()) return false;
  auto tp = sys_days(ymd) + hours(h) + minutes(m) + seconds(sec) + milliseconds(ms) -
            minutes(offset_min);
  *out = time_point_cast<milliseconds>(tp);
  return true;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace banxway
