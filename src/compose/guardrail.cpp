#include "compose/guardrail.hpp"

#include <cctype>
#include <cstdio>

#include "analysis/extract.hpp"

namespace banxway::compose {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }
bool alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)); }
bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)); }

int month_of_word(std::string_view w) {
  static const char* names[] = {"january", "february", "march",     "april",   "may",      "june",
                                "july",    "august",   "september", "october", "november", "december"};
  if (w.size() < 3) return 0;
  std::string l;
  for (char c : w) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "sept") return 9;
  for (int m = 0; m < 12; ++m) {
    std::string_view n = names[m];
    if (l == n || (l.size() == 3 && n.substr(0, 3) == l)) return m + 1;
  }
  return 0;
}

bool valid_ymd(int y, int m, int d) {
  if (m < 1 || m > 12 || d < 1) return false;
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d > days[m - 1]) return false;
  if (m == 2 && d == 29 && y > 0 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return false;
  return y == 0 || (y >= 1990 && y <= 2100);
}

std::string date_value(int y, int m, int d) {
  char buf[16];
  if (y == 0)
    std::snprintf(buf, sizeof buf, "--%02d-%02d", m, d);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

// Reads up to max digits at i; returns the count read (value in *v).
size_t read_int(std::string_view s, size_t i, size_t max, int* v) {
  size_t n = 0;
  int x = 0;
  while (i + n < s.size() && n < max && digit(s[i + n])) x = x * 10 + (s[i + n++] - '0');
  *v = x;
  return n;
}

size_t skip_spaces(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

size_t word_end(std::string_view s, size_t i) {
  while (i < s.size() && alpha(s[i])) ++i;
  return i;
}

// Optional ", 2026" / " 2026" after a day-month; returns the year (0 when none) and moves *i.
int optional_year(std::string_view s, size_t* i) {
  size_t j = *i;
  if (j < s.size() && s[j] == ',') ++j;
  j = skip_spaces(s, j);
  int y = 0;
  size_t n = read_int(s, j, 5, &y);
  if (n == 4 && (j + n >= s.size() || !alnum(s[j + n]))) {
    *i = j + n;
    return y;
  }
  return 0;
}

size_t ordinal_suffix(std::string_view s, size_t i) {
  if (i + 2 <= s.size()) {
    std::string suf{static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))),
                    static_cast<char>(std::tolower(static_cast<unsigned char>(s[i + 1])))};
    if ((suf == "st" || suf == "nd" || suf == "rd" || suf == "th") &&
        (i + 2 == s.size() || !alnum(s[i + 2])))
      return i + 2;
  }
  return i;
}

struct Currency {
  std::string_view token, code;
};
const Currency kCurrencies[] = {{"USD", "USD"}, {"INR", "INR"}, {"EUR", "EUR"}, {"GBP", "GBP"},
                                {"AED", "AED"}, {"SGD", "SGD"}, {"CNY", "CNY"}, {"JPY", "JPY"},
                                {"HKD", "HKD"}, {"RMB", "CNY"}, {"Rs.", "INR"}, {"Rs", "INR"},
                                {"$", "USD"},   {"\xE2\x82\xAC", "EUR"},      {"\xC2\xA3", "GBP"},
                                {"\xE2\x82\xB9", "INR"}};

// A number like 1,200 / 1200.50 / 45,000.00 at i; canonical text without separators or
// trailing fraction zeros. Returns the end (i when no number).
size_t read_amount(std::string_view s, size_t i, std::string* out) {
  size_t j = i;
  std::string v;
  while (j < s.size() && (digit(s[j]) || (s[j] == ',' && j + 1 < s.size() && digit(s[j + 1]) && !v.empty()))) {
    if (s[j] != ',') v += s[j];
    ++j;
  }
  if (v.empty()) return i;
  if (j + 1 < s.size() && s[j] == '.' && digit(s[j + 1])) {
    std::string frac;
    ++j;
    while (j < s.size() && digit(s[j])) frac += s[j++];
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (!frac.empty()) v += "." + frac;
  }
  *out = v;
  return j;
}

}  // namespace

std::vector<Claim> find_dates_and_amounts(std::string_view s) {
  std::vector<Claim> out;
  size_t i = 0;
  while (i < s.size()) {
    if (i > 0 && alnum(s[i - 1]) && alnum(s[i])) {
      ++i;
      continue;
    }
    // Amounts with a currency in front.
    bool matched = false;
    for (const auto& c : kCurrencies) {
      if (s.substr(i, c.token.size()) != c.token) continue;
      if (alpha(c.token[0]) && i + c.token.size() < s.size() && alpha(s[i + c.token.size()])) continue;
      size_t j = skip_spaces(s, i + c.token.size());
      std::string num;
      size_t e = read_amount(s, j, &num);
      if (e != j) {
        out.push_back({"amount", num + " " + std::string(c.code)});
        i = e;
        matched = true;
      }
      break;
    }
    if (matched) continue;
    if (digit(s[i])) {
      int a = 0, b = 0, c = 0;
      size_t n1 = read_int(s, i, 5, &a);
      size_t j = i + n1;
      // ISO 2026-12-05
      if (n1 == 4 && j < s.size() && s[j] == '-') {
        size_t n2 = read_int(s, j + 1, 2, &b);
        if (n2 == 2 && j + 3 < s.size() && s[j + 3] == '-') {
          size_t n3 = read_int(s, j + 4, 2, &c);
          if (n3 == 2 && valid_ymd(a, b, c)) {
            out.push_back({"date", date_value(a, b, c)});
            i = j + 6;
            continue;
          }
        }
      }
      // Day-first numeric 05/12/2026, 5.12.26
      if (n1 <= 2 && j < s.size() && (s[j] == '/' || s[j] == '.' || s[j] == '-')) {
        char sep = s[j];
        size_t n2 = read_int(s, j + 1, 2, &b);
        if (n2 >= 1 && j + 1 + n2 < s.size() && s[j + 1 + n2] == sep) {
          size_t n3 = read_int(s, j + 2 + n2, 4, &c);
          if (n3 == 2 || n3 == 4) {
            int y = n3 == 2 ? 2000 + c : c;
            if (valid_ymd(y, b, a)) {
              out.push_back({"date", date_value(y, b, a)});
              i = j + 2 + n2 + n3;
              continue;
            }
          }
        }
      }
      // 5 Dec 2026, 5th of December
      if (n1 <= 2) {
        size_t k = ordinal_suffix(s, j);
        k = skip_spaces(s, k);
        if (s.substr(k, 3) == "of ") k = skip_spaces(s, k + 3);
        size_t we = word_end(s, k);
        int m = month_of_word(s.substr(k, we - k));
        if (m && we > k) {
          size_t end = we;
          if (end < s.size() && s[end] == '.') ++end;
          int y = optional_year(s, &end);
          if (valid_ymd(y, m, a)) {
            out.push_back({"date", date_value(y, m, a)});
            i = end;
            continue;
          }
        }
      }
      // Amounts with the currency after: 1,200 USD
      std::string num;
      size_t e = read_amount(s, i, &num);
      size_t k = skip_spaces(s, e);
      for (const auto& cur : kCurrencies) {
        if (!alpha(cur.token[0]) || cur.token.size() != 3) continue;
        if (s.substr(k, 3) == cur.token && (k + 3 == s.size() || !alpha(s[k + 3]))) {
          out.push_back({"amount", num + " " + std::string(cur.code)});
          e = k + 3;
          break;
        }
      }
      i = std::max(e, i + n1);
      continue;
    }
    if (alpha(s[i])) {
      size_t we = word_end(s, i);
      int m = month_of_word(s.substr(i, we - i));
      if (m) {
        size_t k = we;
        if (k < s.size() && s[k] == '.') ++k;
        k = skip_spaces(s, k);
        int d = 0;
        size_t n = read_int(s, k, 2, &d);
        if (n >= 1 && (k + n >= s.size() || !digit(s[k + n]))) {
          size_t end = ordinal_suffix(s, k + n);
          int y = optional_year(s, &end);
          if (valid_ymd(y, m, d)) {
            out.push_back({"date", date_value(y, m, d)});
            i = end;
            continue;
          }
        }
      }
      i = we;
      continue;
    }
    ++i;
  }
  return out;
}

std::vector<Claim> find_claims(std::string_view text) {
  std::vector<Claim> out;
  auto ex = analysis::extract(text);
  for (const auto& v : ex.entities.containers) out.push_back({"container", v});
  for (const auto& v : ex.entities.awbs) out.push_back({"awb", v});
  for (const auto& v : ex.entities.bls) out.push_back({"bl", v});
  for (const auto& v : ex.entities.bookings) out.push_back({"booking", v});
  for (auto& c : find_dates_and_amounts(text)) out.push_back(std::move(c));
  return out;
}

void FactSet::add_text(std::string_view text) {
  for (auto& c : find_claims(text)) {
    if (c.kind == "date" && c.value.size() == 10) values_.insert("--" + c.value.substr(5));
    values_.insert(c.value);
  }
}

bool FactSet::contains(const Claim& c) const {
  if (values_.count(c.value)) return true;
  if (c.kind == "awb") {
    // "176-12345675" and "17612345675" are one AWB.
    std::string digits;
    for (char ch : c.value)
      if (digit(ch)) digits += ch;
    if (values_.count(digits)) return true;
  }
  return false;
}

std::vector<Claim> unverified(std::string_view draft, const FactSet& facts) {
  std::vector<Claim> out;
  std::set<std::string> seen;
  for (auto& c : find_claims(draft)) {
    if (facts.contains(c)) continue;
    if (!seen.insert(c.kind + ":" + c.value).second) continue;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace banxway::compose
