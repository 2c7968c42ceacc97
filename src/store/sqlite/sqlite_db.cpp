// SQLite backend: WAL, one writer connection behind a mutex, a pool of reader connections,
// and a prepared-statement cache per connection.
#include <sqlite3.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <chrono>
#include <mutex>
#include <thread>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/db.hpp"
#include "store/sqlite/page_cache.hpp"
#include "store/sqlite/wal_write_vfs.hpp"

namespace banxway::store {
namespace {

Status sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int prim = rc & 0xff;
  if (prim == SQLITE_CONSTRAINT) {
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      return AlreadyExists(msg);
    return Status(Code::invalid_argument, msg);
  }
  if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) return Unavailable(msg);
  if (prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN)
    return Unavailable(msg);
  return Internal(msg);
}

class SqliteConn final : public Conn {
 public:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  ~SqliteConn() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }
  Dialect dialect() const override { return Dialect::sqlite; }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    sqlite3_stmt* st = nullptr;
    auto it = cache_.find(sql);  // heterogeneous lookup: no std::string per call
    if (it != cache_.end()) {
      st = it->second;
    } else {
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &st, nullptr);
      if (rc != SQLITE_OK) return sqlite_error(db_, rc, "prepare");
      cache_.emplace(std::string(sql), st);
    }
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{st};
    int expected = sqlite3_bind_parameter_count(st);
    if (expected != static_cast<int>(params.size()))
      return Internal("statement expects " + std::to_string(expected) + " parameters, got " +
                      std::to_string(params.size()));
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      const auto& v = params[i].v;
      switch (v.index()) {
        case 0: rc = sqlite3_bind_null(st, idx); break;
        case 1: rc = sqlite3_bind_int64(st, idx, std::get<1>(v)); break;
        case 2: rc = sqlite3_bind_double(st, idx, std::get<2>(v)); break;
        case 3: {
          const auto& s = std::get<3>(v);
          rc = sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
          break;
        }
        case 4: {
          const auto& b = std::get<4>(v).data;
          rc = sqlite3_bind_blob64(st, idx, b.data(), b.size(), SQLITE_STATIC);
          break;
        }
      }
      if (rc != SQLITE_OK) return sqlite_error(db_, rc, "bind");
    }
    Rows out;
    int ncol = sqlite3_column_count(st);
    out.columns.reserve(ncol);
    for (int c = 0; c < ncol; ++c) out.columns.emplace_back(sqlite3_column_name(st, c));
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqlite_error(db_, rc, "step");
      Row& row = out.rows.emplace_back();
      row.reserve(ncol, 64 * static_cast<size_t>(ncol));
      for (int c = 0; c < ncol; ++c) {
        // column_text is NULL exactly for SQL NULL (or out of memory, checked below), which
        // saves a column_type call per column on the listing hot path.
        const char* t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        if (!t) {
          if (sqlite3_errcode(db_) == SQLITE_NOMEM) return sqlite_error(db_, SQLITE_NOMEM, "column");
          row.add_null();
        } else {
          row.add(std::string_view(t, static_cast<size_t>(sqlite3_column_bytes(st, c))));
        }
      }
    }
    out.affected = sqlite3_changes64(db_);
    return out;
  }

  Status exec_script(std::string_view sql) override {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return sqlite_error(nullptr, rc, msg);
    }
    return Status();
  }

  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_;
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> cache_;
};

// The writer's page cache, in KiB (SQLite's default is 2 MB). Ingest writes to indexes on
// random keys (Message-IDs in message_refs and messages, contact emails); once those outgrow
// the cache every insert re-reads pages from the OS, which is most of the slowdown as a
// database grows. Bounded, and only on the one writer connection: readers keep the default.
constexpr int kWriterCacheKiB = 64 * 1024;
// Checkpoints. The writer never checkpoints (wal_autocheckpoint=0): a background thread does,
// PASSIVE (it never blocks the writer) every kCheckpointInterval. Short, because each
// checkpoint starts with an fsync of the WAL, and while that runs the writer's appends to the
// WAL stall on this machine's ext4: the more the fsync has to write, the longer the stall.
// HTTP ingest at 500 messages/s, POST p99: 22-23 ms with checkpoints every 200 ms, 6-10 ms every
// 50 ms, 2 s made it 100 ms (docs/PERFORMANCE.md).
//
// Under sustained writes a PASSIVE checkpoint never catches up (frames keep arriving while it
// copies), so SQLite never starts the WAL over and the file grows. SQLite's own answer, the
// writer's autocheckpoint once the WAL passes N pages, runs inside a commit: at 1,000
// commits/s it held the write lock for 15-20 ms (two fsyncs and the copying) every ~0.5 s,
// which was the p99 of every request. Instead, when the WAL holds more than
// DbOptions::sqlite_wal_limit_pages, the checkpointer catches up as far as it can outside any
// lock (two more PASSIVE passes, each followed by an fdatasync of the database file), then
// holds the write mutex for one RESTART checkpoint: it copies the few frames left, syncs, and
// waits (at most kForceBusyMs) for readers to leave the WAL, so the next write starts the WAL
// over from its beginning. The file keeps its size (about the limit; truncating it took
// longer on this machine). A reader that stays longer makes it give up and retry a second
// later. Measured at 1,000 single-message commits/s (about 190 MB of WAL a second): the
// writers wait 5-20 ms every 2.5-3 s, instead of 15-20 ms every 0.5 s inside commits, and
// never while the WAL is under the limit.
constexpr std::chrono::milliseconds kForceBusyMs{100};
constexpr std::chrono::seconds kForceRetry{1};
constexpr int kWalHardFactor = 4;
constexpr std::chrono::milliseconds kCheckpointInterval{50};

Result<std::unique_ptr<SqliteConn>> connect(const std::string& path, bool readonly,
                                            const DbOptions& opts, bool writer = false) {
  // Before anything initializes SQLite in this process (the VFS registration below does).
  install_sqlite_page_cache();
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI |
              (readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  // The writer appends each transaction's WAL frames with one write (wal_write_vfs.cpp).
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, writer ? wal_write_vfs_name() : nullptr);
  if (rc != SQLITE_OK) {
    Status s = Unavailable("cannot open SQLite database " + path + ": " +
                           (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, opts.busy_timeout_ms);
  auto conn = std::make_unique<SqliteConn>(db);
  std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;";
  if (!readonly) pragmas += "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
  if (writer)
    pragmas += "PRAGMA cache_size=-" + std::to_string(kWriterCacheKiB) +
               "; PRAGMA wal_autocheckpoint=0;";
  BX_RETURN_IF_ERROR(conn->exec_script(pragmas));
  return conn;
}

class SqliteDb final : public Db {
 public:
  Dialect dialect() const override { return Dialect::sqlite; }

  static Result<std::unique_ptr<Db>> open(std::string_view path_in, const DbOptions& opts) {
    auto db = std::make_unique<SqliteDb>();
    db->busy_timeout_ms_ = opts.busy_timeout_ms;
    db->wal_limit_pages_ = opts.sqlite_wal_limit_pages;
    std::string path(path_in);
    db->memory_ = (path == ":memory:");
    if (!db->memory_ && !path.starts_with("file:")) {
      std::error_code ec;
      auto parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    }
    BX_ASSIGN_OR_RETURN(db->writer_, connect(path, false, opts, /*writer=*/true));
    if (!db->memory_) {
      BX_ASSIGN_OR_RETURN(db->checkpointer_, connect(path, false, opts));
      db->checkpoint_thread_ = std::thread([raw = db.get()] { raw->checkpoint_loop(); });
      // Readers open lazily-free: create them now so errors surface at open time.
      for (int i = 0; i < std::max(1, opts.readers); ++i) {
        BX_ASSIGN_OR_RETURN(auto r, connect(path, false, opts));
        db->free_readers_.push_back(r.get());
        db->readers_.push_back(std::move(r));
      }
    }
    return std::unique_ptr<Db>(std::move(db));
  }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    if (Conn* open = current_transaction()) return open->query(sql, params);
    if (memory_) {
      // An in-memory database lives in one connection: share the writer.
      std::lock_guard<std::mutex> lock(write_mu_);
      return writer_->query(sql, params);
    }
    SqliteConn* c = acquire();
    auto r = c->query(sql, params);
    release(c);
    return r;
  }

  Status transaction(const std::function<Status(Conn&)>& fn) override {
    if (Conn* open = current_transaction()) return run_nested(*open, fn);
    std::lock_guard<std::mutex> lock(write_mu_);
    // One writer connection behind a mutex: BEGIN IMMEDIATE only waits on other processes.
    BX_RETURN_IF_ERROR(writer_->exec_script("BEGIN IMMEDIATE"));
    writer_->clear_event_orgs();
    Status st;
    try {
      st = run_marked(*writer_, fn);
    } catch (const std::exception& e) {
      st = Internal(std::string("exception in transaction: ") + e.what());
    }
    if (!st.ok()) {
      (void)writer_->exec_script("ROLLBACK");
      return st;
    }
    Status c = writer_->exec_script("COMMIT");
    if (!c.ok()) {
      (void)writer_->exec_script("ROLLBACK");
      return c;
    }
    committed(*writer_);
    return c;
  }

  Status ping() override {
    auto r = query("SELECT 1", {});
    return r.status();
  }

  Result<int> schema_version() override {
    auto r = query("SELECT COALESCE(MAX(version),0) FROM schema_migrations", {});
    if (!r.ok()) return r.status();
    return static_cast<int>(r->rows.at(0).int64(0));
  }

  ~SqliteDb() override {
    {
      std::lock_guard<std::mutex> lock(checkpoint_mu_);
      stop_checkpoints_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  }

 private:
  // Copies committed WAL frames into the database file in the background. PASSIVE: it takes
  // no lock a writer or reader waits on; frames still in use by a reader are left for later.
  void checkpoint_loop() {
    sqlite3* h = checkpointer_->handle();
    // Our own descriptor of the database file: fdatasync on it writes back every dirty page
    // of the file, whoever wrote it.
    int db_fd = -1;
    if (const char* name = sqlite3_db_filename(h, "main"); name && *name)
      db_fd = ::open(name, O_RDONLY | O_CLOEXEC);
    auto next_force = std::chrono::steady_clock::time_point{};
    int restarted_at = -1;
    bool over_hard_limit = false;
    std::unique_lock<std::mutex> lock(checkpoint_mu_);
    while (!stop_checkpoints_) {
      checkpoint_cv_.wait_for(lock, kCheckpointInterval, [&] { return stop_checkpoints_; });
      if (stop_checkpoints_) break;
      lock.unlock();
      int log = 0, done = 0;
      int rc = SQLITE_OK;
      auto now = std::chrono::steady_clock::now();
      if (over_hard_limit && now >= next_force) {
        // Writers outran the last round: no passive round first, which would let the WAL
        // grow for as long as it takes; straight to the catch-up with them paused.
        log = static_cast<int>(std::min<int64_t>(hard_limit_pages() + 1, INT_MAX));
      } else {
        rc = sqlite3_wal_checkpoint_v2(h, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      }
      // After a restart the WAL keeps its frame count until the next write starts it over.
      if (rc == SQLITE_OK && log > wal_limit_pages_ && log != restarted_at && now >= next_force) {
        rc = restart_wal(h, db_fd, log, done);
        if (rc == SQLITE_OK)
          restarted_at = log;
        else
          next_force = now + kForceRetry;
      }
      over_hard_limit = rc == SQLITE_OK && log > hard_limit_pages();
      lock.lock();
    }
    if (db_fd >= 0) ::close(db_fd);
  }

  // The WAL is over its limit: catch up, then start it over with the writers paused (see
  // kForceBusyMs). Returns the RESTART checkpoint's result; log and done are its counts.
  int restart_wal(sqlite3* h, int db_fd, int& log, int& done) {
    // Shrink what is left for the locked part: each pass copies what arrived during the
    // previous one and writes the copied pages back, outside any lock. Writers that outrun
    // the checkpointer (the WAL past kWalHardFactor times the limit) get no more head start:
    // then the catch-up happens with them paused, whatever it costs.
    const int64_t hard = hard_limit_pages();
    for (int pass = 0; pass < 2 && log <= hard; ++pass) {
      if (db_fd >= 0) (void)::fdatasync(db_fd);
      (void)sqlite3_wal_checkpoint_v2(h, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    }
    if (db_fd >= 0 && log <= hard) (void)::fdatasync(db_fd);
    std::lock_guard<std::mutex> writers(write_mu_);
    // Readers hold the WAL for a millisecond or two: poll every 100 us rather than with
    // SQLite's default back-off (1, 2, 5, 10 ms ...), which would hold the writers longer.
    sqlite3_busy_handler(h, [](void*, int n) -> int {
      if (n >= static_cast<int>(kForceBusyMs.count()) * 10) return 0;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      return 1;
    }, nullptr);
    int rc = sqlite3_wal_checkpoint_v2(h, nullptr, SQLITE_CHECKPOINT_RESTART, &log, &done);
    sqlite3_busy_timeout(h, busy_timeout_ms_);
    return rc;
  }

  // kWalHardFactor times the limit, in 64 bits: a limit near INT_MAX (a test's "no limit")
  // would overflow an int.
  int64_t hard_limit_pages() const { return int64_t{kWalHardFactor} * wal_limit_pages_; }

  SqliteConn* acquire() {
    std::unique_lock<std::mutex> lock(pool_mu_);
    pool_cv_.wait(lock, [&] { return !free_readers_.empty(); });
    SqliteConn* c = free_readers_.back();
    free_readers_.pop_back();
    return c;
  }
  void release(SqliteConn* c) {
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      free_readers_.push_back(c);
    }
    pool_cv_.notify_one();
  }

  bool memory_ = false;
  int busy_timeout_ms_ = 5000;
  int wal_limit_pages_ = 131072;
  std::mutex write_mu_;
  std::unique_ptr<SqliteConn> writer_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<SqliteConn>> readers_;
  std::vector<SqliteConn*> free_readers_;
  // Background WAL checkpoints (file databases only); declared last: stopped first.
  std::unique_ptr<SqliteConn> checkpointer_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool stop_checkpoints_ = false;
  std::thread checkpoint_thread_;
};

}  // namespace

Result<std::unique_ptr<Db>> open_sqlite(std::string_view path, const DbOptions& opts) {
  return SqliteDb::open(path, opts);
}

}  // namespace banxway::store
