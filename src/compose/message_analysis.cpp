#include "compose/message_analysis.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "analysis/analyze.hpp"
#include "api/schema.hpp"
#include "compose/ai_gate.hpp"
#include "channels/email/quote.hpp"
#include "core/json.hpp"
#include "services/actions.hpp"
#include "services/common.hpp"
#include "services/rowjson.hpp"
#include "services/shipments.hpp"

namespace banxway::compose {
namespace {

using json::key;
using json::write_str;

// What the model is asked to return (structured output), checked before it is used.
constexpr const char* kModelSchema = R"({"type":"object","properties":{
  "intent":{"type":"string","enum":["rate_request","booking","status_inquiry","document_submission",
    "document_request","complaint","invoice_query","customs","pickup","delivery","other"]},
  "sentiment":{"type":"string","enum":["negative","neutral","positive"]},
  "sentiment_score":{"type":"number","minimum":-1,"maximum":1},
  "urgency":{"type":"string","enum":["low","normal","high"]},
  "language":{"type":"string","minLength":2,"maxLength":3},
  "confidence":{"type":"number","minimum":0,"maximum":1}},
  "required":["intent","sentiment","sentiment_score","urgency","language","confidence"]})";

const api::Schema& model_schema() {
  static const api::Schema s = *api::Schema::compile(kModelSchema);
  return s;
}

// A suggestion as threads.suggestions / suggestions.update / thread.suggestion_created show it.
const services::ColSpec kSuggestion[] = {
    {"s.id", "id", services::Col::str},
    {"s.thread_id", "thread_id", services::Col::str},
    {"s.message_id", "message_id", services::Col::str},
    {"s.kind", "kind", services::Col::str},
    {"s.ref_kind", "ref_kind", services::Col::str},
    {"s.ref_value", "ref_value", services::Col::str},
    {"s.status", "status", services::Col::str},
    {"s.created_at", "created_at", services::Col::str},
    {"s.updated_at", "updated_at", services::Col::str},
    // the shipment that now carries the reference, if any
    {"(SELECT r.shipment_id FROM shipment_references r WHERE r.org_id = s.org_id AND "
     "r.kind = s.ref_kind AND r.value = s.ref_value)",
     "shipment_id", services::Col::str},
};

Result<std::string> suggestion_json(store::Conn& c, const std::string& org, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT " + services::select_list(kSuggestion) +
                                          " FROM thread_suggestions s WHERE s.id = ? AND s.org_id = ?",
                                      {id, org}));
  if (r.empty()) return NotFound("suggestion " + id + " not found");
  return services::row_to_json(r[0], kSuggestion);
}

struct MessageRow {
  std::string id, thread_id, direction, channel, subject, text, created_at;
};

Result<std::optional<MessageRow>> read_message(store::Conn& c, const std::string& org,
                                               const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT id, thread_id, direction, channel, subject, body_text, "
                                      "created_at FROM messages WHERE id = ? AND org_id = ?",
                                      {id, org}));
  if (r.empty()) return std::optional<MessageRow>();
  MessageRow m{r[0].str(0), r[0].str(1), r[0].str(2), r[0].str(3), r[0].str(4), "", r[0].str(6)};
  std::string_view body = r[0].text(5);
  if (body.size() > (256u << 10)) body = body.substr(0, 256u << 10);  // bounded work
  m.text = m.channel == "email" ? email::split_reply(body).new_text : std::string(body);
  return std::optional<MessageRow>(std::move(m));
}

// The model's view of a message, validated against kModelSchema.
Result<std::string> ask_model(api::Core& core, const Principal& who, const MessageRow& m) {
  ai::ChatRequest req;
  req.messages.push_back(
      {"system",
       "You classify messages that customers send to a freight forwarder. Answer with the JSON "
       "object the schema describes: intent, sentiment with a score from -1 to 1, urgency, the "
       "ISO 639-1 language of the message, and your confidence from 0 to 1."});
  req.messages.push_back({"user", "Subject: " + m.subject + "\n\n" + m.text.substr(0, 6000)});
  req.json_schema = kModelSchema;
  req.schema_name = "message_analysis";
  req.max_tokens = 200;
  req.temperature = 0;
  BX_ASSIGN_OR_RETURN(auto done, call_model(core, who, {"messages.analyze", "message", m.id}, req,
                                             {}, nullptr));
  json::Document d;
  if (!json::parse(done.text, &d).ok() || !d.IsObject())
    return InvalidArgument("the model's analysis is not a JSON object");
  if (Status st = model_schema().validate(d, d.GetAllocator()); !st.ok())
    return InvalidArgument("the model's analysis does not match the schema: " + st.message());
  return json::stringify(d);
}

std::string canonical_ref(std::string_view v) {
  std::string out;
  for (char ch : v)
    if (std::isalnum(static_cast<unsigned char>(ch)))
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::string doc_title(const std::vector<std::string>& docs) {
  std::string t = "Send ";
  for (size_t i = 0; i < docs.size(); ++i) {
    if (i) t += i + 1 == docs.size() ? " and " : ", ";
    std::string d = docs[i] == "invoice" ? "commercial_invoice" : docs[i];
    std::replace(d.begin(), d.end(), '_', ' ');
    t += d;
  }
  return t;
}

// Stores the analysis, acts on it and (when `announce`) emits message.analyzed. model_json:
// the model's validated answer, or empty; model_error: why there is none, when one was asked.
Result<std::string> analyze_in(store::Conn& c, api::Ctx& ctx, const MessageRow& m,
                               const std::string& model_json, const std::string& model_error,
                               bool announce) {
  analysis::ExtractOptions eo;
  eo.reference_date = m.created_at.substr(0, 10);
  analysis::Analysis a = analysis::analyze(m.subject, m.text, eo);
  json::Document doc;
  BX_RETURN_IF_ERROR(json::parse(analysis::to_json(a), &doc));
  auto& al = doc.GetAllocator();
  auto set = [&](json::Value& obj, const char* k, json::Value v) {
    if (obj.HasMember(k)) obj[k] = v;
    else obj.AddMember(json::Value(k, al), v, al);
  };
  if (!model_json.empty()) {
    json::Document md;
    BX_RETURN_IF_ERROR(json::parse(model_json, &md));
    set(doc, "intent", json::Value(md["intent"].GetString(), al));
    set(doc, "intent_confidence", json::Value(md["confidence"].GetDouble()));
    set(doc, "sentiment", json::Value(md["sentiment"].GetString(), al));
    set(doc, "sentiment_score", json::Value(md["sentiment_score"].GetDouble()));
    set(doc, "urgency", json::Value(md["urgency"].GetString(), al));
    set(doc, "language", json::Value(md["language"].GetString(), al));
    if (!doc.HasMember("sources") || !doc["sources"].IsObject()) set(doc, "sources", json::Value(rapidjson::kObjectType));
    for (const char* k : {"intent", "sentiment", "urgency", "language"})
      set(doc["sources"], k, json::Value("llm"));
    set(doc, "source", json::Value("rules+llm"));
  } else if (!model_error.empty()) {
    set(doc, "model_error", json::Value(model_error.c_str(), al));
  }
  std::string stored = json::stringify(doc);
  BX_RETURN_IF_ERROR(c.query("UPDATE messages SET analysis = ? WHERE id = ? AND org_id = ?",
                             {stored, m.id, ctx.org()})
                         .status());
  if (!announce) return stored;

  if (m.direction == "inbound") {
    // References: link the thread to the shipment that carries one; offer the rest.
    const auto& e = a.extraction.entities;
    std::vector<std::pair<std::string, std::string>> refs;
    for (const auto& v : e.containers) refs.emplace_back("container", v);
    for (const auto& v : e.awbs) refs.emplace_back("awb", v);
    for (const auto& v : e.bls) refs.emplace_back("bl", v);
    for (const auto& v : e.bookings) refs.emplace_back("booking", v);
    std::set<std::string> linked;
    for (const auto& [kind, value] : refs) {
      std::string v = canonical_ref(value);
      BX_ASSIGN_OR_RETURN(auto s, c.query("SELECT shipment_id FROM shipment_references WHERE "
                                          "org_id = ? AND kind = ? AND value = ?",
                                          {ctx.org(), kind, v}));
      if (!s.empty()) {
        if (linked.insert(s[0].str(0)).second) {
          std::string out;
          BX_RETURN_IF_ERROR(services::shipment_link_in(c, ctx, s[0].str(0), m.thread_id, &out));
        }
        continue;
      }
      if (kind != "container" && kind != "awb") continue;  // only check-digit ids are offered
      BX_ASSIGN_OR_RETURN(auto have, c.query("SELECT 1 FROM thread_suggestions WHERE org_id = ? "
                                             "AND thread_id = ? AND kind = 'create_shipment' AND "
                                             "ref_value = ?",
                                             {ctx.org(), m.thread_id, v}));
      if (!have.empty()) continue;
      std::string sid = ctx.new_id();
      BX_RETURN_IF_ERROR(c.query("INSERT INTO thread_suggestions (id, org_id, thread_id, message_id, "
                                 "kind, ref_kind, ref_value, status, created_at, updated_at) "
                                 "VALUES (?, ?, ?, ?, 'create_shipment', ?, ?, 'open', ?, ?)",
                                 {sid, ctx.org(), m.thread_id, m.id, kind, v, ctx.now(), ctx.now()})
                             .status());
      BX_ASSIGN_OR_RETURN(std::string sj, suggestion_json(c, ctx.org(), sid));
      BX_RETURN_IF_ERROR(ctx.event(c, "thread.suggestion_created", "suggestion", sid, m.thread_id, sj));
    }
    // A document asked for becomes an action on the thread (once while one is open).
    if (!a.cls.requested_documents.empty()) {
      std::string title = doc_title(a.cls.requested_documents);
      BX_ASSIGN_OR_RETURN(auto open, c.query("SELECT 1 FROM actions WHERE org_id = ? AND thread_id = ? "
                                             "AND type = 'document_request' AND title = ? AND "
                                             "status IN ('open','in_progress')",
                                             {ctx.org(), m.thread_id, title}));
      if (open.empty()) {
        json::Document p;
        p.SetObject();
        auto& pa = p.GetAllocator();
        p.AddMember("message_id", json::Value(m.id.c_str(), pa), pa);
        p.AddMember("type", "document_request", pa);
        p.AddMember("title", json::Value(title.c_str(), pa), pa);
        std::string out;
        BX_RETURN_IF_ERROR(services::action_create_in(c, ctx, p, &out));
      }
    }
  }
  set(doc, "message_id", json::Value(m.id.c_str(), al));
  set(doc, "thread_id", json::Value(m.thread_id.c_str(), al));
  BX_RETURN_IF_ERROR(ctx.event(c, "message.analyzed", "message", m.id, m.thread_id,
                               json::stringify(doc)));
  return stored;
}

bool model_wanted(const api::Core& core) { return core.ai && core.opts.ai_analyze_messages; }

runtime::JobResult run_analyze(api::Core& core, const runtime::Job& job) {
  auto id = runtime::payload_string(job, "message_id");
  if (!id) return runtime::JobResult::fail("payload has no message_id");
  Principal sys = api::system_principal(job.org_id, "analysis");
  api::Ctx ctx(core, sys, "messages.analyze");
  services::DbReader reader(ctx.db());
  auto m = read_message(reader, ctx.org(), *id);
  if (!m.ok()) return runtime::JobResult::retry(m.status().message());
  if (!*m) return runtime::JobResult::ok();  // deleted since
  std::string model_json, model_error;
  if (model_wanted(core)) {
    auto r = ask_model(core, sys, **m);
    if (r.ok()) {
      model_json = *r;
    } else {
      model_error = r.status().message();
      spdlog::info("message {}: model analysis not used: {}", *id, model_error);
    }
  }
  Status st = ctx.db().transaction([&](store::Conn& c) -> Status {
    return analyze_in(c, ctx, **m, model_json, model_error, true).status();
  });
  if (!st.ok()) return runtime::JobResult::retry(st.message());
  return runtime::JobResult::ok();
}

}  // namespace

Status analysis_on_events(store::Conn& c, api::Ctx& ctx,
                          const std::vector<runtime::EventRecord>& events) {
  bool with_model = model_wanted(ctx.core());
  for (const auto& ev : events) {
    if (ev.type != "message.received" || ev.subject_type != "message") continue;
    BX_ASSIGN_OR_RETURN(auto m, read_message(c, ctx.org(), ev.subject_id));
    if (!m) continue;
    if (with_model) {
      // The rules' answer is stored now; the job adds the model's and announces the result.
      BX_RETURN_IF_ERROR(analyze_in(c, ctx, *m, "", "", false).status());
      runtime::JobSpec spec;
      spec.kind = std::string(kAnalyzeJob);
      spec.payload_json = "{\"message_id\":" + json::quote(m->id) + "}";
      spec.unique_key = "analyze:" + m->id;
      spec.max_attempts = 3;
      BX_RETURN_IF_ERROR(runtime::JobQueue::enqueue(c, ctx, spec).status());
    } else {
      BX_RETURN_IF_ERROR(analyze_in(c, ctx, *m, "", "", true).status());
    }
  }
  return Status();
}

void register_analysis_jobs(runtime::JobQueue& q, api::Core& core) {
  q.register_handler(std::string(kAnalyzeJob),
                     [&core](const runtime::Job& j) { return run_analyze(core, j); });
}

Result<std::string> messages_analyze(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "message_id");
  bool use_model = json::get_bool(p, "use_model").value_or(true);
  services::DbReader reader(ctx.db());
  BX_ASSIGN_OR_RETURN(auto m, read_message(reader, ctx.org(), id));
  if (!m) return NotFound("message " + id + " not found");
  std::string model_json, model_error;
  if (use_model && ctx.core().ai) {
    auto r = ask_model(ctx.core(), ctx.who(), *m);
    if (r.ok())
      model_json = *r;
    else
      model_error = r.status().message();
  }
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(out, analyze_in(c, ctx, *m, model_json, model_error, true));
    return ctx.audit(c, "message", id);
  }));
  return out;
}

Result<std::string> suggestions_list(api::Ctx& ctx, json::Value& p) {
  std::string thread = *api::param_str(p, "thread_id");
  services::DbReader c(ctx.db());
  BX_RETURN_IF_ERROR(services::require_ref(c, ctx, "threads", thread, "thread_id"));
  std::string sql = "SELECT " + services::select_list(kSuggestion) +
                    " FROM thread_suggestions s WHERE s.org_id = ? AND s.thread_id = ?";
  std::vector<store::Value> args{ctx.org(), thread};
  if (auto st = api::param_str(p, "status")) {
    sql += " AND s.status = ?";
    args.emplace_back(*st);
  }
  sql += " ORDER BY s.created_at, s.id LIMIT 200";
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
  return services::rows_to_list(rows, kSuggestion, rows.size(), std::nullopt);
}

Result<std::string> suggestions_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string status = *api::param_str(p, "status");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT thread_id FROM thread_suggestions WHERE id = ? AND org_id = ?",
                                          {id, ctx.org()}));
    if (cur.empty()) return NotFound("suggestion " + id + " not found");
    BX_RETURN_IF_ERROR(c.query("UPDATE thread_suggestions SET status = ?, updated_at = ? WHERE id = ? AND org_id = ?",
                               {status, ctx.now(), id, ctx.org()})
                           .status());
    BX_ASSIGN_OR_RETURN(out, suggestion_json(c, ctx.org(), id));
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.suggestion_updated", "suggestion", id, cur[0].str(0), out));
    return ctx.audit(c, "suggestion", id);
  }));
  return out;
}

Result<std::string> ai_usage(api::Ctx& ctx, json::Value& p) {
  std::string month = api::param_str(p, "month").value_or(month_of(ctx.now()));
  bool shape = month.size() == 7 && month[4] == '-';
  for (size_t i = 0; i < month.size() && shape; ++i)
    if (i != 4 && !std::isdigit(static_cast<unsigned char>(month[i]))) shape = false;
  if (!shape || month.substr(5) < "01" || month.substr(5) > "12")
    return InvalidArgument("month: expected YYYY-MM, got \"" + month + "\"");
  services::DbReader c(ctx.db());
  BX_ASSIGN_OR_RETURN(Budget bud, read_budget(c, ctx.core(), ctx.org(), month));
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT feature, COUNT(*), COALESCE(SUM(input_tokens), 0), "
                                         "COALESCE(SUM(output_tokens), 0), "
                                         "SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) "
                                         "FROM ai_usage WHERE org_id = ? AND month = ? "
                                         "GROUP BY feature ORDER BY feature",
                                         {ctx.org(), month}));
  rapidjson::StringBuffer b;
  json::Writer w(b);
  w.StartObject();
  json::field(w, "month", month);
  key(w, "configured");
  w.Bool(ctx.core().ai != nullptr);
  key(w, "budget_tokens");
  if (bud.limit > 0) w.Int64(bud.limit); else w.Null();
  json::field_int(w, "used_tokens", bud.used);
  key(w, "remaining_tokens");
  if (bud.limit > 0) w.Int64(std::max<int64_t>(0, bud.limit - bud.used)); else w.Null();
  key(w, "by_feature");
  w.StartArray();
  for (const auto& r : rows) {
    w.StartObject();
    json::field(w, "feature", r.text(0));
    json::field_int(w, "calls", r.int64(1));
    json::field_int(w, "input_tokens", r.int64(2));
    json::field_int(w, "output_tokens", r.int64(3));
    json::field_int(w, "failed", r.int64(4));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(b.GetString());
}

}  // namespace banxway::compose
