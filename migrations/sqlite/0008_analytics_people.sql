-- Analytics and people (issue 5).
--
-- threads.resolved_at: when the thread last entered resolved/closed (NULL while it is open).
-- Kept by triggers, so every writer of threads.status (updates, merges, bulk changes, imports)
-- keeps it right without knowing about it. The time is the row's updated_at, which writers set
-- to their call's clock. Threads already resolved get their updated_at, the best estimate.
ALTER TABLE threads ADD COLUMN resolved_at TEXT;
UPDATE threads SET resolved_at = updated_at WHERE status IN ('resolved','closed');

CREATE TRIGGER threads_resolved_at_ai AFTER INSERT ON threads
WHEN new.status IN ('resolved','closed') AND new.resolved_at IS NULL
BEGIN
  UPDATE threads SET resolved_at = new.updated_at WHERE id = new.id;
END;
CREATE TRIGGER threads_resolved_at_au AFTER UPDATE OF status ON threads
WHEN (new.status IN ('resolved','closed')) <> (old.status IN ('resolved','closed'))
BEGIN
  UPDATE threads SET resolved_at = CASE WHEN new.status IN ('resolved','closed')
                                        THEN new.updated_at ELSE NULL END
  WHERE id = new.id;
END;

-- Message volume and "first inbound message in a range": one range scan that never reads the
-- table (direction, channel and thread are in the index).
CREATE INDEX messages_org_created_dir ON messages(org_id, created_at, direction, channel, thread_id);
-- Threads resolved in a range; open backlog by status and age.
CREATE INDEX threads_org_resolved ON threads(org_id, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX threads_org_status_created ON threads(org_id, status, created_at);

-- Users: who invited them and when (users.invite), when they were deactivated.
-- invited_by is the inviting actor's id (a user or an API key).
ALTER TABLE users ADD COLUMN invited_by TEXT;
ALTER TABLE users ADD COLUMN invited_at TEXT;
ALTER TABLE users ADD COLUMN deactivated_at TEXT;

-- Message counts per UTC day, channel and direction, kept by triggers on messages (every
-- writer: ingest, sends, notes, imports, deletes, moves). analytics.volume reads whole days
-- here and only the partial days at a range's ends from messages: O(days), not O(messages).
-- Rows may reach count 0 (after deletes); readers skip them.
CREATE TABLE message_counts_daily (
  org_id     TEXT NOT NULL,
  day        TEXT NOT NULL,  -- YYYY-MM-DD (UTC)
  channel    TEXT NOT NULL,
  direction  TEXT NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (org_id, day, channel, direction)
);
INSERT INTO message_counts_daily (org_id, day, channel, direction, count)
  SELECT org_id, substr(created_at, 1, 10), channel, direction, COUNT(*) FROM messages
  GROUP BY org_id, substr(created_at, 1, 10), channel, direction;
CREATE TRIGGER messages_counts_ai AFTER INSERT ON messages BEGIN
  INSERT INTO message_counts_daily (org_id, day, channel, direction, count)
  VALUES (new.org_id, substr(new.created_at, 1, 10), new.channel, new.direction, 1)
  ON CONFLICT (org_id, day, channel, direction) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER messages_counts_ad AFTER DELETE ON messages BEGIN
  UPDATE message_counts_daily SET count = count - 1
  WHERE org_id = old.org_id AND day = substr(old.created_at, 1, 10) AND channel = old.channel
    AND direction = old.direction;
END;
CREATE TRIGGER messages_counts_au AFTER UPDATE OF org_id, created_at, channel, direction ON messages
BEGIN
  UPDATE message_counts_daily SET count = count - 1
  WHERE org_id = old.org_id AND day = substr(old.created_at, 1, 10) AND channel = old.channel
    AND direction = old.direction;
  INSERT INTO message_counts_daily (org_id, day, channel, direction, count)
  VALUES (new.org_id, substr(new.created_at, 1, 10), new.channel, new.direction, 1)
  ON CONFLICT (org_id, day, channel, direction) DO UPDATE SET count = count + 1;
END;
