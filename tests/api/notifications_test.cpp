// notifications.* and the places that create notifications (assignment, @mentions in notes,
// replies by email and WhatsApp on followed threads), preferences, and the delayed email
// through the outbox, on every backend.
#include "services/notifications.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/env.hpp"
#include "engine_impl.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;

namespace {
const char* kMissing = "0190a0a0-0000-7000-8000-000000000999";
std::string q(const std::string& s) { return banxway::json::quote(s); }
}  // namespace

class NotificationsTest : public bxtest::EngineTest {
 protected:
  using User = TestUser;
  User user(const std::string& email, const std::string& role, const std::string& name = "") {
    return make_user(email, role, name);
  }
  std::string thread(const std::string& subject) {
    return str(ok("threads.create", "{\"subject\":" + q(subject) + "}"), "id");
  }
  Document list(const User& u, const std::string& params = "{}") {
    return ok("notifications.list", params, u.key);
  }
  int64_t unread(const User& u) {
    return ok("notifications.unread_count", "{}", u.key)["unread_count"].GetInt64();
  }
  int64_t count(const std::string& sql) {
    auto r = engine->impl().core.db->query(sql, {});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->rows[0].int64(0) : -1;
  }
  // Reopens the engine on the same database with a clock the test moves.
  std::shared_ptr<banxway::FakeClock> fake_clock() {
    auto clock = std::make_shared<banxway::FakeClock>(banxway::SystemClock().now());
    engine.reset();
    banxway::EngineOptions o;
    o.database_url = url;
    o.jwt_secret = "test-secret-with-at-least-32-characters!";
    o.clock = clock;
    auto e = banxway::Engine::open(o);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    engine = std::move(e).value();
    return clock;
  }
  void mailbox() {
    ok("channels.create", R"({"channel":"email","name":"Ops desk","address":"desk@a.example",
        "config":{"smtp":{"host":"127.0.0.1","port":1,"security":"plain"}}})");
  }
  // The email the outbox queued for a notification (its message.queued event), or null.
  Document queued_email() {
    Document out;
    auto ev = ok("events.list", R"({"after":0,"limit":1000})");
    for (auto& e : ev["items"].GetArray())
      if (str(e, "type") == "message.queued") out.CopyFrom(e["data"], out.GetAllocator());
    return out;
  }
};

TEST_P(NotificationsTest, AssignmentListUnreadAndMarkRead) {
  User ravi = user("ravi@a.example", "agent", "Ravi");
  User mia = user("mia@a.example", "viewer", "Mia");
  std::vector<std::string> threads;
  for (int i = 0; i < 5; ++i) {
    threads.push_back(thread("Booking " + std::to_string(i)));
    ok("threads.assign", "{\"id\":" + q(threads.back()) + ",\"assignee_id\":" + q(ravi.id) + "}");
  }
  EXPECT_EQ(unread(ravi), 5);
  EXPECT_EQ(unread(mia), 0);

  // notification.created names the recipient and carries the notification.
  auto ev = ok("events.list", R"({"after":0,"limit":1000})");
  int created = 0;
  for (auto& e : ev["items"].GetArray()) {
    if (str(e, "type") != "notification.created") continue;
    ++created;
    EXPECT_EQ(str(e["data"], "user_id"), ravi.id);
    EXPECT_EQ(str(e["data"]["notification"], "user_id"), ravi.id);
    EXPECT_EQ(str(e["data"]["notification"], "kind"), "assigned");
  }
  EXPECT_EQ(created, 5);

  // Newest first, paginated without gaps.
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto d = list(ravi,
                  cursor.empty() ? R"({"limit":2})" : "{\"limit\":2,\"cursor\":" + q(cursor) + "}");
    for (auto& n : d["items"].GetArray()) seen.push_back(str(n, "thread_id"));
    if (d["next_cursor"].IsNull()) break;
    cursor = d["next_cursor"].GetString();
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{threads[4], threads[3], threads[2], threads[1], threads[0]}));

  // Mark one read; unread_only hides it.
  std::string first = str(list(ravi)["items"][0], "id");
  auto r = ok("notifications.mark_read", "{\"id\":" + q(first) + "}", ravi.key);
  EXPECT_FALSE(r["read_at"].IsNull());
  EXPECT_EQ(unread(ravi), 4);
  auto u = list(ravi, R"({"unread_only":true})");
  EXPECT_EQ(u["items"].Size(), 4u);
  for (auto& n : u["items"].GetArray()) EXPECT_NE(str(n, "id"), first);
  // Someone else's notification is not found for you.
  fails("notifications.mark_read", "{\"id\":" + q(first) + "}", Code::not_found, mia.key);
  fails("notifications.mark_read", "{\"id\":" + q(kMissing) + "}", Code::not_found, ravi.key);
  auto msg = fails("notifications.mark_read", "{}", Code::invalid_argument, ravi.key);
  EXPECT_NE(msg.find("all"), std::string::npos) << msg;

  auto all = ok("notifications.mark_read", R"({"all":true})", ravi.key);
  EXPECT_EQ(all["marked"].GetInt(), 4);
  EXPECT_EQ(ok("notifications.mark_all_read", "{}", ravi.key)["marked"].GetInt(), 0);
  EXPECT_EQ(unread(ravi), 0);
  EXPECT_EQ(list(ravi, R"({"unread_only":true})")["items"].Size(), 0u);
  EXPECT_EQ(list(ravi)["items"].Size(), 5u);

  // Notifications belong to users: an API key without one is told so.
  msg = fails("notifications.list", "{}", Code::permission_denied);
  EXPECT_NE(msg.find("user"), std::string::npos) << msg;
  fails("notifications.unread_count", "{}", Code::permission_denied);
  fails("notifications.prefs_get", "{}", Code::permission_denied);
}

TEST_P(NotificationsTest, MentionsInNotes) {
  User ravi = user("ravi.k@a.example", "agent", "Ravi Kumar");
  User mia = user("mia@a.example", "agent", "Mia Chen");
  User asha = user("asha.patel@a.example", "agent");
  User gone = user("gone@a.example", "agent", "Gone");
  ok("users.update", "{\"id\":" + q(gone.id) + ",\"active\":false}");
  std::string t = thread("Reefer plug-in");
  ok("messages.create_note",
     "{\"thread_id\":" + q(t) +
         ",\"text\":\"@RAVI please check; cc @mia.chen, @asha.patel. "
         "@gone too. Not a mention: ops@mia.example or @nobody\"}",
     mia.key);
  auto r = list(ravi);
  ASSERT_EQ(r["items"].Size(), 1u);
  EXPECT_EQ(str(r["items"][0], "kind"), "mention");
  EXPECT_NE(str(r["items"][0], "title").find("Mia Chen"), std::string::npos);
  EXPECT_NE(str(r["items"][0], "body").find("please check"), std::string::npos);
  EXPECT_FALSE(str(r["items"][0], "message_id").empty());
  EXPECT_EQ(list(asha)["items"].Size(), 1u);  // by the email's local part
  EXPECT_EQ(list(mia)["items"].Size(), 0u);   // the author herself
  EXPECT_EQ(count("SELECT COUNT(*) FROM notifications WHERE kind = 'mention'"), 2);
  // The author follows the thread now.
  auto f = ok("threads.followers", "{\"id\":" + q(t) + "}");
  ASSERT_EQ(f["items"].Size(), 1u);
  EXPECT_EQ(str(f["items"][0], "user_id"), mia.id);
  // A note without @ writes no notification.
  ok("messages.create_note", "{\"thread_id\":" + q(t) + ",\"text\":\"plain\"}", ravi.key);
  EXPECT_EQ(count("SELECT COUNT(*) FROM notifications"), 2);
}

TEST_P(NotificationsTest, RepliesNotifyFollowers) {
  User ravi = user("ravi@a.example", "agent");
  User mia = user("mia@a.example", "agent");
  std::string t = thread("Customs hold");
  ok("threads.follow", "{\"id\":" + q(t) + "}", ravi.key);
  std::string raw =
      "From: priya@acme.example\r\nSubject: Re: Customs hold\r\n"
      "Message-ID: <r1@acme.example>\r\nIn-Reply-To: <bx." +
      t + ".0011223344556677@banxway.invalid>\r\n\r\nThe papers are attached.\r\n";
  auto in = ok("inbound.email", "{\"raw\":" + q(raw) + "}");
  ASSERT_EQ(str(in, "thread_id"), t);
  auto r = list(ravi);
  ASSERT_EQ(r["items"].Size(), 1u);
  EXPECT_EQ(str(r["items"][0], "kind"), "reply");
  EXPECT_EQ(str(r["items"][0], "thread_id"), t);
  EXPECT_EQ(str(r["items"][0], "message_id"), str(in["message"], "id"));
  EXPECT_NE(str(r["items"][0], "body").find("papers"), std::string::npos);
  EXPECT_EQ(list(mia)["items"].Size(), 0u);
  // A new conversation has no followers: nobody is notified.
  std::string fresh =
      "From: x@new.example\r\nSubject: Hello\r\nMessage-ID: <n1@new.example>\r\n\r\nhi\r\n";
  ok("inbound.email", "{\"raw\":" + q(fresh) + "}");
  EXPECT_EQ(count("SELECT COUNT(*) FROM notifications"), 1);
}

TEST_P(NotificationsTest, WhatsAppReplyNotifiesFollowers) {
  User ravi = user("ravi@a.example", "agent");
  auto a = ok("channels.create", R"({"channel":"whatsapp","provider":"exotel","name":"WA",
      "config":{"account_sid":"acme1","from":"+919000000001"},"secrets":{"api_key":"k","api_token":"t"}})");
  auto wa = [&](const std::string& sid, const std::string& text) {
    banxway::WebhookRequest r;
    r.provider = "exotel";
    r.channel = "whatsapp";
    r.token = str(a, "webhook_token");
    r.content_type = "application/json";
    r.body = R"({"whatsapp":{"messages":[{"callback_type":"incoming_message","sid":")" + sid +
             R"(","from":"+919820012345","to":"+919000000001","profile_name":"Priya",)"
             R"("timestamp":"2026-11-27T10:00:00+05:30","content":{"type":"text","text":{"body":)" +
             q(text) + "}}}]}}";
    r.remote_addr = "127.0.0.1";
    auto res = engine->receive_webhook(r);
    ASSERT_TRUE(res.ok()) << res.status().to_string();
    ASSERT_TRUE(engine->run_pending(100).ok());
  };
  wa("wa-1", "Where is my container?");
  auto threads = ok("threads.list", "{}");
  ASSERT_EQ(threads["items"].Size(), 1u);
  std::string t = str(threads["items"][0], "id");
  EXPECT_EQ(count("SELECT COUNT(*) FROM notifications"), 0);
  ok("threads.follow", "{\"id\":" + q(t) + "}", ravi.key);
  wa("wa-2", "Any update?");
  auto r = list(ravi);
  ASSERT_EQ(r["items"].Size(), 1u);
  EXPECT_EQ(str(r["items"][0], "kind"), "reply");
  EXPECT_EQ(str(r["items"][0], "body"), "Any update?");
}

TEST_P(NotificationsTest, Preferences) {
  User ravi = user("ravi@a.example", "agent", "Ravi");
  auto p = ok("notifications.prefs_get", "{}", ravi.key);
  ASSERT_EQ(p["items"].Size(), 4u);
  for (auto& k : p["items"].GetArray()) {
    EXPECT_TRUE(k["in_app"].GetBool());
    EXPECT_EQ(str(k, "email"), "never");
  }
  auto u = ok("notifications.prefs_update", R"({"kind":"mention","in_app":false})", ravi.key);
  bool found = false;
  for (auto& k : u["items"].GetArray())
    if (str(k, "kind") == "mention") {
      found = true;
      EXPECT_FALSE(k["in_app"].GetBool());
      EXPECT_EQ(str(k, "email"), "never");
    }
  EXPECT_TRUE(found);
  // Mentions are off for Ravi entirely (no app, no email); assignments still arrive.
  std::string t = thread("Prefs");
  ok("messages.create_note", "{\"thread_id\":" + q(t) + ",\"text\":\"@ravi look\"}");
  EXPECT_EQ(list(ravi)["items"].Size(), 0u);
  ok("threads.assign", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(ravi.id) + "}");
  EXPECT_EQ(list(ravi)["items"].Size(), 1u);

  fails("notifications.prefs_update", R"({"kind":"mention"})", Code::invalid_argument, ravi.key);
  fails("notifications.prefs_update", R"({"kind":"mention","email":"sometimes"})",
        Code::invalid_argument, ravi.key);
  fails("notifications.prefs_update", R"({"kind":"weather","in_app":true})", Code::invalid_argument,
        ravi.key);
  fails("notifications.prefs_update", R"({"kind":"mention","in_app":true})",
        Code::permission_denied);
  // Preferences are per user.
  User mia = user("mia@a.example", "agent");
  Document list1 = ok("notifications.prefs_get", "{}", mia.key);
  for (auto& k : list1["items"].GetArray()) EXPECT_TRUE(k["in_app"].GetBool());
}

TEST_P(NotificationsTest, EmailWhenOfflineGoesThroughTheOutboxAfterTheDelay) {
  auto clock = fake_clock();
  mailbox();
  User ravi = user("ravi@a.example", "agent", "Ravi");
  ok("notifications.prefs_update", R"({"kind":"assigned","email":"offline"})", ravi.key);
  std::string t = thread("Hamburg booking");
  ok("threads.assign", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(ravi.id) + "}");
  Document first = list(ravi);
  EXPECT_EQ(str(first["items"][0], "email_status"), "pending");
  std::string nid = str(first["items"][0], "id");

  // Not before the delay. (run_pending also hands the new events to their consumers —
  // message analysis reads every organization's — so the effect is what is checked.)
  auto ran = engine->run_pending(100);
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(str(list(ravi)["items"][0], "email_status"), "pending");
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE kind = 'email.send'"), 0);
  clock->advance(std::chrono::seconds(61));
  ran = engine->run_pending(100);
  ASSERT_TRUE(ran.ok());
  EXPECT_GE(*ran, 1);
  EXPECT_EQ(str(list(ravi)["items"][0], "email_status"), "sent_to_outbox");

  // The outbox holds the email: to Ravi, from the mailbox, queued with its email.send job.
  auto m = queued_email();
  ASSERT_TRUE(m.IsObject());
  EXPECT_EQ(str(m, "status"), "queued");
  EXPECT_EQ(str(m, "direction"), "outbound");
  EXPECT_EQ(str(m["to"][0], "address"), "ravi@a.example");
  EXPECT_EQ(str(m["from"], "address"), "desk@a.example");
  EXPECT_NE(str(m, "subject").find("Hamburg booking"), std::string::npos);
  EXPECT_EQ(str(m["meta"], "notification_id"), nid);
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE kind = 'email.send' AND status = 'pending'"), 1);
  EXPECT_EQ(
      count("SELECT COUNT(*) FROM messages WHERE channel = 'email' AND direction = 'outbound' "
            "AND status = 'queued' AND CAST(to_addrs AS TEXT) LIKE '%ravi@a.example%'"),
      1);
  // Its thread is the system's own and stays out of the inbox.
  std::string mt = str(m, "thread_id");
  fails("threads.merge", "{\"id\":" + q(t) + ",\"source_id\":" + q(mt) + "}",
        Code::invalid_argument);
  Document list2 = ok("threads.list", "{}");
  for (auto& th : list2["items"].GetArray()) EXPECT_NE(str(th, "id"), mt);
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE direction = 'outbound'"), 1);
}

TEST_P(NotificationsTest, EmailSkippedWhenReadOnlineOrNoAccount) {
  auto clock = fake_clock();
  User ravi = user("ravi@a.example", "agent", "Ravi");
  User mia = user("mia@a.example", "agent", "Mia");
  ok("notifications.prefs_update", R"({"kind":"assigned","email":"offline"})", ravi.key);
  ok("notifications.prefs_update", R"({"kind":"assigned","email":"always"})", mia.key);

  // No email account at all: no_account.
  ok("threads.assign", "{\"id\":" + q(thread("one")) + ",\"assignee_id\":" + q(mia.id) + "}");
  clock->advance(std::chrono::seconds(61));
  ASSERT_TRUE(engine->run_pending(10).ok());
  EXPECT_EQ(str(list(mia)["items"][0], "email_status"), "no_account");

  mailbox();
  // Ravi is online and asked for "offline" only: skipped_online. Mia asked for "always": sent
  // although online too.
  engine->set_presence_probe([](const std::string&, const std::string&) { return true; });
  std::string t2 = thread("two");
  ok("threads.assign", "{\"id\":" + q(t2) + ",\"assignee_id\":" + q(ravi.id) + "}");
  ok("threads.assign", "{\"id\":" + q(thread("three")) + ",\"assignee_id\":" + q(mia.id) + "}");
  clock->advance(std::chrono::seconds(61));
  ASSERT_TRUE(engine->run_pending(2).ok());
  EXPECT_EQ(str(list(ravi)["items"][0], "email_status"), "skipped_online");
  EXPECT_EQ(str(list(mia)["items"][0], "email_status"), "sent_to_outbox");

  // Read in the app before the delay: skipped_read.
  engine->set_presence_probe(nullptr);
  ok("threads.assign", "{\"id\":" + q(thread("four")) + ",\"assignee_id\":" + q(ravi.id) + "}");
  std::string nid = str(list(ravi)["items"][0], "id");
  ok("notifications.mark_read", "{\"id\":" + q(nid) + "}", ravi.key);
  clock->advance(std::chrono::seconds(61));
  // (Mia's email.send job, due since the step before, may run in the same step and fail
  // against the closed SMTP port: it stays queued for a retry.)
  ASSERT_TRUE(engine->run_pending(5).ok());
  EXPECT_EQ(str(list(ravi)["items"][0], "email_status"), "skipped_read");
  // Only Mia's email reached the outbox.
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE direction = 'outbound'"), 1);
}

// The hook the SLA engine will call: a plain notification of kind sla.
TEST_P(NotificationsTest, SlaHookCreatesANotification) {
  User ravi = user("ravi@a.example", "agent", "Ravi");
  std::string t = thread("Slow customs");
  auto& core = engine->impl().core;
  banxway::Principal who = banxway::api::system_principal(org_a, "sla");
  banxway::api::Ctx ctx(core, who, "sla.check");
  auto st = core.db->transaction([&](banxway::store::Conn& c) {
    return banxway::services::notify_sla(c, ctx, t, ravi.id, "first_response_due",
                                         "2026-11-27T12:00:00.000Z");
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  auto r = list(ravi);
  ASSERT_EQ(r["items"].Size(), 1u);
  EXPECT_EQ(str(r["items"][0], "kind"), "sla");
  EXPECT_EQ(str(r["items"][0]["data"], "due_at"), "2026-11-27T12:00:00.000Z");
  EXPECT_NE(str(r["items"][0], "title").find("Slow customs"), std::string::npos);
}

TEST_P(NotificationsTest, TenantIsolation) {
  User ravi = user("ravi@a.example", "agent", "Ravi");
  std::string t = thread("A's");
  ok("threads.assign", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(ravi.id) + "}");
  std::string nid = str(list(ravi)["items"][0], "id");
  // A user of B.
  std::string ub =
      str(ok("users.create", R"({"email":"b@b.example","role":"admin"})", key_b), "id");
  std::string kb =
      str(ok("apikeys.create", "{\"role\":\"admin\",\"user_id\":" + q(ub) + "}", key_b), "key");
  EXPECT_EQ(ok("notifications.list", "{}", kb)["items"].Size(), 0u);
  EXPECT_EQ(ok("notifications.unread_count", "{}", kb)["unread_count"].GetInt(), 0);
  fails("notifications.mark_read", "{\"id\":" + q(nid) + "}", Code::not_found, kb);
  ok("notifications.mark_read", R"({"all":true})", kb);
  EXPECT_EQ(unread(ravi), 1);
  // B cannot make A's users follow or be assigned to B's threads.
  std::string tb = str(ok("threads.create", R"({"subject":"B's"})", kb), "id");
  fails("threads.assign", "{\"id\":" + q(tb) + ",\"assignee_id\":" + q(ravi.id) + "}",
        Code::not_found, kb);
  fails("threads.follow", "{\"id\":" + q(tb) + ",\"user_id\":" + q(ravi.id) + "}", Code::not_found,
        kb);
}

BX_INSTANTIATE_BACKENDS(NotificationsTest);
