// The word/phrase table of the rule-based analysis (data/analysis/lexicon.tsv) and the
// tokenizer both extraction and classification run on. One pass over the bytes makes the
// tokens; each word is looked up once in an open-addressing hash table (no allocation).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace banxway::analysis {

inline constexpr std::array<std::string_view, 11> kIntents = {
    "rate_request",     "booking",   "status_inquiry", "document_submission",
    "document_request", "complaint", "invoice_query",  "customs",
    "pickup",           "delivery",  "other"};
inline constexpr size_t kIntentCount = kIntents.size();

/// Languages of the stop-word lists (bit i of Entry::lang).
inline constexpr std::array<std::string_view, 7> kStopLangs = {"en", "de", "fr", "es",
                                                               "it", "pt", "nl"};

/// Extraction contexts a word or phrase opens.
enum class Ctx : uint8_t {
  none,
  booking,
  bl,
  awb,
  hs,
  port,
  etd,
  eta,
  cutoff,
  pickup,
  delivery,
  imo,
  count_
};

struct Entry {
  std::string key;  // lower-case words joined by one space
  std::array<int8_t, kIntentCount> intent{};
  bool has_intent = false;
  int8_t sent = 0, urg = 0;
  bool neg = false, intens = false, ask = false, ask_after = false, attach = false, filler = false;
  int16_t doc = -1;  // index into Lexicon::docs
  Ctx ctx = Ctx::none;
  uint16_t lang = 0;
  // Phrases starting with this word: the ids of their other words, and the phrase entry.
  struct Phrase {
    std::vector<int32_t> rest;
    int32_t entry;
  };
  std::vector<Phrase> phrases;  // longest first
};

class Lexicon {
 public:
  std::vector<Entry> entries;
  std::vector<std::string> docs;  // canonical document names

  /// The id of the word or phrase `w` (any ASCII case) whose hash(w) is h, or -1.
  int32_t find(const char* w, size_t n, uint32_t h) const;
  int32_t find(std::string_view w) const;

  /// A case-insensitive hash of the first and last bytes (up to 8 each) and the length (every
  /// byte ORed with 0x20, which lower-cases ASCII letters and keeps digits); cheap per word.
  static uint32_t hash(const char* w, size_t n) {
    uint64_t a = 0, b = 0;
    if (n >= 8) {
      std::memcpy(&a, w, 8);
      std::memcpy(&b, w + n - 8, 8);
    } else if (n >= 4) {  // two overlapping 4-byte loads (no byte loop, no store stall)
      uint32_t lo, hi;
      std::memcpy(&lo, w, 4);
      std::memcpy(&hi, w + n - 4, 4);
      a = lo | (static_cast<uint64_t>(hi) << 32);
    } else if (n > 0) {
      a = static_cast<unsigned char>(w[0]) |
          (static_cast<uint64_t>(static_cast<unsigned char>(w[n / 2])) << 8) |
          (static_cast<uint64_t>(static_cast<unsigned char>(w[n - 1])) << 16);
    }
    constexpr uint64_t kLower = 0x2020202020202020ull;
    uint64_t h = (a | kLower) * 0x9E3779B97F4A7C15ull;
    h ^= ((b | kLower) + n) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    return static_cast<uint32_t>(h ^ (h >> 32));
  }

  std::vector<int32_t> slots;  // open addressing, power-of-two size; -1 empty
};
const Lexicon& lexicon();

struct Token {
  uint32_t b = 0, e = 0;  // byte range in the text
  int32_t lex = -1;       // single-word lexicon id
  uint16_t flags = 0;
};
enum TokenFlag : uint16_t {
  kHasDigit = 1,
  kHasAlpha = 2,  // an ASCII letter
  kAllDigit = 4,
  kAllUpper = 8,   // every ASCII letter upper case (and at least one letter)
  kNonAscii = 16,  // holds bytes >= 0x80
  kSentence = 32,  // a sentence break (. ! ? followed by space, or a blank line) precedes it
  kQuoted = 64,    // on a line starting with '>' (quoted history of an email)
};

struct Tokens {
  std::vector<Token> toks;
  int exclamations = 0;
};
/// Splits text into words: runs of ASCII letters/digits and non-ASCII characters (UTF-8
/// punctuation such as U+00A0, U+2000–U+206F and U+3000–U+303F separates words).
void tokenize(std::string_view text, Tokens& out);

/// The longest phrase (or the word itself) at toks[k]: its entry id (or -1) and how many
/// tokens it covers (>= 1).
struct Match {
  int32_t entry;
  size_t len;
};
Match match_at(const Lexicon& lx, const std::vector<Token>& toks, size_t k);

}  // namespace banxway::analysis
