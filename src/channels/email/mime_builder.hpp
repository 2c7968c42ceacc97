// Outbound email: OutgoingEmail -> RFC 5322 / MIME bytes (GMime), ready for SMTP (smtp_sender.hpp).
//
// Header injection is impossible by construction: every caller-supplied value that ends up in a
// header (addresses, display names, subject, ids, filenames, content ids, media types) is checked
// for CR, LF and NUL and the build fails with invalid_argument naming the field. Non-ASCII text
// in headers is encoded by GMime (RFC 2047 for subject and display names, RFC 2231 for filenames).
// Bodies are always 7-bit on the wire: quoted-printable for text/HTML, base64 for attachments,
// so the message survives relays without 8BITMIME. Details: docs/EMAIL.md, "Sending".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"
#include "channels/email/mime.hpp"
#include "core/env.hpp"

namespace banxway::email {

struct OutgoingAttachment {
  std::string filename, media_type, data;  // media_type empty -> application/octet-stream
  std::string content_id;                  // without <>; referenced from the HTML as cid:<id>
  bool is_inline = false;
};

struct OutgoingEmail {
  Address from;
  std::vector<Address> to, cc, bcc, reply_to;  // bcc is never written to the headers
  /// Written to Subject verbatim. For a reply the caller passes reply_subject(thread subject),
  /// which carries exactly one "Re: ".
  std::string subject;
  std::string message_id;   // without <>, e.g. from pipeline::make_message_id
  std::string in_reply_to;  // without <>
  /// Without <>, oldest first. in_reply_to is appended when it is not already the last id
  /// (RFC 5322 3.6.4: parent's References + parent's Message-ID). The header is capped: the
  /// first (root) id and as many of the most recent ids as fit are kept.
  std::vector<std::string> references;
  /// The Thread-Index of the message replied to (base64), if any: extended by one 5-byte child
  /// block (never copied). Empty or unusable: a new 22-byte Thread-Index is made.
  std::string parent_thread_index;
  /// The exact Thread-Index to write (base64), when the caller computed it already (the outbox
  /// stores it with the queued message); parent_thread_index is then ignored.
  std::string thread_index;
  std::string text;  // required (may be empty text, but the part is always there)
  std::string html;  // optional -> multipart/alternative
  /// -> multipart/mixed; inline ones with a content_id go into multipart/related with the HTML.
  std::vector<OutgoingAttachment> attachments;
  bool auto_submitted = false;    // adds "Auto-Submitted: auto-generated"
  std::optional<TimePoint> date;  // default: now
};

/// The subject of a reply: exactly one "Re: " in front of the thread subject with all leading
/// reply/forward markers (Re:, RE:, Re[2]:, AW:, Fwd:, FW:, WG:, SV:, 回复:, …) removed.
std::string reply_subject(std::string_view thread_subject);

/// Builds the message (CRLF line ends). invalid_argument, naming the field, for CR/LF/NUL in any
/// header value, invalid UTF-8 in names/subject/filenames, a malformed address or id, a missing
/// from or no To/Cc/Bcc recipient.
Result<std::string> build_email(const OutgoingEmail& email);

/// The SMTP envelope recipients of `email`: To, Cc and Bcc addresses, each once, in that order.
std::vector<std::string> envelope_recipients(const OutgoingEmail& email);

/// The Thread-Index value (base64) a reply to a message with `parent` (base64, may be empty)
/// carries: parent + one 5-byte child block, or a new 22-byte index when parent is empty or
/// unusable. Exposed for tests and for callers that thread without building.
std::string next_thread_index(std::string_view parent, TimePoint now);

}  // namespace banxway::email
