-- threads_org_contact (org_id, contact_id) is a prefix of threads_subject_key (org_id,
-- contact_id, subject_key) and of threads_org_contact_activity, which serve every lookup by
-- contact as well. It was one more index written with every new thread and contact change
-- (about 1.5 of the 57 WAL pages of a one-message ingest that opens a thread).
DROP INDEX threads_org_contact;
