#include "store/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
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

bool FsBlobStore::dir_known(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  return dirs_.count(dir) > 0;
}

void FsBlobStore::remember_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (dirs_.size() >= kMaxKnownDirs) dirs_.clear();  // bounded: at most org count x 256
  dirs_.insert(dir);
}

Result<std::string> FsBlobStore::put(std::string_view org, std::string_view data) {
  std::string sha = crypto::sha256_hex(data);
  if (!valid_key(org, sha)) return InvalidArgument("blob: bad organization id");
  std::string path = path_for(org, sha);
  std::string dir = path.substr(0, path.size() - sha.size() - 1);
  struct stat sb{};
  if (::stat(path.c_str(), &sb) == 0) return sha;  // content-addressed: same name, same bytes
  // The directory was created (or seen) before by this store: skip create_directories, which
  // probes every component of the path.
  if (!dir_known(dir)) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Unavailable("blob store: cannot create directory: " + ec.message());
    remember_dir(dir);
  }
  // A temporary name unique per process (pid) and per call (counter): no random bytes needed.
  // O_EXCL refuses a leftover of a crashed process that had the same pid; then the next
  // counter value is tried.
  static std::atomic<uint64_t> seq{0};
  const std::string tmp_prefix = path + ".tmp." + std::to_string(::getpid()) + ".";
  std::string tmp;
  int fd = -1;
  bool dir_recreated = false;
  for (int attempt = 0; attempt < 64; ++attempt) {
    tmp = tmp_prefix + std::to_string(seq.fetch_add(1, std::memory_order_relaxed));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) break;
    if (errno == EEXIST) continue;
    if (errno == ENOENT && !dir_recreated) {
      // The directory went away under us (removed from outside): create it again.
      dir_recreated = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        dirs_.erase(dir);
      }
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) return Unavailable("blob store: cannot create directory: " + ec.message());
      remember_dir(dir);
      continue;
    }
    break;
  }
  if (fd < 0) return Unavailable(std::string("blob store: cannot create file: ") + std::strerror(errno));
  const char* p = data.data();
  size_t left = data.size();
  bool ok = true;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::close(fd) != 0) ok = false;
  if (!ok) {
    ::unlink(tmp.c_str());
    return Unavailable("blob store: write failed (disk full?)");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Unavailable("blob store: rename failed: " + err);
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

Result<StagedBlob> Blobs::stage(std::string_view org, std::string_view data) {
  StagedBlob b;
  b.size = data.size();
  if (data.size() > inline_max_) {
    BX_ASSIGN_OR_RETURN(b.sha, files_->put(org, data));
    return b;
  }
  b.sha = crypto::sha256_hex(data);
  if (!valid_key(org, b.sha)) return InvalidArgument("blob: bad organization id");
  b.bytes = std::string(data);
  return b;
}

Status Blobs::record(Conn& c, std::string_view org, const StagedBlob& b, std::string_view media_type,
                     std::string_view now, bool deferred) {
  // On a conflict the existing row stays as it is: same SHA-256, same bytes, wherever they are.
  static const std::string kInsert =
      "INSERT INTO blobs (org_id, sha256, size, media_type, created_at, storage, data) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, sha256) DO NOTHING";
  const std::array<Value, 7> p{Value(org),
                               Value(b.sha),
                               Value(static_cast<int64_t>(b.size)),
                               media_type.empty() ? Value() : Value(media_type),
                               Value(now),
                               Value(b.bytes ? "db" : "fs"),
                               b.bytes ? Value(Bytes{*b.bytes}) : Value()};
  return deferred ? c.write_deferred(kInsert, p) : c.query(kInsert, p).status();
}

namespace {
constexpr std::string_view kGetSql =
    "SELECT storage, data FROM blobs WHERE org_id = ? AND sha256 = ?";
}

Result<std::string> Blobs::from_row(Result<Rows> r, std::string_view org, std::string_view sha) {
  if (!r.ok()) return r.status();
  if (!r->empty() && r->rows[0].text(0) == "db" && !r->rows[0].is_null(1)) return r->rows[0].str(1);
  return files_->get(org, sha);  // a file ('fs'), or no row: ask the file store
}

Result<std::string> Blobs::get(Conn& c, std::string_view org, std::string_view sha) {
  if (!valid_key(org, sha)) return NotFound("blob not found");
  return from_row(c.query(kGetSql, {org, sha}), org, sha);
}

Result<std::string> Blobs::get(Db& db, std::string_view org, std::string_view sha) {
  if (!valid_key(org, sha)) return NotFound("blob not found");
  return from_row(db.query(kGetSql, {org, sha}), org, sha);
}

std::unique_ptr<BlobStore> default_blob_store(std::string_view url, std::string_view dir) {
  if (!dir.empty()) return std::make_unique<FsBlobStore>(std::string(dir));
  if (url == "sqlite::memory:" || url == ":memory:") return std::make_unique<MemoryBlobStore>();
  if (url.starts_with("sqlite://")) return std::make_unique<FsBlobStore>(std::string(url.substr(9)) + ".blobs");
  if (url.starts_with("sqlite:")) return std::make_unique<FsBlobStore>(std::string(url.substr(7)) + ".blobs");
  return std::make_unique<FsBlobStore>("./var/blobs");
}

}  // namespace banxway::store
