// ISO 8601 durations and time zone lookup.
#include "sched/duration.hpp"

#include <gtest/gtest.h>

#include "sched/zone.hpp"

using namespace banxway;
using namespace banxway::sched;
using std::chrono::seconds;

TEST(Duration, ParsesEachUnitAndCombinations) {
  struct Case {
    const char* text;
    int64_t secs;
  } cases[] = {
      {"PT0S", 0},        {"PT45S", 45},       {"PT15M", 900},       {"PT2H", 7200},
      {"P1D", 86400},     {"P2W", 14 * 86400}, {"P1DT2H30M", 95400}, {"P1W1D", 8 * 86400},
      {"PT1H1M1S", 3661}, {"-PT24H", -86400},  {"PT36H", 36 * 3600}, {"P0D", 0},
  };
  for (const auto& c : cases) {
    auto r = parse_duration(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().to_string();
    EXPECT_EQ(r->count(), c.secs) << c.text;
  }
}

TEST(Duration, RejectsBadTextWithAReason) {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"", "empty"},
      {"2H", "must start with 'P'"},
      {"P", "no parts"},
      {"PT", "'T' must be followed"},
      {"P1Y", "years and months are not supported"},
      {"P2M", "years and months are not supported"},
      {"P2H", "needs the 'T' separator"},
      {"PT1D", "must come before 'T'"},
      {"PT1.5H", "fractions are not supported"},
      {"PT2H3H", "repeated or out of order"},
      {"PT5M2H", "repeated or out of order"},
      {"P1D2W", "repeated or out of order"},
      {"PT2", "number without a unit"},
      {"PTH", "expected a number"},
      {"PT2X", "unknown unit 'X'"},
      {"P9999999999999W", "too large"},
      {"P99999W", "longer than 100 years"},
      {"--PT1H", "must start with 'P'"},
  };
  for (const auto& c : cases) {
    auto r = parse_duration(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::invalid_argument) << c.text;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.text << " -> " << r.status().message();
    EXPECT_NE(r.status().message().find("\"" + std::string(c.text) + "\""), std::string::npos)
        << "the message names the text: " << r.status().message();
  }
}

TEST(Duration, FormatsCanonically) {
  EXPECT_EQ(format_duration(seconds(0)), "PT0S");
  EXPECT_EQ(format_duration(seconds(93600)), "P1DT2H");
  EXPECT_EQ(format_duration(seconds(90)), "PT1M30S");
  EXPECT_EQ(format_duration(seconds(14 * 86400)), "P14D");
  EXPECT_EQ(format_duration(seconds(-86400)), "-P1D");
  EXPECT_EQ(format_duration(seconds(3600 + 1)), "PT1H1S");
  // Round trip through the parser for a spread of values.
  for (int64_t v : {0LL, 1LL, 59LL, 60LL, 3599LL, 86399LL, 86400LL, 90061LL, -7200LL, 31536000LL}) {
    auto r = parse_duration(format_duration(seconds(v)));
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(r->count(), v);
  }
}

TEST(Zone, FindsIanaZonesAndRejectsUnknownNames) {
  auto utc = find_zone("UTC");
  ASSERT_TRUE(utc.ok()) << utc.status().to_string();
  auto kolkata = find_zone("Asia/Kolkata");
  ASSERT_TRUE(kolkata.ok());
  EXPECT_EQ((*kolkata)->name(), "Asia/Kolkata");
  for (const char* bad : {"", "Mars/Olympus_Mons", "../etc/passwd", "Europe/Berlin\n"}) {
    auto r = find_zone(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_NE(r.status().message().find("unknown time zone"), std::string::npos);
  }
}

TEST(Zone, LocalTimesInGapsAndOverlapsMapToDefinedInstants) {
  const date::time_zone* berlin = *find_zone("Europe/Berlin");
  using namespace std::chrono;
  using date::local_days;
  auto local = [](int y, unsigned m, unsigned d, int h, int mi) {
    return local_days{date::year(y) / date::month(m) / date::day(d)} + hours(h) + minutes(mi);
  };
  auto utc = [](int y, unsigned m, unsigned d, int h, int mi) {
    return date::sys_days{date::year(y) / date::month(m) / date::day(d)} + hours(h) + minutes(mi);
  };
  // 02:30 does not exist on 2026-03-29: the clock jumps from 02:00 CET to 03:00 CEST (01:00Z).
  EXPECT_EQ(to_instant(berlin, local(2026, 3, 29, 2, 30)), utc(2026, 3, 29, 1, 0));
  // 02:30 happens twice on 2026-10-25: 00:30Z (CEST) then 01:30Z (CET).
  EXPECT_EQ(to_instant(berlin, local(2026, 10, 25, 2, 30)), utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(to_instant(berlin, local(2026, 10, 25, 2, 30), true), utc(2026, 10, 25, 1, 30));
  EXPECT_EQ(to_instant(berlin, local(2026, 7, 1, 12, 0)), utc(2026, 7, 1, 10, 0));
}
