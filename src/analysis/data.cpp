#include "analysis/data.hpp"

#include <algorithm>
#include <stdexcept>

namespace banxway::analysis {
namespace {

uint64_t pack5(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 5; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

// "L{3}D{4,9}" -> parts; an ill-formed pattern is a bug in the data file, reported loudly.
std::vector<PatternPart> parse_pattern(std::string_view p) {
  std::vector<PatternPart> out;
  size_t i = 0;
  auto number = [&]() {
    int n = 0;
    bool any = false;
    while (i < p.size() && p[i] >= '0' && p[i] <= '9') n = n * 10 + (p[i++] - '0'), any = true;
    if (!any) throw std::logic_error("bl_prefixes.tsv: bad pattern " + std::string(p));
    return n;
  };
  while (i < p.size()) {
    char c = p[i++];
    if ((c != 'D' && c != 'L' && c != 'A') || i >= p.size() || p[i] != '{')
      throw std::logic_error("bl_prefixes.tsv: bad pattern " + std::string(p));
    ++i;
    PatternPart part{c, number(), 0};
    part.max = part.min;
    if (i < p.size() && p[i] == ',') {
      ++i;
      part.max = number();
    }
    if (i >= p.size() || p[i] != '}')
      throw std::logic_error("bl_prefixes.tsv: bad pattern " + std::string(p));
    ++i;
    out.push_back(part);
  }
  return out;
}

bool class_ok(char cls, char c) {
  bool d = c >= '0' && c <= '9', l = c >= 'A' && c <= 'Z';
  return cls == 'D' ? d : cls == 'L' ? l : (d || l);
}

bool match_from(const std::vector<PatternPart>& p, size_t k, std::string_view s) {
  if (k == p.size()) return s.empty();
  const PatternPart& part = p[k];
  size_t n = 0;
  while (n < s.size() && n < static_cast<size_t>(part.max) && class_ok(part.cls, s[n])) ++n;
  for (size_t take = n + 1; take-- > static_cast<size_t>(part.min);)
    if (match_from(p, k + 1, s.substr(take))) return true;
  return false;
}

Tables build() {
  Tables t;
  for_each_tsv_row(data_file("countries.tsv"), [&](const std::vector<std::string_view>& f) {
    if (f[0].size() == 2) t.country[(f[0][0] - 'A') * 26 + (f[0][1] - 'A')] = true;
  });
  for_each_tsv_row(data_file("unlocodes.tsv"), [&](const std::vector<std::string_view>& f) {
    if (f[0].size() == 5) t.ports.push_back(pack5(f[0]));
  });
  std::sort(t.ports.begin(), t.ports.end());
  for_each_tsv_row(data_file("airline_prefixes.tsv"), [&](const std::vector<std::string_view>& f) {
    if (f[0].size() == 3) t.airline[std::stoi(std::string(f[0]))] = true;
  });
  for_each_tsv_row(data_file("bl_prefixes.tsv"), [&](const std::vector<std::string_view>& f) {
    if (f.size() < 3 || f[0].size() != 4) return;
    t.bl_prefixes.push_back(BlPrefix{std::string(f[0]), std::string(f[1]), parse_pattern(f[2])});
  });
  return t;
}

}  // namespace

std::string_view data_file(std::string_view name) {
  for (const EmbeddedFile* f = embedded_data_files(); f->name; ++f)
    if (name == f->name) return f->text;
  return {};
}

bool Tables::is_country(char a, char b) const {
  if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return false;
  return country[(a - 'A') * 26 + (b - 'A')];
}

bool Tables::is_listed_port(std::string_view code5) const {
  return code5.size() == 5 && std::binary_search(ports.begin(), ports.end(), pack5(code5));
}

const BlPrefix* Tables::bl_prefix(std::string_view four) const {
  for (const BlPrefix& p : bl_prefixes)
    if (p.prefix == four) return &p;
  return nullptr;
}

bool match_pattern(const std::vector<PatternPart>& p, std::string_view body) {
  return match_from(p, 0, body);
}

const Tables& tables() {
  static const Tables t = build();
  return t;
}

}  // namespace banxway::analysis
