// libFuzzer target for the MIME ingest path: any bytes through parse_email must come back as an
// error or as a message whose every string is valid UTF-8 — never a crash, hang or leak.
//   scripts/fuzz [SECONDS]   builds this with clang (ASan + UBSan + libFuzzer) and runs it
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "channels/email/mime.hpp"

namespace {

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

void check(std::string_view s) {
  if (!valid_utf8(s) || s.find('\0') != std::string_view::npos) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  banxway::email::ParseLimits limits;
  limits.max_message_bytes = 4u << 20;
  auto r = banxway::email::parse_email(
      std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!r.ok()) return 0;
  const auto& m = *r;
  for (std::string_view s : {std::string_view(m.subject), std::string_view(m.text),
                             std::string_view(m.new_text), std::string_view(m.html),
                             std::string_view(m.message_id), std::string_view(m.in_reply_to)})
    check(s);
  if (m.from) check(m.from->name);
  for (const auto& a : m.to) check(a.name);
  for (const auto& a : m.attachments) check(a.filename);
  for (const auto& w : m.warnings) check(w);
  return 0;
}
