-- banxway schema v1 (SQLite). Ids are UUIDv7 text; times are ISO-8601 UTC text with
-- milliseconds (fixed width, so text order is time order); JSON columns hold compact JSON text.
-- Every row carries org_id and every index starts with it.

CREATE TABLE organizations (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  settings    TEXT NOT NULL DEFAULT '{}',
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  email       TEXT NOT NULL,
  name        TEXT,
  role        TEXT NOT NULL CHECK (role IN ('admin','manager','agent','viewer')),
  team        TEXT,
  active      INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  UNIQUE (org_id, email)
);
CREATE INDEX users_org_created ON users(org_id, created_at, id);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organizations(id),
  user_id      TEXT REFERENCES users(id),
  name         TEXT,
  role         TEXT NOT NULL CHECK (role IN ('admin','manager','agent','viewer')),
  prefix       TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
);
CREATE INDEX api_keys_org ON api_keys(org_id, created_at, id);

CREATE TABLE customers (
  id                 TEXT PRIMARY KEY,
  org_id             TEXT NOT NULL REFERENCES organizations(id),
  name               TEXT NOT NULL,
  domains            TEXT NOT NULL DEFAULT '[]',
  tier               TEXT,
  account_manager_id TEXT REFERENCES users(id),
  notes              TEXT,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE INDEX customers_org_name ON customers(org_id, name, id);

-- One row per customer domain, so "contact to customer by domain" is an index lookup.
CREATE TABLE customer_domains (
  org_id      TEXT NOT NULL,
  domain      TEXT NOT NULL,
  customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  PRIMARY KEY (org_id, domain)
);

CREATE TABLE contacts (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  customer_id TEXT REFERENCES customers(id) ON DELETE SET NULL,
  name        TEXT,
  title       TEXT,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE INDEX contacts_org_created ON contacts(org_id, created_at, id);
CREATE INDEX contacts_customer ON contacts(org_id, customer_id);

CREATE TABLE contact_identities (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL,
  contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  kind        TEXT NOT NULL CHECK (kind IN ('email','phone','whatsapp')),
  value       TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (org_id, kind, value)
);
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

CREATE TABLE channel_accounts (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  channel     TEXT NOT NULL CHECK (channel IN ('email','whatsapp','sms','voice')),
  provider    TEXT NOT NULL,
  name        TEXT NOT NULL,
  address     TEXT,
  config      TEXT NOT NULL DEFAULT '{}',
  secrets     TEXT NOT NULL DEFAULT '{}',
  active      INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE INDEX channel_accounts_org ON channel_accounts(org_id, channel);

CREATE TABLE threads (
  id               TEXT PRIMARY KEY,
  org_id           TEXT NOT NULL REFERENCES organizations(id),
  subject          TEXT,
  status           TEXT NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open','pending','snoozed','resolved','closed')),
  priority         TEXT NOT NULL DEFAULT 'normal'
                   CHECK (priority IN ('low','normal','high','urgent')),
  assignee_id      TEXT REFERENCES users(id),
  customer_id      TEXT REFERENCES customers(id) ON DELETE SET NULL,
  contact_id       TEXT REFERENCES contacts(id) ON DELETE SET NULL,
  channels         TEXT NOT NULL DEFAULT '[]',
  tags             TEXT NOT NULL DEFAULT '[]',
  snoozed_until    TEXT,
  first_response_due_at TEXT,
  resolution_due_at     TEXT,
  last_message_at  TEXT,
  last_activity_at TEXT NOT NULL,
  preview          TEXT,
  message_count    INTEGER NOT NULL DEFAULT 0,
  unread_count     INTEGER NOT NULL DEFAULT 0,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX threads_org_activity ON threads(org_id, last_activity_at DESC, id DESC);
CREATE INDEX threads_org_status_activity ON threads(org_id, status, last_activity_at DESC, id DESC);
CREATE INDEX threads_org_assignee_activity ON threads(org_id, assignee_id, last_activity_at DESC, id DESC);
CREATE INDEX threads_org_customer ON threads(org_id, customer_id);
CREATE INDEX threads_org_contact ON threads(org_id, contact_id);

CREATE TABLE tags (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  name        TEXT NOT NULL,
  color       TEXT,
  created_at  TEXT NOT NULL,
  UNIQUE (org_id, name)
);

CREATE TABLE thread_tags (
  org_id     TEXT NOT NULL,
  thread_id  TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  tag_id     TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
  PRIMARY KEY (org_id, thread_id, tag_id)
);
CREATE INDEX thread_tags_tag ON thread_tags(org_id, tag_id);

-- Notes are messages with channel 'note' (direction 'internal'), so one timeline holds both.
CREATE TABLE messages (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organizations(id),
  thread_id    TEXT NOT NULL REFERENCES threads(id),
  channel      TEXT NOT NULL CHECK (channel IN ('email','whatsapp','sms','voice','note')),
  direction    TEXT NOT NULL CHECK (direction IN ('inbound','outbound','internal')),
  author_id    TEXT REFERENCES users(id),
  contact_id   TEXT REFERENCES contacts(id) ON DELETE SET NULL,
  from_addr    TEXT,
  to_addrs     TEXT NOT NULL DEFAULT '[]',
  cc_addrs     TEXT NOT NULL DEFAULT '[]',
  subject      TEXT,
  body_text    TEXT,
  body_html    TEXT,
  snippet      TEXT,
  message_id   TEXT,
  in_reply_to  TEXT,
  refs         TEXT NOT NULL DEFAULT '[]',
  provider_id  TEXT,
  status       TEXT,
  analysis     TEXT,
  sent_at      TEXT,
  created_at   TEXT NOT NULL
);
CREATE INDEX messages_thread ON messages(org_id, thread_id, created_at, id);
CREATE UNIQUE INDEX messages_org_message_id ON messages(org_id, message_id) WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_org_provider_id ON messages(org_id, channel, provider_id) WHERE provider_id IS NOT NULL;

-- Full-text search over subject and text, kept in step with messages by triggers.
CREATE VIRTUAL TABLE messages_fts USING fts5(
  subject, body_text, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, subject, body_text) VALUES (new.rowid, new.subject, new.body_text);
END;
CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, subject, body_text)
  VALUES ('delete', old.rowid, old.subject, old.body_text);
END;
CREATE TRIGGER messages_fts_au AFTER UPDATE OF subject, body_text ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, subject, body_text)
  VALUES ('delete', old.rowid, old.subject, old.body_text);
  INSERT INTO messages_fts(rowid, subject, body_text) VALUES (new.rowid, new.subject, new.body_text);
END;

-- (org, normalized Message-ID) -> message, or a ghost (message_id NULL) seen only in References.
CREATE TABLE message_refs (
  org_id      TEXT NOT NULL,
  ref         TEXT NOT NULL,
  message_id  TEXT REFERENCES messages(id) ON DELETE SET NULL,
  thread_id   TEXT NOT NULL REFERENCES threads(id),
  created_at  TEXT NOT NULL,
  PRIMARY KEY (org_id, ref)
);
CREATE INDEX message_refs_thread ON message_refs(org_id, thread_id);

CREATE TABLE blobs (
  org_id      TEXT NOT NULL,
  sha256      TEXT NOT NULL,
  size        INTEGER NOT NULL,
  media_type  TEXT,
  storage     TEXT NOT NULL DEFAULT 'fs',
  created_at  TEXT NOT NULL,
  PRIMARY KEY (org_id, sha256)
);

CREATE TABLE attachments (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL,
  message_id  TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  blob_sha256 TEXT NOT NULL,
  filename    TEXT,
  media_type  TEXT,
  size        INTEGER NOT NULL,
  content_id  TEXT,
  is_inline   INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL
);
CREATE INDEX attachments_message ON attachments(org_id, message_id);

CREATE TABLE actions (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id),
  thread_id   TEXT REFERENCES threads(id),
  message_id  TEXT REFERENCES messages(id) ON DELETE SET NULL,
  type        TEXT NOT NULL,
  title       TEXT NOT NULL,
  description TEXT,
  assignee_id TEXT REFERENCES users(id),
  due_at      TEXT,
  status      TEXT NOT NULL DEFAULT 'open'
              CHECK (status IN ('open','in_progress','done','cancelled')),
  created_by  TEXT,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE INDEX actions_org_created ON actions(org_id, created_at DESC, id DESC);
CREATE INDEX actions_thread ON actions(org_id, thread_id);

CREATE TABLE events (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id       TEXT NOT NULL,
  type         TEXT NOT NULL,
  subject_type TEXT,
  subject_id   TEXT,
  thread_id    TEXT,
  payload      TEXT NOT NULL DEFAULT '{}',
  created_at   TEXT NOT NULL
);
CREATE INDEX events_org_id ON events(org_id, id);

CREATE TABLE jobs (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL,
  kind         TEXT NOT NULL,
  payload      TEXT NOT NULL DEFAULT '{}',
  status       TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending','running','done','dead')),
  run_at       TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 10,
  lease_until  TEXT,
  locked_by    TEXT,
  unique_key   TEXT,
  last_error   TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);
CREATE UNIQUE INDEX jobs_unique ON jobs(org_id, unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending','running');

CREATE TABLE audit (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL,
  actor_type  TEXT NOT NULL,
  actor_id    TEXT,
  op          TEXT NOT NULL,
  target_type TEXT,
  target_id   TEXT,
  detail      TEXT NOT NULL DEFAULT '{}',
  created_at  TEXT NOT NULL
);
CREATE INDEX audit_org_created ON audit(org_id, created_at, id);
