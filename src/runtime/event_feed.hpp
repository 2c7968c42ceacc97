// The live event feed behind Engine::live_* (docs/REALTIME.md). One dispatcher thread reads
// new rows of the event log for the organizations someone watches and hands them to the host
// in id order. It is woken three ways: by this process's commits (the Db commit observer), by
// other processes' commits (PostgreSQL NOTIFY bx_events, payload = organization id), and by a
// timer once a second, which also covers a SQLite file written by another process and any
// notification lost while the LISTEN connection was down.
//
// Why reading "id > head" never skips an event: on SQLite writes are serial; on PostgreSQL
// every transaction that appends events for an organization holds that organization's advisory
// lock until it commits (api::Ctx::event), so within one organization ids become visible in
// commit order.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/context.hpp"
#include "banxway/engine.hpp"
#include "store/db.hpp"

namespace banxway::runtime {

class EventFeed {
 public:
  explicit EventFeed(api::Core& core);
  ~EventFeed();
  EventFeed(const EventFeed&) = delete;
  EventFeed& operator=(const EventFeed&) = delete;

  Status start(LiveHandler handler);
  void stop();
  Result<int64_t> watch(const std::string& org_id);
  void unwatch(const std::string& org_id);
  Result<LiveEvents> read(const std::string& org_id, int64_t after, int64_t upto, int limit);
  Status signal(std::string_view payload);
  /// The Db commit observer: organizations whose events just committed here.
  void on_commit(const std::vector<std::string>& org_ids);

  /// Builds the live form of one event row (id, type, subject_type, subject_id, thread_id,
  /// payload, created_at). Exposed for tests.
  static std::shared_ptr<const LiveEvent> from_row(const std::string& org_id,
                                                   const store::Row& row);

 private:
  void run();
  void listen_loop(std::shared_ptr<store::Db::Listener> first);
  bool sleep_for_ms(int ms);  // false when stopping

  api::Core& core_;
  LiveHandler handler_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, int64_t> heads_;  // watched organizations
  std::unordered_set<std::string> dirty_;
  std::deque<std::string> signals_;
  bool all_dirty_ = false;
  bool stop_ = false;
  bool running_ = false;
  std::thread dispatcher_;
  std::thread listener_thread_;
  std::mutex listener_mu_;
  store::Db::Listener* listener_ = nullptr;  // guarded by listener_mu_, for interrupt()
};

}  // namespace banxway::runtime
