// Reply / history / signature separation on plain text lines.
//
// Two kinds of history markers:
//  * hard cuts — Outlook-style history is not '>'-prefixed, so everything after an
//    "-----Original Message-----" line, a "From: / Sent: / To:" header block, a long "____"
//    separator or a forwarded-message marker is history;
//  * attribution lines ("On ... wrote:") — if only quoted lines follow (top-posting), history
//    starts there; if the sender's own lines follow (inline or bottom-posting), only the
//    attribution and the '>' lines are removed, so interleaved answers survive.
// '>' lines are never new text. The signature is what follows a "-- " line (RFC 3676) or a
// mobile footer near the end of what is left.
#include "channels/email/quote.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

namespace banxway::email {
namespace {

constexpr size_t kMaxAttributionBytes = 400;
constexpr size_t kMaxSignatureLines = 40;  // a "-- " with more after it is not a signature

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower_ascii(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = lower(c);
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool blank(std::string_view s) { return trim(s).empty(); }

// One input line with what every test needs computed once (the scan runs several tests per
// line, and a 2 MB text has a lot of lines).
struct Line {
  std::string_view raw;
  std::string_view trimmed;
  std::string_view low;    // trimmed, ASCII lower-case; only the head of a long line; empty
                           // for a quoted line
  std::string_view label;  // `low` without '*' (bold markers around "*From:*")
  bool blank = false, quoted = false, long_line = false;
};

constexpr size_t kShortLine = 512;  // longer lines are never markers, attributions or labels
constexpr size_t kLabelBytes = 64;

// The lines of a text. Their `low` and `label` views point into `text_`, one buffer sized
// up front for all of them (two small strings per line were most of this step's cost).
class Lines {
 public:
  explicit Lines(std::string_view text) {
    const size_t count = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    buf_ = std::make_unique<char[]>(text.size() + kLabelBytes * count);
    char* out = buf_.get();
    lines_.reserve(count);
    for (size_t pos = 0; pos <= text.size();) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      Line l;
      l.raw = text.substr(pos, nl - pos);
      l.trimmed = trim(l.raw);
      l.blank = l.trimmed.empty();
      size_t i = 0;
      while (i < l.raw.size() && i < 3 && l.raw[i] == ' ') ++i;
      l.quoted = i < l.raw.size() && l.raw[i] == '>';
      l.long_line = l.trimmed.size() > kShortLine;
      // A quoted line is never a marker, a label or part of an attribution, and those are all
      // `low` and `label` are read for: they stay empty (half of a reply's lines, often).
      const std::string_view head =
          l.quoted ? std::string_view()
                   : l.trimmed.substr(0, l.long_line ? kLabelBytes : kShortLine);
      char* low = out;
      for (char c : head) *out++ = lower(c);
      l.low = std::string_view(low, head.size());
      char* label = out;
      for (char c : l.low.substr(0, kLabelBytes))
        if (c != '*') *out++ = c;
      l.label = std::string_view(label, static_cast<size_t>(out - label));
      lines_.push_back(l);
      pos = nl + 1;
    }
  }
  const std::vector<Line>& lines() const { return lines_; }

 private:
  std::unique_ptr<char[]> buf_;  // never reallocated: the views stay valid
  std::vector<Line> lines_;
};

bool ends_with_any(std::string_view s, std::initializer_list<std::string_view> tails) {
  return std::any_of(tails.begin(), tails.end(), [&](auto t) { return s.ends_with(t); });
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> heads) {
  return std::any_of(heads.begin(), heads.end(), [&](auto h) { return s.starts_with(h); });
}

// "-----Original Message-----", "---------- Forwarded message ---------", "Begin forwarded
// message:" and their common translations.
bool separator_line(const Line& line) {
  if (line.long_line || line.blank) return false;
  std::string_view l = line.low;
  const bool dashed = l.starts_with("--") || l.starts_with("- -");
  while (!l.empty() && (l.front() == '-' || l.front() == ' ')) l.remove_prefix(1);
  while (!l.empty() && (l.back() == '-' || l.back() == ' ')) l.remove_suffix(1);
  static const std::array<std::string_view, 20> kDashed = {"original message",
                                                           "ursprüngliche nachricht",
                                                           "message d'origine",
                                                           "mensaje original",
                                                           "messaggio originale",
                                                           "oorspronkelijk bericht",
                                                           "originalmeddelande",
                                                           "mensagem original",
                                                           "original meddelelse",
                                                           "原始邮件",
                                                           "原始郵件",
                                                           "forwarded message",
                                                           "weitergeleitete nachricht",
                                                           "message transféré",
                                                           "mensaje reenviado",
                                                           "mensagem encaminhada",
                                                           "messaggio inoltrato",
                                                           "doorgestuurd bericht",
                                                           "转发的邮件",
                                                           "original-nachricht"};
  if (dashed && std::find(kDashed.begin(), kDashed.end(), l) != kDashed.end()) return true;
  static const std::array<std::string_view, 4> kPlain = {
      "begin forwarded message:", "anfang der weitergeleiteten nachricht:",
      "début du message réexpédié :", "début du message réexpédié:"};
  return std::find(kPlain.begin(), kPlain.end(), l) != kPlain.end();
}

bool from_label(const Line& l) {
  return starts_with_any(l.label, {"from:", "von:", "de:", "de :", "van:", "da:", "från:", "fra:",
                                   "发件人:", "发件人：", "寄件者:", "寄件者：", "送信者:"});
}

// Outlook's history header: a From line with a Sent/Date and a To/Subject line right after.
bool header_block(const std::vector<Line>& lines, size_t i) {
  if (!from_label(lines[i])) return false;
  bool sent = false, to = false;
  for (size_t k = i + 1; k < lines.size() && k <= i + 6; ++k) {
    const std::string_view l = lines[k].label;
    if (starts_with_any(l, {"sent:",      "date:",      "gesendet:", "datum:",      "envoyé :",
                            "envoyé:",    "date :",     "enviado:",  "enviado el:", "fecha:",
                            "verzonden:", "inviato:",   "data:",     "skickat:",    "sendt:",
                            "发送时间:",  "发送时间：", "日期:",     "日期：",      "送信日時:"}))
      sent = true;
    if (starts_with_any(l, {"to:",     "subject:", "an:",   "betreff:", "à :",   "à:",
                            "objet :", "objet:",   "para:", "asunto:",  "aan:",  "onderwerp:",
                            "a:",      "oggetto:", "till:", "ämne:",    "til:",  "emne:",
                            "收件人:", "收件人：", "主题:", "主题：",   "宛先:", "件名:"}))
      to = true;
  }
  return sent && to;
}

bool underscore_separator(const std::vector<Line>& lines, size_t i) {
  const std::string_view l = lines[i].trimmed;
  if (l.size() < 10 || l.find_first_not_of('_') != std::string_view::npos) return false;
  if (l.size() >= 30) return true;
  for (size_t k = i + 1; k < lines.size() && k <= i + 3; ++k)
    if (!lines[k].blank) return from_label(lines[k]);
  return false;
}

// `l` is lower-case and trimmed.
bool attribution_text(std::string_view l) {
  if (l.size() > kMaxAttributionBytes || l.empty()) return false;
  if (ends_with_any(l, {"wrote:", "writes:"})) return true;
  if (l.starts_with("am ") && l.ends_with(":") && l.find("schrieb") != std::string::npos)
    return true;
  if (l.starts_with("le ") && ends_with_any(l, {"a écrit :", "a écrit:", "a écrit :"})) return true;
  if (l.starts_with("el ") && ends_with_any(l, {"escribió:", "escribio:", "escribió :"}))
    return true;
  if (l.starts_with("em ") && l.ends_with("escreveu:")) return true;
  if (l.starts_with("il ") && l.ends_with("ha scritto:")) return true;
  if (l.starts_with("op ") && l.ends_with(":") && l.find("schreef") != std::string::npos)
    return true;
  if (l.starts_with("den ") && l.ends_with(":") && l.find("skrev") != std::string::npos)
    return true;
  return ends_with_any(l, {"写道：", "写道:", "寫道：", "寫道:"});
}

// Length in lines of an attribution starting at line i (clients wrap long ones), or 0.
size_t attribution(const std::vector<Line>& lines, size_t i) {
  const Line& first = lines[i];
  if (first.quoted || first.blank || first.long_line) return 0;
  if (attribution_text(first.low)) return 1;
  // Gmail in several locales: "2017-11-20 21:32 GMT+02:00 Robert <rob@x.org>:" with no verb;
  // only taken as an attribution when a quote follows.
  if (first.low.size() <= kMaxAttributionBytes && first.low.ends_with(">:") &&
      first.low.find('@') != std::string::npos) {
    for (size_t k = i + 1; k < lines.size(); ++k)
      if (!lines[k].blank) return lines[k].quoted ? 1 : 0;
  }
  if (!starts_with_any(first.low, {"on ", "am ", "le ", "el ", "em ", "il ", "op ", "den ", "在 "}))
    return 0;
  std::string joined(first.low);
  for (size_t k = i + 1; k < lines.size() && k <= i + 2; ++k) {
    if (lines[k].blank || lines[k].quoted || lines[k].long_line) return 0;
    joined += ' ';
    joined += lines[k].low;
    if (joined.size() > kMaxAttributionBytes) return 0;
    if (attribution_text(joined)) return k - i + 1;
  }
  return 0;
}

bool footer_rule(const Line& l) {
  return l.trimmed.size() >= 20 && l.trimmed.find_first_not_of('-') == std::string_view::npos;
}

// Only quoted lines (and blanks) follow until the end or a list footer rule.
bool only_quotes_follow(const std::vector<Line>& lines, size_t from) {
  for (size_t k = from; k < lines.size(); ++k) {
    if (lines[k].blank || lines[k].quoted) continue;
    return footer_rule(lines[k]) || lines[k].trimmed == "--";
  }
  return true;
}

bool mobile_footer(std::string_view line) {
  const std::string l = lower_ascii(trim(line));
  static const std::array<std::string_view, 18> kFooters = {"sent from my ",
                                                            "sent from outlook",
                                                            "get outlook for ",
                                                            "sent from mail for windows",
                                                            "sent from yahoo mail",
                                                            "sent from samsung",
                                                            "sent via ",
                                                            "sent with ",
                                                            "von meinem iphone gesendet",
                                                            "von meinem ipad gesendet",
                                                            "von meinem smartphone gesendet",
                                                            "envoyé de mon ",
                                                            "enviado desde mi ",
                                                            "enviado do meu ",
                                                            "inviato da ",
                                                            "verzonden vanaf mijn ",
                                                            "发自我的",
                                                            "從我的 iphone 傳送"};
  return l.size() < 120 &&
         std::any_of(kFooters.begin(), kFooters.end(), [&](auto f) { return l.starts_with(f); });
}

// Mailing-list boilerplate at the very end ("----\nTo unsubscribe, e-mail: ..."): a rule line
// followed by a few lines that mention unsubscribing. It is neither new text nor a signature.
void drop_list_footer(std::vector<std::string_view>& kept) {
  size_t nonblank = 0;
  bool unsubscribe = false;
  for (size_t i = kept.size(); i-- > 0 && nonblank <= 8;) {
    const std::string_view t = trim(kept[i]);
    if (t.empty()) continue;
    if (t.size() >= 20 && t.find_first_not_of(t[0]) == std::string_view::npos &&
        (t[0] == '-' || t[0] == '_' || t[0] == '=')) {
      if (unsubscribe && nonblank > 0) {
        kept.resize(i);
        while (!kept.empty() && blank(kept.back())) kept.pop_back();
      }
      return;
    }
    ++nonblank;
    if (lower_ascii(t).find("unsubscribe") != std::string::npos) unsubscribe = true;
  }
}

std::string join(const std::vector<std::string_view>& lines, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    out.append(lines[i]);
    if (i + 1 < to) out += '\n';
  }
  return out;
}

std::string trim_block(std::string s) {
  const size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return {};
  s.erase(0, b);
  s.erase(s.find_last_not_of(" \t\n") + 1);
  return s;
}

}  // namespace

ReplySplit split_reply(std::string_view text) {
  ReplySplit r;
  const Lines analyzed(text);
  const std::vector<Line>& lines = analyzed.lines();

  // 1. Where the history starts, and which lines before it are not the sender's.
  size_t cut = lines.size();
  std::vector<bool> drop(lines.size(), false);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (separator_line(lines[i]) || header_block(lines, i) || underscore_separator(lines, i)) {
      cut = i;
      break;
    }
    if (const size_t n = attribution(lines, i)) {
      if (only_quotes_follow(lines, i + n)) {
        cut = i;
        break;
      }
      for (size_t k = i; k < i + n; ++k) drop[k] = true;
      i += n - 1;
      continue;
    }
    if (lines[i].quoted) drop[i] = true;
  }
  std::vector<std::string_view> raw;
  raw.reserve(lines.size());
  for (const auto& l : lines) raw.push_back(l.raw);
  r.quoted = trim_block(join(raw, cut, raw.size()));

  std::vector<std::string_view> kept;
  for (size_t i = 0; i < cut; ++i) {
    if (drop[i]) continue;
    // Dropped quotes leave gaps: keep at most one blank line in a row.
    if (lines[i].blank && (kept.empty() || blank(kept.back()))) continue;
    kept.push_back(raw[i]);
  }
  while (!kept.empty() && blank(kept.back())) kept.pop_back();
  drop_list_footer(kept);

  // 2. Signature: the first "-- " line with a plausible amount after it, else a mobile
  // footer among the last lines.
  size_t sig = kept.size(), sig_body = kept.size();
  for (size_t i = 0; i < kept.size(); ++i) {
    const std::string_view l = kept[i];
    const std::string_view t = trim(l);
    if ((l == "-- " || l == "--" || t == "--") && kept.size() - i - 1 <= kMaxSignatureLines) {
      sig = i;
      sig_body = i + 1;
      break;
    }
  }
  if (sig == kept.size()) {
    size_t seen = 0;
    for (size_t i = kept.size(); i-- > 0 && seen < 3;) {
      if (blank(kept[i])) continue;
      ++seen;
      if (mobile_footer(kept[i])) sig = sig_body = i;
    }
  }
  r.signature = trim_block(join(kept, sig_body, kept.size()));
  r.new_text = trim_block(join(kept, 0, sig));
  if (r.new_text.empty()) {
    // Everything looked like history or signature: the text itself is the best we have.
    r.new_text = trim_block(std::string(text));
    r.signature.clear();
  }
  return r;
}

}  // namespace banxway::email
