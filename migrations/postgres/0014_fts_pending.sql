-- Deferred full-text indexing that tolerates updates and deletes within the batch is a SQLite
-- change (migrations/sqlite/0014_fts_pending.sql). PostgreSQL's messages.search is a generated
-- column and needs nothing; this keeps the two dialects' schema versions in step.
SELECT 1;
