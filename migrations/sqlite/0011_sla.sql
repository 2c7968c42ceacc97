-- SLAs (docs/SLA.md): business calendars, policies, milestone rules for shipments, and the
-- clocks they run. Times are the one fixed-width UTC text form, so text order is time order.

-- A business calendar: {"time_zone", "hours": {weekday: [[start, end], ...]}, "holidays"}.
CREATE TABLE business_calendars (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  name        TEXT NOT NULL,
  definition  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX business_calendars_org_name ON business_calendars(org_id, name);

-- Policies apply in (position, name) order: the first enabled one whose match accepts the
-- thread is recorded on it. match: {"priorities": [...], "customer_tiers": [...],
-- "channels": [...]} (a missing or empty list accepts anything). Targets are seconds (null: no
-- such target); calendar_id null counts wall time. warn_permille: the share of a target at
-- which sla.warning fires (800 = 0.8).
CREATE TABLE sla_policies (
  id                  TEXT PRIMARY KEY,
  org_id              TEXT NOT NULL REFERENCES organizations(id),
  name                TEXT NOT NULL,
  position            INTEGER NOT NULL DEFAULT 0,
  enabled             INTEGER NOT NULL DEFAULT 1,
  match               TEXT NOT NULL DEFAULT '{}',
  first_response_s    INTEGER,
  next_response_s     INTEGER,
  resolution_s        INTEGER,
  calendar_id         TEXT REFERENCES business_calendars(id),
  warn_permille       INTEGER NOT NULL DEFAULT 800,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX sla_policies_org_name ON sla_policies(org_id, name);
CREATE INDEX sla_policies_org_order ON sla_policies(org_id, position, name);

-- Logistics clocks. A rule starts a clock on a shipment when its trigger happens
-- ("eta_changed", "etd_changed", or "milestone:<kind>" when that milestone's actual time is
-- set). The deadline is `offset_s` after the anchor: the trigger's time ("event"), or a
-- shipment time ("eta", "etd", "milestone:<kind>" = that milestone's planned time; a negative
-- offset means before it). met_by: "reply" (a message sent on a thread linked to the shipment)
-- or "milestone:<kind>" (that milestone's actual time is set).
CREATE TABLE sla_milestone_rules (
  id            TEXT PRIMARY KEY,
  org_id        TEXT NOT NULL REFERENCES organizations(id),
  name          TEXT NOT NULL,
  enabled       INTEGER NOT NULL DEFAULT 1,
  trigger_on    TEXT NOT NULL,
  anchor        TEXT NOT NULL DEFAULT 'event',
  offset_s      INTEGER NOT NULL,
  met_by        TEXT NOT NULL,
  calendar_id   TEXT REFERENCES business_calendars(id),
  warn_permille INTEGER NOT NULL DEFAULT 800,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX sla_milestone_rules_org_name ON sla_milestone_rules(org_id, name);

-- A thread's SLA: the policy picked on its first inbound message (null: none matched),
-- awaiting_reply (a customer message has no reply yet), replied (an agent has replied at least
-- once: the next customer message starts next response), and when the thread was last paused.
CREATE TABLE thread_sla (
  thread_id     TEXT PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
  org_id        TEXT NOT NULL,
  policy_id     TEXT REFERENCES sla_policies(id) ON DELETE SET NULL,
  awaiting_reply INTEGER NOT NULL DEFAULT 0,
  replied       INTEGER NOT NULL DEFAULT 0,
  paused_at     TEXT,
  paused_s      INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE INDEX thread_sla_org_policy ON thread_sla(org_id, policy_id);

-- One clock per target instance: a thread's first_response / next_response / resolution (a new
-- next_response clock per customer message after a reply), or a shipment's rule clock (metric
-- "rule"). A running clock's deadline is due_at = calendar.add(segment_start, target - used);
-- pausing adds the business time of the segment to used_s. warned_at / breached_at record the
-- events (each fires once); met_at when the target was met; status 'cancelled' when replaced.
CREATE TABLE sla_clocks (
  id            TEXT PRIMARY KEY,
  org_id        TEXT NOT NULL REFERENCES organizations(id),
  subject_type  TEXT NOT NULL CHECK (subject_type IN ('thread','shipment')),
  subject_id    TEXT NOT NULL,
  thread_id     TEXT,
  metric        TEXT NOT NULL
                CHECK (metric IN ('first_response','next_response','resolution','rule')),
  policy_id     TEXT,
  rule_id       TEXT,
  calendar_id   TEXT,
  target_s      INTEGER NOT NULL,
  warn_permille INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('running','paused','met','cancelled')),
  started_at    TEXT NOT NULL,
  segment_start TEXT,
  used_s        INTEGER NOT NULL DEFAULT 0,
  due_at        TEXT,
  warn_at       TEXT,
  warned_at     TEXT,
  breached_at   TEXT,
  met_at        TEXT,
  assignee_id   TEXT,
  customer_id   TEXT,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE INDEX sla_clocks_subject ON sla_clocks(org_id, subject_type, subject_id, metric, status);
CREATE INDEX sla_clocks_org_started ON sla_clocks(org_id, started_at);

-- The shipment times the logistics clocks last saw (to tell an ETA change from a save).
CREATE TABLE shipment_sla (
  shipment_id TEXT PRIMARY KEY REFERENCES shipments(id) ON DELETE CASCADE,
  org_id      TEXT NOT NULL,
  eta         TEXT,
  etd         TEXT,
  updated_at  TEXT NOT NULL
);
