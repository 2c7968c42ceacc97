#include "channels/email/subject.hpp"

#include <cctype>

namespace banxway::email {
namespace {

// Markers mail clients write, in the languages our users' correspondents use.
constexpr std::string_view kAsciiMarkers[] = {"re", "fw",   "fwd", "aw",  "wg",  "sv",  "rv", "tr",
                                              "vs", "antw", "res", "enc", "rif", "odp", "ynt"};
constexpr std::string_view kUnicodeMarkers[] = {"回复",  "回覆", "答复", "转发", "轉寄",
                                                "Ответ", "Отв",  "ΑΠ",   "ΣΧΕΤ"};

bool ascii_ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

void trim_left(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

// After a marker word at s[pos]: optional counter ("[2]", "(3)"), optional spaces, then ':' or
// the full-width '：'. Removes the whole marker and returns true when it matches.
bool take_marker_colon(std::string_view& s, size_t pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos < s.size() && (s[pos] == '[' || s[pos] == '(')) {
    char close = s[pos] == '[' ? ']' : ')';
    size_t q = pos + 1;
    while (q < s.size() && std::isdigit(static_cast<unsigned char>(s[q]))) ++q;
    if (q == pos + 1 || q >= s.size() || s[q] != close) return false;
    pos = q + 1;
    while (pos < s.size() && s[pos] == ' ') ++pos;
  }
  if (pos < s.size() && s[pos] == ':') {
    s.remove_prefix(pos + 1);
    return true;
  }
  if (s.substr(pos).starts_with("\xef\xbc\x9a")) {  // U+FF1A FULLWIDTH COLON
    s.remove_prefix(pos + 3);
    return true;
  }
  return false;
}

}  // namespace

bool strip_reply_marker(std::string_view& s) {
  trim_left(s);
  size_t word = 0;
  while (word < s.size() && std::isalpha(static_cast<unsigned char>(s[word]))) ++word;
  if (word > 0)
    for (auto m : kAsciiMarkers)
      if (ascii_ieq(s.substr(0, word), m) && take_marker_colon(s, word)) return true;
  for (auto m : kUnicodeMarkers)
    if (s.starts_with(m) && take_marker_colon(s, m.size())) return true;
  return false;
}


}  // namespace banxway::email
