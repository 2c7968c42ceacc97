// Outgoing webhooks (webhooks.*) on every backend: subscriptions and their validation, SSRF
// refusals at save time and at connect time, and deliveries to a receiver on 127.0.0.1 that
// fails, times out and succeeds — signatures checked here, retries driven by a FakeClock and
// Engine::run_pending, the dead state, redelivery and secret rotation.
#include "services/webhooks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "core/env.hpp"
#include "engine_impl.hpp"
#include "support/engine_fixture.hpp"
#include "support/http_stub.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;
namespace sv = banxway::services;

namespace {

std::string q(const std::string& s) { return banxway::json::quote(s); }

// A receiver whose answers the test scripts; once the script is used up it answers 200.
class Receiver {
 public:
  Receiver()
      : stub_([this](const bxtest::StubRequest&) {
          std::lock_guard<std::mutex> lock(mu_);
          if (script_.empty()) return bxtest::StubResponse{200, "{\"received\":true}"};
          auto r = script_.front();
          script_.pop_front();
          return r;
        }) {}
  void then(int status, std::string body = "", std::chrono::milliseconds delay = {},
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    bxtest::StubResponse r;
    r.status = status;
    r.body = std::move(body);
    r.delay = delay;
    r.headers = std::move(headers);
    script_.push_back(std::move(r));
  }
  std::string url(const std::string& path = "/hook") const { return stub_.base_url() + path; }
  int port() const { return stub_.port(); }
  std::vector<bxtest::StubRequest> requests() const { return stub_.requests(); }
  size_t count() const { return stub_.request_count(); }

 private:
  std::mutex mu_;
  std::deque<bxtest::StubResponse> script_;
  bxtest::HttpStub stub_;
};

// The receiver's side of docs/WEBHOOKS.md: every v1= signature in the header, and whether one
// of them is HMAC-SHA256(secret, timestamp + "." + body).
std::vector<std::string> signatures(const bxtest::StubRequest& r) {
  std::vector<std::string> out;
  std::string h = r.header("Banxway-Signature");
  size_t pos = 0;
  while (pos <= h.size()) {
    size_t comma = h.find(',', pos);
    if (comma == std::string::npos) comma = h.size();
    out.push_back(h.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}
bool signed_with(const bxtest::StubRequest& r, const std::string& secret) {
  std::string expected = "v1=" + banxway::crypto::hex(banxway::crypto::hmac_sha256(
                                     secret, r.header("Banxway-Timestamp") + "." + r.body));
  for (const auto& s : signatures(r))
    if (banxway::crypto::constant_time_equal(s, expected)) return true;
  return false;
}

}  // namespace

class WebhooksTest : public bxtest::EngineTest {
 protected:
  // Reopens the engine on the same database with a clock the test moves and the webhook
  // options under test.
  std::shared_ptr<banxway::FakeClock> reopen(bool allow_private, bool allow_http) {
    auto clock = std::make_shared<banxway::FakeClock>(banxway::SystemClock().now());
    engine.reset();
    banxway::EngineOptions o;
    o.database_url = url;
    o.jwt_secret = "test-secret-with-at-least-32-characters!";
    o.clock = clock;
    o.webhooks_allow_private_network = allow_private;
    o.webhooks_allow_http = allow_http;
    auto e = banxway::Engine::open(o);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    engine = std::move(e).value();
    return clock;
  }
  // Event fan-out and due jobs, until nothing is left to do now.
  void pump() {
    for (int i = 0; i < 20; ++i) {
      auto r = engine->run_pending(100);
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      if (*r == 0) return;
    }
  }
  Document create(const std::string& url, const std::string& types, const std::string& extra = "") {
    return ok("webhooks.create", "{\"url\":" + q(url) + ",\"event_types\":" + types + extra + "}");
  }
  Document deliveries(const std::string& sub, const std::string& extra = "") {
    return ok("webhooks.deliveries", "{\"subscription_id\":" + q(sub) + extra + "}");
  }
  Document only_delivery(const std::string& sub) {
    Document d = deliveries(sub);
    EXPECT_EQ(d["items"].Size(), 1u);
    Document one;
    if (d["items"].Size() == 1) one.CopyFrom(d["items"][0], one.GetAllocator());
    return one;
  }
  std::string thread(const std::string& subject = "Rate request") {
    return str(ok("threads.create", "{\"subject\":" + q(subject) + "}"), "id");
  }
};

// --- pure parts --------------------------------------------------------------------------------

TEST(WebhookParts, PatternMatching) {
  EXPECT_TRUE(sv::webhook_pattern_matches("*", "thread.created"));
  EXPECT_TRUE(sv::webhook_pattern_matches("thread.*", "thread.created"));
  EXPECT_TRUE(sv::webhook_pattern_matches("thread.*", "thread.status_changed"));
  EXPECT_FALSE(sv::webhook_pattern_matches("thread.*", "thread"));
  EXPECT_FALSE(sv::webhook_pattern_matches("thread.*", "threads.created"));
  EXPECT_FALSE(sv::webhook_pattern_matches("thread.*", "message.received"));
  EXPECT_TRUE(sv::webhook_pattern_matches("message.received", "message.received"));
  EXPECT_FALSE(sv::webhook_pattern_matches("message.received", "message.received_late"));
}

TEST(WebhookParts, SignatureVector) {
  // Computed independently: python3 hmac.new(b"whsec_test", b'1700000000.{"id":"d1"}', sha256)
  EXPECT_EQ(sv::webhook_signature("whsec_test", "1700000000", "{\"id\":\"d1\"}"),
            "v1=7aa818774b12d07b487b77188a423aa42da8d52da13f1fface316ecdf0a91f53");
}

TEST(WebhookParts, UrlRules) {
  EXPECT_TRUE(sv::check_webhook_url("https://hooks.example.com/in", false, false).ok());
  EXPECT_TRUE(sv::check_webhook_url("http://hooks.example.com/in", true, false).ok());
  EXPECT_TRUE(sv::check_webhook_url("https://10.0.0.1/in", false, true).ok());
  for (const char* bad :
       {"https://10.0.0.1/", "https://127.0.0.1:8443/x", "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data", "https://0.0.0.0/",
        "https://[::ffff:127.0.0.1]/", "https://192.168.1.20/", "https://[fd00::1]/"}) {
    auto st = sv::check_webhook_url(bad, false, false);
    EXPECT_EQ(st.code(), Code::invalid_argument) << bad;
    EXPECT_NE(st.message().find("private, loopback, link-local or metadata"), std::string::npos)
        << bad << ": " << st.message();
  }
}

// --- subscriptions -------------------------------------------------------------------------------

TEST_P(WebhooksTest, CreateGetListUpdateDelete) {
  Document c =
      create("https://hooks.example.com/banxway", R"(["thread.*","message.received","thread.*"])",
             R"(,"description":"CRM sync")");
  std::string id = str(c, "id");
  std::string secret = str(c, "secret");
  EXPECT_TRUE(secret.starts_with("whsec_")) << secret;
  EXPECT_GE(secret.size(), 40u);
  EXPECT_EQ(str(c, "url"), "https://hooks.example.com/banxway");
  ASSERT_TRUE(c["event_types"].IsArray());
  EXPECT_EQ(c["event_types"].Size(), 2u);  // the duplicate dropped
  EXPECT_TRUE(c["enabled"].GetBool());
  EXPECT_EQ(c["timeout_seconds"].GetInt(), 10);

  // The secret is shown once: never by get, list, or in events.
  Document g = ok("webhooks.get", "{\"id\":" + q(id) + "}");
  EXPECT_FALSE(g.HasMember("secret"));
  EXPECT_EQ(str(g, "description"), "CRM sync");
  std::string listed = banxway::json::stringify(ok("webhooks.list", "{}"));
  EXPECT_NE(listed.find(id), std::string::npos);
  EXPECT_EQ(listed.find(secret), std::string::npos);

  Document u = ok("webhooks.update", "{\"id\":" + q(id) +
                                         ",\"enabled\":false,\"event_types\":[\"*\"],"
                                         "\"description\":null,\"timeout_seconds\":3}");
  EXPECT_FALSE(u["enabled"].GetBool());
  EXPECT_TRUE(u["description"].IsNull());
  EXPECT_EQ(u["timeout_seconds"].GetInt(), 3);
  EXPECT_STREQ(u["event_types"][0].GetString(), "*");
  EXPECT_EQ(ok("webhooks.list", R"({"enabled":true})")["items"].Size(), 0u);
  EXPECT_EQ(ok("webhooks.list", R"({"enabled":false})")["items"].Size(), 1u);

  Document rot = ok("webhooks.rotate_secret", "{\"id\":" + q(id) + "}");
  EXPECT_NE(str(rot, "secret"), secret);
  EXPECT_FALSE(str(rot, "previous_secret_expires_at").empty());

  std::string events = banxway::json::stringify(ok("events.list", R"({"after":0,"limit":1000})"));
  for (const char* type : {"webhook_subscription.created", "webhook_subscription.updated",
                           "webhook_subscription.secret_rotated"})
    EXPECT_NE(events.find(type), std::string::npos) << type;
  EXPECT_EQ(events.find(secret), std::string::npos);
  EXPECT_EQ(events.find(str(rot, "secret")), std::string::npos);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE target_id = ?", {id}), 3);

  Document del = ok("webhooks.delete", "{\"id\":" + q(id) + "}");
  EXPECT_TRUE(del["deleted"].GetBool());
  fails("webhooks.get", "{\"id\":" + q(id) + "}", Code::not_found);
  fails("webhooks.delete", "{\"id\":" + q(id) + "}", Code::not_found);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE target_id = ?", {id}), 4);
}

TEST_P(WebhooksTest, ValidationMessages) {
  auto msg = [&](const std::string& url, const std::string& types = R"(["thread.created"])") {
    return fails("webhooks.create", "{\"url\":" + q(url) + ",\"event_types\":" + types + "}",
                 Code::invalid_argument);
  };
  EXPECT_NE(msg("ftp://files.example.com/x").find("url: not an absolute http:// or https:// URL"),
            std::string::npos);
  EXPECT_NE(msg("http://hooks.example.com/x").find("url: must use https://"), std::string::npos);
  EXPECT_NE(msg("https://bob:pw@hooks.example.com/x").find("user:password@"), std::string::npos);
  EXPECT_NE(msg("https://hooks.example.com/a b").find("space or control character"),
            std::string::npos);
  EXPECT_NE(msg("https://hooks.example.com/x", R"(["thread.created","Thread.Created"])")
                .find("event_types[1]"),
            std::string::npos);
  for (const char* bad : {R"(["thread."])", R"(["*.created"])", R"(["a..b"])", R"(["thread.**"])"})
    EXPECT_NE(msg("https://hooks.example.com/x", bad).find("event_types[0]"), std::string::npos)
        << bad;
  fails("webhooks.create", R"({"url":"https://hooks.example.com/x","event_types":[]})",
        Code::invalid_argument);
  fails("webhooks.create", R"({"url":"https://hooks.example.com/x"})", Code::invalid_argument);
  // SSRF: literal private, loopback, link-local and metadata addresses, on create and update.
  for (const char* url : {"https://10.0.0.1/hook", "https://127.0.0.1/hook",
                          "https://169.254.169.254/latest/meta-data/", "https://[::1]:8443/hook"})
    EXPECT_NE(msg(url).find("is a private, loopback, link-local or metadata address"),
              std::string::npos)
        << url;
  std::string id = str(create("https://hooks.example.com/x", R"(["*"])"), "id");
  std::string m = fails("webhooks.update", "{\"id\":" + q(id) + ",\"url\":\"https://10.0.0.1/\"}",
                        Code::invalid_argument);
  EXPECT_NE(m.find("10.0.0.1 is a private"), std::string::npos) << m;
  EXPECT_EQ(str(ok("webhooks.get", "{\"id\":" + q(id) + "}"), "url"),
            "https://hooks.example.com/x");
  // Nothing of the refused calls was written.
  EXPECT_EQ(ok("webhooks.list", "{}")["items"].Size(), 1u);
}

TEST_P(WebhooksTest, ManagersAndAdminsOnly) {
  std::string agent = key_with_role("agent");
  std::string viewer = key_with_role("viewer");
  std::string manager = key_with_role("manager");
  std::string body = R"({"url":"https://hooks.example.com/x","event_types":["*"]})";
  fails("webhooks.create", body, Code::permission_denied, agent);
  fails("webhooks.list", "{}", Code::permission_denied, viewer);
  fails("webhooks.deliveries", "{}", Code::permission_denied, agent);
  std::string id = str(ok("webhooks.create", body, manager), "id");
  fails("webhooks.get", "{\"id\":" + q(id) + "}", Code::permission_denied, agent);
  EXPECT_EQ(str(ok("webhooks.get", "{\"id\":" + q(id) + "}", manager), "id"), id);
}

TEST_P(WebhooksTest, AtMostFiftySubscriptions) {
  for (int i = 0; i < sv::kMaxWebhookSubscriptions; ++i)
    create("https://hooks.example.com/" + std::to_string(i), R"(["*"])");
  std::string m =
      fails("webhooks.create", R"({"url":"https://hooks.example.com/x","event_types":["*"]})",
            Code::conflict);
  EXPECT_NE(m.find("at most 50"), std::string::npos) << m;
  // Another organization has its own allowance.
  ok("webhooks.create", R"({"url":"https://hooks.example.com/x","event_types":["*"]})", key_b);
}

// --- delivery ------------------------------------------------------------------------------------

TEST_P(WebhooksTest, FailsTimesOutThenSucceedsSignedAndLogged) {
  auto clock = reopen(/*allow_private=*/true, /*allow_http=*/true);
  Receiver rx;
  rx.then(500, "boom");
  rx.then(200, "too late", std::chrono::milliseconds(2500));  // beyond the 1 s timeout
  Document sub = create(rx.url(), R"(["thread.created"])", R"(,"timeout_seconds":1)");
  std::string sid = str(sub, "id"), secret = str(sub, "secret");

  ok("customers.create", R"({"name":"Not subscribed"})");  // customer.created: no delivery
  std::string tid = thread();
  pump();
  ASSERT_EQ(rx.count(), 1u);
  Document d = only_delivery(sid);
  std::string did = str(d, "id");
  EXPECT_EQ(str(d, "event_type"), "thread.created");
  EXPECT_EQ(str(d, "status"), "pending");
  EXPECT_EQ(d["attempts"].GetInt(), 1);
  EXPECT_EQ(d["last_response_code"].GetInt(), 500);
  EXPECT_EQ(str(d, "last_error"), "HTTP 500");
  EXPECT_EQ(str(d, "response_excerpt"), "boom");
  EXPECT_FALSE(str(d, "next_attempt_at").empty());

  // What the receiver got: headers, a body naming the delivery and the event, a signature it
  // can check with the secret it was given.
  auto r1 = rx.requests()[0];
  EXPECT_EQ(r1.method, "POST");
  EXPECT_EQ(r1.path(), "/hook");
  EXPECT_EQ(r1.header("Content-Type"), "application/json");
  EXPECT_EQ(r1.header("Banxway-Delivery"), did);
  EXPECT_EQ(r1.header("Banxway-Event"), "thread.created");
  int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock->now().time_since_epoch()).count();
  EXPECT_EQ(r1.header("Banxway-Timestamp"), std::to_string(now_s));
  EXPECT_EQ(signatures(r1).size(), 1u);
  EXPECT_TRUE(signed_with(r1, secret));
  EXPECT_FALSE(signed_with(r1, secret + "x"));
  Document body;
  ASSERT_TRUE(banxway::json::parse(r1.body, &body).ok()) << r1.body;
  EXPECT_EQ(str(body, "id"), did);
  EXPECT_EQ(str(body["event"], "type"), "thread.created");
  EXPECT_EQ(str(body["event"], "subject_type"), "thread");
  EXPECT_EQ(str(body["event"], "subject_id"), tid);
  EXPECT_EQ(str(body["event"], "thread_id"), tid);
  EXPECT_TRUE(body["event"]["id"].IsInt64());
  EXPECT_FALSE(str(body["event"], "created_at").empty());
  EXPECT_EQ(str(body["event"]["data"], "subject"), "Rate request");

  // Not due yet: nothing is sent until the clock reaches the backoff.
  pump();
  EXPECT_EQ(rx.count(), 1u);
  clock->advance(std::chrono::seconds(5));
  pump();
  ASSERT_EQ(rx.count(), 2u);
  d = only_delivery(sid);
  EXPECT_EQ(str(d, "status"), "pending");
  EXPECT_EQ(d["attempts"].GetInt(), 2);
  EXPECT_TRUE(d["last_response_code"].IsNull());
  EXPECT_NE(str(d, "last_error").find("timed out"), std::string::npos) << str(d, "last_error");
  EXPECT_GE(d["duration_ms"].GetInt(), 900);

  ok("webhooks.update", "{\"id\":" + q(sid) + ",\"timeout_seconds\":10}");
  clock->advance(std::chrono::seconds(10));
  pump();
  ASSERT_EQ(rx.count(), 3u);
  d = only_delivery(sid);
  EXPECT_EQ(str(d, "status"), "succeeded");
  EXPECT_EQ(d["attempts"].GetInt(), 3);
  EXPECT_EQ(d["last_response_code"].GetInt(), 200);
  EXPECT_TRUE(d["last_error"].IsNull());
  EXPECT_TRUE(d["next_attempt_at"].IsNull());
  EXPECT_EQ(str(d, "response_excerpt"), "{\"received\":true}");
  // One delivery id, the same bytes every time, each attempt signed afresh.
  auto reqs = rx.requests();
  for (const auto& r : reqs) {
    EXPECT_EQ(r.header("Banxway-Delivery"), did);
    EXPECT_EQ(r.body, r1.body);
    EXPECT_TRUE(signed_with(r, secret));
  }
  EXPECT_NE(reqs[2].header("Banxway-Timestamp"), r1.header("Banxway-Timestamp"));

  Document full = ok("webhooks.delivery_get", "{\"id\":" + q(did) + "}");
  EXPECT_EQ(str(full, "body"), r1.body);
  ASSERT_EQ(full["attempt_log"].Size(), 3u);
  EXPECT_EQ(str(full["attempt_log"][0], "outcome"), "retry");
  EXPECT_EQ(full["attempt_log"][0]["response_code"].GetInt(), 500);
  EXPECT_EQ(str(full["attempt_log"][1], "outcome"), "retry");
  EXPECT_TRUE(full["attempt_log"][1]["response_code"].IsNull());
  EXPECT_EQ(str(full["attempt_log"][2], "outcome"), "succeeded");
  EXPECT_EQ(full["attempt_log"][2]["attempt"].GetInt(), 3);

  // Done: more time and more passes send nothing more.
  clock->advance(std::chrono::hours(2));
  pump();
  EXPECT_EQ(rx.count(), 3u);
}

TEST_P(WebhooksTest, RetriesUntilDeadThenRedeliver) {
  auto clock = reopen(true, true);
  Receiver rx;
  rx.then(503, "", {}, {{"Retry-After", "7"}});
  for (int i = 1; i < sv::kWebhookMaxAttempts; ++i) rx.then(i % 2 ? 429 : 502, "busy");
  // job.* too: the dead delivery job's job.dead event must not be delivered (it would feed
  // deliveries to a dead receiver forever).
  Document sub = create(rx.url(), R"(["thread.created","job.*"])");
  std::string sid = str(sub, "id"), secret = str(sub, "secret");
  thread();
  pump();
  Document d = only_delivery(sid);
  std::string did = str(d, "id");
  // Retry-After: 7 is honoured.
  banxway::TimePoint last, next;
  ASSERT_TRUE(banxway::parse_time(str(d, "last_attempt_at"), &last));
  ASSERT_TRUE(banxway::parse_time(str(d, "next_attempt_at"), &next));
  EXPECT_EQ(next - last, std::chrono::seconds(7));
  for (int i = 1; i < sv::kWebhookMaxAttempts; ++i) {
    clock->advance(std::chrono::minutes(75));  // past the 1 h cap plus jitter
    pump();
    ASSERT_EQ(rx.count(), static_cast<size_t>(i + 1));
  }
  d = only_delivery(sid);
  EXPECT_EQ(str(d, "status"), "dead");
  EXPECT_EQ(d["attempts"].GetInt(), sv::kWebhookMaxAttempts);
  EXPECT_NE(str(d, "last_error").find("gave up after 15 attempts; last: HTTP 502"),
            std::string::npos)
      << str(d, "last_error");
  EXPECT_TRUE(d["next_attempt_at"].IsNull());
  EXPECT_EQ(
      count("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook.deliver' AND status = 'dead'", {}), 1);
  EXPECT_EQ(deliveries(sid, R"(,"status":"dead")")["items"].Size(), 1u);
  EXPECT_EQ(deliveries(sid, R"(,"status":"pending")")["items"].Size(), 0u);
  clock->advance(std::chrono::hours(2));
  pump();
  EXPECT_EQ(rx.count(), static_cast<size_t>(sv::kWebhookMaxAttempts));
  EXPECT_EQ(deliveries(sid)["items"].Size(), 1u);  // no delivery of job.dead

  // Redelivery: the same delivery id and bytes, a fresh signature, now answered 200.
  Document re = ok("webhooks.redeliver", "{\"id\":" + q(did) + "}");
  EXPECT_EQ(str(re, "status"), "pending");
  std::string m = fails("webhooks.redeliver", "{\"id\":" + q(did) + "}", Code::conflict);
  EXPECT_NE(m.find("still pending"), std::string::npos) << m;
  pump();
  ASSERT_EQ(rx.count(), static_cast<size_t>(sv::kWebhookMaxAttempts + 1));
  auto reqs = rx.requests();
  EXPECT_EQ(reqs.back().header("Banxway-Delivery"), did);
  EXPECT_EQ(reqs.back().body, reqs.front().body);
  EXPECT_TRUE(signed_with(reqs.back(), secret));
  d = only_delivery(sid);
  EXPECT_EQ(str(d, "status"), "succeeded");
  EXPECT_EQ(d["attempts"].GetInt(), sv::kWebhookMaxAttempts + 1);
  // A succeeded delivery can be sent again too.
  ok("webhooks.redeliver", "{\"id\":" + q(did) + "}");
  pump();
  EXPECT_EQ(rx.count(), static_cast<size_t>(sv::kWebhookMaxAttempts + 2));
  EXPECT_EQ(ok("webhooks.delivery_get", "{\"id\":" + q(did) + "}")["attempt_log"].Size(),
            static_cast<size_t>(sv::kWebhookMaxAttempts + 2));
}

TEST_P(WebhooksTest, RefusalsAreFinal) {
  auto clock = reopen(true, true);
  Receiver rx;
  rx.then(410, "gone");
  rx.then(302, "", {}, {{"Location", "https://elsewhere.example/hook"}});
  std::string s410 = str(create(rx.url("/a"), R"(["thread.created"])"), "id");
  thread("one");
  pump();
  std::string s302 = str(create(rx.url("/b"), R"(["customer.created"])"), "id");
  ok("customers.create", R"({"name":"Acme"})");
  pump();
  ASSERT_EQ(rx.count(), 2u);
  Document a = only_delivery(s410);
  EXPECT_EQ(str(a, "status"), "failed");
  EXPECT_EQ(a["last_response_code"].GetInt(), 410);
  Document b = only_delivery(s302);
  EXPECT_EQ(str(b, "status"), "failed");
  EXPECT_NE(str(b, "last_error")
                .find("redirects are not followed; Location: "
                      "https://elsewhere.example/hook"),
            std::string::npos)
      << str(b, "last_error");
  clock->advance(std::chrono::hours(2));
  pump();
  EXPECT_EQ(rx.count(), 2u);  // no retries

  // A disabled subscription gets no new deliveries, and its pending ones are not sent.
  rx.then(500);
  thread("two");
  pump();
  ASSERT_EQ(rx.count(), 3u);
  ok("webhooks.update", "{\"id\":" + q(s410) + ",\"enabled\":false}");
  clock->advance(std::chrono::minutes(10));
  thread("three");
  pump();
  EXPECT_EQ(rx.count(), 3u);
  Document pending = deliveries(s410, R"(,"status":"failed")");
  ASSERT_EQ(pending["items"].Size(), 2u);
  EXPECT_NE(str(pending["items"][0], "last_error").find("disabled"), std::string::npos);
  EXPECT_EQ(deliveries(s410)["items"].Size(), 2u);  // "three" made none
  std::string m = fails("webhooks.redeliver", "{\"id\":" + q(str(pending["items"][0], "id")) + "}",
                        Code::conflict);
  EXPECT_NE(m.find("disabled"), std::string::npos) << m;
}

TEST_P(WebhooksTest, SsrfCheckedAtConnectTime) {
  reopen(/*allow_private=*/false, /*allow_http=*/true);
  Receiver rx;
  // A literal loopback address is refused on save; a name is judged after DNS, at connect time.
  std::string m = fails("webhooks.create", "{\"url\":" + q(rx.url()) + ",\"event_types\":[\"*\"]}",
                        Code::invalid_argument);
  EXPECT_NE(m.find("127.0.0.1 is a private"), std::string::npos) << m;
  std::string sid = str(
      create("http://localhost:" + std::to_string(rx.port()) + "/hook", R"(["thread.created"])"),
      "id");
  thread();
  pump();
  EXPECT_EQ(rx.count(), 0u);
  Document d = only_delivery(sid);
  EXPECT_EQ(str(d, "status"), "failed");
  EXPECT_NE(str(d, "last_error").find("refusing to connect to a loopback address"),
            std::string::npos)
      << str(d, "last_error");

  // https only unless allowed, also for URLs saved while it was allowed.
  reopen(true, false);
  std::string m2 = fails("webhooks.create", "{\"url\":" + q(rx.url()) + ",\"event_types\":[\"*\"]}",
                         Code::invalid_argument);
  EXPECT_NE(m2.find("must use https://"), std::string::npos) << m2;
  ok("webhooks.update", "{\"id\":" + q(sid) + ",\"event_types\":[\"customer.created\"]}");
  ok("customers.create", R"({"name":"Acme"})");
  pump();
  EXPECT_EQ(rx.count(), 0u);
  Document d2 = deliveries(sid, R"(,"event_type":"customer.created")");
  ASSERT_EQ(d2["items"].Size(), 1u);
  EXPECT_NE(str(d2["items"][0], "last_error").find("http:// URLs are not allowed"),
            std::string::npos);
}

TEST_P(WebhooksTest, RotationOverlapAndTestEvent) {
  auto clock = reopen(true, true);
  Receiver rx;
  Document sub = create(rx.url(), R"(["thread.created"])");
  std::string sid = str(sub, "id"), old_secret = str(sub, "secret");
  // Another subscription to everything: webhook.test goes to the tested subscription only.
  std::string other = str(create(rx.url("/other"), R"(["*"])"), "id");
  pump();
  size_t before = rx.count();  // `other` got webhook_subscription.created

  Document rot = ok("webhooks.rotate_secret", "{\"id\":" + q(sid) + ",\"overlap_seconds\":3600}");
  std::string new_secret = str(rot, "secret");
  Document t = ok("webhooks.test", "{\"id\":" + q(sid) + "}");
  EXPECT_EQ(str(t, "event_type"), "webhook.test");
  EXPECT_EQ(str(t, "subscription_id"), sid);
  pump();
  ASSERT_EQ(rx.count(), before + 1 + 1);  // the test delivery, and `other` gets secret_rotated
  bxtest::StubRequest test_req;
  for (const auto& r : rx.requests())
    if (r.header("Banxway-Event") == "webhook.test") test_req = r;
  ASSERT_EQ(test_req.path(), "/hook");
  EXPECT_EQ(test_req.header("Banxway-Delivery"), str(t, "id"));
  auto sigs = signatures(test_req);
  ASSERT_EQ(sigs.size(), 2u) << test_req.header("Banxway-Signature");
  EXPECT_EQ(sigs[0],
            sv::webhook_signature(new_secret, test_req.header("Banxway-Timestamp"), test_req.body));
  EXPECT_EQ(sigs[1],
            sv::webhook_signature(old_secret, test_req.header("Banxway-Timestamp"), test_req.body));
  EXPECT_EQ(str(only_delivery(sid), "status"), "succeeded");
  auto other_deliveries = deliveries(other);  // outlives the loop over its array
  for (auto& item : other_deliveries["items"].GetArray())
    EXPECT_NE(str(item, "event_type"), "webhook.test");

  // After the overlap only the new secret signs.
  clock->advance(std::chrono::minutes(61));
  ok("webhooks.test", "{\"id\":" + q(sid) + "}");
  pump();
  auto last = rx.requests().back();
  for (const auto& r : rx.requests())
    if (r.header("Banxway-Event") == "webhook.test") last = r;
  EXPECT_EQ(signatures(last).size(), 1u);
  EXPECT_TRUE(signed_with(last, new_secret));
  EXPECT_FALSE(signed_with(last, old_secret));

  // overlap 0: the old secret stops at once.
  std::string newest =
      str(ok("webhooks.rotate_secret", "{\"id\":" + q(sid) + ",\"overlap_seconds\":0}"), "secret");
  ok("webhooks.test", "{\"id\":" + q(sid) + "}");
  pump();
  for (const auto& r : rx.requests())
    if (r.header("Banxway-Event") == "webhook.test") last = r;
  EXPECT_EQ(signatures(last).size(), 1u);
  EXPECT_TRUE(signed_with(last, newest));
}

TEST_P(WebhooksTest, DeliveryLogPagesNewestFirst) {
  auto clock = reopen(true, true);
  Receiver rx;
  for (int i = 0; i < 3; ++i) rx.then(i == 1 ? 400 : 200);
  std::string sid = str(create(rx.url(), R"(["thread.created"])"), "id");
  for (int i = 0; i < 3; ++i) {
    clock->advance(std::chrono::seconds(1));
    thread("t" + std::to_string(i));
    pump();
  }
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 3u);
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    Document d =
        ok("webhooks.deliveries", "{\"subscription_id\":" + q(sid) + ",\"limit\":1" +
                                      (cursor.empty() ? "" : ",\"cursor\":" + q(cursor)) + "}");
    for (auto& it : d["items"].GetArray()) seen.push_back(str(it, "id"));
    if (d["next_cursor"].IsNull()) break;
    cursor = d["next_cursor"].GetString();
  }
  ASSERT_EQ(seen.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(seen[i], reqs[2 - i].header("Banxway-Delivery"));
  Document failed = deliveries(sid, R"(,"status":"failed")");
  ASSERT_EQ(failed["items"].Size(), 1u);
  EXPECT_EQ(str(failed["items"][0], "id"), reqs[1].header("Banxway-Delivery"));
  fails("webhooks.deliveries", R"({"cursor":"not-a-cursor"})", Code::invalid_argument);
}

// A receiver's answer is kept as at most 1 KiB of valid UTF-8 without NUL bytes (PostgreSQL
// refuses anything else, and a refused write would lose the attempt).
TEST_P(WebhooksTest, ResponseExcerptIsBoundedUtf8) {
  reopen(true, true);
  Receiver rx;
  std::string junk = std::string("\xff\x00ok", 4);
  for (int i = 0; i < 800; ++i) junk += "\xc3\xa9";  // é, two bytes each
  rx.then(400, junk);
  std::string sid = str(create(rx.url(), R"(["thread.created"])"), "id");
  thread();
  pump();
  ASSERT_EQ(rx.count(), 1u);
  Document d = only_delivery(sid);
  EXPECT_EQ(str(d, "status"), "failed");
  std::string ex = str(d, "response_excerpt");
  EXPECT_LE(ex.size(), sv::kWebhookExcerptBytes);
  EXPECT_GE(ex.size(), sv::kWebhookExcerptBytes - 1);
  EXPECT_TRUE(ex.starts_with("??ok\xc3\xa9")) << ex.substr(0, 10);
  EXPECT_EQ(ex.find('\0'), std::string::npos);
  EXPECT_EQ((ex.size() - 4) % 2, 0u);  // cut between characters, not inside one
}

// The consumer on its own, inside a transaction, with hand-made events.
TEST_P(WebhooksTest, FanOutConsumerDirectly) {
  std::string s1 = str(create("https://hooks.example.com/1", R"(["message.*"])"), "id");
  std::string s2 =
      str(create("https://hooks.example.com/2", R"(["message.received","job.dead"])"), "id");
  std::string s3 =
      str(create("https://hooks.example.com/3", R"(["*"])", R"(,"enabled":false)"), "id");
  auto& core = engine->impl().core;
  banxway::Principal who = banxway::api::system_principal(org_a, "webhooks");
  banxway::api::Ctx ctx(core, who, "test");
  auto ev = [&](int64_t id, const std::string& type, const std::string& payload = "{}") {
    banxway::runtime::EventRecord e;
    e.id = id;
    e.org_id = org_a;
    e.type = type;
    e.subject_type = "message";
    e.subject_id = "m1";
    e.payload = payload;
    e.created_at = "2026-11-27T10:00:00.000Z";
    return e;
  };
  std::vector<banxway::runtime::EventRecord> events = {
      ev(1000001, "message.received"),
      ev(1000002, "message.sent"),
      ev(1000003, "thread.created"),
      ev(1000004, "webhook.test"),
      ev(1000005, "job.dead", R"({"kind":"webhook.deliver","job_id":"x"})"),
      ev(1000006, "job.dead", R"({"kind":"email.send","job_id":"y"})")};
  auto run = [&] {
    return core.db->transaction(
        [&](banxway::store::Conn& c) { return sv::webhooks_on_events(c, ctx, events); });
  };
  ASSERT_TRUE(run().ok());
  auto types = [&](const std::string& sid) {
    std::vector<std::string> out;
    auto list = deliveries(sid);  // outlives the loop over its array
    for (auto& it : list["items"].GetArray()) out.push_back(str(it, "event_type"));
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(types(s1), (std::vector<std::string>{"message.received", "message.sent"}));
  EXPECT_EQ(types(s2), (std::vector<std::string>{"job.dead", "message.received"}));
  EXPECT_TRUE(types(s3).empty());
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook.deliver'", {}), 4);
  // Handing the same events over again (a retried batch) doubles nothing.
  ASSERT_TRUE(run().ok());
  EXPECT_EQ(types(s1).size(), 2u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook.deliver'", {}), 4);
}

BX_INSTANTIATE_BACKENDS(WebhooksTest);
