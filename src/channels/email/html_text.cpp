// HTML -> readable plain text, for HTML-only mail: what a reader would see, laid out with line
// breaks, list markers and "> " quote prefixes (so the quote splitter can find the history).
#include <algorithm>
#include <array>

#include "channels/email/html_internal.hpp"
#include "channels/email/mime_internal.hpp"

namespace banxway::email::detail {
namespace {

template <size_t N>
bool in(std::string_view s, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

constexpr std::array<std::string_view, 22> kSkip = {
    "script", "style",  "head", "title",  "noscript", "template", "object", "iframe",
    "embed",  "svg",    "math", "select", "textarea", "input",    "button", "audio",
    "video",  "canvas", "map",  "applet", "frameset", "noframes"};

constexpr std::array<std::string_view, 28> kBlock = {
    "div",     "table",   "ul",      "ol",         "dl",     "dt",       "dd",
    "center",  "section", "article", "header",     "footer", "nav",      "main",
    "aside",   "address", "figure",  "figcaption", "form",   "fieldset", "details",
    "summary", "tr",      "thead",   "tbody",      "tfoot",  "caption",  "hgroup"};

constexpr std::array<std::string_view, 7> kParagraph = {"p", "h1", "h2", "h3", "h4", "h5", "h6"};

bool html_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

class TextOut {
 public:
  // Asks for at least n line breaks (2 = a blank line) before the next text.
  void block(int n) { pending_ = std::max(pending_, n); }

  void line_break() {
    flush_pending();
    out_ += '\n';
    line_start_ = true;
    space_ = false;
  }

  void words(std::string_view s) {
    if (pre_ > 0) return raw(s);
    size_t i = 0;
    while (i < s.size()) {
      if (html_space(s[i])) {
        space_ = true;
        ++i;
        continue;
      }
      if (s.compare(i, 2, "\xC2\xA0") == 0) {  // no-break space reads as a space
        space_ = true;
        i += 2;
        continue;
      }
      size_t j = i;
      while (j < s.size() && !html_space(s[j]) && s.compare(j, 2, "\xC2\xA0") != 0) ++j;
      put(s.substr(i, j - i));
      i = j;
    }
  }

  // Text kept as written (inside <pre>): line breaks are real, spaces are kept.
  void raw(std::string_view s) {
    size_t i = 0;
    while (i <= s.size()) {
      const size_t nl = s.find('\n', i);
      const std::string_view part = s.substr(i, nl == std::string_view::npos ? s.npos : nl - i);
      if (!part.empty()) {
        flush_pending();
        if (line_start_) start_line();
        out_.append(part);
      }
      if (nl == std::string_view::npos) break;
      line_break();
      i = nl + 1;
    }
  }

  // A marker such as "- " at the start of a list item: no separating space after it.
  void marker(std::string_view m) {
    flush_pending();
    if (!line_start_) line_break();
    start_line();
    out_.append(m);
    space_ = false;
  }

  void cell_separator() {
    if (!line_start_) {
      out_ += '\t';
      space_ = false;
    }
  }

  size_t size() const { return out_.size(); }
  std::string_view since(size_t pos) const { return std::string_view(out_).substr(pos); }
  void append_inline(std::string_view s) {
    space_ = true;
    put(s);
  }

  int quote = 0;   // blockquote depth: lines get "> " per level
  int indent = 0;  // list nesting
  int pre_ = 0;

  std::string finish() {
    // Trailing spaces go, and never more than one blank line in a row.
    std::string r;
    size_t blank = 0;
    size_t pos = 0;
    while (pos <= out_.size()) {
      size_t nl = out_.find('\n', pos);
      if (nl == std::string::npos) nl = out_.size();
      std::string_view line = std::string_view(out_).substr(pos, nl - pos);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      if (line.empty()) {
        if (++blank <= 1 && !r.empty()) r += '\n';
      } else {
        blank = 0;
        r.append(line);
        r += '\n';
      }
      pos = nl + 1;
    }
    while (!r.empty() && r.back() == '\n') r.pop_back();
    return r;
  }

 private:
  void flush_pending() {
    if (pending_ == 0) return;
    if (!out_.empty()) {
      if (!line_start_) out_ += '\n';
      if (pending_ >= 2) {
        // A blank line inside a quote stays part of the quote (">"), as mail clients write it.
        for (int q = 0; q < std::min(quote, line_quote_); ++q) out_ += q ? " >" : ">";
        out_ += '\n';
      }
      line_start_ = true;
    }
    pending_ = 0;
    space_ = false;
  }

  void start_line() {
    line_quote_ = quote;
    for (int q = 0; q < quote; ++q) out_ += "> ";
    for (int k = 1; k < indent; ++k) out_ += "  ";
    line_start_ = false;
  }

  void put(std::string_view word) {
    flush_pending();
    if (line_start_) {
      start_line();
    } else if (space_) {
      out_ += ' ';
    }
    space_ = false;
    out_.append(word);
  }

  std::string out_;
  int pending_ = 0;
  int line_quote_ = 0;  // quote depth of the last line started
  bool line_start_ = true;
  bool space_ = false;
};

struct ListState {
  bool ordered;
  int next;
};

// Link text and target differ enough to be worth showing the target.
bool show_target(std::string_view text, std::string_view url) {
  auto norm = [](std::string_view s) {
    std::string r;
    for (char c : s) r += static_cast<char>(g_ascii_tolower(c));
    if (r.starts_with("mailto:")) r.erase(0, 7);
    while (!r.empty() && r.back() == '/') r.pop_back();
    for (std::string_view p : {"https://", "http://"})
      if (r.starts_with(p)) r.erase(0, p.size());
    if (r.starts_with("www.")) r.erase(0, 4);
    return r;
  };
  return norm(text) != norm(url);
}

}  // namespace

std::string render_text(GumboNode* root) {
  TextOut t;
  std::vector<ListState> lists;
  struct Link {
    GumboNode* node;
    size_t start;
    std::string url;
  };
  std::vector<Link> links;

  auto enter = [&](GumboNode* n) -> bool {
    switch (n->type) {
      case GUMBO_NODE_DOCUMENT:
        return true;
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_CDATA:
      case GUMBO_NODE_WHITESPACE:
        t.words(n->v.text.text);
        return false;
      case GUMBO_NODE_COMMENT:
        return false;
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE:
        break;
    }
    if (n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML) return false;
    const std::string_view tag = tag_name(n);
    if (in(tag, kSkip) || hidden_element(n)) return false;
    if (tag == "br") {
      t.line_break();
    } else if (tag == "hr") {
      t.block(1);
      t.marker("---");
      t.block(1);
    } else if (in(tag, kParagraph)) {
      t.block(2);
    } else if (tag == "blockquote") {
      t.block(1);
      ++t.quote;
    } else if (tag == "pre") {
      t.block(1);
      ++t.pre_;
    } else if (tag == "ul" || tag == "ol") {
      t.block(1);
      lists.push_back({tag == "ol", 1});
      ++t.indent;
    } else if (tag == "li") {
      if (lists.empty()) {
        t.marker("- ");
      } else if (lists.back().ordered) {
        t.marker(std::to_string(lists.back().next++) + ". ");
      } else {
        t.marker("- ");
      }
    } else if (tag == "td" || tag == "th") {
      t.cell_separator();
    } else if (in(tag, kBlock)) {
      t.block(1);
    } else if (tag == "a") {
      const char* href = attr(n, "href");
      std::string url = href ? safe_link(href) : std::string();
      if (!url.empty()) links.push_back({n, t.size(), std::move(url)});
    }
    return !(tag == "img");
  };

  auto leave = [&](GumboNode* n) {
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) return;
    const std::string_view tag = tag_name(n);
    if (in(tag, kParagraph)) {
      t.block(2);
    } else if (tag == "blockquote") {
      t.block(1);
      --t.quote;
    } else if (tag == "pre") {
      t.block(1);
      --t.pre_;
    } else if (tag == "ul" || tag == "ol") {
      if (!lists.empty()) lists.pop_back();
      --t.indent;
      t.block(1);
    } else if (in(tag, kBlock) || tag == "li") {
      t.block(1);
    } else if (tag == "a" && !links.empty() && links.back().node == n) {
      std::string text(t.since(links.back().start));
      const size_t b = text.find_first_not_of(" \t\n>");
      if (b != std::string::npos && show_target(text.substr(b), links.back().url))
        t.append_inline("<" + links.back().url + ">");
      links.pop_back();
    }
  };

  traverse(root, enter, leave);
  std::string out = t.finish();
  bool bad = false, nul = false;
  clean_text(out, &bad, &nul);
  return out;
}

}  // namespace banxway::email::detail
