// store::Blobs on every backend: small blobs in their `blobs` row, large ones as files, one row
// per SHA-256, bytes back exactly as given (NUL and non-UTF-8 included).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "core/crypto.hpp"
#include "store/blob_store.hpp"
#include "store/db.hpp"
#include "support/backends.hpp"

namespace {

namespace fs = std::filesystem;
using banxway::Code;
using banxway::Status;
using banxway::store::Blobs;
using banxway::store::Conn;
using banxway::store::FsBlobStore;
using banxway::store::StagedBlob;

constexpr const char* kOrg = "0190a0a0-0000-7000-8000-000000000001";
constexpr const char* kT0 = "2026-01-02T03:04:05.678Z";

// Bytes no text column would take: NUL, invalid UTF-8, a lone continuation byte.
std::string binary(size_t n) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  s[0] = '\0';
  if (n > 2) s[n / 2] = '\xff';
  return s;
}

class BlobsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    BX_SKIP_IF_NO_BACKEND(GetParam());
    url_ = bxtest::fresh_database_url(GetParam());
    auto db = banxway::store::open(url_);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(db).value();
    dir_ = fs::temp_directory_path() / ("bx_blobs_test." + std::to_string(::getpid()) + "." +
                                        std::to_string(counter_++));
    fs::remove_all(dir_);
    Status st = db_->transaction([](Conn& c) {
      return c.query("INSERT INTO organizations (id, name, created_at, updated_at) "
                     "VALUES (?, 'Acme', ?, ?)",
                     {kOrg, kT0, kT0})
          .status();
    });
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  void TearDown() override {
    db_.reset();
    if (!url_.empty()) bxtest::remove_database(url_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Blobs blobs(size_t inline_max) { return Blobs(std::make_unique<FsBlobStore>(dir_.string()), inline_max); }

  banxway::Result<std::string> put(Blobs& b, const std::string& data) {
    std::string sha;
    Status st = db_->transaction([&](Conn& c) -> Status {
      BX_ASSIGN_OR_RETURN(StagedBlob staged, b.stage(kOrg, data));
      sha = staged.sha;
      return b.record(c, kOrg, staged, "application/octet-stream", kT0);
    });
    if (!st.ok()) return st;
    return sha;
  }

  /// storage, whether data is NULL, size, for the row of `sha`; empty when there is none.
  std::string row(const std::string& sha) {
    auto r = db_->query("SELECT storage, data IS NULL, size FROM blobs WHERE org_id = ? AND sha256 = ?",
                        {kOrg, sha});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok() || r->empty()) return "";
    return r->rows[0].str(0) + (r->rows[0].boolean(1) ? " null " : " data ") + r->rows[0].str(2);
  }

  size_t files() {
    size_t n = 0;
    if (!fs::exists(dir_)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_))
      if (e.is_regular_file()) ++n;
    return n;
  }

  static inline int counter_ = 0;
  std::string url_;
  fs::path dir_;
  std::unique_ptr<banxway::store::Db> db_;
};

TEST_P(BlobsTest, SmallBlobLivesInItsRowAndALargeOneInAFile) {
  Blobs b = blobs(1000);
  const std::string small = binary(1000), large = binary(1001);
  auto s = put(b, small);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(*s, banxway::crypto::sha256_hex(small));
  EXPECT_EQ(row(*s), "db data 1000");
  EXPECT_EQ(files(), 0u);

  auto l = put(b, large);
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  EXPECT_EQ(row(*l), "fs null 1001");
  EXPECT_EQ(files(), 1u);

  // Both read back byte for byte, through a transaction's connection and through the pool.
  for (const auto& [sha, want] : {std::pair{*s, small}, std::pair{*l, large}}) {
    auto got = b.get(*db_, kOrg, sha);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_TRUE(*got == want) << "size " << got->size() << " of " << want.size();
    std::string in_tx;
    Status st = db_->transaction([&](Conn& c) -> Status {
      BX_ASSIGN_OR_RETURN(in_tx, b.get(c, kOrg, sha));
      return Status();
    });
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_TRUE(in_tx == want);
  }
}

TEST_P(BlobsTest, EmptyAndMegabyteBlobsRoundTripInTheRow) {
  Blobs b = blobs(2u << 20);
  for (const std::string& data : {std::string(), binary(1u << 20)}) {
    auto sha = put(b, data);
    ASSERT_TRUE(sha.ok()) << sha.status().to_string();
    EXPECT_EQ(row(*sha), "db data " + std::to_string(data.size()));
    auto got = b.get(*db_, kOrg, *sha);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_TRUE(*got == data) << "size " << got->size() << " of " << data.size();
  }
  EXPECT_EQ(files(), 0u);
}

TEST_P(BlobsTest, InlineMaxZeroPutsEveryBlobInAFile) {
  Blobs b = blobs(0);
  auto sha = put(b, "tiny");
  ASSERT_TRUE(sha.ok()) << sha.status().to_string();
  EXPECT_EQ(row(*sha), "fs null 4");
  EXPECT_EQ(files(), 1u);
  auto got = b.get(*db_, kOrg, *sha);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, "tiny");
}

TEST_P(BlobsTest, TheFirstRowOfAContentWinsWhereverItsBytesAre) {
  // Stored as a file first; a later store that would keep it inline finds the row and writes
  // nothing more.
  Blobs as_file = blobs(0), as_row = blobs(1000);
  const std::string data = binary(300);
  auto first = put(as_file, data);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  auto second = put(as_row, data);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(row(*first), "fs null 300");
  auto n = db_->query("SELECT COUNT(*) FROM blobs");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->rows[0].int64(0), 1);
  auto got = as_row.get(*db_, kOrg, *first);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(*got == data);

  // And an inline one stays inline when stored again.
  auto again = put(as_row, "small one");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(put(as_row, "small one").ok());
  EXPECT_EQ(row(*again), "db data 9");
}

TEST_P(BlobsTest, ARolledBackTransactionLeavesNoInlineBlob) {
  Blobs b = blobs(1000);
  std::string sha;
  Status st = db_->transaction([&](Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(StagedBlob staged, b.stage(kOrg, "never committed"));
    sha = staged.sha;
    BX_RETURN_IF_ERROR(b.record(c, kOrg, staged, "text/plain", kT0));
    return banxway::Conflict("changed my mind");
  });
  EXPECT_EQ(st.code(), Code::conflict);
  ASSERT_FALSE(sha.empty());
  EXPECT_EQ(row(sha), "");
  auto got = b.get(*db_, kOrg, sha);
  EXPECT_EQ(got.status().code(), Code::not_found) << got.status().to_string();
  EXPECT_EQ(files(), 0u);
}

TEST_P(BlobsTest, UnknownOrMalformedAddressesAreNotFound) {
  Blobs b = blobs(1000);
  auto missing = b.get(*db_, kOrg, std::string(64, 'a'));
  EXPECT_EQ(missing.status().code(), Code::not_found);
  auto bad = b.get(*db_, kOrg, "../../etc/passwd");
  EXPECT_EQ(bad.status().code(), Code::not_found);
  // Another organization's blob is not found under this one.
  auto sha = put(b, "mine");
  ASSERT_TRUE(sha.ok());
  auto other = b.get(*db_, "0190a0a0-0000-7000-8000-000000000002", *sha);
  EXPECT_EQ(other.status().code(), Code::not_found);
}

INSTANTIATE_TEST_SUITE_P(Backends, BlobsTest, ::testing::ValuesIn(bxtest::backends()),
                         bxtest::BackendName());

}  // namespace
