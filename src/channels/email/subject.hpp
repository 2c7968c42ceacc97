// Reply and forward markers at the start of a subject line ("Re:", "RE[2]:", "AW:", "Fwd:",
// "回复：", …): one list for the threading rules and the reply builder.
#pragma once

#include <string_view>

namespace banxway::email {

/// Removes one leading marker (and the spaces before it) from s; false when s starts with none.
/// A marker is a known word, an optional counter ("[2]", "(3)"), then ':' or a full-width '：'.
bool strip_reply_marker(std::string_view& s);

}  // namespace banxway::email
