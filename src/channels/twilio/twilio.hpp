// Twilio adapter ("twilio"): SMS and WhatsApp through the Programmable Messaging API, click-to-call
// through the Voice API, X-Twilio-Signature verification (PROTOCOLS.md §2.1) and the
// form-encoded webhooks (inbound messages, message status callbacks, voice status callbacks).
// What is built here: docs/providers-meta-twilio.md.
//
// The adapter registers itself as "twilio" (messaging::provider_for("twilio")). The pure pieces
// are exposed below so they can be tested without a network.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "banxway/status.hpp"
#include "channels/messaging/provider.hpp"
#include "channels/messaging/types.hpp"
#include "net/http.hpp"

namespace banxway::messaging::twilio {

inline constexpr std::string_view kDefaultBaseUrl = "https://api.twilio.com";

/// The account's API base without a trailing slash (kDefaultBaseUrl when empty).
std::string base_url(const ProviderAccount& acct);

// ---- signatures --------------------------------------------------------------------------------

/// HMAC-SHA1(key, data), 20 raw bytes.
std::string hmac_sha1(std::string_view key, std::string_view data);

/// base64(HMAC-SHA1(auth_token, url + sorted name+value pairs)); params are sorted by name and,
/// for repeated names, by value (byte-wise).
std::string compute_signature(std::string_view auth_token, std::string_view url,
                              net::FormFields params);

/// The URL variants Twilio may have signed: as given, with the port removed (when it has one)
/// and with the scheme's default port added (when it has none).
std::vector<std::string> url_variants(std::string_view url);

/// Verifies X-Twilio-Signature for a request (see PROTOCOLS.md §2.1): form bodies are signed as
/// URL + sorted params; when the URL's query carries bodySHA256, the signature covers the URL
/// only and the body's hex SHA-256 must equal bodySHA256. Other bodies are refused (they would
/// be unsigned). Constant-time comparisons; unauthenticated on any failure.
Status verify_signature(std::string_view auth_token, const WebhookRequest& req);

// ---- requests and answers ----------------------------------------------------------------------

/// Form fields of POST /2010-04-01/Accounts/{sid}/Messages.json for `m` (To, From or
/// MessagingServiceSid, Body, MediaUrl, StatusCallback, ContentSid/ContentVariables).
Result<net::FormFields> build_message_form(const ProviderAccount& acct, const OutboundMessage& m);

/// TwiML that bridges the answered first leg to `customer`:
/// <Response><Dial callerId="…" [timeLimit="…"]>customer</Dial></Response>, XML-escaped.
Result<std::string> build_dial_twiml(std::string_view customer, std::string_view caller_id,
                                     int time_limit_seconds);

/// Form fields of POST /2010-04-01/Accounts/{sid}/Calls.json: Twilio first calls the agent
/// (To = r.from) from our number (From = r.caller_id or acct.from); when the agent answers, the
/// TwiML dials the customer (r.to) with the same caller id.
Result<net::FormFields> build_call_form(const ProviderAccount& acct, const CallRequest& r);

/// Message status (queued/accepted/scheduled/sending → queued, sent, delivered, read,
/// undelivered/failed/canceled → failed, partially_delivered → sent); nullopt when unknown.
std::optional<DeliveryStatus> map_message_status(std::string_view s);

/// The Status for a non-2xx answer ({code, message, more_info, status}): 401 unauthenticated,
/// 403 permission_denied, 404 not_found when `lookup`, 429/5xx unavailable (retry_after_ms),
/// other 4xx invalid_argument. details: http_status, provider_code, more_info, retry_after_ms.
Status error_status(int http_status, std::string_view body,
                    std::optional<std::chrono::milliseconds> retry_after, bool lookup = false);

Result<SendReceipt> parse_send_response(int http_status, std::string_view body,
                                        std::optional<std::chrono::milliseconds> retry_after);
Result<CallReceipt> parse_call_response(int http_status, std::string_view body,
                                        std::optional<std::chrono::milliseconds> retry_after);
/// A Message resource (GET Messages/{sid}.json) as a StatusUpdate.
Result<StatusUpdate> parse_message_resource(std::string_view body);
/// A Call resource (GET Calls/{sid}.json) as a CallUpdate.
Result<CallUpdate> parse_call_resource(std::string_view body);

/// Parses decoded webhook fields of `channel` ("sms" | "whatsapp" | "voice").
Result<WebhookBatch> parse_webhook_fields(std::string_view channel, const net::FormFields& f);

/// RFC 2822 dates as Twilio writes them ("Wed, 18 Aug 2010 20:01:40 +0000").
bool parse_rfc2822(std::string_view s, TimePoint* out);

/// Whether a media URL may receive the account's Basic credentials: https under twilio.com, or
/// the scheme+host+port of the account's base URL. URLs with user info are refused.
bool media_url_allowed(const ProviderAccount& acct, std::string_view url);

class TwilioProvider final : public Provider {
 public:
  std::string_view name() const override { return "twilio"; }
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

}  // namespace banxway::messaging::twilio
