-- Outbound email (the outbox): what a queued message needs until its worker sends it.
--   bcc_addrs     never written to the headers, only to the SMTP envelope
--   send_at       scheduled send time (NULL: as soon as possible)
--   error         the last delivery error (server reply), kept after a retry succeeds as history
--   thread_index  the Outlook Thread-Index this message carries (extended from its parent's)
--   attempts      delivery attempts so far
-- Message status for outbound mail: queued -> sending -> sent, or failed / cancelled.
ALTER TABLE messages ADD COLUMN bcc_addrs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN send_at TEXT;
ALTER TABLE messages ADD COLUMN error TEXT;
ALTER TABLE messages ADD COLUMN thread_index TEXT;
ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
