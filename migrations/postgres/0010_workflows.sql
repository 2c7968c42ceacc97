-- Workflows (docs/WORKFLOWS.md) and the event consumers behind them.
--
-- Events now say who caused them ("user:<id>", "api_key:<id>", "system:<label>",
-- "workflow:<id>") and how deep in a chain of workflow reactions they are, so a workflow never
-- reacts to its own changes and a chain of workflows stops at a configured depth.
ALTER TABLE events ADD COLUMN actor text;
ALTER TABLE events ADD COLUMN depth integer NOT NULL DEFAULT 0;

-- One cursor per (consumer, organization): the last event id that consumer has handled there.
CREATE TABLE event_cursors (
  consumer    text NOT NULL,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  last_id     bigint NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (consumer, org_id)
);

CREATE TABLE workflows (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES organizations(id),
  name         text NOT NULL,
  enabled      integer NOT NULL DEFAULT 1,
  priority     integer NOT NULL DEFAULT 0,
  version      integer NOT NULL DEFAULT 1,
  trigger_kind text NOT NULL CHECK (trigger_kind IN ('event','schedule','relative','manual')),
  trigger_key  text,
  definition   jsonb NOT NULL,
  next_fire_at timestamptz,
  created_by   text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  deleted_at   timestamptz
);
CREATE INDEX workflows_org ON workflows(org_id, priority, name, id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX workflows_org_name ON workflows(org_id, name) WHERE deleted_at IS NULL;

-- Every saved definition, so a run finishes with the version it started with.
CREATE TABLE workflow_versions (
  workflow_id  uuid NOT NULL REFERENCES workflows(id),
  version      integer NOT NULL,
  org_id       uuid NOT NULL,
  definition   jsonb NOT NULL,
  created_by   text,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (workflow_id, version)
);

-- Bumped on every workflow change: servers cache compiled workflows per organization and
-- check this one number per batch of events.
CREATE TABLE workflow_gens (
  org_id  uuid PRIMARY KEY,
  gen     bigint NOT NULL
);

CREATE TABLE workflow_runs (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES organizations(id),
  workflow_id  uuid NOT NULL REFERENCES workflows(id),
  version      integer NOT NULL,
  status       text NOT NULL CHECK (status IN ('running','waiting','completed','failed',
                                               'cancelled','skipped')),
  trigger_kind text NOT NULL,
  event_id     bigint,
  thread_id    uuid,
  subject      jsonb NOT NULL DEFAULT '{}'::jsonb,
  step         integer NOT NULL DEFAULT 0,
  state        jsonb NOT NULL DEFAULT '{}'::jsonb,
  wait_event   text,
  wait_until   timestamptz,
  depth        integer NOT NULL DEFAULT 0,
  attempts     integer NOT NULL DEFAULT 0,
  error        text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  finished_at  timestamptz
);
CREATE INDEX workflow_runs_workflow ON workflow_runs(org_id, workflow_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_thread ON workflow_runs(org_id, thread_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_waiting ON workflow_runs(org_id, wait_event, thread_id)
  WHERE status = 'waiting' AND wait_event IS NOT NULL;

-- The append-only history of a run: one row per step attempt and decision.
CREATE TABLE workflow_run_steps (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id      uuid NOT NULL REFERENCES workflow_runs(id),
  org_id      uuid NOT NULL,
  step        integer,
  step_id     text,
  action      text NOT NULL,
  input       jsonb NOT NULL DEFAULT '{}'::jsonb,
  decision    text,
  output      jsonb NOT NULL DEFAULT '{}'::jsonb,
  error       text,
  attempt     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL
);
CREATE INDEX workflow_run_steps_run ON workflow_run_steps(run_id, id);

-- Idempotency keys of side effects already performed ("<run>:<step>"): a retried step that
-- finds its key does not act again.
CREATE TABLE workflow_effects (
  org_id      uuid NOT NULL,
  key         text NOT NULL,
  result      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (org_id, key)
);

-- Claims read due jobs in (run_at, id) order and stop at the batch size: with id in the index
-- the scan is already in that order (no sort of every due job when thousands of timers fall
-- due together).
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs(status, run_at, id);
