// Full-text indexing once per write batch instead of once per message (SQLite).
//
// FTS5 flushes its pending index data at every statement savepoint, so the row trigger that
// indexes each inserted message makes every message its own FTS segment. A writer that inserts
// many messages in one transaction brackets them: begin_fts_batch() sets the flag row of
// messages_fts_deferred, after which the insert trigger records new rowids in
// messages_fts_pending instead of indexing them; end_fts_batch() indexes every pending row in
// one statement, with the values it has by then, and clears both tables. Both run in the same
// transaction, so an error anywhere rolls all of it back and the flag is never committed.
// Updates and deletes of a pending row inside the batch are safe (migrations/sqlite/0014).
// On PostgreSQL (a generated tsvector column) both are no-ops.
#pragma once

#include "banxway/status.hpp"
#include "store/db.hpp"

namespace banxway::pipeline {

/// Starts deferring; false when nothing is deferred (PostgreSQL, or a batch is already open in
/// this transaction — then the row triggers index as usual, or the outer batch does).
Result<bool> begin_fts_batch(store::Conn& c);

/// Indexes the rows deferred since begin_fts_batch and stops deferring. Call only when
/// begin_fts_batch returned true, before the transaction commits.
Status end_fts_batch(store::Conn& c);

}  // namespace banxway::pipeline
