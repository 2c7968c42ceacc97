#include "support/backends.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace bxtest {

// Both backends are always listed: test discovery may run at build time, before the test
// command has started PostgreSQL, so the list cannot depend on the environment. Whether a
// PostgreSQL case runs, skips visibly, or fails is decided when it starts (postgres_missing).
std::vector<std::string> backends() { return {"sqlite", "postgres"}; }

bool postgres_missing(const std::string& backend) {
  if (backend != "postgres") return false;
  const char* pg = std::getenv("BANXWAY_TEST_PG_URL");
  if (pg && *pg) return false;
  const char* req = std::getenv("BANXWAY_REQUIRE_PG");
  // With BANXWAY_REQUIRE_PG=1 the case goes on and fresh_database_url() fails it loudly.
  return !(req && std::string(req) == "1");
}

namespace {
std::atomic<int> counter{0};

// Unique across processes and runs: a process id is reused, and leftovers of an interrupted
// run may still sit in the temp directory, so the name also carries 48 random bits.
std::string unique_name() {
  static const uint64_t salt = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 16) ^ rd();
  }();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012llx",
                static_cast<unsigned long long>((salt + static_cast<uint64_t>(counter.load())) &
                                                0xffffffffffffULL));
  return "bxtest_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + buf;
}
}  // namespace

std::string fresh_database_url(const std::string& backend) {
  if (backend == "sqlite") {
    auto dir = std::filesystem::temp_directory_path() / "banxway-tests";
    std::filesystem::create_directories(dir);
    auto path = dir / (unique_name() + ".db");
    return "sqlite://" + path.string();
  }
  const char* base = std::getenv("BANXWAY_TEST_PG_URL");
  if (!base || !*base)
    throw std::runtime_error(
        "BANXWAY_REQUIRE_PG=1 but BANXWAY_TEST_PG_URL is not set: start PostgreSQL (scripts/test "
        "does) or unset BANXWAY_REQUIRE_PG");
  PGconn* c = PQconnectdb(base);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot reach test PostgreSQL at " + std::string(base) + ": " + msg);
  }
  std::string name = unique_name();
  // template0 accepts no connections, so concurrent CREATE DATABASEs never find their template
  // "being accessed by other users" (template1 may be, by a parallel test creating its own).
  PGresult* r = PQexec(c, ("CREATE DATABASE " + name + " TEMPLATE template0").c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string err = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("CREATE DATABASE failed: " + err);
  // Replace the database name: the base URL is postgres://user@host:port/dbname[?query].
  std::string url(base);
  std::string query;
  if (auto q = url.find('?'); q != std::string::npos) {
    query = url.substr(q);
    url.resize(q);
  }
  auto slash = url.find('/', url.find("://") + 3);
  if (slash != std::string::npos) url.resize(slash);
  return url + "/" + name + query;
}

void remove_database(const std::string& url) {
  const std::string prefix = "sqlite://";
  if (url.rfind(prefix, 0) != 0) return;
  std::string path = url.substr(prefix.size());
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
}

}  // namespace bxtest
