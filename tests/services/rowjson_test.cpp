// Rows to JSON: every string survives a round trip through a real JSON parser.
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "services/rowjson.hpp"

using namespace banxway;

TEST(RowJson, EscapesEverythingJsonNeeds) {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "回复 \xf0\x9f\x9a\xa2 end";
  for (const std::string& s : {std::string(), std::string("plain"), std::string("q\"b\\s/"), all}) {
    std::string out;
    services::append_json_string(out, s);
    json::Document d;
    ASSERT_TRUE(json::parse(out, &d).ok()) << out;
    ASSERT_TRUE(d.IsString());
    EXPECT_EQ(std::string(d.GetString(), d.GetStringLength()), s);
  }
}

TEST(RowJson, WritesTypedColumns) {
  using services::Col;
  const services::ColSpec cols[] = {{"a", "a", Col::str},     {"b", "b", Col::integer},
                                    {"c", "c", Col::boolean}, {"d", "d", Col::json},
                                    {"e", "e", Col::str},     {"f", "f", Col::integer}};
  store::Row row({std::string("x\ny"), std::string("-42"), std::string("1"),
                  std::string(R"({"k":[1]})"), std::nullopt, std::string("12abc")});
  EXPECT_EQ(services::row_to_json(row, cols),
            R"({"a":"x\ny","b":-42,"c":true,"d":{"k":[1]},"e":null,"f":0})");
}

TEST(RowJson, FindsSpecialsAtEveryPositionOfLongStrings) {
  for (char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (size_t pos = 0; pos < 40; ++pos) {
      std::string s(40, 'a');
      s[pos] = special;
      s += "\xc3\xa9";  // bytes >= 0x80 are never escaped
      std::string out;
      services::append_json_string(out, s);
      json::Document d;
      ASSERT_TRUE(json::parse(out, &d).ok()) << out;
      EXPECT_EQ(std::string(d.GetString(), d.GetStringLength()), s) << pos;
    }
  }
}
