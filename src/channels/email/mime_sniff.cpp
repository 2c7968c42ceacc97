// Attachment media types checked against the bytes (libmagic): a sender's Content-Type is a
// claim, and a wrong one decides how a browser or a downstream tool treats the file.
#include <magic.h>

#include <algorithm>
#include <array>

#include "channels/email/mime_internal.hpp"

namespace banxway::email::detail {
namespace {

// libmagic only needs the head of a file; also bounds the work on hostile content.
constexpr size_t kSniffBytes = 256 * 1024;

// One libmagic handle per thread: a magic_t must not be shared between threads.
class Magic {
 public:
  Magic() {
    // Never decompress (a zip bomb stays an attachment of its own size), no ELF section walk.
    cookie_ = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
    if (cookie_ && magic_load(cookie_, nullptr) != 0) {
      magic_close(cookie_);
      cookie_ = nullptr;
    }
    if (cookie_) {
      size_t bytes = kSniffBytes;
      magic_setparam(cookie_, MAGIC_PARAM_BYTES_MAX, &bytes);
    }
  }
  ~Magic() {
    if (cookie_) magic_close(cookie_);
  }
  Magic(const Magic&) = delete;
  Magic& operator=(const Magic&) = delete;

  std::string type_of(std::string_view data) {
    if (!cookie_) return {};
    const char* r = magic_buffer(cookie_, data.data(), std::min(data.size(), kSniffBytes));
    if (!r) return {};
    std::string s(r);
    for (char& c : s) c = static_cast<char>(g_ascii_tolower(c));
    return s;
  }

 private:
  magic_t cookie_ = nullptr;
};

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

// Declared types that say nothing about the content.
bool generic_type(std::string_view t) {
  return t.empty() ||
         one_of(t, {"application/octet-stream", "application/unknown", "application/x-unknown",
                    "binary/octet-stream", "application/binary", "application/force-download",
                    "application/x-download", "application/download",
                    "application/x-msdownload-unknown", "unknown/unknown"});
}

// Sniff results too vague to override a specific declared type: text is text, and zip / OLE
// are containers for many specific formats (docx, xlsx, odt, msg, ...).
bool weak_sniff(std::string_view s) {
  return s.empty() || s.starts_with("text/") ||
         one_of(s, {"application/octet-stream", "application/x-empty", "inode/x-empty",
                    "application/zip", "application/x-ole-storage", "application/cdfv2",
                    "application/xml", "application/json", "application/csv"});
}

// Other spellings senders use for the same type.
std::string_view canonical(std::string_view t) {
  static const std::pair<std::string_view, std::string_view> kAliases[] = {
      {"image/jpg", "image/jpeg"},
      {"image/pjpeg", "image/jpeg"},
      {"image/x-png", "image/png"},
      {"application/x-pdf", "application/pdf"},
      {"application/x-gzip", "application/gzip"},
      {"application/x-zip-compressed", "application/zip"},
      {"application/x-zip", "application/zip"}};
  for (auto [alias, name] : kAliases)
    if (t == alias) return name;
  return t;
}

// Declared types whose files always start with a recognizable signature: when the bytes do
// not carry it, the claim is false even if libmagic cannot say what the file really is.
bool strong_magic_type(std::string_view t) {
  return one_of(canonical(t),
                {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff",
                 "application/pdf", "application/zip", "application/gzip"});
}

}  // namespace

std::string sniff_media_type(std::string_view data) {
  thread_local Magic magic;
  return magic.type_of(data);
}

std::string choose_media_type(const std::string& declared, const std::string& sniffed,
                              std::string* warning) {
  if (sniffed.empty() || sniffed == declared)
    return generic_type(declared) ? "application/octet-stream" : declared;
  if (canonical(declared) == sniffed) return sniffed;
  if (generic_type(declared)) {
    return one_of(sniffed, {"application/x-empty", "inode/x-empty"}) ? "application/octet-stream"
                                                                     : sniffed;
  }
  if (strong_magic_type(declared)) {
    if (one_of(sniffed, {"application/x-empty", "inode/x-empty"})) return declared;
    if (warning) *warning = "declared " + declared + " but content is " + sniffed;
    return weak_sniff(sniffed) ? "application/octet-stream" : sniffed;
  }
  if (weak_sniff(sniffed)) return declared;
  // A specific claim contradicted by a specific signature: the bytes decide, since they are
  // what any program opening the file will act on.
  if (warning) *warning = "declared " + declared + " but content is " + sniffed;
  return sniffed;
}

}  // namespace banxway::email::detail
