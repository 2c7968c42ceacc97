// actions.* through Engine::call, on every backend.
#include <gtest/gtest.h>

#include <set>

#include "store/db.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using bxtest::str;

namespace {
const char* kMissing = "0190a0a0-0000-7000-8000-000000000999";
}

class ActionsTest : public bxtest::EngineTest {
 protected:
  std::string make_action(const std::string& title, const std::string& extra = "",
                          const std::string& key = "") {
    return str(ok("actions.create", "{\"title\":\"" + title + "\"" + extra + "}", key), "id");
  }
  std::string id_param(const std::string& id, const std::string& extra = "") {
    return "{\"id\":\"" + id + "\"" + extra + "}";
  }
  int64_t audit_rows(const std::string& target) {
    banxway::store::DbOptions o;
    o.readers = 1;
    o.apply_migrations = false;
    auto db = banxway::store::open(url, o);
    EXPECT_TRUE(db.ok()) << db.status().to_string();
    if (!db.ok()) return -1;
    auto r = (*db)->query("SELECT COUNT(*) FROM audit WHERE org_id = ? AND target_id = ?",
                          {org_a, target});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->rows[0].int64(0) : -1;
  }
};

TEST_P(ActionsTest, CreateGetUpdateRoundTrip) {
  auto user = ok("users.create", R"({"email":"ops@forwarder.example","role":"agent"})");
  std::string uid = str(user, "id");
  auto d = ok(
      "actions.create",
      R"({"title":"Send revised quote","description":"40HC Nhava Sheva to Jebel Ali","due_at":"2030-03-01T17:30:00+05:30","assignee_id":")" +
          uid + "\"}");
  std::string id = str(d, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(str(d, "title"), "Send revised quote");
  EXPECT_EQ(str(d, "type"), "task");
  EXPECT_EQ(str(d, "status"), "open");
  EXPECT_EQ(str(d, "due_at"), "2030-03-01T12:00:00.000Z");  // normalized to UTC
  EXPECT_EQ(str(d, "assignee_id"), uid);
  EXPECT_TRUE(d["thread_id"].IsNull());
  EXPECT_TRUE(d["message_id"].IsNull());
  EXPECT_FALSE(str(d, "created_by").empty());  // the calling API key

  auto g = ok("actions.get", id_param(id));
  EXPECT_EQ(banxway::json::stringify(g), banxway::json::stringify(d));

  auto u = ok(
      "actions.update",
      id_param(
          id,
          R"(,"status":"in_progress","title":"Send quote v2","due_at":"2030-03-02T00:00:00Z","description":null)"));
  EXPECT_EQ(str(u, "status"), "in_progress");
  EXPECT_EQ(str(u, "title"), "Send quote v2");
  EXPECT_EQ(str(u, "due_at"), "2030-03-02T00:00:00.000Z");
  EXPECT_TRUE(u["description"].IsNull());
  EXPECT_EQ(str(u, "assignee_id"), uid);  // untouched
  auto un =
      ok("actions.update", id_param(id, R"(,"assignee_id":null,"due_at":null,"status":"done")"));
  EXPECT_TRUE(un["assignee_id"].IsNull());
  EXPECT_TRUE(un["due_at"].IsNull());
  EXPECT_EQ(str(un, "status"), "done");
  EXPECT_EQ(audit_rows(id), 3);
}

TEST_P(ActionsTest, ActionsOnThreadsAndMessagesCarryTheThread) {
  std::string t = str(ok("threads.create", R"({"subject":"Customs hold"})"), "id");
  std::string t2 = str(ok("threads.create", R"({"subject":"Other"})"), "id");
  auto note = ok("messages.create_note",
                 "{\"thread_id\":\"" + t + "\",\"text\":\"CHA needs the invoice\"}");
  std::string m = str(note, "id");
  auto a =
      ok("actions.create",
         "{\"title\":\"Chase invoice\",\"type\":\"document_request\",\"thread_id\":\"" + t + "\"}");
  EXPECT_EQ(str(a, "thread_id"), t);
  EXPECT_EQ(str(a, "type"), "document_request");
  // From a message alone: the message's thread is the action's thread.
  auto b = ok("actions.create", "{\"title\":\"Reply\",\"message_id\":\"" + m + "\"}");
  EXPECT_EQ(str(b, "thread_id"), t);
  EXPECT_EQ(str(b, "message_id"), m);
  ok("actions.create",
     "{\"title\":\"Both\",\"message_id\":\"" + m + "\",\"thread_id\":\"" + t + "\"}");
  auto msg =
      fails("actions.create",
            "{\"title\":\"Mismatch\",\"message_id\":\"" + m + "\",\"thread_id\":\"" + t2 + "\"}",
            Code::invalid_argument);
  EXPECT_EQ(msg.rfind("message_id", 0), 0u) << msg;
  ok("actions.update", id_param(str(a, "id"), R"(,"status":"done")"));

  // Events: created and updated, with the thread set.
  auto ev = ok("events.list", R"({"after":0,"limit":1000})");
  int created = 0, updated = 0;
  for (auto& e : ev["items"].GetArray()) {
    std::string type = str(e, "type");
    if (type == "action.created") {
      ++created;
      EXPECT_EQ(str(e, "thread_id"), t);
      EXPECT_EQ(str(e, "subject_type"), "action");
      EXPECT_EQ(str(e["data"], "id"), str(e, "subject_id"));
    } else if (type == "action.updated") {
      ++updated;
      EXPECT_EQ(str(e, "thread_id"), t);
      EXPECT_EQ(str(e["data"], "status"), "done");
    }
  }
  EXPECT_EQ(created, 3);
  EXPECT_EQ(updated, 1);
  // An action with no thread has no thread on its event.
  make_action("Standalone");
  auto last = ok("events.list", R"({"after":0,"limit":1000})");
  auto& e = last["items"][last["items"].Size() - 1];
  EXPECT_EQ(str(e, "type"), "action.created");
  EXPECT_TRUE(e["thread_id"].IsNull());
}

TEST_P(ActionsTest, ListPaginatesNewestFirstWithoutGapsOrDuplicates) {
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(make_action("a" + std::to_string(i)));
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto d = ok("actions.list",
                "{\"limit\":3" + (cursor.empty() ? "" : ",\"cursor\":\"" + cursor + "\"") + "}");
    ++pages;
    for (auto& a : d["items"].GetArray()) seen.push_back(str(a, "id"));
    cursor = d["next_cursor"].IsNull() ? "" : d["next_cursor"].GetString();
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  std::vector<std::string> want(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, want);  // newest first, each once
  fails("actions.list", R"({"cursor":"garbage!"})", Code::invalid_argument);
  fails("actions.list", R"({"limit":0})", Code::invalid_argument);
}

TEST_P(ActionsTest, ListFilters) {
  auto user = ok("users.create", R"({"email":"a@forwarder.example","role":"agent"})");
  std::string uid = str(user, "id");
  std::string t = str(ok("threads.create", R"({"subject":"x"})"), "id");
  make_action("on thread", ",\"thread_id\":\"" + t + "\"");
  std::string mine = make_action("mine", ",\"assignee_id\":\"" + uid + "\"");
  make_action("both", ",\"assignee_id\":\"" + uid + "\",\"thread_id\":\"" + t + "\"");
  make_action("loose");
  ok("actions.update", id_param(mine, R"(,"status":"done")"));
  EXPECT_EQ(ok("actions.list", "{\"thread_id\":\"" + t + "\"}")["items"].Size(), 2u);
  EXPECT_EQ(ok("actions.list", "{\"assignee_id\":\"" + uid + "\"}")["items"].Size(), 2u);
  EXPECT_EQ(ok("actions.list", R"({"status":"open"})")["items"].Size(), 3u);
  EXPECT_EQ(ok("actions.list", R"({"status":"done"})")["items"].Size(), 1u);
  EXPECT_EQ(ok("actions.list", "{\"status\":\"open\",\"assignee_id\":\"" + uid +
                                   "\",\"thread_id\":\"" + t + "\"}")["items"]
                .Size(),
            1u);
  EXPECT_EQ(ok("actions.list", "{}")["items"].Size(), 4u);
  fails("actions.list", R"({"status":"later"})", Code::invalid_argument);
}

TEST_P(ActionsTest, ValidationErrors) {
  fails("actions.create", R"({})", Code::invalid_argument);
  fails("actions.create", R"({"title":""})", Code::invalid_argument);
  fails("actions.create", "{\"title\":\"" + std::string(501, 't') + "\"}", Code::invalid_argument);
  fails("actions.create", R"({"title":"x","type":")" + std::string(51, 'y') + "\"}",
        Code::invalid_argument);
  fails("actions.create", "{\"title\":\"x\",\"description\":\"" + std::string(10001, 'd') + "\"}",
        Code::invalid_argument);
  fails("actions.create", R"({"title":"x","status":"open"})",
        Code::invalid_argument);  // not a create field
  fails("actions.create", R"({"title":"x","due_at":"tomorrow"})", Code::invalid_argument);
  fails("actions.create", R"({"title":"x","due_at":"2030-01-01T10:00:00"})",
        Code::invalid_argument);
  fails("actions.create", R"({"title":["x"]})", Code::invalid_argument);
  for (const char* f : {"thread_id", "message_id", "assignee_id"}) {
    auto msg =
        fails("actions.create", std::string("{\"title\":\"x\",\"") + f + "\":\"" + kMissing + "\"}",
              Code::not_found);
    EXPECT_NE(msg.find(f), std::string::npos) << msg;
  }
  std::string id = make_action("ok");
  fails("actions.update", id_param(id, R"(,"status":"finished")"), Code::invalid_argument);
  fails("actions.update", id_param(id, R"(,"title":null)"), Code::invalid_argument);
  fails("actions.update", id_param(id, R"(,"type":"call")"), Code::invalid_argument);
  fails("actions.update", id_param(id, std::string(",\"assignee_id\":\"") + kMissing + "\""),
        Code::not_found);
  fails("actions.update", id_param(kMissing, R"(,"status":"done")"), Code::not_found);
  auto g = ok("actions.get", id_param(id));
  EXPECT_EQ(str(g, "status"), "open");
  EXPECT_EQ(ok("actions.list", "{}")["items"].Size(), 1u);
  // Failed writes emitted nothing: org.created and the one action.created.
  EXPECT_EQ(ok("events.list", R"({"after":0})")["items"].Size(), 2u);
  EXPECT_EQ(audit_rows(id), 1);
}

TEST_P(ActionsTest, TenantIsolation) {
  std::string t = str(ok("threads.create", R"({"subject":"A's"})"), "id");
  auto note = ok("messages.create_note", "{\"thread_id\":\"" + t + "\",\"text\":\"x\"}");
  auto ua = ok("users.create", R"({"email":"u@a.example","role":"agent"})");
  std::string id = make_action(
      "A's task", ",\"thread_id\":\"" + t + "\",\"assignee_id\":\"" + str(ua, "id") + "\"");
  fails("actions.get", id_param(id), Code::not_found, key_b);
  fails("actions.update", id_param(id, R"(,"status":"cancelled")"), Code::not_found, key_b);
  EXPECT_EQ(ok("actions.list", "{}", key_b)["items"].Size(), 0u);
  EXPECT_EQ(ok("actions.list", "{\"thread_id\":\"" + t + "\"}", key_b)["items"].Size(), 0u);
  EXPECT_EQ(
      ok("actions.list", "{\"assignee_id\":\"" + str(ua, "id") + "\"}", key_b)["items"].Size(), 0u);
  EXPECT_EQ(str(ok("actions.get", id_param(id)), "status"), "open");
  // Org A's thread, message and user cannot be referenced from org B.
  fails("actions.create", "{\"title\":\"x\",\"thread_id\":\"" + t + "\"}", Code::not_found, key_b);
  fails("actions.create", "{\"title\":\"x\",\"message_id\":\"" + str(note, "id") + "\"}",
        Code::not_found, key_b);
  fails("actions.create", "{\"title\":\"x\",\"assignee_id\":\"" + str(ua, "id") + "\"}",
        Code::not_found, key_b);
  std::string b = make_action("B's", "", key_b);
  fails("actions.update", id_param(b, ",\"assignee_id\":\"" + str(ua, "id") + "\""),
        Code::not_found, key_b);
}

TEST_P(ActionsTest, Permissions) {
  std::string viewer = key_with_role("viewer");
  std::string agent = key_with_role("agent");
  std::string id = make_action("Perm");
  ok("actions.list", "{}", viewer);
  ok("actions.get", id_param(id), viewer);
  fails("actions.create", R"({"title":"x"})", Code::permission_denied, viewer);
  fails("actions.update", id_param(id, R"(,"status":"done")"), Code::permission_denied, viewer);
  auto a = ok("actions.create", R"({"title":"by agent"})", agent);
  EXPECT_NE(str(a, "created_by"), str(ok("actions.get", id_param(id)), "created_by"));
  ok("actions.update", id_param(id, R"(,"status":"done")"), agent);
}

BX_INSTANTIATE_BACKENDS(ActionsTest);
