#include "services/rowjson.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace banxway::services {

std::string select_list(std::span<const ColSpec> cols, const char* alias) {
  std::string s;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) s += ", ";
    if (alias) {
      s += alias;
      s += '.';
    }
    s += cols[i].column;
  }
  return s;
}

namespace {

// Index of the first byte at or after i that JSON must escape (quote, backslash, control),
// or s.size(). Sixteen bytes at a time where SSE2 is available (always on x86-64).
size_t next_special(std::string_view s, size_t i) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i ctl_max = _mm_set1_epi8(0x1f);
  for (; i + 16 <= s.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, ctl_max), ctl_max);  // v <= 0x1f, unsigned
    __m128i hit = _mm_or_si128(ctl, _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                                 _mm_cmpeq_epi8(v, backslash)));
    int mask = _mm_movemask_epi8(hit);
    if (mask) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;
  }
  return s.size();
}

}  // namespace

// Listing is the hottest path in the server: rows are written straight into one string, copying
// runs of plain characters at once (RapidJSON's writer escapes character by character).
void append_json_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;
  for (size_t i = next_special(s, 0); i < s.size(); i = next_special(s, run)) {
    out.append(s.data() + run, i - run);
    run = i + 1;
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_row(std::string& out, const store::Row& row, std::span<const ColSpec> cols,
                size_t offset) {
  out.push_back('{');
  for (size_t i = 0; i < cols.size(); ++i) {
    const ColSpec& c = cols[i];
    size_t idx = offset + i;
    if (i) out.push_back(',');
    out.push_back('"');
    out += c.key;  // keys are plain identifiers: nothing to escape
    out += "\":";
    if (row.is_null(idx)) {
      out += "null";
      continue;
    }
    std::string_view t = row.text(idx);
    switch (c.kind) {
      case Col::str: append_json_string(out, t); break;
      case Col::integer: {
        // Both backends hand integers over as decimal text; anything else becomes 0.
        bool digits = !t.empty() && t.size() < 20;
        for (size_t k = 0; digits && k < t.size(); ++k)
          digits = (t[k] >= '0' && t[k] <= '9') || (k == 0 && t[k] == '-' && t.size() > 1);
        out += digits ? t : std::string_view("0");
        break;
      }
      case Col::boolean: out += row.boolean(idx) ? "true" : "false"; break;
      case Col::json: out += t.empty() ? std::string_view("null") : t; break;
    }
  }
  out.push_back('}');
}

namespace {
void append_rows(std::string& out, const store::Rows& rows, std::span<const ColSpec> cols,
                 size_t n) {
  out.push_back('[');
  for (size_t i = 0; i < n; ++i) {
    if (i) out.push_back(',');
    append_row(out, rows[i], cols);
  }
  out.push_back(']');
}

size_t estimate(const store::Rows& rows, size_t n) {
  size_t bytes = 64;
  for (size_t i = 0; i < n; ++i) bytes += rows[i].bytes() + 24 * rows[i].size();
  return bytes;
}
}  // namespace

std::string rows_to_json_array(const store::Rows& rows, std::span<const ColSpec> cols,
                               size_t count) {
  size_t n = std::min(count, rows.size());
  std::string out;
  out.reserve(estimate(rows, n));
  append_rows(out, rows, cols, n);
  return out;
}

std::string rows_to_list(const store::Rows& rows, std::span<const ColSpec> cols, size_t count,
                         const std::optional<std::string>& next) {
  size_t n = std::min(count, rows.size());
  std::string out;
  out.reserve(estimate(rows, n) + 64);
  out += "{\"items\":";
  append_rows(out, rows, cols, n);
  out += ",\"next_cursor\":";
  if (next)
    append_json_string(out, *next);
  else
    out += "null";
  out.push_back('}');
  return out;
}

std::string row_to_json(const store::Row& row, std::span<const ColSpec> cols) {
  std::string out;
  out.reserve(32 * cols.size());
  append_row(out, row, cols);
  return out;
}

}  // namespace banxway::services
