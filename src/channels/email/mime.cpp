// parse_email(): raw bytes -> ParsedEmail. Order of work:
//   1. cheap checks on the raw bytes (size, emptiness, does it start like a message),
//   2. the structure guard (mime_prescan.cpp) cuts what would exceed the limits,
//   3. GMime builds the MIME tree; its parser warnings are collected,
//   4. one walk over the tree collects text, HTML and attachments, enforcing limits as it goes,
//   5. HTML is sanitized (cid references found there mark inline images), text is derived from
//      HTML when there is no text part, and the reply is split from history and signature.

#include <algorithm>
#include <mutex>

#include "channels/email/html.hpp"
#include "channels/email/mime_internal.hpp"
#include "channels/email/quote.hpp"

namespace banxway::email {
namespace detail {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_mime_init();
    // glibc loads a gconv module (CP1252.so, ISO8859-1.so, ...) on iconv_open and unloads it
    // soon after the last iconv_close, so every message with 8-bit headers or a Latin-1 part
    // paid a dlopen (mmap, relocation) — about 2.5 % of ingest time. One descriptor per
    // common mail charset, held for the life of the process, keeps those modules loaded; the
    // decoder pins the other charsets it meets (keep_charset_loaded, mime_text.cpp).
    static const char* const kCommon[] = {"windows-1252", "iso-8859-1", "iso-8859-15",
                                          "iso-8859-2",   "windows-1250", "windows-1251",
                                          "koi8-r"};
    for (const char* cs : kCommon) keep_charset_loaded(cs);
  });
}

namespace {
constexpr size_t kMaxWarnings = 64;
}

void Warnings::add(std::string w) {
  if (std::find(list_.begin(), list_.end(), w) != list_.end()) return;
  if (list_.size() >= kMaxWarnings) {
    ++dropped_;
    return;
  }
  list_.push_back(std::move(w));
}

std::vector<std::string> Warnings::take() {
  if (dropped_) list_.push_back("and " + std::to_string(dropped_) + " more warnings");
  dropped_ = 0;
  return std::move(list_);
}

}  // namespace detail

namespace {

using namespace detail;

constexpr size_t kMaxAttachmentName = 64;  // of a name quoted inside a warning

const char* gmime_warning_text(GMimeParserWarning code) {
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
      return "duplicated header";
    case GMIME_WARN_DUPLICATED_PARAMETER:
      return "duplicated header parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
      return "unencoded 8-bit header";
    case GMIME_WARN_INVALID_CONTENT_TYPE:
      return "invalid Content-Type";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      return "invalid RFC 2047 encoded word";
    case GMIME_WARN_MALFORMED_MULTIPART:
      return "malformed multipart";
    case GMIME_WARN_TRUNCATED_MESSAGE:
      return "truncated message";
    case GMIME_WARN_MALFORMED_MESSAGE:
      return "malformed message";
    case GMIME_CRIT_INVALID_HEADER_NAME:
      return "invalid header name";
    case GMIME_CRIT_CONFLICTING_HEADER:
      return "conflicting header";
    case GMIME_CRIT_CONFLICTING_PARAMETER:
      return "conflicting header parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
      return "multipart without boundary";
    case GMIME_WARN_INVALID_PARAMETER:
      return "invalid header parameter";
    case GMIME_WARN_INVALID_ADDRESS_LIST:
      return "invalid address list";
    case GMIME_CRIT_NESTING_OVERFLOW:
      return "MIME nesting overflow";
    case GMIME_WARN_PART_WITHOUT_CONTENT:
      return "MIME part without content";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      return "MIME part without headers or content";
  }
  return "MIME parser warning";
}

void on_gmime_warning(gint64, GMimeParserWarning code, const gchar* item, gpointer user) {
  auto* w = static_cast<Warnings*>(user);
  std::string text = gmime_warning_text(code);
  // Only header names are worth quoting; items of other warnings are raw message content.
  if (item && (code == GMIME_WARN_DUPLICATED_HEADER || code == GMIME_WARN_UNENCODED_8BIT_HEADER ||
               code == GMIME_CRIT_CONFLICTING_HEADER || code == GMIME_WARN_INVALID_ADDRESS_LIST)) {
    std::string name = clean_line(std::string_view(item).substr(0, 64));
    const size_t colon = name.find(':');
    if (colon != std::string::npos) name.resize(colon);
    if (!name.empty()) text += ": " + name;
  }
  w->add(std::move(text));
}

std::string lower(const char* s) {
  std::string r = s ? s : "";
  for (char& c : r) c = static_cast<char>(g_ascii_tolower(c));
  return r;
}

// Does the subtree hold a leaf of this type? Only content types are looked at.
bool contains_type(GMimeObject* obj, const char* type, int budget) {
  if (!obj || budget <= 0) return false;
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    const int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i)
      if (contains_type(g_mime_multipart_get_part(mp, i), type, budget - 1)) return true;
    return false;
  }
  return GMIME_IS_PART(obj) && media_type_of(obj) == type;
}

struct Flags {
  bool skip_plain = false;  // an alternative already supplied the plain text
  bool skip_html = false;   // an alternative already supplied the HTML
};

class Walker {
 public:
  Walker(const ParseLimits& l, Warnings& w, ParsedEmail& out) : limits_(l), w_(w), out_(out) {}

  void walk(GMimeObject* obj, int depth, Flags f) {
    if (!obj) return;
    if (depth > limits_.max_depth) {
      w_.add("MIME nesting deeper than " + std::to_string(limits_.max_depth) + " levels truncated");
      return;
    }
    if (++parts_ > limits_.max_parts) {
      w_.add("more than " + std::to_string(limits_.max_parts) + " MIME parts: the rest ignored");
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) return add_message(GMIME_MESSAGE_PART(obj));
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      const int n = g_mime_multipart_get_count(mp);
      const std::string sub = media_type_of(obj);
      if (sub == "multipart/alternative") return walk_alternative(mp, n, depth, f);
      // A signed body is its first child; the signature blob is not content for people.
      if (GMIME_IS_MULTIPART_SIGNED(obj) || sub == "multipart/signed") {
        if (n > 0) walk(g_mime_multipart_get_part(mp, 0), depth + 1, f);
        return;
      }
      for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1, f);
      return;
    }
    if (GMIME_IS_PART(obj)) leaf(GMIME_PART(obj), f);
  }

  std::vector<std::string> texts, htmls;

 private:
  void walk_alternative(GMimeMultipart* mp, int n, int depth, Flags f) {
    // The richest HTML alternative is the last one holding HTML; the plain one is the last
    // other child holding text/plain. Other leaves (a calendar invite) are kept as files.
    int html_i = -1, plain_i = -1;
    for (int i = 0; i < n; ++i) {
      GMimeObject* c = g_mime_multipart_get_part(mp, i);
      if (contains_type(c, "text/html", limits_.max_depth)) html_i = i;
    }
    for (int i = 0; i < n; ++i) {
      GMimeObject* c = g_mime_multipart_get_part(mp, i);
      if (i != html_i && contains_type(c, "text/plain", limits_.max_depth)) plain_i = i;
    }
    if (html_i < 0 && plain_i < 0) {
      for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1, f);
      return;
    }
    for (int i = 0; i < n; ++i) {
      GMimeObject* c = g_mime_multipart_get_part(mp, i);
      if (i == plain_i) {
        Flags g = f;
        g.skip_html = true;
        walk(c, depth + 1, g);
      } else if (i == html_i) {
        Flags g = f;
        g.skip_plain = g.skip_plain || plain_i >= 0;
        walk(c, depth + 1, g);
      } else if (GMIME_IS_PART(c)) {
        const std::string t = media_type_of(c);
        if (t != "text/plain" && t != "text/html") walk(c, depth + 1, f);
      }
    }
  }

  void leaf(GMimePart* part, Flags f) {
    GMimeObject* obj = GMIME_OBJECT(part);
    const std::string type = media_type_of(obj);
    const std::string disposition = lower(g_mime_object_get_disposition(obj));
    const char* filename = g_mime_part_get_filename(part);
    const bool body_text = (type == "text/plain" || type == "text/html") &&
                           disposition != "attachment" && (!filename || !*filename);
    if (body_text) {
      const bool html = type == "text/html";
      if (html ? f.skip_html : f.skip_plain) return;
      size_t& used = html ? html_bytes_ : text_bytes_;
      if (used >= limits_.max_text_bytes) {
        w_.add("text truncated at " + std::to_string(limits_.max_text_bytes) + " bytes");
        return;
      }
      std::string s = decode_text_part(part, limits_.max_text_bytes - used, w_);
      used += s.size();
      (html ? htmls : texts).push_back(std::move(s));
      return;
    }

    Attachment a;
    a.declared_type = type;
    a.filename = sanitize_filename(filename ? filename : "");
    a.content_id = clean_content_id(header_or_empty(obj, "Content-Id"));
    a.is_inline = disposition == "inline";
    const size_t room = limits_.max_total_attachment_bytes -
                        std::min(limits_.max_total_attachment_bytes, attachment_bytes_);
    const size_t cap = std::min(limits_.max_attachment_bytes, room);
    // Reads to the end even past the cap (without keeping the bytes) to report the size.
    DecodeResult d = decode_part(part, cap, true);
    if (d.truncated) {
      drop_warning(a.filename, d.total, cap < limits_.max_attachment_bytes);
      return;
    }
    if (type == "message/rfc822" || type == "message/global")
      a.filename = eml_filename(subject_of(d.bytes), GMIME_OBJECT(part));
    std::string why;
    a.media_type = choose_media_type(type, sniff_media_type(d.bytes), &why);
    if (!why.empty()) w_.add(why + " (" + name_for_warning(a.filename) + ")");
    a.data = std::move(d.bytes);
    attachment_bytes_ += a.data.size();
    out_.attachments.push_back(std::move(a));
  }

  // message/rfc822: one attachment holding the embedded message; its text stays out of the
  // parent's text (it is history or a forwarded document, not what the sender wrote).
  void add_message(GMimeMessagePart* mp) {
    GMimeObject* obj = GMIME_OBJECT(mp);
    GMimeMessage* inner = g_mime_message_part_get_message(mp);
    Attachment a;
    a.declared_type = media_type_of(obj);
    a.media_type = "message/rfc822";
    const char* subject =
        inner ? g_mime_object_get_header(GMIME_OBJECT(inner), "Subject") : nullptr;
    std::string name = eml_filename(subject ? subject : "", obj);
    a.filename = std::move(name);
    a.content_id = clean_content_id(header_or_empty(obj, "Content-Id"));
    a.is_inline = lower(g_mime_object_get_disposition(obj)) == "inline";
    if (inner) {
      GObj<GMimeStream> mem(g_mime_stream_mem_new());
      g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, mem.get());
      GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
      if (bytes) a.data.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
    }
    const size_t room = limits_.max_total_attachment_bytes -
                        std::min(limits_.max_total_attachment_bytes, attachment_bytes_);
    const size_t cap = std::min(limits_.max_attachment_bytes, room);
    if (a.data.size() > cap) {
      drop_warning(a.filename, a.data.size(), cap < limits_.max_attachment_bytes);
      return;
    }
    attachment_bytes_ += a.data.size();
    out_.attachments.push_back(std::move(a));
  }

  // An attached message is named after its subject ("Booking 123.eml"), else as declared.
  static std::string eml_filename(std::string subject, GMimeObject* obj) {
    std::string name = clean_line(subject);
    // A subject is not a path: "Booking 1/2" must keep both halves in the file name.
    std::replace(name.begin(), name.end(), '/', ' ');
    std::replace(name.begin(), name.end(), '\\', ' ');
    if (name.empty()) {
      const char* declared =
          GMIME_IS_PART(obj) ? g_mime_part_get_filename(GMIME_PART(obj)) : nullptr;
      if (!declared) declared = g_mime_object_get_content_disposition_parameter(obj, "filename");
      if (!declared) declared = g_mime_object_get_content_type_parameter(obj, "name");
      name = declared ? declared : "message";
    }
    truncate_utf8(name, 240);
    if (!name.ends_with(".eml")) name += ".eml";
    return sanitize_filename(name);
  }

  // The Subject of a message held as bytes (GMime keeps a transfer-encoded message/rfc822 as
  // a leaf part); only the header block is parsed.
  static std::string subject_of(std::string_view data) {
    size_t end = data.find("\n\n");
    const size_t crlf = data.find("\r\n\r\n");
    if (crlf != std::string_view::npos && (end == std::string_view::npos || crlf < end)) end = crlf;
    if (end == std::string_view::npos || end > (256u << 10)) return {};
    GObj<GMimeStream> s(g_mime_stream_mem_new_with_buffer(data.data(), end + 1));
    GObj<GMimeParser> p(g_mime_parser_new_with_stream(s.get()));
    GObj<GMimeMessage> m(g_mime_parser_construct_message(p.get(), nullptr));
    const char* subject = m ? g_mime_object_get_header(GMIME_OBJECT(m.get()), "Subject") : nullptr;
    return subject ? subject : "";
  }

  static std::string header_or_empty(GMimeObject* obj, const char* name) {
    const char* v = g_mime_object_get_header(obj, name);
    return v ? v : "";
  }

  static std::string name_for_warning(const std::string& filename) {
    std::string n = filename.empty() ? "unnamed" : filename;
    truncate_utf8(n, kMaxAttachmentName);
    return n;
  }

  void drop_warning(const std::string& filename, size_t size, bool total) {
    w_.add(std::string(total ? "attachment over total attachment limit dropped: "
                             : "attachment over limit dropped: ") +
           name_for_warning(filename) + " (" + std::to_string(size) + " bytes)");
  }

  const ParseLimits& limits_;
  Warnings& w_;
  ParsedEmail& out_;
  int parts_ = 0;
  size_t text_bytes_ = 0, html_bytes_ = 0, attachment_bytes_ = 0;
};

// Skips a UTF-8 byte-order mark (files saved by editors), an mbox "From " separator and blank
// lines before the header block.
std::string_view strip_envelope(std::string_view raw) {
  if (raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
  if (raw.starts_with("From ")) {
    const size_t nl = raw.find('\n');
    raw = nl == std::string_view::npos ? std::string_view() : raw.substr(nl + 1);
  }
  while (!raw.empty() && (raw.front() == '\r' || raw.front() == '\n')) raw.remove_prefix(1);
  return raw;
}

// A message starts with a header field: a name of printable ASCII without ':' and then ':'.
bool starts_with_header_field(std::string_view raw) {
  size_t i = 0;
  while (i < raw.size() && i < 1000) {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == ':') return i > 0;
    if (c < 0x21 || c > 0x7E) break;
    ++i;
  }
  // Obsolete syntax allows white space before the colon ("Subject : x").
  while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) ++i;
  return i > 0 && i < raw.size() && raw[i] == ':';
}

void join_into(std::string& dst, const std::vector<std::string>& parts) {
  for (const auto& p : parts) {
    if (p.find_first_not_of(" \t\n") == std::string::npos) continue;
    if (!dst.empty() && dst.back() != '\n') dst += '\n';
    dst += p;
  }
}

void trim_text(std::string& s) {
  const size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) {
    s.clear();
    return;
  }
  s.erase(0, b);
  s.erase(s.find_last_not_of(" \t\n") + 1);
}

Result<ParsedEmail> parse_impl(std::string_view raw, const ParseLimits& limits,
                               const HtmlOptions& html_opts) {
  if (raw.size() > limits.max_message_bytes || raw.size() > G_MAXUINT)
    return PayloadTooLarge("message is " + std::to_string(raw.size()) + " bytes; the limit is " +
                           std::to_string(limits.max_message_bytes));
  raw = strip_envelope(raw);
  if (raw.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return InvalidArgument("empty message");
  if (!starts_with_header_field(raw))
    return InvalidArgument("not an email message: the input does not start with a header field");

  ensure_gmime();
  Warnings w;
  Prescan guard = prescan(raw, limits);
  for (auto& s : guard.warnings) w.add(std::move(s));

  GByteArray* bytes = g_byte_array_sized_new(static_cast<guint>(raw.size()));
  if (guard.keep.empty()) {
    g_byte_array_append(bytes, reinterpret_cast<const guint8*>(raw.data()),
                        static_cast<guint>(raw.size()));
  } else {
    for (auto [a, b] : guard.keep)
      g_byte_array_append(bytes, reinterpret_cast<const guint8*>(raw.data() + a),
                          static_cast<guint>(b - a));
  }
  GObj<GMimeStream> stream(g_mime_stream_mem_new_with_byte_array(bytes));
  g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream.get()), TRUE);

  GParserOptions opts(g_mime_parser_options_new());
  // Real mail breaks the rules: accept encoded words and parameters where they are not allowed,
  // and undeclared 8-bit headers are UTF-8 or else Windows-1252.
  g_mime_parser_options_set_rfc2047_compliance_mode(opts.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode(opts.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_address_compliance_mode(opts.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_allow_addresses_without_domain(opts.get(), TRUE);
  const char* fallback[] = {"utf-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(opts.get(), fallback);
  g_mime_parser_options_set_warning_callback(opts.get(), on_gmime_warning, &w);

  GObj<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GObj<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), opts.get()));
  if (!msg) return InvalidArgument("not an email message: no header block could be parsed");
  // GMime files Content-* fields under the body part, so a message with only those is fine.
  auto field_count = [](GMimeObject* o) {
    GMimeHeaderList* h = o ? g_mime_object_get_header_list(o) : nullptr;
    return h ? g_mime_header_list_get_count(h) : 0;
  };
  if (field_count(GMIME_OBJECT(msg.get())) == 0 &&
      field_count(g_mime_message_get_mime_part(msg.get())) == 0)
    return InvalidArgument("not an email message: no header fields");

  ParsedEmail out;
  read_message_headers(msg.get(), out, w);

  Walker walker(limits, w, out);
  walker.walk(g_mime_message_get_mime_part(msg.get()), 0, Flags{});

  join_into(out.text, walker.texts);
  const bool need_text = out.text.empty();
  std::vector<std::string> cids;
  std::string derived;
  for (const auto& h : walker.htmls) {
    HtmlRender r = render_html(h, html_opts, need_text);
    if (!out.html.empty() && !r.html.empty()) out.html += '\n';
    out.html += r.html;
    if (need_text && !r.text.empty()) {
      if (!derived.empty()) derived += '\n';
      derived += r.text;
    }
    cids.insert(cids.end(), r.cids.begin(), r.cids.end());
    for (auto& s : r.warnings) w.add(std::move(s));
  }
  if (need_text) out.text = std::move(derived);
  trim_text(out.text);
  truncate_utf8(out.text, limits.max_text_bytes);  // links spelled out can lengthen it

  // An image the HTML shows by cid is part of the body even if declared an attachment.
  for (auto& a : out.attachments) {
    if (a.content_id.empty()) continue;
    for (const auto& c : cids) {
      if (c == a.content_id || g_ascii_strcasecmp(c.c_str(), a.content_id.c_str()) == 0) {
        a.is_inline = true;
        break;
      }
    }
  }

  ReplySplit split = split_reply(out.text);
  out.new_text = std::move(split.new_text);
  out.signature = std::move(split.signature);

  out.warnings = w.take();
  return out;
}

}  // namespace

Result<ParsedEmail> parse_email(std::string_view raw, const ParseLimits& limits,
                                const HtmlOptions& html) {
  try {
    return parse_impl(raw, limits, html);
  } catch (const std::bad_alloc&) {
    return Internal("email parse ran out of memory");
  } catch (const std::exception& e) {
    return Internal(std::string("email parse failed: ") + e.what());
  }
}

}  // namespace banxway::email
