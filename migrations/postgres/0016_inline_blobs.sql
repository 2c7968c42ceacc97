-- Small blobs (most raw messages, small attachments) live in their `blobs` row, written in the
-- transaction that refers to them: no file, directory or rename per message. `storage` says
-- where a blob is: 'db' (this column) or 'fs' (a file of the filesystem store, as before).
-- EXTERNAL: out-of-line TOAST without compression, as the file store did not compress either
-- (and attachments are mostly compressed already).
ALTER TABLE blobs ADD COLUMN data bytea;
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;
