// Batch ingest (Engine::ingest_email_batch) and the full-text index, on both backends. On
// SQLite a batch indexes its messages in one statement before it commits
// (migrations/sqlite/0004_fts_batch.sql); these tests check that search sees exactly what the
// per-row trigger used to index, and that the index stays consistent afterwards.
#include <gtest/gtest.h>

#include <map>

#include "engine_impl.hpp"
#include "pipeline/fts_batch.hpp"
#include "support/engine_fixture.hpp"

using banxway::json::Document;
using bxtest::str;

namespace {

std::string mail(const std::string& id, const std::string& subject, const std::string& body) {
  return "From: Priya <priya@acme.example>\r\nTo: ops@forwarder.example\r\nSubject: " + subject +
         "\r\nDate: Mon, 02 Nov 2026 10:00:00 +0530\r\nMessage-ID: <" + id +
         ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body +
         "\r\n";
}

}  // namespace

class IngestBatchTest : public bxtest::EngineTest {
 protected:
  std::vector<std::string> ingest_batch(const std::vector<std::string>& raws, size_t batch) {
    auto who = engine->system_principal(org_a, "test");
    EXPECT_TRUE(who.ok()) << who.status().to_string();
    std::vector<std::string_view> views(raws.begin(), raws.end());
    std::vector<std::string> out;
    for (auto& r : engine->ingest_email_batch(*who, views, batch)) {
      EXPECT_TRUE(r.ok()) << r.status().to_string();
      out.push_back(r.ok() ? *r : std::string());
    }
    return out;
  }
  std::vector<std::string> hits(const std::string& q) {
    auto d = ok("search.messages", "{\"q\":" + banxway::json::quote(q) + ",\"limit\":100}");
    std::vector<std::string> ids;
    for (auto& m : d["items"].GetArray()) ids.push_back(m["id"].GetString());
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  static std::string message_id_of(const std::string& result_json) {
    Document d;
    EXPECT_TRUE(banxway::json::parse(result_json, &d).ok());
    return d["message"]["id"].GetString();
  }
  bool sqlite() const { return GetParam() == "sqlite"; }
  banxway::store::Db& db() { return *engine->impl().core.db; }
  void expect_fts_consistent() {
    if (!sqlite()) return;
    // FTS5 compares its index with the content table (messages) row by row.
    auto st = db().transaction([](banxway::store::Conn& c) {
      return c.query("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)",
                     {}).status();
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
    auto flag = db().query("SELECT COUNT(*) FROM messages_fts_deferred", {});
    ASSERT_TRUE(flag.ok()) << flag.status().to_string();
    EXPECT_EQ(flag->rows.at(0).int64(0), 0) << "the deferral flag must never be committed";
  }
};

TEST_P(IngestBatchTest, BatchedMessagesAreSearchableLikeSingleOnes) {
  std::vector<std::string> raws = {
      mail("b1@acme.example", "Booking zebracorn", "container alpha"),
      mail("b2@acme.example", "Re: Booking zebracorn", "vessel bravo delayed"),
      mail("b3@acme.example", "Customs hold", "commercial invoice charlie"),
      mail("b1@acme.example", "Booking zebracorn", "container alpha"),  // duplicate in batch
      mail("b4@acme.example", "Ünïcode délivery", "naïve café"),
  };
  auto res = ingest_batch(raws, 2);  // batches of 2: the duplicate lands in a later batch
  ASSERT_EQ(res.size(), raws.size());
  const std::string m1 = message_id_of(res[0]), m2 = message_id_of(res[1]),
                    m3 = message_id_of(res[2]), m5 = message_id_of(res[4]);
  EXPECT_EQ(message_id_of(res[3]), m1);
  EXPECT_NE(res[3].find("\"duplicate\":true"), std::string::npos);

  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(hits("zebracorn"), sorted({m1, m2}));
  EXPECT_EQ(hits("bravo"), sorted({m2}));
  EXPECT_EQ(hits("commercial invoice"), sorted({m3}));
  // FTS5 (remove_diacritics 2) folds diacritics; PostgreSQL's 'simple' configuration does not.
  EXPECT_EQ(hits(sqlite() ? "cafe" : "café"), sorted({m5}));
  EXPECT_TRUE(hits("nonexistentword").empty());
  expect_fts_consistent();

  // A single-message ingest and a note still go through the row trigger.
  auto single = ok("inbound.email",
                   "{\"raw\":" + banxway::json::quote(mail("s1@acme.example", "Single", "delta")) +
                       "}");
  EXPECT_EQ(hits("delta"), sorted({str(single["message"], "id")}));
  auto note = ok("messages.create_note",
                 "{\"thread_id\":\"" + str(single, "thread_id") + "\",\"text\":\"echo foxtrot\"}");
  EXPECT_EQ(hits("foxtrot").size(), 1u);
  // A later batch next to those rows.
  auto more = ingest_batch({mail("b5@acme.example", "Later", "golf zebracorn")}, 200);
  EXPECT_EQ(hits("zebracorn"), sorted({m1, m2, message_id_of(more[0])}));
  expect_fts_consistent();
}

TEST_P(IngestBatchTest, UpdatesOfBatchedMessagesKeepTheIndexInStep) {
  if (!sqlite()) GTEST_SKIP() << "PostgreSQL computes the tsvector column itself";
  auto res = ingest_batch({mail("u1@acme.example", "Hotel", "india juliet"),
                           mail("u2@acme.example", "Kilo", "lima mike")},
                          200);
  const std::string m1 = message_id_of(res[0]);
  // The update trigger removes the indexed values and adds the new ones: it only works if the
  // batch indexed exactly the stored subject and text.
  auto st = db().transaction([&](banxway::store::Conn& c) {
    return c.query("UPDATE messages SET body_text = 'november oscar' WHERE id = ?", {m1}).status();
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_TRUE(hits("juliet").empty());
  EXPECT_EQ(hits("oscar"), std::vector<std::string>{m1});
  EXPECT_EQ(hits("hotel"), std::vector<std::string>{m1});
  expect_fts_consistent();
}

// Rows inserted while a batch defers indexing, then updated or deleted in the same batch
// (migrations/sqlite/0014_fts_pending.sql): the index gets each row once, as it ends the batch.
// With 0004's triggers alone the update would have run FTS5's 'delete' for a row never indexed;
// on a large index that was seen to corrupt it ("database disk image is malformed").
TEST_P(IngestBatchTest, RowsChangedInsideADeferredBatchAreIndexedAsTheyEndIt) {
  if (!sqlite()) GTEST_SKIP() << "PostgreSQL computes the tsvector column itself";
  auto res = ingest_batch({mail("p1@acme.example", "Base", "baseline words")}, 200);
  const std::string m1 = message_id_of(res[0]);
  auto copy = [&](banxway::store::Conn& c, const std::string& id, const std::string& text) {
    return c.query("INSERT INTO messages (id, org_id, thread_id, channel, direction, subject, "
                   "body_text, status, created_at) SELECT ?, org_id, thread_id, channel, "
                   "direction, 'Copy', ?, status, created_at FROM messages WHERE id = ?",
                   {id, text, m1}).status();
  };
  auto st = db().transaction([&](banxway::store::Conn& c) -> banxway::Status {
    auto deferred = banxway::pipeline::begin_fts_batch(c);
    if (!deferred.ok()) return deferred.status();
    if (!*deferred) return banxway::Internal("the batch did not defer");
    auto nested = banxway::pipeline::begin_fts_batch(c);
    if (!nested.ok() || *nested) return banxway::Internal("a nested batch must not defer");
    BX_RETURN_IF_ERROR(copy(c, "x1", "alpha papa"));
    BX_RETURN_IF_ERROR(copy(c, "x2", "bravo quebec"));
    BX_RETURN_IF_ERROR(copy(c, "x3", "charlie romeo"));
    BX_RETURN_IF_ERROR(
        c.query("UPDATE messages SET body_text = 'delta sierra' WHERE id = 'x1'", {}).status());
    BX_RETURN_IF_ERROR(c.query("DELETE FROM messages WHERE id = 'x2'", {}).status());
    BX_RETURN_IF_ERROR(  // a row indexed before the batch: the row triggers as always
        c.query("UPDATE messages SET body_text = 'echo tango' WHERE id = ?", {m1}).status());
    return banxway::pipeline::end_fts_batch(c);
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_TRUE(hits("papa").empty());
  EXPECT_EQ(hits("sierra"), std::vector<std::string>{"x1"});
  EXPECT_TRUE(hits("quebec").empty());
  EXPECT_EQ(hits("romeo"), std::vector<std::string>{"x3"});
  EXPECT_EQ(hits("tango"), std::vector<std::string>{m1});
  EXPECT_TRUE(hits("baseline").empty());
  expect_fts_consistent();
  auto pending = db().query("SELECT COUNT(*) FROM messages_fts_pending", {});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->rows.at(0).int64(0), 0);
  // Deleting a row indexed by the batch removes it from the index.
  ASSERT_TRUE(db().transaction([](banxway::store::Conn& c) {
                    return c.query("DELETE FROM messages WHERE id = 'x3'", {}).status();
                  }).ok());
  EXPECT_TRUE(hits("romeo").empty());
  expect_fts_consistent();
}

// An inbound reply reopens a resolved thread (on SQLite the status is read and written only
// when it changes; on PostgreSQL the UPDATE decides).
TEST_P(IngestBatchTest, AnInboundReplyReopensAResolvedThread) {
  auto first = ingest_batch({mail("o1@acme.example", "Booking 42", "first")}, 200);
  Document d;
  ASSERT_TRUE(banxway::json::parse(first[0], &d).ok());
  const std::string t = d["thread_id"].GetString();
  auto status = [&] { return str(ok("threads.get", "{\"id\":\"" + t + "\"}"), "status"); };
  ok("threads.update", "{\"id\":\"" + t + "\",\"status\":\"resolved\"}");
  std::string theirs = mail("o3@acme.example", "Re: Booking 42", "one more thing");
  theirs.insert(theirs.find("MIME-Version"), "In-Reply-To: <o1@acme.example>\r\n");
  auto reply = ingest_batch({theirs}, 200);
  ASSERT_TRUE(banxway::json::parse(reply[0], &d).ok());
  EXPECT_EQ(std::string(d["thread_id"].GetString()), t);
  EXPECT_EQ(status(), "open");
}

TEST_P(IngestBatchTest, ARolledBackBatchLeavesNoFlagBehind) {
  if (!sqlite()) GTEST_SKIP() << "SQLite only";
  // What a failing batch does: the flag row is inserted, then the transaction rolls back.
  auto st = db().transaction([](banxway::store::Conn& c) -> banxway::Status {
    auto r = c.query("INSERT INTO messages_fts_deferred (flag) VALUES (1)", {});
    if (!r.ok()) return r.status();
    return banxway::Internal("fail on purpose");
  });
  EXPECT_FALSE(st.ok());
  ingest_batch({mail("r1@acme.example", "Papa", "quebec romeo")}, 200);
  EXPECT_EQ(hits("quebec").size(), 1u);
  auto single = ok("inbound.email",
                   "{\"raw\":" + banxway::json::quote(mail("r2@acme.example", "Sierra", "tango")) +
                       "}");
  EXPECT_EQ(hits("tango").size(), 1u);
  expect_fts_consistent();
}

// EngineOptions::ingest_parse_thread changes which thread parses a batch's messages and how
// many go in one transaction, never what is stored: the same input gives the same result in
// every slot with the thread and without it. The input has replies before their parents, a
// duplicate, a message refused before it is parsed (over max_message_bytes) and one whose row
// insert fails inside its batch's transaction (a test trigger), so the batch is redone one
// message at a time. Some are large enough for the parse thread's byte budget to bind.
TEST_P(IngestBatchTest, TheParseThreadStoresWhatInlineParsingStores) {
  const std::string trigger =
      sqlite() ? "CREATE TRIGGER test_poison BEFORE INSERT ON messages WHEN NEW.subject = "
                 "'poison' BEGIN SELECT RAISE(ABORT, 'poisoned message'); END"
               : "CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                 "IF NEW.subject = 'poison' THEN RAISE EXCEPTION 'poisoned message'; END IF; "
                 "RETURN NEW; END $$; CREATE TRIGGER test_poison BEFORE INSERT ON messages "
                 "FOR EACH ROW EXECUTE FUNCTION test_poison()";
  ASSERT_TRUE(
      db().transaction([&](banxway::store::Conn& c) { return c.exec_script(trigger); }).ok());
  engine->impl().core.opts.max_message_bytes = 4096;

  std::vector<std::string> raws;
  for (int i = 0; i < 60; ++i) {
    const std::string id = "pt" + std::to_string(i) + "@acme.example";
    if (i == 17) {
      raws.push_back(mail(id, "Too large", std::string(5000, 'x')));
    } else if (i == 33) {
      raws.push_back(mail(id, "poison", "this row insert fails"));
    } else if (i == 40) {
      raws.push_back(raws[2]);  // delivered twice
    } else if (i % 5 == 4) {
      // Replies to the message two places later: they arrive before their parent.
      std::string r = mail(id, "Re: Shipment " + std::to_string(i + 2), "reply first");
      r.insert(r.find("MIME-Version"),
               "In-Reply-To: <pt" + std::to_string(i + 2) + "@acme.example>\r\n");
      raws.push_back(r);
    } else {
      // Every third one near the size limit, so the parse thread's byte budget (four messages
      // of the largest allowed size) holds it back before its message count does.
      raws.push_back(mail(id, "Shipment " + std::to_string(i),
                          "body " + std::to_string(i) + std::string(i % 3 ? 0 : 3500, '.')));
    }
  }
  std::vector<std::string_view> views(raws.begin(), raws.end());
  // What a slot says, with thread ids replaced by the first slot of their thread.
  auto run = [&](const std::string& org, bool thread) {
    engine->impl().core.opts.ingest_parse_thread = thread;
    auto who = engine->system_principal(org, "test");
    EXPECT_TRUE(who.ok());
    std::vector<std::string> out;
    std::map<std::string, size_t> first_slot;
    auto results = engine->ingest_email_batch(*who, views, 7);
    EXPECT_EQ(results.size(), raws.size());
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) {
        out.push_back(std::string(banxway::code_name(results[i].status().code())) + ": " +
                      results[i].status().message());
        continue;
      }
      Document d;
      EXPECT_TRUE(banxway::json::parse(*results[i], &d).ok());
      auto [it, fresh] = first_slot.emplace(d["thread_id"].GetString(), i);
      out.push_back("thread of " + std::to_string(it->second) +
                    (d["duplicate"].GetBool() ? " duplicate" : "") +
                    (d["new_thread"].GetBool() ? " new" : ""));
    }
    return out;
  };
  const auto threaded = run(org_a, true);
  const auto inline_ = run(org_b, false);
  EXPECT_EQ(threaded, inline_);
  ASSERT_EQ(threaded.size(), 60u);
  EXPECT_EQ(threaded[17].rfind("payload_too_large: ", 0), 0u) << threaded[17];
  EXPECT_NE(threaded[33].find("poisoned message"), std::string::npos) << threaded[33];
  EXPECT_EQ(threaded[40], "thread of 2 duplicate");
  EXPECT_EQ(threaded[4], "thread of 4 new");
  EXPECT_EQ(threaded[6], "thread of 4");  // the parent joins its early reply's thread
  // Stored: every slot but the refused, the poisoned and the duplicate one.
  for (const std::string& org : {org_a, org_b})
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE org_id = ?", {org}), 57) << org;
  expect_fts_consistent();
}

BX_INSTANTIATE_BACKENDS(IngestBatchTest);
