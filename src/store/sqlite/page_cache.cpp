// SQLite's default page cache (pcache1) remembers the highest page number it has held since
// its last truncation. At the end of every write transaction the pager asks the cache to drop
// the pages beyond the end of the database (xTruncate with the database size + 1). When the
// remembered number is below that limit the call does nothing; otherwise pcache1 walks its
// hash table, and when the remembered number is far above the limit it walks every bucket.
//
// B-tree balancing renumbers pages by moving one through a temporary number: the pending-byte
// page (262,145 with 4 KB pages), via the cache's xRekey, and straight back. pcache1 then
// remembers 262,145, so nearly every transaction that split or merged a page ended with a walk
// of the whole cache. On the writer's 64 MB cache (16,384 pages and as many buckets) that walk
// was about 6 % of the CPU of a one-message ingest (perf: the loop of pcache1TruncateUnsafe,
// reached from sqlite3PagerCommitPhaseTwo; a 2 MB cache made `bench_ingest --batch 1` 12-15 %
// faster).
//
// The wrapper keeps, per cache, an upper bound of the page numbers that may be present: the
// highest number fetched with permission to create since the last truncation, plus the
// numbers pages were moved to above that bound and not moved away from again (usually none:
// the temporary move is undone within the same balance). A truncation with nothing possibly at
// or above its limit is skipped; any other is passed to pcache1, which then drops exactly
// what it would have dropped without the wrapper. Every other method is pcache1's own.
#include "store/sqlite/page_cache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <vector>

namespace banxway::store {
namespace {

sqlite3_pcache_methods2 g_real;  // pcache1, as SQLite configured it
std::atomic<uint64_t> g_passed{0};
std::atomic<uint64_t> g_skipped{0};

struct Cache {
  sqlite3_pcache* real = nullptr;
  unsigned max_created = 0;     // no page created since the last truncation has a higher number
  std::vector<unsigned> moved;  // numbers above max_created that a page was moved to
};

Cache* as(sqlite3_pcache* p) { return reinterpret_cast<Cache*>(p); }

sqlite3_pcache* x_create(int page_size, int extra, int purgeable) {
  sqlite3_pcache* real = g_real.xCreate(page_size, extra, purgeable);
  if (!real) return nullptr;
  auto* c = new (std::nothrow) Cache;
  if (!c) {
    g_real.xDestroy(real);
    return nullptr;
  }
  c->real = real;
  return reinterpret_cast<sqlite3_pcache*>(c);
}

void x_cachesize(sqlite3_pcache* p, int n) { g_real.xCachesize(as(p)->real, n); }

int x_pagecount(sqlite3_pcache* p) { return g_real.xPagecount(as(p)->real); }

sqlite3_pcache_page* x_fetch(sqlite3_pcache* p, unsigned key, int create) {
  Cache* c = as(p);
  // Counted whether or not the page then gets created: an upper bound is all that is needed.
  if (create && key > c->max_created) c->max_created = key;
  return g_real.xFetch(c->real, key, create);
}

void x_unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
  g_real.xUnpin(as(p)->real, page, discard);
}

void x_rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned from, unsigned to) {
  Cache* c = as(p);
  if (!c->moved.empty()) std::erase(c->moved, from);
  if (to > c->max_created) c->moved.push_back(to);
  // A page moved up and then discarded, not moved back, leaves its number here. Bounded: past
  // a few dozen, the numbers fold into max_created (still an upper bound, only less tight).
  if (c->moved.size() > 32) {
    c->max_created = std::max(c->max_created, *std::max_element(c->moved.begin(), c->moved.end()));
    c->moved.clear();
  }
  g_real.xRekey(c->real, page, from, to);
}

void x_truncate(sqlite3_pcache* p, unsigned limit) {
  Cache* c = as(p);
  bool moved_above = std::any_of(c->moved.begin(), c->moved.end(),
                                 [limit](unsigned k) { return k >= limit; });
  if (c->max_created < limit && !moved_above) {
    g_skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  g_passed.fetch_add(1, std::memory_order_relaxed);
  g_real.xTruncate(c->real, limit);
  if (c->max_created >= limit) c->max_created = limit > 0 ? limit - 1 : 0;
  std::erase_if(c->moved, [limit](unsigned k) { return k >= limit; });
}

void x_destroy(sqlite3_pcache* p) {
  Cache* c = as(p);
  g_real.xDestroy(c->real);
  delete c;
}

void x_shrink(sqlite3_pcache* p) { g_real.xShrink(as(p)->real); }

bool install() {
  sqlite3_pcache_methods2 m{};
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &m) != SQLITE_OK || !m.xCreate || !m.xFetch ||
      !m.xTruncate || !m.xRekey)
    return false;
  g_real = m;
  sqlite3_pcache_methods2 w = m;  // iVersion, pArg, xInit and xShutdown stay pcache1's
  w.xCreate = x_create;
  w.xCachesize = x_cachesize;
  w.xPagecount = x_pagecount;
  w.xFetch = x_fetch;
  w.xUnpin = x_unpin;
  w.xRekey = x_rekey;
  w.xTruncate = x_truncate;
  w.xDestroy = x_destroy;
  w.xShrink = x_shrink;
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &w) == SQLITE_OK;
}

}  // namespace

bool install_sqlite_page_cache() {
  static const bool installed = install();
  return installed;
}

PageCacheCounts sqlite_page_cache_counts() {
  return {g_passed.load(std::memory_order_relaxed), g_skipped.load(std::memory_order_relaxed)};
}

}  // namespace banxway::store
