-- Small blobs (most raw messages, small attachments) live in their `blobs` row, written in the
-- transaction that refers to them: no file, directory or rename per message. `storage` says
-- where a blob is: 'db' (this column) or 'fs' (a file of the filesystem store, as before).
-- The column is last so that reading a row's other columns does not walk its overflow pages.
ALTER TABLE blobs ADD COLUMN data BLOB;
