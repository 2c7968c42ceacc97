-- Email ingest: subject-fallback key and merge history on threads, account health, IMAP cursors.

ALTER TABLE threads ADD COLUMN subject_key TEXT;
ALTER TABLE threads ADD COLUMN merged_into TEXT REFERENCES threads(id);
CREATE INDEX threads_subject_key ON threads(org_id, contact_id, subject_key);

ALTER TABLE messages ADD COLUMN raw_sha256 TEXT;
ALTER TABLE messages ADD COLUMN warnings TEXT;
ALTER TABLE messages ADD COLUMN channel_account_id TEXT REFERENCES channel_accounts(id);

ALTER TABLE channel_accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';
ALTER TABLE channel_accounts ADD COLUMN last_error TEXT;
ALTER TABLE channel_accounts ADD COLUMN last_error_at TEXT;

-- Per IMAP folder: where ingest stands (UIDVALIDITY + last UID) and who is watching it.
CREATE TABLE mail_folders (
  org_id        TEXT NOT NULL,
  account_id    TEXT NOT NULL REFERENCES channel_accounts(id) ON DELETE CASCADE,
  folder        TEXT NOT NULL,
  uidvalidity   INTEGER NOT NULL DEFAULT 0,
  last_uid      INTEGER NOT NULL DEFAULT 0,
  lease_owner   TEXT,
  lease_until   TEXT,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (org_id, account_id, folder)
);

CREATE INDEX messages_org_raw ON messages(org_id, raw_sha256);
