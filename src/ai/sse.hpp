// Server-Sent Events (text/event-stream) parsing: one incremental parser for every streaming
// provider (OpenAI-compatible servers, Anthropic). Bytes may be fed in any split — mid-line,
// between CR and LF, one at a time — and complete events come out in order.
//
// Rules (WHATWG HTML "event stream interpretation", docs/AI.md): lines end in LF, CRLF or CR; a
// blank line dispatches the event; "field: value" loses one leading space of the value; several
// data lines are joined with LF; a line starting with ':' is a comment (keep-alive); a line
// without a colon is a field with an empty value; the event type defaults to "message"; an
// event with no data line is not dispatched; "id" (without NUL) persists across events; "retry"
// takes ASCII digits only. A leading UTF-8 BOM is skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"

namespace banxway::ai {

struct SseEvent {
  std::string type = "message";
  std::string data;
  std::string id;  // the last event id seen on the stream so far ("" when none)
};

class SseParser {
 public:
  /// `max_bytes` bounds one line and one event's accumulated data.
  explicit SseParser(size_t max_bytes = size_t{1} << 20) : max_bytes_(max_bytes) {}

  /// Consumes `bytes`, appending every event completed by them to `out`. invalid_argument
  /// (naming the limit) when a line or an event grows past max_bytes; after an error the
  /// parser stays failed.
  Status feed(std::string_view bytes, std::vector<SseEvent>& out);

  /// The reconnection delay from the last valid "retry" field, if any.
  std::optional<int64_t> retry_ms() const { return retry_ms_; }
  const std::string& last_event_id() const { return last_id_; }
  /// Whether an event has been started (a field seen) but not yet dispatched.
  bool in_event() const { return has_data_ || !type_.empty() || !line_.empty(); }

 private:
  Status line(std::string_view l, std::vector<SseEvent>& out);

  size_t max_bytes_;
  Status error_;
  std::string line_;        // the current, unterminated line
  bool after_cr_ = false;   // the previous byte ended a line with CR: a following LF belongs to it
  bool first_line_ = true;  // for the BOM
  std::string type_, data_;
  bool has_data_ = false;
  std::string last_id_;
  std::optional<int64_t> retry_ms_;
};

}  // namespace banxway::ai
