#include "realtime.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace bxserver {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxRoomsPerConnection = 100;
constexpr size_t kMaxMessageBytes = 4096;
constexpr uint16_t kCloseCredentialsChanged = 4003;
constexpr uint16_t kCloseTooSlow = 4008;
constexpr size_t kMaxHeldPerRoom = 20000;  // live events held for one room during a replay

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string quote(std::string_view s) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {b.GetString(), b.GetSize()};
}

Frame make_frame(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

// An event as sent to one room: the event object with "room" in front.
Frame event_frame(const std::string& room, const banxway::LiveEvent& e) {
  std::string s;
  s.reserve(e.json.size() + room.size() + 12);
  s += "{\"room\":";
  s += quote(room);
  s += ',';
  s.append(e.json, 1, std::string::npos);
  return make_frame(std::move(s));
}

bool room_matches(const std::string& room, const banxway::LiveEvent& e) {
  if (room == "org") return true;
  if (room.starts_with("thread:")) return !e.thread_id.empty() && room.compare(7, std::string::npos, e.thread_id) == 0;
  if (room.starts_with("user:")) {
    std::string_view u = std::string_view(room).substr(5);
    return std::find(e.user_ids.begin(), e.user_ids.end(), u) != e.user_ids.end();
  }
  return false;
}

// Frames of one event, built at most once per room kind however many clients get them.
struct EventFrames {
  const banxway::LiveEvent& e;
  Frame org, thread;
  std::map<std::string, Frame> users;
  Frame get(const std::string& room) {
    if (room == "org") return org ? org : (org = event_frame(room, e));
    if (room.starts_with("thread:")) return thread ? thread : (thread = event_frame(room, e));
    auto& f = users[room];
    return f ? f : (f = event_frame(room, e));
  }
};

std::string random_instance_id() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) s += hex[rd() % 16];
  return s;
}

int status_rank(std::string_view s) { return s == "online" ? 2 : s == "away" ? 1 : 0; }

}  // namespace

Frame Hub::error_frame(std::string_view code, std::string_view message) {
  return make_frame("{\"type\":\"error\",\"code\":" + quote(code) + ",\"message\":" +
                    quote(message) + "}");
}

Hub::Hub(banxway::Engine& engine, HubOptions opts)
    : engine_(engine), opts_(opts), instance_(random_instance_id()) {}

Hub::~Hub() { stop(); }

banxway::Status Hub::start() {
  banxway::LiveHandler h;
  h.on_events = [this](const std::string& org, const banxway::LiveEvents& b) { on_events(org, b); };
  h.on_signal = [this](const std::string& p) { on_signal(p); };
  auto st = engine_.live_start(std::move(h));
  if (!st.ok()) return st;
  engine_.set_presence_probe(
      [this](const std::string& org, const std::string& user) { return user_online(org, user); });
  running_ = true;
  timer_stop_ = false;
  timer_ = std::thread([this] { timer_loop(); });
  publish("{\"i\":" + quote(instance_) + ",\"k\":\"hello\"}");
  return {};
}

void Hub::stop() {
  if (!running_.exchange(false)) return;
  {
    std::lock_guard<std::mutex> l(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  (void)engine_.live_signal("{\"i\":" + quote(instance_) + ",\"k\":\"bye\"}");
  engine_.live_stop();
}

// --- connections ------------------------------------------------------------------------------

void Hub::attach(const std::shared_ptr<LiveClient>& c) {
  std::vector<std::string> pub;
  {
  std::lock_guard<std::mutex> lock(mu_);
  auto st = std::make_unique<ClientState>();
  st->client = c;
  st->raw = c.get();
  st->org = c->principal.org_id;
  st->user = c->principal.user_id;
  std::string before = st->user.empty() ? "" : presence_of_locked(st->org, st->user);
  ClientState* raw = st.get();
  clients_[c.get()] = std::move(st);
  auto* os = org_state_locked(raw->org);
  if (os) os->clients.push_back(raw);
  if (!raw->user.empty()) presence_changed_locked(raw->org, raw->user, before);
  pub.swap(outbox_);
  }
  for (auto& p : pub) publish(std::move(p));
}

void Hub::detach(LiveClient* c) {
  std::vector<std::string> pub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = clients_.find(c);
    if (it == clients_.end()) return;
    std::unique_ptr<ClientState> st = std::move(it->second);
    clients_.erase(it);
    std::string before = st->user.empty() ? "" : presence_of_locked(st->org, st->user);
    auto oit = orgs_.find(st->org);
    if (oit != orgs_.end()) std::erase(oit->second.clients, st.get());
    for (const auto& t : std::set<std::string>(st->typing)) {
      // Still typing when the connection dropped: tell the others it stopped.
      typing_.erase(TypingKey{st->org, t, st->user});
      broadcast_locked(st->org, "thread:" + t,
                       make_frame("{\"type\":\"typing\",\"thread_id\":" + quote(t) +
                                  ",\"user_id\":" + quote(st->user) + ",\"state\":\"stop\"}"));
      outbox_.push_back("{\"i\":" + quote(instance_) + ",\"k\":\"t\",\"o\":" + quote(st->org) +
                        ",\"t\":" + quote(t) + ",\"u\":" + quote(st->user) + ",\"s\":\"stop\"}");
    }
    for (const auto& [room, sub] : st->rooms)
      if (room.starts_with("thread:")) viewers_changed_locked(st->org, room.substr(7));
    if (!st->user.empty()) presence_changed_locked(st->org, st->user, before);
    // The organization's last connection here: stop reading its events (the feed's poll
    // costs a query per watched organization); a later connection watches it afresh.
    oit = orgs_.find(st->org);
    if (oit != orgs_.end() && oit->second.clients.empty()) {
      orgs_.erase(oit);
      engine_.live_unwatch(st->org);
    }
    pub.swap(outbox_);
  }
  for (auto& p : pub) publish(std::move(p));
}

size_t Hub::connections() {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

void Hub::close_all(uint16_t code, const std::string& reason) {
  std::vector<std::shared_ptr<LiveClient>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [raw, st] : clients_)
      if (auto c = st->client.lock()) all.push_back(std::move(c));
  }
  for (auto& c : all) c->close(code, reason);
}

bool Hub::user_online(const std::string& org_id, const std::string& user_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return presence_of_locked(org_id, user_id) != "offline";
}

// --- client messages --------------------------------------------------------------------------

void Hub::handle(const std::shared_ptr<LiveClient>& c, std::string_view text) {
  if (text.size() > kMaxMessageBytes)
    return c->push(error_frame("payload_too_large", "messages to the server are limited to " +
                                                        std::to_string(kMaxMessageBytes) + " bytes"));
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (d.HasParseError() || !d.IsObject())
    return c->push(error_frame("invalid_argument", "a message must be a JSON object"));
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = d.FindMember(k);
    if (it == d.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  auto type = str("type");
  if (!type) return c->push(error_frame("invalid_argument", "\"type\" (a string) is required"));
  if (*type == "ping") return c->push(make_frame("{\"type\":\"pong\"}"));
  if (*type == "subscribe" || *type == "unsubscribe") {
    auto room = str("room");
    if (!room)
      return c->push(error_frame("invalid_argument", "\"room\" (a string) is required"));
    if (*type == "unsubscribe") return unsubscribe(c.get(), *room);
    std::optional<int64_t> after;
    auto it = d.FindMember("after");
    if (it != d.MemberEnd() && !it->value.IsNull()) {
      if (!it->value.IsInt64() || it->value.GetInt64() < 0)
        return c->push(error_frame("invalid_argument",
                                   "\"after\" must be a non-negative event id (integer)"));
      after = it->value.GetInt64();
    }
    return subscribe(c, *room, after);
  }
  if (*type == "typing") {
    auto thread = str("thread_id");
    auto state = str("state").value_or("start");
    if (!thread || !is_uuid(*thread))
      return c->push(error_frame("invalid_argument", "\"thread_id\" must be a thread id (UUID)"));
    if (state != "start" && state != "stop")
      return c->push(error_frame("invalid_argument", "\"state\" must be \"start\" or \"stop\""));
    return typing(c.get(), *thread, state == "start");
  }
  if (*type == "presence") {
    auto status = str("status");
    if (!status || (*status != "online" && *status != "away"))
      return c->push(error_frame("invalid_argument", "\"status\" must be \"online\" or \"away\""));
    return set_status(c.get(), *status);
  }
  if (*type == "auth")
    return c->push(error_frame("invalid_argument", "this connection is already authenticated"));
  c->push(error_frame("invalid_argument",
                      "unknown message type \"" + *type +
                          "\" (expected subscribe, unsubscribe, typing, presence or ping)"));
}

void Hub::subscribe(const std::shared_ptr<LiveClient>& c, const std::string& room,
                    std::optional<int64_t> after) {
  const banxway::Principal& who = c->principal;
  // Access: the org room for anyone of the organization; a thread of the organization; one's
  // own user room, or any user's for managers and admins.
  if (room != "org") {
    bool thread = room.starts_with("thread:"), user = room.starts_with("user:");
    std::string id = thread ? room.substr(7) : user ? room.substr(5) : std::string();
    if ((!thread && !user) || !is_uuid(id))
      return c->push(error_frame("invalid_argument",
                                 "room must be \"org\", \"thread:<id>\" or \"user:<id>\""));
    if (user && id != who.user_id && who.role < banxway::Role::manager)
      return c->push(error_frame("permission_denied",
                                 "only managers and admins may join another user's room"));
    auto r = engine_.call(thread ? "threads.get" : "users.get", "{\"id\":\"" + id + "\"}", who);
    if (!r.ok())
      return c->push(error_frame(banxway::code_name(r.status().code()),
                                 std::string(thread ? "thread " : "user ") + id +
                                     ": " + r.status().message()));
  }
  int64_t target = 0;
  bool replay = false;
  std::vector<std::string> pub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = clients_.find(c.get());
    if (it == clients_.end()) return;  // gone meanwhile
    ClientState& st = *it->second;
    if (!st.rooms.count(room) && st.rooms.size() >= kMaxRoomsPerConnection)
      return c->push(error_frame("invalid_argument", "too many rooms on one connection (limit " +
                                                         std::to_string(kMaxRoomsPerConnection) +
                                                         ")"));
    OrgState* os = org_state_locked(st.org);
    if (!os) return c->push(error_frame("unavailable", "live events are not available"));
    target = os->head;
    replay = after && *after < target;
    RoomSub& sub = st.rooms[room];
    sub.live = !replay;
    // A client resuming on another server may have seen events this server's feed has not
    // delivered yet (after > head): those must not come again.
    sub.floor = after.value_or(0);
    sub.held.clear();
    if (room.starts_with("thread:")) viewers_changed_locked(st.org, room.substr(7));
    if (room == "org") {
      // Who is here: everyone with a live connection in the organization.
      std::map<std::string, std::string> users;
      for (ClientState* o : os->clients)
        if (!o->user.empty()) users[o->user] = presence_of_locked(st.org, o->user);
      for (auto& [iid, peer] : peers_)
        for (auto& [key, s] : peer.presence)
          if (key.first == st.org) users[key.second] = presence_of_locked(st.org, key.second);
      std::string f = "{\"type\":\"presence_state\",\"users\":[";
      bool first = true;
      for (auto& [u, s] : users) {
        if (s == "offline") continue;
        if (!first) f += ',';
        first = false;
        f += "{\"user_id\":" + quote(u) + ",\"status\":" + quote(s) + "}";
      }
      f += "]}";
      c->push(make_frame(std::move(f)));
    }
    if (!replay)
      c->push(make_frame("{\"type\":\"subscribed\",\"room\":" + quote(room) +
                         ",\"replayed\":0,\"head\":" + std::to_string(target) + "}"));
    pub.swap(outbox_);
  }
  for (auto& p : pub) publish(std::move(p));
  if (!replay) return;

  // Replay (after, target] from the log, then whatever arrived live meanwhile (held), then live.
  int64_t cursor = *after;
  int replayed = 0;
  bool ok = true;
  while (ok) {
    auto page = engine_.live_read(who.org_id, cursor, target, opts_.replay_page);
    if (!page.ok()) {
      c->push(error_frame("unavailable", "replay failed: " + page.status().message()));
      ok = false;
      break;
    }
    for (const auto& e : *page) {
      if (room_matches(room, *e)) {
        if (!c->push_paced(event_frame(room, *e))) {
          ok = false;
          break;
        }
        ++replayed;
      }
      cursor = e->id;
    }
    if (static_cast<int>(page->size()) < opts_.replay_page) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(c.get());
  if (it == clients_.end()) return;
  auto rit = it->second->rooms.find(room);
  if (rit == it->second->rooms.end()) return;  // unsubscribed meanwhile
  if (!ok) {
    it->second->rooms.erase(rit);
    return;
  }
  c->push(make_frame("{\"type\":\"subscribed\",\"room\":" + quote(room) +
                     ",\"replayed\":" + std::to_string(replayed) +
                     ",\"head\":" + std::to_string(target) + "}"));
  for (const auto& e : rit->second.held) c->push(event_frame(room, *e));
  rit->second.held.clear();
  rit->second.held.shrink_to_fit();
  rit->second.live = true;
}

void Hub::unsubscribe(LiveClient* c, const std::string& room) {
  std::vector<std::string> pub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = clients_.find(c);
    if (it == clients_.end()) return;
    ClientState& st = *it->second;
    if (!st.rooms.erase(room))
      return c->push(error_frame("not_found", "not subscribed to room " + room));
    if (room.starts_with("thread:")) {
      std::string t = room.substr(7);
      if (st.typing.count(t)) {
        st.typing.erase(t);
        typing_.erase(TypingKey{st.org, t, st.user});
      }
      viewers_changed_locked(st.org, t);
    }
    c->push(make_frame("{\"type\":\"unsubscribed\",\"room\":" + quote(room) + "}"));
    pub.swap(outbox_);
  }
  for (auto& p : pub) publish(std::move(p));
}

void Hub::typing(LiveClient* c, const std::string& thread, bool on) {
  std::string pub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = clients_.find(c);
    if (it == clients_.end()) return;
    ClientState& st = *it->second;
    if (st.user.empty())
      return c->push(error_frame("invalid_argument", "typing needs a user (not an API key)"));
    if (!st.rooms.count("thread:" + thread))
      return c->push(error_frame("invalid_argument",
                                 "subscribe to thread:" + thread + " before typing in it"));
    TypingKey key{st.org, thread, st.user};
    bool was = typing_.count(key) > 0;
    if (on) {
      st.typing.insert(thread);
      typing_[key] = SteadyClock::now() + std::chrono::milliseconds(opts_.typing_ttl_ms);
    } else {
      st.typing.erase(thread);
      typing_.erase(key);
      if (!was) return;
    }
    std::string state = on ? "start" : "stop";
    broadcast_locked(st.org, "thread:" + thread,
                     make_frame("{\"type\":\"typing\",\"thread_id\":" + quote(thread) +
                                ",\"user_id\":" + quote(st.user) + ",\"state\":\"" + state +
                                "\",\"expires_in_ms\":" + std::to_string(opts_.typing_ttl_ms) + "}"),
                     c);
    pub = "{\"i\":" + quote(instance_) + ",\"k\":\"t\",\"o\":" + quote(st.org) + ",\"t\":" +
          quote(thread) + ",\"u\":" + quote(st.user) + ",\"s\":\"" + state + "\"}";
  }
  publish(std::move(pub));
}

void Hub::set_status(LiveClient* c, const std::string& status) {
  std::vector<std::string> pub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = clients_.find(c);
    if (it == clients_.end()) return;
    ClientState& st = *it->second;
    if (st.user.empty())
      return c->push(error_frame("invalid_argument", "presence needs a user (not an API key)"));
    std::string before = presence_of_locked(st.org, st.user);
    st.status = status;
    presence_changed_locked(st.org, st.user, before);
    pub.swap(outbox_);
  }
  for (auto& p : pub) publish(std::move(p));
}

// --- events from the engine -------------------------------------------------------------------

void Hub::on_events(const std::string& org, const banxway::LiveEvents& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  auto oit = orgs_.find(org);
  if (oit == orgs_.end() || batch.empty()) return;
  OrgState& os = oit->second;
  for (const auto& e : batch) {
    if (e->id <= os.head) continue;  // never twice
    // A connection's credential was checked once, at connect: when it is revoked, or its
    // user deactivated or given another role, the connection ends and must authenticate anew.
    bool user_changed = e->type == "user.deactivated" || e->type == "user.role_changed";
    bool key_revoked = e->type == "apikey.revoked";
    if (user_changed || key_revoked) {
      for (ClientState* st : os.clients) {
        const banxway::Principal* p = nullptr;
        auto c = st->client.lock();
        if (c) p = &c->principal;
        if (!p) continue;
        bool hit = user_changed ? p->user_id == e->subject_id
                                : (p->actor_type == "api_key" && p->actor_id == e->subject_id);
        if (hit) c->close(kCloseCredentialsChanged, "credentials revoked or changed; reconnect");
      }
    }
    EventFrames frames{*e, nullptr, nullptr, {}};
    for (ClientState* st : os.clients) {
      for (auto& [room, sub] : st->rooms) {
        if (e->id <= sub.floor || !room_matches(room, *e)) continue;
        if (!sub.live) {
          // Held while the replay runs; a replay that cannot keep up with live traffic must
          // not grow memory without bound either.
          if (sub.held.size() >= kMaxHeldPerRoom) {
            if (auto c = st->client.lock())
              c->close(kCloseTooSlow, "client too slow: replay fell behind live events");
            sub.held.clear();
            continue;
          }
          sub.held.push_back(e);
          continue;
        }
        if (auto c = st->client.lock()) c->push(frames.get(room));
      }
    }
    os.head = e->id;
  }
}

// --- presence, viewers, typing ----------------------------------------------------------------

Hub::OrgState* Hub::org_state_locked(const std::string& org) {
  auto it = orgs_.find(org);
  if (it != orgs_.end()) return &it->second;
  // First connection of this organization: delivery starts after the current head.
  auto head = engine_.live_watch(org);
  if (!head.ok()) {
    spdlog::warn("realtime: cannot watch events of {}: {}", org, head.status().message());
    return nullptr;
  }
  OrgState& os = orgs_[org];
  os.head = *head;
  return &os;
}

std::string Hub::local_presence_locked(const std::string& org, const std::string& user) {
  int best = 0;
  auto oit = orgs_.find(org);
  if (oit != orgs_.end())
    for (ClientState* st : oit->second.clients)
      if (st->user == user) best = std::max(best, status_rank(st->status));
  return best == 2 ? "online" : best == 1 ? "away" : "offline";
}

std::string Hub::presence_of_locked(const std::string& org, const std::string& user) {
  int best = status_rank(local_presence_locked(org, user));
  for (auto& [iid, peer] : peers_) {
    auto it = peer.presence.find({org, user});
    if (it != peer.presence.end()) best = std::max(best, status_rank(it->second));
  }
  return best == 2 ? "online" : best == 1 ? "away" : "offline";
}

std::set<std::string> Hub::viewers_locked(const std::string& org, const std::string& thread) {
  std::set<std::string> out;
  std::string room = "thread:" + thread;
  auto oit = orgs_.find(org);
  if (oit != orgs_.end())
    for (ClientState* st : oit->second.clients)
      if (!st->user.empty() && st->rooms.count(room)) out.insert(st->user);
  for (auto& [iid, peer] : peers_) {
    auto it = peer.viewers.find({org, thread});
    if (it != peer.viewers.end()) out.insert(it->second.begin(), it->second.end());
  }
  return out;
}

void Hub::presence_changed_locked(const std::string& org, const std::string& user,
                                  const std::string& before) {
  std::string now = presence_of_locked(org, user);
  outbox_.push_back("{\"i\":" + quote(instance_) + ",\"k\":\"p\",\"o\":" + quote(org) +
                    ",\"u\":" + quote(user) + ",\"s\":" +
                    quote(local_presence_locked(org, user)) + "}");
  if (now == before) return;
  broadcast_locked(org, "org",
                   make_frame("{\"type\":\"presence\",\"user_id\":" + quote(user) +
                              ",\"status\":" + quote(now) + "}"));
}

void Hub::viewers_changed_locked(const std::string& org, const std::string& thread) {
  auto users = viewers_locked(org, thread);
  std::string list = "[";
  std::string local = "[";
  std::string room = "thread:" + thread;
  std::set<std::string> mine;
  auto oit = orgs_.find(org);
  if (oit != orgs_.end())
    for (ClientState* st : oit->second.clients)
      if (!st->user.empty() && st->rooms.count(room)) mine.insert(st->user);
  for (const auto& u : users) list += (list.size() > 1 ? "," : "") + quote(u);
  for (const auto& u : mine) local += (local.size() > 1 ? "," : "") + quote(u);
  list += "]";
  local += "]";
  broadcast_locked(org, room,
                   make_frame("{\"type\":\"viewers\",\"thread_id\":" + quote(thread) +
                              ",\"user_ids\":" + list + "}"));
  outbox_.push_back("{\"i\":" + quote(instance_) + ",\"k\":\"v\",\"o\":" + quote(org) +
                    ",\"t\":" + quote(thread) + ",\"u\":" + local + "}");
}

void Hub::broadcast_locked(const std::string& org, const std::string& room, const Frame& f,
                           LiveClient* except) {
  auto oit = orgs_.find(org);
  if (oit == orgs_.end()) return;
  for (ClientState* st : oit->second.clients) {
    if (st->raw == except) continue;
    auto rit = st->rooms.find(room);
    if (rit == st->rooms.end()) continue;
    if (auto c = st->client.lock()) c->push(f);
  }
}

void Hub::publish(std::string payload) {
  auto st = engine_.live_signal(payload);
  if (!st.ok()) spdlog::debug("realtime: signal not sent: {}", st.message());
}

// Signals from peer instances (our own come back too on PostgreSQL, and are ignored).
void Hub::on_signal(const std::string& payload) {
  rapidjson::Document d;
  d.Parse(payload.data(), payload.size());
  if (d.HasParseError() || !d.IsObject()) return;
  auto str = [&](const char* k) -> std::string {
    auto it = d.FindMember(k);
    return it != d.MemberEnd() && it->value.IsString()
               ? std::string(it->value.GetString(), it->value.GetStringLength())
               : std::string();
  };
  std::string from = str("i"), kind = str("k");
  if (from.empty() || from == instance_) return;
  std::vector<std::string> pub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (kind == "bye") {
      auto pit = peers_.find(from);
      if (pit == peers_.end()) return;
      PeerState gone = std::move(pit->second);
      std::map<std::pair<std::string, std::string>, std::string> before;
      for (auto& [key, s] : gone.presence) before[key] = presence_of_locked(key.first, key.second);
      peers_.erase(pit);
      for (auto& [key, s] : before) {
        std::string now = presence_of_locked(key.first, key.second);
        if (now != s)
          broadcast_locked(key.first, "org",
                           make_frame("{\"type\":\"presence\",\"user_id\":" + quote(key.second) +
                                      ",\"status\":" + quote(now) + "}"));
      }
      for (auto& [key, users] : gone.viewers) viewers_changed_locked(key.first, key.second);
      outbox_.clear();  // our own state did not change: nothing to tell the peers
      return;
    }
    PeerState& peer = peers_[from];
    peer.seen = SteadyClock::now();
    std::string org = str("o");
    if (kind == "hello") {
      // A new peer: tell it everything we have locally.
      std::set<std::pair<std::string, std::string>> users, threads;
      for (auto& [raw, st] : clients_) {
        if (!st->user.empty()) users.insert({st->org, st->user});
        for (auto& [room, sub] : st->rooms)
          if (room.starts_with("thread:")) threads.insert({st->org, room.substr(7)});
      }
      for (auto& [o, u] : users)
        pub.push_back("{\"i\":" + quote(instance_) + ",\"k\":\"p\",\"o\":" + quote(o) +
                      ",\"u\":" + quote(u) + ",\"s\":" + quote(local_presence_locked(o, u)) + "}");
      for (auto& [o, t] : threads) {
        viewers_changed_locked(o, t);
      }
      for (auto& p : outbox_) pub.push_back(std::move(p));
      outbox_.clear();
    } else if (kind == "p") {
      std::string user = str("u"), status = str("s");
      if (org.empty() || user.empty()) return;
      std::string before = presence_of_locked(org, user);
      if (status == "online" || status == "away")
        peer.presence[{org, user}] = status;
      else
        peer.presence.erase({org, user});
      std::string now = presence_of_locked(org, user);
      if (now != before)
        broadcast_locked(org, "org",
                         make_frame("{\"type\":\"presence\",\"user_id\":" + quote(user) +
                                    ",\"status\":" + quote(now) + "}"));
    } else if (kind == "v") {
      std::string thread = str("t");
      auto it = d.FindMember("u");
      if (org.empty() || thread.empty() || it == d.MemberEnd() || !it->value.IsArray()) return;
      std::set<std::string> users;
      for (auto& v : it->value.GetArray())
        if (v.IsString()) users.insert(std::string(v.GetString(), v.GetStringLength()));
      auto before = viewers_locked(org, thread);
      if (users.empty())
        peer.viewers.erase({org, thread});
      else
        peer.viewers[{org, thread}] = std::move(users);
      if (viewers_locked(org, thread) != before) {
        viewers_changed_locked(org, thread);
      }
      outbox_.clear();  // a peer's change is not ours to re-announce
    } else if (kind == "t") {
      std::string thread = str("t"), user = str("u"), state = str("s");
      if (org.empty() || thread.empty() || user.empty()) return;
      broadcast_locked(org, "thread:" + thread,
                       make_frame("{\"type\":\"typing\",\"thread_id\":" + quote(thread) +
                                  ",\"user_id\":" + quote(user) + ",\"state\":" +
                                  quote(state == "start" ? "start" : "stop") +
                                  ",\"expires_in_ms\":" + std::to_string(opts_.typing_ttl_ms) +
                                  "}"));
    }
  }
  for (auto& p : pub) publish(std::move(p));
}

void Hub::timer_loop() {
  auto next_hb = SteadyClock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> l(timer_mu_);
      timer_cv_.wait_for(l, std::chrono::milliseconds(250), [this] { return timer_stop_; });
      if (timer_stop_) return;
    }
    auto now = SteadyClock::now();
    std::vector<std::string> pub;
    if (now >= next_hb) {
      pub.push_back("{\"i\":" + quote(instance_) + ",\"k\":\"hb\"}");
      next_hb = now + std::chrono::milliseconds(opts_.heartbeat_ms);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Typing that was not renewed in time stops.
      for (auto it = typing_.begin(); it != typing_.end();) {
        if (it->second > now) {
          ++it;
          continue;
        }
        TypingKey k = it->first;
        it = typing_.erase(it);
        for (auto& [raw, st] : clients_)
          if (st->org == k.org && st->user == k.user) st->typing.erase(k.thread);
        broadcast_locked(k.org, "thread:" + k.thread,
                         make_frame("{\"type\":\"typing\",\"thread_id\":" + quote(k.thread) +
                                    ",\"user_id\":" + quote(k.user) + ",\"state\":\"stop\"}"));
        pub.push_back("{\"i\":" + quote(instance_) + ",\"k\":\"t\",\"o\":" + quote(k.org) +
                      ",\"t\":" + quote(k.thread) + ",\"u\":" + quote(k.user) +
                      ",\"s\":\"stop\"}");
      }
      // A peer that stopped sending heartbeats (crashed) is forgotten, its users with it.
      for (auto it = peers_.begin(); it != peers_.end();) {
        if (now - it->second.seen < std::chrono::milliseconds(opts_.instance_timeout_ms)) {
          ++it;
          continue;
        }
        PeerState gone = std::move(it->second);
        std::map<std::pair<std::string, std::string>, std::string> before;
        for (auto& [key, s] : gone.presence)
          before[key] = presence_of_locked(key.first, key.second);
        it = peers_.erase(it);
        for (auto& [key, s] : before) {
          std::string st = presence_of_locked(key.first, key.second);
          if (st != s)
            broadcast_locked(key.first, "org",
                             make_frame("{\"type\":\"presence\",\"user_id\":" +
                                        quote(key.second) + ",\"status\":" + quote(st) + "}"));
        }
        for (auto& [key, users] : gone.viewers) viewers_changed_locked(key.first, key.second);
        outbox_.clear();
      }
    }
    for (auto& p : pub) publish(std::move(p));
  }
}

}  // namespace bxserver
