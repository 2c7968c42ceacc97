-- The server's /metrics counts messages by channel and direction from message_counts_daily
-- (kept by the 0008 triggers) instead of from messages, so the index 0009 added for that count
-- goes: it was one more index written by every message insert, read by nothing else.
DROP INDEX messages_channel_direction;
