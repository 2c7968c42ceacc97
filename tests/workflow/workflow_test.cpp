// Workflows end to end through Engine::call on every backend: definitions and their validation,
// matching, runs and history, waits on a fake clock (also across an engine restart), retries,
// the loop guard and chain limit, dry runs and manual runs.
#include <gtest/gtest.h>

#include <atomic>

#include "core/env.hpp"
#include "store/db.hpp"
#include "support/engine_fixture.hpp"
#include "support/http_stub.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;

namespace {

banxway::TimePoint at(const char* iso) {
  banxway::TimePoint t;
  EXPECT_TRUE(banxway::parse_time(iso, &t)) << iso;
  return t;
}

std::string q(const std::string& s) { return banxway::json::quote(s); }

// The issue's example, with the escalation going to managers.
const char* kUrgent = R"({"name": "Urgent from key accounts", "enabled": true, "priority": 10,
 "trigger": {"event": "message.received"},
 "conditions": {"all": [{"field": "message.direction", "op": "eq", "value": "inbound"},
                        {"any": [{"field": "message.subject", "op": "contains", "value": "urgent"},
                                 {"field": "customer.tier", "op": "eq", "value": "key"}]}]},
 "steps": [{"action": "set_priority", "value": "high"},
           {"action": "add_tag", "value": "urgent"},
           {"action": "wait", "for": "PT2H", "until_event": "note.created", "on_timeout": "escalate"},
           {"id": "escalate", "action": "notify", "to": {"role": "manager"}, "text": "No reply in 2 h: {{thread.subject}}"}]})";

}  // namespace

class WorkflowTest : public bxtest::EngineTest {
 protected:
  void configure(banxway::EngineOptions& o) override {
    clock = std::make_shared<banxway::FakeClock>(at("2026-03-10T09:00:00Z"));
    o.clock = clock;
    o.watch_mail = false;
    o.workflow_max_chain_depth = 3;
    o.workflow_webhooks_allow_private_network = true;  // the receiver is on loopback
  }
  // Runs the engine until nothing is left to do right now.
  void drain() {
    for (int i = 0; i < 100; ++i) {
      auto n = engine->run_pending();
      ASSERT_TRUE(n.ok()) << n.status().to_string();
      if (*n == 0) return;
    }
    FAIL() << "the engine never ran out of work";
  }
  Document inbound(const std::string& from, const std::string& subject, const std::string& id) {
    std::string raw = "From: " + from + "\r\nTo: desk@a.example\r\nSubject: " + subject +
                      "\r\nMessage-ID: <" + id + ">\r\nDate: Tue, 10 Mar 2026 09:00:00 +0000\r\n"
                      "\r\nPlease check the container status.\r\n";
    return ok("inbound.email", "{\"raw\":" + q(raw) + "}");
  }
  std::string create(const std::string& def) { return str(ok("workflows.create", def), "id"); }
  Document runs_of(const std::string& wf) {
    return ok("workflows.runs", "{\"id\":" + q(wf) + "}");
  }
  Document run(const std::string& id) { return ok("workflow_runs.get", "{\"id\":" + q(id) + "}"); }
  Document thread(const std::string& id) { return ok("threads.get", "{\"id\":" + q(id) + "}"); }
  int64_t notifications(const std::string& user) {
    return count("SELECT count(*) FROM notifications WHERE user_id = ? AND kind = 'workflow'", {user});
  }
  void advance(std::chrono::milliseconds d) { clock->advance(d); }

  std::shared_ptr<banxway::FakeClock> clock;
};

TEST_P(WorkflowTest, ValidationNamesTheOffendingPath) {
  struct Case {
    const char* def;
    const char* path;
  } cases[] = {
      {R"({"name":"x","trigger":{"event":"message.received"},"conditions":{"all":[{"field":"thread.status","op":"eq","value":"open"},{"any":[{"field":"message.subject","op":"like","value":"x"}]}]},"steps":[{"action":"stop"}]})",
       "conditions.all[1].any[0].op: unknown operator"},
      {R"({"name":"x","trigger":{"event":"message.received"},"steps":[{"action":"add_tag","value":"a"},{"action":"wait","for":"2 hours"}]})",
       "steps[1].for:"},
      {R"({"name":"x","trigger":{"event":"message.received"},"steps":[{"action":"wait","for":"PT1H","on_timeout":"nowhere"}]})",
       "steps[0].on_timeout: no step with id \"nowhere\""},
      {R"({"name":"x","trigger":{"event":"Message Received"},"steps":[{"action":"stop"}]})",
       "trigger.event: not an event type"},
      {R"({"name":"x","trigger":{"schedule":"61 * * * *"},"steps":[{"action":"stop"}]})",
       "trigger.schedule:"},
      {R"({"name":"x","trigger":{"event":"thread.updated"},"conditions":{"field":"vessel.name","op":"eq","value":"x"},"steps":[{"action":"stop"}]})",
       "conditions.field: unknown record \"vessel\""},
      {R"({"name":"x","trigger":{"event":"thread.updated"},"conditions":{"field":"message.subject","op":"matches","value":"(unclosed"},"steps":[{"action":"stop"}]})",
       "conditions.value: bad regular expression"},
      {R"({"name":"x","trigger":{"event":"thread.updated"},"steps":[{"action":"teleport"}]})",
       "steps[0].action: unknown action \"teleport\""},
      {R"({"name":"x","trigger":{"event":"thread.updated"},"steps":[{"action":"notify","to":{"role":"captain"},"text":"hi"}]})",
       "steps[0].to.role:"},
      {R"({"name":"x","trigger":{"event":"thread.updated"},"steps":[{"action":"add_note","text":"{{thread.subject"}]})",
       "steps[0].text: a \"{{\" without its \"}}\""},
      {R"({"name":"x","trigger":{"event":"thread.updated"},"retry":{"backoff":"soon"},"steps":[{"action":"stop"}]})",
       "retry.backoff:"},
      {R"({"name":"x","trigger":{"relative":{"field":"shipment.weight","offset":"PT1H"}},"steps":[{"action":"stop"}]})",
       "trigger.relative.field: must be one of"},
  };
  for (const auto& c : cases) {
    std::string msg = fails("workflows.create", c.def, Code::invalid_argument);
    EXPECT_NE(msg.find(c.path), std::string::npos) << "message: " << msg << "\nexpected: " << c.path;
  }
  EXPECT_EQ(count("SELECT count(*) FROM workflows", {}), 0);  // nothing half-saved
}

TEST_P(WorkflowTest, UrgentMailIsPrioritizedTaggedAndEscalatedAfterTwoHours) {
  auto manager = make_user("lead@a.example", "manager", "Lead");
  std::string wf = create(kUrgent);
  auto m = inbound("buyer@customer.example", "URGENT: container held at Jebel Ali", "u1@customer.example");
  std::string tid = str(m, "thread_id");
  drain();
  auto t = thread(tid);
  EXPECT_EQ(str(t, "priority"), "high");
  ASSERT_TRUE(t["tags"].IsArray());
  ASSERT_EQ(t["tags"].Size(), 1u);
  EXPECT_STREQ(t["tags"][0].GetString(), "urgent");

  auto runs = runs_of(wf);
  ASSERT_EQ(runs["items"].Size(), 1u);
  std::string rid = str(runs["items"][0], "id");
  EXPECT_EQ(str(runs["items"][0], "status"), "waiting");
  EXPECT_EQ(str(runs["items"][0], "wait_until"), "2026-03-10T11:00:00.000Z");
  EXPECT_EQ(notifications(manager.id), 0);

  // One second early: still waiting.
  advance(std::chrono::hours(2) - std::chrono::seconds(1));
  drain();
  EXPECT_EQ(str(run(rid), "status"), "waiting");
  EXPECT_EQ(notifications(manager.id), 0);
  advance(std::chrono::seconds(1));
  drain();
  auto r = run(rid);
  EXPECT_EQ(str(r, "status"), "completed");
  EXPECT_EQ(notifications(manager.id), 1);
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE user_id = ? AND title = ?",
                  {manager.id, "No reply in 2 h: URGENT: container held at Jebel Ali"}),
            1);
  // The history: trigger, two steps, the wait, its timeout, the notification.
  std::vector<std::string> actions;
  for (const auto& h : r["history"].GetArray()) actions.emplace_back(h["action"].GetString());
  EXPECT_EQ(actions, (std::vector<std::string>{"trigger", "set_priority", "add_tag", "wait", "wait",
                                               "notify"}));
  // Changes made by the workflow are recorded as the workflow's.
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type = 'thread.updated' AND actor = ? AND "
                  "depth = 1",
                  {"workflow:" + wf}),
            2);
}

TEST_P(WorkflowTest, TheAwaitedEventEndsTheWaitWithoutEscalation) {
  auto manager = make_user("lead@a.example", "manager");
  std::string wf = create(kUrgent);
  std::string tid = str(inbound("buyer@customer.example", "urgent: BL correction", "u2@c.example"), "thread_id");
  drain();
  ok("messages.create_note", "{\"thread_id\":" + q(tid) + ",\"text\":\"On it, calling the line.\"}");
  drain();
  auto runs = runs_of(wf);
  ASSERT_EQ(runs["items"].Size(), 1u);
  EXPECT_EQ(str(runs["items"][0], "status"), "completed");
  advance(std::chrono::hours(3));
  drain();  // the stale timer finds nothing to do
  EXPECT_EQ(notifications(manager.id), 0);
  auto r = run(str(runs["items"][0], "id"));
  EXPECT_EQ(str(r["history"][r["history"].Size() - 1], "action"), "resume");
}

TEST_P(WorkflowTest, ConditionsDecideAndKeyAccountsMatchByTier) {
  std::string wf = create(kUrgent);
  ok("customers.create", R"({"name":"Big Shipper","tier":"key","domains":["bigshipper.example"]})");
  inbound("ops@small.example", "Weekly schedule", "n1@small.example");  // neither urgent nor key
  std::string key_thread =
      str(inbound("ops@bigshipper.example", "Weekly schedule", "n2@bigshipper.example"), "thread_id");
  drain();
  auto runs = runs_of(wf);
  ASSERT_EQ(runs["items"].Size(), 1u);
  EXPECT_EQ(str(runs["items"][0], "thread_id"), key_thread);
  // Disabled: no more runs; the update is a new version.
  auto u = ok("workflows.update", "{\"id\":" + q(wf) + ",\"enabled\":false}");
  EXPECT_EQ(u["version"].GetInt(), 2);
  inbound("ops@bigshipper.example", "Another one", "n3@bigshipper.example");
  drain();
  EXPECT_EQ(runs_of(wf)["items"].Size(), 1u);
  EXPECT_EQ(ok("workflows.versions", "{\"id\":" + q(wf) + "}")["items"].Size(), 2u);
}

TEST_P(WorkflowTest, AWorkflowIgnoresItsOwnChangesAndChainsStopAtTheLimit) {
  // Reacts to its own kind of change: without the guard it would loop forever.
  std::string self = create(R"({"name":"self","trigger":{"event":"thread.updated"},
      "conditions":{"field":"thread.tags","op":"contains","value":"start"},
      "steps":[{"action":"add_tag","value":"seen-{{event.id}}"}]})");
  std::string tid = str(ok("threads.create", R"({"subject":"loop test"})"), "id");
  ok("threads.update", "{\"id\":" + q(tid) + ",\"tags\":[\"start\"]}");
  drain();
  EXPECT_EQ(runs_of(self)["items"].Size(), 1u);
  ok("workflows.delete", "{\"id\":" + q(self) + "}");

  // Two workflows that undo each other: low -> high -> low -> ... stops at depth 3.
  std::string up = create(R"({"name":"up","trigger":{"event":"thread.updated"},
      "conditions":{"all":[{"field":"thread.priority","op":"eq","value":"low"},
                           {"field":"thread.priority","op":"changed"}]},
      "steps":[{"action":"set_priority","value":"high"}]})");
  std::string down = create(R"({"name":"down","trigger":{"event":"thread.updated"},
      "conditions":{"all":[{"field":"thread.priority","op":"changed_to","value":"high"}]},
      "steps":[{"action":"set_priority","value":"low"}]})");
  std::string t2 = str(ok("threads.create", R"({"subject":"ping pong"})"), "id");
  ok("threads.update", "{\"id\":" + q(t2) + ",\"priority\":\"low\"}");  // depth 0
  drain();
  // up (depth 1) -> down (2) -> up (3) -> down would be 4: recorded as skipped.
  auto ups = runs_of(up);
  auto downs = runs_of(down);
  ASSERT_EQ(ups["items"].Size(), 2u);
  ASSERT_EQ(downs["items"].Size(), 2u);
  int skipped = 0;
  for (const auto& r : downs["items"].GetArray())
    if (std::string(r["status"].GetString()) == "skipped") {
      ++skipped;
      EXPECT_NE(std::string(r["error"].GetString()).find("chain depth limit"), std::string::npos);
    }
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(str(thread(t2), "priority"), "high");
}

TEST_P(WorkflowTest, ARunContinuesAfterARestartExactlyOnce) {
  auto manager = make_user("lead@a.example", "manager");
  std::string wf = create(R"({"name":"remind","trigger":{"event":"thread.created"},
      "steps":[{"action":"wait","for":"PT1H"},
               {"action":"notify","to":{"role":"manager"},"text":"Still open: {{thread.subject}}"}]})");
  ok("threads.create", R"({"subject":"Reefer temperature alarm"})");
  drain();
  ASSERT_EQ(str(runs_of(wf)["items"][0], "status"), "waiting");

  // A new engine on the same database: the timer is a row, not a thread.
  engine.reset();
  banxway::EngineOptions o;
  o.database_url = url;
  configure(o);
  clock->set(at("2026-03-10T10:00:00Z"));
  auto e = banxway::Engine::open(o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  engine = std::move(e).value();
  drain();
  EXPECT_EQ(str(runs_of(wf)["items"][0], "status"), "completed");
  EXPECT_EQ(notifications(manager.id), 1);
  advance(std::chrono::hours(5));
  drain();
  EXPECT_EQ(notifications(manager.id), 1);
}

TEST_P(WorkflowTest, FailingStepsRetryThenFailAndCanBeRetried) {
  std::string wf = create(R"({"name":"route","trigger":{"event":"thread.created"},"retry":{"max_attempts":2},
      "steps":[{"action":"assign","strategy":"round_robin","role":"manager"},
               {"action":"add_tag","value":"routed"}]})");
  std::string tid = str(ok("threads.create", R"({"subject":"Rate request"})"), "id");
  drain();
  advance(std::chrono::minutes(5));  // past the job's backoff
  drain();
  auto runs = runs_of(wf);
  ASSERT_EQ(runs["items"].Size(), 1u);
  std::string rid = str(runs["items"][0], "id");
  auto r = run(rid);
  EXPECT_EQ(str(r, "status"), "failed");
  EXPECT_NE(str(r, "error").find("no active user"), std::string::npos) << str(r, "error");
  int errors = 0;
  for (const auto& h : r["history"].GetArray())
    if (h["error"].IsString()) ++errors;
  EXPECT_EQ(errors, 2);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type = 'workflow.run_failed'", {}), 1);
  EXPECT_TRUE(thread(tid)["assignee_id"].IsNull());  // the failed attempts wrote nothing

  // Someone to route to, then a manual retry from the failed step.
  auto m1 = make_user("m1@a.example", "manager");
  fails("workflow_runs.cancel", "{\"id\":" + q(rid) + "}", Code::conflict);
  ok("workflow_runs.retry", "{\"id\":" + q(rid) + "}");
  drain();
  EXPECT_EQ(str(run(rid), "status"), "completed");
  EXPECT_EQ(str(thread(tid), "assignee_id"), m1.id);
  fails("workflow_runs.retry", "{\"id\":" + q(rid) + "}", Code::conflict);
}

TEST_P(WorkflowTest, RoundRobinTakesTurns) {
  auto a = make_user("a@a.example", "agent");
  auto b = make_user("b@a.example", "agent");
  std::string wf = create(R"({"name":"rr","trigger":{"event":"thread.created"},
      "steps":[{"action":"assign","strategy":"round_robin","users":[")" + a.id + "\",\"" + b.id +
                          R"("]}]})");
  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    std::string t = str(ok("threads.create", "{\"subject\":\"t" + std::to_string(i) + "\"}"), "id");
    drain();
    got.push_back(str(thread(t), "assignee_id"));
  }
  std::string first = std::min(a.id, b.id), second = std::max(a.id, b.id);
  EXPECT_EQ(got, (std::vector<std::string>{first, second, first, second}));

  // Least loaded: `first` gets two more open threads, so the next goes to `second`, and a
  // resolved thread does not count as load.
  ok("workflows.update", "{\"id\":" + q(wf) + R"(,"steps":[{"action":"assign","strategy":"least_loaded","users":[")" +
                             a.id + "\",\"" + b.id + "\"]}]}");
  for (int i = 0; i < 2; ++i) {
    std::string x = str(ok("threads.create", R"({"subject":"extra"})"), "id");
    drain();
    ok("threads.update", "{\"id\":" + q(x) + ",\"assignee_id\":" + q(first) + "}");
  }
  // Loads now: first 4 open threads, second 2.
  std::string t = str(ok("threads.create", R"({"subject":"next"})"), "id");
  drain();
  EXPECT_EQ(str(thread(t), "assignee_id"), second);
  // Resolving three of first's threads makes first the lighter one (1 against 3).
  int resolved = 0;
  auto list = ok("threads.list", "{\"assignee_id\":" + q(first) + "}");
  for (const auto& th : list["items"].GetArray())
    if (resolved < 3) {
      ok("threads.update", "{\"id\":" + q(th["id"].GetString()) + ",\"status\":\"resolved\"}");
      ++resolved;
    }
  ASSERT_EQ(resolved, 3);
  std::string t2 = str(ok("threads.create", R"({"subject":"after"})"), "id");
  drain();
  EXPECT_EQ(str(thread(t2), "assignee_id"), first);
}

TEST_P(WorkflowTest, DryRunSaysWhatWouldHappenAndDoesNothing) {
  std::string tid = str(inbound("buyer@customer.example", "urgent: ETA?", "d1@c.example"), "thread_id");
  auto ev = count("SELECT max(id) FROM events WHERE type = 'message.received'", {});
  std::string def(kUrgent);
  auto d = ok("workflows.test", "{\"definition\":" + def + ",\"event_id\":" + std::to_string(ev) + "}");
  EXPECT_TRUE(d["trigger_matches"].GetBool());
  EXPECT_TRUE(d["conditions_match"].GetBool());
  ASSERT_EQ(d["steps"].Size(), 4u);
  EXPECT_EQ(str(d["steps"][0], "would"), "set priority to high");
  EXPECT_EQ(str(d["steps"][3], "would"), "notify: No reply in 2 h: urgent: ETA?");
  EXPECT_EQ(str(thread(tid), "priority"), "normal");
  EXPECT_EQ(count("SELECT count(*) FROM workflow_runs", {}), 0);
  // Against a thread only, with a non-matching condition.
  auto d2 = ok("workflows.test",
               R"({"definition":{"name":"n","trigger":{"manual":true},"conditions":{"field":"thread.priority","op":"eq","value":"urgent"},"steps":[{"action":"stop"}]},"thread_id":")" +
                   tid + "\"}");
  EXPECT_FALSE(d2["conditions_match"].GetBool());
  fails("workflows.test", R"({"definition":{"name":"n","trigger":{"manual":true},"steps":[{"action":"stop"}]}})",
        Code::invalid_argument);
}

TEST_P(WorkflowTest, ManualRunsAndListsInRunOrder) {
  std::string b = create(R"({"name":"b","priority":5,"trigger":{"manual":true},"steps":[{"action":"add_note","text":"Checked by {{event.actor}}"}]})");
  std::string a = create(R"({"name":"a","priority":5,"trigger":{"manual":true},"steps":[{"action":"stop"}]})");
  std::string z = create(R"({"name":"z","priority":1,"trigger":{"manual":true},"steps":[{"action":"stop"}]})");
  auto list = ok("workflows.list", "{}");
  ASSERT_EQ(list["items"].Size(), 3u);
  EXPECT_EQ(str(list["items"][0], "id"), z);
  EXPECT_EQ(str(list["items"][1], "id"), a);
  EXPECT_EQ(str(list["items"][2], "id"), b);
  fails("workflows.create", R"({"name":"a","trigger":{"manual":true},"steps":[{"action":"stop"}]})",
        Code::conflict);

  std::string tid = str(ok("threads.create", R"({"subject":"Manual"})"), "id");
  auto r = ok("workflows.run", "{\"id\":" + q(b) + ",\"thread_id\":" + q(tid) + "}");
  EXPECT_EQ(str(r, "trigger_kind"), "manual");
  drain();
  auto runs = ok("threads.runs", "{\"thread_id\":" + q(tid) + "}");
  ASSERT_EQ(runs["items"].Size(), 1u);
  EXPECT_EQ(str(runs["items"][0], "status"), "completed");
  EXPECT_EQ(count("SELECT count(*) FROM messages WHERE thread_id = ? AND channel = 'note' AND "
                  "body_text LIKE 'Checked by api_key:%'",
                  {tid}),
            1);
  // Another organization sees none of it.
  fails("workflows.get", "{\"id\":" + q(b) + "}", Code::not_found, key_b);
  fails("workflow_runs.get", "{\"id\":" + q(str(r, "id")) + "}", Code::not_found, key_b);
  fails("workflows.run", "{\"id\":" + q(b) + ",\"thread_id\":" + q(tid) + "}", Code::not_found, key_b);
  EXPECT_EQ(ok("workflows.list", "{}", key_b)["items"].Size(), 0u);
}

TEST_P(WorkflowTest, SchedulesFireInTheOrganizationsTimeZoneAcrossDst) {
  auto manager = make_user("lead@a.example", "manager");
  // Berlin moves to summer time on 2026-03-29: 09:00 local is 08:00Z before, 07:00Z after.
  clock->set(at("2026-03-28T07:30:00Z"));
  fails("orgs.update", R"({"time_zone":"Mars/Olympus"})", Code::invalid_argument);
  ok("orgs.update", R"({"time_zone":"Europe/Berlin"})");
  std::string wf = create(R"({"name":"morning","trigger":{"schedule":"0 9 * * *"},
      "steps":[{"action":"notify","to":{"role":"manager"},"text":"Morning digest {{event.fired_at}}"}]})");
  EXPECT_EQ(str(ok("workflows.get", "{\"id\":" + q(wf) + "}"), "id"), wf);
  EXPECT_EQ(count("SELECT count(*) FROM workflows WHERE id = ? AND next_fire_at = ?",
                  {wf, std::string("2026-03-28T08:00:00.000Z")}),
            1);
  clock->set(at("2026-03-28T07:59:59Z"));
  drain();
  EXPECT_EQ(notifications(manager.id), 0);
  clock->set(at("2026-03-28T08:00:00Z"));
  drain();
  EXPECT_EQ(notifications(manager.id), 1);
  EXPECT_EQ(count("SELECT count(*) FROM workflows WHERE id = ? AND next_fire_at = ?",
                  {wf, std::string("2026-03-29T07:00:00.000Z")}),
            1);
  clock->set(at("2026-03-29T07:00:00Z"));
  drain();
  EXPECT_EQ(notifications(manager.id), 2);
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE user_id = ? AND title = ?",
                  {manager.id, std::string("Morning digest 2026-03-29T07:00:00.000Z")}),
            1);
  // Disabled: the pending firing finds a newer version and does nothing.
  ok("workflows.update", "{\"id\":" + q(wf) + ",\"enabled\":false}");
  clock->set(at("2026-03-30T07:00:00Z"));
  drain();
  EXPECT_EQ(notifications(manager.id), 2);
}

TEST_P(WorkflowTest, RelativeTriggersFollowTheFieldWhenItMoves) {
  auto manager = make_user("lead@a.example", "manager");
  // Exists before the workflow: scheduled when the workflow is saved.
  std::string s1 = str(ok("shipments.create", R"({"mode":"ocean","eta":"2026-03-12T10:00:00Z"})"), "id");
  std::string wf = create(R"({"name":"eta","trigger":{"relative":{"field":"shipment.eta","offset":"-PT24H"}},
      "steps":[{"action":"notify","to":{"role":"manager"},"text":"Arriving tomorrow: {{shipment.eta}}"}]})");
  std::string s2 = str(ok("shipments.create", R"({"mode":"air","eta":"2026-03-13T10:00:00Z"})"), "id");
  drain();
  // The first ETA slips by a day before its timer: that timer is stale now.
  ok("shipments.update", "{\"id\":" + q(s1) + ",\"eta\":\"2026-03-14T10:00:00Z\"}");
  drain();
  clock->set(at("2026-03-11T10:00:00Z"));
  drain();
  EXPECT_EQ(notifications(manager.id), 0);
  clock->set(at("2026-03-12T10:00:00Z"));  // s2's day before
  drain();
  EXPECT_EQ(notifications(manager.id), 1);
  clock->set(at("2026-03-13T10:00:00Z"));  // s1's new day before
  drain();
  EXPECT_EQ(notifications(manager.id), 2);
  auto runs = runs_of(wf);
  ASSERT_EQ(runs["items"].Size(), 2u);
  for (const auto& r : runs["items"].GetArray()) EXPECT_STREQ(r["trigger_kind"].GetString(), "relative");
}

TEST_P(WorkflowTest, InactivityTimerRestartsWithEveryMessage) {
  std::string wf = create(R"({"name":"stale","trigger":{"relative":{"field":"thread.last_message_at","offset":"P3D"}},
      "conditions":{"field":"thread.status","op":"in","value":["open","pending"]},
      "steps":[{"action":"add_tag","value":"stale"}]})");
  std::string tid = str(inbound("buyer@customer.example", "Quote for 2x40HC", "i1@c.example"), "thread_id");
  drain();
  clock->set(at("2026-03-11T09:00:00Z"));
  std::string raw = "From: buyer@customer.example\r\nTo: desk@a.example\r\nSubject: Re: Quote for 2x40HC\r\n"
                    "Message-ID: <i2@c.example>\r\nIn-Reply-To: <i1@c.example>\r\n"
                    "Date: Wed, 11 Mar 2026 09:00:00 +0000\r\n\r\nAny news?\r\n";
  EXPECT_EQ(str(ok("inbound.email", "{\"raw\":" + q(raw) + "}"), "thread_id"), tid);
  drain();
  clock->set(at("2026-03-13T09:00:00Z"));  // three days after the first message only
  drain();
  EXPECT_EQ(runs_of(wf)["items"].Size(), 0u);
  clock->set(at("2026-03-14T09:00:00Z"));
  drain();
  ASSERT_EQ(runs_of(wf)["items"].Size(), 1u);
  auto t = thread(tid);
  ASSERT_EQ(t["tags"].Size(), 1u);
  EXPECT_STREQ(t["tags"][0].GetString(), "stale");
}

TEST_P(WorkflowTest, WebhookStepRetriesWithOneIdempotencyKeyAndEscapesValues) {
  std::atomic<int> calls{0};
  bxtest::HttpStub receiver([&](const bxtest::StubRequest&) {
    bxtest::StubResponse r;
    r.status = ++calls < 3 ? 503 : 200;  // two failures, then success
    r.body = "{}";
    return r;
  });
  std::string wf = create(R"({"name":"hook","trigger":{"event":"thread.created"},"retry":{"max_attempts":5},
      "steps":[{"action":"webhook","url":")" + receiver.base_url() + R"(/hooks/banxway",
                "body":{"subject":"{{thread.subject}}","kind":"new-thread"}},
               {"action":"add_tag","value":"notified"}]})");
  std::string tid = str(ok("threads.create", R"({"subject":"Quote \"urgent\" <40HC>"})"), "id");
  for (int i = 0; i < 4; ++i) {
    drain();
    advance(std::chrono::minutes(10));  // past each retry's backoff
  }
  auto reqs = receiver.requests();
  ASSERT_EQ(reqs.size(), 3u);
  const std::string key = reqs[0].header("Idempotency-Key");
  EXPECT_FALSE(key.empty());
  for (const auto& r : reqs) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path(), "/hooks/banxway");
    EXPECT_EQ(r.header("Idempotency-Key"), key);  // the same key on every attempt
  }
  Document body;
  ASSERT_TRUE(banxway::json::parse(reqs[2].body, &body).ok()) << reqs[2].body;
  EXPECT_EQ(str(body["data"], "subject"), "Quote \"urgent\" <40HC>");  // JSON-escaped, intact
  EXPECT_EQ(str(body, "workflow_id"), wf);
  EXPECT_EQ(str(body["thread"], "id"), tid);
  auto runs = runs_of(wf);
  ASSERT_EQ(runs["items"].Size(), 1u);
  auto r = run(str(runs["items"][0], "id"));
  EXPECT_EQ(str(r, "status"), "completed");
  int failures = 0;
  for (const auto& h : r["history"].GetArray())
    if (h["error"].IsString()) ++failures;
  EXPECT_EQ(failures, 2);
  ASSERT_EQ(thread(tid)["tags"].Size(), 1u);

  // A receiver that never succeeds: the run fails once the retry policy is spent.
  bxtest::HttpStub down([&](const bxtest::StubRequest&) {
    bxtest::StubResponse resp;
    resp.status = 500;
    return resp;
  });
  std::string wf2 = create(R"({"name":"hook2","trigger":{"manual":true},"retry":{"max_attempts":3,"backoff":"PT1M"},
      "steps":[{"action":"webhook","url":")" + down.base_url() + R"(/x"}]})");
  std::string rid = str(ok("workflows.run", "{\"id\":" + q(wf2) + ",\"thread_id\":" + q(tid) + "}"), "id");
  // The policy's backoff: 1 min, then 2 min (not the job queue's 1 s, 2 s).
  drain();
  EXPECT_EQ(down.requests().size(), 1u);
  advance(std::chrono::seconds(59));
  drain();
  EXPECT_EQ(down.requests().size(), 1u);
  advance(std::chrono::seconds(1));
  drain();
  EXPECT_EQ(down.requests().size(), 2u);
  advance(std::chrono::seconds(119));
  drain();
  EXPECT_EQ(down.requests().size(), 2u);
  advance(std::chrono::seconds(1));
  drain();
  EXPECT_EQ(down.requests().size(), 3u);
  advance(std::chrono::minutes(10));
  drain();
  EXPECT_EQ(down.requests().size(), 3u);
  auto r2 = run(rid);
  EXPECT_EQ(str(r2, "status"), "failed");
  EXPECT_NE(str(r2, "error").find("HTTP 500"), std::string::npos) << str(r2, "error");
}

TEST_P(WorkflowTest, SendReplyQueuesThroughTheOutboxOnlyWhenTheStepCommits) {
  ok("channels.create", R"({"channel":"email","name":"Desk","address":"desk@a.example",
      "config":{"smtp":{"host":"127.0.0.1","port":1,"security":"plain"}}})");
  std::string wf = create(R"({"name":"ack","trigger":{"event":"message.received"},
      "steps":[{"action":"send_reply","text":"Thanks {{contact.name}}, we are on \"{{thread.subject}}\"."}]})");
  std::string tid = str(inbound("Priya Shah <priya@customer.example>", "Booking 4411", "s1@customer.example"), "thread_id");
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM messages WHERE thread_id = ? AND direction = 'outbound' AND "
                  "body_text = ?",
                  {tid, std::string("Thanks Priya Shah, we are on \"Booking 4411\".")}),
            1);
  auto runs = runs_of(wf);
  ASSERT_EQ(runs["items"].Size(), 1u);
  EXPECT_EQ(str(runs["items"][0], "status"), "completed");
  // The reply is the workflow's: it triggers nothing of its own (no inbound) and is recorded so.
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type = 'message.queued' AND actor = ?",
                  {"workflow:" + wf}),
            1);
}

BX_INSTANTIATE_BACKENDS(WorkflowTest);
