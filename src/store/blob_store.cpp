#include "store/blob_store.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"
#include "core/env.hpp"

namespace banxway::store {
namespace fs = std::filesystem;

namespace {
bool valid_key(std::string_view org, std::string_view sha) {
  if (!is_uuid(org) || sha.size() != 64) return false;
  for (char c : sha)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

std::string FsBlobStore::path_for(std::string_view org, std::string_view sha) const {
  return root_ + "/" + std::string(org) + "/" + std::string(sha.substr(0, 2)) + "/" +
         std::string(sha);
}

Result<std::string> FsBlobStore::put(std::string_view org, std::string_view data) {
  std::string sha = crypto::sha256_hex(data);
  if (!valid_key(org, sha)) return InvalidArgument("blob: bad organization id");
  std::string path = path_for(org, sha);
  std::error_code ec;
  if (fs::exists(path, ec)) return sha;  // content-addressed: same name, same bytes
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Unavailable("blob store: cannot create directory: " + ec.message());
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                    crypto::hex(crypto::random_bytes(4));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      return Unavailable("blob store: write failed (disk full?)");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Unavailable("blob store: rename failed: " + ec.message());
  }
  return sha;
}

Result<std::string> FsBlobStore::get(std::string_view org, std::string_view sha) {
  if (!valid_key(org, sha)) return NotFound("blob not found");
  std::ifstream in(path_for(org, sha), std::ios::binary);
  if (!in) return NotFound("blob " + std::string(sha) + " not found");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string> MemoryBlobStore::put(std::string_view org, std::string_view data) {
  std::string sha = crypto::sha256_hex(data);
  if (!valid_key(org, sha)) return InvalidArgument("blob: bad organization id");
  std::lock_guard<std::mutex> lock(mu_);
  blobs_.try_emplace(std::string(org) + "/" + sha, data);
  return sha;
}

Result<std::string> MemoryBlobStore::get(std::string_view org, std::string_view sha) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blobs_.find(std::string(org) + "/" + std::string(sha));
  if (it == blobs_.end()) return NotFound("blob " + std::string(sha) + " not found");
  return it->second;
}

std::unique_ptr<BlobStore> default_blob_store(std::string_view url, std::string_view dir) {
  if (!dir.empty()) return std::make_unique<FsBlobStore>(std::string(dir));
  if (url == "sqlite::memory:" || url == ":memory:") return std::make_unique<MemoryBlobStore>();
  if (url.starts_with("sqlite://")) return std::make_unique<FsBlobStore>(std::string(url.substr(9)) + ".blobs");
  if (url.starts_with("sqlite:")) return std::make_unique<FsBlobStore>(std::string(url.substr(7)) + ".blobs");
  return std::make_unique<FsBlobStore>("./var/blobs");
}

}  // namespace banxway::store
