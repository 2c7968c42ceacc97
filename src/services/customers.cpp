#include "services/customers.hpp"

#include <algorithm>
#include <cctype>

#include "services/common.hpp"

namespace banxway::services {
namespace {

const ColSpec kCustomer[] = {
    {"id", "id", Col::str},
    {"name", "name", Col::str},
    {"domains", "domains", Col::json},
    {"tier", "tier", Col::str},
    {"account_manager_id", "account_manager_id", Col::str},
    {"notes", "notes", Col::str},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};
constexpr size_t kNameCol = 1;

Status field_error(Code code, const std::string& field, const std::string& what) {
  return Status(code, field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

// A host name as customers' mail arrives from it: dot-separated labels of letters, digits and
// hyphens (not at a label's ends), at least two labels, within DNS length limits.
bool is_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  size_t labels = 0;
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    if (dot == std::string_view::npos) dot = d.size();
    std::string_view label = d.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (unsigned char c : label)
      if (!(std::islower(c) || std::isdigit(c) || c == '-')) return false;
    ++labels;
    start = dot + 1;
  }
  return labels >= 2;
}

// The domains param: trimmed, lower-cased, validated, duplicates dropped (first order kept).
Result<std::vector<std::string>> normalize_domains(const json::Value& arr) {
  std::vector<std::string> out;
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    std::string d(arr[i].GetString(), arr[i].GetStringLength());
    auto b = d.find_first_not_of(" \t");
    auto e = d.find_last_not_of(" \t");
    d = b == std::string::npos ? std::string() : d.substr(b, e - b + 1);
    for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!is_domain(d))
      return field_error(Code::invalid_argument, "domains[" + std::to_string(i) + "]",
                         "not a domain name (letters, digits, hyphens and dots, e.g. acme.com)");
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(std::move(d));
  }
  return out;
}

std::string domains_json(const std::vector<std::string>& ds) {
  std::string j = "[";
  for (size_t i = 0; i < ds.size(); ++i) j += (i ? "," : "") + json::quote(ds[i]);
  return j + "]";
}

Status domain_taken(const std::string& domain) {
  return field_error(Code::already_exists, "domains",
                     domain + " already belongs to another customer");
}

// Replaces the customer's rows in customer_domains (the lookup index for "sender domain ->
// customer"); customers.domains holds the same list as JSON and is written by the caller.
Status set_domains(store::Conn& c, api::Ctx& ctx, const std::string& customer_id,
                   const std::vector<std::string>& domains) {
  if (!domains.empty()) {
    // Checked up front so the error names the domain; the primary key still guards races.
    std::string sql =
        "SELECT domain FROM customer_domains WHERE org_id = ? AND customer_id <> ? AND domain IN (";
    std::vector<store::Value> args{ctx.org(), customer_id};
    for (size_t i = 0; i < domains.size(); ++i) {
      sql += i ? ", ?" : "?";
      args.emplace_back(domains[i]);
    }
    sql += ") ORDER BY domain LIMIT 1";
    BX_ASSIGN_OR_RETURN(auto taken, c.query(sql, args));
    if (!taken.empty()) return domain_taken(taken[0].str(0));
  }
  auto r = c.query("DELETE FROM customer_domains WHERE org_id = ? AND customer_id = ?",
                   {ctx.org(), customer_id});
  if (!r.ok()) return r.status();
  for (const auto& d : domains) {
    r = c.query("INSERT INTO customer_domains (org_id, domain, customer_id) VALUES (?, ?, ?)",
                {ctx.org(), d, customer_id});
    if (!r.ok()) {
      if (r.status().code() == Code::already_exists) return domain_taken(d);
      return r.status();
    }
  }
  return Status();
}

Result<std::string> customer_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  return get_by_id(c, ctx, "customers", kCustomer, id, "customer");
}

// The customers.overview filter of a customer's open threads.
const std::string kOpenWhere =
    " WHERE org_id = ? AND customer_id = ? AND merged_into IS NULL AND system_kind IS NULL AND "
    "status IN ('open','pending','snoozed')";

}  // namespace

Result<std::string> customers_list(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p);
  static const std::string base =
      "SELECT " + select_list(kCustomer) + " FROM customers WHERE org_id = ?";
  std::string sql = base;
  std::vector<store::Value> args{ctx.org()};
  if (auto q = api::param_str(p, "q")) {
    // A literal prefix: LIKE's wildcards in the user's text are escaped. lower() on both sides
    // makes each database fold both with one rule (SQLite folds ASCII only, PostgreSQL follows
    // its collation); CAST pins the parameter's type for PostgreSQL.
    std::string pat;
    for (char ch : *q) {
      if (ch == '\\' || ch == '%' || ch == '_') pat += '\\';
      pat += ch;
    }
    pat += '%';
    sql += " AND lower(name) LIKE lower(CAST(? AS TEXT)) ESCAPE '\\'";
    args.emplace_back(pat);
  }
  if (auto cur = api::param_str(p, "cursor")) {
    BX_ASSIGN_OR_RETURN(auto parts, api::decode_cursor(*cur, 2));
    if (!is_uuid(parts[1]))
      return field_error(Code::invalid_argument, "cursor",
                         "malformed or from another listing; pass next_cursor as given");
    sql += " AND (name, id) > (?, ?)";
    args.emplace_back(parts[0]);
    args.emplace_back(parts[1]);
  }
  sql += " ORDER BY name, id LIMIT ?";
  args.emplace_back(limit + 1);
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    const auto& last = rows[limit - 1];
    // A name is at most 200 code points (800 bytes): its cursor always fits the 2048 cap.
    next = api::encode_cursor({last.text(kNameCol), last.text(0)});
  }
  return rows_to_list(rows, kCustomer, limit, next);
}

Result<std::string> customers_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return customer_json(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> customers_create(api::Ctx& ctx, json::Value& p) {
  std::vector<std::string> domains;
  if (const json::Value* d = json::get(p, "domains")) {
    BX_ASSIGN_OR_RETURN(domains, normalize_domains(*d));
  }
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    auto manager = api::param_str(p, "account_manager_id");
    if (manager) BX_RETURN_IF_ERROR(require_ref(c, ctx, "users", *manager, "account_manager_id"));
    auto r = c.query(
        "INSERT INTO customers (id, org_id, name, domains, tier, account_manager_id, notes, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), *api::param_str(p, "name"), domains_json(domains),
         api::param_str(p, "tier"), manager, api::param_str(p, "notes"), ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(set_domains(c, ctx, id, domains));
    BX_ASSIGN_OR_RETURN(out, customer_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "customer.created", "customer", id, std::nullopt, out));
    return ctx.audit(c, "customer", id);
  }));
  return out;
}

Result<std::string> customers_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::optional<std::vector<std::string>> domains;
  if (const json::Value* d = json::get(p, "domains")) {
    BX_ASSIGN_OR_RETURN(domains, normalize_domains(*d));
  }
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(customer_json(c, ctx, id).status());
    if (auto manager = json::get_string(p, "account_manager_id"))
      BX_RETURN_IF_ERROR(require_ref(c, ctx, "users", *manager, "account_manager_id"));
    std::string sets = "updated_at = ?";
    std::vector<store::Value> args{ctx.now()};
    add_set_fields(sets, args, p, {"name", "tier", "account_manager_id", "notes"});
    if (domains) {
      sets += ", domains = ?";
      args.emplace_back(domains_json(*domains));
    }
    args.emplace_back(id);
    args.emplace_back(ctx.org());
    auto r = c.query("UPDATE customers SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    if (domains) BX_RETURN_IF_ERROR(set_domains(c, ctx, id, *domains));
    BX_ASSIGN_OR_RETURN(out, customer_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "customer.updated", "customer", id, std::nullopt, out));
    return ctx.audit(c, "customer", id);
  }));
  return out;
}

Result<std::string> customers_delete(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(std::string before, customer_json(c, ctx, id));
    // Detach referencing rows explicitly: the two databases' ON DELETE behaviour only agrees
    // when every foreign key is declared identically, and new tables may forget one.
    for (const char* table : {"contacts", "threads"}) {
      auto r = c.query(std::string("UPDATE ") + table +
                           " SET customer_id = NULL, updated_at = ? WHERE org_id = ? AND "
                           "customer_id = ?",
                       {ctx.now(), ctx.org(), id});
      if (!r.ok()) return r.status();
    }
    auto r = c.query("DELETE FROM customer_domains WHERE org_id = ? AND customer_id = ?",
                     {ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query("DELETE FROM customers WHERE id = ? AND org_id = ?", {id, ctx.org()});
    if (!r.ok()) return r.status();
    // The event carries the record as it was, so subscribers can still show what went away.
    BX_RETURN_IF_ERROR(ctx.event(c, "customer.deleted", "customer", id, std::nullopt, before));
    return ctx.audit(c, "customer", id);
  }));
  return "{\"id\":" + json::quote(id) + ",\"deleted\":true}";
}

std::string customer_recent_open_threads_sql(store::Dialect d, const std::string& select_list,
                                             int limit) {
  // Without the hint SQLite walks threads_org_activity, the whole organization's threads in
  // activity order, until it has found `limit` of this customer's open ones.
  const char* hint = d == store::Dialect::sqlite ? " INDEXED BY threads_org_customer" : "";
  return "SELECT " + select_list + " FROM threads" + hint + kOpenWhere +
         " ORDER BY last_activity_at DESC, id DESC LIMIT " + std::to_string(limit);
}

std::string customer_last_contact_sql(store::Dialect d) {
  // Thread by thread: the customer's threads, then each one's messages. CROSS JOIN keeps that
  // order on SQLite (PostgreSQL reads it as an inner join and plans it from its statistics);
  // without it SQLite read every message of the organization through its date index and
  // looked up each one's thread.
  const bool lite = d == store::Dialect::sqlite;
  return std::string("SELECT MAX(m.created_at) FROM threads t") +
         (lite ? " INDEXED BY threads_org_customer" : "") + " CROSS JOIN messages m" +
         (lite ? " INDEXED BY messages_thread_direction" : "") +
         " WHERE t.org_id = ? AND t.customer_id = ? AND m.org_id = t.org_id AND "
         "m.thread_id = t.id AND m.direction <> 'internal'";
}

Result<std::string> customers_overview(api::Ctx& ctx, json::Value& p) {
  static const ColSpec kThread[] = {
      {"id", "id", Col::str},
      {"subject", "subject", Col::str},
      {"status", "status", Col::str},
      {"priority", "priority", Col::str},
      {"assignee_id", "assignee_id", Col::str},
      {"contact_id", "contact_id", Col::str},
      {"last_activity_at", "last_activity_at", Col::str},
  };
  static const ColSpec kShipment[] = {
      {"id", "id", Col::str},           {"mode", "mode", Col::str},
      {"status", "status", Col::str},   {"origin", "origin", Col::str},
      {"destination", "destination", Col::str}, {"etd", "etd", Col::str},
      {"eta", "eta", Col::str},         {"created_at", "created_at", Col::str},
  };
  constexpr int kRecent = 5;
  std::string id = *api::param_str(p, "id");
  // Plain reads on the reader pool (never the writer: an overview must not queue behind ingest).
  std::string out;
  DbReader reader(ctx.db());
  BX_RETURN_IF_ERROR([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(std::string customer, customer_json(c, ctx, id));
    BX_ASSIGN_OR_RETURN(auto open_n, c.query("SELECT COUNT(*) FROM threads" + kOpenWhere,
                                             {ctx.org(), id}));
    BX_ASSIGN_OR_RETURN(
        auto open_rows,
        c.query(customer_recent_open_threads_sql(c.dialect(), select_list(kThread), kRecent),
                {ctx.org(), id}));
    BX_ASSIGN_OR_RETURN(auto ship_n, c.query("SELECT COUNT(*) FROM shipments WHERE org_id = ? "
                                             "AND customer_id = ?",
                                             {ctx.org(), id}));
    BX_ASSIGN_OR_RETURN(auto ship_rows,
                        c.query("SELECT " + select_list(kShipment) +
                                    " FROM shipments WHERE org_id = ? AND customer_id = ? "
                                    "ORDER BY created_at DESC, id DESC LIMIT " +
                                    std::to_string(kRecent),
                                {ctx.org(), id}));
    BX_ASSIGN_OR_RETURN(auto contacts_n, c.query("SELECT COUNT(*) FROM contacts WHERE "
                                                 "org_id = ? AND customer_id = ?",
                                                 {ctx.org(), id}));
    // Last contact: the newest message to or from the customer (internal notes do not count).
    BX_ASSIGN_OR_RETURN(auto last,
                        c.query(customer_last_contact_sql(c.dialect()), {ctx.org(), id}));
    out = "{\"customer\":" + customer + ",\"open_threads\":{\"count\":" +
          std::to_string(open_n[0].int64(0)) +
          ",\"recent\":" + rows_to_json_array(open_rows, kThread, open_rows.size()) +
          "},\"shipments\":{\"count\":" + std::to_string(ship_n[0].int64(0)) +
          ",\"recent\":" + rows_to_json_array(ship_rows, kShipment, ship_rows.size()) +
          "},\"contacts\":{\"count\":" + std::to_string(contacts_n[0].int64(0)) +
          "},\"last_contact_at\":" +
          (last[0].is_null(0) ? std::string("null") : json::quote(last[0].text(0))) + "}";
    return Status();
  }(reader));
  return out;
}

}  // namespace banxway::services
