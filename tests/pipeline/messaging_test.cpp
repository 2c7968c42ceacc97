// The messaging pipeline (src/pipeline/messaging.cpp) on both databases, fed with provider-
// neutral webhook batches: identity by phone and WhatsApp id (one contact with email too),
// threads per channel, idempotency by provider id, statuses only forward whatever the order,
// WhatsApp's 24 h window, calls as voice messages.
#include <gtest/gtest.h>

#include "channels/messaging/account.hpp"
#include "engine_impl.hpp"
#include "pipeline/messaging.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;
namespace msg = banxway::messaging;

class MessagingPipelineTest : public bxtest::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto a = ok("channels.create", R"({"channel":"whatsapp","provider":"exotel","name":"WA",
        "config":{"account_sid":"acme1","from":"+919000000001"},
        "secrets":{"api_key":"k","api_token":"t"}})");
    acct.id = str(a, "id");
    acct.org_id = org_a;
    acct.channel = "whatsapp";
    acct.provider = "exotel";
  }

  // Applies a batch as org A's system principal, in one transaction.
  banxway::pipeline::MessagingOutcome apply(const msg::WebhookBatch& b) {
    auto& core = engine->impl().core;
    auto who = engine->system_principal(org_a, "test");
    EXPECT_TRUE(who.ok());
    banxway::api::Ctx ctx(core, *who, "test");
    banxway::pipeline::MessagingOutcome out;
    auto st = core.db->transaction([&](banxway::store::Conn& c) {
      return banxway::pipeline::apply_messaging_batch(c, ctx, acct, "IN", b, {}, {}, out);
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
    return out;
  }

  msg::InboundMessage wa(const std::string& id, const std::string& from, const std::string& text) {
    msg::InboundMessage m;
    m.channel = "whatsapp";
    m.provider = "exotel";
    m.provider_id = id;
    m.from = from;
    m.to = "+919000000001";
    m.profile_name = "Ravi";
    m.content_type = "text";
    m.text = text;
    m.timestamp = banxway::SystemClock().now();
    return m;
  }

  msg::MessagingAccount acct;
};

TEST_P(MessagingPipelineTest, InboundWhatsAppThreadsPerContactAndIsIdempotent) {
  msg::WebhookBatch b;
  b.messages.push_back(wa("wamid.1", "919820012345", "Where is my container?"));
  b.messages.push_back(wa("wamid.2", "+91 98200 12345", "MSCU1234565 please"));  // same person
  auto out = apply(b);
  EXPECT_EQ(out.received, 2);
  auto threads = ok("threads.list", "{}");
  ASSERT_EQ(threads["items"].Size(), 1u);
  auto& t = threads["items"][0];
  EXPECT_EQ(t["message_count"].GetInt(), 2);
  EXPECT_EQ(std::string(t["channels"][0].GetString()), "whatsapp");
  EXPECT_FALSE(t["can_reply_freely_until"].IsNull());  // the window is open
  // The contact: one, with the phone in E.164 and the WhatsApp id.
  auto contacts = ok("contacts.list", "{}");
  ASSERT_EQ(contacts["items"].Size(), 1u);
  auto contact = ok("contacts.get", "{\"id\":\"" + str(contacts["items"][0], "id") + "\"}");
  std::set<std::string> ids;
  for (auto& i : contact["identities"].GetArray())
    ids.insert(std::string(i["kind"].GetString()) + ":" + i["value"].GetString());
  EXPECT_TRUE(ids.count("phone:+919820012345")) << banxway::json::stringify(contact);
  EXPECT_TRUE(ids.count("whatsapp:919820012345")) << banxway::json::stringify(contact);

  // Delivered again (providers retry): nothing new.
  auto again = apply(b);
  EXPECT_EQ(again.received, 0);
  EXPECT_EQ(again.duplicates, 2);
  EXPECT_EQ(ok("threads.get", "{\"id\":\"" + str(t, "id") + "\"}")["message_count"].GetInt(), 2);

  // SMS from the same number: same contact, a thread of its own channel.
  msg::InboundMessage sms = wa("SM1", "+919820012345", "sms text");
  sms.channel = "sms";
  msg::WebhookBatch s;
  s.messages.push_back(sms);
  apply(s);
  auto after = ok("threads.list", "{}");
  EXPECT_EQ(after["items"].Size(), 2u);
  EXPECT_EQ(ok("contacts.list", "{}")["items"].Size(), 1u);
}

TEST_P(MessagingPipelineTest, EmailAndWhatsAppFromOneContactShareTheRecord) {
  ok("users.create", R"({"email":"ops@forwarder.example","role":"agent"})");  // our address
  auto k = ok("contacts.create", R"({"name":"Priya","identities":[
      {"kind":"email","value":"priya@acme.example"},{"kind":"phone","value":"+919820012345"}]})");
  msg::WebhookBatch b;
  b.messages.push_back(wa("wamid.9", "919820012345", "hello"));
  apply(b);
  std::string raw = "From: Priya <priya@acme.example>\r\nTo: ops@forwarder.example\r\n"
                    "Subject: Invoice\r\nMessage-ID: <inv1@acme.example>\r\n\r\nattached\r\n";
  ok("inbound.email", "{\"raw\":" + banxway::json::quote(raw) + "}");
  EXPECT_EQ(ok("contacts.list", "{}")["items"].Size(), 1u)
      << banxway::json::stringify(ok("contacts.list", "{}"));
  auto threads = ok("threads.list", "{\"contact_id\":\"" + str(k, "id") + "\"}");
  EXPECT_EQ(threads["items"].Size(), 2u);  // a WhatsApp thread and an email thread, one contact
}

TEST_P(MessagingPipelineTest, StatusesOnlyMoveForwardWhateverTheOrder) {
  auto& core = engine->impl().core;
  // An outbound message as the send job leaves it.
  auto q = ok("messages.send", "{\"channel\":\"whatsapp\",\"to\":[\"+919820012345\"],"
                               "\"template\":{\"name\":\"booking_update\",\"params\":[\"BWX1\"]}}");
  std::string id = str(q, "id");
  ASSERT_TRUE(core.db->query("UPDATE messages SET provider_id = 'sid-1', status = 'sent' WHERE id = ?",
                             {id}).ok());
  auto status = [&] {
    return str(ok("messages.list", "{\"thread_id\":\"" + str(q, "thread_id") + "\"}")["items"][0],
               "status");
  };
  auto update = [&](msg::DeliveryStatus s, const std::string& ref = "") {
    msg::StatusUpdate u;
    u.provider = "exotel";
    u.provider_id = ref.empty() ? "sid-1" : "";
    u.reference = ref;
    u.status = s;
    msg::WebhookBatch b;
    b.statuses.push_back(u);
    return apply(b);
  };
  EXPECT_EQ(update(msg::DeliveryStatus::read).statuses, 1);  // read before delivered
  EXPECT_EQ(status(), "read");
  EXPECT_EQ(update(msg::DeliveryStatus::delivered).stale, 1);  // late: ignored
  EXPECT_EQ(update(msg::DeliveryStatus::sent).stale, 1);
  EXPECT_EQ(status(), "read");
  EXPECT_EQ(update(msg::DeliveryStatus::failed).statuses, 1);  // failed wins ...
  EXPECT_EQ(status(), "failed");
  EXPECT_EQ(update(msg::DeliveryStatus::read).stale, 1);  // ... and is terminal
  EXPECT_EQ(status(), "failed");
  // A report for an unknown message is counted, not an error; by reference it is found.
  msg::StatusUpdate u;
  u.provider_id = "nobody";
  msg::WebhookBatch b;
  b.statuses.push_back(u);
  EXPECT_EQ(apply(b).unmatched, 1);
}

TEST_P(MessagingPipelineTest, WhatsAppOutsideTheWindowNeedsATemplate) {
  // No inbound message yet: the window is closed.
  auto msg_ = fails("messages.send", "{\"channel\":\"whatsapp\",\"to\":[\"+919820012345\"],"
                                     "\"text\":\"hello\"}",
                    Code::invalid_argument);
  EXPECT_NE(msg_.find("24-hour window"), std::string::npos) << msg_;
  // The customer writes: free-form replies are allowed in the thread.
  msg::WebhookBatch b;
  b.messages.push_back(wa("wamid.w1", "919820012345", "hi"));
  apply(b);
  std::string thread = str(ok("threads.list", "{}")["items"][0], "id");
  auto r = ok("messages.send", "{\"channel\":\"whatsapp\",\"thread_id\":\"" + thread +
                               "\",\"text\":\"Your container is at the port.\"}");
  EXPECT_EQ(str(r, "status"), "queued");
  EXPECT_EQ(str(r["to"][0], "address"), "919820012345");
  // A closed window falls back to the account's template when one is configured.
  ASSERT_TRUE(engine->impl().core.db->query(
      "UPDATE threads SET can_reply_freely_until = '2000-01-01T00:00:00.000Z'", {}).ok());
  fails("messages.send", "{\"channel\":\"whatsapp\",\"thread_id\":\"" + thread + "\",\"text\":\"x\"}",
        Code::invalid_argument);
  ok("channels.update", "{\"id\":\"" + acct.id + "\",\"config\":{\"account_sid\":\"acme1\","
                        "\"from\":\"+919000000001\",\"fallback_template\":{\"name\":\"follow_up\"}}}");
  auto t = ok("messages.send", "{\"channel\":\"whatsapp\",\"thread_id\":\"" + thread +
                               "\",\"text\":\"x\"}");
  EXPECT_EQ(std::string(t["meta"]["template"]["name"].GetString()), "follow_up");
}

TEST_P(MessagingPipelineTest, CallsBecomeVoiceMessagesAndNeverRegress) {
  msg::CallUpdate u;
  u.provider = "exotel";
  u.call_id = "call-1";
  u.from = "+919820012345";
  u.to = "+919000000001";
  u.direction = "inbound";
  u.status = "completed";
  u.event_type = "terminal";
  u.duration_seconds = 192;
  u.answered_by = "human";
  msg::WebhookBatch b;
  b.calls.push_back(u);
  apply(b);
  auto threads = ok("threads.list", "{}");
  ASSERT_EQ(threads["items"].Size(), 1u);
  Document ml = ok("messages.list", "{\"thread_id\":\"" + str(threads["items"][0], "id") + "\"}");
  auto& m = ml["items"][0];
  EXPECT_EQ(std::string(m["channel"].GetString()), "voice");
  EXPECT_EQ(std::string(m["direction"].GetString()), "inbound");
  EXPECT_EQ(std::string(m["status"].GetString()), "completed");
  EXPECT_EQ(m["meta"]["duration_seconds"].GetInt(), 192);
  EXPECT_NE(std::string(m["text"].GetString()).find("3m 12s"), std::string::npos);
  // A late "answered" event does not reopen the finished call.
  u.status = "in-progress";
  u.event_type = "answered";
  u.duration_seconds = -1;
  msg::WebhookBatch late;
  late.calls.push_back(u);
  apply(late);
  auto again = ok("messages.list", "{\"thread_id\":\"" + str(threads["items"][0], "id") + "\"}");
  ASSERT_EQ(again["items"].Size(), 1u);
  EXPECT_EQ(str(again["items"][0], "status"), "completed");
  EXPECT_EQ(again["items"][0]["meta"]["duration_seconds"].GetInt(), 192);
}

TEST_P(MessagingPipelineTest, ValidatedReferencesLinkTheContactsShipments) {
  // Ravi's WhatsApp thread is linked to a shipment with container MSKU9070323.
  msg::WebhookBatch first;
  first.messages.push_back(wa("wamid.s1", "919820012345", "booking please"));
  apply(first);
  std::string wa_thread = str(ok("threads.list", "{}")["items"][0], "id");
  auto shp = ok("shipments.create", R"({"mode":"ocean","references":[{"kind":"container","value":"MSKU9070323"}]})");
  std::string shipment = str(shp, "id");
  ok("shipments.link_thread", "{\"shipment_id\":\"" + shipment + "\",\"thread_id\":\"" + wa_thread + "\"}");

  // By SMS he names the container (odd spacing): the SMS thread is linked too.
  msg::InboundMessage sms = wa("SM-s2", "+919820012345", "any news on msku 907032 3?");
  sms.channel = "sms";
  // Someone else naming it, and a wrong check digit: no link.
  msg::InboundMessage other = wa("SM-s3", "+919811100000", "is MSKU9070323 yours?");
  other.channel = "sms";
  msg::InboundMessage typo = wa("wamid.s4", "919820012345", "or was it MSKU9070324");
  msg::WebhookBatch b;
  b.messages = {sms, other, typo};
  apply(b);
  auto got = ok("shipments.get", "{\"id\":\"" + shipment + "\"}");
  EXPECT_EQ(got["thread_ids"].Size(), 2u) << banxway::json::stringify(got);
  // Email from the same person names it in the subject: linked as well.
  ok("users.create", R"({"email":"ops@forwarder.example","role":"agent"})");
  std::string contact = str(ok("threads.get", "{\"id\":\"" + wa_thread + "\"}"), "contact_id");
  auto k = ok("contacts.get", "{\"id\":\"" + contact + "\"}");
  std::string ids = "[";
  for (auto& i : k["identities"].GetArray())
    ids += "{\"kind\":\"" + std::string(i["kind"].GetString()) + "\",\"value\":" +
           banxway::json::quote(i["value"].GetString()) + "},";
  ids += "{\"kind\":\"email\",\"value\":\"ravi@acme.example\"}]";
  ok("contacts.update", "{\"id\":\"" + contact + "\",\"identities\":" + ids + "}");
  std::string raw = "From: Ravi <ravi@acme.example>\r\nTo: ops@forwarder.example\r\n"
                    "Subject: Customs hold MSKU9070323\r\nMessage-ID: <c1@acme.example>\r\n\r\nhelp\r\n";
  ok("inbound.email", "{\"raw\":" + banxway::json::quote(raw) + "}");
  EXPECT_EQ(ok("shipments.get", "{\"id\":\"" + shipment + "\"}")["thread_ids"].Size(), 3u);
}

TEST_P(MessagingPipelineTest, PhoneNumbersNormalizeToE164) {
  EXPECT_EQ(banxway::pipeline::phone_of("919820012345", "IN").value_or(""), "+919820012345");
  EXPECT_EQ(banxway::pipeline::phone_of("whatsapp:+919820012345", "IN").value_or(""), "+919820012345");
  EXPECT_EQ(banxway::pipeline::phone_of("098200 12345", "IN").value_or(""), "+919820012345");
  EXPECT_FALSE(banxway::pipeline::phone_of("IN.1502576394655843", "IN"));  // a BSUID
  EXPECT_FALSE(banxway::pipeline::phone_of("12", "IN"));
}

// An inbound message reopens the snoozed thread it joins, and a reply to a message of a
// resolved thread reopens that thread; a plain message does not join a resolved thread.
TEST_P(MessagingPipelineTest, InboundMessagesReopenSnoozedAndRepliedToResolvedThreads) {
  auto one = [&](const msg::InboundMessage& m) {
    msg::WebhookBatch b;
    b.messages.push_back(m);
    return apply(b);
  };
  one(wa("wamid.r1", "+919820012345", "first"));
  auto list = ok("threads.list", "{}");
  ASSERT_EQ(list["items"].Size(), 1u);
  const std::string t = str(list["items"][0], "id");
  auto get = [&](const std::string& id) { return ok("threads.get", "{\"id\":\"" + id + "\"}"); };
  ok("threads.update", "{\"id\":\"" + t + "\",\"snoozed_until\":\"2099-01-01T00:00:00Z\"}");
  EXPECT_EQ(str(get(t), "status"), "snoozed");
  one(wa("wamid.r2", "+919820012345", "second"));
  EXPECT_EQ(str(get(t), "status"), "open");
  EXPECT_EQ(get(t)["message_count"].GetInt(), 2);

  ok("threads.update", "{\"id\":\"" + t + "\",\"status\":\"resolved\"}");
  one(wa("wamid.r3", "+919820012345", "third"));  // a new conversation
  EXPECT_EQ(str(get(t), "status"), "resolved");
  EXPECT_EQ(ok("threads.list", "{}")["items"].Size(), 2u);
  auto reply = wa("wamid.r4", "+919820012345", "about the first one");
  reply.reply_to_provider_id = "wamid.r1";
  one(reply);
  auto after = get(t);
  EXPECT_EQ(str(after, "status"), "open");
  EXPECT_EQ(after["message_count"].GetInt(), 3);
  auto resolved_at = engine->impl().core.db->query(
      "SELECT resolved_at FROM threads WHERE id = ?", {t});
  ASSERT_TRUE(resolved_at.ok() && resolved_at->rows.size() == 1);
  EXPECT_TRUE(resolved_at->rows[0].is_null(0)) << "the resolved_at trigger ran";
}

// A reply's context id names a message of the reply's own channel: an SMS whose provider id
// happens to equal it does not pull the WhatsApp reply into the SMS thread.
TEST_P(MessagingPipelineTest, ReplyContextMatchesMessagesOfTheSameChannelOnly) {
  auto one = [&](const msg::InboundMessage& m) {
    msg::WebhookBatch b;
    b.messages.push_back(m);
    return apply(b);
  };
  msg::InboundMessage sms = wa("ID-1", "+919820012345", "sms first");
  sms.channel = "sms";
  one(sms);
  auto list = ok("threads.list", "{}");
  ASSERT_EQ(list["items"].Size(), 1u);
  const std::string sms_thread = str(list["items"][0], "id");

  auto reply = wa("wamid.c2", "+919820012345", "replying on WhatsApp");
  reply.reply_to_provider_id = "ID-1";
  one(reply);
  list = ok("threads.list", "{}");
  ASSERT_EQ(list["items"].Size(), 2u) << "the WhatsApp reply opened its own thread";
  auto sms_after = ok("threads.get", "{\"id\":\"" + sms_thread + "\"}");
  EXPECT_EQ(sms_after["message_count"].GetInt(), 1);
}

BX_INSTANTIATE_BACKENDS(MessagingPipelineTest);
