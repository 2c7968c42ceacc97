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

/// The `email.send` job handler: sends one queued message through its account's SMTP server.
runtime::JobResult run_email_send(api::Core& core, const runtime::Job& job);

}  // namespace banxway::services
