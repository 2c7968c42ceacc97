// Meta WhatsApp Cloud API adapter ("meta"): sends through the Graph API, downloads inbound media,
// verifies X-Hub-Signature-256 and parses the WhatsApp Business Account webhook envelope.
// Wire formats: PROTOCOLS.md §2.2; what is built here: docs/providers-meta-twilio.md.
//
// The adapter registers itself as "meta" (messaging::provider_for("meta")). The pure pieces
// (request building, response and webhook parsing, signature checks) are exposed below so they
// can be tested without a network.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "banxway/status.hpp"
#include "channels/messaging/provider.hpp"
#include "channels/messaging/types.hpp"

namespace banxway::messaging {

/// The GET handshake Meta performs when a callback URL is registered
/// (`hub.mode`, `hub.verify_token`, `hub.challenge`): returns the challenge to echo as the
/// text/plain body of a 200 when mode is "subscribe" and the token equals the account's
/// verify_token (constant time); permission_denied otherwise (also when no verify_token is
/// configured); invalid_argument for an empty or over-long (> 1024 bytes) challenge.
Result<std::string> meta_verify_challenge(const ProviderAccount& acct, std::string_view mode,
                                          std::string_view token, std::string_view challenge);

namespace meta {

inline constexpr std::string_view kDefaultBaseUrl = "https://graph.facebook.com";

/// The account's API base without a trailing slash (kDefaultBaseUrl when empty).
std::string base_url(const ProviderAccount& acct);

/// JSON body of POST /{version}/{phone_number_id}/messages for `m`: a template when
/// m.template_message is set, else media by link/id when m.media is set (m.text as caption when
/// the media has none), else text. invalid_argument when the message cannot be expressed.
Result<std::string> build_send_body(const OutboundMessage& m);

/// Interprets the Graph API's answer to a send. 2xx: messages[0].id (message_status accepted /
/// held_for_quality_assessment → queued). Otherwise see error_status().
Result<SendReceipt> parse_send_response(int http_status, std::string_view body,
                                        std::optional<std::chrono::milliseconds> retry_after);

/// The Status for a non-2xx Graph API answer ({"error":{message,type,code,error_subcode,
/// error_data.details}}):
///   131047 re-engagement          → invalid_argument ("a template message is required")
///   130429 / 131056 / 80007, 429, 5xx → unavailable (retry_after_ms when Retry-After was given)
///   190, 401                      → unauthenticated
///   403                           → permission_denied
///   404 when `lookup`             → not_found
///   anything else                 → invalid_argument
/// details: {"http_status", "provider_code", "provider_subcode", "provider_details",
/// "retry_after_ms", "template_required"} as known.
Status error_status(int http_status, std::string_view body,
                    std::optional<std::chrono::milliseconds> retry_after, bool lookup = false);

/// X-Hub-Signature-256 check: header must be exactly "sha256=" + 64 lower-case hex digits equal
/// to HMAC-SHA256(app_secret, body) (constant time). unauthenticated otherwise.
Status verify_signature(std::string_view app_secret, std::string_view header,
                        std::string_view body);

/// Parses a webhook POST body (the whatsapp_business_account envelope).
Result<WebhookBatch> parse_webhook_body(std::string_view body);

/// Whether a media URL returned by Meta may receive the access token: https on a host under
/// facebook.com, fbcdn.net, fbsbx.com or whatsapp.net, or the scheme+host of the account's base
/// URL (a stand-in in tests). URLs with user info are refused.
bool media_url_allowed(const ProviderAccount& acct, std::string_view url);

class MetaProvider final : public Provider {
 public:
  std::string_view name() const override { return "meta"; }
  Result<SendReceipt> send(const ProviderAccount& acct, const OutboundMessage& m) override;
  Result<CallReceipt> start_call(const ProviderAccount& acct, const CallRequest& r) override;
  Result<std::string> fetch_media(const ProviderAccount& acct, const Media& m) override;
  Result<StatusUpdate> poll_message(const ProviderAccount& acct,
                                    const std::string& provider_id) override;
  Result<CallUpdate> poll_call(const ProviderAccount& acct, const std::string& call_id) override;
  Status verify_webhook(const ProviderAccount& acct, const WebhookRequest& req) override;
  Result<WebhookBatch> parse_webhook(std::string_view channel,
                                     const WebhookRequest& req) override;
};

}  // namespace meta
}  // namespace banxway::messaging
