#include "store/db.hpp"

#include <charconv>
#include <cstdlib>
#include <string>

#include "store/migrations.hpp"

namespace banxway::store {

namespace {
const std::string kEmpty;
}

const std::string& Row::text(size_t i) const {
  const auto& c = cols_.at(i);
  return c ? *c : kEmpty;
}

int64_t Row::int64(size_t i) const {
  const auto& c = cols_.at(i);
  if (!c) return 0;
  int64_t v = 0;
  std::from_chars(c->data(), c->data() + c->size(), v);
  return v;
}

double Row::real(size_t i) const {
  const auto& c = cols_.at(i);
  return c ? std::strtod(c->c_str(), nullptr) : 0.0;
}

bool Row::boolean(size_t i) const {
  const auto& c = cols_.at(i);
  return c && (*c == "1" || *c == "t" || *c == "true");
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

}  // namespace banxway::store
