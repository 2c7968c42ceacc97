// Internals of the HTML module shared by html.cpp and html_text.cpp.
#pragma once

#include <gumbo.h>

#include <string>
#include <string_view>
#include <vector>

namespace banxway::email::detail {

/// Lower-case tag name of an element node ("" for unknown tags and non-elements).
std::string_view tag_name(const GumboNode* n);
/// The value of an attribute, or nullptr.
const char* attr(const GumboNode* n, const char* name);
/// Is this element hidden from readers (hidden attribute, display:none, mso-hide:all, ...)?
bool hidden_element(const GumboNode* n);
/// An http/https/mailto URL with control characters and white space removed, else "".
std::string safe_link(std::string_view href);

/// Depth-first traversal without recursion (HTML can nest deeper than a thread's stack).
/// enter(node) returns whether to descend; leave(node) runs after the children of an entered
/// node.
template <typename Enter, typename Leave>
void traverse(GumboNode* root, Enter&& enter, Leave&& leave) {
  struct Item {
    GumboNode* node;
    unsigned next;
  };
  auto kids = [](GumboNode* n) -> const GumboVector* {
    if (n->type == GUMBO_NODE_DOCUMENT) return &n->v.document.children;
    if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE)
      return &n->v.element.children;
    return nullptr;
  };
  std::vector<Item> stack;
  if (enter(root)) stack.push_back({root, 0});
  while (!stack.empty()) {
    GumboNode* n = stack.back().node;
    const GumboVector* k = kids(n);
    if (k && stack.back().next < k->length) {
      GumboNode* c = static_cast<GumboNode*>(k->data[stack.back().next++]);
      if (enter(c)) stack.push_back({c, 0});
    } else {
      leave(n);
      stack.pop_back();
    }
  }
}

/// Renders the parsed document as readable text (html_text.cpp).
std::string render_text(GumboNode* root);

}  // namespace banxway::email::detail
