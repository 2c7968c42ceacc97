// Status and Result<T>: the error model used everywhere inside libbanxway.
// An OK Status carries no allocation; errors carry a code, a message naming the problem,
// and optionally a JSON object with details (for example which field was wrong).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace banxway {

enum class Code : int {
  ok = 0,
  invalid_argument,
  not_found,
  already_exists,
  permission_denied,
  unauthenticated,
  conflict,
  payload_too_large,
  rate_limited,
  unavailable,
  internal,
};

/// Stable lower-case name of a code ("not_found"); these names are part of the API contract.
std::string_view code_name(Code c) noexcept;
/// Inverse of code_name; unknown names map to Code::internal.
Code code_from_name(std::string_view name) noexcept;
/// HTTP status matching a code (404 for not_found, ...).
int code_http_status(Code c) noexcept;

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;
  Status(Code code, std::string message, std::string details_json = {})
      : code_(code), message_(std::move(message)), details_(std::move(details_json)) {}

  static Status OK() noexcept { return Status(); }

  bool ok() const noexcept { return code_ == Code::ok; }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  /// JSON object text with extra information, or empty.
  const std::string& details() const noexcept { return details_; }
  std::string to_string() const;

 private:
  Code code_ = Code::ok;
  std::string message_;
  std::string details_;
};

inline Status InvalidArgument(std::string m, std::string d = {}) {
  return Status(Code::invalid_argument, std::move(m), std::move(d));
}
inline Status NotFound(std::string m) { return Status(Code::not_found, std::move(m)); }
inline Status AlreadyExists(std::string m) { return Status(Code::already_exists, std::move(m)); }
inline Status PermissionDenied(std::string m) { return Status(Code::permission_denied, std::move(m)); }
inline Status Unauthenticated(std::string m) { return Status(Code::unauthenticated, std::move(m)); }
inline Status Conflict(std::string m) { return Status(Code::conflict, std::move(m)); }
inline Status PayloadTooLarge(std::string m) { return Status(Code::payload_too_large, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(Code::unavailable, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::internal, std::move(m)); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status s) : v_(std::move(s)) {}     // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  Status status() const { return ok() ? Status() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace banxway

// Propagation helpers for internal code.
#define BX_CONCAT_INNER(a, b) a##b
#define BX_CONCAT(a, b) BX_CONCAT_INNER(a, b)
#define BX_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::banxway::Status bx_st_ = (expr);           \
    if (!bx_st_.ok()) return bx_st_;             \
  } while (0)
#define BX_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
#define BX_ASSIGN_OR_RETURN(lhs, expr) \
  BX_ASSIGN_OR_RETURN_IMPL(BX_CONCAT(bx_res_, __LINE__), lhs, expr)
