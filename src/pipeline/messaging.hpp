// The ingest pipeline for messaging channels (ARCHITECTURE.md §4, step 3f): what a provider's
// webhook batch does to the database, inside the caller's transaction.
//
//   inbound message  idempotent by (channel, provider id); the sender is identified by phone
//                    (E.164, libphonenumber, the organization's default region) and/or WhatsApp
//                    id (opaque; BSUIDs too) — one contact whatever the channel; the message
//                    joins the thread it replies to, else the contact's open thread on that
//                    channel, else a new one; WhatsApp opens the 24 h window on the thread.
//   status update    moves an outbound message's status only forward (queued < sent <
//                    delivered < read; failed terminal and winning), whatever the order.
//   call update      a `voice` message in the contact's voice thread: direction, duration,
//                    outcome, who answered, the recording (already fetched into the blob store).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/context.hpp"
#include "channels/messaging/account.hpp"
#include "channels/messaging/types.hpp"

namespace banxway::pipeline {

/// A media file or recording already stored in the blob store (or why it could not be).
struct StoredMedia {
  store::StagedBlob blob;  // blob.sha empty when the download failed
  std::string media_type, filename;
  std::string error;
};

struct MessagingOutcome {
  int received = 0, duplicates = 0, statuses = 0, stale = 0, calls = 0, unmatched = 0;
  std::vector<std::string> message_ids;  // rows written or found, in batch order
  /// Voice messages that got a new recording (message id, blob sha256): to transcribe.
  std::vector<std::pair<std::string, std::string>> recordings;
};

/// Applies `batch` for `acct` inside the caller's transaction. media[i] holds what was fetched
/// for batch.messages[i].media (same order); recordings[i] for batch.calls[i]. `region` is the
/// organization's default phone region (services::default_region), read by the caller before
/// its transaction.
Status apply_messaging_batch(store::Conn& c, api::Ctx& ctx, const messaging::MessagingAccount& acct,
                             const std::string& region, const messaging::WebhookBatch& batch,
                             const std::vector<std::vector<StoredMedia>>& media,
                             const std::vector<std::optional<StoredMedia>>& recordings,
                             MessagingOutcome& out);

/// One status update (also used by the send job with the provider's acceptance status and by
/// the details poll). Returns whether the status moved.
Result<bool> apply_status_update(store::Conn& c, api::Ctx& ctx,
                                 const messaging::StatusUpdate& s);

/// The contact owning a phone number (E.164) and/or WhatsApp id, created when none does, with
/// the identities it lacked added. `name` names a new contact.
struct PhoneContact {
  std::string contact_id;
  std::optional<std::string> customer_id;
  bool created = false;
};
Result<PhoneContact> contact_for_phone(store::Conn& c, api::Ctx& ctx,
                                       const std::optional<std::string>& e164,
                                       const std::vector<std::string>& whatsapp_ids,
                                       const std::string& name);

/// Adds `channel` to a thread's channels list when missing.
Status add_thread_channel(store::Conn& c, const std::string& org, const std::string& thread_id,
                          const std::string& channel);

/// The phone number in E.164 that a provider address denotes ("+9198...", "9198..." from Meta,
/// "whatsapp:+91..." from Twilio, national forms in the organization's region), or nullopt
/// (e.g. a WhatsApp BSUID).
std::optional<std::string> phone_of(std::string_view address, const std::string& region);

}  // namespace banxway::pipeline
