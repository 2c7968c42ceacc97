-- Analytics and people (issue 5). See the SQLite twin for the reasoning.
--
-- threads.resolved_at: when the thread last entered resolved/closed (NULL while it is open),
-- kept by a trigger from the row's updated_at so every writer of threads.status keeps it right.
ALTER TABLE threads ADD COLUMN resolved_at timestamptz;
UPDATE threads SET resolved_at = updated_at WHERE status IN ('resolved','closed');

CREATE FUNCTION threads_keep_resolved_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IN ('resolved','closed') THEN
    IF TG_OP = 'INSERT' THEN
      NEW.resolved_at := COALESCE(NEW.resolved_at, NEW.updated_at);
    ELSIF OLD.status NOT IN ('resolved','closed') THEN
      NEW.resolved_at := NEW.updated_at;
    END IF;
  ELSIF TG_OP = 'INSERT' OR OLD.status IN ('resolved','closed') THEN
    NEW.resolved_at := NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER threads_resolved_at BEFORE INSERT OR UPDATE OF status ON threads
  FOR EACH ROW EXECUTE FUNCTION threads_keep_resolved_at();

CREATE INDEX messages_org_created_dir ON messages(org_id, created_at, direction, channel, thread_id);
CREATE INDEX threads_org_resolved ON threads(org_id, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX threads_org_status_created ON threads(org_id, status, created_at);

-- Users: who invited them and when (users.invite), when they were deactivated.
ALTER TABLE users ADD COLUMN invited_by text;
ALTER TABLE users ADD COLUMN invited_at timestamptz;
ALTER TABLE users ADD COLUMN deactivated_at timestamptz;

-- Message counts per UTC day, channel and direction, kept by a trigger on messages; see the
-- SQLite twin. day uses the "C" collation so text order is date order.
CREATE TABLE message_counts_daily (
  org_id     uuid NOT NULL,
  day        text COLLATE "C" NOT NULL,
  channel    text NOT NULL,
  direction  text NOT NULL,
  count      bigint NOT NULL,
  PRIMARY KEY (org_id, day, channel, direction)
);
INSERT INTO message_counts_daily (org_id, day, channel, direction, count)
  SELECT org_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), channel, direction, COUNT(*)
  FROM messages GROUP BY 1, 2, 3, 4;

CREATE FUNCTION messages_keep_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE message_counts_daily SET count = count - 1
    WHERE org_id = OLD.org_id AND day = to_char(OLD.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
      AND channel = OLD.channel AND direction = OLD.direction;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO message_counts_daily (org_id, day, channel, direction, count)
    VALUES (NEW.org_id, to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), NEW.channel,
            NEW.direction, 1)
    ON CONFLICT (org_id, day, channel, direction)
    DO UPDATE SET count = message_counts_daily.count + 1;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER messages_counts AFTER INSERT OR DELETE OR UPDATE OF org_id, created_at, channel, direction
  ON messages FOR EACH ROW EXECUTE FUNCTION messages_keep_counts();
