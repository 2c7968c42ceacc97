// JWT verification: the PROTOCOLS.md test vector and each way a token can be wrong.
#include <gtest/gtest.h>

#include "api/auth.hpp"
#include "core/crypto.hpp"

using namespace banxway;

namespace {
const char* kSecret = "super-secret-jwt-token-with-at-least-32-characters-long";
// From ../shared/PROTOCOLS.md §6 (sub 123e4567-…, aud authenticated, exp 2100-01-01, no iss).
const char* kVector =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjNlNDU2Ny1lODliLTEyZDMtYTQ1Ni00MjY2MTQxNzQwMDAiLCJyb2xlIjoiYXV0aGVudGljYXRlZCIs"
    "ImF1ZCI6ImF1dGhlbnRpY2F0ZWQiLCJleHAiOjQxMDI0NDQ4MDB9."
    "ikg2rlAN9j10coU5N4NwPCShcv-4TyjyLrps7nCRQjc";

TimePoint at(int64_t unix_s) { return TimePoint(std::chrono::milliseconds(unix_s * 1000)); }
const TimePoint kNow = at(1795000000);  // 2026-11-18
}  // namespace

TEST(Jwt, AcceptsTheSupabaseVector) {
  api::JwtConfig cfg{kSecret, "authenticated", ""};
  auto c = api::verify_jwt(kVector, cfg, kNow);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->sub, "123e4567-e89b-12d3-a456-426614174000");
}

TEST(Jwt, SigningMatchesTheVector) {
  std::string claims =
      R"({"sub":"123e4567-e89b-12d3-a456-426614174000","role":"authenticated","aud":"authenticated","exp":4102444800})";
  EXPECT_EQ(api::sign_jwt_hs256(claims, kSecret), kVector);
}

TEST(Jwt, RejectsEveryBadToken) {
  api::JwtConfig cfg{kSecret, "authenticated", ""};
  auto rejects = [&](const std::string& tok, const char* why, api::JwtConfig c) {
    auto r = api::verify_jwt(tok, c, kNow);
    EXPECT_FALSE(r.ok()) << why;
    if (!r.ok()) EXPECT_EQ(r.status().code(), Code::unauthenticated) << why;
  };
  rejects(kVector, "wrong secret", api::JwtConfig{"another-secret", "authenticated", ""});
  rejects(kVector, "issuer required but absent",
          api::JwtConfig{kSecret, "authenticated", "https://x.supabase.co/auth/v1"});
  rejects(kVector, "audience mismatch", api::JwtConfig{kSecret, "other", ""});
  rejects(kVector, "JWTs disabled", api::JwtConfig{"", "", ""});
  std::string t = kVector;
  t[t.size() - 3] = t[t.size() - 3] == 'a' ? 'b' : 'a';
  rejects(t, "tampered signature", cfg);
  rejects(api::sign_jwt_hs256(R"({"sub":"u","exp":1000})", kSecret), "expired", cfg);
  rejects(api::sign_jwt_hs256(R"({"sub":"u","aud":"authenticated"})", kSecret), "no exp", cfg);
  rejects(api::sign_jwt_hs256(R"({"sub":"u","aud":"authenticated","exp":4102444800,"nbf":4000000000})", kSecret),
          "not yet valid", cfg);
  rejects(api::sign_jwt_hs256(R"({"aud":"authenticated","exp":4102444800})", kSecret), "no sub", cfg);
  rejects(api::sign_jwt_hs256(R"({"sub":"u","aud":"authenticated","exp":4102444800,"role":"service_role"})", kSecret),
          "service role key", cfg);
  // alg none: header {"alg":"none"} with an empty signature.
  std::string none = crypto::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                     crypto::base64url_encode(R"({"sub":"u","aud":"authenticated","exp":4102444800})") + ".";
  rejects(none, "alg none", cfg);
  // Algorithm confusion: RS256 header signed with the shared secret as an HMAC key.
  std::string rs = crypto::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
                   crypto::base64url_encode(R"({"sub":"u","aud":"authenticated","exp":4102444800})");
  rejects(rs + "." + crypto::base64url_encode(crypto::hmac_sha256(kSecret, rs)), "RS256 confusion", cfg);
  rejects("a.b", "two parts", cfg);
  rejects("a.b.c.d", "four parts", cfg);
  rejects("!!!.???.***", "not base64url", cfg);
}
