#include "runtime/event_dispatch.hpp"

#include <spdlog/spdlog.h>

namespace banxway::runtime {

namespace {

// Bumped after every transaction that activated a consumer somewhere in this process.
std::atomic<uint64_t> g_activation_epoch{0};

#define BX_EVENT_COLUMNS \
  "SELECT id, type, subject_type, subject_id, thread_id, payload, created_at, actor, depth "
constexpr const char* kSelectEvents =
    BX_EVENT_COLUMNS "FROM events WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?";
constexpr const char* kSelectEvent = BX_EVENT_COLUMNS "FROM events WHERE org_id = ? AND id = ?";
#undef BX_EVENT_COLUMNS

EventRecord record_of(const std::string& org, const store::Row& r) {
  EventRecord e;
  e.id = r.int64(0);
  e.org_id = org;
  e.type = r.str(1);
  e.subject_type = r.str(2);
  e.subject_id = r.str(3);
  e.thread_id = r.opt(4);
  e.payload = r.is_null(5) ? "{}" : r.str(5);
  e.created_at = r.str(6);
  e.actor = r.str(7);
  e.depth = r.is_null(8) ? 0 : static_cast<int>(r.int64(8));
  return e;
}

}  // namespace

Result<std::optional<EventRecord>> read_event(store::Conn& c, const std::string& org, int64_t id) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query(kSelectEvent, {org, id}));
  if (rows.empty()) return std::optional<EventRecord>();
  return std::optional<EventRecord>(record_of(org, rows[0]));
}

EventDispatcher::EventDispatcher(api::Core& core) : core_(core) {}

EventDispatcher::~EventDispatcher() { stop(); }

void EventDispatcher::add(std::string name, EventConsumerFn fn) {
  consumers_.emplace_back(std::move(name), std::move(fn));
}

Status EventDispatcher::activate(store::Conn& c, std::string_view consumer, const std::string& org,
                                 std::string_view now) {
  c.after_commit(&g_activation_epoch, [] { ++g_activation_epoch; });
  // The events this transaction appended before the call are behind the new cursor on both
  // databases: PostgreSQL's deferred rows are written first, so max(id) sees them.
  BX_RETURN_IF_ERROR(store::flush_deferred_events(c));
  return c
      .query("INSERT INTO event_cursors (consumer, org_id, last_id, updated_at) "
             "SELECT ?, ?, COALESCE((SELECT max(id) FROM events WHERE org_id = ?), 0), ? "
             "ON CONFLICT (consumer, org_id) DO NOTHING",
             {consumer, org, org, now})
      .status();
}

Result<int> EventDispatcher::pass_one(const std::string& consumer, const EventConsumerFn& fn,
                                      const std::string& org, bool* more) {
  int handed = 0;
  *more = false;
  Status st = core_.db->transaction([&](store::Conn& c) -> Status {
    handed = 0;
    *more = false;
    // The cursor row is the lock: a second server's pass on the same (consumer, org) waits here
    // and then reads the moved cursor, so no event is handed over twice.
    const bool pg = c.dialect() == store::Dialect::postgres;
    BX_ASSIGN_OR_RETURN(
        auto cur, c.query(std::string("SELECT last_id FROM event_cursors WHERE consumer = ? AND "
                                      "org_id = ?") +
                              (pg ? " FOR UPDATE" : ""),
                          {consumer, org}));
    if (cur.empty()) return Status();
    const int64_t after = cur[0].int64(0);
    BX_ASSIGN_OR_RETURN(auto rows, c.query(kSelectEvents, {org, after, kEventBatch}));
    if (rows.empty()) return Status();
    std::vector<EventRecord> batch;
    batch.reserve(rows.size());
    for (const auto& r : rows) batch.push_back(record_of(org, r));
    Principal who = api::system_principal(org, consumer);
    api::Ctx ctx(core_, who, "events.dispatch");
    BX_RETURN_IF_ERROR(fn(c, ctx, batch));
    BX_RETURN_IF_ERROR(
        c.query("UPDATE event_cursors SET last_id = ?, updated_at = ? WHERE consumer = ? AND "
                "org_id = ?",
                {batch.back().id, ctx.now(), consumer, org})
            .status());
    handed = static_cast<int>(batch.size());
    *more = static_cast<int>(rows.size()) == kEventBatch;
    return Status();
  });
  if (!st.ok()) return st;
  return handed;
}

void EventDispatcher::refresh_active() {
  const uint64_t epoch = g_activation_epoch.load();
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(active_mu_);
    if (epoch == active_epoch_ && now - active_read_ < std::chrono::seconds(1)) return;
  }
  auto rows = core_.db->query("SELECT DISTINCT org_id FROM event_cursors", {});
  if (!rows.ok()) return;  // keep the old set; the next pass tries again
  std::set<std::string, std::less<>> orgs;
  for (const auto& r : *rows) orgs.insert(r.str(0));
  std::lock_guard<std::mutex> lock(active_mu_);
  active_ = std::move(orgs);
  active_epoch_ = epoch;
  active_read_ = now;
}

Result<int> EventDispatcher::run_pending(int max_batches) {
  refresh_active();
  int total = 0;
  int batches = 0;
  // One read for every consumer: the cursors with unread events behind them. Written as one
  // newest-id probe per cursor: PostgreSQL planned the EXISTS form as a scan of the events
  // while the table grew (1.5 ms a pass, a third of the database's time in the timer bench).
  BX_ASSIGN_OR_RETURN(
      auto behind, core_.db->query("SELECT consumer, org_id FROM event_cursors c WHERE c.last_id < "
                                   "(SELECT max(e.id) FROM events e WHERE e.org_id = c.org_id)",
                                   {}));
  for (const auto& [name, fn] : consumers_) {
    for (const auto& row : behind) {
      if (row.text(0) != name) continue;
      const std::string org = row.str(1);
      bool more = true;
      while (more && batches < max_batches) {
        auto n = pass_one(name, fn, org, &more);
        ++batches;
        if (!n.ok()) {
          spdlog::warn("event consumer {} (organization {}): {}; the batch will be retried", name,
                       org, n.status().message());
          break;
        }
        total += *n;
      }
    }
  }
  return total;
}

Status EventDispatcher::start(std::chrono::milliseconds poll) {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return Status(Code::conflict, "the event dispatcher is already running");
  if (consumers_.empty()) return Status();
  stopping_ = false;
  thread_ = std::thread([this, poll] { loop(poll); });
  return Status();
}

void EventDispatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    ++wake_seq_;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventDispatcher::on_commit(const std::vector<std::string>& orgs) {
  {
    std::lock_guard<std::mutex> lock(active_mu_);
    bool wanted = g_activation_epoch.load() != active_epoch_;  // a new cursor: look again
    for (const auto& o : orgs)
      if (!wanted && active_.count(o)) wanted = true;
    if (!wanted) return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wake_seq_;
  }
  cv_.notify_all();
}

void EventDispatcher::loop(std::chrono::milliseconds poll) {
  uint64_t seen = 0;
  while (!stopping_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = wake_seq_;
    }
    auto n = run_pending(1000);
    if (!n.ok()) spdlog::warn("event dispatcher: {}", n.status().message());
    if (n.ok() && *n > 0) continue;  // a busy log: look again before sleeping
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, poll, [&] { return stopping_.load() || wake_seq_ != seen; });
  }
}

}  // namespace banxway::runtime
