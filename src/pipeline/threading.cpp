#include "pipeline/threading.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "channels/email/subject.hpp"
#include "core/crypto.hpp"
#include "core/env.hpp"

namespace banxway::pipeline {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Removes one leading marker ("Re:", "RE[2]:", "回复：") or bracketed list tag ("[ops]").
bool strip_one(std::string_view& s) {
  s = trim(s);
  if (s.starts_with("[")) {
    auto close = s.find(']');
    if (close != std::string_view::npos && close <= 64) {
      s.remove_prefix(close + 1);
      return true;
    }
  }
  return email::strip_reply_marker(s);
}

std::string lower_ascii(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Follows merged_into so a reference to a thread merged away lands on the surviving thread.
Result<std::optional<std::string>> live_thread(store::Conn& c, const std::string& org,
                                               std::string id) {
  for (int hops = 0; hops < 16; ++hops) {
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT merged_into FROM threads WHERE id = ? AND org_id = ?",
                                        {id, org}));
    if (r.empty()) return std::optional<std::string>();
    if (r[0].is_null(0)) return std::optional<std::string>(id);
    id = r[0].str(0);
  }
  return std::optional<std::string>(id);
}

// refresh_thread_counters' statement; hint: an INDEXED BY clause for messages, or empty.
std::string build_counters_sql(const std::string& hint) {
  const std::string from =
      "FROM messages" + hint + " WHERE org_id = ? AND thread_id = ? AND channel <> 'note'";
  return "UPDATE threads SET message_count = (SELECT COUNT(*) " + from +
         "), last_message_at = (SELECT MAX(created_at) " + from + "), preview = (SELECT snippet " +
         from + " ORDER BY created_at DESC, id DESC LIMIT 1), "
         "updated_at = ?, last_activity_at = ? WHERE id = ? AND org_id = ?";
}

}  // namespace

const char* const kMergeMoveNotificationsSql =
    "UPDATE notifications SET thread_id = ? WHERE org_id = ? AND thread_id = ?";

std::string normalize_subject(std::string_view subject) {
  std::string_view s = subject;
  for (int i = 0; i < 32 && strip_one(s); ++i) {
  }
  std::string out;
  bool space = false;
  for (char ch : trim(s)) {
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(ch);
  }
  return lower_ascii(out);
}

std::string thread_index_key(std::string_view header) {
  std::string raw;
  std::string cleaned;
  for (char c : header)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') cleaned.push_back(c);
  if (!crypto::base64_decode(cleaned, &raw) || raw.size() < 22) return "";
  return "thread-index:" + crypto::hex(raw.substr(0, 22));
}

std::string make_message_id(std::string_view thread_id, std::string_view domain) {
  return "bx." + std::string(thread_id) + "." + crypto::hex(crypto::random_bytes(8)) + "@" +
         std::string(domain.empty() ? "banxway.invalid" : domain);
}

std::optional<std::string> thread_of_own_message_id(std::string_view id) {
  if (!id.starts_with("bx.") || id.size() < 3 + 36 + 1) return std::nullopt;
  std::string_view uuid = id.substr(3, 36);
  if (!is_uuid(uuid) || id[39] != '.') return std::nullopt;
  return lower_ascii(uuid);
}

Result<ThreadDecision> resolve_thread(store::Conn& c, const std::string& org,
                                      const ThreadingInput& in, const ThreadingOptions& opts) {
  // Candidate ids in order of strength.
  struct Candidate {
    std::string ref;
    const char* reason;
    bool header;  // from Message-ID / In-Reply-To / References (can merge threads)
  };
  std::vector<Candidate> cands;
  if (!in.message_id.empty()) cands.push_back({in.message_id, "message-id", true});
  if (!in.in_reply_to.empty()) cands.push_back({in.in_reply_to, "in-reply-to", true});
  for (auto it = in.references.rbegin(); it != in.references.rend(); ++it)
    cands.push_back({*it, "references", true});
  std::string ti = thread_index_key(in.thread_index);
  if (!ti.empty()) cands.push_back({ti, "thread-index", false});

  // ref -> its thread, already followed past a merge when the thread says so. The thread's
  // merged_into comes with the ref (no lookup per ref in the common, unmerged case); a ref
  // whose thread row is missing resolves to nothing, as live_thread would.
  struct Found {
    std::string thread;
    bool exists;
    std::optional<std::string> merged_into;
  };
  std::map<std::string, Found> found;
  for (size_t i = 0; i < cands.size(); i += 100) {
    std::string sql =
        "SELECT r.ref, r.thread_id, t.id IS NOT NULL, t.merged_into FROM message_refs r "
        "LEFT JOIN threads t ON t.id = r.thread_id AND t.org_id = r.org_id "
        "WHERE r.org_id = ? AND r.ref IN (";
    std::vector<store::Value> args{org};
    for (size_t j = i; j < std::min(cands.size(), i + 100); ++j) {
      sql += j == i ? "?" : ",?";
      args.emplace_back(cands[j].ref);
    }
    sql += ")";
    BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
    for (const auto& r : rows) found[r.str(0)] = Found{r.str(1), r.int64(2) != 0, r.opt(3)};
  }

  ThreadDecision d;
  std::set<std::string> header_threads;
  for (const auto& cand : cands) {
    std::optional<std::string> t;
    const char* reason = cand.reason;
    if (auto f = found.find(cand.ref); f != found.end()) {
      const Found& fd = f->second;
      if (fd.exists && !fd.merged_into) t = fd.thread;
      if (fd.merged_into) {
        BX_ASSIGN_OR_RETURN(t, live_thread(c, org, *fd.merged_into));
      }
    } else if (cand.header) {
      // banxway's own ids name their thread even when the sent message's ref row is missing.
      if (auto own = thread_of_own_message_id(cand.ref)) {
        BX_ASSIGN_OR_RETURN(t, live_thread(c, org, *own));
        reason = "own-id";
      }
    }
    if (!t) continue;
    if (cand.header) header_threads.insert(*t);
    if (!d.thread_id) {
      d.thread_id = *t;
      d.reason = reason;
    }
  }
  if (d.thread_id) {
    for (const auto& t : header_threads)
      if (t != *d.thread_id) d.merge_from.push_back(t);
    return d;
  }

  // Subject fallback: same external contact, same normalized subject, recent enough. Reached
  // only when no reference resolved, so no reference points elsewhere. "Recent" compares
  // message dates (the thread's newest message, or its last activity when it has none yet),
  // not the wall clock of ingest: an import of old mail keeps the same window as live mail.
  // The ORDER BY is an expression on purpose: no (contact, activity) index can serve it, so the
  // planner takes threads_subject_key (three equalities) instead of scanning every thread of
  // the contact by activity, which grew with the contact's history (a contact with 20,000
  // threads made each message of an import cost milliseconds).
  std::string key = normalize_subject(in.subject);
  TimePoint when;
  if (in.contact_id && !key.empty() && parse_time(in.date, &when)) {
    auto window = std::chrono::hours(24 * opts.subject_window_days);
    BX_ASSIGN_OR_RETURN(
        auto rows,
        c.query("SELECT id FROM threads WHERE org_id = ? AND contact_id = ? AND subject_key = ? "
                "AND merged_into IS NULL AND COALESCE(last_message_at, last_activity_at) >= ? "
                "AND created_at <= ? "
                "ORDER BY COALESCE(last_message_at, last_activity_at) DESC, id DESC LIMIT 1",
                {org, *in.contact_id, key, format_time(when - window), format_time(when + window)}));
    if (!rows.empty()) {
      d.thread_id = rows[0].str(0);
      d.reason = "subject";
      return d;
    }
  }
  d.reason = "new";
  return d;
}

Status record_refs(store::Conn& c, const std::string& org, const std::string& thread_id,
                   const std::string& message_row_id, const ThreadingInput& in,
                   const std::string& now) {
  if (!in.message_id.empty()) {
    // A ghost left by an earlier reply becomes the real message. These writes' results are
    // not read: on PostgreSQL they travel with the next statement.
    BX_RETURN_IF_ERROR(c.write_deferred(
        "INSERT INTO message_refs (org_id, ref, message_id, thread_id, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, ref) DO UPDATE SET "
        "message_id = excluded.message_id, thread_id = excluded.thread_id",
        {org, in.message_id, message_row_id, thread_id, now}));
  }
  std::vector<std::string> ghosts(in.references.begin(), in.references.end());
  if (!in.in_reply_to.empty()) ghosts.push_back(in.in_reply_to);
  std::string ti = thread_index_key(in.thread_index);
  if (!ti.empty()) ghosts.push_back(ti);
  // Ghosts for ids not seen yet, several rows per statement (one round trip on PostgreSQL
  // instead of one per id). Rows of a chunk that exist already, or repeat an earlier row of
  // the same chunk, are skipped by DO NOTHING exactly as one statement per row skipped them.
  // Chunks of 8 rows (the last one shorter) keep the set of distinct statements small.
  constexpr size_t kChunk = 8;
  std::vector<const std::string*> todo;
  todo.reserve(ghosts.size());
  for (const auto& g : ghosts)
    if (g != in.message_id) todo.push_back(&g);
  for (size_t i = 0; i < todo.size(); i += kChunk) {
    const size_t n = std::min(kChunk, todo.size() - i);
    std::string sql = "INSERT INTO message_refs (org_id, ref, message_id, thread_id, created_at) VALUES ";
    std::vector<store::Value> args;
    args.reserve(4 * n);
    for (size_t j = 0; j < n; ++j) {
      sql += j ? ", (?, ?, NULL, ?, ?)" : "(?, ?, NULL, ?, ?)";
      args.emplace_back(org);
      args.emplace_back(*todo[i + j]);
      args.emplace_back(thread_id);
      args.emplace_back(now);
    }
    sql += " ON CONFLICT (org_id, ref) DO NOTHING";
    BX_RETURN_IF_ERROR(c.write_deferred(sql, args));
  }
  return Status();
}

const std::string& thread_counters_sql(store::Dialect dialect) {
  // SQLite has no statistics (nothing runs ANALYZE), and without them it preferred the
  // covering index messages_org_created_dir, seeking the organization alone, for the count
  // and the maximum: every message of the organization (0.15 s warm, 3.5 s cold at 1M
  // messages) in each merge, including those ingest makes, and each split. INDEXED BY holds
  // it to the thread's own index. PostgreSQL plans from its statistics and needs no hint.
  static const std::string sqlite = build_counters_sql(" INDEXED BY messages_thread");
  static const std::string postgres = build_counters_sql("");
  return dialect == store::Dialect::sqlite ? sqlite : postgres;
}

Status refresh_thread_counters(store::Conn& c, const std::string& org,
                               const std::string& thread_id, const std::string& now) {
  // Preview and last_message_at from the newest non-note message; a thread left without
  // messages keeps neither.
  auto r = c.query(thread_counters_sql(c.dialect()),
                   {org, thread_id, org, thread_id, org, thread_id, now, now, thread_id, org});
  if (!r.ok()) return r.status();
  r = c.query("UPDATE threads SET unread_count = message_count WHERE id = ? AND org_id = ? AND "
              "unread_count > message_count",
              {thread_id, org});
  return r.status();
}

Status merge_threads(store::Conn& c, api::Ctx& ctx, const std::string& target,
                     const std::vector<std::string>& sources) {
  const std::string& org = ctx.org();
  for (const auto& src : sources) {
    if (src == target) continue;
    for (const char* sql : {
             "UPDATE messages SET thread_id = ? WHERE org_id = ? AND thread_id = ?",
             "UPDATE message_refs SET thread_id = ? WHERE org_id = ? AND thread_id = ?",
             "UPDATE actions SET thread_id = ? WHERE org_id = ? AND thread_id = ?",
         }) {
      auto r = c.query(sql, {target, org, src});
      if (!r.ok()) return r.status();
    }
    // Rows keyed by thread (tags, shipment links, followers): copied unless the target has
    // them already, then removed from the source.
    for (const char* table : {"thread_tags", "thread_shipments", "thread_followers"}) {
      std::string t(table);
      std::string cols = t == "thread_tags"        ? "tag_id"
                         : t == "thread_shipments" ? "shipment_id, created_at"
                                                   : "user_id, created_at";
      auto r = c.query("INSERT INTO " + t + " (org_id, thread_id, " + cols + ") SELECT org_id, ?, " +
                           cols + " FROM " + t + " WHERE org_id = ? AND thread_id = ? " +
                           "ON CONFLICT DO NOTHING",
                       {target, org, src});
      if (!r.ok()) return r.status();
      r = c.query("DELETE FROM " + t + " WHERE org_id = ? AND thread_id = ?", {org, src});
      if (!r.ok()) return r.status();
    }
    auto r = c.query(kMergeMoveNotificationsSql, {target, org, src});
    if (!r.ok()) return r.status();
    // Channels: the union of both lists; unread messages stay unread in the survivor.
    BX_ASSIGN_OR_RETURN(auto both, c.query("SELECT id, channels, unread_count FROM threads WHERE "
                                           "org_id = ? AND id IN (?, ?)",
                                           {org, target, src}));
    std::set<std::string> channels;
    int64_t unread = 0;
    for (const auto& row : both) {
      json::Document d;
      if (json::parse(row.text(1), &d).ok() && d.IsArray())
        for (auto& v : d.GetArray())
          if (v.IsString()) channels.insert(v.GetString());
      unread += row.int64(2);
    }
    std::string cj = "[";
    for (const auto& ch : channels) cj += (cj.size() > 1 ? "," : "") + json::quote(ch);
    cj += "]";
    r = c.query("UPDATE threads SET channels = ?, unread_count = ? WHERE id = ? AND org_id = ?",
                {cj, unread, target, org});
    if (!r.ok()) return r.status();
    r = c.query(
        "UPDATE threads SET merged_into = ?, status = 'closed', message_count = 0, "
        "unread_count = 0, tags = '[]', updated_at = ? WHERE id = ? AND org_id = ?",
        {target, ctx.now(), src, org});
    if (!r.ok()) return r.status();
  }
  // The survivor's counters and tags, from what it now holds.
  BX_RETURN_IF_ERROR(refresh_thread_counters(c, org, target, ctx.now()));
  BX_ASSIGN_OR_RETURN(auto tags, c.query("SELECT g.name FROM thread_tags tt JOIN tags g ON g.id = tt.tag_id "
                                         "WHERE tt.org_id = ? AND tt.thread_id = ? ORDER BY g.name",
                                         {org, target}));
  std::string tj = "[";
  for (size_t i = 0; i < tags.size(); ++i) tj += (i ? "," : "") + json::quote(tags[i].text(0));
  tj += "]";
  auto r = c.query("UPDATE threads SET tags = ? WHERE id = ? AND org_id = ?", {tj, target, org});
  if (!r.ok()) return r.status();
  for (const auto& src : sources) {
    if (src == target) continue;
    std::string data = "{\"thread_id\":" + json::quote(target) + ",\"merged_thread_id\":" +
                       json::quote(src) + "}";
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.merged", "thread", src, target, data));
  }
  return Status();
}

}  // namespace banxway::pipeline
