// Core: status codes, time and ids, JSON parsing limits, crypto helpers.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "banxway/status.hpp"
#include "core/crypto.hpp"
#include "core/env.hpp"
#include "core/json.hpp"

using namespace banxway;

TEST(Status, CodesRoundTripAndMapToHttp) {
  for (Code c : {Code::invalid_argument, Code::not_found, Code::already_exists,
                 Code::permission_denied, Code::unauthenticated, Code::conflict,
                 Code::payload_too_large, Code::rate_limited, Code::unavailable, Code::internal}) {
    EXPECT_EQ(code_from_name(code_name(c)), c);
  }
  EXPECT_EQ(code_http_status(Code::not_found), 404);
  EXPECT_EQ(code_http_status(Code::unauthenticated), 401);
  EXPECT_EQ(code_http_status(Code::payload_too_large), 413);
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(NotFound("x").to_string(), "not_found: x");
}

TEST(Result, CarriesValueOrStatus) {
  Result<int> a = 5;
  Result<int> b = InvalidArgument("bad");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 5);
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::invalid_argument);
}

TEST(Time, FormatsAndParsesIso8601) {
  TimePoint t;
  ASSERT_TRUE(parse_time("2026-11-27T07:17:52.123Z", &t));
  EXPECT_EQ(format_time(t), "2026-11-27T07:17:52.123Z");
  ASSERT_TRUE(parse_time("2026-11-27T12:47:52+05:30", &t));
  EXPECT_EQ(format_time(t), "2026-11-27T07:17:52.000Z");
  ASSERT_TRUE(parse_time("2026-11-27", &t));
  EXPECT_EQ(format_time(t), "2026-11-27T00:00:00.000Z");
  for (const char* bad : {"", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-27T07:17",
                          "2026-11-27T07:17:52", "yesterday", "2026-11-27T07:17:52Zjunk"})
    EXPECT_FALSE(parse_time(bad, &t)) << bad;
}

TEST(Ids, Uuid7IsOrderedUniqueAndWellFormed) {
  auto clock = std::make_shared<FakeClock>(TimePoint(std::chrono::milliseconds(1767225600000)));
  Uuid7Source ids(clock);
  std::string prev;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = ids.next();
    ASSERT_TRUE(is_uuid(id));
    ASSERT_EQ(id[14], '7');                              // version
    ASSERT_TRUE(id[19] >= '8' && id[19] <= 'b') << id;  // RFC 4122 variant
    ASSERT_GT(id, prev) << "ids must sort in creation order within one millisecond";
    prev = id;
    seen.insert(id);
    if (i % 1000 == 0) clock->advance(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(seen.size(), 10000u);
  // The first 48 bits are the clock's milliseconds: advanced 10 times: 1767225600010 ms = 0x019b76daa80a.
  EXPECT_EQ(prev.substr(0, 8) + prev.substr(9, 4), "019b76daa80a");
}

TEST(Ids, ClockGoingBackwardsKeepsOrder) {
  auto clock = std::make_shared<FakeClock>(TimePoint(std::chrono::milliseconds(1767225600000)));
  Uuid7Source ids(clock);
  std::string a = ids.next();
  clock->advance(std::chrono::milliseconds(-5000));
  EXPECT_GT(ids.next(), a);
}

TEST(Json, RejectsMalformedDeepAndInvalidUtf8) {
  json::Document d;
  EXPECT_TRUE(json::parse(R"({"a":[1,2,{"b":null}]})", &d).ok());
  EXPECT_EQ(json::parse("{\"a\":", &d).code(), Code::invalid_argument);
  EXPECT_EQ(json::parse("{} trailing", &d).code(), Code::invalid_argument);
  EXPECT_EQ(json::parse("{\"a\":\"\xff\xfe\"}", &d).code(), Code::invalid_argument);
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto st = json::parse(deep, &d, {32, 1 << 20});
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_NE(st.message().find("deeper"), std::string::npos) << st.message();
  std::string big = "\"" + std::string(2000, 'x') + "\"";
  EXPECT_EQ(json::parse(big, &d, {32, 1000}).code(), Code::payload_too_large);
  EXPECT_EQ(json::quote("a\"b\n"), "\"a\\\"b\\n\"");
}

TEST(Crypto, KnownVectors) {
  EXPECT_EQ(crypto::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(crypto::hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::string out;
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    ASSERT_TRUE(crypto::base64url_decode(crypto::base64url_encode(s), &out));
    EXPECT_EQ(out, s);
  }
  EXPECT_EQ(crypto::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(crypto::base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(crypto::base64url_decode("ab+c", &out));
  EXPECT_TRUE(crypto::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(crypto::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(crypto::constant_time_equal("abc", "ab"));
  EXPECT_EQ(crypto::random_bytes(16).size(), 16u);
  EXPECT_NE(crypto::random_bytes(16), crypto::random_bytes(16));
}

#include "core/log.hpp"

TEST(Log, RejectsUnknownLevelsAndAcceptsKnownOnes) {
  EXPECT_EQ(log::configure({"loud", false}).code(), Code::invalid_argument);
  EXPECT_TRUE(log::configure({"warn", true}).ok());
  EXPECT_TRUE(log::configure({"info", false}).ok());
}
