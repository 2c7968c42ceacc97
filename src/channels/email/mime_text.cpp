// Text handling for email parts: UTF-8 repair, line-end and control-character cleanup,
// format=flowed, and bounded decoding of part content (transfer encoding + charset via GMime).
#include <iconv.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "channels/email/mime_internal.hpp"

namespace banxway::email::detail {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at s[i] (Unicode Table 3-7), or 0 if ill-formed;
// *bad_len is then the length of the maximal ill-formed prefix to replace by one U+FFFD.
size_t utf8_seq(std::string_view s, size_t i, size_t* bad_len) {
  auto b = [&](size_t k) -> unsigned { return static_cast<unsigned char>(s[i + k]); };
  const unsigned c = b(0);
  *bad_len = 1;
  if (c < 0x80) return 1;
  size_t need;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned x = b(k);
    const unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (x < l || x > h) return 0;
    *bad_len = k + 1;
  }
  return need;
}

std::string lower_ascii(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(g_ascii_tolower(c));
  return r;
}

// Word-at-a-time scans: 8 bytes of text as one integer, and byte-wise masks.
constexpr uint64_t kOnes = 0x0101010101010101ull, kHighBits = 0x8080808080808080ull;
uint64_t load8(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

// The first position at or after i whose byte is not ASCII (s.size() if none). Mail text is
// mostly ASCII, so this looks at 8 bytes per step and leaves the rest to utf8_seq.
size_t skip_ascii(std::string_view s, size_t i) {
  while (i + 8 <= s.size() && !(load8(s.data() + i) & kHighBits)) i += 8;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  return i;
}

bool is_valid_utf8(std::string_view s) {
  size_t bad;
  for (size_t i = skip_ascii(s, 0); i < s.size(); i = skip_ascii(s, i)) {
    const size_t n = utf8_seq(s, i, &bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Runs `bytes` through a GMime charset filter in chunks (bounded buffers), appending UTF-8.
void convert_charset(GMimeFilter* filter, std::string& bytes, size_t limit, std::string& out) {
  constexpr size_t kChunk = 64 * 1024;
  for (size_t off = 0; off < bytes.size() && out.size() <= limit; off += kChunk) {
    const size_t n = std::min(kChunk, bytes.size() - off);
    char* outbuf = nullptr;
    size_t outlen = 0, outpre = 0;
    g_mime_filter_filter(filter, bytes.data() + off, n, 0, &outbuf, &outlen, &outpre);
    if (outbuf && outlen) out.append(outbuf, outlen);
  }
  char* outbuf = nullptr;
  size_t outlen = 0, outpre = 0;
  char empty[1] = {0};
  g_mime_filter_complete(filter, empty, 0, 0, &outbuf, &outlen, &outpre);
  if (outbuf && outlen) out.append(outbuf, outlen);
}

}  // namespace

bool repair_utf8(std::string& s) {
  if (is_valid_utf8(s)) return false;
  std::string out;
  out.reserve(s.size() + 16);
  size_t bad;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_seq(s, i, &bad);
    if (n) {
      out.append(s, i, n);
      i += n;
    } else {
      out += kReplacement;
      i += bad;
    }
  }
  s.swap(out);
  return true;
}

namespace {

// Whether clean_text changes byte c: a C0 control other than LF and tab, or DEL.
bool cleaned(unsigned char c) { return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7F; }

// Whether one of the 8 bytes at p is below 0x20 or is DEL: a word clean_text must look into
// byte by byte (it holds a byte to change, or only LF or tab). Both tests are the classic
// "some byte below k" bit trick, exact as a yes/no answer for k <= 0x80.
bool word_may_change(const char* p) {
  const uint64_t x = load8(p);
  const uint64_t below_space = (x - kOnes * 0x20) & ~x & kHighBits;
  const uint64_t y = x ^ (kOnes * 0x7F);  // DEL bytes become zero
  const uint64_t del = (y - kOnes) & ~y & kHighBits;
  return (below_space | del) != 0;
}

// The first position at or after i whose byte clean_text changes (s.size() if none).
size_t next_cleaned(const std::string& s, size_t i) {
  const size_t n = s.size();
  for (;;) {
    while (i + 8 <= n && !word_may_change(s.data() + i)) i += 8;
    if (i == n || cleaned(static_cast<unsigned char>(s[i]))) return i;
    ++i;
  }
}

}  // namespace

void clean_text(std::string& s, bool* bad_utf8, bool* had_nul) {
  if (repair_utf8(s) && bad_utf8) *bad_utf8 = true;
  // In place: the result is never longer than the input, so the write position w never passes
  // the read position i. Runs of bytes that stay are found a word at a time and moved whole;
  // the text up to the first change stays where it is.
  const size_t n = s.size();
  size_t i = next_cleaned(s, 0), w = i;
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r') {
      s[w++] = '\n';
      i += i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
    } else {
      // NUL, other controls (form feeds, escapes) and DEL are noise for readers and for the
      // AI: dropped.
      if (c == 0 && had_nul) *had_nul = true;
      ++i;
    }
    const size_t j = next_cleaned(s, i);
    if (j > i) std::memmove(s.data() + w, s.data() + i, j - i);
    w += j - i;
    i = j;
  }
  s.resize(w);
}

std::string clean_line(std::string_view in) {
  std::string s(in);
  repair_utf8(s);
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

void truncate_utf8(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t cut = max;
  // Step back over continuation bytes so the cut lands on a sequence boundary.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

std::string unflow(std::string_view text, bool delsp) {
  std::string out;
  out.reserve(text.size());
  int open_depth = -1;  // quote depth of a paragraph still being joined, -1 if none
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    const bool last = nl >= text.size();
    pos = nl + 1;
    int depth = 0;
    while (!line.empty() && line.front() == '>') {
      ++depth;
      line.remove_prefix(1);
    }
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);  // space-stuffing
    if (open_depth >= 0 && open_depth != depth) {
      out += '\n';  // a quote-depth change ends a flowed paragraph (RFC 3676 §4.5)
      open_depth = -1;
    }
    if (open_depth < 0 && depth > 0) out += std::string(depth, '>') + ' ';
    const bool soft = !line.empty() && line.back() == ' ' && line != "-- ";
    if (soft) {
      out.append(line.data(), line.size() - (delsp ? 1 : 0));
      open_depth = depth;
    } else {
      out.append(line);
      if (!last) out += '\n';
      open_depth = -1;
    }
    if (last) break;
  }
  return out;
}

DecodeResult decode_part(GMimePart* part, size_t limit, bool count_all) {
  DecodeResult r;
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return r;
  GMimeStream* src = g_mime_data_wrapper_get_stream(content);
  if (!src) return r;
  g_mime_stream_reset(src);
  GObj<GMimeStream> filtered(g_mime_stream_filter_new(src));
  const GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(content);
  if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
      enc == GMIME_CONTENT_ENCODING_UUENCODE) {
    GObj<GMimeFilter> dec(g_mime_filter_basic_new(enc, FALSE));
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), dec.get());
  }
  // Reading through the filter decodes on the fly, so an oversized part is never held whole.
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = g_mime_stream_read(filtered.get(), buf, sizeof buf);
    if (n <= 0) break;
    const size_t len = static_cast<size_t>(n);
    r.total += len;
    if (!r.truncated) {
      const size_t room = limit - std::min(limit, r.bytes.size());
      if (len <= room) {
        r.bytes.append(buf, len);
      } else {
        r.bytes.append(buf, room);
        r.truncated = true;
        if (!count_all) break;
      }
    }
  }
  g_mime_stream_reset(src);
  return r;
}

void keep_charset_loaded(const std::string& cs) {
  constexpr size_t kMaxPinned = 64;
  struct Pinned {
    std::mutex mu;
    std::set<std::string> names;
    std::vector<iconv_t> descriptors;  // never closed
  };
  // Allocated once and never destroyed: the descriptors stay reachable through this static
  // pointer until the process ends, where a destroyed container would leave them looking
  // leaked (LeakSanitizer under scripts/fuzz).
  static Pinned* const pinned = new Pinned;
  std::lock_guard<std::mutex> lock(pinned->mu);
  if (pinned->names.size() >= kMaxPinned || pinned->names.count(cs)) return;
  pinned->names.insert(cs);
  iconv_t cd = iconv_open("UTF-8", g_mime_charset_iconv_name(cs.c_str()));
  if (cd != reinterpret_cast<iconv_t>(-1)) pinned->descriptors.push_back(cd);
}

std::string decode_text_part(GMimePart* part, size_t limit, Warnings& w) {
  // Up to twice the output limit of source bytes: UTF-16 needs two bytes per ASCII char.
  DecodeResult raw = decode_part(part, limit > (SIZE_MAX / 2) ? limit : limit * 2, false);
  const char* declared = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
  std::string cs = lower_ascii(declared ? std::string_view(declared) : std::string_view());
  cs.erase(0, cs.find_first_not_of(" \t\"'"));
  cs.erase(cs.find_last_not_of(" \t\"'") + 1);

  std::string out;
  bool bad = false, nul = false;
  static const char* const kUnlabeled[] = {"",          "us-ascii",     "ascii",   "ansi_x3.4-1968",
                                           "iso646-us", "unknown-8bit", "unknown", "x-unknown",
                                           "default",   "8bit",         "none"};
  const bool unlabeled = std::find_if(std::begin(kUnlabeled), std::end(kUnlabeled),
                                      [&](auto* l) { return cs == l; }) != std::end(kUnlabeled);
  std::string from;
  if (cs == "utf-8" || cs == "utf8" || (unlabeled && is_valid_utf8(raw.bytes))) {
    out = std::move(raw.bytes);
    if (cs.starts_with("utf")) bad = !is_valid_utf8(out);
  } else if (unlabeled) {
    // 8-bit text without a usable label: Windows-1252 is what such senders almost always mean.
    from = "windows-1252";
    w.add("text without a usable charset (" + (cs.empty() ? std::string("none") : cs) +
          ") decoded as windows-1252");
  } else if (cs == "iso-8859-1" || cs == "latin1" || cs == "iso_8859-1" || cs == "l1") {
    from = "windows-1252";  // a superset; WHATWG decodes this label the same way
  } else {
    from = cs;
  }
  if (!from.empty()) {
    keep_charset_loaded(from);
    GObj<GMimeFilter> conv(g_mime_filter_charset_new(from.c_str(), "UTF-8"));
    if (!conv) {
      w.add("unknown charset " + clean_line(cs.substr(0, 64)) + ", decoded as windows-1252");
      conv.reset(g_mime_filter_charset_new("windows-1252", "UTF-8"));
    }
    if (conv)
      convert_charset(conv.get(), raw.bytes, limit, out);
    else
      out = std::move(raw.bytes);  // no iconv at all: keep bytes, repaired below
  }
  clean_text(out, &bad, &nul);
  if (bad) w.add("invalid UTF-8 replaced");
  if (nul) w.add("NUL bytes removed from text");
  if (out.size() > limit || raw.truncated) {
    truncate_utf8(out, limit);
    w.add("text truncated at " + std::to_string(limit) + " bytes");
  }
  const char* format = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "format");
  if (format && g_ascii_strcasecmp(format, "flowed") == 0) {
    const char* delsp = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "delsp");
    out = unflow(out, delsp && g_ascii_strcasecmp(delsp, "yes") == 0);
  }
  return out;
}

}  // namespace banxway::email::detail
