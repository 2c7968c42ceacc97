// HTML from email bodies, through a real HTML5 parser (gumbo): an allow-list sanitizer that
// yields a safe, well-formed fragment, and a converter to readable plain text.
//
// Sanitizer policy: only the elements and attributes of the allow-list survive; script, style,
// iframe, object, embed, form and input, meta, link, base, svg, math (and similar) are dropped
// with their content; other unknown elements are unwrapped (their text stays). No event
// handlers, no style, no comments; links only http/https/mailto; images only cid: (rewritten to
// HtmlOptions::cid_url_prefix) or, when allowed, https.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "channels/email/mime.hpp"

namespace banxway::email {

struct HtmlRender {
  std::string html;                   // sanitized fragment (no html/head/body wrapper)
  std::string text;                   // readable text, when requested
  std::vector<std::string> cids;      // Content-IDs referenced by <img src="cid:...">, decoded
  std::vector<std::string> warnings;  // e.g. "HTML nesting deeper than 256 flattened"
};

/// Parses once and produces the sanitized HTML and, if `want_text`, the text rendering.
HtmlRender render_html(std::string_view html, const HtmlOptions& opts, bool want_text);

/// The sanitized fragment alone.
std::string sanitize_html(std::string_view html, const HtmlOptions& opts = {});

/// Readable text: line breaks for blocks, "- " / "1. " list items, "text <url>" for links
/// whose text differs from the target, blockquotes as "> " lines; hidden, script and style
/// content skipped.
std::string html_to_text(std::string_view html);

}  // namespace banxway::email
