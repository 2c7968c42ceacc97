#include "banxway/status.hpp"

#include <array>

namespace banxway {
namespace {
struct CodeInfo {
  Code code;
  std::string_view name;
  int http;
};
constexpr std::array<CodeInfo, 11> kCodes = {{
    {Code::ok, "ok", 200},
    {Code::invalid_argument, "invalid_argument", 400},
    {Code::not_found, "not_found", 404},
    {Code::already_exists, "already_exists", 409},
    {Code::permission_denied, "permission_denied", 403},
    {Code::unauthenticated, "unauthenticated", 401},
    {Code::conflict, "conflict", 409},
    {Code::payload_too_large, "payload_too_large", 413},
    {Code::rate_limited, "rate_limited", 429},
    {Code::unavailable, "unavailable", 503},
    {Code::internal, "internal", 500},
}};
}  // namespace

std::string_view code_name(Code c) noexcept {
  for (const auto& i : kCodes)
    if (i.code == c) return i.name;
  return "internal";
}

Code code_from_name(std::string_view name) noexcept {
  for (const auto& i : kCodes)
    if (i.name == name) return i.code;
  return Code::internal;
}

int code_http_status(Code c) noexcept {
  for (const auto& i : kCodes)
    if (i.code == c) return i.http;
  return 500;
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string s(code_name(code_));
  s += ": ";
  s += message_;
  return s;
}

}  // namespace banxway
