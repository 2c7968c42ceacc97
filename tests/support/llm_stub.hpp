// A scripted LLM provider on 127.0.0.1 for the ai tests: queue the responses the next requests
// get (streams in the OpenAI or Anthropic dialect, errors, slow starts, split lines), then assert
// on the recorded requests. Built on HttpStub (one connection at a time, streaming chunks with
// delays between them). Header-only.
#pragma once

#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/http_stub.hpp"

namespace bxtest::llm {

using Chunk = StubResponse::Chunk;
using std::chrono::milliseconds;

/// A JSON string literal.
inline std::string q(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

/// A stream response with no chunks yet (text/event-stream, sent as it is scripted).
inline StubResponse sse_response(std::vector<std::pair<std::string, std::string>> headers = {}) {
  StubResponse r;
  r.content_type = "text/event-stream";
  r.headers = std::move(headers);
  return r;
}

// --- OpenAI Chat Completions ------------------------------------------------------------------

inline std::string openai_delta(std::string_view text) {
  return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"stub-model\","
         "\"choices\":[{\"index\":0,\"delta\":{\"content\":" + q(text) +
         "},\"finish_reason\":null}]}\n\n";
}
inline std::string openai_finish(std::string_view reason = "stop") {
  return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"stub-model\","
         "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":" + q(reason) + "}]}\n\n";
}
inline std::string openai_usage(int prompt, int completion) {
  return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
         "\"usage\":{\"prompt_tokens\":" + std::to_string(prompt) + ",\"completion_tokens\":" +
         std::to_string(completion) + ",\"total_tokens\":" + std::to_string(prompt + completion) +
         "}}\n\n";
}
inline const char* const kOpenAiDone = "data: [DONE]\n\n";

/// A complete OpenAI stream: a role chunk, one chunk per piece (`gap` apart, the first after
/// `first`), finish, usage (when prompt >= 0), [DONE].
inline StubResponse openai_stream(const std::vector<std::string>& pieces, int prompt = 11,
                                  int completion = 7, milliseconds first = milliseconds(0),
                                  milliseconds gap = milliseconds(0)) {
  StubResponse r = sse_response({{"x-request-id", "req-openai-1"}});
  r.chunks.push_back({first,
                      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                      "\"model\":\"stub-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                      "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"});
  for (const auto& p : pieces) r.chunks.push_back({gap, openai_delta(p)});
  r.chunks.push_back({milliseconds(0), openai_finish()});
  if (prompt >= 0) r.chunks.push_back({milliseconds(0), openai_usage(prompt, completion)});
  r.chunks.push_back({milliseconds(0), kOpenAiDone});
  return r;
}

/// {"error":{"message":…,"type":…,"code":…}} with the given status.
inline StubResponse openai_error(int status, std::string_view message, std::string_view code = "",
                                 std::vector<std::pair<std::string, std::string>> headers = {}) {
  StubResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = "{\"error\":{\"message\":" + q(message) + ",\"type\":\"stub_error\",\"param\":null," +
           "\"code\":" + (code.empty() ? std::string("null") : q(code)) + "}}";
  return r;
}

// --- Anthropic Messages -----------------------------------------------------------------------

inline std::string anthropic_event(std::string_view type, std::string_view json) {
  return "event: " + std::string(type) + "\ndata: " + std::string(json) + "\n\n";
}
inline std::string anthropic_text(std::string_view text, int index = 0) {
  return anthropic_event("content_block_delta",
                         "{\"type\":\"content_block_delta\",\"index\":" + std::to_string(index) +
                             ",\"delta\":{\"type\":\"text_delta\",\"text\":" + q(text) + "}}");
}
inline std::string anthropic_json_part(std::string_view partial, int index = 0) {
  return anthropic_event("content_block_delta",
                         "{\"type\":\"content_block_delta\",\"index\":" + std::to_string(index) +
                             ",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":" +
                             q(partial) + "}}");
}
inline std::string anthropic_start(int input_tokens) {
  return anthropic_event(
      "message_start",
      "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_stub1\",\"type\":\"message\","
      "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-stub\",\"stop_reason\":null,"
      "\"usage\":{\"input_tokens\":" + std::to_string(input_tokens) + ",\"output_tokens\":1}}}");
}
inline std::string anthropic_end(int output_tokens, std::string_view stop = "end_turn") {
  return anthropic_event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}") +
         anthropic_event("message_delta",
                         "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":" + q(stop) +
                             ",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" +
                             std::to_string(output_tokens) + "}}") +
         anthropic_event("message_stop", "{\"type\":\"message_stop\"}");
}

/// A complete Anthropic stream of text pieces (or, with `tool`, input_json_delta fragments of a
/// tool_use block named `tool`), with a ping after the first piece.
inline StubResponse anthropic_stream(const std::vector<std::string>& pieces, int input_tokens = 21,
                                     int output_tokens = 9, milliseconds first = milliseconds(0),
                                     milliseconds gap = milliseconds(0),
                                     std::string_view tool = "") {
  StubResponse r = sse_response({{"request-id", "req-anthropic-1"}});
  std::string block =
      tool.empty() ? std::string("{\"type\":\"text\",\"text\":\"\"}")
                   : "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":" + q(tool) +
                         ",\"input\":{}}";
  r.chunks.push_back({first, anthropic_start(input_tokens) +
                                 anthropic_event("content_block_start",
                                                 "{\"type\":\"content_block_start\",\"index\":0,"
                                                 "\"content_block\":" + block + "}")});
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::string ev = tool.empty() ? anthropic_text(pieces[i]) : anthropic_json_part(pieces[i]);
    if (i == 0) ev += anthropic_event("ping", "{\"type\":\"ping\"}");
    r.chunks.push_back({gap, ev});
  }
  r.chunks.push_back({milliseconds(0), anthropic_end(output_tokens, tool.empty() ? "end_turn"
                                                                                  : "tool_use")});
  return r;
}

inline StubResponse anthropic_error(int status, std::string_view type, std::string_view message,
                                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  StubResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = "{\"type\":\"error\",\"error\":{\"type\":" + q(type) + ",\"message\":" + q(message) +
           "}}";
  return r;
}

/// A plain-text (non-JSON) error body, as proxies and load balancers send.
inline StubResponse text_error(int status, std::string body) {
  StubResponse r;
  r.status = status;
  r.content_type = "text/html";
  r.body = std::move(body);
  return r;
}

// --- the server -------------------------------------------------------------------------------

/// Answers requests with the queued responses, in order; when the queue is empty, with a 500
/// saying so (a test that gets it scripted too few responses).
class LlmStub {
 public:
  LlmStub()
      : stub_([this](const StubRequest&) {
          std::lock_guard<std::mutex> lock(mu_);
          if (script_.empty()) return text_error(500, "llm stub: no scripted response left");
          StubResponse r = std::move(script_.front());
          script_.pop_front();
          return r;
        }) {}

  void push(StubResponse r) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(r));
  }
  /// "http://127.0.0.1:PORT/v1" — an OpenAI-style base URL.
  std::string openai_base() const { return stub_.base_url() + "/v1"; }
  /// "http://127.0.0.1:PORT" — an Anthropic-style base URL.
  std::string anthropic_base() const { return stub_.base_url(); }
  std::vector<StubRequest> requests() const { return stub_.requests(); }
  size_t request_count() const { return stub_.request_count(); }

 private:
  std::mutex mu_;
  std::deque<StubResponse> script_;
  HttpStub stub_;  // last: its thread uses the members above
};

}  // namespace bxtest::llm
