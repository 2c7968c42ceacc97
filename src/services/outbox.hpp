// The outbox (ARCHITECTURE.md §5): messages.send writes the outbound message (status `queued`)
// and an `email.send` job in one transaction; the job's handler builds the MIME message and
// hands it to SMTP. Status moves queued -> sending -> sent, or to failed (permanent error or
// attempts exhausted) or cancelled (messages.cancel before the send started); every transition
// is a `message.status_changed` event. Details: docs/EMAIL.md, "Sending".
#pragma once

#include "api/context.hpp"
#include "runtime/jobs.hpp"

namespace banxway::services {

inline constexpr std::string_view kEmailSendJob = "email.send";

Result<std::string> messages_send(api::Ctx& ctx, json::Value& p);
Result<std::string> messages_cancel(api::Ctx& ctx, json::Value& p);

/// Emits `message.status_changed` {id, thread_id, status, previous_status, error} for an
/// outbound message moving `from` -> `to` (inside the caller's transaction).
Status message_status_event(store::Conn& c, api::Ctx& ctx, const std::string& id,
                            const std::string& thread_id, std::string_view from,
                            std::string_view to, const std::optional<std::string>& error);

/// The tail every outbox write shares (inside its transaction): the delivery job `kind` for
/// message `id` (at send_at when given, unique per message), then message.queued,
/// thread.created when the thread is new, and the audit row. Returns the message JSON.
Result<std::string> queue_delivery(store::Conn& c, api::Ctx& ctx, std::string_view kind,
                                   const std::string& id, const std::string& thread_id,
                                   const std::optional<std::string>& send_at, int max_attempts,
                                   bool new_thread);

/// The `email.send` job handler: sends one queued message through its account's SMTP server.
runtime::JobResult run_email_send(api::Core& core, const runtime::Job& job);

}  // namespace banxway::services
