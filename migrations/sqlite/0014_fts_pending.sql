-- Deferred full-text indexing that survives updates and deletes inside the deferring batch.
--
-- 0004 let a batch writer skip the per-row FTS5 insert (each one costs FTS5 a flush at the
-- statement's savepoint) and index its messages itself before commit, but the writer had to
-- list the ids, and an update or delete of a message not yet indexed would have run FTS5's
-- 'delete' for terms that were never added, which corrupts an external-content index. Now the
-- insert trigger, while messages_fts_deferred holds its row, records the new rowid in
-- messages_fts_pending; updates and deletes of a pending row leave the index alone (a delete
-- also drops the pending entry); and the writer ends the batch with
-- src/pipeline/fts_batch.cpp's end_fts_batch, which indexes every pending row as it now reads,
-- empties the table and removes the flag in the same transaction.
CREATE TABLE messages_fts_pending (
  msg_rowid INTEGER PRIMARY KEY
);

CREATE TRIGGER messages_fts_ai_pending AFTER INSERT ON messages
WHEN EXISTS (SELECT 1 FROM messages_fts_deferred) BEGIN
  INSERT INTO messages_fts_pending (msg_rowid) VALUES (new.rowid);
END;

DROP TRIGGER messages_fts_au;
CREATE TRIGGER messages_fts_au AFTER UPDATE OF subject, body_text ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE msg_rowid = old.rowid) BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, subject, body_text)
  VALUES ('delete', old.rowid, old.subject, old.body_text);
  INSERT INTO messages_fts(rowid, subject, body_text) VALUES (new.rowid, new.subject, new.body_text);
END;

DROP TRIGGER messages_fts_ad;
-- One trigger, two statements in order: the index entry is removed only for a row that was
-- indexed, then the pending entry (if any) goes.
CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, subject, body_text)
  SELECT 'delete', old.rowid, old.subject, old.body_text
  WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE msg_rowid = old.rowid);
  DELETE FROM messages_fts_pending WHERE msg_rowid = old.rowid;
END;
