-- Indexes for lookups that read a whole organization (docs/PERFORMANCE.md, "Query plans").
--
-- Notifications are found by thread when threads merge (the survivor takes them), by message
-- when a message is split off into a new thread, and by both when a thread or message is
-- deleted (their foreign keys set these columns to NULL). Without an index each of those read
-- every notification of the organization, or of the database for the foreign keys.
CREATE INDEX notifications_thread ON notifications(thread_id);
CREATE INDEX notifications_message ON notifications(message_id);
-- The organization's system threads (the one that holds notification emails) were found by
-- reading its threads, about 25 ms warm at 100,000 threads, for every notification email.
-- Partial: ordinary threads (system_kind NULL) add nothing to it.
CREATE INDEX threads_system_kind ON threads(org_id, system_kind, created_at) WHERE system_kind IS NOT NULL;
