// Both providers against tests/support/fake_llm.py (the stand-in the server tests use), started
// here on an ephemeral port: the two implementations of each dialect must agree.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ai/ai_test_util.hpp"

namespace banxway::ai {
namespace {

using namespace testing;

std::string script_path() {
  if (const char* src = std::getenv("BANXWAY_SOURCE_DIR"))
    return std::string(src) + "/tests/support/fake_llm.py";
  std::string here = __FILE__;  // .../tests/ai/fake_llm_test.cpp
  return here.substr(0, here.rfind("/ai/")) + "/support/fake_llm.py";
}

class FakeLlm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::string path = script_path();
      ::execlp("python3", "python3", path.c_str(), "--port", "0", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    FILE* f = ::fdopen(fds[0], "r");
    char line[64] = {};
    ASSERT_NE(std::fgets(line, sizeof line, f), nullptr) << "fake_llm.py did not start";
    ASSERT_EQ(std::sscanf(line, "PORT %d", &port_), 1) << line;
    out_ = f;
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_) std::fclose(out_);
  }

  static ProviderConfig config(const std::string& kind, const std::string& model) {
    ProviderConfig c;
    c.kind = kind;
    c.base_url = "http://127.0.0.1:" + std::to_string(port_) + (kind == "openai" ? "/v1" : "");
    c.model = model;
    c.api_key = "k";
    c.allow_private_network = true;
    c.backoff = 10ms;
    return c;
  }
  static ChatRequest ask(const std::string& text) {
    ChatRequest r;
    r.messages = {{"system", "be brief"}, {"user", "old"}, {"assistant", "ok"}, {"user", text}};
    return r;
  }

  static inline pid_t pid_ = -1;
  static inline int port_ = 0;
  static inline FILE* out_ = nullptr;
};

TEST_F(FakeLlm, EchoInBothDialects) {
  for (const char* kind : {"openai", "anthropic"}) {
    Collector c;
    auto r = make(config(kind, "echo"))->chat(ask("Please confirm the booking"), c.fn(), nullptr);
    ASSERT_TRUE(r.ok()) << kind << ": " << r.status().to_string();
    EXPECT_EQ(r->text, "Draft: Please confirm the booking") << kind;
    EXPECT_EQ(c.joined(), r->text);
    EXPECT_GT(c.deltas.size(), 2u) << kind;
    EXPECT_FALSE(r->usage.estimated) << kind;
    EXPECT_GT(r->usage.output_tokens, 0);
  }
}

TEST_F(FakeLlm, StructuredOutputInBothDialects) {
  for (const char* kind : {"openai", "anthropic"}) {
    ChatRequest req = ask("x");
    req.messages[1].content = R"(classify <<JSON>>{"intent": "quote", "score": 0.9}<</JSON>>)";
    req.json_schema = R"({"type":"object"})";
    auto r = make(config(kind, "json:classify"))->chat(req, nullptr, nullptr);
    ASSERT_TRUE(r.ok()) << kind << ": " << r.status().to_string();
    auto d = parse_body(r->text);
    ASSERT_TRUE(d.IsObject()) << r->text;
    EXPECT_STREQ(d["intent"].GetString(), "quote") << kind;
  }
}

TEST_F(FakeLlm, FailuresInBothDialects) {
  for (const char* kind : {"openai", "anthropic"}) {
    auto mid = make(config(kind, "midstream-error"))->chat(ask("hello world, a longer text"),
                                                           nullptr, nullptr);
    EXPECT_EQ(mid.status().code(), Code::unavailable) << kind;
    EXPECT_NE(mid.status().message().find("mid-stream"), std::string::npos)
        << mid.status().message();
    auto down = make(config(kind, "down"))->chat(ask("hi"), nullptr, nullptr);
    EXPECT_EQ(down.status().message(), "ai provider: HTTP 503 after 3 attempts: fake-llm is down");
  }
}

TEST_F(FakeLlm, RateLimitedThenServed) {
  auto start = Clock::now();
  auto r = make(config("openai", "rate-limited"))->chat(ask("hi"), nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->attempts, 3);
  EXPECT_GE(ms_since(start), 2000);
  EXPECT_EQ(r->text, "Draft: hi");
}

TEST_F(FakeLlm, SlowModelTripsTheFirstTokenTimeout) {
  auto cfg = config("anthropic", "slow");
  cfg.first_token_timeout = 500ms;
  auto r = make(cfg)->chat(ask("hi"), nullptr, nullptr);
  EXPECT_EQ(r.status().message(), "ai provider: no first token within 500 ms");
}

}  // namespace
}  // namespace banxway::ai
