// Email normalization, step 1 of the ingest pipeline (ARCHITECTURE.md §4): raw RFC 5322/MIME
// bytes -> ParsedEmail (addresses, ids, decoded subject, UTF-8 text, sanitized HTML, attachments).
//
// Contract: parse_email() fails only when nothing usable can be parsed (empty input, over the
// size limit, not a message at all). Everything else degrades: what could not be used is named
// in `warnings`. Every output string is valid UTF-8; text has '\n' line ends and no NUL bytes.
// Work and memory are bounded by ParseLimits, which are enforced while parsing, not afterwards.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"
#include "core/env.hpp"

namespace banxway::email {

struct Address {
  std::string name;   // display name decoded to UTF-8 (RFC 2047), may be empty
  std::string email;  // addr-spec with the domain part lower-cased
};

struct Attachment {
  std::string filename;       // decoded (RFC 2047/2231), sanitized: no path separators, no
                              // control chars, at most 255 bytes; empty when the sender gave none
  std::string media_type;     // lower-case "type/subtype" as declared, corrected by sniffing
  std::string declared_type;  // lower-case "type/subtype" exactly as the part declared it
  std::string content_id;     // without <>, empty if none
  bool is_inline = false;     // Content-Disposition inline, or referenced by cid from the HTML
  std::string data;           // decoded bytes
};

struct ParsedEmail {
  std::string message_id;               // without <>, empty when absent or unusable
  std::string in_reply_to;              // first msg-id of In-Reply-To, without <>
  std::vector<std::string> references;  // msg-ids in order, without <>, deduplicated, last 100
  std::string thread_index;             // Outlook Thread-Index header value (base64 text), raw
  std::string thread_topic;             // Outlook Thread-Topic, decoded
  std::optional<Address> from;
  std::vector<Address> to, cc, reply_to;
  std::string subject;            // decoded, unfolded, UTF-8, trimmed
  std::optional<TimePoint> date;  // nullopt when missing or unparseable: use arrival time
  std::string text;               // full plain text (text part, else derived from HTML)
  std::string new_text;           // text without quoted history and signature
  std::string signature;          // the separated signature, if found
  std::string html;               // sanitized HTML (empty if none)
  std::vector<Attachment> attachments;
  bool auto_submitted = false;        // Auto-Submitted not "no", Precedence bulk/list/junk,
                                      // or List-Id present
  std::string list_id;                // List-Id without <>, lower-case
  std::vector<std::string> warnings;  // what was wrong but survivable
};

struct ParseLimits {
  size_t max_message_bytes = 50u << 20;           // larger input -> payload_too_large
  size_t max_attachment_bytes = 25u << 20;        // larger attachments are dropped (warning)
  size_t max_total_attachment_bytes = 50u << 20;  // attachments past this total are dropped
  int max_depth = 32;                             // MIME nesting (multipart and message/rfc822)
  int max_parts = 1000;                           // MIME entities walked
  size_t max_header_bytes = 1u << 20;             // one entity's header block
  size_t max_text_bytes = 2u << 20;               // text and HTML bodies are truncated past this
};

struct HtmlOptions {
  bool allow_remote_images = false;  // keep https <img src>; otherwise remote images lose src
  // A cid:X image reference becomes cid_url_prefix + X (X percent-encoded), e.g. a caller sets
  // "/api/v1/attachments/by-cid/<msg>/".
  std::string cid_url_prefix = "cid:";
};

/// Parses one message. `raw` may start with an mbox "From " line, which is skipped.
Result<ParsedEmail> parse_email(std::string_view raw, const ParseLimits& limits = {},
                                const HtmlOptions& html = {});

/// The bare id of a Message-ID / In-Reply-To value: strips <>, whitespace and comments and
/// lower-cases the domain part only. "" if the value holds no usable id.
std::string normalize_message_id(std::string_view raw);

}  // namespace banxway::email
