// Notifications (docs/NOTIFICATIONS.md): one row per event a user should hear about —
// assignment, an @mention in a note, a reply on a followed thread, SLA events later — written in
// the transaction of the change that caused it, with a `notification.created` event the
// realtime layer pushes to room user:<id>. A user's preferences choose, per kind, whether it
// shows in the app and whether it is also emailed (never / when offline / always); email goes
// through the outbox after a short delay, only if the notification is still unread then.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "api/context.hpp"
#include "runtime/jobs.hpp"

namespace banxway::services {

inline constexpr std::string_view kNotificationEmailJob = "notification.email";
/// How long an emailed notification waits for the user to read it in the app first.
inline constexpr std::chrono::seconds kNotificationEmailDelay{60};

struct NewNotification {
  std::string user_id;  // the recipient
  std::string kind;     // assigned | mention | reply | sla
  std::optional<std::string> thread_id;
  std::optional<std::string> message_id;
  std::string title;
  std::optional<std::string> body;
  std::string data_json = "{}";  // a JSON object: details for the client
};

/// Writes one notification (inside the caller's transaction) unless the recipient's
/// preferences turn this kind off entirely or the recipient is the caller. Emits
/// `notification.created` {user_id, notification}; enqueues the delayed email job when the
/// preferences ask for email. Returns the new id, or nullopt when nothing was written.
Result<std::optional<std::string>> create_notification(store::Conn& c, api::Ctx& ctx,
                                                       const NewNotification& n);

/// "Assigned to you": for the new assignee of a thread (not when they assigned themselves).
Status notify_assigned(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                       const std::string& assignee_id);
/// Every active user named by an @mention in a note's text (user's name without spaces, its
/// first word, or the local part of the email; case-insensitive). Returns the users mentioned.
Result<std::vector<std::string>> notify_mentions(store::Conn& c, api::Ctx& ctx,
                                                 const std::string& thread_id,
                                                 const std::string& message_id,
                                                 std::string_view text);
/// "New reply": every follower of the thread, for an inbound message just stored.
Status notify_followers(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                        const std::string& message_id);
/// SLA events (first response or resolution due or breached) for `user_id` about a thread.
/// `what` is a short label ("first_response_due", "resolution_breached", ...); `due_at` the
/// deadline concerned. Nothing calls it yet: the SLA engine will.
Status notify_sla(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                  const std::string& user_id, std::string_view what, const std::string& due_at);

/// How a notification email finds its organization's notification thread (parameter: org),
/// kept here for the query-plan test.
extern const char* const kNotificationThreadSql;

/// The users mentioned in `text` by @name tokens, among `users` rows of (id, name, email).
/// Exposed for tests.
std::vector<std::string> mentioned_users(std::string_view text, const store::Rows& users);

Result<std::string> notifications_list(api::Ctx& ctx, json::Value& p);
Result<std::string> notifications_mark_read(api::Ctx& ctx, json::Value& p);
/// notifications.mark_read with all: true (for the REST route without a body).
Result<std::string> notifications_mark_all_read(api::Ctx& ctx, json::Value& p);
Result<std::string> notifications_unread_count(api::Ctx& ctx, json::Value& p);
Result<std::string> notifications_prefs_get(api::Ctx& ctx, json::Value& p);
Result<std::string> notifications_prefs_update(api::Ctx& ctx, json::Value& p);

/// The `notification.email` job: queues the email through the outbox, or records why not.
runtime::JobResult run_notification_email(api::Core& core, const runtime::Job& job);

}  // namespace banxway::services
