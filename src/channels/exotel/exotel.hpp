// The Exotel adapter (SMS, WhatsApp via Exotel's v2 "unified messages" API, voice click-to-call):
// internal declarations, exposed so that the pure parsing/building steps can be unit-tested
// without a network. The adapter itself (ExotelProvider) is registered as "exotel" in
// provider.cpp; nothing outside src/channels/exotel needs this header.
//
// Wire formats: docs/providers-exotel.md (and PROTOCOLS.md §1).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"
#include "channels/messaging/provider.hpp"
#include "channels/messaging/types.hpp"
#include "core/env.hpp"
#include "core/json.hpp"
#include "net/http.hpp"

namespace banxway::exotel {

/// Exotel documents 200 requests/minute per account; used when the account leaves it 0.
inline constexpr int kDefaultRequestsPerMinute = 200;
inline constexpr const char* kDefaultBaseUrl = "https://api.exotel.com";

// --- small helpers (common.cpp) ------------------------------------------------------------

/// Exotel v1 time "YYYY-MM-DD HH:mm:ss" (no zone: IST, +05:30), or ISO-8601 with a zone, or
/// Unix seconds/milliseconds. nullopt for empty, "null", unparsable text and the epoch (Exotel
/// renders "unset" as 1970-01-01 05:30:00).
std::optional<TimePoint> parse_time(std::string_view s);


/// The account's API base ("https://api.exotel.com" when empty), without a trailing slash.
/// invalid_argument when it is not http(s) or carries credentials.
Result<std::string> base_url(const messaging::ProviderAccount& acct);

/// Whether fetch_media may send the account's Basic credentials to `media_url`: the account's
/// API host (same scheme, host and port), or an https host under exotel.com / exotel.in (never S3: anyone can own a bucket).
bool may_send_credentials(const messaging::ProviderAccount& acct, std::string_view media_url);

/// Maps a non-2xx Exotel response to the provider.hpp error contract. `what` names the call
/// ("sms send"); `lookup` turns 404 into not_found (details/media) instead of invalid_argument.
Status http_error(const net::HttpResponse& res, std::string_view what, bool lookup);

/// The provider's own error code and message from an error body (v1 RestException, v2
/// error_data, or a bare message), each possibly empty. Bounded in length.
struct ProviderError {
  std::string code;
  std::string message;
};
ProviderError extract_error(std::string_view body);

/// Removes the account's credentials (key, token, their Basic encoding) from a text.
std::string scrub(std::string text, const messaging::ProviderAccount& acct);
/// The same status with its message and details scrubbed.
Status scrub(const Status& st, const messaging::ProviderAccount& acct);

// --- SMS (sms.cpp) -------------------------------------------------------------------------

/// banxway status for an SMS detailed code (authoritative when > 0) or, failing that, the
/// top-level Status ("queued", "failed-dnd", "failed_dnd", "delivered", ...).
messaging::DeliveryStatus sms_status(int64_t detailed_code, std::string_view status);

/// Form fields for POST /v1/Accounts/{sid}/Sms/send.json. invalid_argument when From, To or
/// Body is empty.
Result<net::FormFields> build_sms_form(const messaging::ProviderAccount& acct,
                                       const messaging::OutboundMessage& m);

/// The receipt in a send.json reply: {"SMSMessage": {...}} or {"SMSMessage": [{...}]} or an
/// array of either; the first message counts.
Result<messaging::SendReceipt> parse_sms_send_response(std::string_view body);

/// SMS details (poll) reply → StatusUpdate; "No matching results" → not_found.
Result<messaging::StatusUpdate> parse_sms_details(std::string_view body);

/// A delivery report given as flat fields (form, multipart or a JSON object's scalars).
Result<messaging::StatusUpdate> parse_sms_dlr_fields(const net::FormFields& fields);
/// The DLR webhook body: form-encoded first, JSON (object) fallback, multipart by type.
Result<messaging::StatusUpdate> parse_sms_dlr(std::string_view content_type,
                                              std::string_view body);

// --- WhatsApp (whatsapp.cpp) ---------------------------------------------------------------

/// The JSON body for POST /v2/accounts/{sid}/messages (one message in the envelope).
Result<std::string> build_whatsapp_request(const messaging::ProviderAccount& acct,
                                           const messaging::OutboundMessage& m);

/// The 2xx reply of the v2 API: the first element's data.sid on success; a failure element →
/// invalid_argument (unavailable when its code is 429 or 5xx) with provider_code details.
Result<messaging::SendReceipt> parse_whatsapp_send_response(std::string_view body);

/// Classifies exo_detailed_status (failure words first, then SEEN/READ, DELIVERED, SENT);
/// nullopt when the string says nothing known.
std::optional<messaging::DeliveryStatus> whatsapp_status_from_string(std::string_view s);
/// The legacy exo_status_code table (30001 sent, 30002 delivered, 30003 read, 30004-30099
/// failed); nullopt otherwise.
std::optional<messaging::DeliveryStatus> whatsapp_status_from_code(int64_t code);

/// The WhatsApp webhook envelope {"whatsapp":{"messages":[...]}}: DLRs and inbound messages.
Result<messaging::WebhookBatch> parse_whatsapp_webhook(std::string_view body);

// --- voice (voice.cpp) ---------------------------------------------------------------------

/// Form fields for POST /v1/Accounts/{sid}/Calls/connect.json.
Result<net::FormFields> build_call_form(const messaging::ProviderAccount& acct,
                                        const messaging::CallRequest& r);
/// {"Call": {...}} → receipt.
Result<messaging::CallReceipt> parse_call_response(std::string_view body);
/// Call details (?details=true) → CallUpdate.
Result<messaging::CallUpdate> parse_call_details(std::string_view body);
/// The voice StatusCallback in JSON, form-encoded or multipart.
Result<messaging::CallUpdate> parse_voice_callback(std::string_view content_type,
                                                   std::string_view body);

// --- the adapter (provider.cpp) ------------------------------------------------------------

class ExotelProvider final : public messaging::Provider {
 public:
  std::string_view name() const override { return "exotel"; }
  Result<messaging::SendReceipt> send(const messaging::ProviderAccount& acct,
                                      const messaging::OutboundMessage& m) override;
  Result<messaging::CallReceipt> start_call(const messaging::ProviderAccount& acct,
                                            const messaging::CallRequest& r) override;
  Result<std::string> fetch_media(const messaging::ProviderAccount& acct,
                                  const messaging::Media& m) override;
  Result<messaging::StatusUpdate> poll_message(const messaging::ProviderAccount& acct,
                                               const std::string& provider_id) override;
  Result<messaging::CallUpdate> poll_call(const messaging::ProviderAccount& acct,
                                          const std::string& call_id) override;
  Status verify_webhook(const messaging::ProviderAccount& acct,
                        const messaging::WebhookRequest& req) override;
  Result<messaging::WebhookBatch> parse_webhook(std::string_view channel,
                                                const messaging::WebhookRequest& req) override;
};

// --- internal helpers shared by the .cpp files ----------------------------------------------
namespace detail {

/// Lower-cases ASCII.
std::string lower(std::string_view s);
std::string upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string trim(std::string_view s);
/// Integer from decimal text (surrounding blanks allowed); nullopt otherwise.
std::optional<int64_t> to_int(std::string_view s);

/// How a webhook body is encoded, from its Content-Type (and a sniff of the body when absent).
enum class BodyKind { json, form, multipart };
BodyKind body_kind(std::string_view content_type, std::string_view body);

/// Flat string fields (first value per key wins); JSON scalars are rendered as text.
class Fields {
 public:
  Fields() = default;
  explicit Fields(const net::FormFields& f);
  void set(std::string key, std::string value);  // keeps the first value
  /// "" when absent.
  const std::string& get(std::string_view key) const;
  bool has(std::string_view key) const;  // present and not empty/"null"
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// A JSON scalar as text: strings as-is, integers in decimal, other numbers as JSON writes
/// them, booleans "true"/"false"; "" for null, objects and arrays (and nullptr).
std::string scalar_text(const json::Value* v);
/// scalar_text of obj[key].
std::string member_text(const json::Value& obj, const char* key);
/// Copies the scalar members of a JSON object into fields.
void add_scalars(const json::Value& obj, Fields* out);

/// Builds the details JSON text {"http_status":..,"retry_after_ms":..,"provider_code":".."}
/// leaving out what is absent (-1 / empty). "" when nothing is set.
std::string error_details(int http_status, int64_t retry_after_ms, std::string_view provider_code);

}  // namespace detail

}  // namespace banxway::exotel
