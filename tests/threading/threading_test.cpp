// Threading through the real ingest path (inbound.email), on both backends: the hard cases of
// the email issue — replies before parents, stripped References, localized prefixes, duplicate
// delivery, bridging merges, Outlook Thread-Index, banxway's own ids, same subject from two
// customers.
#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;

namespace {

struct Mail {
  std::string from = "Priya <priya@acme.example>";
  std::string to = "ops@forwarder.example";
  std::string subject = "Booking MAEU1234";
  std::string message_id;  // without <>; empty: no header
  std::string in_reply_to;
  std::string references;  // space-separated ids without <>
  std::string date = "Mon, 02 Nov 2026 10:00:00 +0530";
  std::string thread_index;
  std::string body = "Please confirm the vessel schedule.";

  std::string raw() const {
    std::string r = "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n";
    if (!date.empty()) r += "Date: " + date + "\r\n";
    if (!message_id.empty()) r += "Message-ID: <" + message_id + ">\r\n";
    if (!in_reply_to.empty()) r += "In-Reply-To: <" + in_reply_to + ">\r\n";
    if (!references.empty()) {
      r += "References:";
      size_t start = 0;
      while (start < references.size()) {
        size_t sp = references.find(' ', start);
        std::string id = references.substr(start, sp == std::string::npos ? std::string::npos : sp - start);
        r += " <" + id + ">";
        if (sp == std::string::npos) break;
        start = sp + 1;
      }
      r += "\r\n";
    }
    if (!thread_index.empty()) r += "Thread-Index: " + thread_index + "\r\n";
    r += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
    return r;
  }
};

}  // namespace

class ThreadingTest : public bxtest::EngineTest {
 protected:
  Document ingest(const Mail& m, const std::string& key = "") {
    return ok("inbound.email", "{\"raw\":" + banxway::json::quote(m.raw()) + "}", key);
  }
  std::string thread_of(const Mail& m) { return str(ingest(m), "thread_id"); }
  size_t event_count() { return ok("events.list", R"({"limit":1000})")["items"].Size(); }
};

TEST_P(ThreadingTest, ReplyJoinsByInReplyToAndExposesHeaders) {
  Mail a;
  a.message_id = "a1@acme.example";
  auto first = ingest(a);
  EXPECT_TRUE(first["new_thread"].GetBool());
  EXPECT_EQ(str(first["message"], "message_id"), "a1@acme.example");
  EXPECT_EQ(str(first["message"], "direction"), "inbound");
  Mail b = a;
  b.message_id = "b1@forwarder.example";
  b.subject = "Re: Booking MAEU1234";
  b.in_reply_to = "a1@acme.example";
  b.references = "a1@acme.example";
  auto second = ingest(b);
  EXPECT_EQ(str(second, "thread_id"), str(first, "thread_id"));
  EXPECT_EQ(str(second, "threaded_by"), "in-reply-to");
  EXPECT_EQ(str(second["message"], "in_reply_to"), "a1@acme.example");
  EXPECT_EQ(banxway::json::stringify(second["message"]["references"]), R"(["a1@acme.example"])");
  auto t = ok("threads.get", "{\"id\":\"" + str(first, "thread_id") + "\"}");
  EXPECT_EQ(t["message_count"].GetInt(), 2);
  EXPECT_EQ(banxway::json::stringify(t["channels"]), R"(["email"])");
}

TEST_P(ThreadingTest, ReplyBeforeParentStillJoinsWhenTheParentArrives) {
  Mail reply;
  reply.message_id = "r1@forwarder.example";
  reply.in_reply_to = "p1@acme.example";
  reply.references = "root@acme.example p1@acme.example";
  reply.subject = "Re: Customs hold";
  std::string t = thread_of(reply);
  Mail parent;
  parent.message_id = "p1@acme.example";
  parent.subject = "Customs hold";
  parent.from = "Someone Else <else@other.example>";  // no subject/contact help: ids alone
  auto d = ingest(parent);
  EXPECT_EQ(str(d, "thread_id"), t);
  EXPECT_EQ(str(d, "threaded_by"), "message-id");
  Mail root;
  root.message_id = "root@acme.example";
  root.subject = "Completely different words";
  EXPECT_EQ(thread_of(root), t);
}

TEST_P(ThreadingTest, SubjectFallbackNeedsSameContactAndWindow) {
  Mail a;
  a.message_id = "s1@acme.example";
  a.subject = "Rate request Mundra to Jebel Ali";
  std::string t = thread_of(a);
  // References stripped by a client: joins on the normalized subject from the same contact.
  Mail b;
  b.message_id = "s2@acme.example";
  b.subject = "AW: Rate request  Mundra to Jebel Ali";
  b.date = "Tue, 03 Nov 2026 09:00:00 +0530";
  auto d = ingest(b);
  EXPECT_EQ(str(d, "thread_id"), t);
  EXPECT_EQ(str(d, "threaded_by"), "subject");
  // Another customer with the same subject never joins.
  Mail other = b;
  other.message_id = "s3@globex.example";
  other.from = "Hans <hans@globex.example>";
  EXPECT_NE(thread_of(other), t);
  // The same contact a month later starts a new conversation.
  Mail late = b;
  late.message_id = "s4@acme.example";
  late.date = "Thu, 10 Dec 2026 09:00:00 +0530";
  EXPECT_NE(thread_of(late), t);
}

// The window compares message dates, whatever the wall clock says: importing mail from years
// ago keeps the same window as live mail. (When it compared the thread's last activity, which
// is the time of ingest, any old thread of the contact with that subject matched.)
TEST_P(ThreadingTest, SubjectWindowUsesMessageDatesForOldMail) {
  // The same sender and subject each time; only the Message-ID and the date change.
  auto mail = [](const std::string& id, const std::string& date) {
    Mail m;
    m.message_id = id;
    m.subject = "Weekly stock report";
    m.date = date;
    return m;
  };
  std::string t = thread_of(mail("old1@acme.example", "Wed, 01 Jan 2020 10:00:00 +0000"));
  auto d = ingest(mail("old2@acme.example", "Fri, 03 Jan 2020 10:00:00 +0000"));
  EXPECT_EQ(str(d, "thread_id"), t);
  EXPECT_EQ(str(d, "threaded_by"), "subject");
  // Two months after the thread's newest message: a new conversation.
  auto e = ingest(mail("old3@acme.example", "Sun, 01 Mar 2020 10:00:00 +0000"));
  EXPECT_NE(str(e, "thread_id"), t);
  EXPECT_EQ(str(e, "threaded_by"), "new");
  // Within the window of the newest message (3 Jan), though the thread began on 1 Jan.
  EXPECT_EQ(thread_of(mail("old4@acme.example", "Thu, 09 Jan 2020 10:00:00 +0000")), t);
}

TEST_P(ThreadingTest, ReferencesElsewhereBeatTheSubject) {
  Mail a;
  a.message_id = "x1@acme.example";
  a.subject = "Invoice 4471";
  std::string t1 = thread_of(a);
  Mail b;
  b.message_id = "y1@acme.example";
  b.subject = "Container release";
  std::string t2 = thread_of(b);
  ASSERT_NE(t1, t2);
  Mail c;
  c.message_id = "y2@acme.example";
  c.subject = "Re: Invoice 4471";  // subject says t1 ...
  c.in_reply_to = "y1@acme.example";  // ... the headers say t2
  EXPECT_EQ(thread_of(c), t2);
}

TEST_P(ThreadingTest, BridgingMessageMergesThreads) {
  Mail a;
  a.message_id = "m1@acme.example";
  a.subject = "Shipment A";
  std::string t1 = thread_of(a);
  Mail b;
  b.message_id = "m2@acme.example";
  b.subject = "Shipment B";
  b.from = "Hans <hans@globex.example>";
  std::string t2 = thread_of(b);
  ASSERT_NE(t1, t2);
  ok("threads.update", "{\"id\":\"" + t2 + "\",\"tags\":[\"customs\"]}");
  Mail c;
  c.message_id = "m3@acme.example";
  c.subject = "Both shipments";
  c.in_reply_to = "m1@acme.example";
  c.references = "m2@acme.example m1@acme.example";
  auto d = ingest(c);
  EXPECT_EQ(str(d, "thread_id"), t1);
  ASSERT_EQ(d["merged"].Size(), 1u);
  EXPECT_EQ(std::string(d["merged"][0].GetString()), t2);
  auto survivor = ok("threads.get", "{\"id\":\"" + t1 + "\"}");
  EXPECT_EQ(survivor["message_count"].GetInt(), 3);
  EXPECT_EQ(banxway::json::stringify(survivor["tags"]), R"(["customs"])");
  EXPECT_EQ(ok("messages.list", "{\"thread_id\":\"" + t1 + "\"}")["items"].Size(), 3u);
  auto list = ok("threads.list", "{}");
  for (auto& t : list["items"].GetArray()) EXPECT_NE(str(t, "id"), t2) << "merged thread still listed";
  auto merged = ok("threads.get", "{\"id\":\"" + t2 + "\"}");
  EXPECT_EQ(str(merged, "status"), "closed");
  bool saw_event = false;
  auto events = ok("events.list", R"({"limit":1000})");  // the loop must not outlive it
  for (auto& e : events["items"].GetArray())
    saw_event = saw_event || str(e, "type") == "thread.merged";
  EXPECT_TRUE(saw_event);
  // A later reply to the merged thread's message lands on the survivor.
  Mail late;
  late.message_id = "m4@globex.example";
  late.in_reply_to = "m2@acme.example";
  EXPECT_EQ(thread_of(late), t1);
}

TEST_P(ThreadingTest, DuplicateDeliveryWritesNothing) {
  Mail a;
  a.message_id = "dup@acme.example";
  auto first = ingest(a);
  size_t events = event_count();
  auto again = ingest(a);
  EXPECT_TRUE(again["duplicate"].GetBool());
  EXPECT_EQ(str(again["message"], "id"), str(first["message"], "id"));
  EXPECT_EQ(event_count(), events);
  // Without a Message-ID, the raw bytes decide.
  Mail anon;
  anon.body = "no id here";
  auto x = ingest(anon);
  EXPECT_TRUE(ingest(anon)["duplicate"].GetBool());
  anon.body = "a different body";
  EXPECT_FALSE(ingest(anon)["duplicate"].GetBool());
  EXPECT_FALSE(x["duplicate"].GetBool());
}

TEST_P(ThreadingTest, OutlookThreadIndexGroupsWithoutReferences) {
  std::string root(22, '\0');
  for (size_t i = 0; i < root.size(); ++i) root[i] = static_cast<char>(0x30 + i);
  Mail a;
  a.message_id = "o1@outlook.example";
  a.subject = "Delivery order";
  a.thread_index = banxway::crypto::base64_encode(root);
  std::string t = thread_of(a);
  Mail b;
  b.message_id = "o2@outlook.example";
  b.from = "Other Person <other@outlook.example>";
  b.subject = "Something unrelated-looking";
  b.thread_index = banxway::crypto::base64_encode(root + "\x01\x02\x03\x04\x05");
  auto d = ingest(b);
  EXPECT_EQ(str(d, "thread_id"), t);
  EXPECT_EQ(str(d, "threaded_by"), "thread-index");
}

TEST_P(ThreadingTest, OwnMessageIdsNameTheirThread) {
  std::string t = str(ok("threads.create", R"({"subject":"Quote for 2x40HC"})"), "id");
  Mail reply;
  reply.message_id = "c9@acme.example";
  reply.subject = "Re: your quote";
  reply.in_reply_to = "bx." + t + ".00aa11bb22cc33dd@banxway.invalid";
  auto d = ingest(reply);
  EXPECT_EQ(str(d, "thread_id"), t);
  EXPECT_EQ(str(d, "threaded_by"), "own-id");
}

TEST_P(ThreadingTest, ContactsAndCustomersAreResolved) {
  auto cust = ok("customers.create", R"({"name":"Acme Imports","domains":["acme.example"]})");
  auto user = ok("users.create", R"({"email":"ops@forwarder.example","role":"agent"})");
  Mail a;
  a.message_id = "c1@acme.example";
  auto d = ingest(a);
  auto t = ok("threads.get", "{\"id\":\"" + str(d, "thread_id") + "\"}");
  EXPECT_EQ(str(t, "customer_id"), str(cust, "id"));
  auto contact = ok("contacts.get", "{\"id\":\"" + str(t, "contact_id") + "\"}");
  EXPECT_EQ(str(contact, "name"), "Priya");
  EXPECT_EQ(str(contact, "customer_id"), str(cust, "id"));
  // The same address again reuses the contact; our own address is never a contact.
  Mail b = a;
  b.message_id = "c2@acme.example";
  ingest(b);
  EXPECT_EQ(ok("contacts.list", "{}")["items"].Size(), 1u);
  // Mail from our own user is outbound, and its contact is the recipient.
  Mail out;
  out.message_id = "c3@forwarder.example";
  out.from = "Ops <ops@forwarder.example>";
  out.to = "Priya <priya@acme.example>";
  out.subject = "Re: Booking MAEU1234";
  out.in_reply_to = "c1@acme.example";
  auto o = ingest(out);
  EXPECT_EQ(str(o["message"], "direction"), "outbound");
  EXPECT_EQ(str(o, "thread_id"), str(d, "thread_id"));
  (void)user;
}

TEST_P(ThreadingTest, OrganizationsNeverShareThreads) {
  Mail a;
  a.message_id = "shared@acme.example";
  std::string ta = thread_of(a);
  auto db = ingest(a, key_b);
  EXPECT_FALSE(db["duplicate"].GetBool());
  EXPECT_NE(str(db, "thread_id"), ta);
  fails("threads.get", "{\"id\":\"" + ta + "\"}", Code::not_found, key_b);
}

TEST_P(ThreadingTest, RejectsWhatIsNotAMessage) {
  fails("inbound.email", R"({})", Code::invalid_argument);
  fails("inbound.email", R"({"raw":"x","raw_base64":"eA=="})", Code::invalid_argument);
  fails("inbound.email", R"({"raw_base64":"***"})", Code::invalid_argument);
  Mail a;
  fails("inbound.email", "{\"raw\":" + banxway::json::quote(a.raw()) + "}", Code::permission_denied,
        key_with_role("viewer"));
}

BX_INSTANTIATE_BACKENDS(ThreadingTest);
