#include "compose/context.hpp"

#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_set>

#include "analysis/classify.hpp"
#include "channels/email/quote.hpp"
#include "core/json.hpp"
#include "services/contacts.hpp"
#include "services/shipment_refs.hpp"
#include "services/sla.hpp"

namespace banxway::compose {
namespace {

using json::key;
using json::write_opt;
using json::write_str;

bool is_word_char(unsigned char ch) { return std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-' || ch == '+'; }

// Documents a shipment of each mode normally needs before it can move (docs/COMPOSE.md).
std::vector<std::string> expected_documents(std::string_view mode) {
  if (mode == "ocean") return {"bill_of_lading", "invoice", "packing_list"};
  return {"invoice", "packing_list"};
}

const char* kMilestoneOrder[] = {"booked",     "picked_up",    "gate_in",
                                 "loaded",     "departed",     "transshipped",
                                 "arrived",    "customs_cleared", "delivered"};
int milestone_rank(std::string_view k) {
  for (int i = 0; i < 9; ++i)
    if (k == kMilestoneOrder[i]) return i;
  return 9;
}

void write_source(json::Writer& w, std::string_view type, std::string_view id) {
  key(w, "source");
  w.StartObject();
  json::field(w, "type", type);
  json::field(w, "id", id);
  w.EndObject();
}

void write_str_array(json::Writer& w, const std::vector<std::string>& v) {
  w.StartArray();
  for (const auto& s : v) write_str(w, s);
  w.EndArray();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// Words that say nothing about what a message is about.
const std::unordered_set<std::string>& stop_words() {
  static const std::unordered_set<std::string> s = {
      "the", "and", "for", "you", "your", "our", "are", "was", "were", "with", "this", "that",
      "have", "has", "had", "will", "would", "could", "should", "can", "please", "kindly",
      "thanks", "thank", "regards", "best", "dear", "team", "hello", "from", "sent", "not",
      "but", "all", "any", "let", "know", "also", "what", "when", "where", "which", "who",
      "there", "here", "they", "them", "their", "been", "being", "into", "about", "just",
      "some", "more", "than", "then", "its", "it's", "i'm", "we're", "per", "via", "out",
      "get", "got", "may", "need", "shall", "does", "did", "done", "how", "why", "one",
      "two", "today", "tomorrow", "yesterday", "asap", "subject", "mail", "email", "attached"};
  return s;
}

// Up to `n` distinctive words of a text (longest first among the non-stop words), for the
// similar-replies search.
std::vector<std::string> search_terms(std::string_view text, size_t n) {
  std::map<std::string, int> seen;
  size_t i = 0;
  while (i < text.size() && seen.size() < 400) {
    while (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    if (j - i >= 4 && j - i <= 24) {
      std::string w = lower(text.substr(i, j - i));
      if (!stop_words().count(w)) seen[w] += 1;
    }
    i = j;
  }
  std::vector<std::pair<std::string, int>> v(seen.begin(), seen.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    if (a.first.size() != b.first.size()) return a.first.size() > b.first.size();
    return a.first < b.first;
  });
  std::vector<std::string> out;
  for (size_t k = 0; k < v.size() && out.size() < n; ++k) out.push_back(v[k].first);
  return out;
}

struct Similar {
  std::string inbound_id, reply_id, thread_id, text, at;
  int score = 0;
};

// Replies the organization sent to inbound messages that share words with this one: the newest
// 100 inbound messages of other threads matching any of the terms, each with the id of the next
// outbound message in its thread (one correlated probe per candidate inside the database, not a
// round trip each); those answered are scored by how many terms they contain, and the best
// replies' texts are read in one more query.
Result<std::vector<Similar>> similar_replies(store::Conn& c, const std::string& org,
                                             const std::string& thread_id,
                                             const std::vector<std::string>& terms, int want) {
  std::vector<Similar> out;
  if (terms.empty() || want <= 0) return out;
  const char* reply =
      "(SELECT r.id FROM messages r WHERE r.org_id = m.org_id AND r.thread_id = m.thread_id AND "
      "r.direction = 'outbound' AND r.created_at > m.created_at ORDER BY r.created_at LIMIT 1)";
  store::Rows cand;
  std::string q;
  const bool sqlite = c.dialect() == store::Dialect::sqlite;
  for (const auto& t : terms) {
    if (!q.empty()) q += sqlite ? " OR " : " | ";
    q += sqlite ? "\"" + t + "\"" : t;  // letters only (search_terms): nothing to escape
  }
  if (sqlite) {
    BX_ASSIGN_OR_RETURN(cand, c.query(std::string("SELECT m.id, m.thread_id, m.body_text, ") + reply +
                                          " FROM messages_fts JOIN messages m ON m.rowid = "
                                          "messages_fts.rowid WHERE messages_fts MATCH ? AND "
                                          "m.org_id = ? AND m.direction = 'inbound' AND "
                                          "m.thread_id <> ? ORDER BY messages_fts.rowid DESC LIMIT 100",
                                      {q, org, thread_id}));
  } else {
    BX_ASSIGN_OR_RETURN(cand, c.query(std::string("SELECT m.id, m.thread_id, m.body_text, ") + reply +
                                          " FROM messages m WHERE m.org_id = ? AND "
                                          "m.search @@ to_tsquery('simple', ?) AND "
                                          "m.direction = 'inbound' AND m.thread_id <> ? "
                                          "ORDER BY m.created_at DESC LIMIT 100",
                                      {org, q, thread_id}));
  }
  std::vector<Similar> scored;
  for (const auto& r : cand) {
    if (r.is_null(3)) continue;  // never answered
    std::string body = lower(r.text(2));
    int score = 0;
    for (const auto& t : terms)
      if (body.find(t) != std::string::npos) ++score;
    scored.push_back(Similar{r.str(0), r.str(3), r.str(1), "", "", score});
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const Similar& a, const Similar& b) { return a.score > b.score; });
  std::set<std::string> threads_used;
  std::string ids;
  std::vector<store::Value> args{org};
  for (auto& s : scored) {
    if (static_cast<int>(out.size()) >= want) break;
    if (!threads_used.insert(s.thread_id).second) continue;
    ids += ids.empty() ? "?" : ", ?";
    args.emplace_back(s.reply_id);
    out.push_back(std::move(s));
  }
  if (out.empty()) return out;
  BX_ASSIGN_OR_RETURN(auto texts, c.query("SELECT id, body_text, created_at FROM messages WHERE "
                                          "org_id = ? AND id IN (" + ids + ")",
                                          args));
  for (auto& s : out)
    for (const auto& t : texts)
      if (t.text(0) == s.reply_id) {
        s.text = email::split_reply(t.text(1)).new_text;
        if (s.text.size() > 1200) s.text.resize(1200);
        s.at = t.str(2);
      }
  return out;
}

}  // namespace

std::string redact(std::string_view text, const std::string& region) {
  // E-mail addresses first (so the digits of one are not mistaken for a phone number).
  std::string s;
  s.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t at = text.find('@', i);
    if (at == std::string_view::npos) break;
    size_t b = at;
    while (b > i && is_word_char(static_cast<unsigned char>(text[b - 1]))) --b;
    size_t e = at + 1;
    while (e < text.size() && (is_word_char(static_cast<unsigned char>(text[e])))) ++e;
    while (e > at + 1 && text[e - 1] == '.') --e;
    std::string_view domain = text.substr(at + 1, e - at - 1);
    if (b < at && domain.find('.') != std::string_view::npos) {
      s.append(text.substr(i, b - i));
      s += "[email]";
    } else {
      s.append(text.substr(i, e - i));
    }
    i = e;
  }
  s.append(text.substr(i));
  // Phone numbers, as libphonenumber finds them (valid numbers only).
  using i18n::phonenumbers::PhoneNumberMatch;
  using i18n::phonenumbers::PhoneNumberMatcher;
  PhoneNumberMatcher m(s, region.empty() ? std::string("IN") : region);
  std::string out;
  size_t pos = 0;
  PhoneNumberMatch match;
  while (m.HasNext() && m.Next(&match)) {
    size_t start = static_cast<size_t>(match.start());
    size_t len = static_cast<size_t>(match.length());
    if (start < pos || start + len > s.size()) continue;
    std::string raw = s.substr(start, len);
    // An 11-digit AWB or a container number is a reference, not a phone number.
    if (services::valid_awb(raw) || services::valid_container(raw)) continue;
    out.append(s, pos, start - pos);
    out += "[phone]";
    pos = start + len;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

Result<Context> build_context(api::Ctx& ctx, store::Conn& c, const std::string& thread_id,
                              const ContextOptions& opt) {
  Context cx;
  const std::string& org = ctx.org();
  BX_ASSIGN_OR_RETURN(auto th, c.query("SELECT id, subject, status, priority, contact_id, "
                                       "customer_id, channels, can_reply_freely_until, merged_into, "
                                       "message_count FROM threads WHERE id = ? AND org_id = ?",
                                       {thread_id, org}));
  if (th.empty()) return NotFound("thread " + thread_id + " not found");
  if (!th[0].is_null(8)) {
    // A merged thread's conversation continues in the thread it was merged into.
    std::string into = th[0].str(8);
    BX_ASSIGN_OR_RETURN(th, c.query("SELECT id, subject, status, priority, contact_id, customer_id, "
                                    "channels, can_reply_freely_until, merged_into, message_count "
                                    "FROM threads WHERE id = ? AND org_id = ?",
                                    {into, org}));
    if (th.empty()) return NotFound("thread " + into + " not found");
  }
  const store::Row& t = th[0];
  cx.thread_id = t.str(0);
  cx.subject = t.str(1);
  std::optional<std::string> contact_id = t.opt(4), customer_id = t.opt(5);
  cx.messages_total = static_cast<int>(t.is_null(9) ? 0 : t.int64(9));

  // Organization: name, tone, signature, region (for redaction).
  BX_ASSIGN_OR_RETURN(auto orow, c.query("SELECT name, settings FROM organizations WHERE id = ?", {org}));
  std::string region = "IN";
  bool redacting = opt.redact.value_or(false);
  if (!orow.empty()) {
    cx.org_name = orow[0].str(0);
    json::Document s;
    if (json::parse(orow[0].text(1), &s).ok() && s.IsObject()) {
      if (auto v = json::get_string(s, "tone")) cx.tone = std::string(*v);
      if (auto v = json::get_string(s, "signature")) cx.signature = std::string(*v);
      if (auto v = json::get_string(s, "default_region")) region = std::string(*v);
      if (!opt.redact) redacting = json::get_bool(s, "ai_redact").value_or(false);
    }
  }
  if (!ctx.who().user_id.empty()) {
    BX_ASSIGN_OR_RETURN(auto u, c.query("SELECT name FROM users WHERE id = ? AND org_id = ?",
                                        {ctx.who().user_id, org}));
    if (!u.empty() && !u[0].is_null(0)) cx.user_name = u[0].str(0);
  }
  auto clean = [&](std::string_view text) {
    return redacting ? redact(text, region) : std::string(text);
  };

  // Messages, newest first (notes stay internal: they are never offered to a draft).
  BX_ASSIGN_OR_RETURN(auto msgs, c.query("SELECT id, direction, channel, from_addr, subject, "
                                         "body_text, created_at FROM messages WHERE org_id = ? AND "
                                         "thread_id = ? AND direction IN ('inbound','outbound') "
                                         "ORDER BY created_at DESC, id DESC LIMIT 50",
                                         {org, cx.thread_id}));
  std::vector<ContextMessage> newest_first;
  for (const auto& m : msgs) {
    ContextMessage cm{m.str(0), m.str(1), m.str(2), m.str(3), m.str(6), ""};
    cm.text = email::split_reply(m.text(5)).new_text;
    if (cm.text.size() > 4000) cm.text = cm.text.substr(0, 4000) + " …";
    if (cx.last_inbound_text.empty() && cm.direction == "inbound") {
      cx.last_inbound_text = cm.text;
      cx.last_inbound_subject = m.str(4);
      cx.channel = cm.channel;
    }
    cm.text = clean(cm.text);
    cm.from = clean(cm.from);
    newest_first.push_back(std::move(cm));
  }
  if (cx.channel.empty() && !newest_first.empty()) cx.channel = newest_first.front().channel;
  if (cx.channel.empty()) {
    json::Document ch;
    if (json::parse(t.text(6), &ch).ok() && ch.IsArray() && ch.Size() > 0 && ch[0].IsString())
      cx.channel = ch[0].GetString();
    else
      cx.channel = "email";
  }
  if (!cx.last_inbound_text.empty()) {
    auto cls = analysis::classify(cx.last_inbound_subject, cx.last_inbound_text);
    cx.language = cls.language == "und" ? "en" : cls.language;
    cx.intent = cls.intent;
    cx.requested_documents = cls.requested_documents;
  }
  if (!t.is_null(7)) {
    cx.whatsapp_until = t.str(7);
    cx.whatsapp_open = *cx.whatsapp_until > ctx.now();
  }

  // Contact and customer.
  std::string contact_json = "null", customer_json = "null";
  if (contact_id) {
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT id, name, title FROM contacts WHERE id = ? AND org_id = ?",
                                        {*contact_id, org}));
    if (!r.empty()) {
      cx.contact_name = r[0].is_null(1) ? "" : r[0].str(1);
      BX_ASSIGN_OR_RETURN(auto ids, c.query("SELECT kind, value FROM contact_identities WHERE "
                                            "contact_id = ? AND org_id = ? ORDER BY kind, value LIMIT 6",
                                            {*contact_id, org}));
      rapidjson::StringBuffer b;
      json::Writer w(b);
      w.StartObject();
      json::field(w, "id", r[0].text(0));
      json::field_opt(w, "name", r[0].opt(1));
      json::field_opt(w, "title", r[0].opt(2));
      key(w, "identities");
      w.StartArray();
      for (const auto& i : ids) {
        w.StartObject();
        json::field(w, "kind", i.text(0));
        json::field(w, "value", clean(i.text(1)));
        w.EndObject();
      }
      w.EndArray();
      write_source(w, "contact", r[0].text(0));
      w.EndObject();
      contact_json = b.GetString();
    }
  }
  if (customer_id) {
    BX_ASSIGN_OR_RETURN(auto r, c.query(
        "SELECT c.id, c.name, c.tier, c.account_manager_id, u.name, "
        "(SELECT COUNT(*) FROM threads t WHERE t.org_id = c.org_id AND t.customer_id = c.id AND "
        " t.status IN ('open','pending','snoozed') AND t.merged_into IS NULL) "
        "FROM customers c LEFT JOIN users u ON u.id = c.account_manager_id "
        "WHERE c.id = ? AND c.org_id = ?",
        {*customer_id, org}));
    if (!r.empty()) {
      cx.customer_name = r[0].str(1);
      rapidjson::StringBuffer b;
      json::Writer w(b);
      w.StartObject();
      json::field(w, "id", r[0].text(0));
      json::field(w, "name", r[0].text(1));
      json::field_opt(w, "tier", r[0].opt(2));
      key(w, "account_manager");
      if (r[0].is_null(3)) {
        w.Null();
      } else {
        w.StartObject();
        json::field(w, "id", r[0].text(3));
        json::field_opt(w, "name", r[0].opt(4));
        w.EndObject();
      }
      json::field_int(w, "open_threads", r[0].int64(5));
      write_source(w, "customer", r[0].text(0));
      w.EndObject();
      customer_json = b.GetString();
    }
  }

  // Linked shipments (the newest five links), with references, milestones and documents.
  BX_ASSIGN_OR_RETURN(auto ships, c.query("SELECT s.id, s.mode, s.status, s.origin, s.destination, "
                                          "s.etd, s.eta FROM thread_shipments ts JOIN shipments s "
                                          "ON s.id = ts.shipment_id AND s.org_id = ts.org_id "
                                          "WHERE ts.org_id = ? AND ts.thread_id = ? "
                                          "ORDER BY ts.created_at DESC LIMIT 5",
                                          {org, cx.thread_id}));
  for (const auto& s : ships) {
    ShipmentFacts f;
    f.id = s.str(0);
    f.mode = s.str(1);
    f.status = s.str(2);
    f.origin = s.str(3);
    f.destination = s.str(4);
    f.etd = s.str(5);
    f.eta = s.str(6);
    BX_ASSIGN_OR_RETURN(auto refs, c.query("SELECT kind, value FROM shipment_references WHERE "
                                           "org_id = ? AND shipment_id = ? ORDER BY kind, value",
                                           {org, f.id}));
    for (const auto& r : refs) {
      f.references.emplace_back(r.str(0), r.str(1));
      cx.known_refs.insert(r.str(1));
    }
    BX_ASSIGN_OR_RETURN(auto ms, c.query("SELECT kind, planned_at, actual_at, location FROM "
                                         "shipment_milestones WHERE org_id = ? AND shipment_id = ?",
                                         {org, f.id}));
    for (const auto& m : ms) f.milestones.push_back({m.str(0), m.str(1), m.str(2), m.str(3)});
    std::sort(f.milestones.begin(), f.milestones.end(), [](const auto& a, const auto& b) {
      return milestone_rank(a.kind) < milestone_rank(b.kind);
    });
    BX_ASSIGN_OR_RETURN(auto docs, c.query("SELECT DISTINCT kind FROM shipment_documents WHERE "
                                           "org_id = ? AND shipment_id = ? AND deleted_at IS NULL "
                                           "ORDER BY kind",
                                           {org, f.id}));
    for (const auto& d : docs) f.documents_present.push_back(d.str(0));
    for (const auto& k : expected_documents(f.mode))
      if (std::find(f.documents_present.begin(), f.documents_present.end(), k) ==
          f.documents_present.end())
        f.documents_missing.push_back(k);
    cx.shipments.push_back(std::move(f));
  }

  // Open actions on the thread.
  BX_ASSIGN_OR_RETURN(auto acts, c.query("SELECT id, type, title, due_at, status FROM actions "
                                         "WHERE org_id = ? AND thread_id = ? AND status IN "
                                         "('open','in_progress') ORDER BY created_at LIMIT 10",
                                         {org, cx.thread_id}));
  for (const auto& a : acts) cx.open_action_titles.push_back(a.str(2));

  // SLA state.
  std::string sla_json = "null";
  {
    BX_ASSIGN_OR_RETURN(auto sla, services::thread_sla_json(c, org, {cx.thread_id}));
    if (auto it = sla.find(cx.thread_id); it != sla.end()) sla_json = it->second;
  }

  // Similar past replies.
  std::vector<Similar> similar;
  if (opt.similar > 0 && !cx.last_inbound_text.empty()) {
    auto terms = search_terms(cx.last_inbound_subject + " " + cx.last_inbound_text, 6);
    BX_ASSIGN_OR_RETURN(similar, similar_replies(c, org, cx.thread_id, terms, opt.similar));
  }

  // The budget: facts first (small), similar replies up to a quarter, messages get the rest,
  // newest first; the newest message is always kept (cut to fit when it alone is too big).
  int budget = std::max(200, opt.max_tokens);
  rapidjson::StringBuffer fb;
  {
    json::Writer w(fb);
    w.StartArray();
    for (const auto& f : cx.shipments) {
      w.StartObject();
      json::field(w, "id", f.id);
      json::field(w, "mode", f.mode);
      json::field(w, "status", f.status);
      json::field(w, "origin", f.origin);
      json::field(w, "destination", f.destination);
      json::field(w, "etd", f.etd);
      json::field(w, "eta", f.eta);
      key(w, "references");
      w.StartArray();
      for (const auto& [k, v] : f.references) {
        w.StartObject();
        json::field(w, "kind", k);
        json::field(w, "value", v);
        w.EndObject();
      }
      w.EndArray();
      key(w, "milestones");
      w.StartArray();
      for (const auto& m : f.milestones) {
        w.StartObject();
        json::field(w, "kind", m.kind);
        key(w, "planned_at");
        if (m.planned_at.empty()) w.Null(); else write_str(w, m.planned_at);
        key(w, "actual_at");
        if (m.actual_at.empty()) w.Null(); else write_str(w, m.actual_at);
        key(w, "location");
        if (m.location.empty()) w.Null(); else write_str(w, m.location);
        w.EndObject();
      }
      w.EndArray();
      key(w, "documents");
      w.StartObject();
      key(w, "present");
      write_str_array(w, f.documents_present);
      key(w, "missing");
      write_str_array(w, f.documents_missing);
      w.EndObject();
      write_source(w, "shipment", f.id);
      w.EndObject();
    }
    w.EndArray();
  }
  std::string shipments_json = fb.GetString();
  rapidjson::StringBuffer ab;
  {
    json::Writer w(ab);
    w.StartArray();
    for (const auto& a : acts) {
      w.StartObject();
      json::field(w, "id", a.text(0));
      json::field(w, "type", a.text(1));
      json::field(w, "title", a.text(2));
      json::field_opt(w, "due_at", a.opt(3));
      json::field(w, "status", a.text(4));
      write_source(w, "action", a.text(0));
      w.EndObject();
    }
    w.EndArray();
  }
  std::string actions_json = ab.GetString();
  int used = estimate_tokens(shipments_json.size() + actions_json.size() + contact_json.size() +
                             customer_json.size() + sla_json.size() + cx.subject.size() + 200);
  std::vector<Similar> kept_similar;
  int similar_budget = budget / 4;
  for (auto& s : similar) {
    s.text = clean(s.text);
    int cost = estimate_tokens(s.text.size() + 80);
    if (cost > similar_budget) break;
    similar_budget -= cost;
    used += cost;
    kept_similar.push_back(std::move(s));
  }
  std::vector<ContextMessage> kept;
  for (size_t i = 0; i < newest_first.size(); ++i) {
    auto& m = newest_first[i];
    int cost = estimate_tokens(m.text.size() + m.from.size() + 60);
    if (used + cost > budget) {
      if (i == 0) {
        size_t room = static_cast<size_t>(std::max(0, budget - used - 20)) * 4;
        m.text = m.text.substr(0, room) + " …";
        used += estimate_tokens(m.text.size() + m.from.size() + 60);
        kept.push_back(std::move(m));
      }
      break;
    }
    used += cost;
    kept.push_back(std::move(m));
  }
  cx.messages_trimmed = std::max(0, cx.messages_total - static_cast<int>(kept.size()));
  std::reverse(kept.begin(), kept.end());
  cx.messages = std::move(kept);
  cx.tokens = used;

  // Facts the guardrail accepts: every included record's text.
  for (const auto& m : cx.messages) cx.facts_text += m.text + "\n";
  cx.facts_text += shipments_json + "\n" + actions_json + "\n" + cx.subject + "\n";

  // The whole context as JSON.
  rapidjson::StringBuffer b;
  json::Writer w(b);
  w.StartObject();
  key(w, "thread");
  w.StartObject();
  json::field(w, "id", cx.thread_id);
  json::field(w, "subject", cx.subject);
  json::field(w, "status", t.text(2));
  json::field(w, "priority", t.text(3));
  json::field(w, "channel", cx.channel);
  write_source(w, "thread", cx.thread_id);
  w.EndObject();
  json::field(w, "language", cx.language);
  json::field(w, "intent", cx.intent);
  key(w, "messages");
  w.StartArray();
  for (const auto& m : cx.messages) {
    w.StartObject();
    json::field(w, "id", m.id);
    json::field(w, "direction", m.direction);
    json::field(w, "channel", m.channel);
    json::field(w, "from", m.from);
    json::field(w, "at", m.at);
    json::field(w, "text", m.text);
    write_source(w, "message", m.id);
    w.EndObject();
  }
  w.EndArray();
  key(w, "contact");
  json::write_raw(w, contact_json);
  key(w, "customer");
  json::write_raw(w, customer_json);
  key(w, "shipments");
  json::write_raw(w, shipments_json);
  key(w, "actions");
  json::write_raw(w, actions_json);
  key(w, "sla");
  json::write_raw(w, sla_json);
  key(w, "whatsapp_window");
  w.StartObject();
  key(w, "open");
  w.Bool(cx.whatsapp_open);
  json::field_opt(w, "until", cx.whatsapp_until);
  write_source(w, "thread", cx.thread_id);
  w.EndObject();
  key(w, "organization");
  w.StartObject();
  json::field(w, "name", cx.org_name);
  json::field(w, "tone", cx.tone);
  json::field(w, "signature", cx.signature);
  write_source(w, "organization", org);
  w.EndObject();
  key(w, "similar_replies");
  w.StartArray();
  for (const auto& s : kept_similar) {
    w.StartObject();
    json::field(w, "message_id", s.reply_id);
    json::field(w, "thread_id", s.thread_id);
    json::field(w, "in_reply_to_message_id", s.inbound_id);
    json::field_int(w, "score", s.score);
    json::field(w, "text", s.text);
    write_source(w, "message", s.reply_id);
    w.EndObject();
  }
  w.EndArray();
  key(w, "budget");
  w.StartObject();
  json::field_int(w, "max_tokens", budget);
  json::field_int(w, "used_tokens", used);
  json::field_int(w, "messages_total", cx.messages_total);
  json::field_int(w, "messages_included", static_cast<int>(cx.messages.size()));
  json::field_int(w, "messages_trimmed", cx.messages_trimmed);
  w.EndObject();
  key(w, "redacted");
  w.Bool(redacting);
  w.EndObject();
  cx.json = b.GetString();

  // The summary for the "context" stream event.
  {
    rapidjson::StringBuffer sb;
    json::Writer sw(sb);
    sw.StartObject();
    json::field(sw, "thread_id", cx.thread_id);
    json::field(sw, "channel", cx.channel);
    json::field(sw, "language", cx.language);
    json::field(sw, "intent", cx.intent);
    json::field_int(sw, "messages_included", static_cast<int>(cx.messages.size()));
    json::field_int(sw, "messages_total", cx.messages_total);
    key(sw, "shipments");
    sw.StartArray();
    for (const auto& f : cx.shipments) write_str(sw, f.id);
    sw.EndArray();
    key(sw, "references");
    sw.StartArray();
    for (const auto& r : cx.known_refs) write_str(sw, r);
    sw.EndArray();
    json::field_int(sw, "similar_replies", static_cast<int>(kept_similar.size()));
    json::field_int(sw, "tokens", used);
    sw.EndObject();
    cx.summary_json = sb.GetString();
  }

  // The prompt text: sections with their sources, for the model.
  std::string& p = cx.prompt;
  p += "THREAD [thread:" + cx.thread_id + "] subject: " + cx.subject + "\n";
  if (!cx.contact_name.empty()) p += "CONTACT: " + cx.contact_name + "\n";
  if (!cx.customer_name.empty()) p += "CUSTOMER: " + cx.customer_name + "\n";
  for (const auto& f : cx.shipments) {
    p += "SHIPMENT [shipment:" + f.id + "] " + f.mode + ", status " + f.status;
    if (!f.origin.empty()) p += ", from " + f.origin;
    if (!f.destination.empty()) p += " to " + f.destination;
    if (!f.etd.empty()) p += ", ETD " + f.etd.substr(0, 10);
    if (!f.eta.empty()) p += ", ETA " + f.eta.substr(0, 10);
    p += "\n";
    for (const auto& [k, v] : f.references) p += "  reference " + k + ": " + v + "\n";
    for (const auto& m : f.milestones) {
      p += "  milestone " + m.kind;
      if (!m.planned_at.empty()) p += " planned " + m.planned_at.substr(0, 10);
      if (!m.actual_at.empty()) p += " actual " + m.actual_at.substr(0, 10);
      if (!m.location.empty()) p += " at " + m.location;
      p += "\n";
    }
    if (!f.documents_present.empty()) {
      p += "  documents received:";
      for (const auto& d : f.documents_present) p += " " + d;
      p += "\n";
    }
    if (!f.documents_missing.empty()) {
      p += "  documents missing:";
      for (const auto& d : f.documents_missing) p += " " + d;
      p += "\n";
    }
  }
  for (const auto& a : cx.open_action_titles) p += "OPEN ACTION: " + a + "\n";
  if (cx.channel == "whatsapp")
    p += std::string("WHATSAPP WINDOW: ") + (cx.whatsapp_open ? "open" : "closed") + "\n";
  for (const auto& s : kept_similar)
    p += "PAST REPLY (style reference) [message:" + s.reply_id + "]: " + s.text + "\n";
  p += "CONVERSATION (oldest first):\n";
  for (const auto& m : cx.messages)
    p += "[message:" + m.id + "] " + m.at.substr(0, 16) + " " +
         (m.direction == "inbound" ? "CUSTOMER" : "US") + " (" + m.channel + "): " + m.text + "\n";
  return cx;
}

}  // namespace banxway::compose
