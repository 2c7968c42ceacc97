#include "pipeline/ingest.hpp"

#include "pipeline/fts_batch.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>

#include "channels/email/mime.hpp"
#include "pipeline/identify.hpp"
#include "pipeline/shipment_links.hpp"
#include "pipeline/threading.hpp"
#include "services/common.hpp"
#include "services/notifications.hpp"
#include "services/threads.hpp"

namespace banxway::pipeline {
namespace {

// Work done before the transaction: parsing and blob writes (idempotent, content-addressed),
// so the transaction holds the write lock only for row writes.
struct Prepared {
  email::ParsedEmail mail;
  // The raw source and the attachments: hashed, and written to the file store when too large to
  // live in their blobs rows (store::Blobs).
  store::StagedBlob raw;
  std::vector<store::StagedBlob> attachments;
  std::string date;  // ISO-8601 UTC
  ThreadingInput tin;
};

std::string address_json(const email::Address& a) {
  return "{\"name\":" + (a.name.empty() ? std::string("null") : json::quote(a.name)) +
         ",\"address\":" + json::quote(a.email) + "}";
}

std::string addresses_json(const std::vector<email::Address>& list) {
  std::string j = "[";
  for (size_t i = 0; i < list.size(); ++i) j += (i ? "," : "") + address_json(list[i]);
  return j + "]";
}

std::string strings_json(const std::vector<std::string>& list) {
  std::string j = "[";
  for (size_t i = 0; i < list.size(); ++i) j += (i ? "," : "") + json::quote(list[i]);
  return j + "]";
}


Result<Prepared> prepare(api::Ctx& ctx, std::string_view raw, const IngestOptions& opts) {
  const auto& o = ctx.core().opts;
  if (raw.size() > o.max_message_bytes)
    return PayloadTooLarge("message is " + std::to_string(raw.size()) + " bytes; the limit is " +
                           std::to_string(o.max_message_bytes));
  email::ParseLimits limits;
  limits.max_message_bytes = o.max_message_bytes;
  limits.max_attachment_bytes = o.max_attachment_bytes;
  Prepared p;
  BX_ASSIGN_OR_RETURN(p.mail, email::parse_email(raw, limits));
  BX_ASSIGN_OR_RETURN(p.raw, ctx.core().blobs->stage(ctx.org(), raw));
  for (const auto& a : p.mail.attachments) {
    BX_ASSIGN_OR_RETURN(auto b, ctx.core().blobs->stage(ctx.org(), a.data));
    p.attachments.push_back(std::move(b));
  }
  TimePoint when = p.mail.date ? *p.mail.date : opts.arrived_at.value_or(ctx.core().clock->now());
  p.date = format_time(when);
  p.tin.message_id = p.mail.message_id;
  p.tin.in_reply_to = p.mail.in_reply_to;
  p.tin.references = p.mail.references;
  p.tin.thread_index = p.mail.thread_index;
  p.tin.subject = p.mail.subject;
  p.tin.date = p.date;
  return p;
}

// What one write transaction has already read or written, so the messages of a batch do not
// ask the database again (see IdentifyCache). Built afresh inside every transaction attempt.
struct TxCache {
  IdentifyCache identify;
  // Threads known to list "email" in their channels: created here, or checked here.
  std::unordered_set<std::string> email_threads;
};

Result<std::optional<std::pair<std::string, std::string>>> find_duplicate(store::Conn& c,
                                                                          api::Ctx& ctx,
                                                                          const Prepared& p) {
  Result<store::Rows> r = p.mail.message_id.empty()
      ? c.query("SELECT id, thread_id FROM messages WHERE org_id = ? AND raw_sha256 = ? "
                "AND message_id IS NULL LIMIT 1", {ctx.org(), p.raw.sha})
      : c.query("SELECT id, thread_id FROM messages WHERE org_id = ? AND message_id = ?",
                {ctx.org(), p.mail.message_id});
  if (!r.ok()) return r.status();
  if (r->empty()) return std::optional<std::pair<std::string, std::string>>();
  return std::optional<std::pair<std::string, std::string>>({r->rows[0].str(0), r->rows[0].str(1)});
}

Status persist(store::Conn& c, api::Ctx& ctx, Prepared& p, const IngestOptions& opts,
               IngestResult& out, TxCache& cache) {
  const std::string& org = ctx.org();
  BX_ASSIGN_OR_RETURN(auto dup, find_duplicate(c, ctx, p));
  if (dup) {
    out.duplicate = true;
    out.message_id = dup->first;
    out.thread_id = dup->second;
    BX_ASSIGN_OR_RETURN(out.message_json, services::message_json(c, ctx, out.message_id));
    return Status();
  }
  BX_ASSIGN_OR_RETURN(const std::set<std::string>* own_set, own_addresses(c, org, cache.identify));
  const std::set<std::string>& own = *own_set;
  const auto& m = p.mail;
  bool outbound = m.from && own.count(m.from->email);
  std::string direction = outbound ? "outbound" : "inbound";

  // Identify every external party; the thread's contact is the sender of inbound mail, or the
  // first external recipient of outbound mail.
  std::optional<ContactRef> party;
  auto identify = [&](const email::Address& a, bool candidate) -> Status {
    if (a.email.empty() || own.count(a.email)) return Status();
    BX_ASSIGN_OR_RETURN(auto ref, contact_for_email(c, ctx, a.email, a.name, &cache.identify));
    if (candidate && !party) party = ref;
    return Status();
  };
  if (m.from) BX_RETURN_IF_ERROR(identify(*m.from, !outbound));
  for (const auto& a : m.to) BX_RETURN_IF_ERROR(identify(a, outbound));
  for (const auto& a : m.cc) BX_RETURN_IF_ERROR(identify(a, outbound));
  if (party) p.tin.contact_id = party->contact_id;

  BX_ASSIGN_OR_RETURN(ThreadDecision d, resolve_thread(c, org, p.tin));
  out.reason = d.reason;
  std::string thread_id;
  if (d.thread_id) {
    thread_id = *d.thread_id;
    if (!d.merge_from.empty()) {
      BX_RETURN_IF_ERROR(merge_threads(c, ctx, thread_id, d.merge_from));
      out.merged = d.merge_from;
    }
  } else {
    thread_id = ctx.new_id();
    out.new_thread = true;
    std::optional<std::string> subject;
    if (!m.subject.empty()) subject = m.subject.substr(0, 998);
    auto r = c.query(
        "INSERT INTO threads (id, org_id, subject, subject_key, status, priority, customer_id, "
        "contact_id, channels, tags, last_activity_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'open', 'normal', ?, ?, '[\"email\"]', '[]', ?, ?, ?)",
        {thread_id, org, store::Value(subject), normalize_subject(m.subject),
         party ? store::Value(party->customer_id) : store::Value(),
         party ? store::Value(party->contact_id) : store::Value(), ctx.now(), p.date, ctx.now()});
    if (!r.ok()) return r.status();
    cache.email_threads.insert(thread_id);  // created with channels ["email"]
  }
  out.thread_id = thread_id;

  std::string id = ctx.new_id();
  out.message_id = id;
  std::string snippet = services::snippet_of(m.new_text.empty() ? m.text : m.new_text);
  std::optional<std::string> warnings;
  if (!m.warnings.empty()) warnings = strings_json(m.warnings);
  auto opt = [](const std::string& s) { return s.empty() ? store::Value() : store::Value(s); };
  // On PostgreSQL, RETURNING gives the row as message_json would read it back, without another
  // round trip. On SQLite a read-back is an in-process index lookup and measured cheaper than
  // RETURNING (which collects its rows in an ephemeral table), so SQLite reads back.
  const bool returning = c.dialect() == store::Dialect::postgres;
  static const std::string insert_message =
      "INSERT INTO messages (id, org_id, thread_id, channel, direction, contact_id, from_addr, "
      "to_addrs, cc_addrs, subject, body_text, body_html, snippet, message_id, in_reply_to, refs, "
      "status, sent_at, created_at, raw_sha256, warnings, channel_account_id, thread_index) "
      "VALUES (?, ?, ?, 'email', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  static const std::string insert_message_returning =
      insert_message + " RETURNING " + services::message_columns();
  auto r = c.query(
      returning ? insert_message_returning : insert_message,
      {id, org, thread_id, direction,
       outbound || !party ? store::Value() : store::Value(party->contact_id),
       m.from ? store::Value(address_json(*m.from)) : store::Value(), addresses_json(m.to),
       addresses_json(m.cc), opt(m.subject), m.text, opt(m.html), snippet, opt(m.message_id),
       opt(m.in_reply_to), strings_json(m.references), outbound ? "sent" : "received", p.date,
       p.date, p.raw.sha, store::Value(warnings), store::Value(opts.channel_account_id),
       opt(m.thread_index)});
  if (!r.ok()) return r.status();
  if (returning) {
    if (r->empty()) return Internal("message insert returned no row");
    out.message_json = services::message_row_json(r->rows[0]);
  } else {
    BX_ASSIGN_OR_RETURN(out.message_json, services::message_json(c, ctx, id));
  }

  // Blobs first-seen rows, then the message's attachments. Nothing reads their results: on
  // PostgreSQL they travel with the next statement (store::Conn::write_deferred).
  store::Blobs& blobs = *ctx.core().blobs;
  BX_RETURN_IF_ERROR(blobs.record(c, org, p.raw, "message/rfc822", ctx.now()));
  for (size_t i = 0; i < m.attachments.size(); ++i) {
    const auto& a = m.attachments[i];
    BX_RETURN_IF_ERROR(blobs.record(c, org, p.attachments[i], a.media_type, ctx.now()));
    BX_RETURN_IF_ERROR(c.write_deferred(
        "INSERT INTO attachments (id, org_id, message_id, blob_sha256, filename, media_type, size, "
        "content_id, is_inline, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {ctx.new_id(), org, id, p.attachments[i].sha, opt(a.filename), a.media_type,
         static_cast<int64_t>(a.data.size()), opt(a.content_id), a.is_inline, ctx.now()}));
  }
  BX_RETURN_IF_ERROR(record_refs(c, org, thread_id, id, p.tin, ctx.now()));
  // Container numbers / AWBs of a shipment already linked to this contact's open threads link
  // this thread too (the subject counts: "Re: MSKU9070323 customs hold").
  if (party)
    BX_RETURN_IF_ERROR(link_shipments_from_text(c, ctx, thread_id, party->contact_id,
                                                m.subject + "\n" + (m.new_text.empty() ? m.text : m.new_text))
                           .status());

  // Thread counters. Preview follows the newest message; an inbound reply reopens the thread.
  // On PostgreSQL RETURNING gives the updated row as thread_json would read it back (see above),
  // and the statement itself decides whether to reopen (another transaction may have resolved
  // the thread since it was found). On SQLite this transaction is the only writer, so the status
  // is read first and written only when it changes: an UPDATE that sets it fires the
  // resolved_at trigger and runs as a two-pass update with temporary tables.
  static const std::string counters =
      "UPDATE threads SET message_count = message_count + 1, unread_count = unread_count + ?, "
      "preview = CASE WHEN last_message_at IS NULL OR last_message_at <= ? THEN ? ELSE preview END, "
      "last_message_at = CASE WHEN last_message_at IS NULL OR last_message_at < ? THEN ? "
      "ELSE last_message_at END, ";
  static const std::string tail = "last_activity_at = ?, updated_at = ? WHERE id = ? AND org_id = ?";
  static const std::string returning_cols = " RETURNING " + services::thread_columns();
  static const std::string update_inbound_returning =
      counters + std::string(kInboundReopensSet) + tail + returning_cols;
  static const std::string update_outbound_returning = counters + tail + returning_cols;
  static const std::string update_thread = counters + tail;
  static const std::string update_thread_reopen = counters + "status = 'open', " + tail;
  const std::string* update = &update_thread;
  if (returning) {
    update = outbound ? &update_outbound_returning : &update_inbound_returning;
  } else if (!outbound && !out.new_thread) {
    BX_ASSIGN_OR_RETURN(auto st, c.query("SELECT status FROM threads WHERE id = ? AND org_id = ?",
                                         {thread_id, org}));
    if (!st.empty() && inbound_reopens(st[0].text(0))) update = &update_thread_reopen;
  }
  auto t = c.query(*update, {outbound ? 0 : 1, p.date, snippet, p.date, p.date, ctx.now(),
                             ctx.now(), thread_id, org});
  if (!t.ok()) return t.status();
  std::optional<std::string> thread_json;
  if (returning && !t->empty()) thread_json = services::thread_row_json(t->rows[0]);
  // Nothing in this transaction removes a channel, so one check per thread is enough.
  if (!cache.email_threads.count(thread_id)) {
    BX_ASSIGN_OR_RETURN(auto ch, c.query("SELECT channels FROM threads WHERE id = ? AND org_id = ?",
                                         {thread_id, org}));
    if (!ch.empty() && ch[0].text(0).find("\"email\"") == std::string_view::npos) {
      std::string chans(ch[0].text(0));
      chans = chans.size() <= 2 ? "[\"email\"]" : chans.substr(0, chans.size() - 1) + ",\"email\"]";
      auto u = c.query("UPDATE threads SET channels = ? WHERE id = ? AND org_id = ?",
                       {chans, thread_id, org});
      if (!u.ok()) return u.status();
      thread_json.reset();  // changed since the RETURNING above: read it again below
    }
    if (!ch.empty()) cache.email_threads.insert(thread_id);
  }
  if (!thread_json) {
    BX_ASSIGN_OR_RETURN(auto tj, services::thread_json(c, ctx, thread_id));
    thread_json = std::move(tj);
  }

  BX_RETURN_IF_ERROR(ctx.event(c, outbound ? "message.created" : "message.received", "message", id,
                               thread_id, out.message_json));
  BX_RETURN_IF_ERROR(ctx.event(c, out.new_thread ? "thread.created" : "thread.updated", "thread",
                               thread_id, thread_id, *thread_json));
  // A reply on a thread someone follows (a new thread has no followers yet).
  if (!outbound && !out.new_thread)
    BX_RETURN_IF_ERROR(services::notify_followers(c, ctx, thread_id, id));
  return ctx.audit(c, "message", id);
}

/// PostgreSQL plans a prepared statement once per connection and keeps that plan until the
/// statistics of its tables change. In a fresh database the statistics describe empty tables,
/// and the duplicate check's plan then picks an index by organization alone: each lookup reads
/// every message of the organization (1 ms per message after 3,000, quadratic over an import)
/// until autovacuum analyzes the table, a minute or more later. So a bulk ingest analyzes the
/// tables it fills whenever messages has doubled since the statistics were taken (from 1,000
/// rows on): a few ANALYZEs over any import. Failure (say, a role without the right) is only
/// logged: the import goes on with autovacuum's statistics.
void analyze_if_grown(api::Ctx& ctx) {
  if (ctx.db().dialect() != store::Dialect::postgres) return;
  auto r = ctx.db().query(
      "SELECT c.reltuples, s.n_live_tup FROM pg_class c JOIN pg_stat_user_tables s ON "
      "s.relid = c.oid WHERE c.oid = 'messages'::regclass",
      {});
  if (!r.ok() || r->empty()) return;
  const double analyzed = std::stod(r->rows[0].str(0));  // -1: never
  const double live = std::stod(r->rows[0].str(1));
  if (live < 1000 || (analyzed > 0 && live < 2 * analyzed)) return;
  Status st = ctx.db().transaction([](store::Conn& c) {
    return c.exec_script("ANALYZE messages, message_refs, threads, contacts, contact_identities");
  });
  if (!st.ok()) spdlog::warn("ingest: ANALYZE after bulk growth failed: {}", st.message());
}

/// The prepared messages of one ingest_email_batch call, in input order. Inline (ahead == 0),
/// make_ready prepares a batch on the calling thread before its transaction. Threaded, a second
/// thread prepares the messages in order while the calling thread writes the earlier ones:
/// parsing is about a third of an import's CPU (docs/PERFORMANCE.md), and the writes cannot run
/// on more than one thread. It stays at most `ahead` messages, and `max_bytes` of raw input,
/// past the first message not yet released (the next message is always allowed), so memory
/// stays bounded whatever the batch size.
class Preparer {
 public:
  Preparer(api::Ctx& ctx, const std::vector<std::string_view>& raws, const IngestOptions& opts,
           size_t ahead, size_t max_bytes)
      : ctx_(ctx), raws_(raws), opts_(opts), slots_(raws.size()), max_bytes_(max_bytes) {
    if (ahead > 0) thread_ = std::thread([this, ahead] { run(ahead); });
  }
  ~Preparer() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Preparer(const Preparer&) = delete;
  Preparer& operator=(const Preparer&) = delete;

  /// Inline: prepares [start, limit). Threaded: waits until `start` is prepared.
  void make_ready(size_t start, size_t limit) {
    if (!thread_.joinable()) {
      for (size_t i = std::max(start, ready_); i < limit; ++i) {
        slots_[i].emplace(guarded(i));
        bytes_ahead_ += raws_[i].size();  // kept in both modes, so release_before balances
      }
      ready_ = std::max(ready_, limit);
      return;
    }
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return ready_ > start; });
  }
  /// Whether message i is prepared (never waits).
  bool ready(size_t i) {
    if (!thread_.joinable()) return ready_ > i;
    std::lock_guard<std::mutex> l(mu_);
    return ready_ > i;
  }
  /// Message i; only after ready(i) or make_ready covered it. The preparing thread writes
  /// later slots only, and the vector never reallocates.
  Result<Prepared>& at(size_t i) { return *slots_[i]; }
  /// Messages before i are stored (or failed): their memory goes, and the thread may go on.
  void release_before(size_t i) {
    for (size_t k = released_; k < i; ++k) slots_[k].reset();
    {
      std::lock_guard<std::mutex> l(mu_);
      for (size_t k = released_; k < i; ++k) bytes_ahead_ -= raws_[k].size();
      released_ = std::max(released_, i);
    }
    cv_.notify_all();
  }

 private:
  Result<Prepared> guarded(size_t i) {
    try {
      return prepare(ctx_, raws_[i], opts_);
    } catch (const std::exception& e) {  // std::bad_alloc on a hostile message, say
      return Internal(std::string("preparing the message failed: ") + e.what());
    }
  }
  void run(size_t ahead) {
    for (size_t i = 0; i < raws_.size(); ++i) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] {
          return stop_ || i == released_ ||
                 (i < released_ + ahead && bytes_ahead_ + raws_[i].size() <= max_bytes_);
        });
        if (stop_) return;
      }
      Result<Prepared> r = guarded(i);
      {
        std::lock_guard<std::mutex> l(mu_);
        slots_[i].emplace(std::move(r));
        ready_ = i + 1;
        bytes_ahead_ += raws_[i].size();
      }
      cv_.notify_all();
    }
  }

  api::Ctx& ctx_;
  const std::vector<std::string_view>& raws_;
  const IngestOptions& opts_;
  std::vector<std::optional<Result<Prepared>>> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t ready_ = 0;     // slots [0, ready_) are prepared
  size_t released_ = 0;  // slots [0, released_) are done with
  const size_t max_bytes_;
  size_t bytes_ahead_ = 0;  // raw bytes of the prepared slots [released_, ready_)
  bool stop_ = false;
  std::thread thread_;  // last: started after every member above exists
};

}  // namespace

Result<IngestResult> ingest_email(api::Ctx& ctx, std::string_view raw, const IngestOptions& opts) {
  BX_ASSIGN_OR_RETURN(Prepared p, prepare(ctx, raw, opts));
  IngestResult out;
  out.warnings = p.mail.warnings;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    TxCache cache;
    return persist(c, ctx, p, opts, out, cache);
  }));
  return out;
}

std::vector<Result<IngestResult>> ingest_email_batch(api::Ctx& ctx,
                                                     const std::vector<std::string_view>& raws,
                                                     size_t batch, const IngestOptions& opts) {
  std::vector<Result<IngestResult>> results;
  results.reserve(raws.size());
  if (batch == 0) batch = 1;
  // A second thread pays off once there is something to overlap: a few messages at least.
  const bool threaded = ctx.core().opts.ingest_parse_thread && raws.size() >= 4;
  // Ahead of the writes: two batches, and at most four messages of the largest allowed size.
  Preparer prep(ctx, raws, opts, threaded ? 2 * batch : 0,
                4 * std::max<size_t>(ctx.core().opts.max_message_bytes, 1));
  size_t start = 0;
  while (start < raws.size()) {
    const size_t limit = std::min(raws.size(), start + batch);
    // Outside the write lock: the whole batch (inline), or its first message (threaded).
    prep.make_ready(start, limit);
    size_t end = start;
    std::vector<IngestResult> outs;
    Status st = ctx.db().transaction([&](store::Conn& c) -> Status {
      TxCache cache;  // per attempt: a retried or rolled-back attempt must not see the last one's
      outs.clear();
      end = start;
      BX_ASSIGN_OR_RETURN(bool deferred, begin_fts_batch(c));
      // Never wait for a parse while holding the write lock: the transaction takes the messages
      // that are prepared, up to a batch, and the next one starts with the rest.
      for (size_t i = start; i < limit && (i == start || prep.ready(i)); ++i) {
        end = i + 1;
        outs.emplace_back();
        Result<Prepared>& p = prep.at(i);
        if (!p.ok()) continue;
        outs.back().warnings = p->mail.warnings;
        BX_RETURN_IF_ERROR(persist(c, ctx, *p, opts, outs.back(), cache));
      }
      return deferred ? end_fts_batch(c) : Status();
    });
    if (st.ok()) {
      analyze_if_grown(ctx);
      for (size_t i = start; i < end; ++i) {
        if (!prep.at(i).ok())
          results.emplace_back(prep.at(i).status());
        else
          results.emplace_back(std::move(outs[i - start]));
      }
    } else {
      // One bad message must not sink its batch: redo this batch one message per transaction.
      // A transaction that failed at its start may have taken nothing: it still covers `start`.
      end = std::max(end, start + 1);
      for (size_t i = start; i < end; ++i) {
        Result<Prepared>& p = prep.at(i);
        if (!p.ok()) {
          results.emplace_back(p.status());
          continue;
        }
        IngestResult one;
        one.warnings = p->mail.warnings;
        Status s = ctx.db().transaction([&](store::Conn& c) -> Status {
          TxCache cache;
          return persist(c, ctx, *p, opts, one, cache);
        });
        if (s.ok())
          results.emplace_back(std::move(one));
        else
          results.emplace_back(s);
      }
    }
    prep.release_before(end);
    start = end;
  }
  return results;
}

}  // namespace banxway::pipeline
