#include "runtime/event_feed.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "core/json.hpp"
#include "services/rowjson.hpp"
#include "services/search.hpp"

namespace banxway::runtime {

namespace {

constexpr int kPage = 500;
constexpr auto kSafetyPoll = std::chrono::seconds(1);
constexpr const char* kEventsChannel = "bx_events";
constexpr const char* kSignalChannel = "bx_signal";

const std::string& select_sql() {
  static const std::string sql = "SELECT " + services::select_list(services::event_columns()) +
                                 " FROM events WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?";
  return sql;
}

const std::string& select_upto_sql() {
  static const std::string sql =
      "SELECT " + services::select_list(services::event_columns()) +
      " FROM events WHERE org_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?";
  return sql;
}

void add_user(std::vector<std::string>& users, std::string_view u) {
  if (u.empty()) return;
  for (const auto& x : users)
    if (x == u) return;
  users.emplace_back(u);
}

}  // namespace

std::shared_ptr<const LiveEvent> EventFeed::from_row(const std::string& org_id,
                                                     const store::Row& row) {
  auto e = std::make_shared<LiveEvent>();
  e->id = row.int64(0);
  e->org_id = org_id;
  e->type = row.str(1);
  if (!row.is_null(2)) e->subject_type = row.str(2);
  if (!row.is_null(3)) e->subject_id = row.str(3);
  if (!row.is_null(4)) e->thread_id = row.str(4);
  if (e->subject_type == "user") add_user(e->user_ids, e->subject_id);
  if (!row.is_null(5)) {
    json::Document d;
    if (json::parse(row.text(5), &d).ok() && d.IsObject()) {
      for (const char* k : {"user_id", "assignee_id", "previous_assignee_id"})
        if (auto u = json::get_string(d, k)) add_user(e->user_ids, *u);
    }
  }
  e->json = services::row_to_json(row, services::event_columns());
  return e;
}

EventFeed::EventFeed(api::Core& core) : core_(core) {}

EventFeed::~EventFeed() { stop(); }

Status EventFeed::start(LiveHandler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return Status(Code::conflict, "the live feed is already running");
  handler_ = std::move(handler);
  stop_ = false;
  running_ = true;
  dispatcher_ = std::thread([this] { run(); });
  if (core_.db->dialect() == store::Dialect::postgres) {
    // LISTEN before returning, so a signal or commit right after start() is not missed; if it
    // fails now the listener thread keeps trying.
    std::unique_ptr<store::Db::Listener> first;
    auto l = core_.db->listen({kEventsChannel, kSignalChannel});
    if (l.ok()) first = std::move(*l);
    listener_thread_ = std::thread(
        [this, first = std::shared_ptr<store::Db::Listener>(std::move(first))]() mutable {
          listen_loop(std::move(first));
        });
  }
  return Status();
}

void EventFeed::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stop_ = true;
  }
  cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(listener_mu_);
    if (listener_) listener_->interrupt();
  }
  if (dispatcher_.joinable()) dispatcher_.join();
  if (listener_thread_.joinable()) listener_thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

Result<int64_t> EventFeed::watch(const std::string& org_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = heads_.find(org_id);
    if (it != heads_.end()) return it->second;
  }
  // Read the head before taking the lock (no database work under it). Two first watchers
  // racing both read a head; the first to insert wins and the other returns that one.
  BX_ASSIGN_OR_RETURN(auto rows,
                      core_.db->query("SELECT COALESCE(MAX(id), 0) FROM events WHERE org_id = ?",
                                      {org_id}));
  int64_t head = rows.empty() ? 0 : rows[0].int64(0);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = heads_.emplace(org_id, head);
  (void)inserted;
  return it->second;
}

void EventFeed::unwatch(const std::string& org_id) {
  std::lock_guard<std::mutex> lock(mu_);
  heads_.erase(org_id);
  dirty_.erase(org_id);
}

Result<LiveEvents> EventFeed::read(const std::string& org_id, int64_t after, int64_t upto,
                                   int limit) {
  if (limit < 1) limit = 1;
  store::Rows rows;
  if (upto > 0) {
    BX_ASSIGN_OR_RETURN(rows, core_.db->query(select_upto_sql(), {org_id, after, upto, limit}));
  } else {
    BX_ASSIGN_OR_RETURN(rows, core_.db->query(select_sql(), {org_id, after, limit}));
  }
  LiveEvents out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(from_row(org_id, r));
  return out;
}

Status EventFeed::signal(std::string_view payload) {
  if (core_.db->dialect() == store::Dialect::postgres)
    return core_.db->notify(kSignalChannel, payload);
  {
    std::lock_guard<std::mutex> lock(mu_);
    signals_.emplace_back(payload);
  }
  cv_.notify_one();
  return Status();
}

void EventFeed::on_commit(const std::vector<std::string>& org_ids) {
  bool any = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    for (const auto& o : org_ids)
      if (heads_.count(o)) {
        dirty_.insert(o);
        any = true;
      }
  }
  if (any) cv_.notify_one();
}

bool EventFeed::sleep_for_ms(int ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_; });
  return !stop_;
}

void EventFeed::run() {
  auto next_poll = std::chrono::steady_clock::now() + kSafetyPoll;
  for (;;) {
    std::vector<std::pair<std::string, int64_t>> work;
    std::deque<std::string> signals;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, next_poll, [this] {
        return stop_ || all_dirty_ || !dirty_.empty() || !signals_.empty();
      });
      if (stop_) return;
      if (std::chrono::steady_clock::now() >= next_poll) {
        all_dirty_ = true;
        next_poll = std::chrono::steady_clock::now() + kSafetyPoll;
      }
      if (all_dirty_) {
        for (const auto& [org, head] : heads_) dirty_.insert(org);
        all_dirty_ = false;
      }
      for (const auto& org : dirty_) {
        auto it = heads_.find(org);
        if (it != heads_.end()) work.emplace_back(org, it->second);
      }
      dirty_.clear();
      signals.swap(signals_);
    }
    for (const auto& s : signals)
      if (handler_.on_signal) handler_.on_signal(s);
    for (auto& [org, head] : work) {
      for (;;) {
        auto batch = read(org, head, 0, kPage);
        if (!batch.ok()) {
          spdlog::warn("live feed: reading events of {}: {}", org, batch.status().message());
          std::lock_guard<std::mutex> lock(mu_);
          dirty_.insert(org);  // try again at the next wake-up
          break;
        }
        if (batch->empty()) break;
        head = batch->back()->id;
        {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = heads_.find(org);
          if (it == heads_.end()) break;  // unwatched meanwhile: nobody wants these
          it->second = head;
        }
        if (handler_.on_events) handler_.on_events(org, *batch);
        if (static_cast<int>(batch->size()) < kPage) break;
      }
    }
  }
}

void EventFeed::listen_loop(std::shared_ptr<store::Db::Listener> listener) {
  int backoff_ms = 200;
  if (listener) {
    std::lock_guard<std::mutex> lock(listener_mu_);
    listener_ = listener.get();
  }
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
    }
    if (!listener) {
      auto l = core_.db->listen({kEventsChannel, kSignalChannel});
      if (!l.ok()) {
        spdlog::warn("live feed: LISTEN failed ({}); retrying", l.status().message());
        if (!sleep_for_ms(backoff_ms)) break;
        backoff_ms = std::min(backoff_ms * 2, 5000);
        continue;
      }
      backoff_ms = 200;
      listener = std::shared_ptr<store::Db::Listener>(std::move(*l));
      {
        std::lock_guard<std::mutex> lock(listener_mu_);
        listener_ = listener.get();
      }
      {
        // Anything committed while we were not listening: read every watched organization.
        std::lock_guard<std::mutex> lock(mu_);
        all_dirty_ = true;
        if (stop_) break;
      }
      cv_.notify_one();
    }
    auto got = listener->wait(1000);
    if (!got.ok()) {
      spdlog::warn("live feed: {}", got.status().message());
      std::lock_guard<std::mutex> lock(listener_mu_);
      listener_ = nullptr;
      listener.reset();
      continue;
    }
    if (got->empty()) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& n : *got) {
        if (n.channel == kEventsChannel) {
          if (heads_.count(n.payload)) dirty_.insert(std::move(n.payload));
        } else if (n.channel == kSignalChannel) {
          signals_.push_back(std::move(n.payload));
        }
      }
    }
    cv_.notify_one();
  }
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = nullptr;
}

}  // namespace banxway::runtime
