// Internal: what one wire dialect (OpenAI Chat Completions, Anthropic Messages) contributes to a
// chat call. The shared driver in provider.cpp does the HTTP, SSE, timeouts, retries and errors.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ai/provider.hpp"
#include "ai/sse.hpp"
#include "core/json.hpp"
#include "net/http.hpp"

namespace banxway::ai::detail {

/// Decodes one attempt's reply. Filled in as events arrive.
class Decoder {
 public:
  virtual ~Decoder() = default;
  /// One SSE event. New completion text goes to `delta`. An error Status is the provider
  /// reporting a failure inside the stream (its message, without prompt text).
  virtual Status event(const SseEvent& ev, std::string& delta) = 0;
  /// A whole, non-streamed JSON reply (a server that ignored stream:true). Text to `delta`.
  virtual Status whole(std::string_view body, std::string& delta) = 0;

  bool done = false;  // the terminator ([DONE], message_stop) was seen
  std::string finish_reason, model, id;
  Usage usage;
  bool have_input = false, have_output = false;  // usage numbers the server sent
};

/// A provider's error body taken apart (both dialects nest {"error":{"message","type","code"}}).
struct ErrorInfo {
  std::string message, type, code;
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string url(const ProviderConfig& cfg) const = 0;
  virtual std::vector<net::Header> headers(const ProviderConfig& cfg) const = 0;
  /// The request body (JSON). invalid_argument for a request the dialect cannot express.
  virtual Result<std::string> body(const ProviderConfig& cfg, const ChatRequest& req) const = 0;
  virtual std::unique_ptr<Decoder> decoder(const ChatRequest& req) const = 0;
  virtual const char* request_id_header() const = 0;
};

std::unique_ptr<Dialect> openai_dialect();
std::unique_ptr<Dialect> anthropic_dialect();

/// Parses an error body ({"error":{...}} or {"type":"error","error":{...}}); for a non-JSON
/// body, a short printable excerpt becomes the message.
ErrorInfo parse_error_body(std::string_view body);

/// Checks roles and the schema shared by both dialects.
Status check_request(const ChatRequest& req);

/// The "messages" array of a request body: {"role","content"} objects in order; system messages
/// left out when `skip_system` (Anthropic carries them at the top level).
void write_messages(json::Writer& w, const ChatRequest& req, bool skip_system);

}  // namespace banxway::ai::detail
