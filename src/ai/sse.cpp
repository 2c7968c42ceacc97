// SseParser: scans for line ends, keeps the unterminated tail, interprets complete lines.
#include "ai/sse.hpp"

namespace banxway::ai {

Status SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (!error_.ok()) return error_;
  size_t i = 0;
  if (after_cr_ && !bytes.empty()) {
    after_cr_ = false;
    if (bytes[0] == '\n') i = 1;  // the LF of a CRLF split across two feeds
  }
  while (i < bytes.size()) {
    size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      std::string_view rest = bytes.substr(i);
      if (rest.size() > max_bytes_ - line_.size())  // sizes: line_ never exceeds max_bytes_
        return error_ = InvalidArgument("sse: a line exceeds the " + std::to_string(max_bytes_) +
                                        "-byte limit");
      line_.append(rest);
      return Status::OK();
    }
    std::string_view piece = bytes.substr(i, end - i);
    if (piece.size() > max_bytes_ - line_.size())
      return error_ = InvalidArgument("sse: a line exceeds the " + std::to_string(max_bytes_) +
                                      "-byte limit");
    Status st;
    if (line_.empty()) {
      st = line(piece, out);
    } else {
      line_.append(piece);
      std::string whole = std::move(line_);
      line_.clear();
      st = line(whole, out);
    }
    if (!st.ok()) return error_ = st;
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        after_cr_ = true;
      }
    }
  }
  return Status::OK();
}

Status SseParser::line(std::string_view l, std::vector<SseEvent>& out) {
  if (first_line_) {
    first_line_ = false;
    if (l.substr(0, 3) == "\xEF\xBB\xBF") l.remove_prefix(3);
  }
  if (l.empty()) {  // dispatch
    if (has_data_) {
      SseEvent ev;
      if (!type_.empty()) ev.type = std::move(type_);
      ev.data = std::move(data_);
      ev.id = last_id_;
      out.push_back(std::move(ev));
    }
    type_.clear();
    data_.clear();
    has_data_ = false;
    return Status::OK();
  }
  if (l.front() == ':') return Status::OK();  // comment / keep-alive
  std::string_view field = l, value;
  if (size_t colon = l.find(':'); colon != std::string_view::npos) {
    field = l.substr(0, colon);
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    size_t grow = value.size() + (has_data_ ? 1 : 0);
    if (grow > max_bytes_ - data_.size())
      return InvalidArgument("sse: an event exceeds the " + std::to_string(max_bytes_) +
                             "-byte limit");
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (!value.empty() && value.size() <= 15 &&
        value.find_first_not_of("0123456789") == std::string_view::npos)
      retry_ms_ = std::stoll(std::string(value));
  }
  return Status::OK();
}

}  // namespace banxway::ai
