// The params schema validator: every rule an operation relies on.
#include <gtest/gtest.h>

#include "api/schema.hpp"

using namespace banxway;

namespace {

Status check(const char* schema, const std::string& params, std::string* normalized = nullptr) {
  auto s = api::Schema::compile(schema);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  json::Document d;
  auto st = json::parse(params, &d);
  if (!st.ok()) return st;
  st = s->validate(d, d.GetAllocator());
  if (normalized) *normalized = json::stringify(d);
  return st;
}

const char* kThread = R"({"type":"object","required":["subject"],"properties":{
  "subject":{"type":"string","minLength":1,"maxLength":10},
  "status":{"type":"string","enum":["open","closed"]},
  "limit":{"type":"integer","minimum":1,"maximum":200},
  "owner":{"type":["string","null"],"format":"uuid"},
  "email":{"type":"string","format":"email"},
  "phone":{"type":"string","format":"e164"},
  "at":{"type":"string","format":"date-time"},
  "flag":{"type":"boolean"},
  "tags":{"type":"array","maxItems":2,"items":{"type":"string","maxLength":3}},
  "nested":{"type":"object","properties":{"x":{"type":"integer"}}}}})";

}  // namespace

TEST(Schema, AcceptsValidParams) {
  EXPECT_TRUE(check(kThread, R"({"subject":"hi","status":"open","limit":5,"owner":null,
      "email":"a@b.co","phone":"+919876543210","at":"2026-01-01T00:00:00Z","flag":true,
      "tags":["a","bc"],"nested":{"x":1}})").ok());
}

TEST(Schema, NamesTheFieldInEveryError) {
  struct Case {
    const char* params;
    const char* field;
    const char* words;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({})", "subject", "is required"},
           {R"({"subject":5})", "subject", "expected a string"},
           {R"({"subject":""})", "subject", "must not be empty"},
           {R"({"subject":"12345678901"})", "subject", "longer than 10"},
           {R"({"subject":"x","status":"maybe"})", "status", "one of: open, closed"},
           {R"({"subject":"x","limit":0})", "limit", "at least 1"},
           {R"({"subject":"x","limit":1.5})", "limit", "expected an integer"},
           {R"({"subject":"x","limit":"5"})", "limit", "expected an integer"},
           {R"({"subject":"x","owner":"nope"})", "owner", "UUID"},
           {R"({"subject":"x","email":"nope"})", "email", "email"},
           {R"({"subject":"x","phone":"98765"})", "phone", "E.164"},
           {R"({"subject":"x","at":"tomorrow"})", "at", "ISO-8601"},
           {R"({"subject":"x","flag":"yes"})", "flag", "boolean"},
           {R"({"subject":"x","tags":["a","b","c"]})", "tags", "more than 2"},
           {R"({"subject":"x","tags":["abcd"]})", "tags[0]", "longer than 3"},
           {R"({"subject":"x","nested":{"y":1}})", "nested.y", "unknown field"},
           {R"({"subject":"x","surprise":1})", "surprise", "unknown field"},
           {R"({"subject":null})", "subject", "must not be null"},
       }) {
    Status st = check(kThread, c.params);
    EXPECT_EQ(st.code(), Code::invalid_argument) << c.params;
    EXPECT_EQ(st.message().rfind(std::string(c.field) + ":", 0), 0u) << st.message();
    EXPECT_NE(st.message().find(c.words), std::string::npos) << st.message();
    EXPECT_NE(st.details().find(c.field), std::string::npos) << st.details();
  }
}

TEST(Schema, CountsCodePointsAndLowercasesUuids) {
  // 10 code points of 3 bytes each: within maxLength 10.
  EXPECT_TRUE(check(kThread, R"({"subject":"回复回复回复回复回复"})").ok());
  std::string out;
  ASSERT_TRUE(check(kThread, R"({"subject":"x","owner":"0190A0A0-0000-7000-8000-00000000000A"})", &out).ok());
  EXPECT_NE(out.find("0190a0a0-0000-7000-8000-00000000000a"), std::string::npos) << out;
}

TEST(Schema, RejectsEmbeddedNul) {
  EXPECT_EQ(check(kThread, R"({"subject":"a\u0000b"})").code(), Code::invalid_argument);
}
