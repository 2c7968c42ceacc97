// The data tables of the analysis module (data/analysis/*.tsv), embedded into the library at
// build time by cmake/embed_data.cmake, and parsed once into lookup structures.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banxway::analysis {

struct EmbeddedFile {
  const char* name;  // file name, e.g. "unlocodes.tsv"; nullptr ends the table
  const char* text;
};
/// Generated: every embedded file, ended by {nullptr, nullptr}.
const EmbeddedFile* embedded_data_files();

/// The text of one embedded file ("" when there is no such file).
std::string_view data_file(std::string_view name);

/// Calls fn(fields) for each non-empty, non-comment ('#') line of a TSV text.
template <class Fn>
void for_each_tsv_row(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  std::vector<std::string_view> fields;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    fields.clear();
    size_t f = 0;
    while (true) {
      size_t tab = line.find('\t', f);
      fields.push_back(
          line.substr(f, tab == std::string_view::npos ? std::string_view::npos : tab - f));
      if (tab == std::string_view::npos) break;
      f = tab + 1;
    }
    fn(fields);
  }
}

/// A B/L body pattern element: a character class (D digit, L letter, A either) repeated
/// min..max times.
struct PatternPart {
  char cls;
  int min;
  int max;
};
struct BlPrefix {
  std::string prefix;  // 4 upper-case letters
  std::string carrier;
  std::vector<PatternPart> body;
};

/// The reference tables, parsed once (thread-safe function-local static).
struct Tables {
  bool country[26 * 26] = {};   // ISO 3166-1 alpha-2, index (c0-'A')*26 + (c1-'A')
  std::vector<uint64_t> ports;  // packed 5-char UN/LOCODEs, sorted
  bool airline[1000] = {};      // IATA prefixes
  std::vector<BlPrefix> bl_prefixes;

  bool is_country(char a, char b) const;
  bool is_listed_port(std::string_view code5) const;  // upper case, 5 chars
  const BlPrefix* bl_prefix(std::string_view four) const;
};
const Tables& tables();

/// Whether `body` (upper case) matches a B/L body pattern.
bool match_pattern(const std::vector<PatternPart>& p, std::string_view body);

}  // namespace banxway::analysis
