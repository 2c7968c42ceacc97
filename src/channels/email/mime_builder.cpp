// build_email(): validation first (so nothing the caller supplied can inject a header), then the
// MIME tree is assembled with GMime and serialized with CRLF line ends.
//
// Tree shapes:
//   text only                      text/plain
//   text + html                    multipart/alternative(text/plain, html-node)
//   html-node                      text/html, or multipart/related(text/html, inline cid parts)
//   with attachments               multipart/mixed(body, attachments...)
#include "channels/email/mime_builder.hpp"
#include "channels/email/subject.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <unordered_set>

#include "channels/email/mime_internal.hpp"
#include "core/crypto.hpp"

namespace banxway::email {
namespace {

using detail::GObj;

// --- validation ------------------------------------------------------------------------------

Status field_error(const std::string& field, const std::string& what) {
  return InvalidArgument(field + " " + what, "{\"field\":\"" + field + "\"}");
}

// Any value that becomes (part of) a header line: CR/LF would end the header and start a new
// one (injection), NUL is cut by C string APIs (GMime), other controls have no business there.
Status check_header_text(const std::string& field, std::string_view v) {
  for (unsigned char c : v) {
    if (c == '\r' || c == '\n') return field_error(field, "contains CR/LF (header injection)");
    if (c == 0) return field_error(field, "contains a NUL byte");
    if (c < 0x20 && c != '\t') return field_error(field, "contains a control character");
    if (c == 0x7f) return field_error(field, "contains a control character");
  }
  if (!g_utf8_validate(v.data(), static_cast<gssize>(v.size()), nullptr))
    return field_error(field, "is not valid UTF-8");
  return Status::OK();
}

// addr-spec in the plain dot-atom form SMTP servers accept without extensions: ASCII only (no
// SMTPUTF8), no quoted local parts, no domain literals. Strict on purpose: these go into the
// envelope as well, where a stray '>' or space would change the SMTP command.
Status check_addr_spec(const std::string& field, std::string_view a) {
  BX_RETURN_IF_ERROR(check_header_text(field, a));
  if (a.empty()) return field_error(field, "is empty");
  if (a.size() > 254) return field_error(field, "is longer than 254 bytes");
  size_t at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size() ||
      a.find('@', at + 1) != std::string_view::npos)
    return field_error(field, "is not an address of the form local@domain");
  for (unsigned char c : a) {
    if (c <= 0x20 || c >= 0x7f) return field_error(field, "contains a space or non-ASCII byte");
    if (std::string_view("<>()[]\\,;:\"").find(static_cast<char>(c)) != std::string_view::npos)
      return field_error(field, "contains a character not allowed in an address");
  }
  std::string_view domain = a.substr(at + 1);
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return field_error(field, "has a malformed domain");
  return Status::OK();
}

Status check_address(const std::string& field, const Address& a) {
  BX_RETURN_IF_ERROR(check_header_text(field + ".name", a.name));
  return check_addr_spec(field + ".email", a.email);
}

// A msg-id without its <>: printable ASCII, no whitespace, no angle brackets (those would let
// one value smuggle several ids or close the bracket early).
Status check_msg_id(const std::string& field, std::string_view id, bool need_at) {
  BX_RETURN_IF_ERROR(check_header_text(field, id));
  if (id.empty()) return field_error(field, "is empty");
  if (id.size() > 250) return field_error(field, "is longer than 250 bytes");
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
      return field_error(field, "contains whitespace, <, > or a non-ASCII byte");
  if (need_at && id.find('@') == std::string_view::npos)
    return field_error(field, "is not of the form left@right");
  return Status::OK();
}

bool is_token_char(unsigned char c) {
  return c > 0x20 && c < 0x7f &&
         std::string_view("()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) == std::string_view::npos;
}

// "type/subtype" (parameters after ';' are dropped: the builder sets the ones it needs),
// lower-case.
Result<std::pair<std::string, std::string>> parse_media_type(const std::string& field,
                                                             std::string_view mt) {
  BX_RETURN_IF_ERROR(check_header_text(field, mt));
  mt = mt.substr(0, mt.find(';'));
  while (!mt.empty() && (mt.back() == ' ' || mt.back() == '\t')) mt.remove_suffix(1);
  while (!mt.empty() && (mt.front() == ' ' || mt.front() == '\t')) mt.remove_prefix(1);
  if (mt.empty()) return std::make_pair(std::string("application"), std::string("octet-stream"));
  size_t slash = mt.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == mt.size())
    return field_error(field, "is not of the form type/subtype");
  std::string type(mt.substr(0, slash)), sub(mt.substr(slash + 1));
  for (auto* s : {&type, &sub})
    for (auto& c : *s) {
      if (!is_token_char(static_cast<unsigned char>(c)))
        return field_error(field, "is not of the form type/subtype");
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  return std::make_pair(type, sub);
}

// --- Thread-Index (MS-OXOMSG PidTagConversationIndex) -----------------------------------------

constexpr uint64_t kFiletimeUnixOffset = 116444736000000000ull;  // 1601 -> 1970 in 100 ns
constexpr size_t kThreadIndexHeader = 22;
constexpr size_t kThreadIndexChild = 5;
// Beyond this many child blocks the base64 value nears the 998-byte line limit; such a chain is
// restarted rather than extended.
constexpr size_t kMaxThreadIndexChildren = 100;

uint64_t filetime(TimePoint t) {
  auto ms = t.time_since_epoch().count();
  if (ms < 0) ms = 0;
  return static_cast<uint64_t>(ms) * 10000ull + kFiletimeUnixOffset;
}

std::string new_thread_index(TimePoint now) {
  // 0x01 (reserved), the FILETIME's bits 55..16 (5 bytes), then a 16-byte random GUID.
  uint64_t ft = filetime(now);
  std::string out(1, '\x01');
  for (int shift = 48; shift >= 16; shift -= 8)
    out.push_back(static_cast<char>((ft >> shift) & 0xff));
  out += crypto::random_bytes(16);
  return out;
}

// --- subject prefixes ------------------------------------------------------------------------

// --- GMime assembly --------------------------------------------------------------------------

std::string lf_only(std::string_view s) {
  // Bodies are written with one newline convention (LF, turned into CRLF on output); a stray CR
  // would otherwise be quoted-printable-encoded as =0D and show up in the recipient's text.
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

GObj<GMimePart> make_part(const char* type, const char* subtype, std::string_view data,
                          GMimeContentEncoding encoding) {
  GObj<GMimePart> part(g_mime_part_new_with_type(type, subtype));
  GObj<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
  GObj<GMimeDataWrapper> content(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part.get(), content.get());
  g_mime_part_set_content_encoding(part.get(), encoding);
  return part;
}

GObj<GMimePart> make_text_part(const char* subtype, std::string_view text) {
  auto part = make_part("text", subtype, lf_only(text), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  g_mime_object_set_content_type_parameter(GMIME_OBJECT(part.get()), "charset", "utf-8");
  return part;
}

// message/* may not be base64-encoded (RFC 2046 5.2.1); it goes out 7bit when it is 7-bit
// clean with short lines, otherwise as an opaque application/octet-stream attachment.
bool is_7bit_clean(std::string_view d) {
  size_t line = 0;
  for (unsigned char c : d) {
    if (c == 0 || c >= 0x80) return false;
    line = (c == '\n') ? 0 : line + 1;
    if (line > 998) return false;
  }
  return true;
}

GObj<GMimePart> make_attachment(const OutgoingAttachment& a,
                                const std::pair<std::string, std::string>& mt) {
  std::string type = mt.first, sub = mt.second;
  GMimeContentEncoding enc = GMIME_CONTENT_ENCODING_BASE64;
  std::string normalized;  // only for 7bit message/* parts; binary data is never copied here
  std::string_view data = a.data;
  if (type == "message" || type == "multipart") {
    if (type == "message" && is_7bit_clean(a.data)) {
      enc = GMIME_CONTENT_ENCODING_7BIT;
      normalized = lf_only(a.data);
      data = normalized;
    } else {
      type = "application";
      sub = "octet-stream";
    }
  }
  auto part = make_part(type.c_str(), sub.c_str(), data, enc);
  GMimeObject* obj = GMIME_OBJECT(part.get());
  g_mime_object_set_disposition(
      obj, a.is_inline ? GMIME_DISPOSITION_INLINE : GMIME_DISPOSITION_ATTACHMENT);
  if (!a.filename.empty()) {
    g_mime_part_set_filename(part.get(), a.filename.c_str());
    // GMime would pick the "best" legacy charset (iso-8859-15 for "März €"); UTF-8 is what
    // every receiving client decodes reliably.
    for (GMimeParamList* list :
         {g_mime_content_disposition_get_parameters(g_mime_object_get_content_disposition(obj)),
          g_mime_content_type_get_parameters(g_mime_object_get_content_type(obj))})
      for (const char* name : {"filename", "name"})
        if (GMimeParam* p = list ? g_mime_param_list_get_parameter(list, name) : nullptr)
          g_mime_param_set_charset(p, "UTF-8");
  }
  if (!a.content_id.empty()) g_mime_object_set_content_id(obj, a.content_id.c_str());
  return part;
}

// Display names are encoded as UTF-8 (GMime's default is the "best" legacy charset, e.g.
// iso-8859-1, which is legal but less reliably decoded).
void add_mailbox(GMimeMessage* msg, GMimeAddressType type, const Address& a) {
  InternetAddress* ia = internet_address_mailbox_new(a.name.c_str(), a.email.c_str());
  internet_address_set_charset(ia, "UTF-8");
  internet_address_list_add(g_mime_message_get_addresses(msg, type), ia);
  g_object_unref(ia);
}

GObj<GMimeObject> as_object(GObj<GMimePart> p) {
  return GObj<GMimeObject>(GMIME_OBJECT(p.release()));
}
GObj<GMimeObject> as_object(GObj<GMimeMultipart> p) {
  return GObj<GMimeObject>(GMIME_OBJECT(p.release()));
}

void add_to(GMimeMultipart* mp, const GObj<GMimeObject>& child) {
  g_mime_multipart_add(mp, child.get());  // takes its own reference
}

std::string ensure_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 50);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out.push_back('\r');
    out.push_back(s[i]);
  }
  return out;
}

// The References ids to write: parent's chain + in_reply_to, deduplicated, then capped to
// kMaxRefBytes keeping the root and the most recent ids (what threading needs most).
constexpr size_t kMaxRefBytes = 1900;  // folded over several lines by GMime; bounded total size

std::vector<std::string> capped_references(const OutgoingEmail& e) {
  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  for (const auto& r : e.references)
    if (r != e.message_id && seen.insert(r).second) ids.push_back(r);
  if (!e.in_reply_to.empty() && (ids.empty() || ids.back() != e.in_reply_to)) {
    ids.erase(std::remove(ids.begin(), ids.end(), e.in_reply_to), ids.end());
    ids.push_back(e.in_reply_to);
  }
  size_t total = 0;
  for (auto& id : ids) total += id.size() + 3;
  if (total <= kMaxRefBytes || ids.size() < 3) return ids;
  std::vector<std::string> tail;
  size_t used = ids.front().size() + 3;
  for (size_t i = ids.size() - 1; i >= 1; --i) {
    if (used + ids[i].size() + 3 > kMaxRefBytes && !tail.empty()) break;
    used += ids[i].size() + 3;
    tail.push_back(ids[i]);
  }
  std::vector<std::string> out{ids.front()};
  out.insert(out.end(), tail.rbegin(), tail.rend());
  return out;
}

Status validate(const OutgoingEmail& e) {
  BX_RETURN_IF_ERROR(check_address("from", e.from));
  if (e.to.empty() && e.cc.empty() && e.bcc.empty())
    return field_error("to", "is empty: no recipient in to, cc or bcc");
  auto list = [](const char* name, const std::vector<Address>& v) -> Status {
    for (size_t i = 0; i < v.size(); ++i)
      BX_RETURN_IF_ERROR(check_address(std::string(name) + "[" + std::to_string(i) + "]", v[i]));
    return Status::OK();
  };
  BX_RETURN_IF_ERROR(list("to", e.to));
  BX_RETURN_IF_ERROR(list("cc", e.cc));
  BX_RETURN_IF_ERROR(list("bcc", e.bcc));
  BX_RETURN_IF_ERROR(list("reply_to", e.reply_to));
  BX_RETURN_IF_ERROR(check_header_text("subject", e.subject));
  if (!e.message_id.empty()) BX_RETURN_IF_ERROR(check_msg_id("message_id", e.message_id, true));
  if (!e.in_reply_to.empty()) BX_RETURN_IF_ERROR(check_msg_id("in_reply_to", e.in_reply_to, false));
  for (size_t i = 0; i < e.references.size(); ++i)
    BX_RETURN_IF_ERROR(
        check_msg_id("references[" + std::to_string(i) + "]", e.references[i], false));
  BX_RETURN_IF_ERROR(check_header_text("parent_thread_index", e.parent_thread_index));
  BX_RETURN_IF_ERROR(check_header_text("thread_index", e.thread_index));
  // Bodies are declared charset=utf-8; they may hold any line structure but must be UTF-8.
  if (!g_utf8_validate(e.text.data(), static_cast<gssize>(e.text.size()), nullptr) ||
      e.text.find('\0') != std::string::npos)
    return field_error("text", "is not valid UTF-8 (or contains NUL)");
  if (!g_utf8_validate(e.html.data(), static_cast<gssize>(e.html.size()), nullptr) ||
      e.html.find('\0') != std::string::npos)
    return field_error("html", "is not valid UTF-8 (or contains NUL)");
  for (size_t i = 0; i < e.attachments.size(); ++i) {
    const auto& a = e.attachments[i];
    const std::string f = "attachments[" + std::to_string(i) + "]";
    BX_RETURN_IF_ERROR(check_header_text(f + ".filename", a.filename));
    BX_RETURN_IF_ERROR(parse_media_type(f + ".media_type", a.media_type).status());
    if (!a.content_id.empty())
      BX_RETURN_IF_ERROR(check_msg_id(f + ".content_id", a.content_id, false));
  }
  return Status::OK();
}

}  // namespace

std::string reply_subject(std::string_view thread_subject) {
  // Control characters (a folded subject that kept its CRLF) become spaces so the result is
  // always a valid single header value.
  std::string clean(thread_subject);
  for (auto& c : clean)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  std::string_view s = clean;
  for (int i = 0; i < 32 && strip_reply_marker(s); ++i) {
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty()) return "Re:";
  return "Re: " + std::string(s);
}

std::string next_thread_index(std::string_view parent, TimePoint now) {
  std::string cleaned, raw;
  for (char c : parent)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') cleaned.push_back(c);
  bool usable = !cleaned.empty() && crypto::base64_decode(cleaned, &raw) &&
                raw.size() >= kThreadIndexHeader &&
                (raw.size() - kThreadIndexHeader) % kThreadIndexChild == 0 &&
                (raw.size() - kThreadIndexHeader) / kThreadIndexChild < kMaxThreadIndexChildren;
  if (!usable) return crypto::base64_encode(new_thread_index(now));

  // Child block: 1 bit "delta unit", 31 bits of the time since the header's time, 8 random bits.
  // Unit 0 keeps delta bits 48..18 (~1.7 years of range), unit 1 bits 53..23.
  uint64_t parent_ft = 0;
  for (size_t i = 1; i < 6; ++i) parent_ft = (parent_ft << 8) | static_cast<unsigned char>(raw[i]);
  parent_ft <<= 16;
  uint64_t ft = filetime(now) & 0x00ffffffffff0000ull;
  uint64_t delta = ft > parent_ft ? ft - parent_ft : 0;
  uint32_t block;
  if ((delta & 0xfffe000000000000ull) == 0)
    block = static_cast<uint32_t>((delta >> 18) & 0x7fffffff);
  else
    block = 0x80000000u | static_cast<uint32_t>((delta >> 23) & 0x7fffffff);
  for (int shift = 24; shift >= 0; shift -= 8)
    raw.push_back(static_cast<char>((block >> shift) & 0xff));
  raw += crypto::random_bytes(1);
  return crypto::base64_encode(raw);
}

std::vector<std::string> envelope_recipients(const OutgoingEmail& e) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto* list : {&e.to, &e.cc, &e.bcc})
    for (const auto& a : *list) {
      std::string key = a.email;
      for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (seen.insert(key).second) out.push_back(a.email);
    }
  return out;
}

Result<std::string> build_email(const OutgoingEmail& e) {
  BX_RETURN_IF_ERROR(validate(e));
  detail::ensure_gmime();

  const TimePoint when = e.date ? *e.date
                                : std::chrono::time_point_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now());

  GObj<GMimeMessage> msg(g_mime_message_new(TRUE));
  GMimeObject* mobj = GMIME_OBJECT(msg.get());

  add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_FROM, e.from);
  for (const auto& a : e.reply_to) add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_REPLY_TO, a);
  for (const auto& a : e.to) add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_TO, a);
  for (const auto& a : e.cc) add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_CC, a);
  // Bcc deliberately not added: it exists only in the SMTP envelope (envelope_recipients).

  g_mime_message_set_subject(msg.get(), e.subject.c_str(), "utf-8");

  auto secs = std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
  detail::GDate date(g_date_time_new_from_unix_utc(secs));
  if (date) g_mime_message_set_date(msg.get(), date.get());

  if (!e.message_id.empty()) {
    g_mime_message_set_message_id(msg.get(), e.message_id.c_str());
  } else {
    // No id from the caller: still unique, in the sender's domain, so replies can be matched.
    std::string domain = e.from.email.substr(e.from.email.find('@') + 1);
    detail::GChars id(g_mime_utils_generate_message_id(domain.c_str()));
    g_mime_message_set_message_id(msg.get(), id.get());
  }
  if (!e.in_reply_to.empty())
    g_mime_object_set_header(mobj, "In-Reply-To", ("<" + e.in_reply_to + ">").c_str(), nullptr);
  auto refs = capped_references(e);
  if (!refs.empty()) {
    std::string v;
    for (const auto& r : refs) v += (v.empty() ? "<" : " <") + r + ">";
    g_mime_object_set_header(mobj, "References", v.c_str(), nullptr);
  }
  std::string tindex =
      e.thread_index.empty() ? next_thread_index(e.parent_thread_index, when) : e.thread_index;
  g_mime_object_set_header(mobj, "Thread-Index", tindex.c_str(), nullptr);
  if (e.auto_submitted) g_mime_object_set_header(mobj, "Auto-Submitted", "auto-generated", nullptr);
  if (!g_mime_object_get_header(mobj, "MIME-Version"))
    g_mime_object_set_header(mobj, "MIME-Version", "1.0", nullptr);

  // Body tree.
  std::vector<std::pair<std::string, std::string>> types;
  for (const auto& a : e.attachments) types.push_back(*parse_media_type("", a.media_type));

  GObj<GMimeObject> body = as_object(make_text_part("plain", e.text));
  if (!e.html.empty()) {
    GObj<GMimeObject> html = as_object(make_text_part("html", e.html));
    bool any_related = false;
    for (const auto& a : e.attachments) any_related |= a.is_inline && !a.content_id.empty();
    if (any_related) {
      GObj<GMimeMultipart> related(g_mime_multipart_new_with_subtype("related"));
      g_mime_object_set_content_type_parameter(GMIME_OBJECT(related.get()), "type", "text/html");
      add_to(related.get(), html);
      for (size_t i = 0; i < e.attachments.size(); ++i) {
        const auto& a = e.attachments[i];
        if (a.is_inline && !a.content_id.empty())
          add_to(related.get(), as_object(make_attachment(a, types[i])));
      }
      html = as_object(std::move(related));
    }
    GObj<GMimeMultipart> alt(g_mime_multipart_new_with_subtype("alternative"));
    add_to(alt.get(), body);
    add_to(alt.get(), html);
    body = as_object(std::move(alt));
  }
  bool any_mixed = false;
  for (const auto& a : e.attachments)
    any_mixed |= !(a.is_inline && !a.content_id.empty() && !e.html.empty());
  if (any_mixed) {
    GObj<GMimeMultipart> mixed(g_mime_multipart_new_with_subtype("mixed"));
    add_to(mixed.get(), body);
    for (size_t i = 0; i < e.attachments.size(); ++i) {
      const auto& a = e.attachments[i];
      if (a.is_inline && !a.content_id.empty() && !e.html.empty()) continue;  // in related
      add_to(mixed.get(), as_object(make_attachment(a, types[i])));
    }
    body = as_object(std::move(mixed));
  }
  g_mime_message_set_mime_part(msg.get(), body.get());

  GMimeFormatOptions* opts = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(opts, GMIME_NEWLINE_FORMAT_DOS);
  g_mime_format_options_set_param_encoding_method(opts, GMIME_PARAM_ENCODING_METHOD_RFC2231);
  GObj<GMimeStream> out(g_mime_stream_mem_new());
  ssize_t n = g_mime_object_write_to_stream(mobj, opts, out.get());
  g_mime_format_options_free(opts);
  if (n < 0) return Internal("email build: GMime could not serialize the message");
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  std::string_view raw(reinterpret_cast<const char*>(bytes->data), bytes->len);
  // GMime already writes CRLF with the DOS format; this only guarantees it for every body shape.
  return ensure_crlf(raw);
}

}  // namespace banxway::email
