// ISO 8601 duration parsing and formatting (see duration.hpp).
#include "sched/duration.hpp"

#include <cstdint>
#include <limits>

namespace banxway::sched {
namespace {

Status bad(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid duration \"" + std::string(text.substr(0, 64)) +
                         "\": " + std::string(why));
}

// Seconds per designator; 0 for a letter that is not allowed in that part.
int64_t date_unit(char c) {
  switch (c) {
    case 'W':
      return 7 * 86400;
    case 'D':
      return 86400;
    default:
      return 0;
  }
}
int64_t time_unit(char c) {
  switch (c) {
    case 'H':
      return 3600;
    case 'M':
      return 60;
    case 'S':
      return 1;
    default:
      return 0;
  }
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  std::string_view s = text;
  if (s.empty()) return bad(text, "empty text (expected e.g. PT2H or P1D)");
  bool negative = false;
  if (s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() != 'P') return bad(text, "must start with 'P' (e.g. PT2H, P1D)");
  s.remove_prefix(1);
  if (s.empty()) return bad(text, "no parts after 'P'");

  // Largest total we accept: about 100 years, far beyond any target, and safe from overflow
  // when added to a time point.
  constexpr int64_t kMax = int64_t{100} * 366 * 86400;
  int64_t total = 0;
  bool in_time = false, any = false, time_any = false;
  int last_rank = -1;  // W=0 D=1 H=2 M=3 S=4: parts must come in this order, each once
  while (!s.empty()) {
    if (s.front() == 'T') {
      if (in_time) return bad(text, "'T' appears twice");
      in_time = true;
      s.remove_prefix(1);
      if (s.empty()) return bad(text, "'T' must be followed by hours, minutes or seconds");
      continue;
    }
    size_t n = 0;
    int64_t value = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
      if (n >= 12) return bad(text, "number too large");
      value = value * 10 + (s[n] - '0');
      ++n;
    }
    if (n == 0) {
      if (s.front() == '.' || s.front() == ',') return bad(text, "fractions are not supported");
      return bad(text, std::string("expected a number before '") + s.front() + "'");
    }
    if (n == s.size()) return bad(text, "number without a unit at the end");
    if (s[n] == '.' || s[n] == ',') return bad(text, "fractions are not supported");
    char unit = s[n];
    int64_t mult = in_time ? time_unit(unit) : date_unit(unit);
    if (mult == 0) {
      if (!in_time && (unit == 'Y' || unit == 'M'))
        return bad(text,
                   "years and months are not supported (their length varies); use days "
                   "or weeks, and PTnM for minutes");
      if (!in_time && (unit == 'H' || unit == 'S'))
        return bad(text, std::string("'") + unit + "' needs the 'T' separator (e.g. PT2H)");
      if (in_time && (unit == 'W' || unit == 'D'))
        return bad(text, std::string("'") + unit + "' must come before 'T'");
      return bad(text, std::string("unknown unit '") + unit + "'");
    }
    int rank = in_time ? (unit == 'H' ? 2 : unit == 'M' ? 3 : 4) : (unit == 'W' ? 0 : 1);
    if (rank <= last_rank)
      return bad(text, "parts repeated or out of order (use W, D, T, H, M, S)");
    last_rank = rank;
    if (value > kMax / mult) return bad(text, "longer than 100 years");
    total += value * mult;
    if (total > kMax) return bad(text, "longer than 100 years");
    any = true;
    if (in_time) time_any = true;
    s.remove_prefix(n + 1);
  }
  if (!any) return bad(text, "no parts after 'P'");
  if (in_time && !time_any) return bad(text, "'T' must be followed by hours, minutes or seconds");
  return std::chrono::seconds(negative ? -total : total);
}

std::string format_duration(std::chrono::seconds d) {
  int64_t v = d.count();
  std::string out;
  // Work in unsigned space so that the most negative value does not overflow on negation.
  uint64_t u = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  if (v < 0) out += '-';
  out += 'P';
  uint64_t days = u / 86400, h = u % 86400 / 3600, m = u % 3600 / 60, sec = u % 60;
  if (days) out += std::to_string(days) + "D";
  if (h || m || sec || !days) {
    out += 'T';
    if (h) out += std::to_string(h) + "H";
    if (m) out += std::to_string(m) + "M";
    if (sec || (!h && !m)) out += std::to_string(sec) + "S";
  }
  return out;
}

}  // namespace banxway::sched
