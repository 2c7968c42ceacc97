#include "store/sqlite/wal_write_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <set>
#include <string>

// SQLite appends a WAL frame as two writes: the 24-byte frame header, then the page. A message
// ingested over HTTP dirties about 45 pages, so its commit costs some 90 pwrite calls, all made
// while the writer holds the write lock; on this machine's ext4 each is a long trip through the
// page cache, and a writer preempted in the middle of them keeps every other request waiting.
//
// This VFS buffers the appends of a WAL file in memory and writes them as one pwrite:
//   - when the page of a commit frame has been appended (the frame header's "database size"
//     field is non-zero only in a commit frame): SQLite has then written all of the
//     transaction's frames, and publishes them in shared memory only after this write returns,
//     so a failed write fails the commit, as it would have without the buffer;
//   - before any read, sync, truncate, size query or close of that WAL file, and before a write
//     that does not continue the buffered range;
//   - when the buffer reaches kMaxBuffered (a transaction large enough to spill its cache);
//   - and, as a safety net, before a shared-memory barrier: SQLite calls one between the two
//     copies of the WAL index header it writes to publish frames. If the commit-frame rule ever
//     missed a case, frames would still be in the file before any reader could see them. Such
//     late writes are counted (wal_write_vfs_late_flushes) and a test keeps the count at zero.
// Any write may be done early without harm: the file then holds what SQLite would have written
// by that point anyway. Only the writer connection opens files through this VFS; the readers
// and the checkpointer use the default VFS, and see the same files, locks and shared memory.

namespace banxway::store {
namespace {

constexpr int kFrameHeaderBytes = 24;
constexpr size_t kMaxBuffered = 1u << 20;
constexpr size_t kWriteChunk = 120u << 10;

sqlite3_vfs* g_root = nullptr;
sqlite3_vfs g_vfs;
std::atomic<uint64_t> g_late{0};

struct File {
  sqlite3_file base;     // first: SQLite sees this
  sqlite3_file* real;    // the default VFS's file, right after this struct
  bool wal;
  bool after_commit_header;  // the last write was the header of a commit frame
  sqlite3_int64 buf_off;
  std::string* buf;      // WAL files only
};

// One lock for every buffer: only writer connections use this VFS (one per database), so it is
// never contended in practice, and a barrier can then write any pending buffer safely.
std::mutex g_mu;
std::set<File*>* g_pending = new std::set<File*>();  // never destroyed: used until exit

constexpr size_t round8(size_t n) { return (n + 7) & ~size_t(7); }

int flush_locked(File* f) {
  if (!f->buf || f->buf->empty()) return SQLITE_OK;
  // The default VFS writes at most 128 KiB per call (it masks the length to 17 bits: SQLite
  // itself never writes more than a page at once), so larger buffers go out in pieces.
  int rc = SQLITE_OK;
  for (size_t done = 0; done < f->buf->size() && rc == SQLITE_OK; done += kWriteChunk) {
    size_t n = std::min(kWriteChunk, f->buf->size() - done);
    rc = f->real->pMethods->xWrite(f->real, f->buf->data() + done, static_cast<int>(n),
                                   f->buf_off + static_cast<sqlite3_int64>(done));
  }
  f->buf->clear();
  if (f->buf->capacity() > kMaxBuffered) std::string().swap(*f->buf);
  g_pending->erase(f);
  return rc;
}

int flush(File* f) {
  if (!f->wal) return SQLITE_OK;
  std::lock_guard<std::mutex> lock(g_mu);
  return flush_locked(f);
}

File* as(sqlite3_file* p) { return reinterpret_cast<File*>(p); }

// --- file methods -----------------------------------------------------------------------------

int x_close(sqlite3_file* p) {
  File* f = as(p);
  int rc = SQLITE_OK;
  if (f->wal) rc = flush(f);
  int rc2 = f->real->pMethods->xClose(f->real);
  delete f->buf;
  f->buf = nullptr;
  return rc != SQLITE_OK ? rc : rc2;
}

int x_read(sqlite3_file* p, void* out, int amt, sqlite3_int64 off) {
  File* f = as(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, amt, off);
}

int x_write(sqlite3_file* p, const void* data, int amt, sqlite3_int64 off) {
  File* f = as(p);
  if (!f->wal) return f->real->pMethods->xWrite(f->real, data, amt, off);
  std::lock_guard<std::mutex> lock(g_mu);
  std::string& b = *f->buf;
  if (!b.empty() && off != f->buf_off + static_cast<sqlite3_int64>(b.size())) {
    if (int rc = flush_locked(f); rc != SQLITE_OK) return rc;
  }
  if (b.empty()) {
    f->buf_off = off;
    g_pending->insert(f);
  }
  b.append(static_cast<const char*>(data), static_cast<size_t>(amt));
  const bool completes_commit = f->after_commit_header;
  const auto* h = static_cast<const unsigned char*>(data);
  f->after_commit_header = amt == kFrameHeaderBytes && (h[4] | h[5] | h[6] | h[7]) != 0;
  if (completes_commit || b.size() >= kMaxBuffered) return flush_locked(f);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* p, sqlite3_int64 size) {
  File* f = as(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* p, int flags) {
  File* f = as(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* p, sqlite3_int64* size) {
  File* f = as(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* p, int l) { return as(p)->real->pMethods->xLock(as(p)->real, l); }
int x_unlock(sqlite3_file* p, int l) { return as(p)->real->pMethods->xUnlock(as(p)->real, l); }
int x_check_reserved(sqlite3_file* p, int* out) {
  return as(p)->real->pMethods->xCheckReservedLock(as(p)->real, out);
}
int x_file_control(sqlite3_file* p, int op, void* arg) {
  return as(p)->real->pMethods->xFileControl(as(p)->real, op, arg);
}
int x_sector_size(sqlite3_file* p) { return as(p)->real->pMethods->xSectorSize(as(p)->real); }
int x_device_characteristics(sqlite3_file* p) {
  return as(p)->real->pMethods->xDeviceCharacteristics(as(p)->real);
}
int x_shm_map(sqlite3_file* p, int page, int size, int extend, void volatile** out) {
  return as(p)->real->pMethods->xShmMap(as(p)->real, page, size, extend, out);
}
int x_shm_lock(sqlite3_file* p, int offset, int n, int flags) {
  return as(p)->real->pMethods->xShmLock(as(p)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* p) {
  {
    // See the top of the file: frames must be in the file before they are published.
    // flush_locked removes the file from the set, whether or not its write succeeded.
    std::lock_guard<std::mutex> lock(g_mu);
    while (!g_pending->empty()) {
      g_late.fetch_add(1, std::memory_order_relaxed);
      (void)flush_locked(*g_pending->begin());
    }
  }
  as(p)->real->pMethods->xShmBarrier(as(p)->real);
}
int x_shm_unmap(sqlite3_file* p, int del) {
  return as(p)->real->pMethods->xShmUnmap(as(p)->real, del);
}
int x_fetch(sqlite3_file* p, sqlite3_int64 off, int amt, void** out) {
  return as(p)->real->pMethods->xFetch(as(p)->real, off, amt, out);
}
int x_unfetch(sqlite3_file* p, sqlite3_int64 off, void* ptr) {
  return as(p)->real->pMethods->xUnfetch(as(p)->real, off, ptr);
}

const sqlite3_io_methods kMethods = {
    3,           x_close,     x_read,      x_write,        x_truncate,
    x_sync,      x_file_size, x_lock,      x_unlock,       x_check_reserved,
    x_file_control, x_sector_size, x_device_characteristics, x_shm_map, x_shm_lock,
    x_shm_barrier, x_shm_unmap, x_fetch,   x_unfetch,
};

// --- the VFS ----------------------------------------------------------------------------------

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* p, int flags, int* out_flags) {
  File* f = as(p);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(p) + round8(sizeof(File)));
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->after_commit_header = false;
  f->buf_off = 0;
  f->buf = nullptr;
  int rc = g_root->xOpen(g_root, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || !f->real->pMethods) return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  if (f->real->pMethods->iVersion < 3) {
    // Shared memory and memory mapping are required for WAL; the default VFS has them.
    f->real->pMethods->xClose(f->real);
    return SQLITE_CANTOPEN;
  }
  if (f->wal) f->buf = new (std::nothrow) std::string();
  if (f->wal && !f->buf) {
    f->real->pMethods->xClose(f->real);
    return SQLITE_NOMEM;
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* n, int sync) { return g_root->xDelete(g_root, n, sync); }
int x_access(sqlite3_vfs*, const char* n, int flags, int* out) {
  return g_root->xAccess(g_root, n, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* n, int size, char* out) {
  return g_root->xFullPathname(g_root, n, size, out);
}
void* x_dl_open(sqlite3_vfs*, const char* n) { return g_root->xDlOpen(g_root, n); }
void x_dl_error(sqlite3_vfs*, int n, char* msg) { g_root->xDlError(g_root, n, msg); }
void (*x_dl_sym(sqlite3_vfs*, void* h, const char* s))(void) { return g_root->xDlSym(g_root, h, s); }
void x_dl_close(sqlite3_vfs*, void* h) { g_root->xDlClose(g_root, h); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return g_root->xRandomness(g_root, n, out); }
int x_sleep(sqlite3_vfs*, int us) { return g_root->xSleep(g_root, us); }
int x_current_time(sqlite3_vfs*, double* t) { return g_root->xCurrentTime(g_root, t); }
int x_get_last_error(sqlite3_vfs*, int n, char* msg) {
  return g_root->xGetLastError ? g_root->xGetLastError(g_root, n, msg) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* t) {
  return g_root->xCurrentTimeInt64(g_root, t);
}
int x_set_system_call(sqlite3_vfs*, const char* n, sqlite3_syscall_ptr f) {
  return g_root->xSetSystemCall(g_root, n, f);
}
sqlite3_syscall_ptr x_get_system_call(sqlite3_vfs*, const char* n) {
  return g_root->xGetSystemCall(g_root, n);
}
const char* x_next_system_call(sqlite3_vfs*, const char* n) {
  return g_root->xNextSystemCall(g_root, n);
}

const char* register_vfs() {
  sqlite3_vfs* root = sqlite3_vfs_find(nullptr);
  if (!root || root->iVersion < 3) return nullptr;
  g_root = root;
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 3;
  g_vfs.szOsFile = static_cast<int>(round8(sizeof(File)) + static_cast<size_t>(root->szOsFile));
  g_vfs.mxPathname = root->mxPathname;
  g_vfs.zName = "banxway-wal-write";
  g_vfs.xOpen = x_open;
  g_vfs.xDelete = x_delete;
  g_vfs.xAccess = x_access;
  g_vfs.xFullPathname = x_full_pathname;
  g_vfs.xDlOpen = x_dl_open;
  g_vfs.xDlError = x_dl_error;
  g_vfs.xDlSym = x_dl_sym;
  g_vfs.xDlClose = x_dl_close;
  g_vfs.xRandomness = x_randomness;
  g_vfs.xSleep = x_sleep;
  g_vfs.xCurrentTime = x_current_time;
  g_vfs.xGetLastError = x_get_last_error;
  g_vfs.xCurrentTimeInt64 = x_current_time_int64;
  g_vfs.xSetSystemCall = x_set_system_call;
  g_vfs.xGetSystemCall = x_get_system_call;
  g_vfs.xNextSystemCall = x_next_system_call;
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) return nullptr;
  return g_vfs.zName;
}

}  // namespace

const char* wal_write_vfs_name() {
  static const char* name = register_vfs();
  return name;
}

uint64_t wal_write_vfs_late_flushes() { return g_late.load(std::memory_order_relaxed); }

}  // namespace banxway::store
