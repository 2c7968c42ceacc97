-- Email ingest: subject-fallback key and merge history on threads, account health, IMAP cursors.

ALTER TABLE threads ADD COLUMN subject_key text;
ALTER TABLE threads ADD COLUMN merged_into uuid REFERENCES threads(id);
CREATE INDEX threads_subject_key ON threads(org_id, contact_id, subject_key);

ALTER TABLE messages ADD COLUMN raw_sha256 text;
ALTER TABLE messages ADD COLUMN warnings jsonb;
ALTER TABLE messages ADD COLUMN channel_account_id uuid REFERENCES channel_accounts(id);

ALTER TABLE channel_accounts ADD COLUMN status text NOT NULL DEFAULT 'ok';
ALTER TABLE channel_accounts ADD COLUMN last_error text;
ALTER TABLE channel_accounts ADD COLUMN last_error_at timestamptz;

-- Per IMAP folder: where ingest stands (UIDVALIDITY + last UID) and who is watching it.
CREATE TABLE mail_folders (
  org_id        uuid NOT NULL,
  account_id    uuid NOT NULL REFERENCES channel_accounts(id) ON DELETE CASCADE,
  folder        text NOT NULL,
  uidvalidity   bigint NOT NULL DEFAULT 0,
  last_uid      bigint NOT NULL DEFAULT 0,
  lease_owner   text,
  lease_until   timestamptz,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (org_id, account_id, folder)
);

CREATE INDEX messages_org_raw ON messages(org_id, raw_sha256);
