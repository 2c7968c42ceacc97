-- Full-text indexing once per ingest batch is a SQLite change (migrations/sqlite/0004_fts_batch.sql:
-- FTS5 flushed its index at every statement of a batch). PostgreSQL computes messages.search, a
-- generated tsvector column, as each row is written and needs no change; this migration keeps
-- the two dialects' schema versions in step.
SELECT 1;
