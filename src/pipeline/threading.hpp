// Conversation threading for email (ARCHITECTURE.md §4.3): which thread a message joins.
//
// Order of evidence, strongest first:
//   1. its own Message-ID is already known (a reply arrived first and left a ghost ref);
//   2. banxway's own Message-IDs, which carry the thread id;
//   3. In-Reply-To, then References from the deepest (most recent) id back to the root;
//   4. the Outlook Thread-Index root;
//   5. the normalized subject — only with the same contact, within a time window, and when no
//      reference points to another thread;
//   6. otherwise a new thread.
// A message whose references reach several threads bridges them: they merge into one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/context.hpp"
#include "store/db.hpp"

namespace banxway::pipeline {

struct ThreadingInput {
  std::string message_id;               // normalized, may be empty
  std::string in_reply_to;              // normalized, may be empty
  std::vector<std::string> references;  // normalized, oldest first
  std::string thread_index;             // raw Outlook Thread-Index header, may be empty
  std::string subject;
  std::optional<std::string> contact_id;  // the external party
  std::string date;                       // ISO-8601 UTC of the message
};

struct ThreadDecision {
  std::optional<std::string> thread_id;  // join this thread; nullopt: create one
  std::vector<std::string> merge_from;   // other threads this message bridges (merge into thread_id)
  std::string reason;  // "message-id", "own-id", "in-reply-to", "references", "thread-index", "subject", "new"
};

/// The subject with reply/forward prefixes (Re:, RE:, Fwd:, FW:, AW:, WG:, SV:, RV:, TR:, VS:,
/// 回复:, 转发:, Re[2]:, …) and bracketed list tags removed, case-folded (ASCII) and with runs of
/// whitespace collapsed. Empty when nothing meaningful remains.
std::string normalize_subject(std::string_view subject);

/// The conversation key of an Outlook Thread-Index (its first 22 bytes), or "" if malformed.
std::string thread_index_key(std::string_view thread_index_header);

/// banxway's outbound Message-IDs: "bx.<thread uuid>.<random>@<domain>".
std::string make_message_id(std::string_view thread_id, std::string_view domain);
std::optional<std::string> thread_of_own_message_id(std::string_view message_id);

struct ThreadingOptions {
  int subject_window_days = 7;
};

/// Decides (read-only, inside the caller's transaction).
Result<ThreadDecision> resolve_thread(store::Conn& c, const std::string& org,
                                      const ThreadingInput& in, const ThreadingOptions& opts = {});

/// Records the message's own id (pointing at the message) and ghost rows for every referenced
/// id not seen yet, plus the Thread-Index key, all pointing at thread_id.
Status record_refs(store::Conn& c, const std::string& org, const std::string& thread_id,
                   const std::string& message_row_id, const ThreadingInput& in,
                   const std::string& now);

/// Whether an inbound message reopens a thread in this status (resolved, closed or snoozed).
inline bool inbound_reopens(std::string_view status) {
  return status == "resolved" || status == "closed" || status == "snoozed";
}
/// The same rule as a SET clause of a thread UPDATE, for PostgreSQL, where another transaction
/// may change the status after it was read and the statement itself must decide.
inline constexpr std::string_view kInboundReopensSet =
    "status = CASE WHEN status IN ('resolved','closed','snoozed') THEN 'open' ELSE status END, ";

/// Moves every message (notes included), ref, action, tag, shipment link, follower and
/// notification of `sources` into `target`, joins their channel lists and unread counts, marks
/// each source merged (closed, merged_into = target), recomputes the target's counters and
/// emits `thread.merged` for each. Used by ingest (a message bridging threads) and threads.merge.
/// Recomputes a thread's message_count, last_message_at and preview from the messages it
/// holds (notes excluded), caps unread_count at message_count, and touches its activity time.
Status refresh_thread_counters(store::Conn& c, const std::string& org,
                               const std::string& thread_id, const std::string& now);
/// The statement refresh_thread_counters runs, in the given dialect (exposed for a plan test).
const std::string& thread_counters_sql(store::Dialect dialect);
/// What merge_threads runs to move the notifications of a merged thread (parameters: target
/// thread, org, source thread), kept here for the query-plan test.
extern const char* const kMergeMoveNotificationsSql;

Status merge_threads(store::Conn& c, api::Ctx& ctx, const std::string& target,
                     const std::vector<std::string>& sources);

}  // namespace banxway::pipeline
