-- banxway schema v1 (PostgreSQL). The same tables, columns, constraints and indexes as
-- migrations/sqlite/0001_init.sql, in native types: ids are uuid, times timestamptz, JSON jsonb.
-- The backend prints uuids, times (ISO-8601 UTC, milliseconds) and jsonb (compact) exactly as
-- SQLite stores them, so repositories see the same text on both.
-- Flags stay integer 0/1 so that SQL such as `active = 1` runs unchanged on both backends.
-- Columns that do not hold a uuid in every row (external ids, hashes, "cli" actors, ...) stay text.
-- Every row carries org_id and every index starts with it.

CREATE TABLE organizations (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE users (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  email       text NOT NULL,
  name        text,
  role        text NOT NULL CHECK (role IN ('admin','manager','agent','viewer')),
  team        text,
  active      integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  UNIQUE (org_id, email)
);
CREATE INDEX users_org_created ON users(org_id, created_at, id);

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES organizations(id),
  user_id      uuid REFERENCES users(id),
  name         text,
  role         text NOT NULL CHECK (role IN ('admin','manager','agent','viewer')),
  prefix       text NOT NULL,
  key_hash     text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL,
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_org ON api_keys(org_id, created_at, id);

CREATE TABLE customers (
  id                 uuid PRIMARY KEY,
  org_id             uuid NOT NULL REFERENCES organizations(id),
  name               text NOT NULL,
  domains            jsonb NOT NULL DEFAULT '[]'::jsonb,
  tier               text,
  account_manager_id uuid REFERENCES users(id),
  notes              text,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
CREATE INDEX customers_org_name ON customers(org_id, name, id);

-- One row per customer domain, so "contact to customer by domain" is an index lookup.
CREATE TABLE customer_domains (
  org_id      uuid NOT NULL,
  domain      text NOT NULL,
  customer_id uuid NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  PRIMARY KEY (org_id, domain)
);

CREATE TABLE contacts (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  customer_id uuid REFERENCES customers(id) ON DELETE SET NULL,
  name        text,
  title       text,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX contacts_org_created ON contacts(org_id, created_at, id);
CREATE INDEX contacts_customer ON contacts(org_id, customer_id);

CREATE TABLE contact_identities (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL,
  contact_id  uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('email','phone','whatsapp')),
  value       text NOT NULL,
  created_at  timestamptz NOT NULL,
  UNIQUE (org_id, kind, value)
);
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

CREATE TABLE channel_accounts (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  channel     text NOT NULL CHECK (channel IN ('email','whatsapp','sms','voice')),
  provider    text NOT NULL,
  name        text NOT NULL,
  address     text,
  config      jsonb NOT NULL DEFAULT '{}'::jsonb,
  secrets     jsonb NOT NULL DEFAULT '{}'::jsonb,
  active      integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX channel_accounts_org ON channel_accounts(org_id, channel);

CREATE TABLE threads (
  id               uuid PRIMARY KEY,
  org_id           uuid NOT NULL REFERENCES organizations(id),
  subject          text,
  status           text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open','pending','snoozed','resolved','closed')),
  priority         text NOT NULL DEFAULT 'normal'
                   CHECK (priority IN ('low','normal','high','urgent')),
  assignee_id      uuid REFERENCES users(id),
  customer_id      uuid REFERENCES customers(id) ON DELETE SET NULL,
  contact_id       uuid REFERENCES contacts(id) ON DELETE SET NULL,
  channels         jsonb NOT NULL DEFAULT '[]'::jsonb,
  tags             jsonb NOT NULL DEFAULT '[]'::jsonb,
  snoozed_until    timestamptz,
  first_response_due_at timestamptz,
  resolution_due_at     timestamptz,
  last_message_at  timestamptz,
  last_activity_at timestamptz NOT NULL,
  preview          text,
  message_count    integer NOT NULL DEFAULT 0,
  unread_count     integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);
CREATE INDEX threads_org_activity ON threads(org_id, last_activity_at DESC, id DESC);
CREATE INDEX threads_org_status_activity ON threads(org_id, status, last_activity_at DESC, id DESC);
CREATE INDEX threads_org_assignee_activity ON threads(org_id, assignee_id, last_activity_at DESC, id DESC);
CREATE INDEX threads_org_customer ON threads(org_id, customer_id);
CREATE INDEX threads_org_contact ON threads(org_id, contact_id);

CREATE TABLE tags (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  name        text NOT NULL,
  color       text,
  created_at  timestamptz NOT NULL,
  UNIQUE (org_id, name)
);

CREATE TABLE thread_tags (
  org_id     uuid NOT NULL,
  thread_id  uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  tag_id     uuid NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
  PRIMARY KEY (org_id, thread_id, tag_id)
);
CREATE INDEX thread_tags_tag ON thread_tags(org_id, tag_id);

-- Notes are messages with channel 'note' (direction 'internal'), so one timeline holds both.
-- message_id / in_reply_to / provider_id are external identifiers (RFC 5322, provider), not uuids.
CREATE TABLE messages (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES organizations(id),
  thread_id    uuid NOT NULL REFERENCES threads(id),
  channel      text NOT NULL CHECK (channel IN ('email','whatsapp','sms','voice','note')),
  direction    text NOT NULL CHECK (direction IN ('inbound','outbound','internal')),
  author_id    uuid REFERENCES users(id),
  contact_id   uuid REFERENCES contacts(id) ON DELETE SET NULL,
  from_addr    text,
  to_addrs     jsonb NOT NULL DEFAULT '[]'::jsonb,
  cc_addrs     jsonb NOT NULL DEFAULT '[]'::jsonb,
  subject      text,
  body_text    text,
  body_html    text,
  snippet      text,
  message_id   text,
  in_reply_to  text,
  refs         jsonb NOT NULL DEFAULT '[]'::jsonb,
  provider_id  text,
  status       text,
  analysis     jsonb,
  sent_at      timestamptz,
  created_at   timestamptz NOT NULL,
  -- Full-text search over subject and text (SQLite uses an FTS5 table kept in step by
  -- triggers). The 'simple' configuration does no stemming or stop words, closest to FTS5's
  -- unicode61 tokenizer, and works the same for every language a forwarder's mail arrives in.
  search       tsvector GENERATED ALWAYS AS
               (to_tsvector('simple', coalesce(subject, '') || ' ' || coalesce(body_text, ''))) STORED
);
CREATE INDEX messages_thread ON messages(org_id, thread_id, created_at, id);
CREATE UNIQUE INDEX messages_org_message_id ON messages(org_id, message_id) WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_org_provider_id ON messages(org_id, channel, provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX messages_search ON messages USING gin (search);

-- (org, normalized Message-ID) -> message, or a ghost (message_id NULL) seen only in References.
CREATE TABLE message_refs (
  org_id      uuid NOT NULL,
  ref         text NOT NULL,
  message_id  uuid REFERENCES messages(id) ON DELETE SET NULL,
  thread_id   uuid NOT NULL REFERENCES threads(id),
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (org_id, ref)
);
CREATE INDEX message_refs_thread ON message_refs(org_id, thread_id);

CREATE TABLE blobs (
  org_id      uuid NOT NULL,
  sha256      text NOT NULL,
  size        bigint NOT NULL,
  media_type  text,
  storage     text NOT NULL DEFAULT 'fs',
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (org_id, sha256)
);

CREATE TABLE attachments (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL,
  message_id  uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  blob_sha256 text NOT NULL,
  filename    text,
  media_type  text,
  size        bigint NOT NULL,
  content_id  text,
  is_inline   integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL
);
CREATE INDEX attachments_message ON attachments(org_id, message_id);

CREATE TABLE actions (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  thread_id   uuid REFERENCES threads(id),
  message_id  uuid REFERENCES messages(id) ON DELETE SET NULL,
  type        text NOT NULL,
  title       text NOT NULL,
  description text,
  assignee_id uuid REFERENCES users(id),
  due_at      timestamptz,
  status      text NOT NULL DEFAULT 'open'
              CHECK (status IN ('open','in_progress','done','cancelled')),
  created_by  text,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX actions_org_created ON actions(org_id, created_at DESC, id DESC);
CREATE INDEX actions_thread ON actions(org_id, thread_id);

-- Identity values are handed out in increasing order (like SQLite's AUTOINCREMENT, never
-- reused); GENERATED ALWAYS refuses explicit ids so nobody can insert behind a reader's cursor.
CREATE TABLE events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id       uuid NOT NULL,
  type         text NOT NULL,
  subject_type text,
  subject_id   text,
  thread_id    uuid,
  payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL
);
CREATE INDEX events_org_id ON events(org_id, id);

CREATE TABLE jobs (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL,
  kind         text NOT NULL,
  payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
  status       text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending','running','done','dead')),
  run_at       timestamptz NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 10,
  lease_until  timestamptz,
  locked_by    text,
  unique_key   text,
  last_error   text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);
CREATE UNIQUE INDEX jobs_unique ON jobs(org_id, unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending','running');

-- actor_id may be a user, an api key or a tool ("cli"); target_id any record's id: both text.
CREATE TABLE audit (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL,
  actor_type  text NOT NULL,
  actor_id    text,
  op          text NOT NULL,
  target_type text,
  target_id   text,
  detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL
);
CREATE INDEX audit_org_created ON audit(org_id, created_at, id);
