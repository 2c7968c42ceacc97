// The page-cache wrapper (src/store/sqlite/page_cache.cpp): it is installed by the first
// SQLite open of the process; commits after b-tree splits skip the walk of the whole cache;
// and a rolled-back transaction that grew the database still has its pages dropped, so the
// page numbers it used come back from the file, not from the cache (a wrapper that skipped
// that truncation fails the checks below: stale pages of the rollback would be read back).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "store/db.hpp"
#include "store/sqlite/page_cache.hpp"

namespace {

namespace fs = std::filesystem;
using banxway::Status;
using banxway::store::Conn;
using banxway::store::Value;

int64_t scalar(banxway::store::Db& db, const char* sql) {
  auto r = db.query(sql, {});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() && !r->empty() ? r->rows[0].int64(0) : -1;
}

std::string random_key(std::mt19937_64& rng) {
  static const char hex[] = "0123456789abcdef";
  std::string k(32, '0');
  for (char& ch : k) ch = hex[rng() % 16];
  return k;
}

TEST(SqlitePageCache, CommitsSkipTheWalkAndRollbacksStillDropTheirPages) {
  fs::path dir = fs::temp_directory_path() / ("bx-pcache-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto db = banxway::store::open("sqlite://" + (dir / "t.db").string(),
                                   {.readers = 1, .apply_migrations = false});
    ASSERT_TRUE(db.ok()) << db.status().message();
    // This test's process touches SQLite first through store::open, so the wrapper is in.
    ASSERT_TRUE(banxway::store::install_sqlite_page_cache());
    ASSERT_TRUE((*db)->transaction([](Conn& c) {
      return c.exec_script(
          "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB NOT NULL);"
          "CREATE INDEX t_k ON t(k);");
    }).ok());

    // One row per transaction on a random key: the index splits pages as it grows, and each
    // split moves a page through the pending-byte page number.
    std::mt19937_64 rng(7);
    const auto before = banxway::store::sqlite_page_cache_counts();
    int64_t want_rows = 0, want_bytes = 0;
    for (int i = 0; i < 1500; ++i) {
      std::string v(200 + i % 300, static_cast<char>('a' + i % 26));
      ASSERT_TRUE((*db)->transaction([&](Conn& c) {
        return c.query("INSERT INTO t (k, v) VALUES (?, ?)",
                       {random_key(rng), Value(banxway::store::Bytes{v})})
            .status();
      }).ok());
      ++want_rows;
      want_bytes += static_cast<int64_t>(v.size());
    }
    const auto after = banxway::store::sqlite_page_cache_counts();
    EXPECT_GE(after.truncates_skipped - before.truncates_skipped, 1000u);

    // A transaction that grows the file by hundreds of pages, then rolls back.
    const int64_t pages = scalar(**db, "PRAGMA page_count");
    Status st = (*db)->transaction([&](Conn& c) -> Status {
      for (int i = 0; i < 400; ++i) {
        std::string v(3000, 'X');
        auto r = c.query("INSERT INTO t (k, v) VALUES (?, ?)",
                         {"rolled-back-" + std::to_string(i),
                          Value(banxway::store::Bytes{v})});
        if (!r.ok()) return r.status();
      }
      return banxway::Internal("roll back on purpose");
    });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(scalar(**db, "PRAGMA page_count"), pages);
    EXPECT_GT(banxway::store::sqlite_page_cache_counts().truncates_passed, after.truncates_passed);

    // The same page numbers, now written by a committed transaction: what is read back is
    // what was committed, never a page of the rollback.
    ASSERT_TRUE((*db)->transaction([&](Conn& c) -> Status {
      for (int i = 0; i < 400; ++i) {
        std::string v(1000 + i, 'y');
        auto r = c.query("INSERT INTO t (k, v) VALUES (?, ?)",
                         {random_key(rng), Value(banxway::store::Bytes{v})});
        if (!r.ok()) return r.status();
        ++want_rows;
        want_bytes += static_cast<int64_t>(v.size());
      }
      return Status();
    }).ok());
    EXPECT_EQ(scalar(**db, "SELECT count(*) FROM t"), want_rows);
    EXPECT_EQ(scalar(**db, "SELECT sum(length(v)) FROM t"), want_bytes);
    EXPECT_EQ(scalar(**db, "SELECT count(*) FROM t WHERE k LIKE 'rolled-back-%' OR v GLOB '*X*'"), 0);
    auto check = (*db)->query("PRAGMA integrity_check", {});
    ASSERT_TRUE(check.ok());
    EXPECT_EQ(check->rows[0].str(0), "ok");
  }
  fs::remove_all(dir);
}

}  // namespace
