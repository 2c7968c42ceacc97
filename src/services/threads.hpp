// Threads (conversations), their messages and notes.
#pragma once

#include "api/context.hpp"
#include "services/rowjson.hpp"

namespace banxway::services {

Result<std::string> threads_list(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_get(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_create(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_update(api::Ctx& ctx, json::Value& p);

// Thread operations beyond create/update (src/services/thread_ops.cpp).
Result<std::string> threads_assign(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_unassign(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_follow(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_unfollow(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_followers(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_merge(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_split(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_bulk_update(api::Ctx& ctx, json::Value& p);
/// What threads.split runs per moved message for its references and its actions (parameters:
/// new thread, org, source thread, message), kept here for the query-plan test.
extern const char* const kSplitMoveRefsSql;
extern const char* const kSplitMoveActionsSql;
/// What threads.split runs per moved message for its notifications (parameters: new thread,
/// org, message), kept here for the query-plan test.
extern const char* const kSplitMoveNotificationsSql;

/// An assignee must be an active user of the organization: not_found naming assignee_id for
/// an unknown (or another organization's) user, invalid_argument for a deactivated one.
Status check_assignee(store::Conn& c, api::Ctx& ctx, const std::string& user_id);
/// What every change of a thread's assignee does, whichever operation made it (create,
/// update, assign, unassign), after the row is written: the `thread.assigned` event (the
/// thread JSON plus previous_assignee_id), the new assignee follows the thread and is notified.
Status assignment_effects(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                          const std::optional<std::string>& assignee,
                          const std::optional<std::string>& previous,
                          const std::string& thread_json);
/// Makes user_id a follower of the thread (no-op when it is one already). Returns whether the
/// row is new.
Result<bool> add_follower(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                          const std::string& user_id);

Result<std::string> messages_list(api::Ctx& ctx, json::Value& p);
Result<std::string> messages_create_note(api::Ctx& ctx, json::Value& p);

/// A thread's JSON by id inside a transaction (or via DbReader).
Result<std::string> thread_json(store::Conn& c, api::Ctx& ctx, const std::string& id);
/// threads.update / messages.create_note inside the caller's transaction (workflow steps): the
/// same checks, events and audit row; *out gets the thread or note JSON.
Status thread_update_in(store::Conn& c, api::Ctx& ctx, const json::Value& p, std::string* out);
Status note_create_in(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                      const std::string& text, std::string* out);
/// A message's JSON by id.
Result<std::string> message_json(store::Conn& c, api::Ctx& ctx, const std::string& id);

/// The column lists thread_json and message_json read, for a write's RETURNING clause, and the
/// JSON of a row returned with them: a writer that just inserted or updated the row gets the
/// same JSON without reading it back (the ingest pipeline does, per message).
const std::string& thread_columns();
std::string thread_row_json(const store::Row& row);
const std::string& message_columns();
std::string message_row_json(const store::Row& row);

}  // namespace banxway::services
