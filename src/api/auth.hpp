// Authentication: API keys (bxk_…, stored as SHA-256) and HS256 JWT bearer tokens
// (Supabase-compatible claims; `sub` names a user row, which gives organization and role).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/context.hpp"

namespace banxway::api {

struct JwtClaims {
  std::string sub;
  std::string role;
};

struct JwtConfig {
  std::string secret;
  std::string audience;
  std::string issuer;
  int leeway_seconds = 30;
};

/// Verifies an HS256 JWT's signature and time/audience/issuer claims. Only HS256 is accepted:
/// `none`, and any asymmetric algorithm (which would invite key confusion with the shared
/// secret), are rejected. Errors are unauthenticated with a reason.
Result<JwtClaims> verify_jwt(std::string_view token, const JwtConfig& cfg, TimePoint now);

/// Signs claims (a JSON object text) with HS256 — for tests and tools.
std::string sign_jwt_hs256(std::string_view claims_json, std::string_view secret);

/// A new API key: "bxk_" + 32 base64url characters (192 random bits).
std::string generate_api_key();
std::string api_key_hash(std::string_view key);

class Authenticator {
 public:
  explicit Authenticator(Core& core) : core_(core) {}
  Result<Principal> authenticate(std::string_view credential);
  /// Drops cached principals (after a revocation or a role change in this process).
  void invalidate();

 private:
  Result<Principal> from_api_key(std::string_view key);
  Result<Principal> from_jwt(std::string_view token);

  struct Cached {
    Principal who;
    std::chrono::steady_clock::time_point expires;
  };
  Core& core_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // key hash or "jwt:"+sub -> principal
};

}  // namespace banxway::api
