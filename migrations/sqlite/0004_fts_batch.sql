-- Full-text indexing once per ingest batch instead of once per message.
--
-- FTS5 flushes its pending index data at every statement savepoint of the transaction, so a
-- row-level trigger made every ingested message its own FTS segment (and FTS5 kept merging
-- them). While a writer transaction holds the single row of messages_fts_deferred, the insert
-- trigger leaves the row out of the index and the writer must index those rows itself, in one
-- statement, before it commits (src/pipeline/ingest.cpp does: it inserts the flag row first
-- and removes it together with the batch's index insert, so the flag is never committed).
-- Every other insert into messages — and every update or delete — is indexed by the triggers
-- exactly as before.
CREATE TABLE messages_fts_deferred (
  flag INTEGER PRIMARY KEY CHECK (flag = 1)
);

DROP TRIGGER messages_fts_ai;
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages_fts_deferred) BEGIN
  INSERT INTO messages_fts(rowid, subject, body_text) VALUES (new.rowid, new.subject, new.body_text);
END;
