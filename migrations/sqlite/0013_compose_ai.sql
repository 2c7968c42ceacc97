-- Compose and message analysis (docs/COMPOSE.md): AI usage per call (for the monthly budget and
-- reporting), reference suggestions on threads, and the "analysis" event consumer for every
-- organization that exists already (new ones get it at creation).
--
-- ai_usage: one row per provider call, successful or not. month is "YYYY-MM" (UTC) so the
-- budget check sums one index range. status: ok, error, cancelled.
CREATE TABLE ai_usage (
  id            TEXT PRIMARY KEY,
  org_id        TEXT NOT NULL REFERENCES organizations(id),
  month         TEXT NOT NULL,
  feature       TEXT NOT NULL,
  actor         TEXT NOT NULL,
  provider      TEXT NOT NULL,
  model         TEXT NOT NULL,
  input_tokens  INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  estimated     INTEGER NOT NULL DEFAULT 0,
  status        TEXT NOT NULL CHECK (status IN ('ok','error','cancelled')),
  error         TEXT,
  attempts      INTEGER NOT NULL DEFAULT 1,
  duration_ms   INTEGER NOT NULL DEFAULT 0,
  first_token_ms INTEGER,
  subject_type  TEXT,
  subject_id    TEXT,
  created_at    TEXT NOT NULL
);
CREATE INDEX ai_usage_org_month ON ai_usage(org_id, month, created_at);

-- A reference named in an inbound message that no shipment of the organization carries:
-- offered on the thread ("create shipment?"), never turned into a record by itself.
-- status: open, dismissed, accepted (a shipment with the reference now exists).
CREATE TABLE thread_suggestions (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  thread_id   TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  message_id  TEXT REFERENCES messages(id) ON DELETE SET NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('create_shipment')),
  ref_kind    TEXT NOT NULL CHECK (ref_kind IN ('container','awb','bl','booking')),
  ref_value   TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','dismissed','accepted')),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  UNIQUE (org_id, thread_id, kind, ref_value)
);
CREATE INDEX thread_suggestions_thread ON thread_suggestions(org_id, thread_id, created_at);

-- Similar past replies: the reply that followed an inbound message in its thread.
CREATE INDEX messages_thread_direction ON messages(org_id, thread_id, direction, created_at);

INSERT INTO event_cursors (consumer, org_id, last_id, updated_at)
SELECT 'analysis', o.id, COALESCE((SELECT MAX(e.id) FROM events e WHERE e.org_id = o.id), 0),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM organizations o;
