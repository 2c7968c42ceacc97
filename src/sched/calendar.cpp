// Business calendar arithmetic (see calendar.hpp).
#include "sched/calendar.hpp"

#include <algorithm>
#include <cstdio>

namespace banxway::sched {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kDayKeys[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
// Bound of every day walk: beyond this the remaining time is added as wall time.
constexpr int kMaxDays = 100 * 366;
constexpr size_t kMaxHolidays = 2000;
constexpr size_t kMaxIntervalsPerDay = 48;

Status bad(const std::string& path, const std::string& what) {
  return InvalidArgument(path + ": " + what, "{\"field\":" + json::quote(path) + "}");
}

// "HH:MM" with 00:00 <= value <= 24:00; minutes since midnight or -1.
int parse_hhmm(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (int i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9') return -1;
  int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

std::string format_hhmm(int m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", m / 60, m % 60);
  return buf;
}

bool parse_date(std::string_view s, date::local_days* out) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  int y = std::stoi(std::string(s.substr(0, 4)));
  unsigned mo = unsigned(std::stoi(std::string(s.substr(5, 2))));
  unsigned d = unsigned(std::stoi(std::string(s.substr(8, 2))));
  date::year_month_day ymd{date::year(y), date::month(mo), date::day(d)};
  if (!ymd.ok() || y < 1970 || y > 2200) return false;
  *out = date::local_days(ymd);
  return true;
}

date::local_days local_day_of(const date::time_zone* tz, TimePoint t) {
  return std::chrono::floor<date::days>(tz->to_local(std::chrono::floor<seconds>(t)));
}

}  // namespace

Result<BusinessCalendar> BusinessCalendar::from_json(const json::Value& v) {
  if (!v.IsObject()) return bad("calendar", "must be an object");
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string_view k(it->name.GetString(), it->name.GetStringLength());
    if (k != "time_zone" && k != "hours" && k != "holidays")
      return bad(std::string(k), "unknown key (expected time_zone, hours, holidays)");
  }
  BusinessCalendar cal;
  auto tz_name = json::get_string(v, "time_zone");
  if (!tz_name) return bad("time_zone", "required: an IANA time zone name such as Europe/Berlin");
  auto zone = find_zone(*tz_name);
  if (!zone.ok()) return bad("time_zone", zone.status().message());
  cal.zone_ = *zone;
  cal.zone_name_ = std::string(*tz_name);

  const json::Value* hours = json::get(v, "hours");
  if (!hours || !hours->IsObject())
    return bad("hours",
               "required: an object of weekday (mon..sun) to [[\"09:00\",\"18:00\"], ...]");
  size_t total = 0;
  for (auto it = hours->MemberBegin(); it != hours->MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    int wd = -1;
    for (int i = 0; i < 7; ++i)
      if (key == kDayKeys[i]) wd = i;
    std::string path = "hours." + key;
    if (wd < 0) return bad(path, "unknown weekday (use mon, tue, wed, thu, fri, sat, sun)");
    const json::Value& list = it->value;
    if (!list.IsArray()) return bad(path, "must be an array of [\"HH:MM\", \"HH:MM\"] pairs");
    if (list.Size() > kMaxIntervalsPerDay)
      return bad(path, "more than " + std::to_string(kMaxIntervalsPerDay) + " intervals");
    std::vector<Interval>& out = cal.hours_[wd];
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      std::string ip = path + "[" + std::to_string(i) + "]";
      const json::Value& pair = list[i];
      if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsString() || !pair[1].IsString())
        return bad(ip, "must be a pair [\"HH:MM\", \"HH:MM\"]");
      int s = parse_hhmm(pair[0].GetString()), e = parse_hhmm(pair[1].GetString());
      if (s < 0 || s >= 1440)
        return bad(ip,
                   std::string("start \"") + pair[0].GetString() + "\" is not a time 00:00-23:59");
      if (e < 0)
        return bad(ip,
                   std::string("end \"") + pair[1].GetString() + "\" is not a time 00:00-24:00");
      if (e <= s) return bad(ip, "end " + format_hhmm(e) + " is not after start " + format_hhmm(s));
      out.push_back({s, e});
    }
    std::sort(out.begin(), out.end(),
              [](const Interval& a, const Interval& b) { return a.start < b.start; });
    for (size_t i = 1; i < out.size(); ++i)
      if (out[i].start < out[i - 1].end)
        return bad(path, "intervals " + format_hhmm(out[i - 1].start) + "-" +
                             format_hhmm(out[i - 1].end) + " and " + format_hhmm(out[i].start) +
                             "-" + format_hhmm(out[i].end) + " overlap");
    total += out.size();
  }
  if (total == 0) return bad("hours", "a calendar needs at least one working interval");

  if (const json::Value* hol = json::get(v, "holidays")) {
    if (!hol->IsArray()) return bad("holidays", "must be an array of \"YYYY-MM-DD\" dates");
    if (hol->Size() > kMaxHolidays)
      return bad("holidays", "more than " + std::to_string(kMaxHolidays) + " dates");
    for (rapidjson::SizeType i = 0; i < hol->Size(); ++i) {
      date::local_days d;
      if (!(*hol)[i].IsString() || !parse_date((*hol)[i].GetString(), &d))
        return bad("holidays[" + std::to_string(i) + "]",
                   "must be a date \"YYYY-MM-DD\" (1970-2200)");
      cal.holidays_.push_back(d);
    }
    std::sort(cal.holidays_.begin(), cal.holidays_.end());
    cal.holidays_.erase(std::unique(cal.holidays_.begin(), cal.holidays_.end()),
                        cal.holidays_.end());
  }
  cal.full_time_ = cal.holidays_.empty();
  for (const auto& day : cal.hours_)
    if (day.size() != 1 || day[0].start != 0 || day[0].end != 1440) cal.full_time_ = false;
  return cal;
}

BusinessCalendar BusinessCalendar::always() {
  BusinessCalendar cal;
  cal.zone_ = date::locate_zone("UTC");
  cal.zone_name_ = "UTC";
  for (auto& day : cal.hours_) day = {Interval{0, 1440}};
  cal.full_time_ = true;
  return cal;
}

bool BusinessCalendar::is_holiday(date::local_days d) const {
  return std::binary_search(holidays_.begin(), holidays_.end(), d);
}

const std::vector<BusinessCalendar::Interval>& BusinessCalendar::intervals_on(
    date::local_days d) const {
  static const std::vector<Interval> kNone;
  if (is_holiday(d)) return kNone;
  return hours_[date::weekday(d).c_encoding()];
}

TimePoint BusinessCalendar::add(TimePoint start, seconds d) const {
  if (d <= seconds(0)) return start;
  if (full_time_) return start + d;
  milliseconds remaining = d;
  TimePoint cur = start;
  // From the day before start's local date: an interval of that day may still be open or the
  // conversion of its end may land after start around a DST change.
  date::local_days day = local_day_of(zone_, start) - date::days(1);
  for (int i = 0; i < kMaxDays; ++i, day += date::days(1)) {
    for (const Interval& iv : intervals_on(day)) {
      TimePoint open = to_instant(zone_, day + minutes(iv.start));
      TimePoint close = to_instant(zone_, day + minutes(iv.end), /*latest=*/true);
      if (close <= cur) continue;
      if (open > cur) cur = open;
      milliseconds avail = close - cur;
      if (remaining <= avail) return cur + remaining;
      remaining -= avail;
      cur = close;
    }
  }
  return cur + remaining;
}

seconds BusinessCalendar::between(TimePoint a, TimePoint b) const {
  if (b <= a) return seconds(0);
  if (full_time_) return std::chrono::floor<seconds>(b - a);
  milliseconds sum(0);
  date::local_days day = local_day_of(zone_, a) - date::days(1);
  date::local_days last = local_day_of(zone_, b) + date::days(1);
  for (int i = 0; i < kMaxDays && day <= last; ++i, day += date::days(1)) {
    for (const Interval& iv : intervals_on(day)) {
      TimePoint open = to_instant(zone_, day + minutes(iv.start));
      TimePoint close = to_instant(zone_, day + minutes(iv.end), /*latest=*/true);
      TimePoint lo = std::max(open, a), hi = std::min(close, b);
      if (hi > lo) sum += hi - lo;
    }
  }
  return std::chrono::floor<seconds>(sum);
}

bool BusinessCalendar::is_open(TimePoint t) const {
  if (full_time_) return true;
  date::local_days day = local_day_of(zone_, t);
  for (date::local_days d : {day - date::days(1), day, day + date::days(1)}) {
    for (const Interval& iv : intervals_on(d)) {
      TimePoint open = to_instant(zone_, d + minutes(iv.start));
      TimePoint close = to_instant(zone_, d + minutes(iv.end), /*latest=*/true);
      if (open <= t && t < close) return true;
    }
  }
  return false;
}

std::string BusinessCalendar::to_json() const {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  json::key(w, "time_zone");
  json::write_str(w, zone_name_);
  json::key(w, "hours");
  w.StartObject();
  for (int i = 1; i <= 7; ++i) {  // mon .. sun
    int wd = i % 7;
    json::key(w, kDayKeys[wd]);
    w.StartArray();
    for (const Interval& iv : hours_[wd]) {
      w.StartArray();
      json::write_str(w, format_hhmm(iv.start));
      json::write_str(w, format_hhmm(iv.end));
      w.EndArray();
    }
    w.EndArray();
  }
  w.EndObject();
  json::key(w, "holidays");
  w.StartArray();
  for (date::local_days d : holidays_) json::write_str(w, date::format("%F", d));
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

}  // namespace banxway::sched
