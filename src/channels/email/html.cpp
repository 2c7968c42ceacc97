// HTML sanitizer on gumbo's HTML5 tree: the browser's own parsing rules decide what is an
// element or an attribute, so markup tricks that fool pattern matching do not apply; output is
// re-serialized from the tree, escaped, so it is always well-formed.
#include "channels/email/html.hpp"

#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include "channels/email/html_internal.hpp"
#include "channels/email/mime_internal.hpp"

namespace banxway::email {
namespace detail {
namespace {

// gumbo keeps the open-element stack and searches it per tag, so deep nesting is quadratic
// (100,000 nested <div> take tens of seconds). Real mail nests far less than this.
constexpr size_t kMaxHtmlDepth = 256;
constexpr size_t kMaxAttributes = 256;

template <size_t N>
bool in(std::string_view s, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

constexpr std::array<std::string_view, 37> kAllowed = {
    "p",   "br",   "div",    "span",  "a",     "b",     "strong",     "i",  "em", "u",
    "s",   "ul",   "ol",     "li",    "table", "thead", "tbody",      "tr", "td", "th",
    "pre", "code", "h1",     "h2",    "h3",    "h4",    "blockquote", "h5", "h6", "img",
    "hr",  "font", "center", "small", "big",   "sub",   "sup"};

// Dropped together with everything inside them.
constexpr std::array<std::string_view, 32> kDropWithContent = {
    "script",   "style",  "iframe", "object",  "embed",    "form",  "input",     "meta",
    "link",     "base",   "svg",    "math",    "head",     "title", "noscript",  "template",
    "textarea", "select", "button", "option",  "applet",   "frame", "frameset",  "audio",
    "video",    "canvas", "map",    "noembed", "noframes", "xmp",   "plaintext", "param"};

// Block containers outside the allow-list become <div> so text keeps its line structure.
constexpr std::array<std::string_view, 18> kBlockToDiv = {
    "section", "article", "header",   "footer", "nav",    "main", "aside", "figure", "figcaption",
    "details", "summary", "fieldset", "legend", "hgroup", "dl",   "dt",    "dd",     "address"};

constexpr std::array<std::string_view, 3> kVoid = {"br", "hr", "img"};

// Tags that never nest in gumbo's stack (void, or closed implicitly by a sibling).
constexpr std::array<std::string_view, 35> kFlatTags = {
    "area", "base",  "br",     "col",   "embed",    "hr",       "img",  "input", "link",
    "meta", "param", "source", "track", "wbr",      "keygen",   "p",    "li",    "dt",
    "dd",   "tr",    "td",     "th",    "option",   "optgroup", "rb",   "rt",    "rp",
    "rtc",  "thead", "tbody",  "tfoot", "colgroup", "caption",  "html", "body"};

constexpr std::array<std::string_view, 8> kRawText = {"script", "style",  "textarea", "title",
                                                      "xmp",    "iframe", "noembed",  "noframes"};

bool ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(g_ascii_tolower(c));
  return r;
}

struct Bounded {
  std::string html;        // the rewritten input; empty when nothing had to change
  bool flattened = false;  // tags beyond kMaxHtmlDepth removed
  bool crowded = false;    // tags with too many attributes removed
};

// Removes start/end tags beyond kMaxHtmlDepth open elements and tags with more than
// kMaxAttributes attributes (gumbo checks each new attribute against all earlier ones, so a
// tag with 40,000 attributes takes seconds). Text stays. A light tokenizer is enough: gumbo
// parses the result, and the sanitizer judges that tree.
Bounded bound_markup(std::string_view html) {
  Bounded b;
  std::vector<std::pair<size_t, size_t>> drops;
  std::unordered_map<std::string, size_t> excess;  // tag -> dropped start tags still open
  size_t depth = 0, i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    const size_t start = i;
    if (html.substr(i, 4) == "<!--") {
      const size_t e = html.find("-->", i + 4);
      i = e == std::string_view::npos ? html.size() : e + 3;
      continue;
    }
    const bool closing = i + 1 < html.size() && html[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    if (j >= html.size() || !ascii_alpha(html[j])) {
      ++i;
      continue;
    }
    const size_t name_start = j;
    while (j < html.size() && html[j] != '>' && html[j] != '/' && html[j] != ' ' &&
           html[j] != '\t' && html[j] != '\n' && html[j] != '\r' && html[j] != '\f')
      ++j;
    const std::string name = lower(html.substr(name_start, j - name_start));
    char quote = 0;
    size_t attrs = 0;  // approximate: counts what follows white space ("a = b" counts 3)
    bool space = false;
    for (; j < html.size(); ++j) {
      const char c = html[j];
      if (quote) {
        if (c == quote) quote = 0;
        continue;
      }
      if (c == '>') break;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/') {
        space = true;
        continue;
      }
      if (space) ++attrs;
      space = false;
      if ((c == '"' || c == '\'') && !closing) quote = c;
    }
    const size_t end = std::min(j + 1, html.size());
    const bool self_closing = j < html.size() && j > 0 && html[j - 1] == '/';
    i = end;
    if (attrs > kMaxAttributes) {
      drops.emplace_back(start, end);
      b.crowded = true;
      continue;
    }
    if (!closing && in(name, kRawText)) {  // content is text up to the matching end tag
      const std::string close = "</" + name;
      size_t k = end;
      while (k < html.size()) {
        k = html.find("</", k);
        if (k == std::string_view::npos) break;
        if (g_ascii_strncasecmp(html.data() + k, close.data(), close.size()) == 0) break;
        k += 2;
      }
      i = k == std::string_view::npos ? html.size() : k;
      continue;
    }
    if (in(name, kFlatTags) || self_closing) continue;
    if (closing) {
      auto it = excess.find(name);
      if (it != excess.end() && it->second > 0) {
        --it->second;
        drops.emplace_back(start, end);
      } else if (depth > 0) {
        --depth;
      }
    } else if (depth >= kMaxHtmlDepth) {
      ++excess[name];
      drops.emplace_back(start, end);
      b.flattened = true;
    } else {
      ++depth;
    }
  }
  if (drops.empty()) return b;
  b.html.reserve(html.size());
  size_t from = 0;
  for (auto [a, e] : drops) {
    b.html.append(html.substr(from, a - from));
    from = e;
  }
  b.html.append(html.substr(from));
  return b;
}

void escape_into(std::string& out, std::string_view s, bool attribute) {
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += attribute ? "&quot;" : "\"";
        break;
      case '\'':
        out += attribute ? "&#39;" : "'";
        break;
      default:
        out += c;
    }
  }
}

bool all_digits(std::string_view v, bool percent_ok) {
  if (percent_ok && !v.empty() && v.back() == '%') v.remove_suffix(1);
  return !v.empty() && v.size() <= 5 &&
         std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && g_ascii_isxdigit(s[i + 1]) &&
        g_ascii_isxdigit(s[i + 2])) {
      out +=
          static_cast<char>(g_ascii_xdigit_value(s[i + 1]) * 16 + g_ascii_xdigit_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '@' ||
        c == '$' || c == '+' || c == '!' || c == '*' || c == '=') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class Sanitizer {
 public:
  Sanitizer(const HtmlOptions& o, std::vector<std::string>& cids) : opts_(o), cids_(cids) {}

  bool enter(GumboNode* n) {
    switch (n->type) {
      case GUMBO_NODE_DOCUMENT:
        return true;
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_WHITESPACE:
      case GUMBO_NODE_CDATA:
        escape_into(out, n->v.text.text, false);
        return false;
      case GUMBO_NODE_COMMENT:
        return false;
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE:
        break;
    }
    if (n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML) return false;  // svg, mathml
    std::string_view tag = tag_name(n);
    if (in(tag, kDropWithContent)) return false;
    if (in(tag, kBlockToDiv)) tag = "div";
    if (tag == "tfoot") tag = "tbody";
    if (!in(tag, kAllowed)) return true;  // unwrap: children only
    out += '<';
    out += tag;
    write_attributes(n, tag);
    out += '>';
    return !in(tag, kVoid);
  }

  void leave(GumboNode* n) {
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) return;
    std::string_view tag = tag_name(n);
    if (in(tag, kBlockToDiv)) tag = "div";
    if (tag == "tfoot") tag = "tbody";
    if (!in(tag, kAllowed) || in(tag, kVoid)) return;
    out += "</";
    out += tag;
    out += '>';
  }

  std::string out;

 private:
  void put(std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "=\"";
    escape_into(out, value, true);
    out += '"';
  }

  void write_attributes(GumboNode* n, std::string_view tag) {
    const GumboVector& attrs = n->v.element.attributes;
    for (unsigned i = 0; i < attrs.length; ++i) {
      const auto* a = static_cast<const GumboAttribute*>(attrs.data[i]);
      const std::string_view name = a->name, value = a->value;
      if (name == "title" || (name == "alt" && tag == "img")) {
        put(name, value.substr(0, 1000));
      } else if (name == "width" || name == "height") {
        if (all_digits(value, true)) put(name, value);
      } else if ((name == "colspan" || name == "rowspan") && (tag == "td" || tag == "th")) {
        if (all_digits(value, false)) put(name, value);
      } else if (name == "align" || name == "valign") {
        const std::string v = lower(value);
        if (v == "left" || v == "right" || v == "center" || v == "justify" || v == "top" ||
            v == "middle" || v == "bottom" || v == "baseline")
          put(name, v);
      } else if (name == "href" && tag == "a") {
        const std::string url = safe_link(value);
        if (!url.empty()) {
          put("href", url);
          put("rel", "noopener noreferrer");
        }
      } else if (name == "src" && tag == "img") {
        write_src(value);
      }
      // Everything else (on*, style, class, id, background, srcset, ...) is dropped.
    }
  }

  void write_src(std::string_view value) {
    std::string v;
    for (char c : value)
      if (static_cast<unsigned char>(c) > 0x20) v += c;
    if (g_ascii_strncasecmp(v.c_str(), "cid:", 4) == 0) {
      std::string id = percent_decode(std::string_view(v).substr(4));
      if (!id.empty() && id.front() == '<') id.erase(0, 1);
      if (!id.empty() && id.back() == '>') id.pop_back();
      repair_utf8(id);
      if (id.empty()) return;
      put("src", opts_.cid_url_prefix + percent_encode(id));
      if (std::find(cids_.begin(), cids_.end(), id) == cids_.end()) cids_.push_back(id);
      return;
    }
    if (opts_.allow_remote_images && g_ascii_strncasecmp(v.c_str(), "https://", 8) == 0) {
      put("src", v);
      return;
    }
    // Anything else (http:, data:, relative) loses its src: no load happens without consent.
  }

  const HtmlOptions& opts_;
  std::vector<std::string>& cids_;
};

// gumbo allocates through these hooks. Some inputs make it build far more nodes than the text
// suggests (formatting elements left open are re-created for every later paragraph: 80 KB of
// "<b id=N>" + "</p><p>x" builds 2.5 million nodes, about 1 GB). gumbo cannot stop by itself,
// so the allocator enforces a budget: past it, it longjmps back to GumboDoc (gumbo is plain C,
// there are no destructors to skip) and every block still held is freed from the list.
struct Arena {
  struct alignas(std::max_align_t) Block {
    Block* prev;
    Block* next;
    size_t size;
  };
  Block* head = nullptr;
  size_t used = 0, budget = 0;
  std::jmp_buf* escape = nullptr;

  static void* allocate(void* self, size_t n) {
    auto* a = static_cast<Arena*>(self);
    if (n > a->budget - std::min(a->budget, a->used)) std::longjmp(*a->escape, 1);
    auto* b = static_cast<Block*>(std::malloc(sizeof(Block) + n));
    if (!b) std::longjmp(*a->escape, 1);
    b->prev = nullptr;
    b->next = a->head;
    b->size = n;
    if (a->head) a->head->prev = b;
    a->head = b;
    a->used += n;
    return b + 1;
  }
  static void deallocate(void* self, void* p) {
    if (!p) return;
    auto* a = static_cast<Arena*>(self);
    Block* b = static_cast<Block*>(p) - 1;
    (b->prev ? b->prev->next : a->head) = b->next;
    if (b->next) b->next->prev = b->prev;
    a->used -= b->size;
    std::free(b);
  }
  void release_all() {
    while (head) deallocate(this, head + 1);
  }
};

// Budget: generous for real mail, where gumbo peaks at 4-8 bytes per input byte (corpus) and
// about 17 for the deepest nesting we let through.
constexpr size_t kGumboBaseBudget = 16u << 20;
constexpr size_t kGumboBytesPerInputByte = 24;

struct GumboDoc {
  GumboOptions options = kGumboDefaultOptions;
  GumboOutput* output = nullptr;
  Arena arena;
  bool over_budget = false;

  explicit GumboDoc(std::string_view html) {
    options.max_errors = 0;  // we never read parse errors; do not spend memory on them
    options.allocator = &Arena::allocate;
    options.deallocator = &Arena::deallocate;
    options.userdata = &arena;
    arena.budget = kGumboBaseBudget + kGumboBytesPerInputByte * html.size();
    parse(html);
  }
  ~GumboDoc() {
    if (output) gumbo_destroy_output(&options, output);
    arena.release_all();
  }
  GumboDoc(const GumboDoc&) = delete;
  GumboDoc& operator=(const GumboDoc&) = delete;

 private:
  // Nothing with a destructor lives in this frame: the longjmp lands here.
  void parse(std::string_view html) {
    std::jmp_buf escape;
    arena.escape = &escape;
    if (setjmp(escape) == 0) {
      output = gumbo_parse_with_options(&options, html.data(), html.size());
    } else {
      output = nullptr;
      over_budget = true;
      arena.release_all();
    }
    arena.escape = nullptr;
  }
};

// What is left when the HTML cannot be parsed within budget: its text with tags removed.
std::string strip_tags(std::string_view html) {
  std::string out;
  bool in_tag = false;
  for (char c : html) {
    if (c == '<')
      in_tag = true;
    else if (c == '>')
      in_tag = false;
    else if (!in_tag)
      out += c;
  }
  return out;
}

}  // namespace

std::string_view tag_name(const GumboNode* n) {
  if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) return {};
  if (n->v.element.tag == GUMBO_TAG_UNKNOWN) return {};
  return gumbo_normalized_tagname(n->v.element.tag);
}

const char* attr(const GumboNode* n, const char* name) {
  if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) return nullptr;
  const GumboAttribute* a = gumbo_get_attribute(&n->v.element.attributes, name);
  return a ? a->value : nullptr;
}

bool hidden_element(const GumboNode* n) {
  if (attr(n, "hidden")) return true;
  const char* style = attr(n, "style");
  if (!style) return false;
  std::string s;
  for (const char* p = style; *p; ++p)
    if (!g_ascii_isspace(*p)) s += static_cast<char>(g_ascii_tolower(*p));
  return s.find("display:none") != std::string::npos ||
         s.find("visibility:hidden") != std::string::npos ||
         s.find("mso-hide:all") != std::string::npos;
}

std::string safe_link(std::string_view href) {
  // Browsers ignore tabs and newlines inside URLs ("java\tscript:"), so judge without them.
  std::string v;
  for (char c : href)
    if (static_cast<unsigned char>(c) > 0x20 && c != 0x7F) v += c;
  if (v.size() > 8192) return {};
  const std::string l = lower(v.substr(0, 8));
  if (l.starts_with("http://") || l.starts_with("https://") || l.starts_with("mailto:")) return v;
  return {};
}

}  // namespace detail

namespace {

HtmlRender process(std::string_view html, const HtmlOptions& opts, bool want_html, bool want_text) {
  HtmlRender r;
  detail::Bounded bounded = detail::bound_markup(html);
  if (bounded.flattened || bounded.crowded) html = bounded.html;
  if (bounded.flattened)
    r.warnings.push_back("HTML nesting deeper than " + std::to_string(detail::kMaxHtmlDepth) +
                         " flattened");
  if (bounded.crowded)
    r.warnings.push_back("HTML tags with more than " + std::to_string(detail::kMaxAttributes) +
                         " attributes dropped");
  detail::GumboDoc doc(html);
  if (!doc.output) {
    r.warnings.push_back(doc.over_budget ? "HTML too complex to parse: only its text kept"
                                         : "HTML could not be parsed: only its text kept");
    if (want_text) {
      r.text = detail::strip_tags(html);
      bool bad = false, nul = false;
      detail::clean_text(r.text, &bad, &nul);
    }
    return r;
  }
  if (want_html) {
    detail::Sanitizer s(opts, r.cids);
    detail::traverse(
        doc.output->document, [&](GumboNode* n) { return s.enter(n); },
        [&](GumboNode* n) { s.leave(n); });
    r.html = std::move(s.out);
    detail::repair_utf8(r.html);
  }
  if (want_text) r.text = detail::render_text(doc.output->document);
  return r;
}

}  // namespace

HtmlRender render_html(std::string_view html, const HtmlOptions& opts, bool want_text) {
  return process(html, opts, true, want_text);
}

std::string sanitize_html(std::string_view html, const HtmlOptions& opts) {
  return process(html, opts, true, false).html;
}

std::string html_to_text(std::string_view html) {
  return process(html, HtmlOptions{}, false, true).text;
}

}  // namespace banxway::email
