-- The raw-source index serves one query: the duplicate check of a message that has no
-- Message-ID (ingest looks it up by the SHA-256 of its bytes). Almost every message has a
-- Message-ID, yet each one added an entry on a random key (a SHA-256) to this index: at a
-- million messages that is one more page written per message. Only messages without a
-- Message-ID are indexed now; the query names `message_id IS NULL`, so it still uses it.
DROP INDEX messages_org_raw;
CREATE INDEX messages_org_raw_no_id ON messages(org_id, raw_sha256) WHERE message_id IS NULL;
