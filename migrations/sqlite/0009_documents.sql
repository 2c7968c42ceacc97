-- Shipment documents: bills of lading, invoices, packing lists, ... uploaded as files. The
-- bytes live in the blob store (content-addressed by SHA-256 per organization); this table
-- holds what was said about them. A delete is soft (deleted_at): the event log and audit trail
-- keep naming the row, and a blob may be shared by several documents.
CREATE TABLE shipment_documents (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organizations(id),
  shipment_id  TEXT NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
  kind         TEXT NOT NULL CHECK (kind IN ('bill_of_lading','invoice','packing_list',
                 'certificate_of_origin','customs_declaration','delivery_order','other')),
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size         INTEGER NOT NULL,
  sha256       TEXT NOT NULL,
  blob_key     TEXT NOT NULL,
  uploaded_by  TEXT,
  created_at   TEXT NOT NULL,
  deleted_at   TEXT
);
CREATE INDEX shipment_documents_shipment
  ON shipment_documents(org_id, shipment_id, created_at, id) WHERE deleted_at IS NULL;

-- For the server's /metrics: messages by channel and direction, jobs by kind and status,
-- counted from the index alone.
CREATE INDEX messages_channel_direction ON messages(channel, direction);
CREATE INDEX jobs_kind_status ON jobs(kind, status);
