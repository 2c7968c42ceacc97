-- Messaging channels (WhatsApp, SMS, voice through Exotel, Meta, Twilio).
--
-- webhook_inbox: a provider's webhook request, stored as received once it passed
-- authentication, and processed after the HTTP answer (a `webhook.drain` job): the provider
-- never waits on threading. body_encoding is 'text' (UTF-8) or 'base64' (anything else).
CREATE TABLE webhook_inbox (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL,
  account_id    uuid NOT NULL REFERENCES channel_accounts(id) ON DELETE CASCADE,
  provider      text NOT NULL,
  channel       text NOT NULL,
  content_type  text,
  url           text,
  body          text NOT NULL,
  body_encoding text NOT NULL DEFAULT 'text',
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','done','failed')),
  error         text,
  received_at   timestamptz NOT NULL,
  processed_at  timestamptz
);
CREATE INDEX webhook_inbox_pending ON webhook_inbox(org_id, received_at, id) WHERE status = 'pending';

-- Channel details of a message (JSON): call duration/outcome/answered by, template used,
-- provider status and error codes, media.
ALTER TABLE messages ADD COLUMN meta jsonb;

-- "The contact's open thread on this channel, most recent first": without this index SQLite
-- walks the organization's activity index until it meets the contact.
CREATE INDEX threads_org_contact_activity ON threads(org_id, contact_id, last_activity_at DESC, id DESC);

-- WhatsApp's customer-service window: free-form replies allowed until this time (24 h after
-- the customer's last WhatsApp message in the thread).
ALTER TABLE threads ADD COLUMN can_reply_freely_until timestamptz;
