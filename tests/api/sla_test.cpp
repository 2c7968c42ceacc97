// SLA policies, business calendars and clocks (docs/SLA.md), on SQLite and PostgreSQL, with a
// fake clock driving the timers: first response met, warning then breach, business hours over
// a weekend and a holiday, pause and resume, DST in the calendar's zone, policy match order, a
// logistics clock, analytics, validation and permissions.
#include "services/sla.hpp"

#include <gtest/gtest.h>

#include <string>

#include "api/context.hpp"
#include "core/env.hpp"
#include "core/json.hpp"
#include "engine_impl.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {
std::string q(const std::string& s) { return banxway::json::quote(s); }

banxway::TimePoint at(const char* iso) {
  banxway::TimePoint t;
  EXPECT_TRUE(banxway::parse_time(iso, &t)) << iso;
  return t;
}
}  // namespace

class SlaTest : public bxtest::EngineTest {
 protected:
  // Monday 2026-11-30 04:00Z (09:30 in Kolkata); tests move the clock.
  std::shared_ptr<banxway::FakeClock> clock =
      std::make_shared<banxway::FakeClock>(at("2026-11-30T04:00:00Z"));

  void configure(banxway::EngineOptions& o) override { o.clock = clock; }


  void run() {
    for (int i = 0; i < 5; ++i) {
      auto r = engine->run_pending(1000);
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      if (*r == 0) break;
    }
  }

  // Appends an event as the pipeline would (for message.sent, which needs a real provider).
  void emit(const std::string& type, const std::string& subject_type, const std::string& subject_id,
            const std::optional<std::string>& thread_id, const std::string& payload) {
    auto& core = engine->impl().core;
    banxway::Principal who = banxway::api::system_principal(org_a, "test");
    banxway::api::Ctx ctx(core, who, "test");
    auto st = core.db->transaction([&](banxway::store::Conn& c) {
      return ctx.event(c, type, subject_type, subject_id, thread_id, payload);
    });
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  void inbound(const std::string& thread, const std::string& channel = "email") {
    emit("message.received", "message",
         "00000000-0000-7000-8000-" + std::to_string(100000000000 + ++seq_), thread,
         "{\"thread_id\":" + q(thread) + ",\"direction\":\"inbound\",\"channel\":" + q(channel) +
             "}");
  }
  void reply(const std::string& thread) {
    emit("message.sent", "message",
         "00000000-0000-7000-8000-" + std::to_string(200000000000 + ++seq_), thread,
         "{\"thread_id\":" + q(thread) + ",\"direction\":\"outbound\",\"channel\":\"email\"}");
  }

  std::string policy(const std::string& body) { return str(ok("sla_policies.create", body), "id"); }
  std::string thread(const std::string& extra = "") {
    return str(ok("threads.create", "{\"subject\":\"Rate request\"" + extra + "}"), "id");
  }
  Document sla(const std::string& thread_id) {
    Document d = ok("threads.get", "{\"id\":" + q(thread_id) + "}");
    Document out;
    if (d.IsObject() && d.HasMember("sla")) out.CopyFrom(d["sla"], out.GetAllocator());
    return out;
  }
  // sla.* events so far: "type metric" strings in order.
  std::vector<std::string> sla_events(const std::string& key = "") {
    std::vector<std::string> out;
    auto ev = ok("events.list", R"({"after":0,"limit":1000})", key);
    for (auto& e : ev["items"].GetArray()) {
      std::string type = str(e, "type");
      if (type == "sla.warning" || type == "sla.breached")
        out.push_back(type + " " + str(e["data"], "metric"));
    }
    return out;
  }

  int seq_ = 0;
};

TEST_P(SlaTest, FirstResponseMetBeforeTheDeadline) {
  std::string p = policy(R"({"name":"Standard","first_response":"PT1H","resolution":"P1D"})");
  // A real inbound email starts the clocks.
  auto who = engine->authenticate(key_a);
  ASSERT_TRUE(who.ok());
  std::string raw =
      "From: buyer@acme.example\r\nSubject: rate request\r\n"
      "Message-ID: <sla1@acme.example>\r\n\r\nrates to Hamburg?\r\n";
  auto in = engine->ingest_email(*who, raw);
  ASSERT_TRUE(in.ok()) << in.status().to_string();
  Document r;
  ASSERT_TRUE(banxway::json::parse(*in, &r).ok());
  std::string t = str(r, "thread_id");
  run();
  Document s = sla(t);
  ASSERT_TRUE(s.IsObject());
  EXPECT_EQ(str(s["policy"], "id"), p);
  EXPECT_EQ(str(s["policy"], "name"), "Standard");
  EXPECT_EQ(str(s, "first_response_due"), "2026-11-30T05:00:00.000Z");
  EXPECT_EQ(str(s, "resolution_due"), "2026-12-01T04:00:00.000Z");
  EXPECT_TRUE(s["next_response_due"].IsNull());
  EXPECT_EQ(str(s, "state"), "active");

  clock->advance(minutes(30));
  reply(t);
  run();
  s = sla(t);
  EXPECT_TRUE(s["first_response_due"].IsNull());
  EXPECT_EQ(str(s, "state"), "active");  // resolution still runs
  // Past the old deadline nothing fires for the met target.
  clock->advance(hours(2));
  run();
  EXPECT_TRUE(sla_events().empty());
  // The list shows the same object.
  auto list = ok("threads.list", "{}");
  ASSERT_EQ(list["items"].Size(), 1u);
  EXPECT_EQ(str(list["items"][0]["sla"]["policy"], "id"), p);

  // The customer writes again: next response starts.
  inbound(t);
  run();
  s = sla(t);
  EXPECT_EQ(str(s, "state"), "active");
  EXPECT_TRUE(s["next_response_due"].IsNull()) << "the policy has no next_response target";
}

TEST_P(SlaTest, WarningThenBreachExactlyOnceWithNotifications) {
  policy(R"({"name":"Fast","first_response":"PT1H","next_response":"PT30M","warn_at":0.75})");
  auto ravi = make_user("ravi@a.example", "agent", "Ravi");
  std::string t = thread(",\"assignee_id\":" + q(ravi.id));
  inbound(t);
  run();
  EXPECT_EQ(str(sla(t), "first_response_due"), "2026-11-30T05:00:00.000Z");

  clock->advance(minutes(44));
  run();
  EXPECT_TRUE(sla_events().empty());
  clock->advance(minutes(1));  // 45 min = 0.75 of the hour
  run();
  EXPECT_EQ(sla_events(), std::vector<std::string>{"sla.warning first_response"});
  EXPECT_EQ(str(sla(t), "state"), "warning");
  clock->advance(minutes(15));
  run();
  clock->advance(hours(3));
  run();
  run();
  EXPECT_EQ(sla_events(), (std::vector<std::string>{"sla.warning first_response",
                                                    "sla.breached first_response"}));
  EXPECT_EQ(str(sla(t), "state"), "breached");
  // The assignee heard about both.
  auto n = ok("notifications.list", R"({"kind":"sla"})", ravi.key);
  ASSERT_EQ(n["items"].Size(), 2u);
  EXPECT_EQ(str(n["items"][0], "thread_id"), t);
  // The breach event names the deadline, the policy and the assignee.
  auto ev = ok("events.list", R"({"after":0,"limit":1000})");
  for (auto& e : ev["items"].GetArray()) {
    if (str(e, "type") != "sla.breached") continue;
    EXPECT_EQ(str(e["data"], "due_at"), "2026-11-30T05:00:00.000Z");
    EXPECT_EQ(str(e["data"]["policy"], "name"), "Fast");
    EXPECT_EQ(str(e["data"], "assignee_id"), ravi.id);
    EXPECT_EQ(str(e, "thread_id"), t);
  }
  // A late reply meets it (still counted as breached); the next customer message starts the
  // next-response clock from then.
  reply(t);
  inbound(t);
  run();
  auto s = sla(t);
  EXPECT_EQ(str(s, "next_response_due"), banxway::format_time(clock->now() + minutes(30)));
}

TEST_P(SlaTest, BusinessHoursSkipWeekendAndHoliday) {
  std::string cal = str(ok("business_calendars.create", R"({"name":"Mumbai desk",
      "time_zone":"Asia/Kolkata","hours":{"mon":[["09:00","13:00"],["14:00","18:00"]],
      "tue":[["09:00","18:00"]],"wed":[["09:00","18:00"]],"thu":[["09:00","18:00"]],
      "fri":[["09:00","18:00"]]},"holidays":["2026-12-25"]})"),
                        "id");
  policy(
      "{\"name\":\"Business\",\"first_response\":\"PT2H\",\"resolution\":\"PT10H\",\"calendar_"
      "id\":" +
      q(cal) + "}");
  // Thursday 2026-12-24 17:00 IST: one hour left that day, Friday is a holiday, then the weekend.
  clock->set(at("2026-12-24T11:30:00Z"));
  std::string t = thread();
  inbound(t);
  run();
  auto s = sla(t);
  EXPECT_EQ(str(s, "first_response_due"), "2026-12-28T04:30:00.000Z");  // Monday 10:00 IST
  // 10 h: 1 on Thursday, 09-13 and 14-18 on Monday (8), 1 on Tuesday -> Tuesday 10:00 IST.
  EXPECT_EQ(str(s, "resolution_due"), "2026-12-29T04:30:00.000Z");
  // Nothing fires over the holiday weekend.
  clock->set(at("2026-12-28T03:00:00Z"));
  run();
  EXPECT_TRUE(sla_events().empty());
  clock->set(at("2026-12-28T04:30:00Z"));
  run();
  EXPECT_EQ(sla_events(), (std::vector<std::string>{"sla.warning first_response",
                                                    "sla.breached first_response"}));
}

TEST_P(SlaTest, PendingPausesAndOpenResumes) {
  policy(R"({"name":"Resolve","resolution":"PT4H"})");
  std::string t = thread();
  inbound(t);
  run();
  EXPECT_EQ(str(sla(t), "resolution_due"), "2026-11-30T08:00:00.000Z");
  clock->advance(hours(1));
  ok("threads.update", "{\"id\":" + q(t) + ",\"status\":\"pending\"}");
  run();
  auto s = sla(t);
  EXPECT_EQ(str(s, "state"), "paused");
  EXPECT_TRUE(s["resolution_due"].IsNull());
  clock->advance(hours(10));  // long past the original deadline, but paused
  run();
  EXPECT_TRUE(sla_events().empty());
  ok("threads.update", "{\"id\":" + q(t) + ",\"status\":\"open\"}");
  run();
  // 3 h were left: due 3 h after the resume (15:00Z + 3 h).
  EXPECT_EQ(str(sla(t), "resolution_due"), "2026-11-30T18:00:00.000Z");
  // Snoozed pauses too.
  clock->advance(hours(1));
  ok("threads.update", "{\"id\":" + q(t) + ",\"snoozed_until\":\"2026-12-05T00:00:00Z\"}");
  run();
  EXPECT_EQ(str(sla(t), "state"), "paused");
  clock->advance(hours(1));
  ok("threads.update", "{\"id\":" + q(t) + ",\"status\":\"open\"}");
  run();
  // 2 h were left (1 h counted before the first pause, 1 h between the pauses).
  EXPECT_EQ(str(sla(t), "resolution_due"), "2026-11-30T19:00:00.000Z");
  clock->set(at("2026-11-30T19:00:00Z"));
  run();
  EXPECT_EQ(sla_events(),
            (std::vector<std::string>{"sla.warning resolution", "sla.breached resolution"}));
  // Resolving meets the (late) resolution: state met, nothing more fires.
  ok("threads.update", "{\"id\":" + q(t) + ",\"status\":\"resolved\"}");
  run();
  EXPECT_EQ(str(sla(t), "state"), "met");
}

TEST_P(SlaTest, ResolvedBeforeDeadlineIsMetAndStaleTimersDoNothing) {
  policy(R"({"name":"Resolve","resolution":"PT2H"})");
  std::string t = thread();
  inbound(t);
  run();
  clock->advance(minutes(30));
  ok("threads.update", "{\"id\":" + q(t) + ",\"status\":\"resolved\"}");
  run();
  clock->advance(hours(5));
  run();
  EXPECT_TRUE(sla_events().empty());
  EXPECT_EQ(str(sla(t), "state"), "met");
  // The timers ran and did nothing; none is left pending.
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE kind = 'sla.check' AND status = 'pending'", {}),
            0);
}

TEST_P(SlaTest, DstInTheCalendarZone) {
  std::string cal = str(ok("business_calendars.create", R"({"name":"Hamburg",
      "time_zone":"Europe/Berlin","hours":{"mon":[["09:00","18:00"]],"tue":[["09:00","18:00"]],
      "wed":[["09:00","18:00"]],"thu":[["09:00","18:00"]],"fri":[["09:00","18:00"]]}})"),
                        "id");
  policy("{\"name\":\"EU\",\"first_response\":\"PT2H\",\"calendar_id\":" + q(cal) + "}");
  // Friday 2026-03-27 17:00 CET; clocks go forward on Sunday: Monday 10:00 CEST is 08:00Z.
  clock->set(at("2026-03-27T16:00:00Z"));
  std::string t = thread();
  inbound(t);
  run();
  EXPECT_EQ(str(sla(t), "first_response_due"), "2026-03-30T08:00:00.000Z");
}

TEST_P(SlaTest, FirstMatchingPolicyByPositionAndPriorityChangeRepicks) {
  std::string acme = str(ok("customers.create", R"({"name":"Acme","tier":"key"})"), "id");
  policy(
      R"({"name":"WhatsApp","position":0,"match":{"channels":["whatsapp"]},"first_response":"PT5M"})");
  policy(R"({"name":"Disabled","position":1,"enabled":false,"first_response":"PT1M"})");
  std::string vip = policy(R"({"name":"Key urgent","position":2,
      "match":{"priorities":["urgent","high"],"customer_tiers":["key"]},"first_response":"PT15M"})");
  std::string dflt = policy(R"({"name":"Default","position":3,"first_response":"PT4H"})");
  auto names = ok("sla_policies.list", "{}");
  ASSERT_EQ(names["items"].Size(), 4u);
  EXPECT_EQ(str(names["items"][0], "name"), "WhatsApp");
  EXPECT_EQ(str(names["items"][3], "name"), "Default");

  std::string urgent = thread(",\"priority\":\"urgent\",\"customer_id\":" + q(acme));
  std::string plain = thread(",\"customer_id\":" + q(acme));
  std::string wa = thread(",\"priority\":\"urgent\",\"customer_id\":" + q(acme));
  inbound(urgent);
  inbound(plain);
  inbound(wa, "whatsapp");
  run();
  EXPECT_EQ(str(sla(urgent)["policy"], "id"), vip);
  EXPECT_EQ(str(sla(urgent), "first_response_due"), "2026-11-30T04:15:00.000Z");
  EXPECT_EQ(str(sla(plain)["policy"], "id"), dflt);
  EXPECT_EQ(str(sla(wa)["policy"], "name"), "WhatsApp");
  // Raising the priority picks again; counted time stays counted (10 of 15 minutes left).
  clock->advance(minutes(5));
  ok("threads.update", "{\"id\":" + q(plain) + ",\"priority\":\"high\"}");
  run();
  EXPECT_EQ(str(sla(plain)["policy"], "id"), vip);
  EXPECT_EQ(str(sla(plain), "first_response_due"), "2026-11-30T04:15:00.000Z");
  // A thread with no policy shows none.
  std::string other = thread();
  EXPECT_TRUE(sla(other)["policy"].IsNull());
  EXPECT_EQ(str(sla(other), "state"), "none");
}

TEST_P(SlaTest, LogisticsClockOnEtaChange) {
  std::string rule = str(ok("sla_milestone_rules.create", R"({"name":"ETA notice",
      "trigger":"eta_changed","offset":"PT2H","met_by":"reply"})"),
                         "id");
  ok("sla_milestone_rules.create", R"({"name":"Docs before gate-in","trigger":"milestone:booked",
      "anchor":"milestone:gate_in","offset":"-P2D","met_by":"milestone:loaded","warn_at":0.5})");
  std::string s1 =
      str(ok("shipments.create", R"({"mode":"ocean","eta":"2026-12-20T00:00:00Z"})"), "id");
  std::string s2 =
      str(ok("shipments.create", R"({"mode":"ocean","eta":"2026-12-20T00:00:00Z"})"), "id");
  std::string t = thread();
  ok("shipments.link_thread", "{\"shipment_id\":" + q(s1) + ",\"thread_id\":" + q(t) + "}");
  run();
  // Saving without changing the ETA starts nothing; changing it does.
  ok("shipments.update", "{\"id\":" + q(s1) + ",\"status\":\"booked\"}");
  ok("shipments.update", "{\"id\":" + q(s1) + ",\"eta\":\"2026-12-22T00:00:00Z\"}");
  ok("shipments.update", "{\"id\":" + q(s2) + ",\"eta\":\"2026-12-23T00:00:00Z\"}");
  run();
  clock->advance(hours(1));
  reply(t);  // the customer of s1 hears about it within the hour
  run();
  clock->advance(hours(2));
  run();
  std::vector<std::string> subjects;
  auto ev = ok("events.list", R"({"after":0,"limit":1000})");
  for (auto& e : ev["items"].GetArray())
    if (str(e, "type") == "sla.breached") {
      subjects.push_back(str(e, "subject_id"));
      EXPECT_EQ(str(e["data"]["rule"], "id"), rule);
      EXPECT_EQ(str(e["data"], "metric"), "rule");
    }
  EXPECT_EQ(subjects, std::vector<std::string>{s2});

  // Documents 2 days before the planned gate-in, started by the booking; met by loading.
  ok("shipments.set_milestone",
     "{\"shipment_id\":" + q(s1) +
         ",\"kind\":\"gate_in\",\"planned_at\":\"2026-12-10T00:00:00Z\"}");
  ok("shipments.set_milestone",
     "{\"shipment_id\":" + q(s1) +
         ",\"kind\":\"booked\",\"actual_at\":" + q(banxway::format_time(clock->now())) + "}");
  run();
  auto before = sla_events().size();
  clock->set(at("2026-12-08T00:00:00Z"));  // the deadline
  run();
  auto after = sla_events();
  ASSERT_EQ(after.size(), before + 2);
  EXPECT_EQ(after.back(), "sla.breached rule");
}

TEST_P(SlaTest, AnalyticsCountsMetAndBreached) {
  std::string p = policy(R"({"name":"Std","first_response":"PT1H"})");
  auto ravi = make_user("ravi@a.example", "agent", "Ravi");
  std::string met = thread(",\"assignee_id\":" + q(ravi.id));
  std::string late = thread(",\"assignee_id\":" + q(ravi.id));
  inbound(met);
  inbound(late);
  run();
  clock->advance(minutes(10));
  reply(met);
  run();
  clock->advance(hours(2));
  run();
  auto a = ok("analytics.sla", R"({"from":"2026-11-30T00:00:00Z","to":"2026-12-01T00:00:00Z"})");
  EXPECT_EQ(a["total"]["met"].GetInt(), 1);
  EXPECT_EQ(a["total"]["breached"].GetInt(), 1);
  EXPECT_DOUBLE_EQ(a["total"]["rate"].GetDouble(), 0.5);
  ASSERT_EQ(a["by_policy"].Size(), 1u);
  EXPECT_EQ(str(a["by_policy"][0], "id"), p);
  EXPECT_EQ(str(a["by_policy"][0], "name"), "Std");
  ASSERT_EQ(a["by_agent"].Size(), 1u);
  EXPECT_EQ(str(a["by_agent"][0], "assignee_id"), ravi.id);
  // Outside the range: nothing.
  auto none = ok("analytics.sla", R"({"from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z"})");
  EXPECT_EQ(none["total"]["met"].GetInt(), 0);
  EXPECT_TRUE(none["total"]["rate"].IsNull());
  fails("analytics.sla", R"({"from":"2026-12-02T00:00:00Z","to":"2026-12-01T00:00:00Z"})",
        Code::invalid_argument);
}

TEST_P(SlaTest, ConfigurationCrudValidationAndPermissions) {
  // Calendars: errors name the path; a calendar without working time is refused.
  auto m = fails("business_calendars.create",
                 R"({"name":"Bad","time_zone":"Mars/Base","hours":{"mon":[["09:00","18:00"]]}})",
                 Code::invalid_argument);
  EXPECT_NE(m.find("time_zone"), std::string::npos) << m;
  m = fails("business_calendars.create",
            R"({"name":"Bad","time_zone":"UTC","hours":{"mon":[["18:00","09:00"]]}})",
            Code::invalid_argument);
  EXPECT_NE(m.find("hours.mon[0]"), std::string::npos) << m;
  m = fails("business_calendars.create", R"({"name":"Bad","time_zone":"UTC","hours":{}})",
            Code::invalid_argument);
  EXPECT_NE(m.find("at least one working interval"), std::string::npos) << m;
  auto cal = ok(
      "business_calendars.create",
      R"({"name":"Desk","time_zone":"Asia/Kolkata","hours":{"fri":[["14:00","18:00"],["09:00","13:00"]]}})");
  std::string cal_id = str(cal, "id");
  EXPECT_EQ(banxway::json::stringify(cal["hours"]["fri"]),
            R"([["09:00","13:00"],["14:00","18:00"]])");
  EXPECT_EQ(cal["hours"]["mon"].Size(), 0u);
  auto upd =
      ok("business_calendars.update", "{\"id\":" + q(cal_id) + ",\"holidays\":[\"2026-12-25\"]}");
  EXPECT_EQ(str(upd, "time_zone"), "Asia/Kolkata");
  EXPECT_EQ(upd["holidays"].Size(), 1u);
  fails("business_calendars.create",
        R"({"name":"Desk","time_zone":"UTC","hours":{"mon":[["09:00","18:00"]]}})",
        Code::already_exists);

  // Policies: durations checked, at least one target.
  m = fails("sla_policies.create", R"({"name":"X","first_response":"P1M"})",
            Code::invalid_argument);
  EXPECT_NE(m.find("first_response"), std::string::npos);
  EXPECT_NE(m.find("months"), std::string::npos);
  m = fails("sla_policies.create", R"({"name":"X"})", Code::invalid_argument);
  EXPECT_NE(m.find("at least one target"), std::string::npos);
  fails("sla_policies.create", R"({"name":"X","first_response":"PT1H","warn_at":1.5})",
        Code::invalid_argument);
  fails(
      "sla_policies.create",
      R"({"name":"X","first_response":"PT1H","calendar_id":"0190a0a0-0000-7000-8000-000000000999"})",
      Code::not_found);
  auto p = ok("sla_policies.create",
              "{\"name\":\"Gold\",\"first_response\":\"PT90M\",\"calendar_id\":" + q(cal_id) +
                  ",\"match\":{\"priorities\":[\"urgent\"]}}");
  std::string pid = str(p, "id");
  EXPECT_EQ(str(p, "first_response"), "PT1H30M");
  EXPECT_TRUE(p["resolution"].IsNull());
  EXPECT_DOUBLE_EQ(p["warn_at"].GetDouble(), 0.8);
  EXPECT_EQ(banxway::json::stringify(p["match"]),
            R"({"priorities":["urgent"],"customer_tiers":[],"channels":[]})");
  auto p2 =
      ok("sla_policies.update", "{\"id\":" + q(pid) + ",\"resolution\":\"P2D\",\"enabled\":false}");
  EXPECT_EQ(str(p2, "resolution"), "P2D");
  EXPECT_FALSE(p2["enabled"].GetBool());
  fails("sla_policies.update",
        "{\"id\":" + q(pid) + ",\"first_response\":null,\"resolution\":null}",
        Code::invalid_argument);
  EXPECT_EQ(str(ok("sla_policies.get", "{\"id\":" + q(pid) + "}"), "resolution"), "P2D");
  // A calendar in use cannot go.
  m = fails("business_calendars.delete", "{\"id\":" + q(cal_id) + "}", Code::conflict);
  EXPECT_NE(m.find("Gold"), std::string::npos);

  // Agents read but do not configure (manager+).
  std::string agent = key_with_role("agent");
  std::string manager = key_with_role("manager");
  fails("sla_policies.create", R"({"name":"Y","first_response":"PT1H"})", Code::permission_denied,
        agent);
  fails("business_calendars.delete", "{\"id\":" + q(cal_id) + "}", Code::permission_denied, agent);
  EXPECT_EQ(ok("sla_policies.list", "{}", agent)["items"].Size(), 1u);
  ok("sla_policies.create", R"({"name":"Y","first_response":"PT1H"})", manager);

  // Rules: trigger, anchor and met_by are checked.
  m = fails("sla_milestone_rules.create",
            R"({"name":"R","trigger":"eta","offset":"PT2H","met_by":"reply"})",
            Code::invalid_argument);
  EXPECT_NE(m.find("trigger"), std::string::npos);
  fails("sla_milestone_rules.create",
        R"({"name":"R","trigger":"milestone:sailed","offset":"PT2H","met_by":"reply"})",
        Code::invalid_argument);
  fails("sla_milestone_rules.create",
        R"({"name":"R","trigger":"eta_changed","offset":"-PT2H","met_by":"reply"})",
        Code::invalid_argument);
  std::string rid =
      str(ok("sla_milestone_rules.create",
             R"({"name":"R","trigger":"eta_changed","offset":"PT2H","met_by":"reply"})"),
          "id");
  EXPECT_EQ(str(ok("sla_milestone_rules.update", "{\"id\":" + q(rid) + ",\"offset\":\"PT3H\"}"),
                "offset"),
            "PT3H");

  // Writes leave an audit row each; deletes work and are not_found afterwards.
  ok("sla_policies.delete", "{\"id\":" + q(pid) + "}");
  fails("sla_policies.get", "{\"id\":" + q(pid) + "}", Code::not_found);
  ok("business_calendars.delete", "{\"id\":" + q(cal_id) + "}");
  ok("sla_milestone_rules.delete", "{\"id\":" + q(rid) + "}");
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE op LIKE 'sla_policies.%'", {}), 4);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE op LIKE 'business_calendars.%'", {}), 3);
}

BX_INSTANTIATE_BACKENDS(SlaTest);

TEST_P(SlaTest, TimersSurviveARestartAndBadEventsAreSkipped) {
  policy(R"({"name":"Std","first_response":"PT1H"})");
  std::string t = thread();
  inbound(t);
  run();
  // A new engine on the same database (a restart): the timer is a job row and still fires once.
  engine.reset();
  banxway::EngineOptions o;
  o.database_url = url;
  o.jwt_secret = "test-secret-with-at-least-32-characters!";
  o.clock = clock;
  auto e = banxway::Engine::open(o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  engine = std::move(e).value();
  clock->advance(hours(2));
  run();
  run();
  EXPECT_EQ(sla_events(), (std::vector<std::string>{"sla.warning first_response",
                                                    "sla.breached first_response"}));

  // The consumer skips an unreadable event instead of failing its batch.
  banxway::runtime::EventRecord bad;
  bad.id = 1;
  bad.org_id = org_a;
  bad.type = "message.received";
  bad.thread_id = t;
  bad.payload = "not json";
  bad.created_at = banxway::format_time(clock->now());
  auto& impl = engine->impl();
  banxway::Principal who = banxway::api::system_principal(org_a, "sla");
  banxway::api::Ctx ctx(impl.core, who, "sla");
  auto st = impl.core.db->transaction([&](banxway::store::Conn& c) {
    return banxway::services::sla_on_events(c, ctx, {bad});
  });
  EXPECT_TRUE(st.ok()) << st.to_string();
}
