// A messaging channel account (WhatsApp, SMS or voice through Exotel, Meta or Twilio) decoded
// from its channel_accounts row, and the secret token in Exotel's callback URLs.
//
// Exotel signs nothing, so each account has a webhook token, part of the callback URL path
// (/api/v1/webhooks/exotel/<kind>/<token>). It is "<account id>.<random>", so the account is
// found by id and the random part compared in constant time. Rotation keeps the previous token
// valid until a deadline (overlap), so callbacks already scheduled with the old URL still land.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "banxway/status.hpp"
#include "channels/messaging/types.hpp"
#include "core/env.hpp"
#include "store/db.hpp"

namespace banxway::messaging {

struct MessagingAccount {
  std::string id, org_id, channel, provider, name;
  bool active = true;
  ProviderAccount api;  // what the adapter needs
  /// Public base URL of this banxway deployment ("https://hub.example.com"), for the
  /// per-message status callback URLs; empty: rely on the provider's account-level default.
  std::string webhook_base_url;
  std::string webhook_token;            // current token (secret)
  std::string previous_webhook_token;   // still accepted until previous_token_until
  std::optional<TimePoint> previous_token_until;
  std::vector<std::string> ip_allowlist;  // CIDRs; empty = any source
  std::optional<TemplateMessage> fallback_template;  // WhatsApp, outside the 24 h window
};

/// Decodes a row's config and secrets (invalid_argument naming the field when unusable).
Result<MessagingAccount> decode_messaging_account(std::string id, std::string org_id,
                                                  std::string channel, std::string provider,
                                                  std::string name, bool active,
                                                  std::string_view config_json,
                                                  std::string_view secrets_json);

Result<MessagingAccount> load_messaging_account(store::Conn& c, const std::string& org,
                                                const std::string& id);

/// A new token for account `id`: "<id>.<43 base64url chars of 32 random bytes>".
std::string make_webhook_token(const std::string& account_id);
/// The account id part of a token, or "" when the token is malformed.
std::string token_account_id(std::string_view token);
/// Whether `token` is the account's current token, or its previous one before the deadline.
/// Constant time in the token's contents.
bool token_matches(const MessagingAccount& a, std::string_view token, TimePoint now);

/// Whether `ip` (v4 or v6 literal) is inside one of the CIDRs ("203.0.113.0/24", "2001:db8::/32",
/// or a bare address). An empty list allows every address.
bool ip_allowed(const std::vector<std::string>& cidrs, std::string_view ip);

/// The callback URL for `kind` (sms | whatsapp | voice) of this account, or "" without a base.
std::string status_callback_url(const MessagingAccount& a, std::string_view kind);

}  // namespace banxway::messaging
