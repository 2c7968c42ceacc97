#include "services/shipment_refs.hpp"

#include <array>
#include <set>
#include <utility>

namespace banxway::services {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alpha(char c) { return is_upper(c) || (c >= 'a' && c <= 'z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// ISO 6346 letter values: A=10 counting up, skipping 11, 22 and 33.
constexpr std::array<int, 26> kLetterValues = [] {
  std::array<int, 26> t{};
  int v = 10;
  for (int i = 0; i < 26; ++i) {
    if (v % 11 == 0) ++v;
    t[i] = v++;
  }
  return t;
}();

bool all_digits(std::string_view s) {
  for (char c : s)
    if (!is_digit(c)) return false;
  return !s.empty();
}

bool container_shape(std::string_view v) {
  if (v.size() != 11) return false;
  for (size_t i = 0; i < 3; ++i)
    if (!is_upper(v[i])) return false;
  if (v[3] != 'U' && v[3] != 'J' && v[3] != 'Z') return false;
  return all_digits(v.substr(4));
}

std::optional<std::string> alnum_4_35(std::string_view s) {
  std::string v = normalize_reference(s);
  if (v.size() < 4 || v.size() > 35) return std::nullopt;
  for (char c : v)
    if (!is_alnum(c)) return std::nullopt;
  return v;
}

// A separator allowed inside a written identifier: space, tab, non-breaking space (UTF-8) or,
// when dash_ok, a hyphen. Returns its length in bytes (0 when there is none at i).
size_t separator_at(std::string_view t, size_t i, bool dash_ok) {
  if (i >= t.size()) return 0;
  if (t[i] == ' ' || t[i] == '\t' || (dash_ok && t[i] == '-')) return 1;
  if (t.compare(i, 2, "\xC2\xA0") == 0) return 2;
  return 0;
}

// Reads exactly n digits at j (advancing j); false when fewer are there.
bool take_digits(std::string_view t, size_t& j, size_t n, std::string& out) {
  for (size_t k = 0; k < n; ++k, ++j) {
    if (j >= t.size() || !is_digit(t[j])) return false;
    out += t[j];
  }
  return true;
}

bool word_end(std::string_view t, size_t j) { return j >= t.size() || !is_alnum(t[j]); }

}  // namespace

std::string_view ref_kind_name(RefKind k) {
  switch (k) {
    case RefKind::booking:
      return "booking";
    case RefKind::bl:
      return "bl";
    case RefKind::container:
      return "container";
    case RefKind::awb:
      return "awb";
  }
  return "booking";
}

std::optional<RefKind> ref_kind_from(std::string_view name) {
  for (RefKind k : {RefKind::booking, RefKind::bl, RefKind::container, RefKind::awb})
    if (ref_kind_name(k) == name) return k;
  return std::nullopt;
}

std::string normalize_reference(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '-' || c == '\r' || c == '\n') continue;
    out += upper(c);
  }
  return out;
}

std::optional<int> container_check_digit(std::string_view first10) {
  if (first10.size() != 10) return std::nullopt;
  int sum = 0;
  for (size_t i = 0; i < 10; ++i) {
    char c = first10[i];
    int v;
    if (i < 4) {
      if (!is_upper(c)) return std::nullopt;
      v = kLetterValues[c - 'A'];
    } else {
      if (!is_digit(c)) return std::nullopt;
      v = c - '0';
    }
    sum += v << i;
  }
  return sum % 11 % 10;
}

std::optional<std::string> valid_container(std::string_view s) {
  return check_reference(RefKind::container, s).value;
}

std::optional<int> awb_check_digit(std::string_view first10) {
  if (first10.size() != 10 || !all_digits(first10)) return std::nullopt;
  int serial = 0;
  for (char c : first10.substr(3)) serial = serial * 10 + (c - '0');
  return serial % 7;
}

std::optional<std::string> valid_awb(std::string_view s) {
  return check_reference(RefKind::awb, s).value;
}

std::optional<std::string> valid_booking(std::string_view s) { return alnum_4_35(s); }
std::optional<std::string> valid_bl(std::string_view s) { return alnum_4_35(s); }

std::optional<std::string> valid_unlocode(std::string_view s) {
  if (s.size() == 6 && s[2] == ' ') {
    std::string joined(s.substr(0, 2));
    joined += s.substr(3);
    return valid_unlocode(joined);
  }
  if (s.size() != 5) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < 5; ++i) {
    char c = upper(s[i]);
    bool ok = is_upper(c) || (i >= 2 && c >= '2' && c <= '9');
    if (!ok) return std::nullopt;
    out += c;
  }
  return out;
}

RefCheck check_reference(RefKind kind, std::string_view raw) {
  RefCheck r;
  std::string v = normalize_reference(raw);
  switch (kind) {
    case RefKind::container: {
      if (!container_shape(v)) {
        r.problem =
            "not a container number (owner code 3 letters, category U, J or Z, 6 digits and a "
            "check digit, e.g. MSKU9070323)";
        return r;
      }
      int want = *container_check_digit(std::string_view(v).substr(0, 10));
      if (v[10] - '0' != want) {
        r.problem = "wrong check digit in container number " + v +
                    ": the 11th character should be " + std::to_string(want) + ", not " +
                    v.substr(10);
        return r;
      }
      break;
    }
    case RefKind::awb: {
      if (v.size() != 11 || !all_digits(v)) {
        r.problem =
            "not an air waybill number (3-digit airline prefix and 8 digits, e.g. 176-12345675)";
        return r;
      }
      int want = *awb_check_digit(std::string_view(v).substr(0, 10));
      if (v[10] - '0' != want) {
        r.problem = "wrong check digit in air waybill number " + v + ": the last digit should be " +
                    std::to_string(want) + " (the serial " + v.substr(3, 7) + " mod 7), not " +
                    v.substr(10);
        return r;
      }
      break;
    }
    case RefKind::booking:
    case RefKind::bl:
      if (!alnum_4_35(v)) {
        r.problem = std::string(kind == RefKind::bl ? "a bill of lading" : "a booking") +
                    " number is 4 to 35 letters and digits";
        return r;
      }
      break;
  }
  r.value = std::move(v);
  return r;
}

std::optional<ScannedRef> scan_container_at(std::string_view t, size_t i) {
  ScannedRef r;
  std::string& v = r.value;
  size_t j = i;
  for (size_t k = 0; k < 4; ++k, ++j) {
    if (j >= t.size() || !is_alpha(t[j])) return std::nullopt;
    v += upper(t[j]);
  }
  if (v[3] != 'U' && v[3] != 'J' && v[3] != 'Z') return std::nullopt;
  size_t sep = separator_at(t, j, true);
  j += sep;
  if (!take_digits(t, j, 6, v)) return std::nullopt;
  size_t sep2 = separator_at(t, j, true);
  j += sep2;
  if (!take_digits(t, j, 1, v) || !word_end(t, j)) return std::nullopt;
  r.end = j;
  r.separated = sep + sep2 > 0;
  return r;
}

std::optional<ScannedRef> scan_awb_at(std::string_view t, size_t i) {
  ScannedRef r;
  std::string& v = r.value;
  size_t j = i;
  if (!take_digits(t, j, 3, v)) return std::nullopt;
  size_t sep = separator_at(t, j, true);
  j += sep;
  if (!take_digits(t, j, 4, v)) return std::nullopt;
  size_t sep2 = separator_at(t, j, false);
  j += sep2;
  if (!take_digits(t, j, 4, v) || !word_end(t, j)) return std::nullopt;
  r.end = j;
  r.separated = sep + sep2 > 0;
  return r;
}

std::vector<Found> find_references(std::string_view text) {
  std::vector<Found> out;
  std::set<std::pair<RefKind, std::string>> seen;
  size_t i = 0;
  while (i < text.size()) {
    if (i > 0 && is_alnum(text[i - 1])) {
      ++i;
      continue;
    }
    std::optional<ScannedRef> m;
    RefKind kind = RefKind::container;
    if (is_alpha(text[i])) {
      m = scan_container_at(text, i);
      if (m && !check_reference(RefKind::container, m->value).value) m.reset();
    } else if (is_digit(text[i])) {
      kind = RefKind::awb;
      m = scan_awb_at(text, i);
      if (m && !check_reference(RefKind::awb, m->value).value) m.reset();
    }
    if (!m) {
      ++i;
      continue;
    }
    if (seen.emplace(kind, m->value).second)
      out.push_back(Found{kind, m->value, i, m->end - i});
    i = m->end;
  }
  return out;
}

}  // namespace banxway::services
