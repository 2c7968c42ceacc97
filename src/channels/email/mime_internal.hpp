// Internals shared by the mime_*.cpp files; not part of the module's interface.
#pragma once

#include <gmime/gmime.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "channels/email/mime.hpp"

namespace banxway::email::detail {

// --- GLib ownership: every object we create or receive with a reference is released here ------

struct GObjectUnref {
  void operator()(gpointer p) const noexcept {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using GObj = std::unique_ptr<T, GObjectUnref>;

struct GFreeDeleter {
  void operator()(gpointer p) const noexcept { g_free(p); }
};
using GChars = std::unique_ptr<char, GFreeDeleter>;

struct DateTimeUnref {
  void operator()(GDateTime* p) const noexcept {
    if (p) g_date_time_unref(p);
  }
};
using GDate = std::unique_ptr<GDateTime, DateTimeUnref>;

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* p) const noexcept {
    if (p) g_mime_parser_options_free(p);
  }
};
using GParserOptions = std::unique_ptr<GMimeParserOptions, ParserOptionsFree>;

/// g_mime_init() exactly once per process (GMime keeps global charset and type tables).
void ensure_gmime();

// --- warnings ------------------------------------------------------------------------------

/// Collects warnings without repeats and with a cap, so hostile input cannot grow the list.
class Warnings {
 public:
  void add(std::string w);
  std::vector<std::string> take();

 private:
  std::vector<std::string> list_;
  size_t dropped_ = 0;
};

// --- UTF-8 and plain text (mime_text.cpp) ---------------------------------------------------

/// Replaces each ill-formed UTF-8 sequence by U+FFFD. Returns true if anything was replaced.
bool repair_utf8(std::string& s);
/// Text cleanup: UTF-8 repaired, CRLF/CR -> LF, NUL and other C0 controls (but \t, \n) removed.
/// Sets *bad_utf8 / *had_nul when those were found.
void clean_text(std::string& s, bool* bad_utf8, bool* had_nul);
/// One-line cleanup for header-derived strings: UTF-8 repaired, controls -> space, trimmed,
/// runs of whitespace collapsed.
std::string clean_line(std::string_view s);
/// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, size_t max);
/// Joins format=flowed soft line breaks (RFC 3676); quote depth is kept as "> " prefixes.
std::string unflow(std::string_view text, bool delsp);

struct DecodeResult {
  std::string bytes;
  size_t total = 0;        // full decoded size, also when bytes stopped at the limit
  bool truncated = false;  // bytes holds only the first `limit` bytes
};
/// Decodes a leaf part's content (transfer encoding undone) reading in chunks: at most `limit`
/// bytes are kept; when `count_all` the rest is still read (not stored) to learn the size.
DecodeResult decode_part(GMimePart* part, size_t limit, bool count_all);
/// Decodes a text part to UTF-8 (charset from the part, fallbacks for missing/unknown ones),
/// at most `limit` bytes of output; warnings go to `w`.
std::string decode_text_part(GMimePart* part, size_t limit, Warnings& w);

/// Keeps the gconv module of a charset loaded for the life of the process: glibc unloads a
/// module soon after its last descriptor closes, and the next conversion dlopens it again.
/// At most 64 charsets; the descriptors stay reachable, so leak checkers do not report them.
void keep_charset_loaded(const std::string& charset);

// --- headers (mime_headers.cpp) -------------------------------------------------------------

/// All <msg-id>s of an In-Reply-To / References value, normalized, in order.
std::vector<std::string> parse_msg_id_list(std::string_view raw);
std::vector<Address> convert_addresses(InternetAddressList* list, size_t cap);
std::string sanitize_filename(std::string_view name);
/// Fills ids, addresses, subject, date, thread and list fields of `out` from the top message.
void read_message_headers(GMimeMessage* msg, ParsedEmail& out, Warnings& w);
/// Lower-case "type/subtype" of an object ("application/octet-stream" if unusable).
std::string media_type_of(GMimeObject* obj);
/// Content-ID without <> and whitespace.
std::string clean_content_id(std::string_view raw);

// --- structure guard (mime_prescan.cpp) -----------------------------------------------------

struct Prescan {
  // Byte ranges of the input to keep, in order; empty means "keep everything".
  std::vector<std::pair<size_t, size_t>> keep;
  std::vector<std::string> warnings;
};
/// A linear pass over the raw message that finds what GMime must not see: nesting deeper than
/// max_depth, parts past max_parts, oversized header fields and header blocks. GMime itself
/// recurses per nesting level and allocates per part and header, so these are cut before it.
Prescan prescan(std::string_view raw, const ParseLimits& limits);

// --- content sniffing (mime_sniff.cpp) ------------------------------------------------------

/// libmagic's MIME type for the content, lower-case; "" when unavailable.
std::string sniff_media_type(std::string_view data);
/// The media type to trust given what was declared and what the bytes look like. Sets
/// *warning when the declared type was overridden for a reason worth telling.
std::string choose_media_type(const std::string& declared, const std::string& sniffed,
                              std::string* warning);

}  // namespace banxway::email::detail
