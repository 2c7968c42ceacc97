// Header fields of a parsed message: ids for threading, addresses, subject, date, Outlook thread
// headers, list / auto-reply markers, and the attachment filename and media-type helpers.
#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "channels/email/mime_internal.hpp"

namespace banxway::email {
namespace {

constexpr size_t kMaxIdBytes = 998;        // RFC 5322 line limit; longer "ids" are junk
constexpr size_t kMaxReferences = 100;     // the newest ids are the ones threading uses
constexpr size_t kMaxAddresses = 1000;     // per field; protects against address-list bombs
constexpr size_t kMaxSubjectBytes = 4096;  // a subject longer than this is not a subject
constexpr size_t kMaxFilenameBytes = 255;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits a msg-id list into the raw ids, skipping comments and quoted strings outside <>;
// ids without angle brackets are returned as whitespace-separated tokens.
std::vector<std::string> raw_ids(std::string_view s) {
  std::vector<std::string> angled, bare;
  std::string cur, token;
  int comment = 0;
  bool angle = false, quoted = false;
  auto flush_token = [&] {
    if (!token.empty()) bare.push_back(std::move(token));
    token.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (angle) {
      if (c == '>') {
        angled.push_back(std::move(cur));
        cur.clear();
        angle = false;
      } else if (!is_space(c)) {
        cur += c;
      }
      continue;
    }
    if (quoted) {
      if (c == '\\' && i + 1 < s.size())
        ++i;
      else if (c == '"')
        quoted = false;
      continue;
    }
    if (comment > 0) {
      if (c == '\\' && i + 1 < s.size())
        ++i;
      else if (c == '(')
        ++comment;
      else if (c == ')')
        --comment;
      continue;
    }
    if (c == '(') {
      flush_token();
      comment = 1;
    } else if (c == '<') {
      flush_token();
      angle = true;
    } else if (c == '"') {
      flush_token();
      quoted = true;
    } else if (is_space(c) || c == ',') {
      flush_token();
    } else {
      token += c;
    }
  }
  flush_token();
  if (!angled.empty()) return angled;
  // Without brackets only tokens shaped like ids count ("foo@bar"), not stray words.
  std::vector<std::string> ids;
  for (auto& t : bare)
    if (t.find('@') != std::string::npos) ids.push_back(std::move(t));
  return ids;
}

// Validates one bare id and lower-cases its domain; "" if unusable.
std::string finish_id(std::string id) {
  if (id.empty() || id.size() > kMaxIdBytes) return {};
  for (char c : id) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '<' || c == '>') return {};
  }
  std::string s = std::move(id);
  if (detail::repair_utf8(s)) return {};
  const size_t at = s.rfind('@');
  if (at != std::string::npos)
    for (size_t i = at + 1; i < s.size(); ++i) s[i] = static_cast<char>(g_ascii_tolower(s[i]));
  return s;
}

std::string header(GMimeObject* obj, const char* name) {
  const char* v = g_mime_object_get_header(obj, name);
  return v ? std::string(v) : std::string();
}

std::string first_token_lower(std::string_view v) {
  std::string t;
  for (char c : v) {
    if (c == ';' || c == '(' || (is_space(c) && !t.empty())) break;
    if (!is_space(c)) t += static_cast<char>(g_ascii_tolower(c));
  }
  return t;
}

void add_address(InternetAddress* ia, std::vector<Address>& out, size_t cap, int depth) {
  if (!ia || out.size() >= cap) return;
  if (INTERNET_ADDRESS_IS_GROUP(ia)) {
    // Groups ("undisclosed-recipients: a@b;") flatten to their members; they cannot nest
    // legally, the depth check only guards against a parser that allows it.
    if (depth > 2) return;
    InternetAddressList* members = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
    const int n = members ? internet_address_list_length(members) : 0;
    for (int i = 0; i < n && out.size() < cap; ++i)
      add_address(internet_address_list_get_address(members, i), out, cap, depth + 1);
    return;
  }
  if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) return;
  const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
  Address a;
  a.email = detail::clean_line(addr ? addr : "");
  a.email.erase(std::remove(a.email.begin(), a.email.end(), ' '), a.email.end());
  if (a.email.empty()) return;
  const size_t at = a.email.rfind('@');
  if (at != std::string::npos)
    for (size_t i = at + 1; i < a.email.size(); ++i)
      a.email[i] = static_cast<char>(g_ascii_tolower(a.email[i]));
  const char* name = internet_address_get_name(ia);
  a.name = detail::clean_line(name ? name : "");
  out.push_back(std::move(a));
}

std::optional<TimePoint> parse_date(const std::string& value) {
  if (value.empty()) return std::nullopt;
  detail::GDate d(g_mime_utils_header_decode_date(value.c_str()));
  if (!d) return std::nullopt;
  // Years outside this range come from broken clocks or mangled headers, not real mail.
  const int year = g_date_time_get_year(d.get());
  if (year < 1970 || year > 2200) return std::nullopt;
  return TimePoint(std::chrono::milliseconds(g_date_time_to_unix(d.get()) * 1000));
}

// Invisible characters that make "gpj.exe" display as "exe.jpg" and the like.
bool is_bidi_or_invisible(std::string_view s, size_t i, size_t* len) {
  static const char* const kSeqs[] = {"\u200E", "\u200F", "\u202A", "\u202B", "\u202C", "\u202D",
                                      "\u202E", "\u2066", "\u2067", "\u2068", "\u2069", "\uFEFF"};
  for (const char* q : kSeqs) {
    const std::string_view sv(q);
    if (s.substr(i, sv.size()) == sv) {
      *len = sv.size();
      return true;
    }
  }
  return false;
}

}  // namespace

std::string normalize_message_id(std::string_view raw) {
  auto ids = raw_ids(raw);
  return ids.empty() ? std::string() : finish_id(std::move(ids.front()));
}

namespace detail {

std::vector<std::string> parse_msg_id_list(std::string_view raw) {
  std::vector<std::string> out;
  for (auto& id : raw_ids(raw)) {
    std::string s = finish_id(std::move(id));
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

std::vector<Address> convert_addresses(InternetAddressList* list, size_t cap) {
  std::vector<Address> out;
  const int n = list ? internet_address_list_length(list) : 0;
  for (int i = 0; i < n && out.size() < cap; ++i)
    add_address(internet_address_list_get_address(list, i), out, cap, 0);
  return out;
}

std::string sanitize_filename(std::string_view name) {
  std::string s(name);
  repair_utf8(s);
  const size_t slash = s.find_last_of("/\\");
  if (slash != std::string::npos) s.erase(0, slash + 1);  // never a path, only a name
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t skip = 0;
    if (c < 0x20 || c == 0x7F) {
      out += ' ';
      ++i;
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      i += 2;  // C1 controls U+0080..U+009F
    } else if (is_bidi_or_invisible(s, i, &skip)) {
      i += skip;
    } else {
      out += s[i++];
    }
  }
  out = clean_line(out);
  // Leading dots hide files, trailing dots and spaces are dropped by Windows.
  while (!out.empty() && out.front() == '.') out.erase(0, 1);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  while (!out.empty() && out.front() == ' ') out.erase(0, 1);
  if (out.size() > kMaxFilenameBytes) {
    const size_t dot = out.rfind('.');
    std::string ext = (dot != std::string::npos && out.size() - dot <= 16) ? out.substr(dot) : "";
    out.resize(out.size() - ext.size());
    truncate_utf8(out, kMaxFilenameBytes - ext.size());
    out += ext;
  }
  return out;
}

std::string clean_content_id(std::string_view raw) {
  auto ids = raw_ids(raw);
  if (ids.empty()) {
    // Content-IDs without '@' are common ("image001"), so take the bare token as it is.
    std::string t = clean_line(raw);
    t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
    if (!t.empty() && t.front() == '<') t.erase(0, 1);
    if (!t.empty() && t.back() == '>') t.pop_back();
    return t.size() > kMaxIdBytes ? std::string() : t;
  }
  std::string id = std::move(ids.front());
  repair_utf8(id);
  return id.size() > kMaxIdBytes ? std::string() : id;
}

std::string media_type_of(GMimeObject* obj) {
  GMimeContentType* ct = obj ? g_mime_object_get_content_type(obj) : nullptr;
  const char* t = ct ? g_mime_content_type_get_media_type(ct) : nullptr;
  const char* st = ct ? g_mime_content_type_get_media_subtype(ct) : nullptr;
  if (!t || !st || !*t || !*st) return "application/octet-stream";
  std::string r = std::string(t) + "/" + st;
  for (char& c : r) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '"' || c == '<' || c == '>')
      return "application/octet-stream";
    c = static_cast<char>(g_ascii_tolower(c));
  }
  return r.size() > 255 ? "application/octet-stream" : r;
}

void read_message_headers(GMimeMessage* msg, ParsedEmail& out, Warnings& w) {
  GMimeObject* obj = GMIME_OBJECT(msg);
  out.message_id = normalize_message_id(header(obj, "Message-ID"));
  if (out.message_id.empty() && g_mime_object_get_header(obj, "Message-ID"))
    w.add("unusable Message-ID ignored");

  auto irt = parse_msg_id_list(header(obj, "In-Reply-To"));
  if (!irt.empty()) out.in_reply_to = irt.front();

  // References: first occurrence wins (it keeps the root-to-parent order), own id dropped.
  std::unordered_set<std::string> seen;
  if (!out.message_id.empty()) seen.insert(out.message_id);
  for (auto& id : parse_msg_id_list(header(obj, "References")))
    if (seen.insert(id).second) out.references.push_back(std::move(id));
  if (out.references.size() > kMaxReferences)
    out.references.erase(out.references.begin(),
                         out.references.end() - static_cast<std::ptrdiff_t>(kMaxReferences));

  out.thread_index = clean_line(header(obj, "Thread-Index"));
  out.thread_topic = clean_line(header(obj, "Thread-Topic"));
  truncate_utf8(out.thread_topic, kMaxSubjectBytes);

  auto from = convert_addresses(g_mime_message_get_from(msg), 1);
  if (!from.empty()) out.from = std::move(from.front());
  out.to = convert_addresses(g_mime_message_get_to(msg), kMaxAddresses);
  out.cc = convert_addresses(g_mime_message_get_cc(msg), kMaxAddresses);
  out.reply_to = convert_addresses(g_mime_message_get_reply_to(msg), kMaxAddresses);

  const char* subject = g_mime_message_get_subject(msg);
  out.subject = clean_line(subject ? subject : "");
  if (out.subject.size() > kMaxSubjectBytes) {
    truncate_utf8(out.subject, kMaxSubjectBytes);
    w.add("subject truncated at " + std::to_string(kMaxSubjectBytes) + " bytes");
  }

  const std::string date = header(obj, "Date");
  out.date = parse_date(date);
  if (!out.date) w.add(date.empty() ? "no Date header" : "unparseable Date header ignored");

  const std::string auto_sub = first_token_lower(header(obj, "Auto-Submitted"));
  const std::string precedence = first_token_lower(header(obj, "Precedence"));
  const char* list_id = g_mime_object_get_header(obj, "List-Id");
  out.auto_submitted = (!auto_sub.empty() && auto_sub != "no") || precedence == "bulk" ||
                       precedence == "list" || precedence == "junk" || list_id;
  if (list_id) {
    auto ids = raw_ids(list_id);  // "Maven Developers <dev.maven.apache.org>"
    std::string id = ids.empty() ? clean_line(list_id) : ids.front();
    repair_utf8(id);
    for (char& c : id) c = static_cast<char>(g_ascii_tolower(c));
    truncate_utf8(id, kMaxIdBytes);
    out.list_id = std::move(id);
  }
}

}  // namespace detail
}  // namespace banxway::email
