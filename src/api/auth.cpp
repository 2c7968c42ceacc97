#include "api/auth.hpp"

#include <algorithm>

#include "core/crypto.hpp"

namespace banxway::api {
namespace {

// How long a resolved credential is trusted without a database look-up. Revocation in this
// process is immediate (invalidate()); other server instances see it within this window.
constexpr auto kCacheTtl = std::chrono::seconds(5);
constexpr size_t kCacheMax = 10000;

Status unauth(std::string why) { return Unauthenticated(std::move(why)); }

}  // namespace

std::string generate_api_key() { return "bxk_" + crypto::base64url_encode(crypto::random_bytes(24)); }

std::string api_key_hash(std::string_view key) { return crypto::sha256_hex(key); }

std::string sign_jwt_hs256(std::string_view claims_json, std::string_view secret) {
  std::string input = crypto::base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                      crypto::base64url_encode(claims_json);
  return input + "." + crypto::base64url_encode(crypto::hmac_sha256(secret, input));
}

Result<JwtClaims> verify_jwt(std::string_view token, const JwtConfig& cfg, TimePoint now) {
  if (cfg.secret.empty()) return unauth("JWT authentication is not configured on this server");
  if (token.size() > 8192) return unauth("token too long");
  auto d1 = token.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return unauth("malformed token: expected three dot-separated parts");
  std::string header, payload, sig;
  if (!crypto::base64url_decode(token.substr(0, d1), &header) ||
      !crypto::base64url_decode(token.substr(d1 + 1, d2 - d1 - 1), &payload) ||
      !crypto::base64url_decode(token.substr(d2 + 1), &sig))
    return unauth("malformed token: bad base64url");
  json::Document h, p;
  if (!json::parse(header, &h, {4, 4096}).ok() || !h.IsObject())
    return unauth("malformed token header");
  auto alg = json::get_string(h, "alg");
  if (!alg || *alg != "HS256")
    return unauth("token algorithm not accepted (only HS256 is configured)");
  std::string expected = crypto::hmac_sha256(cfg.secret, token.substr(0, d2));
  if (!crypto::constant_time_equal(expected, sig)) return unauth("token signature is invalid");
  if (!json::parse(payload, &p, {8, 16384}).ok() || !p.IsObject())
    return unauth("malformed token claims");
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const json::Value* exp = json::get(p, "exp");
  if (!exp || !exp->IsNumber()) return unauth("token has no exp claim");
  if (static_cast<int64_t>(exp->GetDouble()) + cfg.leeway_seconds <= now_s)
    return unauth("token has expired");
  if (const json::Value* nbf = json::get(p, "nbf")) {
    if (!nbf->IsNumber()) return unauth("token nbf claim is not a number");
    if (static_cast<int64_t>(nbf->GetDouble()) - cfg.leeway_seconds > now_s)
      return unauth("token is not valid yet (nbf)");
  }
  if (!cfg.audience.empty()) {
    const json::Value* aud = json::get(p, "aud");
    bool ok = false;
    if (aud && aud->IsString()) ok = cfg.audience == aud->GetString();
    if (aud && aud->IsArray())
      for (auto& a : aud->GetArray()) ok = ok || (a.IsString() && cfg.audience == a.GetString());
    if (!ok) return unauth("token audience does not match");
  }
  if (!cfg.issuer.empty()) {
    auto iss = json::get_string(p, "iss");
    if (!iss || *iss != cfg.issuer) return unauth("token issuer does not match");
  }
  auto sub = json::get_string(p, "sub");
  if (!sub || sub->empty()) return unauth("token has no sub claim");
  JwtClaims c;
  c.sub = std::string(*sub);
  if (auto role = json::get_string(p, "role")) c.role = std::string(*role);
  // Supabase's anon/service_role keys are JWTs without a user: never a user session.
  if (c.role == "anon" || c.role == "service_role")
    return unauth("token is a project key, not a user session");
  return c;
}

Result<Principal> Authenticator::authenticate(std::string_view cred) {
  while (!cred.empty() && cred.front() == ' ') cred.remove_prefix(1);
  if (cred.size() >= 7 && (cred.substr(0, 7) == "Bearer " || cred.substr(0, 7) == "bearer "))
    cred.remove_prefix(7);
  while (!cred.empty() && (cred.back() == ' ' || cred.back() == '\r' || cred.back() == '\n'))
    cred.remove_suffix(1);
  if (cred.empty()) return unauth("missing credentials: send an API key or a bearer token");
  if (cred.starts_with("bxk_")) return from_api_key(cred);
  if (cred.find('.') != std::string_view::npos) return from_jwt(cred);
  return unauth("unrecognized credential (expected an API key bxk_… or a JWT)");
}

void Authenticator::invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.clear();
}

Result<Principal> Authenticator::from_api_key(std::string_view key) {
  if (key.size() > 128) return unauth("API key is not valid");
  std::string hash = api_key_hash(key);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.expires > now) return it->second.who;
  }
  auto r = core_.db->query(
      "SELECT k.id, k.org_id, k.role, k.user_id, u.role FROM api_keys k "
      "LEFT JOIN users u ON u.id = k.user_id "
      "WHERE k.key_hash = ? AND k.revoked_at IS NULL AND (k.user_id IS NULL OR u.active = 1)",
      {hash});
  if (!r.ok()) return r.status();
  if (r->empty()) return unauth("API key is not valid or has been revoked");
  const auto& row = r->rows[0];
  Principal p;
  p.actor_type = "api_key";
  p.actor_id = row.text(0);
  p.org_id = row.text(1);
  p.role = role_from_name(row.text(2)).value_or(Role::viewer);
  p.user_id = row.text(3);
  // A key tied to a user never acts above that user's current role (a demoted user's old key
  // is demoted with them).
  if (!row.is_null(4))
    p.role = std::min(p.role, role_from_name(row.text(4)).value_or(Role::viewer));
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kCacheMax) cache_.clear();
  cache_[hash] = Cached{p, now + kCacheTtl};
  return p;
}

Result<Principal> Authenticator::from_jwt(std::string_view token) {
  JwtConfig cfg{core_.opts.jwt_secret, core_.opts.jwt_audience, core_.opts.jwt_issuer};
  BX_ASSIGN_OR_RETURN(JwtClaims claims, verify_jwt(token, cfg, core_.clock->now()));
  if (!is_uuid(claims.sub)) return unauth("token subject is not a user id");
  std::string key = "jwt:" + claims.sub;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expires > now) return it->second.who;
  }
  std::string sub = claims.sub;
  for (auto& c : sub) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto r = core_.db->query("SELECT id, org_id, role FROM users WHERE id = ? AND active = 1", {sub});
  if (!r.ok()) return r.status();
  if (r->empty()) return unauth("token user is unknown or deactivated");
  Principal p;
  p.actor_type = "user";
  p.user_id = p.actor_id = r->rows[0].text(0);
  p.org_id = r->rows[0].text(1);
  p.role = role_from_name(r->rows[0].text(2)).value_or(Role::viewer);
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kCacheMax) cache_.clear();
  cache_[key] = Cached{p, now + kCacheTtl};
  return p;
}

}  // namespace banxway::api
