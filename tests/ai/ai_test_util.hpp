// Shared by the ai tests: provider configs pointing at an LlmStub, request parsing.
#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <memory>
#include <string>

#include "ai/provider.hpp"
#include "support/llm_stub.hpp"

namespace banxway::ai::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline ProviderConfig stub_config(const bxtest::llm::LlmStub& stub, const std::string& kind) {
  ProviderConfig c;
  c.kind = kind;
  c.base_url = kind == "openai" ? stub.openai_base() : stub.anthropic_base();
  c.api_key = "sk-test-SECRET-0123456789";
  c.model = kind == "openai" ? "gpt-test" : "claude-test";
  c.allow_private_network = true;
  c.backoff = 10ms;
  c.connect_timeout = 2s;
  c.first_token_timeout = 5s;
  c.total_timeout = 10s;
  return c;
}

inline std::unique_ptr<Provider> make(const ProviderConfig& c) {
  auto p = make_provider(c);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? std::move(p).value() : nullptr;
}

inline ChatRequest simple_request() {
  ChatRequest r;
  r.messages = {{"system", "You are a freight assistant."},
                {"user", "Where is container MSCU1234565?"}};
  r.max_tokens = 123;
  return r;
}

inline rapidjson::Document parse_body(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  EXPECT_FALSE(d.HasParseError()) << body;
  return d;
}

inline long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

/// Collects the deltas of a call.
struct Collector {
  std::vector<std::string> deltas;
  OnDelta fn() {
    return [this](std::string_view d) {
      deltas.emplace_back(d);
      return true;
    };
  }
  std::string joined() const {
    std::string s;
    for (const auto& d : deltas) s += d;
    return s;
  }
};

}  // namespace banxway::ai::testing
