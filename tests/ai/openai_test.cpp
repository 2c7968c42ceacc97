// The OpenAI-compatible provider against the scripted LlmStub: streaming, usage, request shape,
// retries, timeouts, cancellation, error mapping, SSRF.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

#include "ai/provider.hpp"
#include "ai/ai_test_util.hpp"
#include "support/net_util.hpp"

namespace banxway::ai {
namespace {

using namespace testing;
using bxtest::StubResponse;
using bxtest::llm::LlmStub;
namespace llm = bxtest::llm;

TEST(OpenAi, StreamsDeltasUsageAndRequestShape) {
  LlmStub stub;
  stub.push(llm::openai_stream({"Your ", "container ", "arrives ", "Monday."}, 52, 9));
  auto p = make(stub_config(stub, "openai"));
  Collector c;
  auto r = p->chat(simple_request(), c.fn(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "Your container arrives Monday.");
  EXPECT_EQ(c.joined(), r->text);
  EXPECT_EQ(c.deltas.size(), 4u);
  EXPECT_EQ(r->usage.input_tokens, 52);
  EXPECT_EQ(r->usage.output_tokens, 9);
  EXPECT_FALSE(r->usage.estimated);
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->model, "stub-model");
  EXPECT_EQ(r->request_id, "req-openai-1");
  EXPECT_EQ(r->attempts, 1);
  EXPECT_LE(r->first_token, r->total);

  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path(), "/v1/chat/completions");
  EXPECT_EQ(reqs[0].header("Authorization"), "Bearer sk-test-SECRET-0123456789");
  EXPECT_EQ(reqs[0].header("x-api-key"), "");
  EXPECT_NE(reqs[0].header("Content-Type").find("application/json"), std::string::npos);
  auto body = parse_body(reqs[0].body);
  EXPECT_STREQ(body["model"].GetString(), "gpt-test");
  EXPECT_TRUE(body["stream"].GetBool());
  EXPECT_TRUE(body["stream_options"]["include_usage"].GetBool());
  EXPECT_EQ(body["max_tokens"].GetInt(), 123);
  EXPECT_DOUBLE_EQ(body["temperature"].GetDouble(), 0.3);
  ASSERT_EQ(body["messages"].Size(), 2u);
  EXPECT_STREQ(body["messages"][0]["role"].GetString(), "system");
  EXPECT_STREQ(body["messages"][1]["content"].GetString(), "Where is container MSCU1234565?");
  EXPECT_FALSE(body.HasMember("response_format"));
}

TEST(OpenAi, NoApiKeyNoAuthorizationHeader) {
  LlmStub stub;
  stub.push(llm::openai_stream({"ok"}));
  auto cfg = stub_config(stub, "openai");
  cfg.api_key.clear();
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "ok");
  EXPECT_EQ(stub.requests()[0].header("Authorization"), "");
}

TEST(OpenAi, UsageEstimatedWhenAbsent) {
  LlmStub stub;
  stub.push(llm::openai_stream({"abcdefgh", "ij"}, /*prompt=*/-1));
  auto req = simple_request();
  auto r = make(stub_config(stub, "openai"))->chat(req, nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->usage.estimated);
  size_t chars = req.messages[0].content.size() + req.messages[1].content.size();
  EXPECT_EQ(r->usage.input_tokens, static_cast<int64_t>((chars + 3) / 4));
  EXPECT_EQ(r->usage.output_tokens, 3);  // (10 + 3) / 4
}

// What llama.cpp and friends send: no id, extra fields, usage on the last content chunk,
// keep-alive comments, CRLF line ends, lines split across writes, no [DONE].
TEST(OpenAi, TolerantOfLocalServerQuirksAndSplitLines) {
  LlmStub stub;
  StubResponse r = llm::sse_response();
  std::string s =
      ": keep-alive\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm\"}}]}\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}],\"timings\":{\"x\":1}}\r\n\r\n"
      ": ping\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"},\"finish_reason\":"
      "\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\r\n\r\n";
  // split every 7 bytes, including between \r and \n and inside the JSON
  for (size_t i = 0; i < s.size(); i += 7) r.chunks.push_back({1ms, s.substr(i, 7)});
  stub.push(r);
  Collector c;
  auto got = make(stub_config(stub, "openai"))->chat(simple_request(), c.fn(), nullptr);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->text, "Hello \xC3\xA9");
  EXPECT_EQ(c.joined(), got->text);
  EXPECT_EQ(got->finish_reason, "length");
  EXPECT_EQ(got->usage.input_tokens, 5);
  EXPECT_EQ(got->usage.output_tokens, 2);
  EXPECT_FALSE(got->usage.estimated);
  EXPECT_EQ(got->model, "gpt-test");  // the server named none: the configured one
}

TEST(OpenAi, StreamEndingWithoutFinishIsAnError) {
  LlmStub stub;
  StubResponse r = llm::sse_response();
  r.chunks.push_back({0ms, llm::openai_delta("partial")});
  stub.push(r);
  stub.push(llm::openai_stream({"never used"}));
  Collector c;
  auto got = make(stub_config(stub, "openai"))->chat(simple_request(), c.fn(), nullptr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::unavailable);
  EXPECT_NE(got.status().message().find("ended before"), std::string::npos)
      << got.status().message();
  EXPECT_EQ(c.joined(), "partial");
  EXPECT_EQ(stub.request_count(), 1u);  // a delta was delivered: no retry
}

TEST(OpenAi, StreamWithoutTheEventStreamContentTypeIsStillStreamed) {
  LlmStub stub;
  StubResponse r = llm::openai_stream({"a", "b"});
  r.content_type = "text/plain";
  stub.push(r);
  Collector c;
  auto got = make(stub_config(stub, "openai"))->chat(simple_request(), c.fn(), nullptr);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->text, "ab");
  EXPECT_EQ(c.deltas.size(), 2u);
}

TEST(OpenAi, StructuredOutputRequestShape) {
  LlmStub stub;
  stub.push(llm::openai_stream({"{\"eta\":", "\"2026-12-01\"}"}));
  ChatRequest req = simple_request();
  req.json_schema = R"({"type":"object","properties":{"eta":{"type":"string"}},"required":["eta"]})";
  req.schema_name = "eta_answer";
  auto r = make(stub_config(stub, "openai"))->chat(req, nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, R"({"eta":"2026-12-01"})");
  auto body = parse_body(stub.requests()[0].body);
  ASSERT_TRUE(body.HasMember("response_format"));
  const auto& rf = body["response_format"];
  EXPECT_STREQ(rf["type"].GetString(), "json_schema");
  EXPECT_STREQ(rf["json_schema"]["name"].GetString(), "eta_answer");
  EXPECT_TRUE(rf["json_schema"]["strict"].GetBool());
  EXPECT_STREQ(rf["json_schema"]["schema"]["properties"]["eta"]["type"].GetString(), "string");
}

TEST(OpenAi, InvalidRequestsAreRefusedBeforeSending) {
  LlmStub stub;
  auto p = make(stub_config(stub, "openai"));
  ChatRequest bad_schema = simple_request();
  bad_schema.json_schema = "{not json";
  EXPECT_EQ(p->chat(bad_schema, nullptr, nullptr).status().code(), Code::invalid_argument);
  ChatRequest bad_role = simple_request();
  bad_role.messages[1].role = "tool";
  auto r = p->chat(bad_role, nullptr, nullptr);
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("messages[1].role"), std::string::npos);
  EXPECT_EQ(p->chat(ChatRequest{}, nullptr, nullptr).status().code(), Code::invalid_argument);
  EXPECT_EQ(stub.request_count(), 0u);
}

TEST(OpenAi, NonStreamedReplyIsAccepted) {
  LlmStub stub;
  StubResponse r;
  r.body = R"({"id":"c1","object":"chat.completion","model":"m1","choices":[{"index":0,)"
           R"("message":{"role":"assistant","content":"Whole reply"},"finish_reason":"stop"}],)"
           R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";
  stub.push(r);
  Collector c;
  auto got = make(stub_config(stub, "openai"))->chat(simple_request(), c.fn(), nullptr);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->text, "Whole reply");
  EXPECT_EQ(c.joined(), "Whole reply");
  EXPECT_EQ(got->usage.output_tokens, 2);
  EXPECT_EQ(got->request_id, "c1");
}

TEST(OpenAi, RetriesA429HonouringRetryAfter) {
  LlmStub stub;
  stub.push(llm::openai_error(429, "Rate limit reached", "rate_limit_exceeded",
                              {{"Retry-After", "1"}}));
  stub.push(llm::openai_stream({"after the wait"}));
  auto start = Clock::now();
  auto r = make(stub_config(stub, "openai"))->chat(simple_request(), nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_GE(ms_since(start), 1000);  // the configured 10 ms backoff lost to Retry-After
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->text, "after the wait");
  EXPECT_EQ(stub.request_count(), 2u);
  EXPECT_GE(r->first_token.count(), 1000);
}

TEST(OpenAi, RetriesA500WithNonJsonBody) {
  LlmStub stub;
  stub.push(llm::text_error(500, "<html><body>Internal Server Error</body></html>"));
  stub.push(llm::text_error(502, "Bad Gateway"));
  stub.push(llm::openai_stream({"third time"}));
  auto r = make(stub_config(stub, "openai"))->chat(simple_request(), nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->text, "third time");
}

TEST(OpenAi, GivesUpAfterMaxAttempts) {
  LlmStub stub;
  for (int i = 0; i < 3; ++i) stub.push(llm::openai_error(503, "The server is overloaded"));
  stub.push(llm::openai_stream({"never"}));
  auto r = make(stub_config(stub, "openai"))->chat(simple_request(), nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_EQ(r.status().message(),
            "ai provider: HTTP 503 after 3 attempts: The server is overloaded");
  EXPECT_EQ(stub.request_count(), 3u);
}

TEST(OpenAi, RateLimitedAfterAttemptsSaysSo) {
  LlmStub stub;
  stub.push(llm::openai_error(429, "Slow down", "", {{"Retry-After", "0"}}));
  stub.push(llm::openai_error(429, "Slow down", "", {{"Retry-After", "2"}}));
  auto cfg = stub_config(stub, "openai");
  cfg.max_attempts = 2;
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::rate_limited);
  EXPECT_NE(r.status().message().find("HTTP 429"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("2 attempts"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("retry after 2 s"), std::string::npos)
      << r.status().message();
}

TEST(OpenAi, RetryAfterBeyondTheTotalTimeoutStopsRetrying) {
  LlmStub stub;
  stub.push(llm::openai_error(429, "Slow down", "", {{"Retry-After", "30"}}));
  stub.push(llm::openai_stream({"never"}));
  auto cfg = stub_config(stub, "openai");
  cfg.total_timeout = 2s;
  auto start = Clock::now();
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(r.status().code(), Code::rate_limited);
  EXPECT_LT(ms_since(start), 1000);
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(OpenAi, InsufficientQuotaIsNotRetried) {
  LlmStub stub;
  stub.push(llm::openai_error(429, "You exceeded your current quota", "insufficient_quota"));
  stub.push(llm::openai_stream({"never"}));
  auto r = make(stub_config(stub, "openai"))->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(r.status().code(), Code::rate_limited);
  EXPECT_NE(r.status().message().find("quota"), std::string::npos);
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(OpenAi, MidStreamErrorChunkIsFinal) {
  LlmStub stub;
  StubResponse r = llm::sse_response();
  r.chunks.push_back({0ms, llm::openai_delta("Hello")});
  r.chunks.push_back({0ms, "data: {\"error\":{\"message\":\"The model crashed\",\"type\":\"server_error\"}}\n\n"});
  stub.push(r);
  stub.push(llm::openai_stream({"never"}));
  Collector c;
  auto got = make(stub_config(stub, "openai"))->chat(simple_request(), c.fn(), nullptr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::unavailable);
  EXPECT_NE(got.status().message().find("The model crashed"), std::string::npos);
  EXPECT_EQ(c.joined(), "Hello");
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(OpenAi, NoRetryAfterTheFirstToken) {
  LlmStub stub;
  StubResponse r = llm::sse_response();
  r.chunks.push_back({0ms, llm::openai_delta("Half")});
  r.chunks.push_back({0ms, "data: {not json\n\n"});
  stub.push(r);
  stub.push(llm::openai_stream({"never"}));
  auto got = make(stub_config(stub, "openai"))->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(got.status().code(), Code::unavailable);
  EXPECT_NE(got.status().message().find("malformed"), std::string::npos)
      << got.status().message();
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(OpenAi, ConnectionBreakAfterTheFirstTokenIsNotRetried) {
  LlmStub stub;
  StubResponse r = llm::sse_response({{"Content-Length", "100000"}});  // then far fewer bytes
  r.chunks.push_back({0ms, llm::openai_delta("Half")});
  stub.push(r);
  stub.push(llm::openai_stream({"never"}));
  Collector c;
  auto got = make(stub_config(stub, "openai"))->chat(simple_request(), c.fn(), nullptr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::unavailable);
  EXPECT_NE(got.status().message().find("mid-stream"), std::string::npos)
      << got.status().message();
  EXPECT_EQ(c.joined(), "Half");
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(OpenAi, ConnectionBreakBeforeTheFirstTokenIsRetried) {
  LlmStub stub;
  StubResponse r = llm::sse_response({{"Content-Length", "100000"}});
  r.chunks.push_back({0ms, ": keep-alive\n\n"});
  stub.push(r);
  stub.push(llm::openai_stream({"second try"}));
  auto got = make(stub_config(stub, "openai"))->chat(simple_request(), nullptr, nullptr);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->text, "second try");
  EXPECT_EQ(got->attempts, 2);
}

TEST(OpenAi, FirstTokenTimeout) {
  LlmStub stub;
  stub.push(llm::openai_stream({"late"}, 5, 1, /*first=*/3000ms));
  auto cfg = stub_config(stub, "openai");
  cfg.first_token_timeout = 300ms;
  auto start = Clock::now();
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  auto elapsed = ms_since(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_EQ(r.status().message(), "ai provider: no first token within 300 ms");
  EXPECT_GE(elapsed, 290);
  EXPECT_LT(elapsed, 1500);
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(OpenAi, KeepAlivesDoNotCountAsFirstToken) {
  LlmStub stub;
  StubResponse r = llm::sse_response();
  for (int i = 0; i < 20; ++i) r.chunks.push_back({50ms, ": keep-alive\n\n"});
  r.chunks.push_back({0ms, llm::openai_delta("late")});
  stub.push(r);
  auto cfg = stub_config(stub, "openai");
  cfg.first_token_timeout = 400ms;
  auto got = make(cfg)->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(got.status().message(), "ai provider: no first token within 400 ms");
}

TEST(OpenAi, TotalTimeout) {
  LlmStub stub;
  std::vector<std::string> pieces(20, "word ");
  stub.push(llm::openai_stream(pieces, 5, 20, 0ms, /*gap=*/100ms));
  auto cfg = stub_config(stub, "openai");
  cfg.total_timeout = 700ms;
  Collector c;
  auto start = Clock::now();
  auto r = make(cfg)->chat(simple_request(), c.fn(), nullptr);
  auto elapsed = ms_since(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "ai provider: no complete reply within 700 ms");
  EXPECT_GE(elapsed, 690);  // whole-ms truncation and timer granularity
  EXPECT_LT(elapsed, 1300);
  EXPECT_FALSE(c.deltas.empty());
  EXPECT_LT(c.deltas.size(), 20u);
}

TEST(OpenAi, CancelFromAnotherThreadIsPrompt) {
  LlmStub stub;
  std::vector<std::string> pieces(30, "tok ");
  stub.push(llm::openai_stream(pieces, 5, 30, 0ms, 100ms));
  auto p = make(stub_config(stub, "openai"));
  std::atomic<bool> cancel{false};
  std::atomic<int> seen{0};
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    while (seen.load() < 3) std::this_thread::sleep_for(5ms);
    cancelled_at = Clock::now();
    cancel = true;
  });
  auto r = p->chat(simple_request(), [&](std::string_view) { ++seen; return true; }, &cancel);
  auto returned_at = Clock::now();
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_EQ(r.status().message(), "ai request cancelled");
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(returned_at - cancelled_at)
                .count(),
            200);
  EXPECT_LT(seen.load(), 30);
}

TEST(OpenAi, CancelWhileWaitingForTheFirstToken) {
  LlmStub stub;
  stub.push(llm::openai_stream({"late"}, 5, 1, 5000ms));
  auto p = make(stub_config(stub, "openai"));
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    cancel = true;
  });
  auto start = Clock::now();
  auto r = p->chat(simple_request(), nullptr, &cancel);
  canceller.join();
  EXPECT_EQ(r.status().message(), "ai request cancelled");
  EXPECT_LT(ms_since(start), 500);
}

TEST(OpenAi, OnDeltaFalseCancels) {
  LlmStub stub;
  stub.push(llm::openai_stream({"one ", "two ", "three"}, 5, 3, 0ms, 50ms));
  int calls = 0;
  auto r = make(stub_config(stub, "openai"))
               ->chat(simple_request(), [&](std::string_view) { return ++calls < 2; }, nullptr);
  EXPECT_EQ(r.status().message(), "ai request cancelled");
  EXPECT_EQ(calls, 2);
}

TEST(OpenAi, RejectedKeyNeverShowsTheKey) {
  LlmStub stub;
  stub.push(llm::openai_error(401, "Incorrect API key provided: sk-test-SECRET-0123456789",
                              "invalid_api_key"));
  auto cfg = stub_config(stub, "openai");
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_NE(r.status().message().find("rejected the API key"), std::string::npos);
  EXPECT_EQ(r.status().to_string().find("SECRET"), std::string::npos) << r.status().to_string();
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(OpenAi, BadRequestsAreInvalidArgumentWithTheProviderMessage) {
  LlmStub stub;
  stub.push(llm::openai_error(404, "The model `gpt-nope` does not exist", "model_not_found"));
  stub.push(llm::openai_error(400, "This model's maximum context length is 8192 tokens",
                              "context_length_exceeded"));
  auto p = make(stub_config(stub, "openai"));
  auto a = p->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(a.status().code(), Code::invalid_argument);
  EXPECT_NE(a.status().message().find("gpt-nope"), std::string::npos) << a.status().message();
  EXPECT_NE(a.status().message().find("HTTP 404"), std::string::npos);
  auto b = p->chat(simple_request(), nullptr, nullptr);
  EXPECT_EQ(b.status().code(), Code::invalid_argument);
  EXPECT_NE(b.status().message().find("maximum context length"), std::string::npos);
  EXPECT_EQ(stub.request_count(), 2u);
  // and the prompt never appears in an error
  EXPECT_EQ(b.status().message().find("MSCU1234565"), std::string::npos);
}

TEST(OpenAi, LoopbackRefusedWithoutAllowPrivateNetwork) {
  LlmStub stub;
  stub.push(llm::openai_stream({"never"}));
  auto cfg = stub_config(stub, "openai");
  cfg.allow_private_network = false;
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::permission_denied);
  EXPECT_NE(r.status().message().find("loopback"), std::string::npos) << r.status().message();
  EXPECT_EQ(stub.request_count(), 0u);
}

TEST(OpenAi, UnreachableServerIsRetriedThenUnavailable) {
  ProviderConfig cfg;
  cfg.kind = "openai";
  cfg.base_url = "http://127.0.0.1:" + std::to_string(bxtest::closed_port()) + "/v1";
  cfg.model = "m";
  cfg.allow_private_network = true;
  cfg.backoff = 10ms;
  auto r = make(cfg)->chat(simple_request(), nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_NE(r.status().message().find("unreachable after 3 attempts"), std::string::npos)
      << r.status().message();
}

// Prompts and completions reach the log only with log_traffic; metadata may appear anyway.
TEST(OpenAi, TrafficIsLoggedOnlyWhenAsked) {
  auto previous = spdlog::default_logger();
  std::ostringstream captured;
  auto logger = std::make_shared<spdlog::logger>(
      "ai-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  LlmStub stub;
  stub.push(llm::openai_error(503, "busy"));
  stub.push(llm::openai_stream({"SECRET-REPLY"}));
  stub.push(llm::openai_stream({"SECRET-REPLY"}));
  auto cfg = stub_config(stub, "openai");
  auto quiet = make(cfg)->chat(simple_request(), nullptr, nullptr);
  std::string without = captured.str();
  cfg.log_traffic = true;
  auto loud = make(cfg)->chat(simple_request(), nullptr, nullptr);
  std::string with = captured.str().substr(without.size());
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(quiet.ok() && loud.ok());
  EXPECT_NE(without.find("retrying"), std::string::npos) << without;  // the logger was live
  EXPECT_EQ(without.find("MSCU1234565"), std::string::npos) << without;
  EXPECT_EQ(without.find("SECRET-REPLY"), std::string::npos) << without;
  EXPECT_NE(with.find("MSCU1234565"), std::string::npos) << with;
  EXPECT_NE(with.find("SECRET-REPLY"), std::string::npos) << with;
  EXPECT_EQ(captured.str().find(cfg.api_key), std::string::npos);
}

TEST(Provider, ConfigValidation) {
  ProviderConfig ok;
  ok.kind = "openai";
  ok.base_url = "https://api.openai.com/v1/";
  ok.model = "gpt-4o-mini";
  auto p = make_provider(ok);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->config().base_url, "https://api.openai.com/v1");

  auto bad = [&](auto mutate, const char* needle) {
    ProviderConfig c = ok;
    mutate(c);
    auto r = make_provider(c);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  bad([](ProviderConfig& c) { c.kind = "gemini"; }, "unknown provider kind");
  bad([](ProviderConfig& c) { c.base_url.clear(); }, "base_url is empty");
  bad([](ProviderConfig& c) { c.base_url = "ftp://example.com"; }, "http:// or https://");
  bad([](ProviderConfig& c) { c.base_url = "https://u:p@example.com"; }, "credentials");
  bad([](ProviderConfig& c) { c.model.clear(); }, "model is empty");
  bad([](ProviderConfig& c) { c.first_token_timeout = 0ms; }, "timeouts must be positive");
  bad([](ProviderConfig& c) { c.max_attempts = 0; }, "max_attempts");
}

}  // namespace
}  // namespace banxway::ai
