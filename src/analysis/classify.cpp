#include "analysis/classify.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "analysis/extract.hpp"
#include "analysis/lexicon.hpp"

namespace banxway::analysis {
namespace {

constexpr size_t kIntentDocRequest = 4, kIntentDocSubmission = 3, kIntentOther = 10;
constexpr size_t kLangSampleTokens = 400;  // language needs only the start of the text

// Scripts whose letters name a language outright (by the share of the text's letters).
struct Script {
  uint32_t lo, hi;
  const char* lang;
};
constexpr Script kScripts[] = {
    {0x0900, 0x097F, "hi"}, {0x4E00, 0x9FFF, "zh"}, {0x3040, 0x30FF, "ja"}, {0xAC00, 0xD7AF, "ko"},
    {0x0600, 0x06FF, "ar"}, {0x0400, 0x04FF, "ru"}, {0x0E00, 0x0E7F, "th"}, {0x0370, 0x03FF, "el"},
    {0x0590, 0x05FF, "he"}, {0x0B80, 0x0BFF, "ta"}, {0x0980, 0x09FF, "bn"}};
constexpr size_t kScriptCount = std::size(kScripts);

struct Scores {
  std::array<double, kIntentCount> intent{};
  double sent = 0, urg = 0;
  std::array<int, kStopLangs.size()> lang{};
  std::array<int, kScriptCount> script{};
  int latin_letters = 0;
  int shouting = 0;  // words of 4+ letters in capitals
  int tokens_seen = 0;
  std::vector<int16_t> requested, submitted;
};

void add_doc(std::vector<int16_t>& v, int16_t d) {
  if (std::find(v.begin(), v.end(), d) == v.end()) v.push_back(d);
}

// Counts letters of the scripts above in a non-ASCII token.
void count_scripts(std::string_view w, Scores& s) {
  for (size_t i = 0; i < w.size();) {
    unsigned char c = static_cast<unsigned char>(w[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80)
      cp = c, n = 1;
    else if ((c >> 5) == 6)
      cp = c & 0x1F, n = 2;
    else if ((c >> 4) == 14)
      cp = c & 0x0F, n = 3;
    else if ((c >> 3) == 30)
      cp = c & 0x07, n = 4;
    else {
      ++i;
      continue;
    }
    if (i + n > w.size()) break;
    for (size_t j = 1; j < n; ++j) cp = (cp << 6) | (static_cast<unsigned char>(w[i + j]) & 0x3F);
    i += n;
    if (cp < 0x80) {
      if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') ++s.latin_letters;
      continue;
    }
    if (cp < 0x250) {  // Latin-1 supplement / Latin extended letters
      ++s.latin_letters;
      continue;
    }
    for (size_t k = 0; k < kScriptCount; ++k)
      if (cp >= kScripts[k].lo && cp <= kScripts[k].hi) {
        ++s.script[k];
        break;
      }
  }
}

void score(std::string_view text, const Tokens& tk, size_t from, size_t n, double weight,
           Scores& s) {
  const Lexicon& lx = lexicon();
  const auto& t = tk.toks;
  // Negation reaches the next 3 words; request/submission cues reach 8 words forward within
  // the sentence.
  size_t neg_until = 0, intens_until = 0;
  long ask_at = -100, attach_at = -100;
  for (size_t k = from; k < n;) {
    const Token& tok = t[k];
    if (tok.flags & kSentence) {  // cues and negation stay inside their sentence
      ask_at = attach_at = -100;
      neg_until = intens_until = 0;
    }
    if (s.tokens_seen < static_cast<int>(kLangSampleTokens)) {
      ++s.tokens_seen;
      if (tok.flags & kNonAscii)
        count_scripts(text.substr(tok.b, tok.e - tok.b), s);
      else if (tok.flags & kHasAlpha)
        s.latin_letters += static_cast<int>(tok.e - tok.b);
      if (tok.lex >= 0) {
        uint16_t lang = lx.entries[tok.lex].lang;
        for (size_t l = 0; l < kStopLangs.size(); ++l)
          if (lang & (1u << l)) ++s.lang[l];
      }
    }
    // Quoted history ("> ...") is someone's earlier message: it names the language but not
    // this message's intent, mood or urgency.
    if (tok.flags & kQuoted) {
      ++k;
      continue;
    }
    if ((tok.flags & kAllUpper) && !(tok.flags & kHasDigit) && tok.e - tok.b >= 4) ++s.shouting;
    if (tok.lex < 0) {
      ++k;
      continue;
    }
    Match m = match_at(lx, t, k);
    if (k + m.len > n) m = Match{tok.lex, 1};  // a phrase does not run from subject into text
    const Entry& e = lx.entries[m.entry];
    bool negated = k <= neg_until && neg_until != 0;
    double boost = k <= intens_until && intens_until != 0 ? 1.5 : 1.0;
    if (e.has_intent)
      for (size_t i = 0; i < kIntentCount; ++i) s.intent[i] += e.intent[i] * weight;
    if (e.sent) s.sent += (negated ? -e.sent : e.sent) * boost * weight;
    if (e.urg) s.urg += (negated ? -e.urg : e.urg) * weight;
    if (e.neg) neg_until = k + m.len - 1 + 3;
    if (e.intens) intens_until = k + m.len - 1 + 2;
    if (e.ask) ask_at = static_cast<long>(k);
    if (e.attach) attach_at = static_cast<long>(k);
    if (e.doc >= 0) {
      long kk = static_cast<long>(k);
      bool ask = kk - ask_at <= 8, attach = kk - attach_at <= 8;
      if (ask && (!attach || ask_at > attach_at)) {
        add_doc(s.requested, e.doc);
      } else if (attach) {
        add_doc(s.submitted, e.doc);
      } else {
        // "... the packing list is still missing": a request cue after the name.
        for (size_t j = k + m.len; j < n && j < k + m.len + 4; ++j) {
          if (t[j].flags & kSentence) break;
          if (t[j].lex >= 0 && lx.entries[t[j].lex].ask_after) {
            add_doc(s.requested, e.doc);
            break;
          }
        }
      }
    }
    k += m.len;
  }
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

}  // namespace

Classification classify_tokens(std::string_view joined, const Tokens& toks, size_t body_token) {
  Scores s;
  score(joined, toks, 0, body_token, 2.0, s);
  score(joined, toks, body_token, toks.toks.size(), 1.0, s);
  s.urg += std::min(toks.exclamations, 3) * 0.5;
  const Lexicon& lx = lexicon();
  Classification c;

  // Intent: the highest rule score; asking for / sending documents counts 3 per document.
  s.intent[kIntentDocRequest] += 3.0 * static_cast<double>(s.requested.size());
  s.intent[kIntentDocSubmission] += 3.0 * static_cast<double>(s.submitted.size());
  size_t best = kIntentOther;
  double top = 0, total = 0;
  for (size_t i = 0; i < kIntentCount; ++i) {
    if (s.intent[i] > 0) total += s.intent[i];
    if (s.intent[i] > top) top = s.intent[i], best = i;
  }
  if (top < 2.0) {
    c.intent = "other";
    c.intent_confidence = top == 0 ? 0.5 : 0.3;
  } else {
    c.intent = std::string(kIntents[best]);
    c.intent_confidence = round2(std::min(1.0, top / (total + 2.0)));
  }

  // Sentiment: weighted word sum squashed into (-1, 1).
  double sc = s.sent / (std::fabs(s.sent) + 4.0);
  c.sentiment_score = round2(sc);
  c.sentiment = sc <= -0.25 ? "negative" : sc >= 0.25 ? "positive" : "neutral";

  // Urgency: urgency words, exclamation marks, and shouting (3+ words in capitals).
  double u = s.urg + (s.shouting >= 3 ? 1.0 : 0.0);
  c.urgency = u >= 3.0 ? "high" : u < 0 ? "low" : "normal";

  // Language: a non-Latin script holding at least a third of the letters names it; else the
  // stop-word list with the most hits (at least 2, and more than any other list).
  size_t best_script = kScriptCount;
  int script_letters = 0;
  for (size_t k = 0; k < kScriptCount; ++k)
    if (s.script[k] > script_letters) script_letters = s.script[k], best_script = k;
  if (best_script < kScriptCount && script_letters * 3 >= script_letters + s.latin_letters) {
    c.language = kScripts[best_script].lang;
  } else {
    size_t bl = kStopLangs.size();
    int first = 0, second = 0;
    for (size_t l = 0; l < kStopLangs.size(); ++l) {
      if (s.lang[l] > first)
        second = first, first = s.lang[l], bl = l;
      else if (s.lang[l] > second)
        second = s.lang[l];
    }
    c.language = first >= 2 && first > second ? std::string(kStopLangs[bl]) : "und";
  }

  for (int16_t d : s.requested) c.requested_documents.push_back(lx.docs[d]);
  for (int16_t d : s.submitted)
    if (std::find(s.requested.begin(), s.requested.end(), d) == s.requested.end())
      c.submitted_documents.push_back(lx.docs[d]);
  return c;
}

std::string joined_message(std::string_view subject, std::string_view text) {
  subject = analyzed_prefix(subject);
  text = analyzed_prefix(text);
  std::string j;
  j.reserve(subject.size() + 2 + text.size());
  j.append(subject).append("\n\n").append(text);
  return j;
}

size_t first_body_token(const Tokens& toks, size_t subject_bytes) {
  size_t k = 0;
  while (k < toks.toks.size() && toks.toks[k].b < subject_bytes) ++k;
  return k;
}

Classification classify(std::string_view subject, std::string_view text) {
  std::string j = joined_message(subject, text);
  Tokens toks;
  tokenize(j, toks);
  return classify_tokens(j, toks, first_body_token(toks, analyzed_prefix(subject).size()));
}

}  // namespace banxway::analysis
