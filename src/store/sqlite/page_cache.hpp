// A thin wrapper around SQLite's own page cache that lets a commit skip a scan of the whole
// cache. See page_cache.cpp for why the scan happens and when it may be skipped.
#pragma once

#include <cstdint>

namespace banxway::store {

/// Installs the wrapper as SQLite's page cache, once per process. It must run before SQLite
/// initializes (before the first sqlite3_open or VFS registration in the process); if
/// something else initialized SQLite first, nothing is installed and false is returned
/// (SQLite then works exactly as without it).
bool install_sqlite_page_cache();

/// Truncations the wrapper passed on to SQLite's cache, and those it skipped because no page
/// at or above the limit can be in the cache.
struct PageCacheCounts {
  uint64_t truncates_passed = 0;
  uint64_t truncates_skipped = 0;
};
PageCacheCounts sqlite_page_cache_counts();

}  // namespace banxway::store
