-- Shipments: the forwarder's jobs (ocean, air, road, rail moves), their references (booking,
-- B/L, container and AWB numbers), milestones, and the threads that talk about them.
--
-- origin/destination are UN/LOCODEs without the space (INNSA); parties is a JSON object
-- (shipper, consignee, notify, agents: free-form). etd/eta are stored in the one UTC form.
CREATE TABLE shipments (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  customer_id uuid REFERENCES customers(id) ON DELETE SET NULL,
  mode        text NOT NULL CHECK (mode IN ('ocean','air','road','rail')),
  status      text NOT NULL DEFAULT 'planned'
              CHECK (status IN ('planned','booked','in_transit','arrived','delivered','cancelled')),
  origin      text,
  destination text,
  etd         timestamptz,
  eta         timestamptz,
  parties     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX shipments_org_created ON shipments(org_id, created_at DESC, id DESC);
CREATE INDEX shipments_org_customer ON shipments(org_id, customer_id);

-- One row per reference; value is normalized (upper case, no spaces or dashes). A reference
-- names one shipment of the organization: the primary key is the lookup index.
CREATE TABLE shipment_references (
  org_id      uuid NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('booking','bl','container','awb')),
  value       text NOT NULL,
  shipment_id uuid NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (org_id, kind, value)
);
-- "Any reference with this value" (lookup without a kind) and "this shipment's references".
CREATE INDEX shipment_references_value ON shipment_references(org_id, value);
CREATE INDEX shipment_references_shipment ON shipment_references(org_id, shipment_id);

-- One row per milestone kind per shipment (set_milestone upserts).
CREATE TABLE shipment_milestones (
  shipment_id uuid NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
  org_id      uuid NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('booked','picked_up','gate_in','loaded','departed',
                                            'transshipped','arrived','customs_cleared','delivered')),
  planned_at  timestamptz,
  actual_at   timestamptz,
  location    text,
  note        text,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (shipment_id, kind)
);

-- Threads about a shipment (many to many).
CREATE TABLE thread_shipments (
  org_id      uuid NOT NULL,
  thread_id   uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  shipment_id uuid NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (org_id, thread_id, shipment_id)
);
CREATE INDEX thread_shipments_shipment ON thread_shipments(org_id, shipment_id, created_at, thread_id);
