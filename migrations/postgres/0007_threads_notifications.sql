-- Thread followers, notifications and per-user notification preferences.
--
-- thread_followers: who hears about a thread's replies (the assignee and note authors join on
-- their own; anyone can follow or unfollow).
CREATE TABLE thread_followers (
  org_id      uuid NOT NULL,
  thread_id   uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (org_id, thread_id, user_id)
);
CREATE INDEX thread_followers_user ON thread_followers(org_id, user_id);

-- One row per notification for one user. kind: assigned, mention, reply, sla (later).
-- email_status: NULL (no email wanted), pending (a delivery job waits), sent_to_outbox,
-- skipped_read, skipped_online, no_account.
CREATE TABLE notifications (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES organizations(id),
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind         text NOT NULL,
  thread_id    uuid REFERENCES threads(id) ON DELETE SET NULL,
  message_id   uuid REFERENCES messages(id) ON DELETE SET NULL,
  actor        text,
  title        text NOT NULL,
  body         text,
  data         jsonb NOT NULL DEFAULT '{}'::jsonb,
  read_at      timestamptz,
  created_at   timestamptz NOT NULL,
  email_status text
);
CREATE INDEX notifications_user_created ON notifications(org_id, user_id, created_at DESC, id DESC);
CREATE INDEX notifications_user_unread ON notifications(org_id, user_id) WHERE read_at IS NULL;

-- A user's choice per kind; no row means the default (in app, no email).
CREATE TABLE notification_prefs (
  org_id      uuid NOT NULL,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind        text NOT NULL,
  in_app      integer NOT NULL DEFAULT 1,
  email       text NOT NULL DEFAULT 'never' CHECK (email IN ('never','offline','always')),
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (org_id, user_id, kind)
);

-- Threads the system keeps for itself (NULL for every conversation). 'notifications': the one
-- thread per organization that holds notification emails queued through the outbox; it never
-- shows in threads.list.
ALTER TABLE threads ADD COLUMN system_kind text;
