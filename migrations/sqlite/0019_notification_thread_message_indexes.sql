-- Notifications are found by thread when threads merge (the survivor takes them), by message
-- when a message is split off into a new thread, and by both when a thread or message is
-- deleted (their foreign keys set these columns to NULL). Without an index each of those read
-- every notification of the organization, or of the database for the foreign keys.
CREATE INDEX notifications_thread ON notifications(thread_id);
CREATE INDEX notifications_message ON notifications(message_id);
