// Cron parsing and next-firing computation (see cron.hpp).
#include "sched/cron.hpp"

#include <array>
#include <cctype>
#include <vector>

namespace banxway::sched {
namespace {

struct FieldSpec {
  const char* name;
  int lo, hi;                // inclusive bounds of the written values
  const char* const* names;  // 3-letter names for values starting at names_base, or null
  int names_base, names_count;
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0, 0},       {"hour", 0, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, nullptr, 0, 0}, {"month", 1, 12, kMonthNames, 1, 12},
    {"day-of-week", 0, 7, kDayNames, 0, 7},
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Status field_error(const FieldSpec& f, std::string_view text, std::string_view why) {
  return InvalidArgument("invalid cron " + std::string(f.name) + " field \"" +
                         std::string(text.substr(0, 64)) + "\": " + std::string(why));
}

// A value: a number in range or (month, day-of-week) a three-letter name.
Result<int> parse_value(const FieldSpec& f, std::string_view field, std::string_view v) {
  if (v.empty()) return field_error(f, field, "empty value");
  if (std::isdigit(static_cast<unsigned char>(v.front()))) {
    int n = 0;
    for (char c : v) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return field_error(f, field, "\"" + std::string(v) + "\" is not a number");
      n = n * 10 + (c - '0');
      if (n > 1000) break;
    }
    if (n < f.lo || n > f.hi)
      return field_error(f, field,
                         std::to_string(n) + " is out of range " + std::to_string(f.lo) + "-" +
                             std::to_string(f.hi));
    return n;
  }
  if (f.names) {
    std::string u = upper(v);
    for (int i = 0; i < f.names_count; ++i)
      if (u == f.names[i]) return f.names_base + i;
  }
  return field_error(f, field, "unknown value \"" + std::string(v.substr(0, 16)) + "\"");
}

// Parses one field into a set of values in [lo, hi]; *star tells whether it starts with '*'.
Result<std::vector<bool>> parse_field(const FieldSpec& f, std::string_view field, bool* star) {
  std::vector<bool> set(f.hi + 1, false);
  *star = !field.empty() && field.front() == '*';
  size_t pos = 0;
  while (true) {
    size_t comma = field.find(',', pos);
    std::string_view item =
        field.substr(pos, comma == std::string_view::npos ? field.size() - pos : comma - pos);
    if (item.empty()) return field_error(f, field, "empty list item");
    int step = 1;
    size_t slash = item.find('/');
    std::string_view range = item.substr(0, slash);
    if (slash != std::string_view::npos) {
      std::string_view st = item.substr(slash + 1);
      if (st.empty() || st.size() > 4) return field_error(f, field, "step must be a number");
      step = 0;
      for (char c : st) {
        if (!std::isdigit(static_cast<unsigned char>(c)))
          return field_error(f, field, "step \"" + std::string(st) + "\" is not a number");
        step = step * 10 + (c - '0');
      }
      if (step == 0) return field_error(f, field, "step must be at least 1");
    }
    int a = 0, b = 0;
    if (range == "*") {
      a = f.lo;
      b = f.hi;
    } else {
      size_t dash = range.find('-');
      BX_ASSIGN_OR_RETURN(a, parse_value(f, field, range.substr(0, dash)));
      if (dash != std::string_view::npos) {
        BX_ASSIGN_OR_RETURN(b, parse_value(f, field, range.substr(dash + 1)));
        if (b < a)
          return field_error(f, field,
                             "range \"" + std::string(range) + "\" ends before it starts");
      } else {
        b = slash != std::string_view::npos ? f.hi : a;  // "10/20": from 10 to the end
      }
    }
    for (int v = a; v <= b; v += step) set[v] = true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return set;
}

}  // namespace

Result<Cron> Cron::parse(std::string_view expr) {
  while (!expr.empty() && std::isspace(static_cast<unsigned char>(expr.front())))
    expr.remove_prefix(1);
  while (!expr.empty() && std::isspace(static_cast<unsigned char>(expr.back())))
    expr.remove_suffix(1);
  if (expr.empty()) return InvalidArgument("invalid cron expression: empty");
  if (expr.size() > 256)
    return InvalidArgument("invalid cron expression: longer than 256 characters");
  Cron cron;
  cron.text_ = std::string(expr);
  std::string_view body = expr;
  if (expr.front() == '@') {
    std::string m = upper(expr);
    if (m == "@HOURLY")
      body = "0 * * * *";
    else if (m == "@DAILY" || m == "@MIDNIGHT")
      body = "0 0 * * *";
    else if (m == "@WEEKLY")
      body = "0 0 * * 0";
    else if (m == "@MONTHLY")
      body = "0 0 1 * *";
    else if (m == "@YEARLY" || m == "@ANNUALLY")
      body = "0 0 1 1 *";
    else
      return InvalidArgument("invalid cron expression \"" + std::string(expr.substr(0, 64)) +
                             "\": unknown shorthand (use @hourly, @daily, @weekly, @monthly or "
                             "@yearly)");
  }
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
    size_t j = i;
    while (j < body.size() && !std::isspace(static_cast<unsigned char>(body[j]))) ++j;
    if (j > i) fields.push_back(body.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5)
    return InvalidArgument("invalid cron expression \"" + std::string(expr.substr(0, 64)) +
                           "\": expected 5 fields (minute hour day-of-month month day-of-week), "
                           "got " +
                           std::to_string(fields.size()));
  bool star = false;
  BX_ASSIGN_OR_RETURN(auto minutes, parse_field(kFields[0], fields[0], &star));
  BX_ASSIGN_OR_RETURN(auto hours, parse_field(kFields[1], fields[1], &star));
  BX_ASSIGN_OR_RETURN(auto days, parse_field(kFields[2], fields[2], &cron.dom_star_));
  BX_ASSIGN_OR_RETURN(auto months, parse_field(kFields[3], fields[3], &star));
  BX_ASSIGN_OR_RETURN(auto weekdays, parse_field(kFields[4], fields[4], &cron.dow_star_));
  for (int v = 0; v < 60; ++v) cron.minutes_[v] = minutes[v];
  for (int v = 0; v < 24; ++v) cron.hours_[v] = hours[v];
  for (int v = 1; v <= 31; ++v) cron.days_[v] = days[v];
  for (int v = 1; v <= 12; ++v) cron.months_[v] = months[v];
  for (int v = 0; v <= 7; ++v)
    if (weekdays[v]) cron.weekdays_[v % 7] = true;  // 7 is Sunday too
  return cron;
}

bool Cron::day_matches(date::year_month_day ymd, date::weekday wd) const {
  if (!months_[unsigned(ymd.month())]) return false;
  bool dom = days_[unsigned(ymd.day())];
  bool dow = weekdays_[wd.c_encoding()];
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

std::optional<TimePoint> Cron::next_after(TimePoint t, const date::time_zone* tz) const {
  using namespace std::chrono;
  // Walk local days from the day before t's local date (a conversion near a DST change can land
  // a candidate of the previous local day after t) for five years and a bit. Candidates are
  // visited in local-time order; to_instant() is non-decreasing in local time, so the first
  // candidate whose instant is after t is the answer.
  auto local_now = tz->to_local(floor<seconds>(t));
  date::local_days day = floor<date::days>(local_now) - date::days(1);
  const date::local_days last = day + date::days(5 * 366 + 2);
  for (; day <= last; day += date::days(1)) {
    date::year_month_day ymd{day};
    if (!day_matches(ymd, date::weekday{day})) continue;
    for (int h = 0; h < 24; ++h) {
      if (!hours_[h]) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_[m]) continue;
        date::local_seconds local = day + hours(h) + minutes(m);
        if (local + hours(26) < local_now) continue;  // surely before t: skip the zone lookup
        date::sys_seconds at = to_instant(tz, local);
        if (TimePoint(at) > t) return TimePoint(at);
      }
    }
  }
  return std::nullopt;
}

}  // namespace banxway::sched
