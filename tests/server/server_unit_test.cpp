// Unit tests for the server's pure parts: routing, query coercion, envelopes, .env parsing.
// The HTTP behaviour as a whole is tested over real sockets by the pytest suite beside this.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "config.hpp"
#include "envelope.hpp"
#include "params.hpp"
#include "rate_limit.hpp"
#include "router.hpp"

namespace bxserver {
namespace {

TEST(RateLimiter, BurstThenRefillPerCaller) {
  using namespace std::chrono;
  RateLimiter off(0, 0);
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.allow("a"));
  RateLimiter rl(2, 4);  // 2 per second, burst 4
  auto t = steady_clock::now();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(rl.allow("a", t)) << i;
  EXPECT_FALSE(rl.allow("a", t));
  EXPECT_TRUE(rl.allow("b", t));  // another caller has its own bucket
  EXPECT_FALSE(rl.allow("a", t + milliseconds(400)));
  EXPECT_TRUE(rl.allow("a", t + milliseconds(600)));  // 1.2 tokens refilled
  EXPECT_FALSE(rl.allow("a", t + milliseconds(700)));
  // Refill never exceeds the burst.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(rl.allow("a", t + seconds(100)));
  EXPECT_FALSE(rl.allow("a", t + seconds(100)));
}

TEST(Router, MatchesOperationsAndPathIds) {
  Router r;
  auto m = r.match(Method::get, "/api/v1/communications/threads");
  EXPECT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.op, "threads.list");

  m = r.match(Method::patch, "/api/v1/communications/threads/abc-1/");
  EXPECT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.op, "threads.update");
  EXPECT_EQ(m.id_param, "id");
  EXPECT_EQ(m.id_value, "abc-1");

  m = r.match(Method::post, "/api/v1/communications/threads/t%2D1/notes");
  EXPECT_EQ(m.op, "messages.create_note");
  EXPECT_EQ(m.id_param, "thread_id");
  EXPECT_EQ(m.id_value, "t-1");

  m = r.match(Method::post, "/api/v1/ops/threads.list");
  EXPECT_EQ(m.target, Target::any_operation);
  EXPECT_EQ(m.id_value, "threads.list");
}

TEST(Router, NotFoundAndMethodNotAllowed) {
  Router r;
  EXPECT_EQ(r.match(Method::get, "/api/v1/nope").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match(Method::get, "/api/v1/communications/threads//messages").kind,
            RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match(Method::get, "/a/b/c/d/e/f/g/h/i/j").kind, RouteMatch::Kind::not_found);
  auto m = r.match(Method::del, "/api/v1/users/1");
  EXPECT_EQ(m.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, PATCH, OPTIONS");
}

TEST(PercentDecode, DecodesAndRejectsMalformed) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b+c", out, true));
  EXPECT_EQ(out, "a b c");
  EXPECT_TRUE(percent_decode("a+b", out, false));
  EXPECT_EQ(out, "a+b");
  EXPECT_FALSE(percent_decode("%2", out, true));
  EXPECT_FALSE(percent_decode("%zz", out, true));
}

OpCatalog catalog() {
  banxway::OperationInfo list;
  list.name = "things.list";
  list.is_list = true;
  list.params_schema = R"({"type":"object","properties":{
      "limit":{"type":"integer"},"ratio":{"type":"number"},"active":{"type":["boolean","null"]},
      "tags":{"type":"array","items":{"type":"string"}},"q":{"type":"string"}}})";
  banxway::OperationInfo update;
  update.name = "things.update";
  update.params_schema = R"({"type":"object","properties":{"id":{"type":"string"}}})";
  banxway::OperationInfo create;
  create.name = "things.create_note";
  create.params_schema = "{}";
  return OpCatalog({list, update, create});
}

TEST(Params, CoercesQueryValuesBySchema) {
  auto cat = catalog();
  const OpSpec* op = cat.find("things.list");
  ASSERT_NE(op, nullptr);
  EXPECT_TRUE(op->is_list);
  auto r = build_params(*op, {"limit=20&ratio=0.5&active=true&tags=a&tags=b&q=x+y%21", "", "", ""});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, R"({"limit":20,"ratio":0.5,"active":true,"tags":["a","b"],"q":"x y!"})");
}

TEST(Params, RejectsValuesThatDoNotCoerce) {
  auto cat = catalog();
  const OpSpec* op = cat.find("things.list");
  auto r = build_params(*op, {"limit=ten", "", "", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), banxway::Code::invalid_argument);
  EXPECT_EQ(r.status().details(), R"({"param":"limit"})");
  EXPECT_FALSE(build_params(*op, {"active=yes", "", "", ""}).ok());
  EXPECT_FALSE(build_params(*op, {"limit=1&limit=2", "", "", ""}).ok());
  EXPECT_FALSE(build_params(*op, {"q=%ff", "", "", ""}).ok());  // not UTF-8
}

TEST(Params, MergesPathIdOverBody) {
  auto cat = catalog();
  const OpSpec* op = cat.find("things.update");
  auto r = build_params(*op, {"", "id", "t1", R"({"name":"n"})"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, R"({"name":"n","id":"t1"})");
  EXPECT_TRUE(build_params(*op, {"", "id", "t1", R"({"id":"t1"})"}).ok());
  auto bad = build_params(*op, {"", "id", "t1", R"({"id":"t2"})"});
  EXPECT_FALSE(bad.ok());
  // Not JSON: passed through untouched for the engine to report.
  auto raw = build_params(*op, {"", "id", "t1", "{oops"});
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, "{oops");
}

TEST(Params, BodyAloneIsPassedThrough) {
  auto cat = catalog();
  auto r = build_params(*cat.find("things.update"), {"", "", "", R"({"x": 1})"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, R"({"x": 1})");
  EXPECT_TRUE(cat.find("things.create_note")->is_create);
  EXPECT_FALSE(cat.find("things.update")->is_create);
}

TEST(Envelope, ListIsSplitIntoDataAndPagination) {
  EXPECT_EQ(list_envelope(R"({"items":[{"a":"x\"]}"},2],"next_cursor":"c1"})"),
            R"({"success":true,"data":[{"a":"x\"]}"},2],"pagination":{"next_cursor":"c1"}})");
  EXPECT_EQ(list_envelope(R"({"items":[], "next_cursor": null})"),
            R"({"success":true,"data":[],"pagination":{"next_cursor":null}})");
  EXPECT_EQ(list_envelope(R"({"items":["\\"]})"),
            R"({"success":true,"data":["\\"],"pagination":{"next_cursor":null}})");
  EXPECT_EQ(list_envelope("[1]"), R"({"success":true,"data":[1]})");
  // Compact engine output, including look-alike keys nested in the items.
  EXPECT_EQ(
      list_envelope(R"({"items":[{"a":[1],"next_cursor":"x"}]})"),
      R"({"success":true,"data":[{"a":[1],"next_cursor":"x"}],"pagination":{"next_cursor":null}})");
  EXPECT_EQ(list_envelope(R"({"items":[{"next_cursor":"x"}],"next_cursor":"y\"z"})"),
            R"({"success":true,"data":[{"next_cursor":"x"}],"pagination":{"next_cursor":"y\"z"}})");
  EXPECT_EQ(list_envelope(R"({"items":[],"next_cursor":null})"),
            R"({"success":true,"data":[],"pagination":{"next_cursor":null}})");
  EXPECT_EQ(list_envelope(R"({"items":[1],"total":1,"next_cursor":null})"),
            R"({"success":true,"data":[1],"pagination":{"next_cursor":null}})");
}

TEST(Envelope, ErrorsAreValidJsonWhateverTheMessage) {
  EXPECT_EQ(
      error_envelope("not_found", "no \"x\"\n"),
      R"({"success":false,"error":{"code":"not_found","message":"no \"x\"\n","details":null}})");
  EXPECT_EQ(
      error_envelope("invalid_argument", "bad \xff byte", R"({"param":"q"})"),
      R"({"success":false,"error":{"code":"invalid_argument","message":"bad \ufffd byte","details":{"param":"q"}}})");
  std::string s;
  append_json_string(s, "caf\xc3\xa9 \x01");
  EXPECT_EQ(s, "\"caf\xc3\xa9 \\u0001\"");
}

TEST(Config, DotenvFillsOnlyUnsetVariables) {
  std::string path = ::testing::TempDir() + "/bx_server_dotenv";
  {
    std::ofstream f(path);
    f << "# comment\nexport BXT_A=\"quoted # kept\"\nBXT_B='single'\nBXT_C=plain # note\n"
         "BXT_D=from-file\nnot a line\n";
  }
  ::setenv("BXT_D", "from-env", 1);
  load_dotenv(path);
  EXPECT_STREQ(std::getenv("BXT_A"), "quoted # kept");
  EXPECT_STREQ(std::getenv("BXT_B"), "single");
  EXPECT_STREQ(std::getenv("BXT_C"), "plain");
  EXPECT_STREQ(std::getenv("BXT_D"), "from-env");
}

TEST(Config, SplitList) {
  EXPECT_EQ(split_list(" a, b ,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split_list("").empty());
}

}  // namespace
}  // namespace bxserver
