// The chat driver shared by both dialects: one POST streamed through net::http_stream, SSE
// decoding, the three timeouts, retries before the first token, cancellation, and turning
// provider failures into Status values that never carry the API key or prompt text.
#include "ai/provider.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <thread>

#include "ai/dialect.hpp"
#include "core/json.hpp"

namespace banxway::ai {
namespace detail {

namespace {

// A short single-line excerpt of `s`: control bytes become spaces, cut on a UTF-8 boundary.
std::string excerpt(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (out.size() >= max) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
    out += "...";
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string scalar_text(const json::Value* v) {
  if (!v) return "";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  return "";
}

}  // namespace

ErrorInfo parse_error_body(std::string_view body) {
  ErrorInfo e;
  json::Document doc;
  if (json::parse(body, &doc, {64, 1u << 20}).ok() && doc.IsObject()) {
    const json::Value* err = json::get(doc, "error");
    if (err && err->IsObject()) {
      e.message = scalar_text(json::get(*err, "message"));
      e.type = scalar_text(json::get(*err, "type"));
      e.code = scalar_text(json::get(*err, "code"));
    } else if (err && err->IsString()) {
      e.message = scalar_text(err);
    } else {
      e.message = scalar_text(json::get(doc, "message"));
    }
  } else {
    e.message = std::string(body);
  }
  e.message = excerpt(e.message, 300);
  e.type = excerpt(e.type, 64);
  e.code = excerpt(e.code, 64);
  return e;
}

void write_messages(json::Writer& w, const ChatRequest& req, bool skip_system) {
  json::key(w, "messages");
  w.StartArray();
  for (const auto& m : req.messages) {
    if (skip_system && m.role == "system") continue;
    w.StartObject();
    json::field(w, "role", m.role);
    json::field(w, "content", m.content);
    w.EndObject();
  }
  w.EndArray();
}

Status check_request(const ChatRequest& req) {
  if (req.messages.empty()) return InvalidArgument("ai: the request has no messages");
  for (size_t i = 0; i < req.messages.size(); ++i) {
    const std::string& r = req.messages[i].role;
    if (r != "system" && r != "user" && r != "assistant")
      return InvalidArgument("ai: messages[" + std::to_string(i) + "].role must be system, user " +
                             "or assistant");
  }
  if (req.max_tokens <= 0) return InvalidArgument("ai: max_tokens must be positive");
  if (!(req.temperature >= 0.0 && req.temperature <= 2.0))
    return InvalidArgument("ai: temperature must be between 0 and 2");
  if (!req.json_schema.empty()) {
    json::Document doc;
    if (!json::parse(req.json_schema, &doc, {64, 1u << 20}).ok() || !doc.IsObject())
      return InvalidArgument("ai: json_schema is not a JSON object");
    const std::string& n = req.schema_name;
    if (n.empty() || n.size() > 64 ||
        !std::all_of(n.begin(), n.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
        }))
      return InvalidArgument("ai: schema_name must be 1-64 letters, digits, '_' or '-'");
  }
  return Status::OK();
}

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxErrorBody = 64u << 10;    // kept of a non-2xx body
constexpr size_t kMaxWholeBody = 8u << 20;     // a non-streamed 2xx reply
constexpr size_t kMaxStreamBytes = 64u << 20;  // a whole streamed reply

milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t);
}

int64_t estimate_tokens(size_t chars) { return static_cast<int64_t>((chars + 3) / 4); }

// Masks the API key where a provider echoed it. Keys shorter than 8 characters (test and
// local-server placeholders) are left alone: masking them would mangle ordinary words.
void scrub(std::string& s, const std::string& secret) {
  if (secret.size() < 8) return;
  for (size_t p = s.find(secret); p != std::string::npos; p = s.find(secret, p + 3))
    s.replace(p, secret.size(), "***");
}

// Why a retryable attempt failed, for the final message once the attempts are used up.
struct Retryable {
  int status = 0;  // 0: a transport failure
  std::string detail;
  std::optional<milliseconds> retry_after;
};

Status final_retry_error(const Retryable& r, int attempts) {
  const std::string n = std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
  if (r.status == 429) {
    std::string m = "ai provider: rate limited (HTTP 429) after " + n;
    if (r.retry_after)
      m += "; the provider asks to retry after " +
           std::to_string((r.retry_after->count() + 999) / 1000) + " s";
    if (!r.detail.empty()) m += ": " + r.detail;
    return Status(Code::rate_limited, m);
  }
  if (r.status != 0)
    return Unavailable("ai provider: HTTP " + std::to_string(r.status) + " after " + n +
                       (r.detail.empty() ? "" : ": " + r.detail));
  return Unavailable("ai provider: unreachable after " + n + ": " + r.detail);
}

class DialectProvider final : public Provider {
 public:
  DialectProvider(ProviderConfig cfg, std::unique_ptr<detail::Dialect> d)
      : Provider(std::move(cfg)), dialect_(std::move(d)) {}

  Result<Completion> chat(const ChatRequest& req, const OnDelta& on_delta,
                          const std::atomic<bool>* cancel) const override;

 private:
  std::unique_ptr<detail::Dialect> dialect_;
};

Result<Completion> DialectProvider::chat(const ChatRequest& req, const OnDelta& on_delta,
                                         const std::atomic<bool>* cancel) const {
  const ProviderConfig& cfg = config();
  BX_RETURN_IF_ERROR(detail::check_request(req));
  BX_ASSIGN_OR_RETURN(std::string body, dialect_->body(cfg, req));
  if (cfg.log_traffic) spdlog::debug("ai {} request to {}: {}", cfg.kind, cfg.model, body);

  const auto start = Clock::now();
  const auto total_deadline = start + cfg.total_timeout;
  const auto first_deadline = start + cfg.first_token_timeout;
  const std::string first_token_msg = "ai provider: no first token within " +
                                      std::to_string(cfg.first_token_timeout.count()) + " ms";
  const std::string total_msg = "ai provider: no complete reply within " +
                                std::to_string(cfg.total_timeout.count()) + " ms";
  const Status cancelled = Unavailable("ai request cancelled");

  Completion out;
  std::string text;
  bool delivered = false;  // a delta reached the caller: from here on, no retry
  Retryable last;

  for (int attempt = 1;; ++attempt) {
    out.attempts = attempt;
    const auto remaining = std::chrono::duration_cast<milliseconds>(total_deadline - Clock::now());
    if (remaining.count() <= 0) return Unavailable(total_msg);

    std::unique_ptr<detail::Decoder> dec = dialect_->decoder(req);
    SseParser sse;
    std::vector<SseEvent> events;
    int status = 0;
    std::vector<net::Header> head;
    bool is_sse = false, user_stopped = false;
    std::string raw;  // a non-SSE body (an error, or a non-streamed reply)
    bool raw_truncated = false;
    Status stream_error;
    enum class Why { none, cancel, first_token, total } why = Why::none;

    net::HttpRequest hr;
    hr.method = "POST";
    hr.url = dialect_->url(cfg);
    hr.headers = dialect_->headers(cfg);
    hr.body = body;
    hr.connect_timeout = std::min(cfg.connect_timeout, remaining);
    hr.timeout = remaining;
    hr.max_response_bytes = kMaxStreamBytes;
    hr.allow_private_network = cfg.allow_private_network;

    net::StreamHandlers h;
    h.on_head = [&](int s, const std::vector<net::Header>& headers) {
      status = s;
      head = headers;
      net::HttpResponse probe;
      probe.headers = headers;
      std::string ct = probe.header("Content-Type").value_or("");
      std::transform(ct.begin(), ct.end(), ct.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
      });
      is_sse = s >= 200 && s < 300 && ct.find("text/event-stream") != std::string::npos;
      return true;
    };
    auto deliver = [&](const std::string& delta) {
      if (delta.empty()) return true;
      if (!delivered) {
        delivered = true;
        out.first_token = since(start);
      }
      text += delta;
      if (on_delta && !on_delta(delta)) {
        user_stopped = true;
        return false;
      }
      return true;
    };
    h.on_data = [&](std::string_view chunk) {
      // A stream labelled with the wrong Content-Type (seen on hand-rolled local servers).
      if (!is_sse && raw.empty() && status >= 200 && status < 300 &&
          (chunk.starts_with("data:") || chunk.starts_with("event:") || chunk.starts_with(":")))
        is_sse = true;
      if (!is_sse) {
        size_t cap = (status >= 200 && status < 300) ? kMaxWholeBody : kMaxErrorBody;
        if (raw.size() + chunk.size() > cap) {
          raw.append(chunk.substr(0, cap - raw.size()));
          raw_truncated = true;
          return status >= 300;  // an error body is cut; an oversized reply is a failure
        }
        raw.append(chunk);
        return true;
      }
      events.clear();
      Status fed = sse.feed(chunk, events);
      for (const SseEvent& ev : events) {
        std::string delta;
        Status st = dec->event(ev, delta);
        if (!st.ok()) {
          stream_error = st;
          return false;
        }
        if (!deliver(delta)) return false;
        if (dec->done) return false;  // stop reading at the terminator
      }
      if (!fed.ok()) {
        stream_error = Unavailable("ai provider: unreadable event stream: " + fed.message());
        return false;
      }
      return true;
    };
    h.abort = [&] {
      if (cancel && cancel->load(std::memory_order_relaxed)) {
        why = Why::cancel;
        return true;
      }
      auto now = Clock::now();
      if (now >= total_deadline) {
        why = Why::total;
        return true;
      }
      if (!delivered && now >= first_deadline) {
        why = Why::first_token;
        return true;
      }
      return false;
    };

    Result<int> r = net::http_stream(hr, h);

    if (why == Why::cancel || user_stopped) return cancelled;
    if (raw_truncated && status >= 200 && status < 300)
      return Unavailable("ai provider: the reply is too large");
    if (!dec->done) {
      if (why == Why::first_token) return Unavailable(first_token_msg);
      if (why == Why::total) return Unavailable(total_msg);
      if (!stream_error.ok()) {
        std::string m = stream_error.message();
        scrub(m, cfg.api_key);
        return Unavailable(m);
      }
    }

    if (!dec->done && !r.ok()) {
      const Status& s = r.status();
      std::string m = s.message();
      scrub(m, cfg.api_key);
      if (s.code() == Code::permission_denied || s.code() == Code::invalid_argument)
        return Status(s.code(), "ai provider: " + m);
      if (s.code() == Code::payload_too_large)
        return Unavailable("ai provider: the reply is too large: " + m);
      if (Clock::now() + milliseconds(20) >= total_deadline) return Unavailable(total_msg);
      if (delivered) return Unavailable("ai provider: the connection broke mid-stream: " + m);
      last = Retryable{0, m, std::nullopt};
    } else if (dec->done || (status >= 200 && status < 300)) {
      if (!dec->done && !is_sse) {  // a server that answered without streaming
        if (raw_truncated) return Unavailable("ai provider: the reply is too large");
        std::string delta;
        Status st = dec->whole(raw, delta);
        if (!st.ok()) return st;
        if (!deliver(delta)) return cancelled;
        dec->done = true;
      }
      if (!dec->done && dec->finish_reason.empty()) {
        // Some compatible servers omit [DONE]; a finish_reason is proof enough.
        return Unavailable("ai provider: the stream ended before the reply was complete");
      }
      out.text = std::move(text);
      out.finish_reason = dec->finish_reason;
      out.model = dec->model.empty() ? cfg.model : dec->model;
      net::HttpResponse probe;
      probe.headers = head;
      out.request_id = probe.header(dialect_->request_id_header()).value_or(dec->id);
      size_t prompt_chars = 0;
      for (const auto& m : req.messages) prompt_chars += m.content.size();
      out.usage.input_tokens =
          dec->have_input ? dec->usage.input_tokens : estimate_tokens(prompt_chars);
      out.usage.output_tokens =
          dec->have_output ? dec->usage.output_tokens : estimate_tokens(out.text.size());
      out.usage.estimated = !dec->have_input || !dec->have_output;
      out.total = since(start);
      if (cfg.log_traffic)
        spdlog::debug("ai {} reply ({} ms, {} attempt(s)): {}", cfg.kind, out.total.count(),
                      out.attempts, out.text);
      return out;
    } else {
      detail::ErrorInfo e = detail::parse_error_body(raw);
      scrub(e.message, cfg.api_key);
      net::HttpResponse probe;
      probe.headers = head;
      const std::string http = "HTTP " + std::to_string(status);
      switch (status) {
        case 401:
        case 403:
          return Unavailable("ai provider: the provider rejected the API key (" + http + ")");
        case 400:
        case 404:
        case 413:
        case 422:
          return InvalidArgument("ai provider: " + http + ": " +
                                 (e.message.empty() ? std::string("bad request") : e.message));
        case 429:
          if (e.code == "insufficient_quota" || e.type == "insufficient_quota")
            return Status(Code::rate_limited,
                          "ai provider: quota exhausted (HTTP 429, not retried): " + e.message);
          last = Retryable{status, e.message, probe.retry_after()};
          break;
        case 500:
        case 502:
        case 503:
        case 504:
        case 529:
          last = Retryable{status, e.message, probe.retry_after()};
          break;
        default:
          return Unavailable("ai provider: " + http +
                             (e.message.empty() ? std::string() : ": " + e.message));
      }
    }

    // A retryable failure before the first token.
    if (attempt >= cfg.max_attempts) return final_retry_error(last, attempt);
    milliseconds delay = cfg.backoff * (1LL << std::min(attempt - 1, 20));
    delay = std::min(delay, milliseconds(8000));
    if (last.retry_after) delay = *last.retry_after;
    if (Clock::now() + delay >= total_deadline) return final_retry_error(last, attempt);
    spdlog::debug("ai {}: attempt {} failed ({}), retrying in {} ms", cfg.kind, attempt,
                  last.status ? "HTTP " + std::to_string(last.status) : std::string("transport"),
                  delay.count());
    const auto wake = Clock::now() + delay;
    while (Clock::now() < wake) {
      if (cancel && cancel->load(std::memory_order_relaxed)) return cancelled;
      std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(20), wake - Clock::now()));
    }
  }
}

}  // namespace

Result<std::unique_ptr<Provider>> make_provider(ProviderConfig cfg) {
  std::unique_ptr<detail::Dialect> dialect;
  if (cfg.kind == "openai")
    dialect = detail::openai_dialect();
  else if (cfg.kind == "anthropic")
    dialect = detail::anthropic_dialect();
  else
    return InvalidArgument("ai: unknown provider kind \"" + cfg.kind.substr(0, 32) +
                           "\" (openai or anthropic)");
  if (cfg.base_url.empty()) return InvalidArgument("ai: base_url is empty");
  auto url = net::parse_url(cfg.base_url);
  if (!url) return InvalidArgument("ai: base_url must be an http:// or https:// URL");
  if (!url->userinfo.empty())
    return InvalidArgument("ai: base_url must not contain credentials (use api_key)");
  if (cfg.base_url.find_first_of("?#") != std::string::npos)
    return InvalidArgument("ai: base_url must not have a query or fragment");
  while (cfg.base_url.size() > 1 && cfg.base_url.back() == '/') cfg.base_url.pop_back();
  if (cfg.model.empty()) return InvalidArgument("ai: model is empty");
  if (cfg.connect_timeout.count() <= 0 || cfg.first_token_timeout.count() <= 0 ||
      cfg.total_timeout.count() <= 0)
    return InvalidArgument("ai: timeouts must be positive");
  if (cfg.max_attempts < 1) return InvalidArgument("ai: max_attempts must be at least 1");
  if (cfg.backoff.count() < 0) return InvalidArgument("ai: backoff must not be negative");
  if (cfg.api_key.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
    return InvalidArgument("ai: api_key contains CR, LF or NUL");
  return std::unique_ptr<Provider>(new DialectProvider(std::move(cfg), std::move(dialect)));
}

}  // namespace banxway::ai
