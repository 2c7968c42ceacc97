// Messaging end to end through the engine, on both databases, with provider stand-ins on
// loopback (tests/support/http_stub.hpp) and the real adapters: an inbound WhatsApp message
// (Exotel webhook) becomes a thread; the agent's reply goes out as the documented request; the
// delivery report moves it to delivered; an email from the same contact lands in the same
// contact's record. Also: token checks and rotation, replays, Meta and Twilio signatures,
// a provider outage with Retry-After, and click-to-call with its status callback.
#include <gtest/gtest.h>

#include <ctime>
#include <openssl/hmac.h>

#include <thread>

#include "core/crypto.hpp"
#include "engine_impl.hpp"
#include "services/messaging.hpp"
#include "support/engine_fixture.hpp"
#include "support/http_stub.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::HttpStub;
using bxtest::StubRequest;
using bxtest::StubResponse;
using bxtest::str;

namespace {

// Now, as Exotel writes it (India time). Inbound messages must be recent: a reply is only
// allowed within WhatsApp's 24-hour window after the customer's last message.
std::string ist_now(int plus_seconds = 0) {
  std::time_t t = std::time(nullptr) + 19800 + plus_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+05:30", &tm);
  return buf;
}

std::string inbound_wa(const std::string& sid, const std::string& from, const std::string& text) {
  return R"({"whatsapp":{"messages":[{"callback_type":"incoming_message","sid":")" + sid +
         R"(","from":")" + from + R"(","to":"+919000000001","profile_name":"Ravi",)"
         R"("timestamp":")" + ist_now() + R"(","content":{"type":"text","text":{"body":)" +
         banxway::json::quote(text) + "}}}]}}";
}

std::string dlr(const std::string& sid, int code, const std::string& status, const std::string& ref) {
  return R"({"whatsapp":{"messages":[{"callback_type":"dlr","sid":")" + sid +
         R"(","to":"+919820012345","exo_status_code":)" + std::to_string(code) +
         R"(,"exo_detailed_status":")" + status +
         R"(","description":"x","timestamp":")" + ist_now(1) + R"(","custom_data":")" + ref +
         R"("}]}})";
}

std::string hex_hmac_sha256(const std::string& key, const std::string& data) {
  return banxway::crypto::hex(banxway::crypto::hmac_sha256(key, data));
}

std::string b64_hmac_sha1(const std::string& key, const std::string& data) {
  unsigned char out[20];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return banxway::crypto::base64_encode(std::string(reinterpret_cast<char*>(out), len));
}

}  // namespace

class MessagingE2ETest : public bxtest::EngineTest {
 protected:
  banxway::WebhookResponse hook(const std::string& provider, const std::string& channel,
                                const std::string& token, const std::string& body,
                                const std::string& content_type = "application/json",
                                Code expect = Code::ok,
                                std::vector<std::pair<std::string, std::string>> headers = {},
                                const std::string& url = "") {
    banxway::WebhookRequest r;
    r.provider = provider;
    r.channel = channel;
    r.token = token;
    r.content_type = content_type;
    r.body = body;
    r.headers = std::move(headers);
    r.url = url;
    r.remote_addr = "127.0.0.1";
    auto res = engine->receive_webhook(r);
    if (expect == Code::ok) {
      EXPECT_TRUE(res.ok()) << res.status().to_string();
      return res.ok() ? *res : banxway::WebhookResponse{};
    }
    EXPECT_FALSE(res.ok());
    if (!res.ok()) {
      EXPECT_EQ(res.status().code(), expect) << res.status().to_string();
    }
    return {};
  }
  int64_t count(const std::string& sql) {
    auto r = engine->impl().core.db->query(sql, {});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->rows[0].int64(0) : -1;
  }
  void drain() {
    auto r = engine->run_pending(1000);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
  std::string exotel_account(const std::string& channel, const std::string& base,
                             std::string* token, const std::string& extra = "") {
    auto a = ok("channels.create", "{\"channel\":\"" + channel + "\",\"provider\":\"exotel\","
                "\"name\":\"Exotel " + channel + "\",\"config\":{\"account_sid\":\"acme1\","
                "\"from\":\"+919000000001\",\"base_url\":\"" + base + "\","
                "\"allow_private_network\":true,\"timeout_seconds\":2,"
                "\"webhook_base_url\":\"https://hub.example.test\"" + extra + "},"
                "\"secrets\":{\"api_key\":\"key-1\",\"api_token\":\"tok-secret-1\"}}");
    *token = str(a, "webhook_token");
    EXPECT_EQ(banxway::json::stringify(a).find("tok-secret-1"), std::string::npos);
    return str(a, "id");
  }
};

TEST_P(MessagingE2ETest, WhatsAppInboundReplyDeliveredAndOneContactAcrossChannels) {
  std::vector<std::string> sent_bodies;
  HttpStub exotel([&](const StubRequest& r) {
    StubResponse res;
    if (r.method == "POST" && r.path() == "/v2/accounts/acme1/messages") {
      res.status = 202;
      res.body = R"({"request_id":"r1","method":"POST","http_code":202,"response":{"whatsapp":)"
                 R"({"messages":[{"code":202,"status":"success","error_data":null,)"
                 R"("data":{"sid":"wa-out-1"}}]}}})";
      return res;
    }
    res.status = 404;
    res.body = R"({"RestException":{"Status":404,"Message":"not here"}})";
    return res;
  });
  std::string token;
  std::string acct = exotel_account("whatsapp", exotel.base_url(), &token);

  // 1. The customer writes (twice: Exotel retries) -> one thread, one message.
  std::string in = inbound_wa("in-1", "+919820012345", "Where is container MSCU1234565?");
  EXPECT_EQ(hook("exotel", "whatsapp", token, in).status, 200);
  EXPECT_EQ(hook("exotel", "whatsapp", token, in).status, 200);
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 0);  // acknowledged, not yet processed
  drain();
  auto threads = ok("threads.list", "{}");
  ASSERT_EQ(threads["items"].Size(), 1u);
  std::string thread = str(threads["items"][0], "id");
  EXPECT_EQ(threads["items"][0]["message_count"].GetInt(), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_inbox WHERE status = 'done'"), 2);

  // 2. The agent replies inside the window: the provider gets the documented request.
  auto q = ok("messages.send", "{\"channel\":\"whatsapp\",\"thread_id\":\"" + thread +
                               "\",\"text\":\"It sails Friday.\"}");
  drain();
  auto reqs = exotel.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r.header("Authorization"),
            "Basic " + banxway::crypto::base64_encode("key-1:tok-secret-1"));
  Document body;
  ASSERT_TRUE(banxway::json::parse(r.body, &body).ok()) << r.body;
  auto& m0 = body["whatsapp"]["messages"][0];
  EXPECT_EQ(str(m0, "from"), "+919000000001");
  EXPECT_NE(str(m0, "to").find("919820012345"), std::string::npos);
  EXPECT_EQ(str(m0["content"], "type"), "text");
  EXPECT_EQ(str(m0["content"]["text"], "body"), "It sails Friday.");
  EXPECT_NE(r.body.find(str(q, "id")), std::string::npos);  // our reference travels along
  EXPECT_NE(r.body.find("/api/v1/webhooks/exotel/whatsapp/" + token), std::string::npos);
  auto msgs = ok("messages.list", "{\"thread_id\":\"" + thread + "\"}");
  ASSERT_EQ(msgs["items"].Size(), 2u);
  EXPECT_EQ(str(msgs["items"][1], "status"), "sent");
  EXPECT_EQ(str(msgs["items"][1], "provider_id"), "wa-out-1");

  // 3. Delivery reports: delivered; then read and a late "sent" out of order -> read stays.
  auto reply_status = [&] {
    return str(ok("messages.list", "{\"thread_id\":\"" + thread + "\"}")["items"][1], "status");
  };
  hook("exotel", "whatsapp", token, dlr("wa-out-1", 30002, "EX_MESSAGE_DELIVERED", str(q, "id")));
  drain();
  EXPECT_EQ(reply_status(), "delivered");
  hook("exotel", "whatsapp", token, dlr("wa-out-1", 30003, "EX_MESSAGE_SEEN", str(q, "id")));
  hook("exotel", "whatsapp", token, dlr("wa-out-1", 30001, "EX_MESSAGE_SENT", str(q, "id")));
  hook("exotel", "whatsapp", token, dlr("wa-out-1", 30003, "EX_MESSAGE_SEEN", str(q, "id")));  // replay
  drain();
  EXPECT_EQ(reply_status(), "read");
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'message.status_changed' AND "
                  "subject_id = '" + str(q, "id") + "'"), 4);  // sending, sent, delivered, read

  // 4. The same person by email: the agent records their address on the contact; their mail
  // then lands in the same contact's record.
  std::string contact = str(ok("threads.get", "{\"id\":\"" + thread + "\"}"), "contact_id");
  auto k = ok("contacts.get", "{\"id\":\"" + contact + "\"}");
  std::string ids = "[";
  for (auto& i : k["identities"].GetArray())
    ids += "{\"kind\":\"" + std::string(i["kind"].GetString()) + "\",\"value\":" +
           banxway::json::quote(i["value"].GetString()) + "},";
  ids += "{\"kind\":\"email\",\"value\":\"ravi@acme.example\"}]";
  ok("contacts.update", "{\"id\":\"" + contact + "\",\"identities\":" + ids + "}");
  ok("users.create", R"({"email":"ops@forwarder.example","role":"agent"})");
  std::string raw = "From: Ravi <ravi@acme.example>\r\nTo: ops@forwarder.example\r\n"
                    "Subject: B/L draft\r\nMessage-ID: <bl1@acme.example>\r\n\r\nplease check\r\n";
  ok("inbound.email", "{\"raw\":" + banxway::json::quote(raw) + "}");
  auto mine = ok("threads.list", "{\"contact_id\":\"" + contact + "\"}");
  EXPECT_EQ(mine["items"].Size(), 2u);  // the WhatsApp thread and the email thread
  EXPECT_EQ(ok("contacts.list", "{}")["items"].Size(), 1u);
}

TEST_P(MessagingE2ETest, TokensAreCheckedRotatedAndNothingIsStoredOnFailure) {
  HttpStub exotel([](const StubRequest&) { return StubResponse{}; });
  std::string token;
  std::string acct = exotel_account("whatsapp", exotel.base_url(), &token);
  std::string in = inbound_wa("in-2", "+919820012345", "hi");
  auto before = count("SELECT COUNT(*) FROM webhook_inbox");
  // Wrong secret, malformed token, another account's id, the wrong channel's route.
  std::string forged = token.substr(0, token.size() - 1) + (token.back() == 'A' ? "B" : "A");
  hook("exotel", "whatsapp", forged, in, "application/json", Code::unauthenticated);
  hook("exotel", "whatsapp", "not-a-token", in, "application/json", Code::unauthenticated);
  hook("exotel", "whatsapp", "", in, "application/json", Code::unauthenticated);
  hook("exotel", "sms", token, in, "application/json", Code::invalid_argument);
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_inbox"), before);
  auto rejected = banxway::services::webhook_rejections();
  EXPECT_GE(rejected, 4u);

  // Rotation: the old token keeps working through the overlap, the new one at once.
  auto rot = ok("channels.rotate_webhook_token", "{\"id\":\"" + acct + "\",\"overlap_seconds\":3600}");
  std::string fresh = str(rot, "webhook_token");
  EXPECT_NE(fresh, token);
  hook("exotel", "whatsapp", token, in);
  hook("exotel", "whatsapp", fresh, inbound_wa("in-3", "+919820012345", "again"));
  // Without overlap the old one stops at once.
  auto rot2 = ok("channels.rotate_webhook_token", "{\"id\":\"" + acct + "\",\"overlap_seconds\":0}");
  hook("exotel", "whatsapp", fresh, in, "application/json", Code::unauthenticated);
  hook("exotel", "whatsapp", str(rot2, "webhook_token"), inbound_wa("in-4", "+919820012345", "x"));
  // The secret never shows in reads.
  auto got = banxway::json::stringify(ok("channels.get", "{\"id\":\"" + acct + "\"}"));
  EXPECT_EQ(got.find(str(rot2, "webhook_token")), std::string::npos);
  EXPECT_EQ(got.find("tok-secret-1"), std::string::npos);

  // IP allow-list: a source outside it is refused (403) before anything is stored.
  ok("channels.update", "{\"id\":\"" + acct + "\",\"config\":{\"account_sid\":\"acme1\","
                        "\"from\":\"+919000000001\",\"ip_allowlist\":[\"203.0.113.0/24\"]}}");
  auto n = count("SELECT COUNT(*) FROM webhook_inbox");
  hook("exotel", "whatsapp", str(rot2, "webhook_token"), in, "application/json",
       Code::permission_denied);
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_inbox"), n);
  drain();
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE channel = 'whatsapp'"), 3);
}

TEST_P(MessagingE2ETest, ProviderOutageIsRetriedAtRetryAfterThenPermanentErrorsFail) {
  int calls = 0;
  HttpStub exotel([&](const StubRequest& r) {
    StubResponse res;
    ++calls;
    if (r.path() != "/v1/Accounts/acme1/Sms/send.json") {
      res.status = 404;
      return res;
    }
    if (calls == 1) {
      res.status = 429;
      res.headers.emplace_back("Retry-After", "120");
      res.body = R"({"RestException":{"Status":429,"Code":40402,"Message":"Too many requests"}})";
    } else {
      res.status = 400;
      res.body = R"({"RestException":{"Status":400,"Code":40203,"Message":"All numbers invalid"}})";
    }
    return res;
  });
  std::string token;
  exotel_account("sms", exotel.base_url(), &token);
  auto q = ok("messages.send", "{\"channel\":\"sms\",\"to\":[\"+919820012345\"],"
                               "\"text\":\"Your shipment BWX123 is out for delivery\"}");
  drain();
  Document list = ok("messages.list", "{\"thread_id\":\"" + str(q, "thread_id") + "\"}");
  auto& m = list["items"][0];
  EXPECT_EQ(std::string(m["status"].GetString()), "queued");
  EXPECT_NE(std::string(m["error"].GetString()).find("429"), std::string::npos) << m["error"].GetString();
  // The job waits for the provider's Retry-After (120 s), not the default 1 s backoff.
  auto due = engine->impl().core.db->query("SELECT run_at FROM jobs WHERE kind = 'messaging.send'", {});
  ASSERT_TRUE(due.ok());
  banxway::TimePoint when;
  ASSERT_TRUE(banxway::parse_time(due->rows[0].text(0), &when));
  EXPECT_GT(when, banxway::SystemClock().now() + std::chrono::seconds(60));
  ASSERT_TRUE(engine->impl().core.db->query("UPDATE jobs SET run_at = '2000-01-01T00:00:00.000Z'", {}).ok());
  drain();
  Document list2 = ok("messages.list", "{\"thread_id\":\"" + str(q, "thread_id") + "\"}");
  auto& m2 = list2["items"][0];
  EXPECT_EQ(std::string(m2["status"].GetString()), "failed");
  EXPECT_NE(std::string(m2["error"].GetString()).find("40203"), std::string::npos) << m2["error"].GetString();
  EXPECT_EQ(std::string(m2["error"].GetString()).find("tok-secret-1"), std::string::npos);
}

TEST_P(MessagingE2ETest, ClickToCallAndTheCallbackMakeAVoiceMessage) {
  HttpStub exotel([&](const StubRequest& r) {
    StubResponse res;
    if (r.path() == "/v1/Accounts/acme1/Calls/connect.json") {
      res.body = R"({"Call":{"Sid":"call-77","Status":"in-progress","Direction":"outbound-api"}})";
      return res;
    }
    res.status = 404;
    return res;
  });
  std::string token;
  exotel_account("voice", exotel.base_url(), &token);
  auto k = ok("contacts.create", R"({"name":"Hans","identities":[{"kind":"phone","value":"+919820012345"}]})");
  auto call = ok("calls.start", "{\"agent_phone\":\"+919811111111\",\"contact_id\":\"" + str(k, "id") +
                                "\",\"record\":true}");
  EXPECT_EQ(str(call, "status"), "queued");
  drain();
  auto reqs = exotel.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_NE(reqs[0].body.find("From=%2B919811111111"), std::string::npos) << reqs[0].body;
  EXPECT_NE(reqs[0].body.find("To=%2B919820012345"), std::string::npos) << reqs[0].body;
  auto msgs = ok("messages.list", "{\"thread_id\":\"" + str(call, "thread_id") + "\"}");
  EXPECT_EQ(str(msgs["items"][0], "provider_id"), "call-77");
  EXPECT_EQ(str(msgs["items"][0], "status"), "in-progress");
  // The terminal callback (JSON, as requested).
  std::string cb = R"({"CallSid":"call-77","Status":"completed","EventType":"terminal",)"
                   R"("From":"+919811111111","To":"+919820012345","Direction":"outbound-api",)"
                   R"("ConversationDuration":75,"CustomField":")" + str(call, "id") +
                   R"(","Legs":[{"OnCallDuration":80,"Status":"completed"},)"
                   R"({"OnCallDuration":75,"Status":"completed","AnsweredBy":"Human"}]})";
  hook("exotel", "voice", token, cb);
  drain();
  auto after = ok("messages.list", "{\"thread_id\":\"" + str(call, "thread_id") + "\"}");
  ASSERT_EQ(after["items"].Size(), 1u);
  EXPECT_EQ(str(after["items"][0], "status"), "completed");
  EXPECT_EQ(after["items"][0]["meta"]["duration_seconds"].GetInt(), 75);
}

TEST_P(MessagingE2ETest, CallWithoutCallbackIsPolledForItsOutcome) {
  HttpStub exotel([&](const StubRequest& r) {
    StubResponse res;
    if (r.path() == "/v1/Accounts/acme1/Calls/connect.json") {
      res.body = R"({"Call":{"Sid":"call-88","Status":"in-progress","Direction":"outbound-api"}})";
    } else if (r.path() == "/v1/Accounts/acme1/Calls/call-88.json") {
      res.body = R"({"Call":{"Sid":"call-88","Status":"no-answer","Direction":"outbound-api",)"
                 R"("From":"+919811111111","To":"+919820012345","Duration":0}})";
    } else {
      res.status = 404;
    }
    return res;
  });
  std::string token;
  exotel_account("voice", exotel.base_url(), &token);
  auto call = ok("calls.start", "{\"agent_phone\":\"+919811111111\",\"to\":\"+919820012345\"}");
  drain();
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE kind = 'messaging.poll' AND status = 'pending'"), 1);
  // Ten minutes pass without a callback.
  ASSERT_TRUE(engine->impl().core.db->query("UPDATE jobs SET run_at = '2000-01-01T00:00:00.000Z' "
                                            "WHERE status = 'pending'", {}).ok());
  drain();
  auto msgs = ok("messages.list", "{\"thread_id\":\"" + str(call, "thread_id") + "\"}");
  EXPECT_EQ(str(msgs["items"][0], "status"), "no-answer");
  bool polled = false;
  for (const auto& r : exotel.requests()) polled |= r.path() == "/v1/Accounts/acme1/Calls/call-88.json";
  EXPECT_TRUE(polled);
}

TEST_P(MessagingE2ETest, RecordingsAreFetchedAndTranscribedIntoSearch) {
  std::string transcription_body;
  HttpStub stub([&](const StubRequest& r) {
    StubResponse res;
    if (r.path() == "/recordings/call-9.mp3") {
      EXPECT_EQ(r.header("Authorization"), "Basic " + banxway::crypto::base64_encode("key-1:tok-secret-1"));
      res.content_type = "audio/mpeg";
      res.body = std::string("ID3\x04\x00" "fake mp3 frames", 20);
    } else if (r.path() == "/v1/audio/transcriptions") {
      transcription_body = r.body;
      EXPECT_EQ(r.header("Authorization"), "Bearer sk-test");
      res.body = R"({"text":"The container MSCU1234565 clears customs tomorrow morning."})";
    } else {
      res.status = 404;
    }
    return res;
  });
  // An engine with transcription configured.
  engine.reset();
  banxway::EngineOptions o;
  o.database_url = url;
  o.jwt_secret = "test-secret-with-at-least-32-characters!";
  o.transcription_url = stub.base_url();
  o.transcription_api_key = "sk-test";
  o.transcription_allow_private_network = true;
  auto e = banxway::Engine::open(o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  engine = std::move(e).value();

  std::string token;
  exotel_account("voice", stub.base_url(), &token);
  std::string cb = R"({"CallSid":"call-9","Status":"completed","EventType":"terminal",)"
                   R"("From":"+919820012345","To":"+919000000001","Direction":"inbound",)"
                   R"("ConversationDuration":42,"RecordingUrl":")" + stub.base_url() +
                   R"(/recordings/call-9.mp3"})";
  hook("exotel", "voice", token, cb);
  drain();  // the call, the recording fetched, a transcription job queued
  drain();  // the transcription
  EXPECT_NE(transcription_body.find("filename=\"call.mp3\""), std::string::npos);
  EXPECT_NE(transcription_body.find("whisper-1"), std::string::npos);
  EXPECT_NE(transcription_body.find("fake mp3 frames"), std::string::npos);
  auto found = ok("search.messages", R"({"q":"customs"})");
  ASSERT_EQ(found["items"].Size(), 1u);
  EXPECT_EQ(str(found["items"][0], "channel"), "voice");
  EXPECT_EQ(count("SELECT COUNT(*) FROM attachments WHERE media_type = 'audio/mpeg'"), 1);
}

TEST_P(MessagingE2ETest, MetaSignatureAndHandshake) {
  ok("channels.create", R"({"channel":"whatsapp","provider":"meta","name":"Cloud",
      "config":{"phone_number_id":"1098765","allow_private_network":true},
      "secrets":{"access_token":"EAAB-secret","app_secret":"app-secret-1","verify_token":"vt-1"}})");
  // Handshake.
  banxway::WebhookRequest g;
  g.provider = "meta";
  g.channel = "whatsapp";
  g.method = "GET";
  g.query = "hub.mode=subscribe&hub.verify_token=vt-1&hub.challenge=1158201444";
  auto hs = engine->receive_webhook(g);
  ASSERT_TRUE(hs.ok()) << hs.status().to_string();
  EXPECT_EQ(hs->body, "1158201444");
  EXPECT_EQ(hs->content_type, "text/plain");
  g.query = "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1";
  EXPECT_EQ(engine->receive_webhook(g).status().code(), Code::permission_denied);

  std::string body =
      R"({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages",)"
      R"("value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111",)"
      R"("phone_number_id":"1098765"},"contacts":[{"profile":{"name":"Ravi"},"wa_id":"919820012345"}],)"
      R"("messages":[{"from":"919820012345","id":"wamid.A1","timestamp":"1768473000","type":"text",)"
      R"("text":{"body":"Where is my container?"}}]}}]}]})";
  std::string sig = "sha256=" + hex_hmac_sha256("app-secret-1", body);
  // Every single-byte change to the body is refused.
  for (size_t i = 0; i < body.size(); i += 7) {
    std::string bad = body;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    hook("meta", "whatsapp", "", bad, "application/json", Code::unauthenticated,
         {{"X-Hub-Signature-256", sig}});
  }
  hook("meta", "whatsapp", "", body, "application/json", Code::unauthenticated, {});
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_inbox"), 0);
  hook("meta", "whatsapp", "", body, "application/json", Code::ok, {{"X-Hub-Signature-256", sig}});
  hook("meta", "whatsapp", "", body, "application/json", Code::ok, {{"X-Hub-Signature-256", sig}});
  drain();
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE channel = 'whatsapp'"), 1);  // replay deduped
}

TEST_P(MessagingE2ETest, TwilioSignatureOverUrlAndParams) {
  ok("channels.create", R"({"channel":"sms","provider":"twilio","name":"Twilio SMS",
      "config":{"account_sid":"AC123","from":"+15550001111","allow_private_network":true},
      "secrets":{"auth_token":"twilio-token"}})");
  std::string url = "https://hub.example.test/api/v1/webhooks/twilio/sms";
  std::string body = "AccountSid=AC123&Body=Hello+there&From=%2B919820012345&MessageSid=SM1&"
                     "NumMedia=0&To=%2B15550001111";
  std::string signed_text = url + "AccountSidAC123BodyHello thereFrom+919820012345MessageSidSM1"
                                  "NumMedia0To+15550001111";
  std::string sig = b64_hmac_sha1("twilio-token", signed_text);
  hook("twilio", "sms", "", body, "application/x-www-form-urlencoded", Code::unauthenticated,
       {{"X-Twilio-Signature", sig}}, url + "?x=1");  // another URL
  hook("twilio", "sms", "", body, "application/x-www-form-urlencoded", Code::ok,
       {{"X-Twilio-Signature", sig}}, url);
  drain();
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE channel = 'sms' AND direction = 'inbound'"), 1);
}

// One drain transaction indexes its messages for search once, at the end (src/pipeline/
// fts_batch.hpp). A call that starts and ends in the same batch is inserted and then updated
// before that point: the index must end up with the final text, and stay consistent.
TEST_P(MessagingE2ETest, ADrainBatchIsSearchableAndKeepsTheIndexConsistent) {
  std::string wa_token, voice_token;
  exotel_account("whatsapp", "http://127.0.0.1:9", &wa_token);
  exotel_account("voice", "http://127.0.0.1:9", &voice_token);
  hook("exotel", "whatsapp", wa_token, inbound_wa("fts-1", "+919820012345", "Zebracorn booking"));
  hook("exotel", "whatsapp", wa_token, inbound_wa("fts-2", "+919820012346", "quokka invoice"));
  hook("exotel", "voice", voice_token,
       R"({"CallSid":"call-fts","Status":"in-progress","From":"+919820012347",)"
       R"("To":"+919000000001","Direction":"inbound"})");
  hook("exotel", "voice", voice_token,
       R"({"CallSid":"call-fts","Status":"completed","EventType":"terminal",)"
       R"("From":"+919820012347","To":"+919000000001","Direction":"inbound",)"
       R"("ConversationDuration":42})");
  drain();
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_inbox WHERE status = 'done'"), 4);
  auto hits = [&](const std::string& q) {
    auto d = ok("search.messages", "{\"q\":" + banxway::json::quote(q) + "}");
    std::vector<std::string> channels;
    for (auto& m : d["items"].GetArray()) channels.push_back(str(m, "channel"));
    return channels;
  };
  EXPECT_EQ(hits("zebracorn"), std::vector<std::string>{"whatsapp"});
  EXPECT_EQ(hits("quokka"), std::vector<std::string>{"whatsapp"});
  EXPECT_EQ(hits("completed"), std::vector<std::string>{"voice"});
  EXPECT_TRUE(hits("progress").empty()) << "the call's first text was replaced in the batch";
  if (GetParam() == "sqlite") {
    auto& db = *engine->impl().core.db;
    auto st = db.transaction([](banxway::store::Conn& c) {
      return c.query("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)",
                     {}).status();
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages_fts_deferred"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages_fts_pending"), 0);
  }
}

BX_INSTANTIATE_BACKENDS(MessagingE2ETest);
