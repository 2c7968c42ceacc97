#include "sched/zone.hpp"

#include <exception>
#include <string>

namespace banxway::sched {

Result<const date::time_zone*> find_zone(std::string_view iana_name) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("unknown time zone \"" + std::string(iana_name.substr(0, 64)) +
                           "\": " + std::string(why));
  };
  if (iana_name.empty()) return bad("empty name (expected an IANA name such as Europe/Berlin)");
  if (iana_name.size() > 64) return bad("name too long");
  for (char c : iana_name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return bad("not an IANA zone name (letters, digits, '/', '_', '-', '+')");
  }
  try {
    return date::locate_zone(std::string(iana_name));
  } catch (const std::exception&) {
    return bad("not in the time zone database (expected an IANA name such as Europe/Berlin)");
  }
}

date::sys_seconds to_instant(const date::time_zone* tz, date::local_seconds local, bool latest) {
  date::local_info info = tz->get_info(local);
  date::sys_seconds naive{local.time_since_epoch()};
  switch (info.result) {
    case date::local_info::nonexistent:
      return info.first.end;  // == info.second.begin: where the clock jumps to
    case date::local_info::ambiguous:
      return naive - (latest ? info.second.offset : info.first.offset);
    default:
      return naive - info.first.offset;
  }
}

}  // namespace banxway::sched
