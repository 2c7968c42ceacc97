-- Compose and message analysis (docs/COMPOSE.md): AI usage per call (for the monthly budget and
-- reporting), reference suggestions on threads, and the "analysis" event consumer for every
-- organization that exists already (new ones get it at creation). See the SQLite twin.
CREATE TABLE ai_usage (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES organizations(id),
  month         text NOT NULL,
  feature       text NOT NULL,
  actor         text NOT NULL,
  provider      text NOT NULL,
  model         text NOT NULL,
  input_tokens  bigint NOT NULL DEFAULT 0,
  output_tokens bigint NOT NULL DEFAULT 0,
  estimated     integer NOT NULL DEFAULT 0,
  status        text NOT NULL CHECK (status IN ('ok','error','cancelled')),
  error         text,
  attempts      integer NOT NULL DEFAULT 1,
  duration_ms   bigint NOT NULL DEFAULT 0,
  first_token_ms bigint,
  subject_type  text,
  subject_id    text,
  created_at    timestamptz NOT NULL
);
CREATE INDEX ai_usage_org_month ON ai_usage(org_id, month, created_at);

CREATE TABLE thread_suggestions (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  thread_id   uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  message_id  uuid REFERENCES messages(id) ON DELETE SET NULL,
  kind        text NOT NULL CHECK (kind IN ('create_shipment')),
  ref_kind    text NOT NULL CHECK (ref_kind IN ('container','awb','bl','booking')),
  ref_value   text NOT NULL,
  status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open','dismissed','accepted')),
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  UNIQUE (org_id, thread_id, kind, ref_value)
);
CREATE INDEX thread_suggestions_thread ON thread_suggestions(org_id, thread_id, created_at);

CREATE INDEX messages_thread_direction ON messages(org_id, thread_id, direction, created_at);

INSERT INTO event_cursors (consumer, org_id, last_id, updated_at)
SELECT 'analysis', o.id, COALESCE((SELECT MAX(e.id) FROM events e WHERE e.org_id = o.id), 0), now()
FROM organizations o;
