// The interface every messaging adapter implements (Exotel SMS/WhatsApp/voice, Meta WhatsApp
// Cloud, Twilio SMS/WhatsApp/voice), and the registry that picks one by account.
//
// Error contract for the network calls (send, start_call, fetch_media, poll_*):
//   unavailable        transient: connection/DNS/TLS/timeout, HTTP 429, 5xx (503 throttling);
//                      details carry {"retry_after_ms": N} when the provider said Retry-After,
//                      and {"http_status": N, "provider_code": "..."} when known
//   unauthenticated    401 / bad credentials (the account needs fixing)
//   permission_denied  403, or an SSRF-blocked target
//   invalid_argument   other 4xx and per-message refusals (bad number, template missing,
//                      outside the WhatsApp window...), with the provider's code and message
//   not_found          404 on a details/media lookup
// Messages name the provider and its code/message, never a credential.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "channels/messaging/types.hpp"
#include "net/http.hpp"

namespace banxway::messaging {

/// A webhook request as the adapter sees it: the raw bytes, before anything is parsed.
struct WebhookRequest {
  std::string method = "POST";
  std::string url;           // the full public URL the provider called (Twilio signs it)
  std::string content_type;  // the request's Content-Type
  std::vector<net::Header> headers;
  std::string body;
  std::string header(std::string_view name) const;  // "" when absent (case-insensitive)
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;  // "exotel" | "meta" | "twilio"

  virtual Result<SendReceipt> send(const ProviderAccount& acct, const OutboundMessage& m) = 0;
  /// Click-to-call (providers without voice: invalid_argument).
  virtual Result<CallReceipt> start_call(const ProviderAccount& acct, const CallRequest& r) = 0;
  /// Downloads inbound media (authenticated as the provider requires); bytes.
  virtual Result<std::string> fetch_media(const ProviderAccount& acct, const Media& m) = 0;
  /// Current state of a sent SMS / a call (fallback when a callback never comes).
  virtual Result<StatusUpdate> poll_message(const ProviderAccount& acct,
                                            const std::string& provider_id) = 0;
  virtual Result<CallUpdate> poll_call(const ProviderAccount& acct,
                                       const std::string& call_id) = 0;

  /// Checks that the request really comes from the provider, before anything is parsed:
  /// Meta X-Hub-Signature-256 over the raw body, Twilio X-Twilio-Signature over URL + params.
  /// Exotel signs nothing (its callback URLs carry a secret token checked by the caller):
  /// returns OK. unauthenticated when the check fails (message without secrets).
  virtual Status verify_webhook(const ProviderAccount& acct, const WebhookRequest& req) = 0;

  /// Parses a webhook of `channel` ("whatsapp" | "sms" | "voice"): JSON, form-encoded or
  /// multipart as the provider sends; unknown fields ignored; invalid_argument naming the
  /// missing required field. An empty batch is valid (e.g. Meta's non-message changes).
  virtual Result<WebhookBatch> parse_webhook(std::string_view channel,
                                             const WebhookRequest& req) = 0;
};

/// The adapter for a provider name; nullptr when unknown. Adapters are stateless apart from
/// their rate limiters, shared process-wide.
Provider* provider_for(std::string_view name);

}  // namespace banxway::messaging
