// Content-addressed blob storage: attachments and raw message sources, keyed by SHA-256 per
// organization and written once. The filesystem store is the default; the memory store serves
// in-memory databases and tests.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "banxway/status.hpp"

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

/// The default blob store for a database URL: next to a SQLite file (<file>.blobs/), in memory
/// for sqlite::memory:, ./var/blobs for PostgreSQL — unless `dir` names one.
std::unique_ptr<BlobStore> default_blob_store(std::string_view database_url, std::string_view dir);

}  // namespace banxway::store
