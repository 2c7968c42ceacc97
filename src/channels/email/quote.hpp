// Separates what the sender just wrote from the quoted history and the signature, so snippets
// and the AI see the new text only. Works on plain text (derive it from HTML first).
#pragma once

#include <string>
#include <string_view>

namespace banxway::email {

struct ReplySplit {
  std::string new_text;   // never empty when the input has non-blank text
  std::string signature;  // without its "-- " separator line; empty if none was found
  std::string quoted;     // the history that was cut off (attribution line onwards), if any
};

/// Recognizes: "> " quoted lines; attribution lines ("On ... wrote:", "Am ... schrieb ...:",
/// "Le ... a écrit :", "El ... escribió:", "... 写道：" and a few more); Outlook
/// "-----Original Message-----" and "From: / Sent: / To:" header blocks; "____" separators;
/// forwarded-message markers; a "-- " signature separator (RFC 3676) and mobile footers
/// ("Sent from my iPhone"). Everything after the first history marker is history.
ReplySplit split_reply(std::string_view text);

}  // namespace banxway::email
