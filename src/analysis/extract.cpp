#include "analysis/extract.hpp"

#include <array>
#include <optional>

#include "analysis/data.hpp"
#include "analysis/lexicon.hpp"
#include "services/shipment_refs.hpp"

namespace banxway::analysis {
namespace {

namespace sv = banxway::services;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
std::string upper_str(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in(int y, int m) {
  static constexpr int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}
// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

constexpr std::array<std::string_view, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

// 1–12 for an English month name or its 3-letter (or "Sept") abbreviation, any case; else 0.
int month_of(std::string_view w) {
  if (w.size() < 3 || w.size() > 9) return 0;
  for (int m = 0; m < 12; ++m) {
    std::string_view full = kMonthNames[m];
    bool abbrev = w.size() == 3 || (m == 8 && w.size() == 4);
    if (!abbrev && w.size() != full.size()) continue;
    size_t j = 0;
    while (j < w.size() && j < full.size() && (w[j] | 0x20) == (full[j] | 0x20)) ++j;
    if (j == w.size()) return m + 1;
  }
  return 0;
}

int parse_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

std::string two(int v) { return std::string(1, '0' + v / 10) + std::string(1, '0' + v % 10); }

constexpr std::array<std::string_view, 17> kIncoterms = {"EXW", "FCA", "FAS", "FOB", "CFR", "CIF",
                                                         "CPT", "CIP", "DAP", "DPU", "DDP", "DAT",
                                                         "DAF", "DES", "DEQ", "DDU", "CNF"};

constexpr size_t kCtxCount = static_cast<size_t>(Ctx::count_);

class Extractor {
 public:
  Extractor(std::string_view text, const std::vector<Token>& toks, const ExtractOptions& opt)
      : text_(text), t_(toks), opt_(opt), tb_(tables()), lx_(lexicon()) {
    const std::string& r = opt.reference_date;
    if (r.size() == 10 && r[4] == '-' && r[7] == '-') {
      int y = parse_int(r.substr(0, 4)), m = parse_int(r.substr(5, 2)), d = parse_int(r.substr(8));
      if (m >= 1 && m <= 12 && d >= 1 && d <= days_in(y, m)) ref_ = std::array<int, 3>{y, m, d};
    }
  }

  Extraction run() {
    const size_t n = t_.size();
    for (size_t k = 0; k < n;) {
      // No context reaches into the next sentence ("No." and "Ref." are not sentence ends).
      if ((t_[k].flags & kSentence) &&
          !(k > 0 && t_[k - 1].lex >= 0 && lx_.entries[t_[k - 1].lex].filler)) {
        until_.fill(0);
        date_until_ = 0;
      }
      if (t_[k].lex >= 0) {
        Match m = match_at(lx_, t_, k);
        const Entry& e = lx_.entries[m.entry];
        if (e.ctx != Ctx::none) {
          open(e.ctx, k + m.len - 1);
          k += m.len;
          continue;
        }
        if (e.filler && m.len == 1) {
          ++k;
          continue;
        }
      }
      // Every value holds a digit or is written in capitals, except month names in dates and
      // a lower-case owner code written apart ("msku 907032 3").
      size_t used = (t_[k].flags & (kHasDigit | kAllUpper)) || k < date_until_ || owner_code(k)
                        ? values(k)
                        : 0;
      if (used) {
        k += used;
        continue;
      }
      // A word that is neither a value nor a filler ends the contexts whose value must
      // follow closely ("booking for 2 x 40HC" is not a booking number).
      for (Ctx c : {Ctx::booking, Ctx::bl, Ctx::hs, Ctx::port, Ctx::imo}) until_[idx(c)] = 0;
      ++k;
    }
    return std::move(out_);
  }

 private:
  static size_t idx(Ctx c) { return static_cast<size_t>(c); }
  bool active(Ctx c, size_t k) const { return k < until_[idx(c)]; }

  void open(Ctx c, size_t last) {
    switch (c) {
      case Ctx::etd:
      case Ctx::eta:
      case Ctx::cutoff:
      case Ctx::pickup:
      case Ctx::delivery:
        date_kind_ = c;
        date_until_ = last + 1 + 8;
        break;
      case Ctx::awb:
        until_[idx(c)] = last + 1 + 6;
        break;
      default:
        until_[idx(c)] = last + 1 + 4;
    }
  }

  std::string_view tok(size_t k) const { return text_.substr(t_[k].b, t_[k].e - t_[k].b); }
  std::string_view gap(size_t k) const {
    return k + 1 < t_.size() ? text_.substr(t_[k].e, t_[k + 1].b - t_[k].e) : std::string_view();
  }
  std::string_view raw(size_t k, size_t used) const {
    return text_.substr(t_[k].b, t_[k + used - 1].e - t_[k].b);
  }
  size_t len(size_t k) const { return t_[k].e - t_[k].b; }
  bool all_digit(size_t k) const { return k < t_.size() && (t_[k].flags & kAllDigit); }
  // Tokens (from k) that start before byte `end`.
  size_t tokens_until(size_t k, size_t end) const {
    size_t j = k;
    while (j < t_.size() && t_[j].b < end) ++j;
    return j - k;
  }

  static void add(std::vector<std::string>& v, std::string s) {
    for (const auto& x : v)
      if (x == s) return;
    v.push_back(std::move(s));
  }
  void reject(std::string_view kind, std::string_view raw, std::string reason) {
    for (const auto& r : out_.rejected)
      if (r.kind == kind && r.raw == raw) return;
    out_.rejected.push_back(Rejected{std::string(kind), std::string(raw), std::move(reason)});
  }

  size_t values(size_t k) {
    const Token& tk = t_[k];
    const char c0 = text_[tk.b];
    const size_t l = len(k);
    if (size_t u = container(k)) return u;
    if (l == 10 || (l == 7 && active(Ctx::imo, k)))
      if (size_t u = imo(k)) return u;
    if (is_digit(c0))
      if (size_t u = awb(k)) return u;
    if (k < date_until_)
      if (size_t u = date(k)) return u;
    if (active(Ctx::hs, k) && (tk.flags & kAllDigit))
      if (size_t u = hs(k)) return u;
    if (l >= 4 && !(tk.flags & kNonAscii) && (is_upper(c0) || active(Ctx::bl, k)))
      if (size_t u = bl(k)) return u;
    if (active(Ctx::booking, k) && !(tk.flags & kNonAscii) && l >= 6 && l <= 35) {
      int digits = 0;
      for (char c : tok(k)) digits += is_digit(c);
      if (digits >= 4) {
        add(out_.entities.bookings, upper_str(tok(k)));
        return 1;
      }
    }
    if ((tk.flags & kAllUpper) && (l == 5 || l == 2))
      if (size_t u = port(k)) return u;
    if ((tk.flags & kAllUpper) && (l == 3 || l == 1))
      if (size_t u = incoterm(k)) return u;
    return 0;
  }

  bool owner_code(size_t k) const {
    if (len(k) != 4) return false;
    char c3 = static_cast<char>(text_[t_[k].b + 3] | 0x20);
    return c3 == 'u' || c3 == 'j' || c3 == 'z';
  }

  size_t container(size_t k) {
    const Token& tk = t_[k];
    if (!(tk.flags & kHasAlpha) || len(k) < 4) return 0;
    char c3 = upper(text_[tk.b + 3]);
    if (c3 != 'U' && c3 != 'J' && c3 != 'Z') return 0;
    auto sc = sv::scan_container_at(text_, tk.b);
    if (!sc) return 0;
    std::string_view r = text_.substr(tk.b, sc->end - tk.b);
    auto chk = sv::check_reference(sv::RefKind::container, sc->value);
    if (chk.value)
      add(out_.entities.containers, std::move(*chk.value));
    else
      reject("container", r, chk.problem);
    return tokens_until(k, sc->end);
  }

  // IMO ship number: "IMO 9074729" / "IMO9074729"; check digit from weights 7..2.
  size_t imo(size_t k) {
    std::string_view digits;
    size_t used = 1;
    std::string_view w = tok(k);
    if (w.size() == 10 && (w[0] | 0x20) == 'i' && (w[1] | 0x20) == 'm' && (w[2] | 0x20) == 'o' &&
        is_digit(w[3])) {
      digits = w.substr(3);
    } else if (active(Ctx::imo, k) && all_digit(k) && w.size() == 7) {
      digits = w;
    } else {
      return 0;
    }
    for (char c : digits)
      if (!is_digit(c)) return 0;
    int sum = 0;
    for (int i = 0; i < 6; ++i) sum += (digits[i] - '0') * (7 - i);
    int want = sum % 10;
    if (digits[6] - '0' == want)
      add(out_.entities.imos, std::string(digits));
    else
      reject("imo", raw(k, used),
             "wrong check digit in IMO number " + std::string(digits) +
                 ": the last digit should be " + std::to_string(want) + ", not " +
                 std::string(1, digits[6]));
    return used;
  }

  size_t awb(size_t k) {
    auto sc = sv::scan_awb_at(text_, t_[k].b);
    if (!sc) return 0;
    bool ctx = active(Ctx::awb, k);
    // A bare 11-digit run is an AWB only after AWB words.
    if (!sc->separated && !ctx) return 0;
    int prefix = parse_int(std::string_view(sc->value).substr(0, 3));
    bool known = tb_.airline[prefix];
    // An unknown prefix without AWB words is more likely a phone number: not an AWB at all.
    if (!known && !ctx) return 0;
    std::string_view r = text_.substr(t_[k].b, sc->end - t_[k].b);
    if (!known) {
      reject("awb", r,
             "airline prefix " + sc->value.substr(0, 3) +
                 " is not in the airline prefix table (data/analysis/airline_prefixes.tsv)");
    } else {
      auto chk = sv::check_reference(sv::RefKind::awb, sc->value);
      if (chk.value)
        add(out_.entities.awbs, chk.value->substr(0, 3) + "-" + chk.value->substr(3));
      else
        reject("awb", r, chk.problem);
    }
    return tokens_until(k, sc->end);
  }

  int year_token(size_t j, bool dash_form) const {
    if (!all_digit(j)) return -1;
    if (len(j) == 4) {
      int y = parse_int(tok(j));
      return y >= 1900 && y <= 2099 ? y : -1;
    }
    if (len(j) == 2 && dash_form) return 2000 + parse_int(tok(j));
    return -1;
  }
  // A day written "5", "05", "5th", "1st", "22nd", "3rd": the day number or -1.
  int day_token(size_t j) const {
    if (j >= t_.size() || (t_[j].flags & kNonAscii)) return -1;
    std::string_view w = tok(j);
    size_t nd = 0;
    while (nd < w.size() && is_digit(w[nd])) ++nd;
    if (nd == 0 || nd > 2) return -1;
    std::string_view suf = w.substr(nd);
    if (!suf.empty()) {
      std::string s = upper_str(suf);
      if (s != "ST" && s != "ND" && s != "RD" && s != "TH") return -1;
    }
    return parse_int(w.substr(0, nd));
  }

  size_t date(size_t k) {
    const size_t n = t_.size();
    int y = -1, m = 0, d = 0;
    size_t used = 0;
    auto gap_is = [&](size_t j, std::initializer_list<std::string_view> seps) {
      std::string_view g = gap(j);
      for (auto s : seps)
        if (g == s) return true;
      return false;
    };
    if (all_digit(k) && len(k) == 4 && k + 2 < n && gap_is(k, {"-", "/"}) && all_digit(k + 1) &&
        len(k + 1) <= 2 && gap(k + 1) == gap(k) && all_digit(k + 2) && len(k + 2) <= 2) {
      y = parse_int(tok(k));
      m = parse_int(tok(k + 1));
      d = parse_int(tok(k + 2));
      used = 3;
    } else if (all_digit(k) && len(k) <= 2 && k + 1 < n && gap_is(k, {"/", ".", "-"}) &&
               all_digit(k + 1) && len(k + 1) <= 2) {
      int p = parse_int(tok(k)), q = parse_int(tok(k + 1));
      if (k + 2 < n && gap(k + 1) == gap(k) && all_digit(k + 2) &&
          (len(k + 2) == 2 || len(k + 2) == 4)) {
        y = len(k + 2) == 4 ? parse_int(tok(k + 2)) : 2000 + parse_int(tok(k + 2));
        used = 3;
      } else if (gap(k) == "/") {
        used = 2;
      }
      if (used) {
        d = opt_.month_first ? q : p;
        m = opt_.month_first ? p : q;
      }
    } else if (int day = day_token(k);
               day >= 0 && k + 1 < n && gap_is(k, {" ", "-", "-"}) && month_of(tok(k + 1))) {
      d = day;
      m = month_of(tok(k + 1));
      used = 2;
      bool dash = gap(k) == "-";
      if (k + 2 < n && (dash ? gap(k + 1) == "-" : gap_is(k + 1, {" ", ", ", ". ", ","}))) {
        int yy = year_token(k + 2, dash);
        if (yy > 0) y = yy, used = 3;
      }
    } else if (int mo = month_of(tok(k)); mo && k + 1 < n && gap_is(k, {" ", ". ", "-"})) {
      int day = day_token(k + 1);
      if (day < 0) return 0;
      m = mo;
      d = day;
      used = 2;
      if (k + 2 < n && gap_is(k + 1, {" ", ", ", ","})) {
        int yy = year_token(k + 2, false);
        if (yy > 0) y = yy, used = 3;
      }
    }
    if (!used) return 0;
    std::string_view r = raw(k, used);
    date_until_ = 0;
    if (m < 1 || m > 12) {
      reject("date", r, "month " + std::to_string(m) + " is not between 1 and 12");
      return used;
    }
    if (y < 0) {
      if (!ref_) {
        reject("date", r, "no year written and no reference date to take it from");
        return used;
      }
      // The year that puts the date nearest the reference date (an ETA of "5 Jan" written
      // in December is next year's).
      auto [ry, rm, rd] = *ref_;
      long refd = days_from_civil(ry, rm, rd);
      y = ry;
      int dd = std::min(d, days_in(y, m));
      long diff = days_from_civil(y, m, dd) - refd;
      if (diff < -183)
        ++y;
      else if (diff > 183)
        --y;
    }
    if (d < 1 || d > days_in(y, m)) {
      reject("date", r,
             "day " + std::to_string(d) + " does not exist in " + std::string(kMonthNames[m - 1]) +
                 " " + std::to_string(y));
      return used;
    }
    DateRef dr{std::string(kind_name(date_kind_)), std::to_string(y) + "-" + two(m) + "-" + two(d),
               std::string(r)};
    for (const auto& x : out_.entities.dates)
      if (x.kind == dr.kind && x.date == dr.date) return used;
    out_.entities.dates.push_back(std::move(dr));
    return used;
  }

  static std::string_view kind_name(Ctx c) {
    switch (c) {
      case Ctx::etd:
        return "etd";
      case Ctx::eta:
        return "eta";
      case Ctx::cutoff:
        return "cutoff";
      case Ctx::pickup:
        return "pickup";
      default:
        return "delivery";
    }
  }

  // HS code after HS words: 4/6/8/10 digits, or dotted "8471.30" / "8471.30.01" / "8471.30.0100".
  size_t hs(size_t k) {
    std::string digits(tok(k));
    size_t used = 1;
    bool dotted = false;
    if (len(k) == 4) {
      while (k + used < t_.size() && gap(k + used - 1) == "." && all_digit(k + used) &&
             (len(k + used) == 2 || len(k + used) == 4) && digits.size() < 10) {
        digits += tok(k + used);
        ++used;
        dotted = true;
      }
    }
    // An undotted 4-digit number in 1990–2039 after "tariff" or "HS" is far more often a year.
    if (!dotted && digits.size() == 4) {
      int v = parse_int(digits);
      if (v >= 1990 && v <= 2039) return 0;
    }
    until_[idx(Ctx::hs)] = k + used + 3;  // "HS 8471.30, 8473.30": a list continues
    std::string_view r = raw(k, used);
    size_t nd = digits.size();
    if (nd != 4 && nd != 6 && nd != 8 && nd != 10) {
      reject("hs_code", r, "an HS code has 4, 6, 8 or 10 digits, not " + std::to_string(nd));
      return used;
    }
    int chapter = parse_int(digits.substr(0, 2));
    if (chapter < 1 || chapter > 97) {
      reject("hs_code", r, "chapter " + digits.substr(0, 2) + " is not an HS chapter (01 to 97)");
      return used;
    }
    if (chapter == 77) {
      reject("hs_code", r, "chapter 77 is reserved and unused in the HS");
      return used;
    }
    add(out_.entities.hs_codes, std::move(digits));
    return used;
  }

  size_t bl(size_t k) {
    std::string_view w = tok(k);
    for (size_t i = 0; i < 4; ++i)
      if (!is_upper(w[i])) return blctx(k);
    const BlPrefix* p = tb_.bl_prefix(w.substr(0, 4));
    if (!p) return blctx(k);
    if (w.size() > 4) {
      std::string body = upper_str(w.substr(4));
      if (match_pattern(p->body, body)) {
        add(out_.entities.bls, std::string(w.substr(0, 4)) + body);
        return 1;
      }
      return blctx(k);
    }
    // "MAEU 123456789": prefix and body as two words.
    if (k + 1 < t_.size() && (gap(k) == " " || gap(k) == "-") && !(t_[k + 1].flags & kNonAscii) &&
        (t_[k + 1].flags & kHasDigit)) {
      std::string body = upper_str(tok(k + 1));
      if (match_pattern(p->body, body) || active(Ctx::bl, k)) {
        add(out_.entities.bls, std::string(w) + body);
        until_[idx(Ctx::bl)] = until_[idx(Ctx::bl)] ? k + 2 + 2 : 0;
        return 2;
      }
    }
    return 0;
  }
  // Any number after B/L words: at least one digit, 6–35 letters and digits.
  size_t blctx(size_t k) {
    if (!active(Ctx::bl, k) || !(t_[k].flags & kHasDigit) || len(k) < 6 || len(k) > 35) return 0;
    add(out_.entities.bls, upper_str(tok(k)));
    until_[idx(Ctx::bl)] = k + 1 + 2;  // "B/L nos: X, Y"
    return 1;
  }

  bool locode_shape(std::string_view c) const {
    if (c.size() != 5 || !is_upper(c[0]) || !is_upper(c[1])) return false;
    for (size_t i = 2; i < 5; ++i)
      if (!is_upper(c[i]) && !(c[i] >= '2' && c[i] <= '9')) return false;
    return true;
  }

  size_t port(size_t k) {
    std::string code;
    size_t used = 1;
    if (len(k) == 5) {
      code = std::string(tok(k));
    } else if (k + 1 < t_.size() && gap(k) == " " && len(k + 1) == 3 &&
               (t_[k + 1].flags & kAllUpper) && !(t_[k].flags & kHasDigit)) {
      code = std::string(tok(k)) + std::string(tok(k + 1));  // "IN NSA"
      used = 2;
    } else {
      return 0;
    }
    if (!locode_shape(code)) return 0;
    if (tb_.is_listed_port(code)) {
      add(out_.entities.ports, std::move(code));
      return used;
    }
    if (!active(Ctx::port, k) || !tb_.is_country(code[0], code[1])) return 0;
    // "POD: JEBEL ALI" is a name in capitals, not a code: the next word continues it.
    size_t nx = k + used;
    if (nx < t_.size() && gap(nx - 1) == " " && (t_[nx].flags & kAllUpper) &&
        !(t_[nx].flags & kHasDigit))
      return 0;
    add(out_.entities.ports, std::move(code));
    return used;
  }

  size_t incoterm(size_t k) {
    std::string_view w = tok(k);
    if (w.size() == 1) {  // "C&F"
      if (w == "C" && k + 1 < t_.size() && gap(k) == "&" && tok(k + 1) == "F") {
        add(out_.entities.incoterms, "CFR");
        return 2;
      }
      return 0;
    }
    for (std::string_view term : kIncoterms)
      if (w == term) {
        add(out_.entities.incoterms, std::string(w == "CNF" ? "CFR" : w));
        return 1;
      }
    return 0;
  }

  std::string_view text_;
  const std::vector<Token>& t_;
  const ExtractOptions& opt_;
  const Tables& tb_;
  const Lexicon& lx_;
  std::optional<std::array<int, 3>> ref_;
  std::array<size_t, kCtxCount> until_{};
  Ctx date_kind_ = Ctx::none;
  size_t date_until_ = 0;
  Extraction out_;
};

}  // namespace

Extraction extract_tokens(std::string_view text, const Tokens& toks, const ExtractOptions& opt) {
  return Extractor(text, toks.toks, opt).run();
}

std::string_view analyzed_prefix(std::string_view text) {
  if (text.size() <= kMaxAnalyzedBytes) return text;
  size_t n = kMaxAnalyzedBytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // whole characters
  return text.substr(0, n);
}

Extraction extract(std::string_view text, const ExtractOptions& opt) {
  text = analyzed_prefix(text);
  Tokens toks;
  tokenize(text, toks);
  return extract_tokens(text, toks, opt);
}

}  // namespace banxway::analysis
