// The storage seam: one small interface, two real backends (SQLite, PostgreSQL).
//
// Repositories are written once against this interface. SQL uses `?` placeholders; the
// PostgreSQL backend rewrites them to $1..$n. Values travel as text (or int64 / double /
// NULL); each backend normalizes its output so that repositories see the same text for the
// same data: times as ISO-8601 UTC with milliseconds ("2026-01-02T03:04:05.678Z"), booleans
// as "1"/"0", uuids in lower-case canonical form, JSON as compact text.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "banxway/status.hpp"

namespace banxway::store {

enum class Dialect { sqlite, postgres };

/// Bytes to bind as a binary value (SQLite BLOB, PostgreSQL bytea) rather than as text: they
/// may hold NUL and need not be valid UTF-8. Read back, such a column's text is the same bytes
/// on both backends.
struct Bytes {
  std::string data;
};

/// A bound parameter.
struct Value {
  std::variant<std::monostate, int64_t, double, std::string, Bytes> v;
  Value() = default;
  Value(std::nullptr_t) {}
  Value(int64_t i) : v(i) {}
  Value(int i) : v(static_cast<int64_t>(i)) {}
  Value(double d) : v(d) {}
  Value(bool b) : v(static_cast<int64_t>(b ? 1 : 0)) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(std::string_view s) : v(std::string(s)) {}
  Value(const char* s) {
    if (s) v = std::string(s);
  }
  Value(const std::optional<std::string>& s) {
    if (s) v = *s;
  }
  Value(Bytes b) : v(std::move(b)) {}
  bool is_null() const { return v.index() == 0; }
};

/// One result row; each column is NULL or text. The columns share one buffer, so a row costs
/// two allocations however many columns it has (result rows are the hottest data here).
class Row {
 public:
  Row() = default;
  explicit Row(const std::vector<std::optional<std::string>>& cols);
  void reserve(size_t cols, size_t bytes) {
    ends_.reserve(cols);
    buf_.reserve(bytes);
  }
  void add(std::string_view s) {
    buf_.append(s);
    ends_.push_back(static_cast<uint32_t>(buf_.size()));
  }
  void add_null() { ends_.push_back(static_cast<uint32_t>(buf_.size()) | kNull); }

  size_t size() const { return ends_.size(); }
  /// Bytes of column text held.
  size_t bytes() const { return buf_.size(); }
  bool is_null(size_t i) const { return ends_.at(i) & kNull; }
  /// Column text; empty for NULL. Valid while the row lives.
  std::string_view text(size_t i) const;
  std::string str(size_t i) const { return std::string(text(i)); }
  std::optional<std::string> opt(size_t i) const {
    return is_null(i) ? std::nullopt : std::optional<std::string>(str(i));
  }
  int64_t int64(size_t i) const;
  double real(size_t i) const;
  bool boolean(size_t i) const;

 private:
  static constexpr uint32_t kNull = 0x80000000u;
  std::string buf_;
  std::vector<uint32_t> ends_;  // end offset of each column in buf_; kNull marks NULL
};

struct Rows {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  /// Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected = 0;
  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  const Row& operator[](size_t i) const { return rows[i]; }
  auto begin() const { return rows.begin(); }
  auto end() const { return rows.end(); }
};

/// One row of the event log (table `events`), as Ctx::event writes it.
struct EventRow {
  std::string org_id, type, subject_type, subject_id;
  std::optional<std::string> thread_id;
  std::string payload, created_at, actor;
  int64_t depth = 0;
};

/// A connection inside a transaction (or a read-only connection).
class Conn {
 public:
  virtual ~Conn() = default;
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params) = 0;
  Result<Rows> query(std::string_view sql, std::initializer_list<Value> params = {}) {
    return query(sql, std::span<const Value>(params.begin(), params.size()));
  }
  virtual Dialect dialect() const = 0;
  /// Run several ;-separated statements without parameters (migrations).
  virtual Status exec_script(std::string_view sql) = 0;
  /// A statement without parameters or rows that cannot fail in a healthy transaction
  /// (SAVEPOINT, RELEASE SAVEPOINT, SET LOCAL). PostgreSQL holds it and sends it with the next
  /// statement, in one round trip; a failure surfaces there. SQLite runs it now.
  virtual Status exec_deferred(std::string_view sql) { return exec_script(sql); }
  /// A write whose rows and count the caller does not need (audit, run history). PostgreSQL
  /// holds it like exec_deferred; its failure surfaces at the next statement, and at the latest
  /// when the enclosing savepoint (settle_deferred) or transaction ends. SQLite runs it now.
  virtual Status write_deferred(std::string_view sql, std::span<const Value> params) {
    return query(sql, params).status();
  }
  Status write_deferred(std::string_view sql, std::initializer_list<Value> params) {
    return write_deferred(sql, std::span<const Value>(params.begin(), params.size()));
  }
  /// Sends held writes now and reports the first failure (a savepoint about to be released).
  virtual Status settle_deferred() { return Status(); }

  /// Records that the current transaction appended events for `org_id`; after COMMIT the Db
  /// tells its commit observer (and, on PostgreSQL, other processes via NOTIFY bx_events).
  void note_event_org(std::string_view org_id) {
    for (const auto& o : event_orgs_)
      if (o == org_id) return;
    event_orgs_.emplace_back(org_id);
  }
  const std::vector<std::string>& event_orgs() const { return event_orgs_; }
  /// Forgets what the previous transaction noted (called at BEGIN).
  void clear_event_orgs() {
    event_orgs_.clear();
    after_commit_.clear();
    deferred_events_.clear();
  }

  /// Event rows held back until just before COMMIT (PostgreSQL transactions run by
  /// Db::transaction). Appending an event needs its organization's event-order lock until
  /// commit (docs/REALTIME.md); written at the end, the lock is held for one INSERT and the
  /// COMMIT instead of the whole transaction, so concurrent writers of one organization
  /// overlap. A savepoint that rolls back drops the rows deferred inside it.
  bool defers_events() const { return defers_events_; }
  void set_defers_events(bool on) { defers_events_ = on; }
  void defer_event(EventRow row) { deferred_events_.push_back(std::move(row)); }
  size_t deferred_event_count() const { return deferred_events_.size(); }
  void drop_deferred_events_after(size_t n) {
    if (deferred_events_.size() > n) deferred_events_.resize(n);
  }
  std::vector<EventRow> take_deferred_events() { return std::move(deferred_events_); }
  /// Runs fn once the current transaction has committed (never if it rolls back): wake-ups
  /// of other threads that must see this transaction's rows. Key: one hook per key.
  void after_commit(const void* key, std::function<void()> fn) {
    for (const auto& [k, f] : after_commit_)
      if (k == key) return;
    after_commit_.emplace_back(key, std::move(fn));
  }
  std::vector<std::pair<const void*, std::function<void()>>> take_after_commit() {
    return std::move(after_commit_);
  }

 private:
  bool defers_events_ = false;
  std::vector<EventRow> deferred_events_;
  std::vector<std::string> event_orgs_;
  std::vector<std::pair<const void*, std::function<void()>>> after_commit_;
};

struct DbOptions {
  int readers = 4;              // SQLite reader pool size / PostgreSQL pool size
  int busy_timeout_ms = 5000;   // SQLite
  bool apply_migrations = true;
  // SQLite: when the WAL holds more pages than this, the background checkpointer pauses this
  // process's writers briefly and starts the WAL over (see sqlite_db.cpp). 131,072 = 512 MB.
  int sqlite_wal_limit_pages = 131072;
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;

  /// Run a read-only statement on a pooled reader.
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params) = 0;
  Result<Rows> query(std::string_view sql, std::initializer_list<Value> params = {}) {
    return query(sql, std::span<const Value>(params.begin(), params.size()));
  }

  /// Run fn inside one write transaction. fn's non-OK status (or an exception) rolls back.
  /// Transient conflicts (SQLITE_BUSY, PostgreSQL serialization failures) are retried.
  /// Called again on a thread that is already inside a transaction of this Db, it joins that
  /// transaction as a savepoint (a failure rolls back the inner part only), and query() on
  /// that thread reads through the transaction's connection: so an operation can run inside
  /// another's transaction (workflow steps), and reads see the transaction's own writes.
  virtual Status transaction(const std::function<Status(Conn&)>& fn) = 0;

  /// Cheap liveness check (used by /health).
  virtual Status ping() = 0;

  /// Schema version currently applied.
  virtual Result<int> schema_version() = 0;

  /// A dedicated connection that receives notifications (PostgreSQL LISTEN). SQLite has no
  /// cross-process notifications: listen() is unimplemented there and callers poll instead.
  struct Notification {
    std::string channel;
    std::string payload;
  };
  class Listener {
   public:
    virtual ~Listener() = default;
    /// Waits up to timeout_ms for notifications (empty: timed out or interrupted). An error
    /// means the connection is gone: open a new listener, and assume some were missed.
    virtual Result<std::vector<Notification>> wait(int timeout_ms) = 0;
    /// Makes a wait() in another thread return early (thread-safe).
    virtual void interrupt() = 0;
  };
  virtual Result<std::unique_ptr<Listener>> listen(const std::vector<std::string>& channels) {
    (void)channels;
    return Unavailable("this database has no notifications");
  }
  /// Sends a notification to every listener of `channel` (PostgreSQL NOTIFY; 8000 bytes max).
  virtual Status notify(std::string_view channel, std::string_view payload) {
    (void)channel;
    (void)payload;
    return Unavailable("this database has no notifications");
  }

  /// Called after a transaction that appended events commits, with the organizations it
  /// wrote events for (on the committing thread; keep it cheap). Set once, before use.
  using CommitObserver = std::function<void(const std::vector<std::string>& org_ids)>;
  void set_commit_observer(CommitObserver fn) { commit_observer_ = std::move(fn); }

 protected:
  /// The transaction this thread is running on this Db, if any.
  Conn* current_transaction() const;
  /// Marks fn's extent as this thread's transaction on this Db (see transaction()).
  Status run_marked(Conn& c, const std::function<Status(Conn&)>& fn);
  /// Runs fn as a savepoint inside the current transaction c.
  Status run_nested(Conn& c, const std::function<Status(Conn&)>& fn);

  void committed(Conn& c) {
    // Hooks first: the observer's reaction may depend on them (a consumer activated by this
    // very transaction).
    for (auto& [k, fn] : c.take_after_commit()) fn();
    if (!c.event_orgs().empty() && commit_observer_) commit_observer_(c.event_orgs());
    c.clear_event_orgs();
  }
  CommitObserver commit_observer_;
};

/// "(?, …, ?), (?, …)": n rows of k placeholders, for multi-row INSERTs.
std::string value_rows(size_t n, size_t k);

/// Writes event rows now: on PostgreSQL first takes the event-order lock of each organization
/// (in a fixed order), then multi-row INSERTs in the rows' order; notes the organizations.
Status write_events(Conn& c, const std::vector<EventRow>& rows);

/// Appends event rows in the caller's transaction: held in c until just before COMMIT when c
/// defers events (PostgreSQL, Db::transaction), else written now (write_events).
Status append_events(Conn& c, std::vector<EventRow> rows);

/// Writes the rows c deferred so far (a transaction that must read its own events back).
Status flush_deferred_events(Conn& c);

/// Open a database by URL: `sqlite:///abs/path`, `sqlite://./rel/path`, `sqlite::memory:`,
/// `postgres://…` / `postgresql://…`. Applies missing migrations unless told not to.
Result<std::unique_ptr<Db>> open(std::string_view url, const DbOptions& opts = {});

/// Apply missing migrations (idempotent, all in one transaction); returns the version after.
Result<int> migrate(Db& db);

/// Backend factories (used by open()).
Result<std::unique_ptr<Db>> open_sqlite(std::string_view path, const DbOptions& opts);
Result<std::unique_ptr<Db>> open_postgres(std::string_view url, const DbOptions& opts);

}  // namespace banxway::store
