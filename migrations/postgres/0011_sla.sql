-- SLAs (docs/SLA.md): business calendars, policies, milestone rules for shipments, and the
-- clocks they run. Times are the one fixed-width UTC text form, so text order is time order.

-- A business calendar: {"time_zone", "hours": {weekday: [[start, end], ...]}, "holidays"}.
CREATE TABLE business_calendars (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  name        text NOT NULL,
  definition  jsonb NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX business_calendars_org_name ON business_calendars(org_id, name);

-- Policies apply in (position, name) order: the first enabled one whose match accepts the
-- thread is recorded on it. match: {"priorities": [...], "customer_tiers": [...],
-- "channels": [...]} (a missing or empty list accepts anything). Targets are seconds (null: no
-- such target); calendar_id null counts wall time. warn_permille: the share of a target at
-- which sla.warning fires (800 = 0.8).
CREATE TABLE sla_policies (
  id                  uuid PRIMARY KEY,
  org_id              uuid NOT NULL REFERENCES organizations(id),
  name                text NOT NULL,
  position            integer NOT NULL DEFAULT 0,
  enabled             integer NOT NULL DEFAULT 1,
  match               jsonb NOT NULL DEFAULT '{}'::jsonb,
  first_response_s    bigint,
  next_response_s     bigint,
  resolution_s        bigint,
  calendar_id         uuid REFERENCES business_calendars(id),
  warn_permille       integer NOT NULL DEFAULT 800,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
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
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES organizations(id),
  name          text NOT NULL,
  enabled       integer NOT NULL DEFAULT 1,
  trigger_on    text NOT NULL,
  anchor        text NOT NULL DEFAULT 'event',
  offset_s      bigint NOT NULL,
  met_by        text NOT NULL,
  calendar_id   uuid REFERENCES business_calendars(id),
  warn_permille integer NOT NULL DEFAULT 800,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX sla_milestone_rules_org_name ON sla_milestone_rules(org_id, name);

-- A thread's SLA: the policy picked on its first inbound message (null: none matched),
-- awaiting_reply (a customer message has no reply yet), replied (an agent has replied at least
-- once: the next customer message starts next response), and when the thread was last paused.
CREATE TABLE thread_sla (
  thread_id     uuid PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
  org_id        uuid NOT NULL,
  policy_id     uuid REFERENCES sla_policies(id) ON DELETE SET NULL,
  awaiting_reply integer NOT NULL DEFAULT 0,
  replied       integer NOT NULL DEFAULT 0,
  paused_at     timestamptz,
  paused_s      bigint NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX thread_sla_org_policy ON thread_sla(org_id, policy_id);

-- One clock per target instance: a thread's first_response / next_response / resolution (a new
-- next_response clock per customer message after a reply), or a shipment's rule clock (metric
-- "rule"). A running clock's deadline is due_at = calendar.add(segment_start, target - used);
-- pausing adds the business time of the segment to used_s. warned_at / breached_at record the
-- events (each fires once); met_at when the target was met; status 'cancelled' when replaced.
CREATE TABLE sla_clocks (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES organizations(id),
  subject_type  text NOT NULL CHECK (subject_type IN ('thread','shipment')),
  subject_id    text NOT NULL,
  thread_id     uuid,
  metric        text NOT NULL
                CHECK (metric IN ('first_response','next_response','resolution','rule')),
  policy_id     uuid,
  rule_id       uuid,
  calendar_id   uuid,
  target_s      bigint NOT NULL,
  warn_permille integer NOT NULL,
  status        text NOT NULL CHECK (status IN ('running','paused','met','cancelled')),
  started_at    timestamptz NOT NULL,
  segment_start timestamptz,
  used_s        bigint NOT NULL DEFAULT 0,
  due_at        timestamptz,
  warn_at       timestamptz,
  warned_at     timestamptz,
  breached_at   timestamptz,
  met_at        timestamptz,
  assignee_id   uuid,
  customer_id   uuid,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX sla_clocks_subject ON sla_clocks(org_id, subject_type, subject_id, metric, status);
CREATE INDEX sla_clocks_org_started ON sla_clocks(org_id, started_at);

-- The shipment times the logistics clocks last saw (to tell an ETA change from a save).
CREATE TABLE shipment_sla (
  shipment_id uuid PRIMARY KEY REFERENCES shipments(id) ON DELETE CASCADE,
  org_id      uuid NOT NULL,
  eta         timestamptz,
  etd         timestamptz,
  updated_at  timestamptz NOT NULL
);
