// Business calendars: weekends, holidays, several intervals a day, DST, +05:30, validation.
#include "sched/calendar.hpp"

#include <gtest/gtest.h>

#include "core/env.hpp"
#include "core/json.hpp"

using namespace banxway;
using namespace banxway::sched;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

TimePoint at(const char* iso) {
  TimePoint t;
  EXPECT_TRUE(parse_time(iso, &t)) << iso;
  return t;
}

Result<BusinessCalendar> parse(const std::string& text) {
  json::Document doc;
  Status st = json::parse(text, &doc);
  if (!st.ok()) return st;
  return BusinessCalendar::from_json(doc);
}

BusinessCalendar calendar(const std::string& text) {
  auto c = parse(text);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? *c : BusinessCalendar::always();
}

// Mon-Fri 09:00-13:00 and 14:00-18:00 in Kolkata (+05:30, no DST), Christmas off.
const char* kKolkata = R"({"time_zone":"Asia/Kolkata","hours":{
  "mon":[["09:00","13:00"],["14:00","18:00"]],"tue":[["09:00","13:00"],["14:00","18:00"]],
  "wed":[["09:00","13:00"],["14:00","18:00"]],"thu":[["09:00","13:00"],["14:00","18:00"]],
  "fri":[["14:00","18:00"],["09:00","13:00"]],"sat":[],"sun":[]},"holidays":["2026-12-25"]})";

std::string weekdays_in(const char* zone, const char* from, const char* to) {
  std::string day = std::string("[[\"") + from + "\",\"" + to + "\"]]";
  return std::string("{\"time_zone\":\"") + zone + "\",\"hours\":{\"mon\":" + day +
         ",\"tue\":" + day + ",\"wed\":" + day + ",\"thu\":" + day + ",\"fri\":" + day + "}}";
}

}  // namespace

TEST(Calendar, AlwaysIsWallTime) {
  BusinessCalendar c = BusinessCalendar::always();
  TimePoint t = at("2026-11-28T23:30:00Z");  // a Saturday night
  EXPECT_EQ(c.add(t, hours(49)), t + hours(49));
  EXPECT_EQ(c.between(t, t + hours(5)), seconds(5 * 3600));
  EXPECT_EQ(c.between(t + hours(5), t), seconds(0));
  EXPECT_TRUE(c.is_open(t));
  EXPECT_EQ(c.time_zone_name(), "UTC");
}

TEST(Calendar, WeekendAndLunchBreakAreSkipped) {
  BusinessCalendar c = calendar(kKolkata);
  // Friday 2026-11-27 17:00 IST (11:30Z) + 2 h: one hour on Friday, one on Monday from 09:00.
  EXPECT_EQ(format_time(c.add(at("2026-11-27T11:30:00Z"), hours(2))), "2026-11-30T04:30:00.000Z");
  // Monday 12:00 IST + 2 h: 12-13, lunch, 14-15.
  EXPECT_EQ(format_time(c.add(at("2026-11-30T06:30:00Z"), hours(2))), "2026-11-30T09:30:00.000Z");
  // Exactly the end of a morning: 09:00 + 4 h is due at 13:00, not after lunch.
  EXPECT_EQ(format_time(c.add(at("2026-11-30T03:30:00Z"), hours(4))), "2026-11-30T07:30:00.000Z");
  // Starting on Saturday counts from Monday's opening.
  EXPECT_EQ(format_time(c.add(at("2026-11-28T06:00:00Z"), hours(1))), "2026-11-30T04:30:00.000Z");
  // Starting during lunch counts from 14:00.
  EXPECT_EQ(format_time(c.add(at("2026-11-30T07:45:00Z"), minutes(30))),
            "2026-11-30T09:00:00.000Z");
  // A whole week of business time (40 h) from Monday 09:00 ends Friday 18:00.
  EXPECT_EQ(format_time(c.add(at("2026-11-30T03:30:00Z"), hours(40))), "2026-12-04T12:30:00.000Z");
  EXPECT_EQ(c.between(at("2026-11-27T11:30:00Z"), at("2026-11-30T04:30:00Z")), seconds(7200));
  EXPECT_EQ(c.add(at("2026-11-27T11:30:00Z"), seconds(0)), at("2026-11-27T11:30:00Z"));
}

TEST(Calendar, HolidaysAreWholeDaysOff) {
  BusinessCalendar c = calendar(kKolkata);
  // Thursday 2026-12-24 17:00 IST + 2 h: Friday 25th is a holiday, then the weekend.
  EXPECT_EQ(format_time(c.add(at("2026-12-24T11:30:00Z"), hours(2))), "2026-12-28T04:30:00.000Z");
  EXPECT_FALSE(c.is_open(at("2026-12-25T06:00:00Z")));
  EXPECT_TRUE(c.is_open(at("2026-12-24T06:00:00Z")));
  EXPECT_EQ(c.between(at("2026-12-24T00:00:00Z"), at("2026-12-28T00:00:00Z")), seconds(8 * 3600));
}

TEST(Calendar, IsOpenAtIntervalEdges) {
  BusinessCalendar c = calendar(kKolkata);
  EXPECT_FALSE(c.is_open(at("2026-11-30T03:29:59Z")));  // 08:59:59 IST
  EXPECT_TRUE(c.is_open(at("2026-11-30T03:30:00Z")));   // 09:00
  EXPECT_FALSE(c.is_open(at("2026-11-30T07:30:00Z")));  // 13:00: lunch
  EXPECT_TRUE(c.is_open(at("2026-11-30T08:30:00Z")));   // 14:00
  EXPECT_FALSE(c.is_open(at("2026-11-28T06:00:00Z")));  // Saturday
}

TEST(Calendar, AddAndBetweenAgree) {
  BusinessCalendar c = calendar(kKolkata);
  TimePoint starts[] = {at("2026-11-27T11:30:00Z"), at("2026-11-28T00:00:00Z"),
                        at("2026-12-23T05:17:31.250Z"), at("2026-11-30T07:59:00Z")};
  for (TimePoint s : starts) {
    for (seconds d : {seconds(1), seconds(3600), seconds(4 * 3600 + 17), seconds(30 * 3600),
                      seconds(200 * 3600)}) {
      TimePoint due = c.add(s, d);
      EXPECT_EQ(c.between(s, due), d) << format_time(s) << " + " << d.count();
      EXPECT_TRUE(c.is_open(due - std::chrono::milliseconds(1))) << format_time(due);
    }
  }
}

TEST(Calendar, TargetSpanningDstInBerlin) {
  BusinessCalendar c = calendar(weekdays_in("Europe/Berlin", "09:00", "18:00"));
  // Friday 2026-03-27 17:00 CET (16:00Z) + 2 h: Monday 30th 10:00 CEST = 08:00Z (not 09:00Z).
  EXPECT_EQ(format_time(c.add(at("2026-03-27T16:00:00Z"), hours(2))), "2026-03-30T08:00:00.000Z");
  // Autumn: Friday 2026-10-23 17:00 CEST (15:00Z) + 2 h: Monday 26th 10:00 CET = 09:00Z.
  EXPECT_EQ(format_time(c.add(at("2026-10-23T15:00:00Z"), hours(2))), "2026-10-26T09:00:00.000Z");
  EXPECT_EQ(c.between(at("2026-03-27T16:00:00Z"), at("2026-03-30T08:00:00Z")), seconds(7200));
}

TEST(Calendar, IntervalAcrossTheDstChangeHasItsRealLength) {
  // Sunday 00:00-06:00 in Berlin: 5 real hours on spring-forward night, 7 on fall-back night.
  BusinessCalendar c =
      calendar(R"({"time_zone":"Europe/Berlin","hours":{"sun":[["00:00","06:00"]]}})");
  EXPECT_EQ(c.between(at("2026-03-28T12:00:00Z"), at("2026-03-29T12:00:00Z")), seconds(5 * 3600));
  EXPECT_EQ(c.between(at("2026-10-24T12:00:00Z"), at("2026-10-25T12:00:00Z")), seconds(7 * 3600));
  // 6 h from the start of the fall-back Sunday (22:00Z Saturday) lands at 05:00 CET = 04:00Z.
  EXPECT_EQ(format_time(c.add(at("2026-10-24T22:00:00Z"), hours(6))), "2026-10-25T04:00:00.000Z");
  // The repeated 02:xx hour is open both times.
  EXPECT_TRUE(c.is_open(at("2026-10-25T00:30:00Z")));
  EXPECT_TRUE(c.is_open(at("2026-10-25T01:30:00Z")));
}

TEST(Calendar, TargetSpanningDstInNewYork) {
  BusinessCalendar c = calendar(weekdays_in("America/New_York", "09:00", "17:00"));
  // Friday 2026-10-30 16:00 EDT (20:00Z) + 3 h: Monday 2026-11-02 11:00 EST = 16:00Z.
  EXPECT_EQ(format_time(c.add(at("2026-10-30T20:00:00Z"), hours(3))), "2026-11-02T16:00:00.000Z");
  // Spring: Friday 2026-03-06 16:00 EST (21:00Z) + 3 h: Monday 9th 11:00 EDT = 15:00Z.
  EXPECT_EQ(format_time(c.add(at("2026-03-06T21:00:00Z"), hours(3))), "2026-03-09T15:00:00.000Z");
}

TEST(Calendar, KolkataHalfHourOffset) {
  BusinessCalendar c = calendar(weekdays_in("Asia/Kolkata", "10:00", "19:00"));
  EXPECT_FALSE(c.is_open(at("2026-11-30T04:29:00Z")));  // 09:59 IST
  EXPECT_TRUE(c.is_open(at("2026-11-30T04:30:00Z")));   // 10:00 IST
  EXPECT_EQ(format_time(c.add(at("2026-11-30T00:00:00Z"), minutes(90))),
            "2026-11-30T06:00:00.000Z");
}

TEST(Calendar, JsonRoundTripIsCanonical) {
  BusinessCalendar c = calendar(kKolkata);
  std::string text = c.to_json();
  EXPECT_NE(text.find(R"("fri":[["09:00","13:00"],["14:00","18:00"]])"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("holidays":["2026-12-25"])"), std::string::npos) << text;
  EXPECT_EQ(calendar(text).to_json(), text);
  BusinessCalendar full = calendar(
      R"({"time_zone":"UTC","hours":{"mon":[["00:00","24:00"]],"sat":[["10:00","12:00"]]}})");
  EXPECT_NE(full.to_json().find(R"("mon":[["00:00","24:00"]])"), std::string::npos);
  EXPECT_NE(full.to_json().find(R"("sun":[])"), std::string::npos);
}

TEST(Calendar, SparseCalendarStaysBounded) {
  // One minute a week: a year of business time is far away, but add() must return.
  BusinessCalendar c = calendar(R"({"time_zone":"UTC","hours":{"sun":[["00:00","00:01"]]}})");
  TimePoint s = at("2026-11-27T00:00:00Z");
  TimePoint due = c.add(s, minutes(52));
  EXPECT_EQ(format_time(due), "2027-11-21T00:01:00.000Z");
  EXPECT_EQ(c.between(s, due), seconds(52 * 60));
  // Beyond the horizon the rest continues as wall time instead of spinning.
  TimePoint far = c.add(s, hours(24 * 365 * 3));
  EXPECT_GT(far, s + hours(24 * 365 * 100));
}

TEST(Calendar, RejectsInvalidDefinitionsNamingThePath) {
  struct Case {
    const char* json;
    const char* needle;
  } cases[] = {
      {R"([])", "calendar: must be an object"},
      {R"({"hours":{"mon":[["09:00","18:00"]]}})", "time_zone: required"},
      {R"({"time_zone":"Nowhere/City","hours":{"mon":[["09:00","18:00"]]}})",
       "time_zone: unknown time zone \"Nowhere/City\""},
      {R"({"time_zone":"UTC"})", "hours: required"},
      {R"({"time_zone":"UTC","hours":{}})", "a calendar needs at least one working interval"},
      {R"({"time_zone":"UTC","hours":{"mon":[],"sun":[]}})",
       "a calendar needs at least one working interval"},
      {R"({"time_zone":"UTC","hours":{"funday":[["09:00","18:00"]]}})",
       "hours.funday: unknown weekday"},
      {R"({"time_zone":"UTC","hours":{"mon":[["18:00","09:00"]]}})",
       "hours.mon[0]: end 09:00 is not after start 18:00"},
      {R"({"time_zone":"UTC","hours":{"mon":[["09:00","18:00"],["9:30","20:00"]]}})",
       "hours.mon[1]: start \"9:30\" is not a time"},
      {R"({"time_zone":"UTC","hours":{"tue":[["09:00","13:00"],["12:00","18:00"]]}})",
       "hours.tue: intervals 09:00-13:00 and 12:00-18:00 overlap"},
      {R"({"time_zone":"UTC","hours":{"mon":[["09:00","24:30"]]}})", "hours.mon[0]: end \"24:30\""},
      {R"({"time_zone":"UTC","hours":{"mon":["09:00-18:00"]}})", "hours.mon[0]: must be a pair"},
      {R"({"time_zone":"UTC","hours":{"mon":[["09:00","18:00"]]},"holidays":["2026-02-30"]})",
       "holidays[0]: must be a date"},
      {R"({"time_zone":"UTC","hours":{"mon":[["09:00","18:00"]]},"holidays":"2026-12-25"})",
       "holidays: must be an array"},
      {R"({"time_zone":"UTC","hours":{"mon":[["09:00","18:00"]]},"zone":"x"})",
       "zone: unknown key"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.json << " -> " << r.status().message();
  }
}
