// Test support: which database backends to run store/api tests on, and fresh databases.
//
// SQLite always runs. PostgreSQL runs when BANXWAY_TEST_PG_URL points at a server (scripts/test
// starts one); with BANXWAY_REQUIRE_PG=1 a missing URL fails the tests instead of skipping.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bxtest {

/// {"sqlite", "postgres"}.
std::vector<std::string> backends();

/// True when a PostgreSQL case should skip: no BANXWAY_TEST_PG_URL and PostgreSQL not required
/// (BANXWAY_REQUIRE_PG=1, as scripts/test sets, turns the skip into a failure).
bool postgres_missing(const std::string& backend);

#define BX_SKIP_IF_NO_BACKEND(backend)                                                      \
  do {                                                                                      \
    if (::bxtest::postgres_missing(backend))                                                \
      GTEST_SKIP() << "PostgreSQL not configured (set BANXWAY_TEST_PG_URL; scripts/test does)"; \
  } while (0)

/// A URL for a new, empty database on that backend (a temporary SQLite file, or a new
/// PostgreSQL database created on the test server).
std::string fresh_database_url(const std::string& backend);

/// Deletes a SQLite test database's files (PostgreSQL test databases go with the server).
void remove_database(const std::string& url);

/// Name printer for INSTANTIATE_TEST_SUITE_P.
struct BackendName {
  template <class P>
  std::string operator()(const P& info) const {
    return info.param;
  }
};

}  // namespace bxtest
