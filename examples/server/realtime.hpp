// The realtime hub behind /ws (docs/REALTIME.md), free of any socket code: connections are
// LiveClient objects that accept text frames. The hub keeps, per organization, the clients and
// their rooms (org, thread:<id>, user:<id>), fans the engine's live events out to them, replays
// missed events on resume, and keeps presence, thread viewers and typing indicators in memory
// — shared with other server processes on the same PostgreSQL through Engine::live_signal.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <condition_variable>
#include <unordered_map>
#include <vector>

#include "banxway/engine.hpp"

namespace bxserver {

using Frame = std::shared_ptr<const std::string>;

/// One connection as the hub sees it. push() must be cheap and thread-safe; it queues the frame
/// for sending (a transport that cannot keep up closes itself).
class LiveClient {
 public:
  virtual ~LiveClient() = default;
  virtual void push(Frame frame) = 0;
  /// Like push, but waits (bounded) while the send queue is more than half full, so a long
  /// replay cannot overflow it. False when the client went away or did not drain in time.
  virtual bool push_paced(Frame frame) = 0;
  /// Ends the connection with a close code and reason (thread-safe, idempotent).
  virtual void close(uint16_t code, std::string reason) = 0;

  banxway::Principal principal;
  uint64_t conn_id = 0;
};

struct HubOptions {
  int typing_ttl_ms = 6000;        // a typing indicator not renewed within this expires
  int heartbeat_ms = 5000;         // instance heartbeat over live_signal
  int instance_timeout_ms = 15000; // a peer instance silent this long is forgotten
  int replay_page = 500;
};

class Hub {
 public:
  Hub(banxway::Engine& engine, HubOptions opts = {});
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  /// Starts the engine's live feed and the hub's timer thread.
  banxway::Status start();
  void stop();

  /// A connection authenticated: it counts as online from now on.
  void attach(const std::shared_ptr<LiveClient>& c);
  /// The connection is gone: its rooms, presence, viewing and typing end.
  void detach(LiveClient* c);
  /// A text message from the client (call on a worker thread: it may touch the database).
  void handle(const std::shared_ptr<LiveClient>& c, std::string_view text);

  bool user_online(const std::string& org_id, const std::string& user_id);
  size_t connections();
  const std::string& instance_id() const { return instance_; }

  /// Closes every connection with `code` (shutdown: 1001 going away).
  void close_all(uint16_t code, const std::string& reason);

  /// Frames for control messages (also used by the transport).
  static Frame error_frame(std::string_view code, std::string_view message);

 private:
  struct RoomSub {
    bool live = true;
    int64_t floor = 0;  // the client has seen up to here (resume): never send these again
    std::vector<std::shared_ptr<const banxway::LiveEvent>> held;  // while replaying
  };
  struct ClientState {
    std::weak_ptr<LiveClient> client;
    LiveClient* raw = nullptr;
    std::string org, user;
    std::string status = "online";  // online | away
    std::map<std::string, RoomSub> rooms;
    std::set<std::string> typing;  // thread ids this connection is typing in
  };
  struct PeerState {
    std::chrono::steady_clock::time_point seen;
    std::map<std::pair<std::string, std::string>, std::string> presence;  // (org,user) -> status
    std::map<std::pair<std::string, std::string>, std::set<std::string>> viewers;  // (org,thread)
  };
  struct OrgState {
    int64_t head = 0;
    std::vector<ClientState*> clients;
  };
  struct TypingKey {
    std::string org, thread, user;
    bool operator<(const TypingKey& o) const {
      return std::tie(org, thread, user) < std::tie(o.org, o.thread, o.user);
    }
  };

  void on_events(const std::string& org, const banxway::LiveEvents& batch);
  void on_signal(const std::string& payload);
  void timer_loop();

  void subscribe(const std::shared_ptr<LiveClient>& c, const std::string& room,
                 std::optional<int64_t> after);
  void unsubscribe(LiveClient* c, const std::string& room);
  void typing(LiveClient* c, const std::string& thread, bool on);
  void set_status(LiveClient* c, const std::string& status);

  // Under mu_.
  OrgState* org_state_locked(const std::string& org);
  std::string presence_of_locked(const std::string& org, const std::string& user);
  std::string local_presence_locked(const std::string& org, const std::string& user);
  std::set<std::string> viewers_locked(const std::string& org, const std::string& thread);
  void presence_changed_locked(const std::string& org, const std::string& user,
                               const std::string& before);
  void viewers_changed_locked(const std::string& org, const std::string& thread);
  void broadcast_locked(const std::string& org, const std::string& room, const Frame& f,
                        LiveClient* except = nullptr);
  void publish(std::string payload);  // to peers (after mu_ is released)
  void remove_viewer_locked(ClientState& s, const std::string& thread);

  banxway::Engine& engine_;
  HubOptions opts_;
  std::string instance_;
  std::mutex mu_;
  std::unordered_map<LiveClient*, std::unique_ptr<ClientState>> clients_;
  std::unordered_map<std::string, OrgState> orgs_;
  std::map<std::string, PeerState> peers_;
  std::map<TypingKey, std::chrono::steady_clock::time_point> typing_;  // local typers
  std::vector<std::string> outbox_;  // signals to publish once mu_ is released
  std::atomic<bool> running_{false};
  std::thread timer_;
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;
};

}  // namespace bxserver
