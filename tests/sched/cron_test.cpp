// Cron expressions: fields, names, steps, the day OR rule, month ends, and DST in real zones.
#include "sched/cron.hpp"

#include <gtest/gtest.h>

#include "core/env.hpp"

using namespace banxway;
using namespace banxway::sched;

namespace {

TimePoint at(const char* iso) {
  TimePoint t;
  EXPECT_TRUE(parse_time(iso, &t)) << iso;
  return t;
}

const date::time_zone* zone(const char* name) {
  auto z = find_zone(name);
  EXPECT_TRUE(z.ok()) << name;
  return *z;
}

Cron cron(const char* expr) {
  auto c = Cron::parse(expr);
  EXPECT_TRUE(c.ok()) << expr << ": " << c.status().to_string();
  return *c;
}

std::string next(const char* expr, const char* after, const char* tz = "UTC") {
  auto n = cron(expr).next_after(at(after), zone(tz));
  return n ? format_time(*n) : "none";
}

}  // namespace

TEST(Cron, BasicFieldsStepsAndLists) {
  EXPECT_EQ(next("*/15 * * * *", "2026-11-27T10:07:00Z"), "2026-11-27T10:15:00.000Z");
  EXPECT_EQ(next("10/20 * * * *", "2026-11-27T10:31:00Z"), "2026-11-27T10:50:00.000Z");
  EXPECT_EQ(next("0 8,12,17 * * *", "2026-11-27T12:00:00Z"), "2026-11-27T17:00:00.000Z");
  EXPECT_EQ(next("0 9-11 * * *", "2026-11-27T11:30:00Z"), "2026-11-28T09:00:00.000Z");
  // Strictly after: a time exactly on a firing moves to the next one; milliseconds count.
  EXPECT_EQ(next("0 * * * *", "2026-11-27T10:00:00Z"), "2026-11-27T11:00:00.000Z");
  EXPECT_EQ(next("0 * * * *", "2026-11-27T09:59:59.999Z"), "2026-11-27T10:00:00.000Z");
  EXPECT_EQ(cron("  0 * * * * ").text(), "0 * * * *");
}

TEST(Cron, NamesRangesOfDaysAndSundayAsSeven) {
  // 2026-11-27 is a Friday.
  EXPECT_EQ(next("0 9 * * MON-FRI", "2026-11-27T10:00:00Z"), "2026-11-30T09:00:00.000Z");
  EXPECT_EQ(next("0 9 * * sat,sun", "2026-11-27T10:00:00Z"), "2026-11-28T09:00:00.000Z");
  EXPECT_EQ(next("0 0 * * 7", "2026-11-27T10:00:00Z"), "2026-11-29T00:00:00.000Z");
  EXPECT_EQ(next("0 0 * * 0", "2026-11-27T10:00:00Z"), "2026-11-29T00:00:00.000Z");
  // Mon, Wed, Fri through a stepped range.
  EXPECT_EQ(next("0 6 * * 1-5/2", "2026-11-27T10:00:00Z"), "2026-11-30T06:00:00.000Z");
  EXPECT_EQ(next("0 6 * * 1-5/2", "2026-11-30T10:00:00Z"), "2026-12-02T06:00:00.000Z");
  EXPECT_EQ(next("0 0 1 JAN,jul *", "2026-11-27T10:00:00Z"), "2027-01-01T00:00:00.000Z");
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // "the 13th or any Friday"
  EXPECT_EQ(next("0 9 13 * FRI", "2026-11-27T10:00:00Z"), "2026-12-04T09:00:00.000Z");
  EXPECT_EQ(next("0 9 13 * FRI", "2026-12-11T10:00:00Z"), "2026-12-13T09:00:00.000Z");
  // Only one restricted: both must hold (a '*' day-of-week leaves just the 13th).
  EXPECT_EQ(next("0 9 13 * *", "2026-11-27T10:00:00Z"), "2026-12-13T09:00:00.000Z");
  // Friday the 13th needs AND, which a '*'-led day-of-month field gives.
  EXPECT_EQ(next("0 9 */1 * FRI", "2026-11-27T10:00:00Z"), "2026-12-04T09:00:00.000Z");
}

TEST(Cron, MonthEndsLeapDaysAndImpossibleDates) {
  EXPECT_EQ(next("0 0 31 * *", "2026-04-01T00:00:00Z"), "2026-05-31T00:00:00.000Z");
  EXPECT_EQ(next("0 0 31 * *", "2026-05-31T00:00:00Z"), "2026-07-31T00:00:00.000Z");
  EXPECT_EQ(next("0 12 29 2 *", "2026-03-01T00:00:00Z"), "2028-02-29T12:00:00.000Z");
  EXPECT_EQ(next("0 0 30 2 *", "2026-03-01T00:00:00Z"), "none");
  EXPECT_EQ(next("59 23 31 12 *", "2026-12-31T23:58:00Z"), "2026-12-31T23:59:00.000Z");
  EXPECT_EQ(next("59 23 31 12 *", "2026-12-31T23:59:00Z"), "2027-12-31T23:59:00.000Z");
}

TEST(Cron, Shorthands) {
  EXPECT_EQ(next("@hourly", "2026-11-27T10:07:00Z"), "2026-11-27T11:00:00.000Z");
  EXPECT_EQ(next("@daily", "2026-11-27T10:07:00Z"), "2026-11-28T00:00:00.000Z");
  EXPECT_EQ(next("@weekly", "2026-11-27T10:07:00Z"), "2026-11-29T00:00:00.000Z");
  EXPECT_EQ(next("@monthly", "2026-11-27T10:07:00Z"), "2026-12-01T00:00:00.000Z");
  EXPECT_EQ(next("@yearly", "2026-11-27T10:07:00Z"), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(next("@annually", "2026-11-27T10:07:00Z"), "2027-01-01T00:00:00.000Z");
}

TEST(Cron, EvaluatesInTheGivenZone) {
  // 09:00 in Kolkata (+05:30) is 03:30Z.
  EXPECT_EQ(next("0 9 * * *", "2026-11-27T00:00:00Z", "Asia/Kolkata"), "2026-11-27T03:30:00.000Z");
  EXPECT_EQ(next("0 9 * * *", "2026-11-27T03:30:00Z", "Asia/Kolkata"), "2026-11-28T03:30:00.000Z");
  // Midnight local on Monday in Kolkata is still Sunday in UTC.
  EXPECT_EQ(next("0 0 * * MON", "2026-11-27T00:00:00Z", "Asia/Kolkata"),
            "2026-11-29T18:30:00.000Z");
  // New York: 09:00 EST is 14:00Z in winter, 13:00Z (EDT) in summer.
  EXPECT_EQ(next("0 9 * * *", "2026-12-01T00:00:00Z", "America/New_York"),
            "2026-12-01T14:00:00.000Z");
  EXPECT_EQ(next("0 9 * * *", "2026-07-01T00:00:00Z", "America/New_York"),
            "2026-07-01T13:00:00.000Z");
}

TEST(Cron, TimeSkippedByDstGapFiresRightAfterTheGap) {
  // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z); 02:30 does not exist.
  EXPECT_EQ(next("30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Berlin"),
            "2026-03-29T01:00:00.000Z");
  EXPECT_EQ(next("30 2 * * *", "2026-03-29T01:00:00Z", "Europe/Berlin"),
            "2026-03-30T00:30:00.000Z");
  // Every 15 minutes: 01:45 CET (00:45Z), then the gap's times all fire once at 03:00 CEST.
  EXPECT_EQ(next("*/15 * * * *", "2026-03-29T00:45:00Z", "Europe/Berlin"),
            "2026-03-29T01:00:00.000Z");
  EXPECT_EQ(next("*/15 * * * *", "2026-03-29T01:00:00Z", "Europe/Berlin"),
            "2026-03-29T01:15:00.000Z");
  // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
  EXPECT_EQ(next("30 2 * * *", "2026-03-08T00:00:00Z", "America/New_York"),
            "2026-03-08T07:00:00.000Z");
}

TEST(Cron, TimeRepeatedByDstOverlapFiresOnce) {
  // Berlin, 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens at 00:30Z and 01:30Z.
  EXPECT_EQ(next("30 2 * * *", "2026-10-24T12:00:00Z", "Europe/Berlin"),
            "2026-10-25T00:30:00.000Z");
  EXPECT_EQ(next("30 2 * * *", "2026-10-25T00:30:00Z", "Europe/Berlin"),
            "2026-10-26T01:30:00.000Z");
  // New York, 2026-11-01: 02:00 EDT goes back to 01:00 EST (06:00Z). Quarter-hours of the
  // repeated hour fire in its first pass only (05:00Z-05:45Z), then 02:00 EST (07:00Z).
  const char* ny = "America/New_York";
  EXPECT_EQ(next("*/15 * * * *", "2026-11-01T04:59:00Z", ny), "2026-11-01T05:00:00.000Z");
  EXPECT_EQ(next("*/15 * * * *", "2026-11-01T05:45:00Z", ny), "2026-11-01T07:00:00.000Z");
  EXPECT_EQ(next("0 1 * * *", "2026-11-01T05:00:00Z", ny), "2026-11-02T06:00:00.000Z");
}

TEST(Cron, RejectsBadExpressionsNamingTheField) {
  struct Case {
    const char* expr;
    const char* needle;
  } cases[] = {
      {"", "empty"},
      {"* * * *", "expected 5 fields"},
      {"* * * * * *", "got 6"},
      {"60 * * * *", "minute field \"60\": 60 is out of range 0-59"},
      {"* 24 * * *", "hour field"},
      {"* * 0 * *", "day-of-month field \"0\": 0 is out of range 1-31"},
      {"* * * 13 *", "month field"},
      {"* * * * 8", "day-of-week field"},
      {"*/0 * * * *", "step must be at least 1"},
      {"5-1 * * * *", "ends before it starts"},
      {"* * * * FUNDAY", "unknown value \"FUNDAY\""},
      {"1,,2 * * * *", "empty list item"},
      {"a * * * *", "unknown value"},
      {"*/x * * * *", "is not a number"},
      {"@fortnightly", "unknown shorthand"},
  };
  for (const auto& c : cases) {
    auto r = Cron::parse(c.expr);
    ASSERT_FALSE(r.ok()) << c.expr;
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.expr << " -> " << r.status().message();
  }
}
