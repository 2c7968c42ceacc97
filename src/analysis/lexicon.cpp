#include "analysis/lexicon.hpp"

#include <algorithm>
#include <stdexcept>

#include "analysis/data.hpp"

namespace banxway::analysis {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

uint32_t hash_of(std::string_view w) { return Lexicon::hash(w.data(), w.size()); }

void insert_slot(Lexicon& lx, int32_t id) {
  size_t mask = lx.slots.size() - 1;
  size_t i = hash_of(lx.entries[id].key) & mask;
  while (lx.slots[i] >= 0) i = (i + 1) & mask;
  lx.slots[i] = id;
}

int32_t word_id(Lexicon& lx, std::string_view w) {
  int32_t id = lx.find(w);
  if (id >= 0) return id;
  lx.entries.push_back(Entry{});
  lx.entries.back().key = std::string(w);
  id = static_cast<int32_t>(lx.entries.size() - 1);
  insert_slot(lx, id);
  return id;
}

void apply_role(Lexicon& lx, Entry& e, std::string_view role) {
  auto fail = [&]() {
    throw std::logic_error("lexicon.tsv: bad role '" + std::string(role) + "' for '" + e.key + "'");
  };
  size_t eq = role.find('=');
  std::string_view name = role.substr(0, eq);
  std::string_view val = eq == std::string_view::npos ? std::string_view() : role.substr(eq + 1);
  auto num = [&]() { return static_cast<int8_t>(std::stoi(std::string(val))); };
  if (name.starts_with("intent.")) {
    auto it = std::find(kIntents.begin(), kIntents.end(), name.substr(7));
    if (it == kIntents.end() || val.empty()) fail();
    e.intent[it - kIntents.begin()] += num();
    e.has_intent = true;
  } else if (name == "sent") {
    e.sent = num();
  } else if (name == "urg") {
    e.urg = num();
  } else if (name == "neg") {
    e.neg = true;
  } else if (name == "intens") {
    e.intens = true;
  } else if (name == "ask") {
    e.ask = true;
  } else if (name == "ask_after") {
    e.ask_after = true;
  } else if (name == "attach") {
    e.attach = true;
  } else if (name == "filler") {
    e.filler = true;
  } else if (name == "doc") {
    auto it = std::find(lx.docs.begin(), lx.docs.end(), val);
    if (it == lx.docs.end()) it = lx.docs.insert(lx.docs.end(), std::string(val));
    e.doc = static_cast<int16_t>(it - lx.docs.begin());
  } else if (name == "ctx") {
    static constexpr std::string_view names[] = {"",       "booking", "bl",       "awb",
                                                 "hs",     "port",    "etd",      "eta",
                                                 "cutoff", "pickup",  "delivery", "imo"};
    auto it = std::find(std::begin(names) + 1, std::end(names), val);
    if (it == std::end(names)) fail();
    e.ctx = static_cast<Ctx>(it - std::begin(names));
  } else if (name == "lang") {
    auto it = std::find(kStopLangs.begin(), kStopLangs.end(), val);
    if (it == kStopLangs.end()) fail();
    e.lang |= static_cast<uint16_t>(1u << (it - kStopLangs.begin()));
  } else {
    fail();
  }
}

Lexicon build() {
  Lexicon lx;
  lx.slots.assign(4096, -1);
  std::string_view text = data_file("lexicon.tsv");
  for_each_tsv_row(text, [&](const std::vector<std::string_view>& f) {
    std::string_view phrase = f[0];
    std::vector<int32_t> ids;
    size_t p = 0;
    while (p <= phrase.size()) {
      size_t sp = phrase.find(' ', p);
      if (sp == std::string_view::npos) sp = phrase.size();
      ids.push_back(word_id(lx, phrase.substr(p, sp - p)));
      p = sp + 1;
    }
    int32_t target = ids[0];
    if (ids.size() > 1) {
      target = lx.find(phrase);  // phrases are stored under their full key too
      if (target < 0) {
        lx.entries.push_back(Entry{});
        lx.entries.back().key = std::string(phrase);
        target = static_cast<int32_t>(lx.entries.size() - 1);
        insert_slot(lx, target);
        lx.entries[ids[0]].phrases.push_back(
            Entry::Phrase{std::vector<int32_t>(ids.begin() + 1, ids.end()), target});
      }
    }
    for (size_t i = 1; i < f.size(); ++i)
      if (!f[i].empty()) apply_role(lx, lx.entries[target], f[i]);
  });
  if (lx.entries.size() * 2 > lx.slots.size())
    throw std::logic_error("lexicon.tsv: too many entries for the hash table");
  for (Entry& e : lx.entries)
    std::stable_sort(e.phrases.begin(), e.phrases.end(),
                     [](const Entry::Phrase& a, const Entry::Phrase& b) {
                       return a.rest.size() > b.rest.size();
                     });
  return lx;
}

// Byte classes for the tokenizer: 0 for separators, else one bit per kind of word byte.
constexpr uint8_t kBitDigit = 1, kBitUpper = 2, kBitLower = 4, kBitHigh = 8;
constexpr std::array<uint8_t, 256> kBits = [] {
  std::array<uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = kBitDigit;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kBitUpper;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kBitLower;
  for (int c = 0x80; c < 256; ++c) t[c] = kBitHigh;
  return t;
}();

// Length of a UTF-8 punctuation/space sequence at i (0 when none): U+0080–U+00BF except the
// few letters there (none), U+2000–U+206F (general punctuation), U+3000–U+303F (CJK
// punctuation), U+FF01–U+FF0F (full-width punctuation).
size_t utf8_punct(std::string_view t, size_t i) {
  auto at = [&](size_t k) { return k < t.size() ? static_cast<unsigned char>(t[k]) : 0; };
  unsigned char c = at(i), d = at(i + 1);
  if (c == 0xC2 && d >= 0x80 && d <= 0xBF) return 2;
  if (c == 0xE2 && (d == 0x80 || d == 0x81)) return 3;
  if (c == 0xE3 && d == 0x80) return 3;
  if (c == 0xEF && d == 0xBC && at(i + 2) >= 0x81 && at(i + 2) <= 0x8F) return 3;
  return 0;
}

}  // namespace

int32_t Lexicon::find(const char* w, size_t n, uint32_t h) const {
  size_t mask = slots.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    int32_t id = slots[i];
    if (id < 0) return -1;
    const std::string& k = entries[id].key;
    if (k.size() != n) continue;
    size_t j = 0;
    while (j < n && lower(w[j]) == k[j]) ++j;
    if (j == n) return id;
  }
}

int32_t Lexicon::find(std::string_view w) const { return find(w.data(), w.size(), hash_of(w)); }

const Lexicon& lexicon() {
  static const Lexicon lx = build();
  return lx;
}

void tokenize(std::string_view text, Tokens& out) {
  const Lexicon& lx = lexicon();
  out.toks.clear();
  out.toks.reserve(text.size() / 5 + 8);
  out.exclamations = 0;
  const size_t n = text.size();
  const char* p = text.data();
  size_t i = 0;
  bool sentence = true;
  bool quoted = n > 0 && p[0] == '>';
  int newlines = 0;
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    uint8_t bits = kBits[c];
    if (!bits || (bits == kBitHigh && utf8_punct(text, i))) {
      if (bits) {
        i += utf8_punct(text, i);
        continue;
      }
      if (c == ' ') {
      } else if (c == '\n') {
        if (++newlines >= 2) sentence = true;
        quoted = i + 1 < n && p[i + 1] == '>';
      } else if (c == '!') {
        if (!quoted) ++out.exclamations;
        sentence = true;
      } else if (c == '?') {
        sentence = true;
      } else if (c == '.' &&
                 (i + 1 >= n || p[i + 1] == ' ' || p[i + 1] == '\n' || p[i + 1] == '\r')) {
        sentence = true;
      }
      if (c != '\n' && c != '\r' && c != ' ' && c != '\t') newlines = 0;
      ++i;
      continue;
    }
    newlines = 0;
    Token t;
    t.b = static_cast<uint32_t>(i);
    uint8_t acc = 0;
    while (i < n) {
      bits = kBits[static_cast<unsigned char>(p[i])];
      if (!bits || (bits == kBitHigh && utf8_punct(text, i))) break;
      acc |= bits;
      ++i;
    }
    t.e = static_cast<uint32_t>(i);
    uint16_t f = 0;
    if (acc & kBitDigit) f |= kHasDigit;
    if (acc & (kBitUpper | kBitLower)) f |= kHasAlpha;
    if (acc == kBitDigit) f |= kAllDigit;
    if ((acc & kBitUpper) && !(acc & kBitLower)) f |= kAllUpper;
    if (acc & kBitHigh) f |= kNonAscii;
    if (sentence) f |= kSentence;
    if (quoted) f |= kQuoted;
    sentence = false;
    t.flags = f;
    size_t len = t.e - t.b;
    if (acc != kBitDigit && len <= 24) t.lex = lx.find(p + t.b, len, Lexicon::hash(p + t.b, len));
    out.toks.push_back(t);
  }
}

Match match_at(const Lexicon& lx, const std::vector<Token>& toks, size_t k) {
  int32_t id = toks[k].lex;
  if (id < 0) return {-1, 1};
  for (const Entry::Phrase& p : lx.entries[id].phrases) {
    if (k + p.rest.size() >= toks.size()) continue;
    bool ok = true;
    for (size_t j = 0; j < p.rest.size() && ok; ++j) ok = toks[k + 1 + j].lex == p.rest[j];
    if (ok) return {p.entry, p.rest.size() + 1};
  }
  return {id, 1};
}

}  // namespace banxway::analysis
