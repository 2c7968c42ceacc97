#include "runtime/mail_sync.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "pipeline/ingest.hpp"
#include "services/channel_accounts.hpp"
#include "services/common.hpp"

namespace banxway::runtime {
namespace {

constexpr size_t kMaxErrorDetails = 20;

std::string now_text(api::Core& core) { return format_time(core.clock->now()); }
std::string later_text(api::Core& core, std::chrono::seconds d) {
  return format_time(core.clock->now() + d);
}

// Takes (or renews) the lease on one folder and returns its cursor; conflict when another
// owner's lease is still running.
Result<email::FolderCursor> take_lease(api::Core& core, const email::EmailAccount& acct,
                                       const std::string& folder, const SyncOptions& o) {
  std::string now = now_text(core);
  auto ins = core.db->query(
      "INSERT INTO mail_folders (org_id, account_id, folder, uidvalidity, last_uid, updated_at) "
      "VALUES (?, ?, ?, 0, 0, ?) ON CONFLICT (org_id, account_id, folder) DO NOTHING",
      {acct.org_id, acct.id, folder, now});
  if (!ins.ok()) return ins.status();
  auto r = core.db->query(
      "UPDATE mail_folders SET lease_owner = ?, lease_until = ? WHERE org_id = ? AND "
      "account_id = ? AND folder = ? AND (lease_owner IS NULL OR lease_owner = ? OR "
      "lease_until IS NULL OR lease_until < ?) RETURNING uidvalidity, last_uid",
      {o.owner, later_text(core, o.lease), acct.org_id, acct.id, folder, o.owner, now});
  if (!r.ok()) return r.status();
  if (r->empty()) {
    auto who = core.db->query("SELECT lease_owner, lease_until FROM mail_folders WHERE org_id = ? "
                              "AND account_id = ? AND folder = ?",
                              {acct.org_id, acct.id, folder});
    std::string holder = who.ok() && !who->empty() ? who->rows[0].str(0) : "?";
    return Conflict("folder " + folder + " of account " + acct.id + " is being synced by " +
                    holder);
  }
  email::FolderCursor c;
  c.uidvalidity = static_cast<uint32_t>(r->rows[0].int64(0));
  c.last_uid = static_cast<uint32_t>(r->rows[0].int64(1));
  return c;
}

// Moves the cursor (and renews the lease) if the lease is still ours.
Status save_cursor(api::Core& core, const email::EmailAccount& acct, const std::string& folder,
                   const SyncOptions& o, uint32_t uidvalidity, uint32_t last_uid) {
  auto r = core.db->query(
      "UPDATE mail_folders SET uidvalidity = ?, last_uid = ?, lease_until = ?, updated_at = ? "
      "WHERE org_id = ? AND account_id = ? AND folder = ? AND lease_owner = ?",
      {static_cast<int64_t>(uidvalidity), static_cast<int64_t>(last_uid), later_text(core, o.lease),
       now_text(core), acct.org_id, acct.id, folder, o.owner});
  if (!r.ok()) return r.status();
  if (r->affected == 0)
    return Conflict("lost the lease on folder " + folder + " of account " + acct.id);
  return Status();
}

void release_leases(api::Core& core, const std::string& org, const std::string& account,
                    const std::string& owner) {
  auto r = core.db->query("UPDATE mail_folders SET lease_owner = NULL, lease_until = NULL "
                          "WHERE org_id = ? AND account_id = ? AND lease_owner = ?",
                          {org, account, owner});
  if (!r.ok()) spdlog::warn("imap: releasing leases of {}: {}", account, r.status().message());
}

void note_error(FolderSyncReport& f, uint32_t uid, const std::string& why) {
  ++f.errors;
  if (f.error_details.size() < kMaxErrorDetails)
    f.error_details.push_back("uid " + std::to_string(uid) + ": " + why);
}

// A message-level failure to skip (the message itself is bad) rather than a failure of the
// store that should stop the pass and leave the cursor before the message.
bool message_fault(Code c) {
  return c == Code::invalid_argument || c == Code::payload_too_large;
}

Result<FolderSyncReport> sync_folder(api::Core& core, const email::EmailAccount& acct,
                                     email::ImapClient& client, const std::string& folder,
                                     const SyncOptions& o, size_t& budget, bool& cut) {
  FolderSyncReport rep;
  rep.folder = folder;
  BX_ASSIGN_OR_RETURN(email::FolderCursor cursor, take_lease(core, acct, folder, o));
  BX_ASSIGN_OR_RETURN(email::FolderState state, client.examine(folder));
  email::ResumePoint rp = email::resume_point(cursor, state);
  rep.resync = rp.resync && cursor.uidvalidity != 0;
  if (rep.resync)
    spdlog::info("imap: account {} folder {}: UIDVALIDITY {} -> {}, resyncing (deduplicated by "
                 "Message-ID)",
                 acct.id, folder, cursor.uidvalidity, state.uidvalidity);
  rep.uidvalidity = state.uidvalidity;
  uint32_t last = rp.after_uid;
  rep.last_uid = last;
  if (rp.resync) BX_RETURN_IF_ERROR(save_cursor(core, acct, folder, o, state.uidvalidity, last));

  Principal who = api::system_principal(acct.org_id, "imap");
  api::Ctx ctx(core, who, "imap.sync");
  pipeline::IngestOptions io;
  io.channel_account_id = acct.id;
  size_t page = std::max<size_t>(1, acct.imap ? acct.imap->page_size : 100);
  while (true) {
    if (o.stop && o.stop->load()) {
      cut = true;
      break;
    }
    if (budget == 0) {
      cut = true;
      break;
    }
    size_t want = std::min(page, budget);
    BX_ASSIGN_OR_RETURN(auto msgs,
                        client.fetch_after(last, want, core.opts.max_message_bytes));
    if (msgs.empty()) break;
    budget -= std::min(budget, msgs.size());
    rep.fetched += static_cast<int>(msgs.size());
    std::vector<std::string_view> raws;
    std::vector<size_t> slot;  // index into msgs for each raw
    for (size_t i = 0; i < msgs.size(); ++i) {
      bool too_large = std::find(msgs[i].flags.begin(), msgs[i].flags.end(),
                                 email::kTooLargeFlag) != msgs[i].flags.end();
      if (too_large) {
        note_error(rep, msgs[i].uid,
                   "message of " + std::to_string(msgs[i].size) + " bytes is over the limit of " +
                       std::to_string(core.opts.max_message_bytes));
        continue;
      }
      raws.push_back(msgs[i].raw);
      slot.push_back(i);
    }
    auto results = pipeline::ingest_email_batch(ctx, raws, raws.size() + 1, io);
    // The cursor may pass every message up to the first store failure; a message that is
    // itself bad is recorded and passed (otherwise it would block the folder forever).
    uint32_t advance = msgs.back().uid;
    Status stop_status;
    for (size_t k = 0; k < results.size(); ++k) {
      const auto& m = msgs[slot[k]];
      if (results[k].ok()) {
        if (results[k]->duplicate)
          ++rep.duplicates;
        else
          ++rep.ingested;
        continue;
      }
      const Status& s = results[k].status();
      if (message_fault(s.code())) {
        note_error(rep, m.uid, s.message());
        spdlog::warn("imap: account {} folder {} uid {}: not ingested: {}", acct.id, folder, m.uid,
                     s.message());
        continue;
      }
      advance = m.uid - 1;
      stop_status = s;
      break;
    }
    if (advance > last) {
      BX_RETURN_IF_ERROR(save_cursor(core, acct, folder, o, state.uidvalidity, advance));
      last = advance;
      rep.last_uid = last;
    }
    if (!stop_status.ok()) return stop_status;
    if (msgs.size() < want) break;  // the server had no more
  }
  return rep;
}

}  // namespace

std::string SyncReport::to_json() const {
  std::string j = "{\"complete\":" + std::string(complete ? "true" : "false") +
                  ",\"fetched\":" + std::to_string(fetched()) +
                  ",\"ingested\":" + std::to_string(ingested()) + ",\"folders\":[";
  for (size_t i = 0; i < folders.size(); ++i) {
    const auto& f = folders[i];
    if (i) j += ',';
    j += "{\"folder\":" + json::quote(f.folder) + ",\"uidvalidity\":" +
         std::to_string(f.uidvalidity) + ",\"last_uid\":" + std::to_string(f.last_uid) +
         ",\"resync\":" + (f.resync ? "true" : "false") + ",\"fetched\":" +
         std::to_string(f.fetched) + ",\"ingested\":" + std::to_string(f.ingested) +
         ",\"duplicates\":" + std::to_string(f.duplicates) + ",\"errors\":" +
         std::to_string(f.errors) + ",\"error_details\":[";
    for (size_t k = 0; k < f.error_details.size(); ++k)
      j += (k ? "," : "") + json::quote(f.error_details[k]);
    j += "]}";
  }
  return j + "]}";
}

int SyncReport::fetched() const {
  int n = 0;
  for (const auto& f : folders) n += f.fetched;
  return n;
}
int SyncReport::ingested() const {
  int n = 0;
  for (const auto& f : folders) n += f.ingested;
  return n;
}

std::string_view status_for_imap_error(const Status& s) {
  auto k = email::imap_error_kind(s);
  if (k && *k == email::ImapErrorKind::auth_failed) return "auth_failed";
  return "unreachable";
}

Result<SyncReport> sync_account(api::Core& core, const email::EmailAccount& acct,
                                email::ImapClient& client, const SyncOptions& opts) {
  SyncReport rep;
  if (!acct.imap) return InvalidArgument("channel account " + acct.id + " has no IMAP settings");
  size_t budget = opts.max_messages;
  for (const auto& folder : acct.imap->folders) {
    bool cut = false;
    BX_ASSIGN_OR_RETURN(auto f, sync_folder(core, acct, client, folder, opts, budget, cut));
    rep.folders.push_back(std::move(f));
    if (cut) {
      rep.complete = false;
      break;
    }
  }
  return rep;
}

Result<SyncReport> sync_account_once(api::Core& core, const std::string& org,
                                     const std::string& account_id, SyncOptions opts) {
  email::EmailAccount acct;
  {
    services::DbReader reader(*core.db);
    BX_ASSIGN_OR_RETURN(acct, email::load_email_account(reader, org, account_id));
  }
  if (!acct.imap) return InvalidArgument("channel account " + account_id + " has no IMAP settings");
  if (!acct.active) return InvalidArgument("channel account " + account_id + " is not active");
  if (opts.owner.empty()) opts.owner = "sync:" + core.ids->next();
  Principal who = api::system_principal(org, "imap");
  api::Ctx ctx(core, who, "imap.sync");
  auto client = email::ImapClient::connect(acct.imap->conn);
  if (!client.ok()) {
    (void)services::set_channel_status(ctx, acct.id, status_for_imap_error(client.status()),
                                       "imap: " + client.status().message());
    return client.status();
  }
  auto rep = sync_account(core, acct, **client, opts);
  (void)(*client)->logout();
  release_leases(core, org, acct.id, opts.owner);
  if (!rep.ok()) {
    if (email::imap_error_kind(rep.status()))
      (void)services::set_channel_status(ctx, acct.id, status_for_imap_error(rep.status()),
                                         "imap: " + rep.status().message());
    return rep.status();
  }
  (void)services::set_channel_status(ctx, acct.id, "ok", "");
  return rep;
}

// --- MailWatcher -------------------------------------------------------------------------------

struct MailWatcher::Worker {
  email::EmailAccount acct;
  std::string version;  // updated_at of the row it was started from
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  email::ImapClient* client = nullptr;  // guarded by mu; set while connected
  std::thread thread;

  void request_stop() {
    stop = true;
    std::lock_guard<std::mutex> lock(mu);
    if (client) client->stop();
    cv.notify_all();
  }
  // Sleeps up to d, returning early on stop.
  void wait(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, d, [&] { return stop.load(); });
  }
};

MailWatcher::MailWatcher(api::Core& core, std::string instance, MailWatcherOptions opts)
    : core_(core), instance_(std::move(instance)), opts_(opts) {}

MailWatcher::~MailWatcher() { stop(); }

void MailWatcher::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  rescan_ = true;
  supervisor_ = std::thread([this] { supervise(); });
}

void MailWatcher::rescan() {
  std::lock_guard<std::mutex> lock(mu_);
  rescan_ = true;
  cv_.notify_all();
}

void MailWatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (supervisor_.joinable()) supervisor_.join();
  for (auto& [id, w] : workers_) w->request_stop();
  for (auto& [id, w] : workers_)
    if (w->thread.joinable()) w->thread.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

void MailWatcher::supervise() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, opts_.rescan, [&] { return stopping_ || rescan_; });
      if (stopping_) return;
      rescan_ = false;
    }
    scan();
  }
}

void MailWatcher::scan() {
  auto rows = core_.db->query(
      "SELECT id, org_id, address, active, status, config, secrets, updated_at FROM "
      "channel_accounts WHERE channel = 'email' AND active = 1",
      {});
  if (!rows.ok()) {
    spdlog::warn("imap watcher: reading accounts: {}", rows.status().message());
    return;
  }
  std::map<std::string, std::pair<email::EmailAccount, std::string>> wanted;
  for (const auto& r : *rows) {
    auto a = email::decode_email_account(r.str(0), r.str(1), r.str(2), true, r.str(4), r.text(5),
                                         r.text(6));
    if (!a.ok() || !a->imap) continue;
    wanted.emplace(a->id, std::make_pair(std::move(a).value(), r.str(7)));
  }
  // Stop workers whose account went away, was deactivated, or changed.
  for (auto it = workers_.begin(); it != workers_.end();) {
    auto w = wanted.find(it->first);
    if (w == wanted.end() || w->second.second != it->second->version) {
      it->second->request_stop();
      if (it->second->thread.joinable()) it->second->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [id, entry] : wanted) {
    if (workers_.count(id)) continue;
    auto w = std::make_unique<Worker>();
    w->acct = std::move(entry.first);
    w->version = entry.second;
    Worker* raw = w.get();
    w->thread = std::thread([this, raw] { run_worker(*raw); });
    workers_.emplace(id, std::move(w));
  }
}

void MailWatcher::run_worker(Worker& w) {
  const auto& acct = w.acct;
  const auto& im = *acct.imap;
  SyncOptions so;
  so.owner = instance_ + ":imap:" + acct.id;
  so.stop = &w.stop;
  so.lease = std::chrono::duration_cast<std::chrono::seconds>(im.poll_interval * 2) +
             std::chrono::seconds(60);
  Principal who = api::system_principal(acct.org_id, "imap");
  std::chrono::milliseconds backoff = opts_.backoff_base;
  auto set_status = [&](std::string_view status, const std::string& err) {
    api::Ctx ctx(core_, who, "imap.sync");
    auto r = services::set_channel_status(ctx, acct.id, status, err);
    if (!r.ok()) spdlog::warn("imap: account {}: recording status: {}", acct.id, r.status().message());
  };
  while (!w.stop) {
    auto connected = email::ImapClient::connect(im.conn);
    if (!connected.ok()) {
      set_status(status_for_imap_error(connected.status()), "imap: " + connected.status().message());
      spdlog::warn("imap: account {}: {} (retry in {} ms)", acct.id, connected.status().message(),
                   backoff.count());
      w.wait(backoff);
      backoff = std::min(backoff * 2, opts_.backoff_cap);
      continue;
    }
    std::unique_ptr<email::ImapClient> client = std::move(connected).value();
    {
      std::lock_guard<std::mutex> lock(w.mu);
      w.client = client.get();
      if (w.stop) client->stop();
    }
    while (!w.stop) {
      auto rep = sync_account(core_, acct, *client, so);
      if (!rep.ok()) {
        if (rep.status().code() == Code::conflict) {  // another worker has the folder
          w.wait(im.poll_interval);
          continue;
        }
        if (email::imap_error_kind(rep.status())) {
          set_status(status_for_imap_error(rep.status()), "imap: " + rep.status().message());
          spdlog::warn("imap: account {}: {}", acct.id, rep.status().message());
          break;  // reconnect after the backoff
        }
        spdlog::warn("imap: account {}: sync: {}", acct.id, rep.status().message());
        w.wait(backoff);
        backoff = std::min(backoff * 2, opts_.backoff_cap);
        continue;
      }
      set_status("ok", "");
      backoff = opts_.backoff_base;
      if (!rep->complete) continue;  // stopped early (stop requested): the loop condition decides
      if (im.use_idle && client->supports_idle()) {
        // Watch the first folder; the others are caught by the pass after each wake-up.
        auto ex = client->examine(im.folders.front());
        if (!ex.ok()) {
          set_status(status_for_imap_error(ex.status()), "imap: " + ex.status().message());
          break;
        }
        auto woke = client->idle(im.poll_interval);
        if (!woke.ok()) {
          if (!w.stop) set_status(status_for_imap_error(woke.status()), "imap: " + woke.status().message());
          break;
        }
      } else {
        w.wait(im.poll_interval);
      }
    }
    {
      std::lock_guard<std::mutex> lock(w.mu);
      w.client = nullptr;
    }
    (void)client->logout();
    if (!w.stop) {
      w.wait(backoff);
      backoff = std::min(backoff * 2, opts_.backoff_cap);
    }
  }
  release_leases(core_, acct.org_id, acct.id, so.owner);
}

}  // namespace banxway::runtime
