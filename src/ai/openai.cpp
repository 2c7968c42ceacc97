// The OpenAI Chat Completions dialect, as spoken by OpenAI and every compatible server
// (llama.cpp, Ollama, vLLM): POST {base}/chat/completions with stream:true; "data:" events of
// chat.completion.chunk objects, ended by "data: [DONE]". Tolerant of what local servers do:
// no id, usage on the last content chunk or none at all, extra fields, no [DONE] after a
// finish_reason.
#include <rapidjson/stringbuffer.h>

#include "ai/dialect.hpp"
#include "core/json.hpp"

namespace banxway::ai::detail {
namespace {

constexpr json::ParseLimits kChunkLimits{64, 1u << 20};

class OpenAiDecoder final : public Decoder {
 public:
  Status event(const SseEvent& ev, std::string& delta) override {
    if (ev.data == "[DONE]") {
      done = true;
      return Status::OK();
    }
    json::Document doc;
    if (Status st = json::parse(ev.data, &doc, kChunkLimits); !st.ok() || !doc.IsObject())
      return Unavailable("ai provider: malformed stream chunk (not a JSON object)");
    return absorb(doc, delta, /*whole=*/false);
  }

  Status whole(std::string_view body, std::string& delta) override {
    json::Document doc;
    if (Status st = json::parse(body, &doc, {64, 8u << 20}); !st.ok() || !doc.IsObject())
      return Unavailable("ai provider: the reply is not a JSON object");
    return absorb(doc, delta, /*whole=*/true);
  }

 private:
  Status absorb(const json::Value& doc, std::string& delta, bool whole) {
    if (const json::Value* err = json::get(doc, "error"); err && !err->IsNull()) {
      std::string m = parse_error_body(json::stringify(doc)).message;
      return Unavailable("ai provider: the provider reported an error mid-stream: " +
                         (m.empty() ? std::string("no message") : m));
    }
    if (auto v = json::get_string(doc, "id"); v && id.empty()) id = *v;
    if (auto v = json::get_string(doc, "model")) model = *v;
    if (const json::Value* u = json::get(doc, "usage"); u && u->IsObject()) {
      if (auto n = json::get_int(*u, "prompt_tokens")) {
        usage.input_tokens = *n;
        have_input = true;
      }
      if (auto n = json::get_int(*u, "completion_tokens")) {
        usage.output_tokens = *n;
        have_output = true;
      }
    }
    const json::Value* choices = json::get(doc, "choices");
    if (choices && choices->IsArray()) {
      for (const auto& c : choices->GetArray()) {
        if (auto idx = json::get_int(c, "index"); idx && *idx != 0) continue;  // n = 1 only
        const json::Value* part = json::get(c, whole ? "message" : "delta");
        if (part && part->IsObject())
          if (auto t = json::get_string(*part, "content")) delta.append(*t);
        if (auto f = json::get_string(c, "finish_reason")) finish_reason = *f;
      }
    }
    return Status::OK();
  }
};

class OpenAiDialect final : public Dialect {
 public:
  std::string url(const ProviderConfig& cfg) const override {
    return cfg.base_url + "/chat/completions";
  }
  std::vector<net::Header> headers(const ProviderConfig& cfg) const override {
    std::vector<net::Header> h = {{"Content-Type", "application/json"},
                                  {"Accept", "text/event-stream"}};
    if (!cfg.api_key.empty()) h.emplace_back("Authorization", "Bearer " + cfg.api_key);
    return h;
  }
  Result<std::string> body(const ProviderConfig& cfg, const ChatRequest& req) const override {
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::key(w, "model");
    json::write_str(w, cfg.model);
    write_messages(w, req, false);
    // max_tokens rather than max_completion_tokens: every compatible server accepts it.
    json::key(w, "max_tokens");
    w.Int(req.max_tokens);
    json::key(w, "temperature");
    w.Double(req.temperature);
    json::key(w, "stream");
    w.Bool(true);
    json::key(w, "stream_options");
    w.StartObject();
    json::key(w, "include_usage");
    w.Bool(true);
    w.EndObject();
    if (!req.json_schema.empty()) {
      json::key(w, "response_format");
      w.StartObject();
      json::key(w, "type");
      json::write_str(w, "json_schema");
      json::key(w, "json_schema");
      w.StartObject();
      json::key(w, "name");
      json::write_str(w, req.schema_name);
      json::key(w, "schema");
      json::write_raw(w, req.json_schema);
      json::key(w, "strict");
      w.Bool(true);
      w.EndObject();
      w.EndObject();
    }
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize());
  }
  std::unique_ptr<Decoder> decoder(const ChatRequest&) const override {
    return std::make_unique<OpenAiDecoder>();
  }
  const char* request_id_header() const override { return "x-request-id"; }
};

}  // namespace

std::unique_ptr<Dialect> openai_dialect() { return std::make_unique<OpenAiDialect>(); }

}  // namespace banxway::ai::detail
