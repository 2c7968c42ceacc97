// LLM providers behind one interface: any OpenAI-compatible Chat Completions server (OpenAI,
// llama.cpp, Ollama, vLLM, ...) and the Anthropic Messages API. Replies are streamed over SSE
// (ai/sse.hpp); connect / first-token / total timeouts, retries before the first token, and
// cancellation from another thread are handled here, once, for both dialects. docs/AI.md.
//
// Privacy: prompts and completions are never logged unless ProviderConfig::log_traffic is set,
// and error messages never contain the API key or prompt text.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"

namespace banxway::ai {

struct ProviderConfig {
  std::string kind;      // "openai" (any OpenAI-compatible server) | "anthropic"
  std::string base_url;  // e.g. "https://api.openai.com/v1", "http://127.0.0.1:8080/v1",
                         // "https://api.anthropic.com" ; requests go to base + "/chat/completions"
                         // (openai) or base + "/v1/messages" (anthropic; base with or without /v1)
  std::string api_key;   // may be empty for local servers
  std::string model;
  std::chrono::milliseconds connect_timeout{5000}, first_token_timeout{30000},
      total_timeout{120000};
  int max_attempts = 3;                    // attempts before the first token (429 / 5xx / connect)
  std::chrono::milliseconds backoff{500};  // doubled per retry, capped at 8 s; Retry-After wins
                                           // when present (capped by total_timeout)
  bool allow_private_network = false;      // loopback/private base URLs (local servers, tests)
  bool log_traffic = false;  // log prompts and completions (debug); otherwise NEVER logged
};

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;  // system messages become Anthropic's top-level system
  int max_tokens = 600;
  double temperature = 0.3;
  std::string json_schema;  // non-empty: structured output. OpenAI: response_format json_schema
                            // (name = schema_name, strict true); Anthropic: a single tool with
                            // input_schema = the schema and tool_choice forcing it; the tool
                            // input JSON becomes Completion::text. Caller validates the text.
  std::string schema_name = "result";
};

struct Usage {
  int64_t input_tokens = 0, output_tokens = 0;
  bool estimated = false;  // the server sent no usage (or only part): ~(chars+3)/4 filled in
};

struct Completion {
  std::string text;
  std::string finish_reason;  // "stop" | "length" | the provider's own value otherwise
  std::string model, request_id;
  Usage usage;
  int attempts = 1;
  std::chrono::milliseconds first_token{0}, total{0};  // both measured from the call's start
};

using OnDelta = std::function<bool(std::string_view text)>;  // false: cancel the call

class Provider {
 public:
  virtual ~Provider() = default;
  /// Streams when on_delta is set (deltas in order; their concatenation is Completion::text),
  /// otherwise returns the whole text (the request is streamed all the same). `cancel` (may be
  /// null) is polled every 50 ms; setting it aborts the transfer. Safe to call concurrently.
  /// Errors: unavailable (down, timeouts, 5xx, mid-stream error, rejected API key, cancelled),
  /// rate_limited (429 after the attempts), invalid_argument (bad request, 400/404/413),
  /// permission_denied (private address without allow_private_network).
  virtual Result<Completion> chat(const ChatRequest& req, const OnDelta& on_delta,
                                  const std::atomic<bool>* cancel) const = 0;
  const ProviderConfig& config() const { return cfg_; }

 protected:
  Provider() = default;  // for test doubles; config() is then a default ProviderConfig
  explicit Provider(ProviderConfig cfg) : cfg_(std::move(cfg)) {}

 private:
  ProviderConfig cfg_;
};

/// invalid_argument for an unknown kind, empty base_url/model, a non-http(s) URL, a URL with
/// credentials, non-positive timeouts or max_attempts < 1.
Result<std::unique_ptr<Provider>> make_provider(ProviderConfig cfg);

}  // namespace banxway::ai
