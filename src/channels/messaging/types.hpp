// Provider-neutral messaging (WhatsApp, SMS, voice): what an adapter turns a provider's webhook
// into, and what it is asked to send. The adapters (src/channels/exotel, meta, twilio) convert
// between these and the provider's wire format; the pipeline (src/pipeline/messaging) and the
// outbox (src/services/outbox) only ever see these types. Docs: docs/MESSAGING.md.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"
#include "core/env.hpp"

namespace banxway::messaging {

/// Delivery status of an outbound message. Moves only forward: queued < sent < delivered <
/// read; failed is terminal and wins over everything.
enum class DeliveryStatus { queued, sent, delivered, read, failed };
std::string_view status_name(DeliveryStatus s) noexcept;
std::optional<DeliveryStatus> status_from_name(std::string_view s) noexcept;
/// Ordering used for "only forward": queued 0, sent 1, delivered 2, read 3, failed 4.
int status_rank(DeliveryStatus s) noexcept;

struct Media {
  std::string kind;        // image | audio | video | document | sticker
  std::string url;         // where the provider serves it (Exotel, Twilio), or an outbound link
  std::string media_id;    // Meta's media id (resolved to a URL with a second request)
  std::string media_type;  // MIME type when the provider says
  std::string filename;
  std::string caption;
  bool voice_note = false;
};

/// A message from a customer.
struct InboundMessage {
  std::string channel;      // "whatsapp" | "sms"
  std::string provider;     // "exotel" | "meta" | "twilio"
  std::string provider_id;  // the provider's message id: Exotel sid, wamid, Twilio MessageSid
  std::string from;         // customer: a phone number as given, or an opaque WhatsApp id
  std::string from_user_id; // WhatsApp business-scoped user id (BSUID) when given
  std::string to;           // our number / sender
  std::string profile_name; // WhatsApp profile name, if any
  std::string content_type; // text image audio video document sticker location contacts
                            // interactive button reaction unsupported
  std::string text;         // the body; a caption; a button's or list reply's title; a
                            // location as "name, address (lat,lon)"
  std::vector<Media> media;
  std::string reply_to_provider_id;  // the business message it answers (context), if any
  std::optional<TimePoint> timestamp;
};

/// A delivery report for a message banxway sent.
struct StatusUpdate {
  std::string provider;
  std::string provider_id;      // the reported message's provider id
  DeliveryStatus status = DeliveryStatus::sent;
  std::string provider_status;  // raw: "EX_MESSAGE_DELIVERED", "delivered", "20005", ...
  std::string error_code;       // provider's error code on failure
  std::string error_message;
  std::string reference;        // custom_data / CustomField / biz_opaque_callback_data if set
  std::optional<TimePoint> timestamp;
};

/// A phone call's progress or outcome (Exotel StatusCallback / details, Twilio voice).
struct CallUpdate {
  std::string provider;
  std::string call_id;      // CallSid
  std::string from, to;     // as the provider reports them
  std::string direction;    // "inbound" | "outbound"
  std::string status;       // queued ringing in-progress completed busy no-answer failed canceled
  std::string event_type;   // "terminal" | "answered" | "" (unknown)
  int duration_seconds = -1;  // conversation duration when known
  std::string answered_by;    // "human" | "machine" | "" (lower-cased)
  std::string recording_url;
  std::string reference;      // CustomField
  std::optional<TimePoint> started_at, ended_at;
};

/// Everything one webhook request carried (a WhatsApp envelope can hold many events).
struct WebhookBatch {
  std::vector<InboundMessage> messages;
  std::vector<StatusUpdate> statuses;
  std::vector<CallUpdate> calls;
};

struct TemplateMessage {
  std::string name;
  std::string language = "en";
  std::vector<std::string> body_params;  // positional {{1}}, {{2}}, ...
  std::optional<Media> header_media;     // required when the template has a media header
};

/// A message for a provider to send.
struct OutboundMessage {
  std::string channel;  // "whatsapp" | "sms"
  std::string to;       // E.164 phone or opaque WhatsApp id
  std::string from;     // our WhatsApp number / SMS sender id (from the account when empty)
  std::string text;     // session text (WhatsApp) or SMS body
  std::optional<TemplateMessage> template_message;  // WhatsApp template instead of text
  std::optional<Media> media;                       // WhatsApp media by URL (with caption)
  std::string reference;            // banxway's message id: custom_data / CustomField / ...
  std::string status_callback_url;  // per-message callback (Exotel, Twilio)
  // SMS, India (DLT): from the account unless set here.
  std::string dlt_entity_id, dlt_template_id, sms_type;
};

struct SendReceipt {
  std::string provider_id;
  DeliveryStatus status = DeliveryStatus::queued;  // what the provider said on acceptance
};

struct CallRequest {
  std::string from;       // first leg: the agent's phone
  std::string to;         // second leg: the customer
  std::string caller_id;  // our virtual number shown to both (account default when empty)
  bool record = false;
  int time_limit_seconds = 0;  // 0: provider default
  std::string reference;
  std::string status_callback_url;
};

struct CallReceipt {
  std::string call_id;
  std::string status;  // provider's initial status, e.g. "in-progress", "queued"
};

/// The settings of one provider account (decoded from a channel_accounts row: config + secrets).
struct ProviderAccount {
  std::string provider;  // exotel | meta | twilio
  std::string channel;   // whatsapp | sms | voice
  /// API base URL. Defaults: https://api.exotel.com (or https://api.in.exotel.com with
  /// region "in"), https://graph.facebook.com, https://api.twilio.com. Tests point it at a
  /// stand-in on loopback and set allow_private_network.
  std::string base_url;
  bool allow_private_network = false;
  std::string from;  // our number / sender id
  // Exotel
  std::string account_sid, api_key, api_token;
  std::string dlt_entity_id, dlt_template_id, sms_type;
  // Meta WhatsApp Cloud
  std::string phone_number_id, access_token, app_secret, verify_token;
  std::string graph_version = "v21.0";
  // Twilio (account_sid above is Twilio's too)
  std::string auth_token;
  // Requests per minute the provider allows this account (client-side limiter); 0 = no limit.
  int requests_per_minute = 0;
  std::chrono::seconds timeout{30};
};

}  // namespace banxway::messaging
