-- Outgoing webhooks (docs/WEBHOOKS.md): an organization's subscriptions to event types, one
-- delivery row per (subscription, event), and a log of every attempt.
--
-- event_types is a JSON array of patterns: an exact type ("thread.created"), a prefix
-- ("thread.*") or "*". secret is the HMAC-SHA256 signing key (shown once; stored as is because
-- signing needs it). During a rotation the old key keeps signing too until
-- previous_secret_expires_at.
CREATE TABLE webhook_subscriptions (
  id                         TEXT PRIMARY KEY,
  org_id                     TEXT NOT NULL REFERENCES organizations(id),
  url                        TEXT NOT NULL,
  event_types                TEXT NOT NULL DEFAULT '[]',
  description                TEXT,
  enabled                    INTEGER NOT NULL DEFAULT 1,
  timeout_seconds            INTEGER NOT NULL DEFAULT 10,
  secret                     TEXT NOT NULL,
  previous_secret            TEXT,
  previous_secret_expires_at TEXT,
  created_at                 TEXT NOT NULL,
  updated_at                 TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_org_created
  ON webhook_subscriptions(org_id, created_at DESC, id DESC);

-- One row per event per subscription; id is the delivery id the receiver sees (and dedupes
-- on). body is the exact JSON sent, so a redelivery sends the same bytes. status: pending
-- (queued or waiting for a retry), succeeded (2xx), failed (refused for good: 3xx/4xx, SSRF,
-- subscription disabled), dead (retries exhausted).
CREATE TABLE webhook_deliveries (
  id                 TEXT PRIMARY KEY,
  org_id             TEXT NOT NULL,
  subscription_id    TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
  event_id           INTEGER NOT NULL,
  event_type         TEXT NOT NULL,
  body               TEXT NOT NULL,
  status             TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending','succeeded','failed','dead')),
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_at    TEXT,
  last_attempt_at    TEXT,
  last_response_code INTEGER,
  last_error         TEXT,
  response_excerpt   TEXT,
  duration_ms        INTEGER,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_org_created ON webhook_deliveries(org_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_subscription
  ON webhook_deliveries(org_id, subscription_id, created_at DESC, id DESC);

-- Every attempt: what came back (or why nothing did) and what was decided.
CREATE TABLE webhook_delivery_attempts (
  delivery_id   TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  org_id        TEXT NOT NULL,
  attempt       INTEGER NOT NULL,
  started_at    TEXT NOT NULL,
  response_code INTEGER,
  error         TEXT,
  duration_ms   INTEGER NOT NULL,
  outcome       TEXT NOT NULL CHECK (outcome IN ('succeeded','retry','failed','dead')),
  PRIMARY KEY (delivery_id, attempt)
);
