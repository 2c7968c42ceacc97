#include "services/shipments.hpp"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "services/common.hpp"
#include "services/shipment_refs.hpp"

namespace banxway::services {
namespace {

const ColSpec kShipment[] = {
    {"id", "id", Col::str},
    {"customer_id", "customer_id", Col::str},
    {"mode", "mode", Col::str},
    {"status", "status", Col::str},
    {"origin", "origin", Col::str},
    {"destination", "destination", Col::str},
    {"etd", "etd", Col::str},
    {"eta", "eta", Col::str},
    {"parties", "parties", Col::json},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};
constexpr size_t kCreatedCol = 9;

const ColSpec kMilestone[] = {
    {"shipment_id", "shipment_id", Col::str}, {"kind", "kind", Col::str},
    {"planned_at", "planned_at", Col::str},   {"actual_at", "actual_at", Col::str},
    {"location", "location", Col::str},       {"note", "note", Col::str},
    {"created_at", "created_at", Col::str},   {"updated_at", "updated_at", Col::str},
};

// A shipment's milestones in the order a move goes through them.
constexpr std::string_view kMilestoneKinds[] = {"booked",  "picked_up",       "gate_in",
                                                "loaded",  "departed",        "transshipped",
                                                "arrived", "customs_cleared", "delivered"};

size_t milestone_rank(std::string_view kind) {
  auto it = std::find(std::begin(kMilestoneKinds), std::end(kMilestoneKinds), kind);
  return static_cast<size_t>(it - std::begin(kMilestoneKinds));
}

constexpr size_t kMaxPartiesBytes = 16 * 1024;

Status field_error(Code code, const std::string& field, const std::string& what) {
  return Status(code, field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

using Refs = std::vector<std::pair<RefKind, std::string>>;

// The references param: each value normalized and checked for its kind; duplicates dropped.
Result<Refs> parse_references(const json::Value& arr) {
  Refs out;
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    const json::Value& item = arr[i];
    std::string field = "references[" + std::to_string(i) + "]";
    auto kind = ref_kind_from(*json::get_string(item, "kind"));
    if (!kind) return field_error(Code::invalid_argument, field + ".kind", "unknown kind");
    RefCheck r = check_reference(*kind, *json::get_string(item, "value"));
    if (!r.value) return field_error(Code::invalid_argument, field + ".value", r.problem);
    std::pair<RefKind, std::string> ref{*kind, std::move(*r.value)};
    if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(std::move(ref));
  }
  return out;
}

// origin/destination: a UN/LOCODE (stored without the space), or null to clear on update.
Result<std::optional<std::string>> parse_locode(const json::Value& p, const char* field) {
  const json::Value* v = json::get(p, field);
  if (!v || v->IsNull()) return std::optional<std::string>();
  auto code = valid_unlocode(std::string_view(v->GetString(), v->GetStringLength()));
  if (!code)
    return field_error(Code::invalid_argument, field,
                       "not a UN/LOCODE (country code and 3 letters or digits 2-9, e.g. INNSA)");
  return std::optional<std::string>(*code);
}

Result<std::string> parties_json(const json::Value& v) {
  std::string s = json::stringify(v);
  if (s.size() > kMaxPartiesBytes)
    return field_error(Code::invalid_argument, "parties",
                       "too large (at most " + std::to_string(kMaxPartiesBytes) + " bytes)");
  return s;
}

// Replaces the shipment's references. A reference belongs to one shipment of the organization:
// one already on another shipment is already_exists naming it (checked first so the error names
// the reference; the primary key still guards races).
Status set_references(store::Conn& c, api::Ctx& ctx, const std::string& shipment_id,
                      const Refs& refs) {
  for (size_t i = 0; i < refs.size(); ++i) {
    const auto& [kind, value] = refs[i];
    BX_ASSIGN_OR_RETURN(auto taken,
                        c.query("SELECT shipment_id FROM shipment_references WHERE org_id = ? "
                                "AND kind = ? AND value = ? AND shipment_id <> ?",
                                {ctx.org(), std::string(ref_kind_name(kind)), value, shipment_id}));
    if (!taken.empty())
      return field_error(Code::already_exists, "references[" + std::to_string(i) + "].value",
                         std::string(ref_kind_name(kind)) + " " + value +
                             " already belongs to shipment " + taken[0].str(0));
  }
  auto r = c.query("DELETE FROM shipment_references WHERE org_id = ? AND shipment_id = ?",
                   {ctx.org(), shipment_id});
  if (!r.ok()) return r.status();
  for (size_t i = 0; i < refs.size(); ++i) {
    const auto& [kind, value] = refs[i];
    r = c.query(
        "INSERT INTO shipment_references (org_id, kind, value, shipment_id, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        {ctx.org(), std::string(ref_kind_name(kind)), value, shipment_id, ctx.now()});
    if (!r.ok()) {
      if (r.status().code() == Code::already_exists)
        return field_error(Code::already_exists, "references[" + std::to_string(i) + "].value",
                           std::string(ref_kind_name(kind)) + " " + value +
                               " already belongs to another shipment");
      return r.status();
    }
  }
  return Status();
}

std::string in_list(size_t n) {
  std::string s = "(";
  for (size_t i = 0; i < n; ++i) s += i ? ", ?" : "?";
  return s + ")";
}

// shipment id -> JSON array of its references [{kind, value}], ordered by kind then value.
Result<std::map<std::string, std::string>> references_json(store::Conn& c, api::Ctx& ctx,
                                                           const std::vector<std::string>& ids) {
  std::map<std::string, std::string> out;
  for (const auto& id : ids) out[id] = "[";
  if (!ids.empty()) {
    std::vector<store::Value> args{ctx.org()};
    for (const auto& id : ids) args.emplace_back(id);
    BX_ASSIGN_OR_RETURN(auto rows,
                        c.query("SELECT shipment_id, kind, value FROM shipment_references "
                                "WHERE org_id = ? AND shipment_id IN " +
                                    in_list(ids.size()) + " ORDER BY kind, value",
                                args));
    for (const auto& row : rows) {
      std::string& j = out[row.str(0)];
      if (j.size() > 1) j += ',';
      j += "{\"kind\":" + json::quote(row.text(1)) + ",\"value\":" + json::quote(row.text(2)) + "}";
    }
  }
  for (auto& [id, j] : out) j += ']';
  return out;
}

Result<std::string> milestones_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT " + select_list(kMilestone) +
                                             " FROM shipment_milestones WHERE org_id = ? AND "
                                             "shipment_id = ?",
                                         {ctx.org(), id}));
  std::vector<const store::Row*> sorted;
  for (const auto& row : rows) sorted.push_back(&row);
  std::sort(sorted.begin(), sorted.end(), [](const store::Row* a, const store::Row* b) {
    return milestone_rank(a->text(1)) < milestone_rank(b->text(1));
  });
  std::string j = "[";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i) j += ',';
    j += row_to_json(*sorted[i], kMilestone);
  }
  return j + "]";
}

Result<std::string> thread_ids_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows,
                      c.query("SELECT thread_id FROM thread_shipments WHERE org_id = ? AND "
                              "shipment_id = ? ORDER BY created_at, thread_id",
                              {ctx.org(), id}));
  std::string j = "[";
  for (size_t i = 0; i < rows.size(); ++i) j += (i ? "," : "") + json::quote(rows[i].text(0));
  return j + "]";
}

std::string with_extra(const store::Row& row, const std::string& extra) {
  std::string j = row_to_json(row, kShipment);
  j.pop_back();  // '}'
  return j + extra + "}";
}

// The shipment with its references, milestones (in move order) and linked thread ids.
Result<std::string> shipment_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  static const std::string sql =
      "SELECT " + select_list(kShipment) + " FROM shipments WHERE id = ? AND org_id = ?";
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, {id, ctx.org()}));
  if (rows.empty()) return NotFound("shipment " + id + " not found");
  BX_ASSIGN_OR_RETURN(auto refs, references_json(c, ctx, {id}));
  BX_ASSIGN_OR_RETURN(auto ms, milestones_json(c, ctx, id));
  BX_ASSIGN_OR_RETURN(auto threads, thread_ids_json(c, ctx, id));
  return with_extra(rows[0], ",\"references\":" + refs[id] + ",\"milestones\":" + ms +
                                 ",\"thread_ids\":" + threads);
}

// Rows as list items: each shipment with its references.
Result<std::string> items_json(store::Conn& c, api::Ctx& ctx, const store::Rows& rows, size_t n) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(rows[i].str(0));
  BX_ASSIGN_OR_RETURN(auto refs, references_json(c, ctx, ids));
  std::string items = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i) items += ',';
    items += with_extra(rows[i], ",\"references\":" + refs[ids[i]]);
  }
  return items + "]";
}

}  // namespace

Result<std::string> shipment_record(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  return shipment_json(c, ctx, id);
}

Result<std::string> shipments_list(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p);
  static const std::string base =
      "SELECT " + select_list(kShipment) + " FROM shipments WHERE org_id = ?";
  std::string sql = base;
  std::vector<store::Value> args{ctx.org()};
  add_equal_filters(sql, args, p, {"status", "customer_id", "mode"});
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/true));
  DbReader c(ctx.db());
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
  size_t n = std::min(rows.size(), static_cast<size_t>(limit));
  BX_ASSIGN_OR_RETURN(auto items, items_json(c, ctx, rows, n));
  return api::list_result(items, next_created_cursor(rows, limit, kCreatedCol));
}

Result<std::string> shipments_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return shipment_json(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> shipments_create(api::Ctx& ctx, json::Value& p) {
  Refs refs;
  if (const json::Value* r = json::get(p, "references")) {
    BX_ASSIGN_OR_RETURN(refs, parse_references(*r));
  }
  BX_ASSIGN_OR_RETURN(auto origin, parse_locode(p, "origin"));
  BX_ASSIGN_OR_RETURN(auto destination, parse_locode(p, "destination"));
  std::string parties = "{}";
  if (const json::Value* v = json::get(p, "parties")) {
    BX_ASSIGN_OR_RETURN(parties, parties_json(*v));
  }
  std::optional<std::string> etd, eta;
  if (auto d = json::get_string(p, "etd")) etd = normalized_time(*d);
  if (auto d = json::get_string(p, "eta")) eta = normalized_time(*d);
  auto customer = api::param_str(p, "customer_id");
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    if (customer) BX_RETURN_IF_ERROR(require_ref(c, ctx, "customers", *customer, "customer_id"));
    auto r = c.query(
        "INSERT INTO shipments (id, org_id, customer_id, mode, status, origin, destination, etd, "
        "eta, parties, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), customer, *api::param_str(p, "mode"),
         api::param_str(p, "status").value_or("planned"), origin, destination, etd, eta, parties,
         ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(set_references(c, ctx, id, refs));
    BX_ASSIGN_OR_RETURN(out, shipment_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "shipment.created", "shipment", id, std::nullopt, out));
    return ctx.audit(c, "shipment", id);
  }));
  return out;
}

Result<std::string> shipments_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::optional<Refs> refs;
  if (const json::Value* r = json::get(p, "references")) {
    BX_ASSIGN_OR_RETURN(refs, parse_references(*r));
  }
  std::string sets = "updated_at = ?";
  std::vector<store::Value> args{ctx.now()};
  for (const char* f : {"origin", "destination"}) {
    if (!json::get(p, f)) continue;
    BX_ASSIGN_OR_RETURN(auto code, parse_locode(p, f));
    sets += std::string(", ") + f + " = ?";
    args.emplace_back(code);
  }
  add_set_fields(sets, args, p, {"mode", "status", "customer_id", "etd", "eta"}, {"etd", "eta"});
  if (const json::Value* v = json::get(p, "parties")) {
    BX_ASSIGN_OR_RETURN(auto parties, parties_json(*v));
    sets += ", parties = ?";
    args.emplace_back(parties);
  }
  args.emplace_back(id);
  args.emplace_back(ctx.org());
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "shipments", id, "id"));
    if (auto customer = json::get_string(p, "customer_id"))
      BX_RETURN_IF_ERROR(require_ref(c, ctx, "customers", *customer, "customer_id"));
    auto r = c.query("UPDATE shipments SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    if (refs) BX_RETURN_IF_ERROR(set_references(c, ctx, id, *refs));
    BX_ASSIGN_OR_RETURN(out, shipment_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "shipment.updated", "shipment", id, std::nullopt, out));
    return ctx.audit(c, "shipment", id);
  }));
  return out;
}

Result<std::string> shipments_lookup(api::Ctx& ctx, json::Value& p) {
  std::string value = normalize_reference(*api::param_str(p, "reference"));
  if (value.empty())
    return field_error(Code::invalid_argument, "reference", "no letters or digits to look up");
  std::string sql =
      "SELECT DISTINCT shipment_id FROM shipment_references WHERE org_id = ? AND value = ?";
  std::vector<store::Value> args{ctx.org(), value};
  if (auto kind = api::param_str(p, "kind")) {
    sql += " AND kind = ?";
    args.emplace_back(*kind);
  }
  sql += " ORDER BY shipment_id LIMIT 50";
  DbReader c(ctx.db());
  BX_ASSIGN_OR_RETURN(auto ids, c.query(sql, args));
  std::string items = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    BX_ASSIGN_OR_RETURN(auto s, shipment_json(c, ctx, ids[i].str(0)));
    if (i) items += ',';
    items += s;
  }
  items += "]";
  return api::list_result(items, std::nullopt);
}

Result<std::string> shipments_set_milestone(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "shipment_id");
  std::string kind = *api::param_str(p, "kind");
  std::string sets = "updated_at = ?";
  std::vector<store::Value> args{ctx.now()};
  add_set_fields(sets, args, p, {"planned_at", "actual_at", "location", "note"},
                 {"planned_at", "actual_at"});
  args.emplace_back(id);
  args.emplace_back(ctx.org());
  args.emplace_back(kind);
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "shipments", id, "shipment_id"));
    auto r = c.query(
        "INSERT INTO shipment_milestones (shipment_id, org_id, kind, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (shipment_id, kind) DO NOTHING",
        {id, ctx.org(), kind, ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    r = c.query("UPDATE shipment_milestones SET " + sets +
                    " WHERE shipment_id = ? AND org_id = ? AND kind = ?",
                args);
    if (!r.ok()) return r.status();
    r = c.query("UPDATE shipments SET updated_at = ? WHERE id = ? AND org_id = ?",
                {ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT " + select_list(kMilestone) +
                                               " FROM shipment_milestones WHERE shipment_id = ? "
                                               "AND org_id = ? AND kind = ?",
                                           {id, ctx.org(), kind}));
    if (rows.empty()) return Internal("milestone vanished after upsert");
    out = row_to_json(rows.rows[0], kMilestone);
    BX_RETURN_IF_ERROR(ctx.event(c, "shipment.milestone", "shipment", id, std::nullopt, out));
    return ctx.audit(c, "shipment", id, "{\"milestone\":" + json::quote(kind) + "}");
  }));
  return out;
}

namespace {

std::string link_json(const std::string& shipment_id, const std::string& thread_id,
                      std::string_view tail) {
  return "{\"shipment_id\":" + json::quote(shipment_id) +
         ",\"thread_id\":" + json::quote(thread_id) + std::string(tail) + "}";
}

}  // namespace

Result<std::string> shipments_link_thread(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "shipment_id");
  std::string thread = *api::param_str(p, "thread_id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction(
      [&](store::Conn& c) -> Status { return shipment_link_in(c, ctx, id, thread, &out); }));
  return out;
}

Status shipment_link_in(store::Conn& c, api::Ctx& ctx, const std::string& id,
                        const std::string& thread, std::string* out_json) {
    std::string& out = *out_json;
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "shipments", id, "shipment_id"));
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "threads", thread, "thread_id"));
    BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT created_at FROM thread_shipments WHERE org_id = "
                                          "? AND thread_id = ? AND shipment_id = ?",
                                          {ctx.org(), thread, id}));
    if (!cur.empty()) {  // already linked: nothing to write
      out = link_json(id, thread,
                      ",\"created_at\":" + json::quote(cur[0].text(0)) + ",\"linked\":false");
      return Status();
    }
    // Another transaction (message analysis linking by reference, a second client) may link
    // the same pair at the same moment: the loser finds the link made, not a duplicate-key error.
    auto r = c.query(
        "INSERT INTO thread_shipments (org_id, thread_id, shipment_id, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING created_at",
        {ctx.org(), thread, id, ctx.now()});
    if (!r.ok()) return r.status();
    if (r->empty()) {
      BX_ASSIGN_OR_RETURN(auto now, c.query("SELECT created_at FROM thread_shipments WHERE org_id = "
                                            "? AND thread_id = ? AND shipment_id = ?",
                                            {ctx.org(), thread, id}));
      out = link_json(id, thread,
                      ",\"created_at\":" + json::quote(now.empty() ? ctx.now() : now[0].str(0)) +
                          ",\"linked\":false");
      return Status();
    }
    out = link_json(id, thread, ",\"created_at\":" + json::quote(ctx.now()) + ",\"linked\":true");
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.shipment_linked", "shipment", id, thread, out));
    return ctx.audit(c, "shipment", id, "{\"thread_id\":" + json::quote(thread) + "}");
}

Result<std::string> shipments_unlink_thread(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "shipment_id");
  std::string thread = *api::param_str(p, "thread_id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "shipments", id, "shipment_id"));
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "threads", thread, "thread_id"));
    BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT 1 FROM thread_shipments WHERE org_id = ? AND "
                                          "thread_id = ? AND shipment_id = ?",
                                          {ctx.org(), thread, id}));
    if (cur.empty()) {  // not linked: nothing to write
      out = link_json(id, thread, ",\"unlinked\":false");
      return Status();
    }
    auto r = c.query(
        "DELETE FROM thread_shipments WHERE org_id = ? AND thread_id = ? AND shipment_id = ?",
        {ctx.org(), thread, id});
    if (!r.ok()) return r.status();
    out = link_json(id, thread, ",\"unlinked\":true");
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.shipment_unlinked", "shipment", id, thread, out));
    return ctx.audit(c, "shipment", id, "{\"thread_id\":" + json::quote(thread) + "}");
  }));
  return out;
}

}  // namespace banxway::services
