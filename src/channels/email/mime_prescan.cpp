// The structure guard run before GMime sees a message. GMime recurses once per nesting level
// (up to 1024), allocates an object per part and per header field, and keeps every header
// value; a hostile message can therefore cost deep stacks, many allocations and large copies
// before our own walk could stop it. This pass tracks MIME structure the way GMime's parser
// does (boundaries checked innermost first, a delimiter line is "--boundary" plus optional
// white space) and cuts out, by byte range, what would exceed the limits:
//   * entities nested deeper than max_depth (their whole subtree),
//   * entities past max_parts (everything after),
//   * header fields over kMaxFieldBytes, and fields past max_header_bytes in one block or
//     past 4 x max_header_bytes in the whole message.
// It is linear in the input and stops early once the remaining bytes cannot matter.
#include <algorithm>

#include "channels/email/mime_internal.hpp"

namespace banxway::email::detail {
namespace {

constexpr size_t kMaxFieldBytes = 64 * 1024;  // one field, folded lines included
constexpr size_t kMaxContentTypeScan = 8 * 1024;

struct Frame {
  std::string boundary;  // of a multipart entity
  int depth;             // that entity's depth; its children are depth + 1
};

std::string_view trim_crlf(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

bool only_lwsp(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// Which frame a "--..." line closes or separates: {index, is_close}, or {-1, false}.
std::pair<int, bool> match_boundary(std::string_view line, const std::vector<Frame>& frames) {
  if (line.size() < 2 || line[0] != '-' || line[1] != '-') return {-1, false};
  const std::string_view rest = line.substr(2);
  for (int k = static_cast<int>(frames.size()) - 1; k >= 0; --k) {
    const std::string& b = frames[static_cast<size_t>(k)].boundary;
    if (!rest.starts_with(b)) continue;
    std::string_view tail = rest.substr(b.size());
    if (tail.starts_with("--") && only_lwsp(tail.substr(2))) return {k, true};
    if (only_lwsp(tail)) return {k, false};
  }
  return {-1, false};
}

// Is the field starting `f` (colon at `colon`) named `name`? White space before ':' is allowed.
bool is_field(std::string_view f, size_t colon, std::string_view name) {
  return colon >= name.size() && g_ascii_strncasecmp(f.data(), name.data(), name.size()) == 0 &&
         only_lwsp(f.substr(name.size(), colon - name.size()));
}

// Media type and boundary parameter from an unfolded Content-Type value.
void parse_content_type(std::string_view v, std::string* media, std::string* boundary) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) ++i;
  };
  skip_ws();
  while (i < v.size() && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n')
    *media += static_cast<char>(g_ascii_tolower(v[i++]));
  while (i < v.size()) {
    while (i < v.size() && v[i] != ';') {
      if (v[i] == '"') {  // skip quoted text so a ';' inside it does not split
        for (++i; i < v.size() && v[i] != '"'; ++i)
          if (v[i] == '\\') ++i;
      }
      ++i;
    }
    ++i;  // past ';'
    skip_ws();
    std::string name;
    while (i < v.size() && v[i] != '=' && v[i] != ';')
      name += static_cast<char>(g_ascii_tolower(v[i++]));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    if (i >= v.size() || v[i] != '=') continue;
    ++i;
    skip_ws();
    std::string value;
    if (i < v.size() && v[i] == '"') {
      for (++i; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        value += v[i];
      }
    } else {
      while (i < v.size() && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' &&
             v[i] != '\n')
        value += v[i++];
    }
    if (name == "boundary" && boundary->empty()) *boundary = value;
  }
}

}  // namespace

Prescan prescan(std::string_view raw, const ParseLimits& limits) {
  Prescan out;
  const size_t field_cap = std::min(kMaxFieldBytes, limits.max_header_bytes);
  const size_t total_header_cap = limits.max_header_bytes * 4;
  std::vector<std::pair<size_t, size_t>> drops;
  std::vector<Frame> frames;
  enum class State { headers, body } state = State::headers;
  int entity_depth = 0;
  long parts = 1;  // the message itself
  bool skipping = false;
  size_t skip_from = 0;
  size_t block_bytes = 0, total_header_bytes = 0;
  bool warned_depth = false, warned_block = false;

  // The header field being collected: [field_start, field_end).
  size_t field_start = 0, field_end = 0;
  bool in_field = false;
  std::string ct_value;  // first Content-Type of the current block (bounded)
  bool have_ct = false;
  bool encoded = false;  // Content-Transfer-Encoding base64/qp/uuencode: GMime keeps a leaf

  auto finish_field = [&] {
    if (!in_field) return;
    in_field = false;
    const size_t size = field_end - field_start;
    const std::string_view f = raw.substr(field_start, size);
    const std::string_view name = f.substr(0, std::min(f.find(':'), size_t{40}));
    if (size > field_cap) {
      drops.emplace_back(field_start, field_end);
      out.warnings.push_back("header field " + clean_line(name) + " over " +
                             std::to_string(field_cap) + " bytes dropped");
      return;
    }
    if (block_bytes + size > limits.max_header_bytes ||
        total_header_bytes + size > total_header_cap) {
      drops.emplace_back(field_start, field_end);
      if (!warned_block) {
        out.warnings.push_back("header block over " + std::to_string(limits.max_header_bytes) +
                               " bytes: further fields dropped");
        warned_block = true;
      }
      return;
    }
    block_bytes += size;
    total_header_bytes += size;
    const size_t colon = f.find(':');
    if (colon == std::string_view::npos) return;
    const std::string_view value =
        f.substr(colon + 1, std::min(kMaxContentTypeScan, size - colon - 1));
    if (!have_ct && is_field(f, colon, "content-type")) {
      have_ct = true;
      ct_value.assign(value);
    } else if (is_field(f, colon, "content-transfer-encoding")) {
      std::string v;
      for (char c : value)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
          v += static_cast<char>(g_ascii_tolower(c));
      encoded = v == "base64" || v == "quoted-printable" || v.find("uue") != std::string::npos;
    }
  };
  auto start_entity = [&](int depth) {
    state = State::headers;
    entity_depth = depth;
    block_bytes = 0;
    have_ct = false;
    encoded = false;
    ct_value.clear();
  };
  auto too_deep = [&](size_t from) {
    skipping = true;
    skip_from = from;
    if (!warned_depth) {
      out.warnings.push_back("MIME nesting deeper than " + std::to_string(limits.max_depth) +
                             " levels truncated");
      warned_depth = true;
    }
  };

  size_t pos = 0;
  bool done = false;
  while (pos < raw.size() && !done) {
    size_t nl = raw.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? raw.size() : nl + 1;
    const std::string_view line = trim_crlf(raw.substr(pos, end - pos));
    auto [k, is_close] =
        frames.empty() ? std::pair<int, bool>{-1, false} : match_boundary(line, frames);

    if (state == State::headers && !skipping && k < 0) {
      if (!line.empty()) {
        if ((line[0] == ' ' || line[0] == '\t') && in_field) {
          field_end = end;  // folded continuation
        } else {
          finish_field();
          in_field = true;
          field_start = pos;
          field_end = end;
        }
        pos = end;
        continue;
      }
      // Blank line: the header block ends, the entity's body begins after it.
      finish_field();
      std::string media, boundary;
      if (have_ct) parse_content_type(ct_value, &media, &boundary);
      pos = end;
      if (media.starts_with("multipart/") && !boundary.empty()) {
        frames.push_back({boundary, entity_depth});
        state = State::body;
      } else if ((media == "message/rfc822" || media == "message/global") && !encoded) {
        ++parts;
        if (parts > limits.max_parts) {
          drops.emplace_back(pos, raw.size());
          out.warnings.push_back("more than " + std::to_string(limits.max_parts) +
                                 " MIME parts: the rest ignored");
          done = true;
        } else if (entity_depth + 1 > limits.max_depth) {
          state = State::body;
          too_deep(pos);
          if (frames.empty()) done = true;
        } else {
          start_entity(entity_depth + 1);  // the embedded message's own headers follow
        }
      } else {
        state = State::body;
        if (frames.empty()) done = true;  // a leaf at top level: nothing left to check
      }
      continue;
    }

    if (k >= 0) {
      finish_field();  // headers cut short by a boundary (GMime warns, so do not we)
      if (skipping) {
        drops.emplace_back(skip_from, pos);
        skipping = false;
      }
      const size_t ku = static_cast<size_t>(k);
      if (is_close) {
        frames.resize(ku);
        state = State::body;
        if (frames.empty()) done = true;  // the epilogue of the top multipart
      } else {
        frames.resize(ku + 1);
        ++parts;
        const int depth = frames[ku].depth + 1;
        if (parts > limits.max_parts) {
          drops.emplace_back(pos, raw.size());
          out.warnings.push_back("more than " + std::to_string(limits.max_parts) +
                                 " MIME parts: the rest ignored");
          done = true;
        } else if (depth > limits.max_depth) {
          state = State::body;
          too_deep(pos);
        } else {
          start_entity(depth);
        }
      }
    }
    pos = end;
  }
  if (state == State::headers) finish_field();  // input ended inside a header block
  if (skipping) drops.emplace_back(skip_from, raw.size());
  if (drops.empty()) return out;

  std::sort(drops.begin(), drops.end());
  size_t keep_from = 0;
  for (auto [a, b] : drops) {
    if (a > keep_from) out.keep.emplace_back(keep_from, a);
    keep_from = std::max(keep_from, b);
  }
  if (keep_from < raw.size()) out.keep.emplace_back(keep_from, raw.size());
  if (out.keep.empty()) out.keep.emplace_back(0, 0);  // everything dropped: keep nothing
  return out;
}

}  // namespace banxway::email::detail
