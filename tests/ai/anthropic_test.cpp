// The Anthropic provider against the scripted LlmStub: named events, usage, system placement,
// structured output through a forced tool, mid-stream errors, retries, error mapping.
#include <gtest/gtest.h>

#include "ai/ai_test_util.hpp"
#include "ai/provider.hpp"

namespace banxway::ai {
namespace {

using namespace testing;
using bxtest::StubResponse;
using bxtest::llm::LlmStub;
namespace llm = bxtest::llm;

TEST(Anthropic, StreamsTextUsageAndRequestShape) {
  LlmStub stub;
  stub.push(llm::anthropic_stream({"ETA is ", "Monday", "."}, 40, 12));
  auto p = make(stub_config(stub, "anthropic"));
  ChatRequest req = simple_request();
  req.messages.push_back({"assistant", "Let me check."});
  req.messages.push_back({"user", "Thanks"});
  Collector c;
  auto r = p->chat(req, c.fn(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "ETA is Monday.");
  EXPECT_EQ(c.joined(), r->text);
  EXPECT_EQ(c.deltas.size(), 3u);
  EXPECT_EQ(r->usage.input_tokens, 40);
  EXPECT_EQ(r->usage.output_tokens, 12);
  EXPECT_FALSE(r->usage.estimated);
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->model, "claude-stub");
  EXPECT_EQ(r->request_id, "req-anthropic-1");

  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path(), "/v1/messages");
  EXPECT_EQ(reqs[0].header("x-api-key"), "sk-test-SECRET-0123456789");
  EXPECT_EQ(reqs[0].header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(reqs[0].header("Authorization"), "");
  auto body = parse_body(reqs[0].body);
  EXPECT_STREQ(body["model"].GetString(), "claude-test");
  EXPECT_TRUE(body["stream"].GetBool());
  EXPECT_EQ(body["max_tokens"].GetInt(), 123);
  EXPECT_STREQ(body["system"].GetString(), "You are a freight assistant.");
  ASSERT_EQ(body["messages"].Size(), 3u);  // the system message is not among them
  EXPECT_STREQ(body["messages"][0]["role"].GetString(), "user");
  EXPECT_STREQ(body["messages"][1]["role"].GetString(), "assistant");
  EXPECT_STREQ(body["messages"][2]["content"].GetString(), "Thanks");
  EXPECT_FALSE(body.HasMember("tools"));
}

TEST(Anthropic, BaseUrlWithV1AndNoSystem) {
  LlmStub stub;
  stub.push(llm::anthropic_stream({"hi"}));
  auto cfg = stub_config(stub, "anthropic");
  cfg.base_url += "/v1/";
  ChatRequest req;
  req.messages = {{"user", "hello"}};
  auto r = make(cfg)->chat(req, nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "hi");
  EXPECT_EQ(stub.requests()[0].path(), "/v1/messages");
  EXPECT_FALSE(parse_body(stub.requests()[0].body).HasMember("system"));
}

TEST(Anthropic, OnlySystemMessagesIsInvalid) {
  LlmStub stub;
  ChatRequest req;
  req.messages = {{"system", "rules"}};
  auto r = make(stub_config(stub, "anthropic"))->chat(req, nullptr, nullptr);
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_EQ(stub.request_count(), 0u);
}

TEST(Anthropic, StructuredOutputThroughAForcedTool) {
  LlmStub stub;
  stub.push(llm::anthropic_stream({"{\"eta\": \"20", "26-12-01\"", "}"}, 30, 8, 0ms, 0ms,
                                  "eta_answer"));
  ChatRequest req = simple_request();
  req.json_schema = R"({"type":"object","properties":{"eta":{"type":"string"}}})";
  req.schema_name = "eta_answer";
  Collector c;
  auto r = make(stub_config(stub, "anthropic"))->chat(req, c.fn(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "{\"eta\": \"2026-12-01\"}");
  EXPECT_EQ(c.joined(), r->text);
  EXPECT_EQ(r->finish_reason, "stop");
  auto body = parse_body(stub.requests()[0].body);
  ASSERT_TRUE(body.HasMember("tools"));
  ASSERT_EQ(body["tools"].Size(), 1u);
  EXPECT_STREQ(body["tools"][0]["name"].GetString(), "eta_answer");
  EXPECT_STREQ(body["tools"][0]["input_schema"]["properties"]["eta"]["type"].GetString(),
               "string");
  EXPECT_STREQ(body["tool_choice"]["type"].GetString(), "tool");
  EXPECT_STREQ(body["tool_choice"]["name"].GetString(), "eta_answer");
}

TEST(Anthropic, MalformedStructuredOutputIsReturnedForTheCallerToReject) {
  LlmStub stub;
  stub.push(llm::anthropic_stream({"{\"eta\": ", "oops"}, 30, 8, 0ms, 0ms, "result"));
  ChatRequest req = simple_request();
  req.json_schema = R"({"type":"object"})";
  auto r = make(stub_config(stub, "anthropic"))->chat(req, nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "{\"eta\": oops");
  rapidjson::Document d;
  d.Parse(r->text.c_str());
  EXPECT_TRUE(d.HasParseError());
}

TEST(Anthropic, MidStreamErrorEventIsFinal) {
  LlmStub stub;
  StubResponse r = llm::sse_response();
  r.chunks.push_back({0ms, llm::anthropic_start(10) + llm::anthropic_text("Partial")});
  r.chunks.push_back({20ms, llm::anthropic_event(
                                "error", R"({"type":"error","error":{"type":"overloaded_error",)"
                                         R"("message":"Overloaded"}})")});
  stub.push(r);
  stub.push(llm::anthropic_stream({"never"}));
  Collector c;
  auto got = make(stub_config(stub, "anthropic"))->chat(simple_request(), c.fn(), nullptr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::unavailable);
  EXPECT_NE(got.status().message().find("Overloaded"), std::string::npos)
      << got.status().message();
  EXPECT_EQ(c.joined(), "Partial");
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(Anthropic, UnknownEventsAndPingsAreIgnoredAndUsageMayBeMissing) {
  LlmStub stub;
  StubResponse r = llm::sse_response();
  r.chunks.push_back({0ms, llm::anthropic_event("ping", R"({"type":"ping"})")});
  r.chunks.push_back({0ms, llm::anthropic_event("future_event", R"({"type":"future_event"})")});
  r.chunks.push_back({0ms, llm::anthropic_text("abc")});
  r.chunks.push_back({0ms, llm::anthropic_event(
                               "content_block_delta",
                               R"({"type":"content_block_delta","index":0,"delta":)"
                               R"({"type":"thinking_delta","thinking":"hidden"}})")});
  r.chunks.push_back({0ms, llm::anthropic_event("message_delta",
                                                R"({"type":"message_delta","delta":)"
                                                R"({"stop_reason":"max_tokens"}})")});
  r.chunks.push_back({0ms, llm::anthropic_event("message_stop", R"({"type":"message_stop"})")});
  // anything after message_stop is not read
  r.chunks.push_back({0ms, llm::anthropic_text("IGNORED")});
  stub.push(r);
  auto got = make(stub_config(stub, "anthropic"))->chat(simple_request(), nullptr, nullptr);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->text, "abc");
  EXPECT_EQ(got->finish_reason, "length");
  EXPECT_TRUE(got->usage.estimated);
  EXPECT_EQ(got->usage.output_tokens, 1);  // (3 + 3) / 4
}

TEST(Anthropic, Overloaded529IsRetried) {
  LlmStub stub;
  stub.push(llm::anthropic_error(529, "overloaded_error", "Overloaded"));
  stub.push(llm::anthropic_stream({"fine now"}));
  auto r = make(stub_config(stub, "anthropic"))->chat(simple_request(), nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->text, "fine now");
}

TEST(Anthropic, RateLimitRetryHonoursRetryAfter) {
  LlmStub stub;
  stub.push(llm::anthropic_error(429, "rate_limit_error", "Number of requests exceeded",
                                 {{"retry-after", "1"}}));
  stub.push(llm::anthropic_stream({"ok"}));
  auto start = Clock::now();
  auto r = make(stub_config(stub, "anthropic"))->chat(simple_request(), nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_GE(ms_since(start), 1000);
  EXPECT_EQ(r->attempts, 2);
}

TEST(Anthropic, ErrorMapping) {
  LlmStub stub;
  stub.push(llm::anthropic_error(401, "authentication_error",
                                 "invalid x-api-key sk-test-SECRET-0123456789"));
  stub.push(llm::anthropic_error(413, "request_too_large", "Request exceeds the maximum size"));
  stub.push(llm::anthropic_error(400, "invalid_request_error", "prompt is too long"));
  auto p = make(stub_config(stub, "anthropic"));
  auto a = p->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(a.status().code(), Code::unavailable);
  EXPECT_NE(a.status().message().find("rejected the API key"), std::string::npos);
  EXPECT_EQ(a.status().to_string().find("SECRET"), std::string::npos);
  auto b = p->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(b.status().code(), Code::invalid_argument);
  EXPECT_NE(b.status().message().find("maximum size"), std::string::npos);
  auto c = p->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(c.status().code(), Code::invalid_argument);
  EXPECT_NE(c.status().message().find("prompt is too long"), std::string::npos);
  EXPECT_EQ(stub.request_count(), 3u);
}

TEST(Anthropic, FirstTokenTimeoutAndCancel) {
  LlmStub stub;
  stub.push(llm::anthropic_stream({"late"}, 5, 1, 3000ms));
  auto cfg = stub_config(stub, "anthropic");
  cfg.first_token_timeout = 250ms;
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(r.status().message(), "ai provider: no first token within 250 ms");

  std::vector<std::string> pieces(30, "x");
  stub.push(llm::anthropic_stream(pieces, 5, 30, 0ms, 100ms));
  std::atomic<bool> cancel{false};
  auto p = make(stub_config(stub, "anthropic"));
  Clock::time_point cancelled_at;
  auto got = p->chat(simple_request(),
                     [&](std::string_view) {
                       if (!cancel) {
                         cancelled_at = Clock::now();
                         cancel = true;  // as another thread would; the poll notices it
                       }
                       return true;
                     },
                     &cancel);
  EXPECT_EQ(got.status().message(), "ai request cancelled");
  EXPECT_LT(ms_since(cancelled_at), 200);
}

TEST(Anthropic, LoopbackRefusedWithoutAllowPrivateNetwork) {
  LlmStub stub;
  auto cfg = stub_config(stub, "anthropic");
  cfg.allow_private_network = false;
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(r.status().code(), Code::permission_denied);
  EXPECT_EQ(stub.request_count(), 0u);
}

}  // namespace
}  // namespace banxway::ai
