-- Workflows (docs/WORKFLOWS.md) and the event consumers behind them.
--
-- Events now say who caused them ("user:<id>", "api_key:<id>", "system:<label>",
-- "workflow:<id>") and how deep in a chain of workflow reactions they are, so a workflow never
-- reacts to its own changes and a chain of workflows stops at a configured depth.
ALTER TABLE events ADD COLUMN actor TEXT;
ALTER TABLE events ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;

-- One cursor per (consumer, organization): the last event id that consumer has handled there.
CREATE TABLE event_cursors (
  consumer    TEXT NOT NULL,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  last_id     INTEGER NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (consumer, org_id)
);

CREATE TABLE workflows (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organizations(id),
  name         TEXT NOT NULL,
  enabled      INTEGER NOT NULL DEFAULT 1,
  priority     INTEGER NOT NULL DEFAULT 0,
  version      INTEGER NOT NULL DEFAULT 1,
  trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('event','schedule','relative','manual')),
  trigger_key  TEXT,
  definition   TEXT NOT NULL,
  next_fire_at TEXT,
  created_by   TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  deleted_at   TEXT
);
CREATE INDEX workflows_org ON workflows(org_id, priority, name, id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX workflows_org_name ON workflows(org_id, name) WHERE deleted_at IS NULL;

-- Every saved definition, so a run finishes with the version it started with.
CREATE TABLE workflow_versions (
  workflow_id  TEXT NOT NULL REFERENCES workflows(id),
  version      INTEGER NOT NULL,
  org_id       TEXT NOT NULL,
  definition   TEXT NOT NULL,
  created_by   TEXT,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (workflow_id, version)
);

-- Bumped on every workflow change: servers cache compiled workflows per organization and
-- check this one number per batch of events.
CREATE TABLE workflow_gens (
  org_id  TEXT PRIMARY KEY,
  gen     INTEGER NOT NULL
);

CREATE TABLE workflow_runs (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organizations(id),
  workflow_id  TEXT NOT NULL REFERENCES workflows(id),
  version      INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('running','waiting','completed','failed',
                                               'cancelled','skipped')),
  trigger_kind TEXT NOT NULL,
  event_id     INTEGER,
  thread_id    TEXT,
  subject      TEXT NOT NULL DEFAULT '{}',
  step         INTEGER NOT NULL DEFAULT 0,
  state        TEXT NOT NULL DEFAULT '{}',
  wait_event   TEXT,
  wait_until   TEXT,
  depth        INTEGER NOT NULL DEFAULT 0,
  attempts     INTEGER NOT NULL DEFAULT 0,
  error        TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  finished_at  TEXT
);
CREATE INDEX workflow_runs_workflow ON workflow_runs(org_id, workflow_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_thread ON workflow_runs(org_id, thread_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_waiting ON workflow_runs(org_id, wait_event, thread_id)
  WHERE status = 'waiting' AND wait_event IS NOT NULL;

-- The append-only history of a run: one row per step attempt and decision.
CREATE TABLE workflow_run_steps (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id      TEXT NOT NULL REFERENCES workflow_runs(id),
  org_id      TEXT NOT NULL,
  step        INTEGER,
  step_id     TEXT,
  action      TEXT NOT NULL,
  input       TEXT NOT NULL DEFAULT '{}',
  decision    TEXT,
  output      TEXT NOT NULL DEFAULT '{}',
  error       TEXT,
  attempt     INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL
);
CREATE INDEX workflow_run_steps_run ON workflow_run_steps(run_id, id);

-- Idempotency keys of side effects already performed ("<run>:<step>"): a retried step that
-- finds its key does not act again.
CREATE TABLE workflow_effects (
  org_id      TEXT NOT NULL,
  key         TEXT NOT NULL,
  result      TEXT NOT NULL DEFAULT '{}',
  created_at  TEXT NOT NULL,
  PRIMARY KEY (org_id, key)
);

-- Claims read due jobs in (run_at, id) order and stop at the batch size: with id in the index
-- the scan is already in that order (no sort of every due job when thousands of timers fall
-- due together).
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs(status, run_at, id);
