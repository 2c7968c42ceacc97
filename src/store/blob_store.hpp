// Content-addressed blob storage: attachments and raw message sources, keyed by SHA-256 per
// organization and written once. The filesystem store is the default; the memory store serves
// in-memory databases and tests.
#pragma once

#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "banxway/status.hpp"
#include "store/db.hpp"

namespace banxway::store {

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  /// Stores data (idempotent) and returns its SHA-256 in lower-case hex.
  virtual Result<std::string> put(std::string_view org_id, std::string_view data) = 0;
  virtual Result<std::string> get(std::string_view org_id, std::string_view sha256_hex) = 0;
};

/// Files under root/<org>/<first two hex>/<sha256>, written to a temporary name and renamed so a
/// reader never sees a partial blob.
class FsBlobStore final : public BlobStore {
 public:
  explicit FsBlobStore(std::string root) : root_(std::move(root)) {}
  Result<std::string> put(std::string_view org_id, std::string_view data) override;
  Result<std::string> get(std::string_view org_id, std::string_view sha256_hex) override;

 private:
  std::string path_for(std::string_view org_id, std::string_view sha) const;
  bool dir_known(const std::string& dir);
  void remember_dir(const std::string& dir);
  static constexpr size_t kMaxKnownDirs = 64 * 1024;
  std::string root_;
  std::mutex mu_;
  std::unordered_set<std::string> dirs_;  // directories this store created or found
};

class MemoryBlobStore final : public BlobStore {
 public:
  Result<std::string> put(std::string_view org_id, std::string_view data) override;
  Result<std::string> get(std::string_view org_id, std::string_view sha256_hex) override;

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::string> blobs_;
};

/// A blob on its way into storage: its address, and its bytes when they are to live in its
/// `blobs` row.
struct StagedBlob {
  std::string sha;  // SHA-256, lower-case hex
  size_t size = 0;
  std::optional<std::string> bytes;  // set: kept in the row (storage 'db'); unset: in a file
};

/// An engine's blobs: content-addressed per organization, one `blobs` row each. Blobs up to
/// `inline_max` bytes (most raw messages, small attachments) are kept in that row, written by
/// the transaction that refers to them; larger ones are files of the file store, written before
/// the transaction (a rolled-back transaction leaves at most an unreferenced file, never a row
/// without its bytes). inline_max 0 puts every blob in a file.
class Blobs {
 public:
  Blobs(std::unique_ptr<BlobStore> files, size_t inline_max)
      : files_(std::move(files)), inline_max_(inline_max) {}

  /// Hashes `data`; writes it to the file store now when it is too large for its row.
  Result<StagedBlob> stage(std::string_view org_id, std::string_view data);
  /// The blob's row, in the caller's transaction; the first row of a SHA-256 wins (deduplicated).
  /// `deferred`: nothing reads the result, so on PostgreSQL it may travel with the next statement.
  Status record(Conn& c, std::string_view org_id, const StagedBlob& b, std::string_view media_type,
                std::string_view now, bool deferred = true);
  /// The bytes of a blob: from its row, or from its file.
  Result<std::string> get(Conn& c, std::string_view org_id, std::string_view sha256_hex);
  Result<std::string> get(Db& db, std::string_view org_id, std::string_view sha256_hex);

 private:
  Result<std::string> from_row(Result<Rows> r, std::string_view org_id, std::string_view sha);
  std::unique_ptr<BlobStore> files_;
  size_t inline_max_;
};

/// The default blob store for a database URL: next to a SQLite file (<file>.blobs/), in memory
/// for sqlite::memory:, ./var/blobs for PostgreSQL — unless `dir` names one.
std::unique_ptr<BlobStore> default_blob_store(std::string_view database_url, std::string_view dir);

}  // namespace banxway::store
