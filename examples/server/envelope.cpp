#include "envelope.hpp"

#include <cstring>

namespace bxserver {
namespace {

constexpr std::string_view kWs = " \t\r\n";

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && kWs.find(s[i]) != std::string_view::npos) ++i;
  return i;
}

// Index just past the string literal starting at s[i] == '"', or npos. Strings are most of a
// list's bytes, so the closing quote is found with memchr; a quote preceded by an odd number
// of backslashes is escaped and the search goes on.
size_t skip_string(std::string_view s, size_t i) {
  const char* begin = s.data() + i + 1;
  const char* end = s.data() + s.size();
  const char* p = begin;
  while (p < end) {
    auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
    if (!q) break;
    const char* b = q;
    while (b > begin && b[-1] == '\\') --b;
    if (((q - b) & 1) == 0) return static_cast<size_t>(q + 1 - s.data());
    p = q + 1;
  }
  return std::string_view::npos;
}

// Index just past the JSON value starting at s[i], or npos.
size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  char c = s[i];
  if (c == '"') return skip_string(s, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < s.size()) {
      char d = s[i];
      if (d == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  // number, true, false, null
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
         kWs.find(s[i]) == std::string_view::npos)
    ++i;
  return i;
}

// Length of the well-formed UTF-8 sequence at s[i] (a byte >= 0x80), or 0 if it is not one.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = (c >= 0xC2 && c <= 0xDF)   ? 2
             : (c >= 0xE0 && c <= 0xEF) ? 3
             : (c >= 0xF0 && c <= 0xF4) ? 4
                                        : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
  if (c == 0xE0 && b(i + 1) < 0xA0) return 0;
  if (c == 0xED && b(i + 1) >= 0xA0) return 0;
  if (c == 0xF0 && b(i + 1) < 0x90) return 0;
  if (c == 0xF4 && b(i + 1) >= 0x90) return 0;
  return n;
}

}  // namespace

// Messages can quote client input, so bytes that are not UTF-8 become U+FFFD: the response
// must stay valid JSON whatever was sent.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

namespace {

// Visits the top-level members of a JSON object in one pass; `fn(key, value)` returns false to
// stop early. Returns false on text that is not an object.
template <typename Fn>
bool for_each_member(std::string_view obj, Fn&& fn) {
  size_t i = skip_ws(obj, 0);
  if (i >= obj.size() || obj[i] != '{') return false;
  i = skip_ws(obj, i + 1);
  while (i < obj.size() && obj[i] == '"') {
    size_t kend = skip_string(obj, i);
    if (kend == std::string_view::npos) return false;
    std::string_view k = obj.substr(i + 1, kend - i - 2);
    i = skip_ws(obj, kend);
    if (i >= obj.size() || obj[i] != ':') return false;
    i = skip_ws(obj, i + 1);
    size_t vend = skip_value(obj, i);
    if (vend == std::string_view::npos) return false;
    if (!fn(k, obj.substr(i, vend - i))) return true;
    i = skip_ws(obj, vend);
    if (i < obj.size() && obj[i] == ',') i = skip_ws(obj, i + 1);
  }
  return true;
}

}  // namespace

bool find_member(std::string_view obj, std::string_view key, std::string_view& value) {
  bool found = false;
  for_each_member(obj, [&](std::string_view k, std::string_view v) {
    if (k != key) return true;
    value = v;
    found = true;
    return false;
  });
  return found;
}

std::string success_envelope(std::string_view data) {
  constexpr std::string_view head = "{\"success\":true,\"data\":";
  std::string out;
  out.reserve(head.size() + data.size() + 1);
  out += head;
  out += data.empty() ? std::string_view("null") : data;
  out += '}';
  return out;
}

namespace {

// The engine writes lists compactly as {"items":[…],"next_cursor":null|"…"}, cursor last. Then
// the split is found from the ends without reading the items: the last `,"next_cursor":` is the
// top-level one when what follows it is exactly one null or string and the closing brace (a
// nested key of that name would be followed by more brackets; a quote inside a string value is
// always escaped, so the pattern cannot come from string contents).
bool split_compact_list(std::string_view data, std::string_view& items, std::string_view& cursor) {
  constexpr std::string_view head = "{\"items\":[";
  constexpr std::string_view key = ",\"next_cursor\":";
  if (data.size() < head.size() + key.size() + 6 || data.substr(0, head.size()) != head ||
      data.back() != '}')
    return false;
  size_t at = data.rfind(key);
  if (at == std::string_view::npos || at < head.size() || data[at - 1] != ']') return false;
  size_t v = at + key.size();
  std::string_view value = data.substr(v, data.size() - 1 - v);
  bool ok = value == "null" ||
            (!value.empty() && value.front() == '"' && skip_string(data, v) == data.size() - 1);
  if (!ok) return false;
  items = data.substr(head.size() - 1, at - (head.size() - 1));
  cursor = value;
  return true;
}

}  // namespace

std::string list_envelope(std::string_view data) {
  std::string_view items, cursor = "null";
  bool have_items = split_compact_list(data, items, cursor);
  if (!have_items) {
    for_each_member(data, [&](std::string_view k, std::string_view v) {
      if (k == "items") {
        items = v;
        have_items = true;
      } else if (k == "next_cursor") {
        cursor = v;
      }
      return true;
    });
  }
  if (!have_items) return success_envelope(data);
  constexpr std::string_view head = "{\"success\":true,\"data\":";
  constexpr std::string_view mid = ",\"pagination\":{\"next_cursor\":";
  std::string out;
  out.reserve(head.size() + items.size() + mid.size() + cursor.size() + 2);
  out += head;
  out += items;
  out += mid;
  out += cursor;
  out += "}}";
  return out;
}

std::string error_envelope(std::string_view code, std::string_view message,
                           std::string_view details_json) {
  std::string out;
  out.reserve(64 + message.size() + details_json.size());
  out += "{\"success\":false,\"error\":{\"code\":";
  append_json_string(out, code);
  out += ",\"message\":";
  append_json_string(out, message);
  out += ",\"details\":";
  out += details_json.empty() ? std::string_view("null") : details_json;
  out += "}}";
  return out;
}

std::string error_envelope(const banxway::Status& st) {
  return error_envelope(banxway::code_name(st.code()), st.message(), st.details());
}

}  // namespace bxserver
