// IMAP ingest (docs/EMAIL.md, "IMAP"): per folder a cursor (UIDVALIDITY + last UID) in
// mail_folders, advanced page by page after each page is stored, under a lease so one worker
// watches a folder at a time (across processes sharing a database). Two ways to drive it:
//
//   sync_account_once   one pass over an account's folders on the calling thread (the
//                       channels.sync operation, the CLI, tests);
//   MailWatcher         a thread per active email account, started with the engine's workers:
//                       a pass, then IDLE (or a sleep when the server has no IDLE) for at most
//                       the poll interval, then another pass; connection errors back off.
//
// Both only read the mailbox: EXAMINE and BODY.PEEK[] (imap_client.hpp), so no flag changes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/context.hpp"
#include "channels/email/account.hpp"
#include "channels/email/imap_client.hpp"

namespace banxway::runtime {

struct FolderSyncReport {
  std::string folder;
  uint32_t uidvalidity = 0;
  uint32_t last_uid = 0;
  bool resync = false;  // the stored cursor was void (UIDVALIDITY changed): started over
  int fetched = 0, ingested = 0, duplicates = 0, errors = 0;
  std::vector<std::string> error_details;  // "uid 12: reason", the first few
};

struct SyncReport {
  std::vector<FolderSyncReport> folders;
  bool complete = true;  // false when max_messages or a stop request cut the pass short
  std::string to_json() const;
  int fetched() const;
  int ingested() const;
};

struct SyncOptions {
  std::string owner;                         // lease owner label (unique per worker)
  size_t max_messages = SIZE_MAX;            // stop after fetching this many (paged first sync)
  std::chrono::seconds lease{120};           // how long a folder stays ours without renewal
  const std::atomic<bool>* stop = nullptr;   // checked between pages
};

/// One pass over `acct`'s folders through an open client: per folder, take the lease, EXAMINE,
/// fetch pages above the cursor, ingest each page, move the cursor. conflict when another
/// worker holds a folder's lease; IMAP errors carry their kind (imap_error_kind).
Result<SyncReport> sync_account(api::Core& core, const email::EmailAccount& acct,
                                email::ImapClient& client, const SyncOptions& opts);

/// Connects, runs one pass, logs out, releases the leases, and records the account's status
/// (ok, auth_failed, unreachable; channel.status_changed on a change).
Result<SyncReport> sync_account_once(api::Core& core, const std::string& org,
                                     const std::string& account_id, SyncOptions opts);

/// The account status an IMAP error means: "auth_failed" or "unreachable".
std::string_view status_for_imap_error(const Status& s);

struct MailWatcherOptions {
  std::chrono::milliseconds rescan{std::chrono::seconds(10)};  // how often accounts are re-read
  std::chrono::milliseconds backoff_base{std::chrono::seconds(1)};
  std::chrono::milliseconds backoff_cap{std::chrono::minutes(5)};
};

class MailWatcher {
 public:
  MailWatcher(api::Core& core, std::string instance, MailWatcherOptions opts = {});
  ~MailWatcher();  // stops
  MailWatcher(const MailWatcher&) = delete;
  MailWatcher& operator=(const MailWatcher&) = delete;

  void start();
  /// Ends every IDLE, joins the threads, releases the leases.
  void stop();
  /// Re-reads the accounts now (after one was created or changed).
  void rescan();
  bool running() const { return running_; }

 private:
  struct Worker;
  void supervise();
  void scan();
  void run_worker(Worker& w);

  api::Core& core_;
  const std::string instance_;
  const MailWatcherOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  bool stopping_ = false;
  bool rescan_ = false;
  std::thread supervisor_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // by account id
};

}  // namespace banxway::runtime
