// threads.assign/unassign/follow/unfollow/followers/merge/split/bulk_update through
// Engine::call, on every backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;

namespace {
const char* kMissing = "0190a0a0-0000-7000-8000-000000000999";

std::string q(const std::string& s) { return banxway::json::quote(s); }
}  // namespace

class ThreadOpsTest : public bxtest::EngineTest {
 protected:
  using User = TestUser;
  User user(const std::string& email, const std::string& role, const std::string& name = "") {
    return make_user(email, role, name);
  }
  std::string thread(const std::string& subject, const std::string& key = "") {
    return str(ok("threads.create", "{\"subject\":" + q(subject) + "}", key), "id");
  }
  // An inbound email that joins `thread_id` (through a banxway Message-ID in In-Reply-To).
  Document inbound(const std::string& thread_id, const std::string& msgid, const std::string& date,
                   const std::string& from = "priya@acme.example") {
    std::string raw = "From: " + from + "\r\nTo: desk@a.example\r\nSubject: Re: booking\r\n" +
                      "Date: " + date + "\r\nMessage-ID: <" + msgid + ">\r\n" +
                      "In-Reply-To: <bx." + thread_id +
                      ".0011223344556677@banxway.invalid>\r\n\r\n" + "text of " + msgid + "\r\n";
    return ok("inbound.email", "{\"raw\":" + q(raw) + "}");
  }
  std::vector<Document> events(const std::string& type, const std::string& key = "") {
    auto ev = ok("events.list", R"({"after":0,"limit":1000})", key);
    std::vector<Document> out;
    for (auto& e : ev["items"].GetArray()) {
      if (str(e, "type") != type) continue;
      Document d;
      d.CopyFrom(e["data"], d.GetAllocator());
      out.push_back(std::move(d));
    }
    return out;
  }
  std::set<std::string> followers(const std::string& t, const std::string& key = "") {
    std::set<std::string> out;
    Document list1 = ok("threads.followers", "{\"id\":" + q(t) + "}", key);
    for (auto& f : list1["items"].GetArray()) out.insert(str(f, "user_id"));
    return out;
  }
  std::vector<std::string> message_ids(const std::string& t) {
    std::vector<std::string> out;
    Document list2 = ok("messages.list", "{\"thread_id\":" + q(t) + "}");
    for (auto& m : list2["items"].GetArray()) out.push_back(str(m, "id"));
    return out;
  }
};

TEST_P(ThreadOpsTest, AssignEmitsAssignedNotifiesAndFollows) {
  User ravi = user("ravi@a.example", "agent", "Ravi Kumar");
  User mia = user("mia@a.example", "manager", "Mia");
  std::string t = thread("Booking 4711");

  auto a =
      ok("threads.assign", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(ravi.id) + "}", mia.key);
  EXPECT_EQ(str(a, "assignee_id"), ravi.id);
  auto assigned = events("thread.assigned");
  ASSERT_EQ(assigned.size(), 1u);
  EXPECT_EQ(str(assigned[0], "assignee_id"), ravi.id);
  EXPECT_TRUE(assigned[0]["previous_assignee_id"].IsNull());
  EXPECT_EQ(str(assigned[0], "id"), t);
  // Ravi is told, and follows the thread now.
  auto n = ok("notifications.list", "{}", ravi.key);
  ASSERT_EQ(n["items"].Size(), 1u);
  EXPECT_EQ(str(n["items"][0], "kind"), "assigned");
  EXPECT_EQ(str(n["items"][0], "thread_id"), t);
  EXPECT_NE(str(n["items"][0], "title").find("Booking 4711"), std::string::npos);
  EXPECT_NE(str(n["items"][0], "body").find("Mia"), std::string::npos);
  EXPECT_EQ(followers(t), std::set<std::string>{ravi.id});

  // The same assignee again changes nothing: no event, no second notification.
  ok("threads.assign", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(ravi.id) + "}", mia.key);
  EXPECT_EQ(events("thread.assigned").size(), 1u);

  // Assigning yourself: no notification for you.
  ok("threads.assign", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(mia.id) + "}", mia.key);
  EXPECT_EQ(ok("notifications.list", "{}", mia.key)["items"].Size(), 0u);
  assigned = events("thread.assigned");
  ASSERT_EQ(assigned.size(), 2u);
  EXPECT_EQ(str(assigned[1], "previous_assignee_id"), ravi.id);

  // Unassign: assignee_id null, previous named.
  auto u = ok("threads.unassign", "{\"id\":" + q(t) + "}", mia.key);
  EXPECT_TRUE(u["assignee_id"].IsNull());
  assigned = events("thread.assigned");
  ASSERT_EQ(assigned.size(), 3u);
  EXPECT_TRUE(assigned[2]["assignee_id"].IsNull());
  EXPECT_EQ(str(assigned[2], "previous_assignee_id"), mia.id);

  // threads.update takes the same path: event with previous_assignee_id, notification.
  ok("threads.update", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(ravi.id) + "}", mia.key);
  assigned = events("thread.assigned");
  ASSERT_EQ(assigned.size(), 4u);
  EXPECT_EQ(str(assigned[3], "assignee_id"), ravi.id);
  EXPECT_TRUE(assigned[3]["previous_assignee_id"].IsNull());
  EXPECT_EQ(ok("notifications.list", "{}", ravi.key)["items"].Size(), 2u);

  // Only active users of the organization.
  std::string msg =
      fails("threads.assign", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(kMissing) + "}",
            Code::not_found);
  EXPECT_NE(msg.find("assignee_id"), std::string::npos) << msg;
  User gone = user("gone@a.example", "agent");
  ok("users.update", "{\"id\":" + q(gone.id) + ",\"active\":false}");
  msg = fails("threads.assign", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(gone.id) + "}",
              Code::invalid_argument);
  EXPECT_NE(msg.find("deactivated"), std::string::npos) << msg;
  fails("threads.update", "{\"id\":" + q(t) + ",\"assignee_id\":" + q(gone.id) + "}",
        Code::invalid_argument);
  EXPECT_EQ(str(ok("threads.get", "{\"id\":" + q(t) + "}"), "assignee_id"), ravi.id);
  fails("threads.assign", "{\"id\":" + q(kMissing) + ",\"assignee_id\":" + q(ravi.id) + "}",
        Code::not_found);
  // A viewer may not assign.
  User viewer = user("v@a.example", "viewer");
  fails("threads.unassign", "{\"id\":" + q(t) + "}", Code::permission_denied, viewer.key);
}

TEST_P(ThreadOpsTest, FollowUnfollowAndFollowers) {
  User ravi = user("ravi@a.example", "agent");
  User asha = user("asha@a.example", "agent");
  User boss = user("boss@a.example", "manager");
  std::string t = thread("Follow me");
  EXPECT_TRUE(followers(t).empty());

  auto f = ok("threads.follow", "{\"id\":" + q(t) + "}", ravi.key);
  EXPECT_EQ(str(f, "user_id"), ravi.id);
  EXPECT_TRUE(f["following"].GetBool());
  ok("threads.follow", "{\"id\":" + q(t) + "}", ravi.key);  // twice is once
  EXPECT_EQ(followers(t), std::set<std::string>{ravi.id});
  EXPECT_EQ(events("thread.followed").size(), 1u);

  // Someone else: manager or admin only.
  fails("threads.follow", "{\"id\":" + q(t) + ",\"user_id\":" + q(asha.id) + "}",
        Code::permission_denied, ravi.key);
  ok("threads.follow", "{\"id\":" + q(t) + ",\"user_id\":" + q(asha.id) + "}", boss.key);
  EXPECT_EQ(followers(t), (std::set<std::string>{ravi.id, asha.id}));
  // An API key without a user must name one.
  auto msg = fails("threads.follow", "{\"id\":" + q(t) + "}", Code::invalid_argument);
  EXPECT_NE(msg.find("user_id"), std::string::npos) << msg;
  fails("threads.follow", "{\"id\":" + q(t) + ",\"user_id\":" + q(kMissing) + "}", Code::not_found);

  auto un = ok("threads.unfollow", "{\"id\":" + q(t) + "}", ravi.key);
  EXPECT_FALSE(un["following"].GetBool());
  EXPECT_EQ(followers(t), std::set<std::string>{asha.id});
  EXPECT_EQ(events("thread.unfollowed").size(), 1u);
  fails("threads.followers", "{\"id\":" + q(kMissing) + "}", Code::not_found);

  // Note authors follow on their own.
  ok("messages.create_note", "{\"thread_id\":" + q(t) + ",\"text\":\"checking\"}", ravi.key);
  EXPECT_EQ(followers(t), (std::set<std::string>{ravi.id, asha.id}));
}

TEST_P(ThreadOpsTest, MergeMovesEverythingAndMarksTheSource) {
  User ravi = user("ravi@a.example", "agent");
  User asha = user("asha@a.example", "agent");
  std::string target = thread("Target");
  std::string source = str(ok("threads.create",
                              "{\"subject\":\"Source\",\"channel\":\"whatsapp\","
                              "\"tags\":[\"vip\"]}"),
                           "id");
  inbound(target, "t1@acme.example", "Mon, 02 Nov 2026 10:00:00 +0000");
  inbound(source, "s1@acme.example", "Mon, 02 Nov 2026 11:00:00 +0000");
  inbound(source, "s2@acme.example", "Mon, 02 Nov 2026 12:00:00 +0000");
  std::string note =
      str(ok("messages.create_note", "{\"thread_id\":" + q(source) + ",\"text\":\"n\"}", asha.key),
          "id");
  ok("threads.follow", "{\"id\":" + q(target) + "}", ravi.key);
  std::string s = str(ok("shipments.create", R"({"mode":"ocean"})"), "id");
  ok("shipments.link_thread", "{\"shipment_id\":" + q(s) + ",\"thread_id\":" + q(source) + "}");
  auto src_ids = message_ids(source);
  ASSERT_EQ(src_ids.size(), 3u);

  auto m = ok("threads.merge", "{\"id\":" + q(target) + ",\"source_id\":" + q(source) + "}");
  EXPECT_EQ(str(m, "id"), target);
  EXPECT_EQ(m["message_count"].GetInt(), 3);  // notes are not counted
  EXPECT_EQ(str(m, "last_message_at"), "2026-11-02T12:00:00.000Z");
  std::set<std::string> channels;
  for (auto& ch : m["channels"].GetArray()) channels.insert(ch.GetString());
  EXPECT_EQ(channels, (std::set<std::string>{"email", "whatsapp"}));
  EXPECT_EQ(m["tags"].Size(), 1u);
  auto ids = message_ids(target);
  EXPECT_EQ(ids.size(), 4u);
  for (const auto& id : src_ids) EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
  EXPECT_NE(std::find(ids.begin(), ids.end(), note), ids.end());
  EXPECT_EQ(followers(target), (std::set<std::string>{ravi.id, asha.id}));
  auto sh = ok("shipments.get", "{\"id\":" + q(s) + "}");
  ASSERT_EQ(sh["thread_ids"].Size(), 1u);
  EXPECT_EQ(std::string(sh["thread_ids"][0].GetString()), target);

  auto gone = ok("threads.get", "{\"id\":" + q(source) + "}");
  EXPECT_EQ(str(gone, "status"), "closed");
  EXPECT_EQ(gone["message_count"].GetInt(), 0);
  Document list3 = ok("threads.list", "{}");
  for (auto& t : list3["items"].GetArray()) EXPECT_NE(str(t, "id"), source);
  auto merged = events("thread.merged");
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(str(merged[0], "thread_id"), target);
  EXPECT_EQ(str(merged[0], "merged_thread_id"), source);
  // A later reply to the source's messages lands in the survivor.
  auto r = inbound(source, "s3@acme.example", "Mon, 02 Nov 2026 13:00:00 +0000");
  EXPECT_EQ(str(r, "thread_id"), target);

  fails("threads.merge", "{\"id\":" + q(target) + ",\"source_id\":" + q(source) + "}",
        Code::conflict);
  fails("threads.merge", "{\"id\":" + q(target) + ",\"source_id\":" + q(target) + "}",
        Code::invalid_argument);
  auto msg = fails("threads.merge", "{\"id\":" + q(target) + ",\"source_id\":" + q(kMissing) + "}",
                   Code::not_found);
  EXPECT_NE(msg.find("source_id"), std::string::npos) << msg;
}

TEST_P(ThreadOpsTest, SplitMovesMessagesAndFixesCounts) {
  User ravi = user("ravi@a.example", "agent");
  std::string t = thread("Two bookings");
  ok("threads.follow", "{\"id\":" + q(t) + "}", ravi.key);
  inbound(t, "a1@acme.example", "Mon, 02 Nov 2026 10:00:00 +0000");
  inbound(t, "a2@acme.example", "Mon, 02 Nov 2026 11:00:00 +0000");
  inbound(t, "a3@acme.example", "Mon, 02 Nov 2026 12:00:00 +0000");
  auto ids = message_ids(t);
  ASSERT_EQ(ids.size(), 3u);

  // An action born from the middle message, and one from the first.
  std::string act1 = str(ok("actions.create",
                            "{\"title\":\"Check B/L\",\"message_id\":" + q(ids[1]) + "}"),
                         "id");
  std::string act0 = str(ok("actions.create",
                            "{\"title\":\"Book truck\",\"message_id\":" + q(ids[0]) + "}"),
                         "id");

  // The middle message alone.
  auto one = ok("threads.split", "{\"message_id\":" + q(ids[1]) + ",\"subject\":\"Booking 2\"}");
  std::string n1 = str(one["thread"], "id");
  EXPECT_EQ(str(one["thread"], "subject"), "Booking 2");
  EXPECT_EQ(one["thread"]["message_count"].GetInt(), 1);
  EXPECT_EQ(str(one["thread"], "last_message_at"), "2026-11-02T11:00:00.000Z");
  EXPECT_EQ(one["source_thread"]["message_count"].GetInt(), 2);
  EXPECT_EQ(str(one["source_thread"], "last_message_at"), "2026-11-02T12:00:00.000Z");
  EXPECT_EQ(message_ids(n1), std::vector<std::string>{ids[1]});
  EXPECT_EQ(message_ids(t), (std::vector<std::string>{ids[0], ids[2]}));
  EXPECT_EQ(followers(n1), std::set<std::string>{ravi.id});
  // Actions go with their message.
  EXPECT_EQ(str(ok("actions.get", "{\"id\":" + q(act1) + "}"), "thread_id"), n1);
  EXPECT_EQ(str(ok("actions.get", "{\"id\":" + q(act0) + "}"), "thread_id"), t);
  auto created = events("thread.created");
  ASSERT_FALSE(created.empty());
  EXPECT_EQ(str(created.back(), "id"), n1);
  auto updated = events("thread.updated");
  ASSERT_FALSE(updated.empty());
  EXPECT_EQ(str(updated.back(), "id"), t);
  // A reply to the moved message follows it.
  std::string raw =
      "From: priya@acme.example\r\nSubject: Re: b2\r\nMessage-ID: <a2r@acme.example>\r\n"
      "In-Reply-To: <a2@acme.example>\r\n\r\nreply\r\n";
  EXPECT_EQ(str(ok("inbound.email", "{\"raw\":" + q(raw) + "}"), "thread_id"), n1);

  // The first message with everything after it would empty the thread.
  fails("threads.split", "{\"message_id\":" + q(ids[0]) + ",\"include_later\":true}",
        Code::conflict);
  // The last one with include_later: takes just that one (nothing after it).
  auto two = ok("threads.split", "{\"message_id\":" + q(ids[2]) + ",\"include_later\":true}");
  EXPECT_EQ(str(two["thread"], "subject"), "Two bookings");
  EXPECT_EQ(two["moved_message_ids"].Size(), 1u);
  EXPECT_EQ(two["source_thread"]["message_count"].GetInt(), 1);
  EXPECT_EQ(str(two["source_thread"], "last_message_at"), "2026-11-02T10:00:00.000Z");
  fails("threads.split", "{\"message_id\":" + q(kMissing) + "}", Code::not_found);
}

TEST_P(ThreadOpsTest, SplitWithLaterMessages) {
  std::string t = thread("Long thread");
  for (int i = 0; i < 4; ++i)
    inbound(t, "m" + std::to_string(i) + "@acme.example",
            "Mon, 02 Nov 2026 1" + std::to_string(i) + ":00:00 +0000");
  auto ids = message_ids(t);
  ASSERT_EQ(ids.size(), 4u);
  auto s = ok("threads.split", "{\"message_id\":" + q(ids[1]) + ",\"include_later\":true}");
  std::string n = str(s["thread"], "id");
  EXPECT_EQ(message_ids(n), (std::vector<std::string>{ids[1], ids[2], ids[3]}));
  EXPECT_EQ(message_ids(t), std::vector<std::string>{ids[0]});
  EXPECT_EQ(s["thread"]["message_count"].GetInt(), 3);
  EXPECT_EQ(str(s["thread"], "last_message_at"), "2026-11-02T13:00:00.000Z");
  EXPECT_EQ(s["source_thread"]["message_count"].GetInt(), 1);
}

TEST_P(ThreadOpsTest, BulkUpdateIsAllOrNothing) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(thread("bulk " + std::to_string(i)));
  std::string tb = str(ok("threads.create", R"({"subject":"B's"})", key_b), "id");
  auto list = [&](std::vector<std::string> v) {
    std::string j = "[";
    for (size_t i = 0; i < v.size(); ++i) j += (i ? "," : "") + q(v[i]);
    return j + "]";
  };
  size_t before = events("thread.updated").size();

  // One id of another organization: not_found, nothing changed, no event.
  auto msg =
      fails("threads.bulk_update",
            "{\"ids\":" + list({ids[0], ids[1], tb}) + ",\"status\":\"closed\"}", Code::not_found);
  EXPECT_NE(msg.find(tb), std::string::npos) << msg;
  for (const auto& id : ids)
    EXPECT_EQ(str(ok("threads.get", "{\"id\":" + q(id) + "}"), "status"), "open");
  EXPECT_EQ(events("thread.updated").size(), before);

  auto r = ok("threads.bulk_update",
              "{\"ids\":" + list({ids[0], ids[1], ids[2], ids[0]}) + ",\"status\":\"resolved\"}");
  EXPECT_EQ(r["updated"].GetInt(), 3);
  for (const auto& id : ids)
    EXPECT_EQ(str(ok("threads.get", "{\"id\":" + q(id) + "}"), "status"), "resolved");
  auto upd = events("thread.updated");
  ASSERT_EQ(upd.size(), before + 3);
  std::set<std::string> seen;
  for (size_t i = before; i < upd.size(); ++i) seen.insert(str(upd[i], "id"));
  EXPECT_EQ(seen, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_EQ(str(ok("threads.get", "{\"id\":" + q(tb) + "}", key_b), "status"), "open");

  // Limits and bad input.
  std::vector<std::string> many(201, ids[0]);
  fails("threads.bulk_update", "{\"ids\":" + list(many) + ",\"status\":\"closed\"}",
        Code::invalid_argument);
  fails("threads.bulk_update", "{\"ids\":[],\"status\":\"closed\"}", Code::invalid_argument);
  fails("threads.bulk_update", "{\"ids\":" + list({ids[0]}) + ",\"status\":\"gone\"}",
        Code::invalid_argument);
}

BX_INSTANTIATE_BACKENDS(ThreadOpsTest);
