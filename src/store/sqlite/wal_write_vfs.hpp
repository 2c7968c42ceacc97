// A thin SQLite VFS for the one writer connection: the WAL frames a transaction appends are
// gathered in memory and reach the file in one write when the commit frame is complete,
// instead of two system calls per page (SQLite writes each frame's 24-byte header and its page
// separately). Everything else (the database file, locks, shared memory, readers) goes straight
// to the default VFS. See wal_write_vfs.cpp for when the buffer is written.
#pragma once

#include <cstdint>

namespace banxway::store {

/// Registers (once, not as the default) and returns the name to pass to sqlite3_open_v2, or
/// nullptr when the default VFS cannot be wrapped (then the caller uses the default).
const char* wal_write_vfs_name();

/// How many times a buffer was written because shared memory was about to publish frames
/// that were still only in the buffer. The commit-frame rule should make this 0; a test holds
/// it there, so a change in how SQLite writes its WAL cannot go unnoticed.
uint64_t wal_write_vfs_late_flushes();

}  // namespace banxway::store
