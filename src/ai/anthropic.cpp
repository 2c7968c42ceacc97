// The Anthropic Messages dialect: POST {base}/v1/messages with stream:true, x-api-key and
// anthropic-version; named SSE events (message_start, content_block_*, message_delta,
// message_stop, ping, error). Structured output is a single forced tool whose input JSON,
// streamed as input_json_delta fragments, becomes the completion text.
#include <rapidjson/stringbuffer.h>

#include <set>

#include "ai/dialect.hpp"
#include "core/json.hpp"

namespace banxway::ai::detail {
namespace {

constexpr json::ParseLimits kEventLimits{64, 1u << 20};

// Anthropic's stop reasons in the OpenAI vocabulary the rest of banxway uses.
std::string normalize_stop(std::string_view r) {
  if (r == "end_turn" || r == "stop_sequence" || r == "tool_use") return "stop";
  if (r == "max_tokens") return "length";
  return std::string(r);
}

class AnthropicDecoder final : public Decoder {
 public:
  explicit AnthropicDecoder(bool structured) : structured_(structured) {}

  Status event(const SseEvent& ev, std::string& delta) override {
    json::Document doc;
    if (Status st = json::parse(ev.data, &doc, kEventLimits); !st.ok() || !doc.IsObject())
      return Unavailable("ai provider: malformed stream event (not a JSON object)");
    std::string type = ev.type;
    if (type == "message")  // no event: line; the JSON carries the same name
      if (auto t = json::get_string(doc, "type")) type = *t;

    if (type == "message_start") {
      const json::Value* msg = json::get(doc, "message");
      if (!msg) return Status::OK();
      if (auto v = json::get_string(*msg, "id")) id = *v;
      if (auto v = json::get_string(*msg, "model")) model = *v;
      if (const json::Value* u = json::get(*msg, "usage")) read_usage(*u);
    } else if (type == "content_block_start") {
      const json::Value* block = json::get(doc, "content_block");
      auto idx = json::get_int(doc, "index");
      if (block && idx && json::get_string(*block, "type") == std::string_view("tool_use"))
        tool_blocks_.insert(*idx);
    } else if (type == "content_block_delta") {
      const json::Value* d = json::get(doc, "delta");
      if (!d) return Status::OK();
      auto kind = json::get_string(*d, "type");
      if (kind == std::string_view("text_delta") && !structured_) {
        if (auto t = json::get_string(*d, "text")) delta.append(*t);
      } else if (kind == std::string_view("input_json_delta") && structured_ &&
                 (tool_blocks_.empty() || tool_blocks_.count(json::get_int(doc, "index").value_or(-1)))) {
        if (auto t = json::get_string(*d, "partial_json")) delta.append(*t);
      }
    } else if (type == "message_delta") {
      if (const json::Value* d = json::get(doc, "delta"))
        if (auto r = json::get_string(*d, "stop_reason")) finish_reason = normalize_stop(*r);
      if (const json::Value* u = json::get(doc, "usage")) read_usage(*u);
    } else if (type == "message_stop") {
      done = true;
    } else if (type == "error") {
      std::string m = parse_error_body(ev.data).message;
      return Unavailable("ai provider: the provider reported an error mid-stream: " +
                         (m.empty() ? std::string("no message") : m));
    }
    // ping, content_block_stop and event types added later: nothing to do
    return Status::OK();
  }

  Status whole(std::string_view body, std::string& delta) override {
    json::Document doc;
    if (Status st = json::parse(body, &doc, {64, 8u << 20}); !st.ok() || !doc.IsObject())
      return Unavailable("ai provider: the reply is not a JSON object");
    if (json::get_string(doc, "type") == std::string_view("error")) {
      std::string m = parse_error_body(body).message;
      return Unavailable("ai provider: the provider reported an error: " + m);
    }
    if (auto v = json::get_string(doc, "id")) id = *v;
    if (auto v = json::get_string(doc, "model")) model = *v;
    if (auto r = json::get_string(doc, "stop_reason")) finish_reason = normalize_stop(*r);
    if (const json::Value* u = json::get(doc, "usage")) read_usage(*u);
    const json::Value* content = json::get(doc, "content");
    if (content && content->IsArray()) {
      for (const auto& b : content->GetArray()) {
        auto kind = json::get_string(b, "type");
        if (kind == std::string_view("text") && !structured_) {
          if (auto t = json::get_string(b, "text")) delta.append(*t);
        } else if (kind == std::string_view("tool_use") && structured_) {
          if (const json::Value* in = json::get(b, "input")) delta.append(json::stringify(*in));
        }
      }
    }
    return Status::OK();
  }

 private:
  void read_usage(const json::Value& u) {
    if (auto n = json::get_int(u, "input_tokens")) {
      usage.input_tokens = *n;
      have_input = true;
    }
    // message_start carries a provisional output count; message_delta the cumulative one.
    if (auto n = json::get_int(u, "output_tokens")) {
      usage.output_tokens = *n;
      have_output = true;
    }
  }

  bool structured_;
  std::set<int64_t> tool_blocks_;
};

class AnthropicDialect final : public Dialect {
 public:
  std::string url(const ProviderConfig& cfg) const override {
    const std::string& b = cfg.base_url;
    if (b.size() >= 3 && b.compare(b.size() - 3, 3, "/v1") == 0) return b + "/messages";
    return b + "/v1/messages";
  }
  std::vector<net::Header> headers(const ProviderConfig& cfg) const override {
    std::vector<net::Header> h = {{"Content-Type", "application/json"},
                                  {"Accept", "text/event-stream"},
                                  {"anthropic-version", "2023-06-01"}};
    if (!cfg.api_key.empty()) h.emplace_back("x-api-key", cfg.api_key);
    return h;
  }
  Result<std::string> body(const ProviderConfig& cfg, const ChatRequest& req) const override {
    // Anthropic has no system role: every system message goes to the top-level "system".
    std::string system;
    size_t turns = 0;
    for (const auto& m : req.messages) {
      if (m.role == "system") {
        if (!system.empty()) system += "\n\n";
        system += m.content;
      } else {
        ++turns;
      }
    }
    if (turns == 0) return InvalidArgument("ai: the request has no user or assistant message");
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::key(w, "model");
    json::write_str(w, cfg.model);
    json::key(w, "max_tokens");
    w.Int(req.max_tokens);
    json::key(w, "temperature");
    w.Double(req.temperature);
    json::key(w, "stream");
    w.Bool(true);
    if (!system.empty()) {
      json::key(w, "system");
      json::write_str(w, system);
    }
    write_messages(w, req, true);
    if (!req.json_schema.empty()) {
      json::key(w, "tools");
      w.StartArray();
      w.StartObject();
      json::key(w, "name");
      json::write_str(w, req.schema_name);
      json::key(w, "description");
      json::write_str(w, "Report the result. Its input is the answer.");
      json::key(w, "input_schema");
      json::write_raw(w, req.json_schema);
      w.EndObject();
      w.EndArray();
      json::key(w, "tool_choice");
      w.StartObject();
      json::key(w, "type");
      json::write_str(w, "tool");
      json::key(w, "name");
      json::write_str(w, req.schema_name);
      w.EndObject();
    }
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize());
  }
  std::unique_ptr<Decoder> decoder(const ChatRequest& req) const override {
    return std::make_unique<AnthropicDecoder>(!req.json_schema.empty());
  }
  const char* request_id_header() const override { return "request-id"; }
};

}  // namespace

std::unique_ptr<Dialect> anthropic_dialect() { return std::make_unique<AnthropicDialect>(); }

}  // namespace banxway::ai::detail
