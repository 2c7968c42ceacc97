// Email end to end against the real test bed (scripts/lib/mail.sh: Dovecot IMAP + LMTP,
// OpenSMTPD relaying into Dovecot), on both databases: mail delivered over LMTP is fetched over
// IMAP (channels.sync, or the watcher's IDLE), threaded like a direct ingest of the same bytes,
// and a reply sent through the outbox over SMTP comes back as banxway's own message in the same
// thread. Flags never change; a second poll finds nothing; a restart mid-sync loses and
// duplicates nothing; a wrong password marks the account auth_failed.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

#include "channels/email/imap_client.hpp"
#include "channels/email/mailbox_files.hpp"
#include "engine_impl.hpp"
#include "imap/lmtp.hpp"
#include "support/engine_fixture.hpp"
#include "support/mail_env.hpp"
#include "support/net_util.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;
using namespace std::chrono_literals;

namespace {



// The corpus mailbox when BANXWAY_CORPUS is set (scripts/test sets it when ../shared is there),
// else a small conversation written here: two threads, a reply whose parent comes later, and a
// stripped-References reply that only the subject fallback can place.
std::vector<std::string> mailbox_messages() {
  std::vector<std::string> out;
  if (const char* dir = std::getenv("BANXWAY_CORPUS")) {
    std::string path = std::string(dir) + "/mbox/httpd-users-2020-07.mbox";
    auto st = banxway::email::for_each_mbox_message(path, [&](std::string&& raw, size_t) {
      out.push_back(std::move(raw));
      return true;
    });
    if (st.ok() && !out.empty()) return out;
    out.clear();
  }
  auto msg = [](const std::string& id, const std::string& from, const std::string& subject,
                const std::string& extra, const std::string& body) {
    return "From: " + from + "\r\nTo: ops@example.test\r\nSubject: " + subject +
           "\r\nMessage-ID: <" + id + ">\r\nDate: Wed, 14 Jan 2026 10:00:00 +0000\r\n" + extra +
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
  };
  out.push_back(msg("b1@acme.test", "Priya <priya@acme.test>", "Booking BKG-1001", "",
                    "Please book 2x40HC Nhava Sheva to Rotterdam."));
  out.push_back(msg("b3@acme.test", "Priya <priya@acme.test>", "Re: Booking BKG-1001",
                    "In-Reply-To: <b2@forwarder.test>\r\nReferences: <b1@acme.test> <b2@forwarder.test>\r\n",
                    "Thanks, confirmed."));
  out.push_back(msg("b2@forwarder.test", "Desk <desk@forwarder.test>", "Re: Booking BKG-1001",
                    "In-Reply-To: <b1@acme.test>\r\nReferences: <b1@acme.test>\r\n",
                    "Booked on MSC, vessel cut-off Friday."));
  out.push_back(msg("c1@globex.test", "Hans <hans@globex.test>", "Customs hold MSCU1234565", "",
                    "The container is on hold at customs."));
  out.push_back(msg("c2@globex.test", "Hans <hans@globex.test>", "AW: Customs hold MSCU1234565", "",
                    "Any update on the hold?"));
  return out;
}

void deliver_all(const bxtest::MailEnv& env, const std::string& folder,
                 const std::vector<std::string>& msgs) {
  bxtest::LmtpSession lmtp(env.lmtp_port);
  for (const auto& m : msgs)
    ASSERT_EQ(lmtp.deliver("sender@example.test", {bxtest::rcpt_for(env, folder)}, m), "");
}

// uid -> flags, read with a separate read-only client.
std::map<uint32_t, std::vector<std::string>> flags_of(const bxtest::MailEnv& env,
                                                      const std::string& folder) {
  banxway::email::ImapConfig c;
  c.host = env.host;
  c.port = env.imap_port;
  c.security = banxway::email::ImapConfig::Security::plain;
  c.username = env.user;
  c.password = env.password;
  std::map<uint32_t, std::vector<std::string>> out;
  auto client = banxway::email::ImapClient::connect(c);
  EXPECT_TRUE(client.ok()) << client.status().to_string();
  if (!client.ok()) return out;
  EXPECT_TRUE((*client)->examine(folder).ok());
  auto msgs = (*client)->fetch_after(0, 100000);
  EXPECT_TRUE(msgs.ok());
  if (msgs.ok())
    for (auto& m : *msgs) out[m.uid] = m.flags;
  (void)(*client)->logout();
  return out;
}


}  // namespace

class EmailE2ETest : public bxtest::EngineTest {
 protected:
  // Runs due jobs only (Engine::run_pending also hands events to their consumers, and message
  // analysis reads every organization's events): how many jobs ran.
  int jobs_run() {
    auto r = engine->impl().jobs->run_pending(100);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }
  // An email account of org A on the test bed, reading `folder`.
  std::string make_account(const bxtest::MailEnv& env, const std::string& folder,
                           const std::string& password, const std::string& extra_imap = "",
                           int smtp_port = 0) {
    std::string p = "{\"channel\":\"email\",\"name\":\"Ops desk\",\"address\":" +
                    banxway::json::quote(env.user) +
                    ",\"config\":{\"from_name\":\"Ops Desk\",\"imap\":{\"host\":" +
                    banxway::json::quote(env.host) + ",\"port\":" + std::to_string(env.imap_port) +
                    ",\"security\":\"plain\",\"folders\":[" + banxway::json::quote(folder) + "]" +
                    extra_imap + "},\"smtp\":{\"host\":" + banxway::json::quote(env.host) +
                    ",\"port\":" + std::to_string(smtp_port ? smtp_port : env.smtp_port) +
                    ",\"security\":\"plain\",\"timeout_seconds\":10}},\"secrets\":{\"imap_password\":" +
                    banxway::json::quote(password) + "}}";
    return str(ok("channels.create", p), "id");
  }
  int64_t count(const std::string& sql) {
    auto r = engine->impl().core.db->query(sql, {});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->rows[0].int64(0) : -1;
  }
  int64_t count_for(const std::string& sql, const std::string& org) {
    auto r = engine->impl().core.db->query(sql, {org});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->rows[0].int64(0) : -1;
  }
  void reopen() {
    engine.reset();
    banxway::EngineOptions o;
    o.database_url = url;
    o.jwt_secret = "test-secret-with-at-least-32-characters!";
    auto e = banxway::Engine::open(o);
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    engine = std::move(e).value();
  }
};

TEST_P(EmailE2ETest, PollThreadReplyAndRecognizeOwnMessage) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("e");
  auto msgs = mailbox_messages();
  deliver_all(env, folder, msgs);
  auto flags_before = flags_of(env, folder);
  ASSERT_EQ(flags_before.size(), msgs.size());

  std::string acct = make_account(env, folder, env.password);
  auto first = ok("channels.sync", "{\"id\":\"" + acct + "\"}");
  EXPECT_TRUE(first["complete"].GetBool());
  EXPECT_EQ(first["fetched"].GetInt(), static_cast<int>(msgs.size()));
  EXPECT_EQ(first["ingested"].GetInt(), static_cast<int>(msgs.size()));

  // Threaded exactly as a direct ingest of the same messages threads them (org B).
  auto principal_b = engine->authenticate(key_b);
  ASSERT_TRUE(principal_b.ok());
  std::vector<std::string_view> views(msgs.begin(), msgs.end());
  for (auto& r : engine->ingest_email_batch(*principal_b, views)) ASSERT_TRUE(r.ok());
  const char* kThreads = "SELECT COUNT(*) FROM threads WHERE org_id = ? AND merged_into IS NULL";
  int64_t threads_a = count_for(kThreads, org_a);
  EXPECT_EQ(threads_a, count_for(kThreads, org_b));
  EXPECT_LT(threads_a, static_cast<int64_t>(msgs.size()));  // replies joined their threads
  EXPECT_EQ(count_for("SELECT COUNT(*) FROM messages WHERE org_id = ? AND channel_account_id IS "
                      "NOT NULL", org_a),
            static_cast<int64_t>(msgs.size()));

  // Poll again: nothing new.
  auto second = ok("channels.sync", "{\"id\":\"" + acct + "\"}");
  EXPECT_EQ(second["fetched"].GetInt(), 0);
  auto got = ok("channels.get", "{\"id\":\"" + acct + "\"}");
  EXPECT_EQ(str(got, "status"), "ok");
  ASSERT_EQ(got["folders"].Size(), 1u);
  EXPECT_EQ(got["folders"][0]["last_uid"].GetInt64(), static_cast<int64_t>(flags_before.rbegin()->first));
  EXPECT_TRUE(got["folders"][0]["lease_owner"].IsNull());  // released after the pass
  ASSERT_TRUE(got["secrets"].IsArray());
  EXPECT_EQ(banxway::json::stringify(got).find(env.password == "secret" ? "\"secret\"" : env.password),
            std::string::npos);

  // Reply to the busiest thread through the outbox; Bcc the watched folder so the sent copy
  // comes back over IMAP (OpenSMTPD relays every recipient into Dovecot).
  auto list = ok("threads.list", "{\"limit\":200}");
  std::string thread;
  int best = 0;
  for (auto& t : list["items"].GetArray())
    if (t["message_count"].GetInt() > best) {
      best = t["message_count"].GetInt();
      thread = t["id"].GetString();
    }
  ASSERT_GE(best, 2);
  auto thread_before = ok("threads.get", "{\"id\":\"" + thread + "\"}");
  auto queued = ok("messages.send", "{\"thread_id\":\"" + thread + "\",\"text\":\"Noted, thanks.\","
                                    "\"bcc\":[" + banxway::json::quote(bxtest::rcpt_for(env, folder)) + "]}");
  EXPECT_EQ(str(queued, "status"), "queued");
  std::string subject = str(queued, "subject");
  EXPECT_TRUE(subject.starts_with("Re: ")) << subject;
  EXPECT_EQ(subject.find("Re: Re:"), std::string::npos) << subject;
  EXPECT_FALSE(queued["in_reply_to"].IsNull());
  std::string own_mid = str(queued, "message_id");
  EXPECT_TRUE(own_mid.starts_with("bx." + thread + ".")) << own_mid;
  EXPECT_EQ(jobs_run(), 1);
  auto sent = ok("messages.list", "{\"thread_id\":\"" + thread + "\",\"limit\":200}");
  auto& last = sent["items"][sent["items"].Size() - 1];
  EXPECT_EQ(str(last, "status"), "sent");
  EXPECT_EQ(str(last, "id"), str(queued, "id"));

  // The sent copy arrives over SMTP -> LMTP; the next poll sees it as our own message.
  Document again;
  for (int i = 0; i < 100; ++i) {
    again = ok("channels.sync", "{\"id\":\"" + acct + "\"}");
    if (again["fetched"].GetInt() > 0) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(again["fetched"].GetInt(), 1);
  EXPECT_EQ(again["folders"][0]["duplicates"].GetInt(), 1);  // recognized, not stored twice
  EXPECT_EQ(again["ingested"].GetInt(), 0);
  EXPECT_EQ(count_for(kThreads, org_a), threads_a);  // no new thread
  auto after = ok("threads.get", "{\"id\":\"" + thread + "\"}");
  EXPECT_EQ(after["message_count"].GetInt(), thread_before["message_count"].GetInt() + 1);

  // The copy on the server carries what the outbox promised.
  auto server = flags_of(env, folder);
  EXPECT_EQ(server.size(), msgs.size() + 1);
  for (const auto& [uid, flags] : server)
    EXPECT_EQ(std::count(flags.begin(), flags.end(), "\\Seen"), 0) << "uid " << uid;

  // Events tell the story: queued -> sending -> sent.
  auto ev = ok("events.list", "{\"after\":0,\"limit\":1000}");
  std::vector<std::string> statuses;
  for (auto& e : ev["items"].GetArray())
    if (std::string(e["type"].GetString()) == "message.status_changed" &&
        std::string(e["subject_id"].GetString()) == str(queued, "id"))
      statuses.push_back(e["data"]["status"].GetString());
  EXPECT_EQ(statuses, (std::vector<std::string>{"sending", "sent"}));
}

TEST_P(EmailE2ETest, SentMailCarriesThreadHeadersAndSurvivesRoundTrip) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("e");
  std::string parent =
      "From: Priya <priya@acme.test>\r\nTo: ops@example.test\r\nCc: Raj <raj@acme.test>, "
      "ops@example.test\r\nSubject: RE: AW: Booking BKG-2002\r\nMessage-ID: <p1@acme.test>\r\n"
      "References: <p0@acme.test>\r\nThread-Index: AQIDBAUGBwgJCgsMDQ4PEBESExQVFg==\r\n"
      "Date: Wed, 14 Jan 2026 10:00:00 +0000\r\nContent-Type: text/plain\r\n\r\nPlease confirm.\r\n";
  deliver_all(env, folder, {parent});
  std::string acct = make_account(env, folder, env.password);
  ok("channels.sync", "{\"id\":\"" + acct + "\"}");
  auto threads = ok("threads.list", "{}");
  ASSERT_EQ(threads["items"].Size(), 1u);
  std::string thread = str(threads["items"][0], "id");
  // Reply-all: To the sender, Cc the other recipients minus our own address.
  auto q = ok("messages.send", "{\"thread_id\":\"" + thread + "\",\"text\":\"Confirmed.\","
                               "\"html\":\"<p>Confirmed.<script>x()</script></p>\","
                               "\"bcc\":[" + banxway::json::quote(bxtest::rcpt_for(env, folder)) + "]}");
  // An explicit bcc replaces the computed recipients: ask again without it to see reply-all.
  auto cancel = ok("messages.cancel", "{\"id\":\"" + str(q, "id") + "\"}");
  EXPECT_EQ(str(cancel, "status"), "cancelled");
  auto r = ok("messages.send", "{\"thread_id\":\"" + thread + "\",\"text\":\"Confirmed.\","
                               "\"html\":\"<p>Confirmed.<script>x()</script></p>\"}");
  ASSERT_EQ(r["to"].Size(), 1u);
  EXPECT_EQ(str(r["to"][0], "address"), "priya@acme.test");
  ASSERT_EQ(r["cc"].Size(), 1u);
  EXPECT_EQ(str(r["cc"][0], "address"), "raj@acme.test");
  EXPECT_EQ(str(r, "subject"), "Re: Booking BKG-2002");
  EXPECT_EQ(str(r, "html").find("script"), std::string::npos);
  EXPECT_EQ(str(r, "in_reply_to"), "p1@acme.test");
  ASSERT_EQ(r["references"].Size(), 2u);
  EXPECT_EQ(std::string(r["references"][0].GetString()), "p0@acme.test");
  EXPECT_EQ(std::string(r["references"][1].GetString()), "p1@acme.test");
  ASSERT_EQ(jobs_run(), 1);  // the cancelled one never runs
  // Read back what went out from the stored raw copy (the bytes handed to SMTP).
  auto row = engine->impl().core.db->query(
      "SELECT raw_sha256, status FROM messages WHERE id = ?", {str(r, "id")});
  ASSERT_TRUE(row.ok());
  ASSERT_EQ(row->rows[0].text(1), "sent");
  auto raw = engine->impl().core.blobs->get(*engine->impl().core.db, org_a, row->rows[0].str(0));
  ASSERT_TRUE(raw.ok());
  EXPECT_NE(raw->find("In-Reply-To: <p1@acme.test>"), std::string::npos) << *raw;
  EXPECT_NE(raw->find("References: <p0@acme.test> <p1@acme.test>"), std::string::npos) << *raw;
  // Extended by one child block (22 + 5 bytes), not copied and not restarted.
  EXPECT_NE(raw->find("Thread-Index: AQIDBAUGBwgJCgsMDQ4PEBESExQV"), std::string::npos) << *raw;
  EXPECT_EQ(raw->find("Thread-Index: AQIDBAUGBwgJCgsMDQ4PEBESExQVFg=="), std::string::npos) << *raw;
  EXPECT_NE(raw->find("Message-Id: <bx." + thread + "."), std::string::npos) << *raw;
  EXPECT_NE(raw->find("From: Ops Desk <" + env.user + ">"), std::string::npos) << *raw;
  EXPECT_EQ(raw->find("Bcc"), std::string::npos);
  // Cancelling what was sent is a conflict, not a silent success.
  EXPECT_NE(fails("messages.cancel", "{\"id\":\"" + str(r, "id") + "\"}", Code::conflict).find("sent"),
            std::string::npos);
}

TEST_P(EmailE2ETest, RestartMidSyncLosesAndDuplicatesNothing) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("e");
  std::vector<std::string> msgs;
  for (int i = 0; i < 30; ++i)
    msgs.push_back("From: shipper" + std::to_string(i % 3) + "@acme.test\r\nTo: ops@example.test\r\n"
                   "Subject: Booking " + std::to_string(i) + "\r\nMessage-ID: <r" + std::to_string(i) +
                   "." + folder + "@acme.test>\r\nDate: Wed, 14 Jan 2026 10:00:00 +0000\r\n\r\nbody " +
                   std::to_string(i) + "\r\n");
  deliver_all(env, folder, msgs);
  std::string acct = make_account(env, folder, env.password, ",\"page_size\":4");
  auto part = ok("channels.sync", "{\"id\":\"" + acct + "\",\"max_messages\":10}");
  EXPECT_FALSE(part["complete"].GetBool());
  EXPECT_EQ(part["ingested"].GetInt(), 10);
  EXPECT_EQ(part["folders"][0]["last_uid"].GetInt(), 10);

  reopen();  // a new engine (process restart) resumes from the stored cursor
  auto rest = ok("channels.sync", "{\"id\":\"" + acct + "\"}");
  EXPECT_TRUE(rest["complete"].GetBool());
  EXPECT_EQ(rest["fetched"].GetInt(), 20);
  EXPECT_EQ(rest["ingested"].GetInt(), 20);
  const char* kMsgs = "SELECT COUNT(*) FROM messages WHERE org_id = ?";
  EXPECT_EQ(count_for(kMsgs, org_a), 30);

  // A crash between storing a page and moving the cursor: the page is fetched again and every
  // message is recognized as a duplicate.
  ASSERT_TRUE(engine->impl().core.db->query("UPDATE mail_folders SET last_uid = 22", {}).ok());
  auto redo = ok("channels.sync", "{\"id\":\"" + acct + "\"}");
  EXPECT_EQ(redo["fetched"].GetInt(), 8);
  EXPECT_EQ(redo["folders"][0]["duplicates"].GetInt(), 8);
  EXPECT_EQ(count_for(kMsgs, org_a), 30);

  // UIDVALIDITY changed on the server (say, the folder was rebuilt): a full resync that
  // deduplicates by Message-ID.
  ASSERT_TRUE(engine->impl().core.db->query("UPDATE mail_folders SET uidvalidity = 1", {}).ok());
  auto resync = ok("channels.sync", "{\"id\":\"" + acct + "\"}");
  EXPECT_TRUE(resync["folders"][0]["resync"].GetBool());
  EXPECT_EQ(resync["fetched"].GetInt(), 30);
  EXPECT_EQ(resync["ingested"].GetInt(), 0);
  EXPECT_EQ(count_for(kMsgs, org_a), 30);

  // Another worker holding the lease keeps this pass off the folder.
  ASSERT_TRUE(engine->impl().core.db->query(
      "UPDATE mail_folders SET lease_owner = 'elsewhere', lease_until = '2999-01-01T00:00:00.000Z'", {}).ok());
  EXPECT_NE(fails("channels.sync", "{\"id\":\"" + acct + "\"}", Code::conflict).find("elsewhere"),
            std::string::npos);
}

TEST_P(EmailE2ETest, WrongPasswordMarksAccountAuthFailed) {
  BX_REQUIRE_MAIL(env);
  std::string acct = make_account(env, "INBOX", "not-the-password");
  auto msg = fails("channels.sync", "{\"id\":\"" + acct + "\"}", Code::unauthenticated);
  EXPECT_EQ(msg.find("not-the-password"), std::string::npos);
  auto got = ok("channels.get", "{\"id\":\"" + acct + "\"}");
  EXPECT_EQ(str(got, "status"), "auth_failed");
  EXPECT_FALSE(got["last_error"].IsNull());
  EXPECT_EQ(banxway::json::stringify(got).find("not-the-password"), std::string::npos);
  auto ev = ok("events.list", "{\"after\":0,\"limit\":1000}");
  bool seen = false;
  for (auto& e : ev["items"].GetArray())
    if (std::string(e["type"].GetString()) == "channel.status_changed") {
      seen = true;
      EXPECT_EQ(str(e["data"], "status"), "auth_failed");
      EXPECT_EQ(banxway::json::stringify(e).find("not-the-password"), std::string::npos);
    }
  EXPECT_TRUE(seen);
  // Fixing the password clears the verdict; the next sync says ok.
  ok("channels.update", "{\"id\":\"" + acct + "\",\"secrets\":{\"imap_password\":" +
                            banxway::json::quote(env.password) + "}}");
  ok("channels.sync", "{\"id\":\"" + acct + "\",\"max_messages\":1}");
  EXPECT_EQ(str(ok("channels.get", "{\"id\":\"" + acct + "\"}"), "status"), "ok");
}

TEST_P(EmailE2ETest, IdleIngestsNewMailWithoutWaitingForThePoll) {
  BX_REQUIRE_MAIL(env);
  std::string folder = bxtest::unique_folder("e");
  deliver_all(env, folder, {"From: a@acme.test\r\nSubject: first\r\nMessage-ID: <i0." + folder +
                                "@acme.test>\r\n\r\nfirst\r\n"});
  // A poll interval of an hour: only IDLE can bring the second message in within the test.
  std::string acct = make_account(env, folder, env.password, ",\"poll_interval_seconds\":3600");
  ASSERT_TRUE(engine->start(1).ok());
  auto wait_for = [&](const std::string& subject, std::chrono::seconds limit) {
    auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < limit) {
      auto d = ok("search.messages", "{\"q\":" + banxway::json::quote(subject) + "}");
      if (d["items"].Size() > 0) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  ASSERT_TRUE(wait_for("first", 20s));
  // The watcher is now in IDLE (the first pass is done); give it a moment to issue it.
  std::this_thread::sleep_for(500ms);
  auto t0 = std::chrono::steady_clock::now();
  deliver_all(env, folder, {"From: a@acme.test\r\nSubject: zebrapush\r\nMessage-ID: <i1." + folder +
                                "@acme.test>\r\n\r\nsecond\r\n"});
  EXPECT_TRUE(wait_for("zebrapush", 20s));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("idle_latency_seconds", std::to_string(secs));
  engine->stop();
  auto got = ok("channels.get", "{\"id\":\"" + acct + "\"}");
  EXPECT_EQ(str(got, "status"), "ok");
  EXPECT_TRUE(got["folders"][0]["lease_owner"].IsNull());  // released on stop
}

TEST_P(EmailE2ETest, OutboxRetriesTransientFailuresAndFailsPermanentOnes) {
  BX_REQUIRE_MAIL(env);
  // SMTP port with nobody listening: transient, back to queued with the error, retried later.
  std::string down = make_account(env, "INBOX", env.password, "", bxtest::closed_port());
  auto q = ok("messages.send", "{\"channel_account_id\":\"" + down + "\",\"to\":[\"priya@acme.test\"],"
                               "\"subject\":\"Rates for March\",\"text\":\"Please find the rates.\"}");
  EXPECT_EQ(str(q, "status"), "queued");
  ASSERT_EQ(jobs_run(), 1);
  Document list = ok("messages.list", "{\"thread_id\":\"" + str(q, "thread_id") + "\"}");
  auto& m = list["items"][0];
  EXPECT_EQ(std::string(m["status"].GetString()), "queued");
  EXPECT_NE(std::string(m["error"].GetString()).find("smtp"), std::string::npos);
  EXPECT_EQ(m["attempts"].GetInt(), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND kind = 'email.send'"), 1);

  // A recipient the server refuses (OpenSMTPD: 501 for a domain starting with '-'): failed at
  // once, with the server's words.
  std::string up = make_account(env, "INBOX", env.password);
  auto bad = ok("messages.send", "{\"channel_account_id\":\"" + up + "\",\"to\":[\"x@-bad.test\"],"
                                 "\"subject\":\"Hello\",\"text\":\"Hi\"}");
  ASSERT_EQ(jobs_run(), 1);
  Document flist = ok("messages.list", "{\"thread_id\":\"" + str(bad, "thread_id") + "\"}");
  auto& f = flist["items"][0];
  EXPECT_EQ(std::string(f["status"].GetString()), "failed");
  EXPECT_NE(std::string(f["error"].GetString()).find("501"), std::string::npos) << f["error"].GetString();
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE status = 'dead' AND kind = 'email.send'"), 1);

  // Scheduled: waits as a timer job; cancellable until then.
  auto later = ok("messages.send", "{\"channel_account_id\":\"" + up + "\",\"to\":[\"priya@acme.test\"],"
                                   "\"subject\":\"Reminder\",\"text\":\"Tomorrow\","
                                   "\"send_at\":\"2099-01-01T09:00:00Z\"}");
  EXPECT_EQ(str(later, "send_at"), "2099-01-01T09:00:00.000Z");
  EXPECT_EQ(jobs_run(), 0);
  EXPECT_EQ(str(ok("messages.cancel", "{\"id\":\"" + str(later, "id") + "\"}"), "status"), "cancelled");
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND kind = 'email.send' AND "
                  "unique_key LIKE '%" + str(later, "id") + "'"), 0);

  // Header injection: CR/LF in any header value is refused before anything is written.
  int64_t before = count("SELECT COUNT(*) FROM messages");
  fails("messages.send", "{\"channel_account_id\":\"" + up + "\",\"to\":[\"a@b.test\\r\\nBcc: x@y.test\"],"
                         "\"subject\":\"x\",\"text\":\"x\"}", Code::invalid_argument);
  fails("messages.send", "{\"channel_account_id\":\"" + up + "\",\"to\":[\"a@b.test\"],"
                         "\"subject\":\"x\\r\\nBcc: x@y.test\",\"text\":\"x\"}", Code::invalid_argument);
  fails("messages.send", "{\"channel_account_id\":\"" + up + "\",\"to\":[\"a@b.test\"],\"subject\":\"x\","
                         "\"text\":\"x\",\"attachments\":[{\"filename\":\"a\\r\\nb\",\"content_base64\":\"aGk=\"}]}",
        Code::invalid_argument);
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), before);
}

BX_INSTANTIATE_BACKENDS(EmailE2ETest);
