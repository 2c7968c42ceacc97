-- Outgoing webhooks (docs/WEBHOOKS.md): an organization's subscriptions to event types, one
-- delivery row per (subscription, event), and a log of every attempt.
--
-- event_types is a JSON array of patterns: an exact type ("thread.created"), a prefix
-- ("thread.*") or "*". secret is the HMAC-SHA256 signing key (shown once; stored as is because
-- signing needs it). During a rotation the old key keeps signing too until
-- previous_secret_expires_at.
CREATE TABLE webhook_subscriptions (
  id                         uuid PRIMARY KEY,
  org_id                     uuid NOT NULL REFERENCES organizations(id),
  url                        text NOT NULL,
  event_types                jsonb NOT NULL DEFAULT '[]'::jsonb,
  description                text,
  enabled                    integer NOT NULL DEFAULT 1,
  timeout_seconds            integer NOT NULL DEFAULT 10,
  secret                     text NOT NULL,
  previous_secret            text,
  previous_secret_expires_at timestamptz,
  created_at                 timestamptz NOT NULL,
  updated_at                 timestamptz NOT NULL
);
CREATE INDEX webhook_subscriptions_org_created
  ON webhook_subscriptions(org_id, created_at DESC, id DESC);

-- One row per event per subscription; id is the delivery id the receiver sees (and dedupes
-- on). body is the exact JSON sent (text, not jsonb: a redelivery sends the same bytes).
-- status: pending (queued or waiting for a retry), succeeded (2xx), failed (refused for good:
-- 3xx/4xx, SSRF, subscription disabled), dead (retries exhausted).
CREATE TABLE webhook_deliveries (
  id                 uuid PRIMARY KEY,
  org_id             uuid NOT NULL,
  subscription_id    uuid NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
  event_id           bigint NOT NULL,
  event_type         text NOT NULL,
  body               text NOT NULL,
  status             text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending','succeeded','failed','dead')),
  attempts           integer NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz,
  last_attempt_at    timestamptz,
  last_response_code integer,
  last_error         text,
  response_excerpt   text,
  duration_ms        integer,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_org_created ON webhook_deliveries(org_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_subscription
  ON webhook_deliveries(org_id, subscription_id, created_at DESC, id DESC);

-- Every attempt: what came back (or why nothing did) and what was decided.
CREATE TABLE webhook_delivery_attempts (
  delivery_id   uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  org_id        uuid NOT NULL,
  attempt       integer NOT NULL,
  started_at    timestamptz NOT NULL,
  response_code integer,
  error         text,
  duration_ms   integer NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('succeeded','retry','failed','dead')),
  PRIMARY KEY (delivery_id, attempt)
);
