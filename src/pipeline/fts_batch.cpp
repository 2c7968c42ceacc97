#include "pipeline/fts_batch.hpp"

namespace banxway::pipeline {

Result<bool> begin_fts_batch(store::Conn& c) {
  if (c.dialect() != store::Dialect::sqlite) return false;
  // A failed statement does not abort a SQLite transaction: when the flag is already set (an
  // enclosing batch), this batch's rows are indexed by that one.
  auto r = c.query("INSERT INTO messages_fts_deferred (flag) VALUES (1)", {});
  return r.ok();
}

Status end_fts_batch(store::Conn& c) {
  BX_RETURN_IF_ERROR(c.query("DELETE FROM messages_fts_deferred", {}).status());
  BX_RETURN_IF_ERROR(c.query("INSERT INTO messages_fts (rowid, subject, body_text) "
                             "SELECT m.rowid, m.subject, m.body_text FROM messages_fts_pending p "
                             "JOIN messages m ON m.rowid = p.msg_rowid ORDER BY p.msg_rowid",
                             {})
                         .status());
  return c.query("DELETE FROM messages_fts_pending", {}).status();
}

}  // namespace banxway::pipeline
