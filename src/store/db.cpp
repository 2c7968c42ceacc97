#include <algorithm>
#include "store/db.hpp"

#include <charconv>
#include <cstdlib>
#include <string>

#include "store/migrations.hpp"

namespace banxway::store {

Row::Row(const std::vector<std::optional<std::string>>& cols) {
  for (const auto& c : cols) {
    if (c)
      add(*c);
    else
      add_null();
  }
}

std::string_view Row::text(size_t i) const {
  uint32_t end = ends_.at(i) & ~kNull;
  uint32_t begin = i == 0 ? 0 : (ends_[i - 1] & ~kNull);
  return std::string_view(buf_.data() + begin, end - begin);
}

int64_t Row::int64(size_t i) const {
  std::string_view t = text(i);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

double Row::real(size_t i) const {
  if (is_null(i)) return 0.0;
  return std::strtod(str(i).c_str(), nullptr);
}

bool Row::boolean(size_t i) const {
  std::string_view t = text(i);
  return !is_null(i) && (t == "1" || t == "t" || t == "true");
}

Result<std::unique_ptr<Db>> open(std::string_view url, const DbOptions& opts) {
  std::unique_ptr<Db> db;
  if (url == "sqlite::memory:" || url == ":memory:") {
    BX_ASSIGN_OR_RETURN(db, open_sqlite(":memory:", opts));
  } else if (url.starts_with("sqlite://")) {
    std::string_view path = url.substr(9);  // sqlite:///abs -> /abs, sqlite://./rel -> ./rel
    if (path.empty()) return InvalidArgument("database URL has no path: " + std::string(url));
    BX_ASSIGN_OR_RETURN(db, open_sqlite(path, opts));
  } else if (url.starts_with("sqlite:")) {
    BX_ASSIGN_OR_RETURN(db, open_sqlite(url.substr(7), opts));
  } else if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    BX_ASSIGN_OR_RETURN(db, open_postgres(url, opts));
  } else {
    return InvalidArgument(
        "unsupported database URL (expected sqlite:///path, sqlite::memory: or postgres://...)");
  }
  if (opts.apply_migrations) {
    auto v = migrate(*db);
    if (!v.ok()) return v.status();
  }
  return db;
}

Result<int> migrate(Db& db) {
  const Migration* list = embedded_migrations(db.dialect());
  int version = 0;
  Status st = db.transaction([&](Conn& c) -> Status {
    if (c.dialect() == Dialect::postgres) {
      // Several servers may start at once against one database: migrate one at a time.
      auto lock = c.query("SELECT pg_advisory_xact_lock(7261003)");
      if (!lock.ok()) return lock.status();
    }
    BX_RETURN_IF_ERROR(c.exec_script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at TEXT NOT NULL)"));
    auto cur = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!cur.ok()) return cur.status();
    version = static_cast<int>(cur->rows.at(0).int64(0));
    for (const Migration* m = list; m->sql; ++m) {
      if (m->version <= version) continue;
      Status s = c.exec_script(m->sql);
      if (!s.ok())
        return Status(s.code(), std::string("migration ") + m->name + " failed: " + s.message());
      auto ins = c.query(
          "INSERT INTO schema_migrations (version, name, applied_at) "
          "VALUES (?, ?, CAST(CURRENT_TIMESTAMP AS TEXT))",
          {Value(m->version), Value(m->name)});
      if (!ins.ok()) return ins.status();
      version = m->version;
    }
    return Status();
  });
  if (!st.ok()) return st;
  return version;
}

namespace {
// The transactions this thread is inside, innermost last: (database, connection, depth).
struct OpenTx {
  const Db* db;
  Conn* conn;
  int depth;
};
thread_local std::vector<OpenTx> t_open;
}  // namespace

Conn* Db::current_transaction() const {
  for (auto it = t_open.rbegin(); it != t_open.rend(); ++it)
    if (it->db == this) return it->conn;
  return nullptr;
}

Status Db::run_marked(Conn& c, const std::function<Status(Conn&)>& fn) {
  t_open.push_back({this, &c, 0});
  struct Pop {
    ~Pop() { t_open.pop_back(); }
  } pop;
  return fn(c);
}

Status Db::run_nested(Conn& c, const std::function<Status(Conn&)>& fn) {
  int depth = 1;
  for (const auto& o : t_open)
    if (o.db == this) depth = std::max(depth, o.depth + 1);
  const std::string name = "bx_sp" + std::to_string(depth);
  BX_RETURN_IF_ERROR(c.exec_deferred("SAVEPOINT " + name));
  const size_t deferred = c.deferred_event_count();
  t_open.push_back({this, &c, depth});
  Status st;
  try {
    st = fn(c);
  } catch (const std::exception& e) {
    st = Internal(std::string("exception in transaction: ") + e.what());
  }
  t_open.pop_back();
  if (st.ok()) {
    // Writes held inside the savepoint must have succeeded before it counts as done; a
    // failed one leaves the release unexecuted, so the rollback below still finds it.
    st = c.exec_deferred("RELEASE SAVEPOINT " + name);
    if (st.ok()) st = c.settle_deferred();
    if (st.ok()) return st;
  }
  c.drop_deferred_events_after(deferred);
  (void)c.exec_script("ROLLBACK TO SAVEPOINT " + name);
  (void)c.exec_script("RELEASE SAVEPOINT " + name);
  return st;
}

std::string value_rows(size_t n, size_t k) {
  std::string row = "(";
  for (size_t i = 0; i < k; ++i) row += i ? ", ?" : "?";
  row += ")";
  std::string out;
  out.reserve(n * (row.size() + 2));
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += row;
  }
  return out;
}

Status write_events(Conn& c, const std::vector<EventRow>& rows) {
  if (rows.empty()) return Status();
  if (c.dialect() == Dialect::postgres) {
    // Event ids come from a sequence; concurrent transactions could commit them out of order
    // and a reader polling "after id N" would skip the late one. Every transaction that
    // appends events holds its organization's advisory lock until it commits, so commit order
    // equals id order (docs/REALTIME.md). Sorted, so two such transactions cannot deadlock on
    // each other's locks. SQLite has one writer and needs none.
    std::vector<std::string> orgs;
    for (const auto& r : rows) orgs.push_back(r.org_id);
    std::sort(orgs.begin(), orgs.end());
    orgs.erase(std::unique(orgs.begin(), orgs.end()), orgs.end());
    for (const auto& o : orgs)
      BX_RETURN_IF_ERROR(
          c.write_deferred("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", {o}));
  }
  constexpr size_t kRowsPerStatement = 64;
  for (size_t at = 0; at < rows.size(); at += kRowsPerStatement) {
    const size_t n = std::min(kRowsPerStatement, rows.size() - at);
    std::vector<Value> args;
    args.reserve(n * 9);
    for (size_t i = at; i < at + n; ++i) {
      const auto& e = rows[i];
      args.emplace_back(e.org_id);
      args.emplace_back(e.type);
      args.emplace_back(e.subject_type);
      args.emplace_back(e.subject_id);
      args.emplace_back(Value(e.thread_id));
      args.emplace_back(e.payload);
      args.emplace_back(e.created_at);
      args.emplace_back(e.actor);
      args.emplace_back(e.depth);
    }
    BX_RETURN_IF_ERROR(c.write_deferred("INSERT INTO events (org_id, type, subject_type, "
                                        "subject_id, thread_id, payload, created_at, actor, "
                                        "depth) VALUES " + value_rows(n, 9),
                                        args));
  }
  for (const auto& r : rows) c.note_event_org(r.org_id);
  return Status();
}

Status append_events(Conn& c, std::vector<EventRow> rows) {
  if (!c.defers_events()) return write_events(c, rows);
  for (auto& r : rows) c.defer_event(std::move(r));
  return Status();
}

Status flush_deferred_events(Conn& c) {
  std::vector<EventRow> rows = c.take_deferred_events();
  return write_events(c, rows);
}

}  // namespace banxway::store
