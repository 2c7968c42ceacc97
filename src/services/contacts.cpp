#include "services/contacts.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <unordered_map>

#include "api/schema.hpp"
#include "services/common.hpp"

namespace banxway::services {
namespace {

const ColSpec kContact[] = {
    {"id", "id", Col::str},
    {"customer_id", "customer_id", Col::str},
    {"name", "name", Col::str},
    {"title", "title", Col::str},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};
constexpr size_t kCreatedCol = 4;

struct Identity {
  std::string kind;
  std::string value;
  size_t index;  // position in the params array, for error messages
};

Status field_error(Code code, const std::string& field, const std::string& what) {
  return Status(code, field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

std::string value_field(size_t i) { return "identities[" + std::to_string(i) + "].value"; }

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

// The identities param in stored form: emails lower-cased, phones in E.164, WhatsApp ids
// trimmed; repeats of one identity collapse into the first.
Result<std::vector<Identity>> normalize_identities(api::Ctx& ctx, const json::Value& arr) {
  std::vector<Identity> out;
  std::optional<std::string> region;  // read once, and only when a phone needs it
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    std::string kind(*json::get_string(arr[i], "kind"));
    std::string value = trim(*json::get_string(arr[i], "value"));
    if (kind == "email") {
      for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!api::is_email(value))
        return field_error(Code::invalid_argument, value_field(i), "expected an email address");
    } else if (kind == "phone") {
      if (!region) {
        BX_ASSIGN_OR_RETURN(region, default_region(ctx));
      }
      auto e164 = to_e164(value, *region);
      if (!e164)
        return field_error(Code::invalid_argument, value_field(i),
                           "not a valid phone number (write it with its country code, e.g. "
                           "+91 98200 12345)");
      value = *e164;
    } else {  // whatsapp: the provider's opaque id, kept as given
      size_t len = api::utf8_length(value);
      if (len < 1 || len > 64)
        return field_error(Code::invalid_argument, value_field(i),
                           "a WhatsApp id must be 1 to 64 characters");
    }
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const Identity& x) { return x.kind == kind && x.value == value; });
    if (!seen) out.push_back({kind, value, i});
  }
  return out;
}

// Makes the contact's identities exactly `ids`: rows that stay keep their id and created_at.
Status set_identities(store::Conn& c, api::Ctx& ctx, const std::string& contact_id,
                      const std::vector<Identity>& ids) {
  if (!ids.empty()) {
    // Checked up front so the error names the offending entry; the unique index still guards
    // against a concurrent writer.
    std::string sql =
        "SELECT kind, value FROM contact_identities WHERE org_id = ? AND contact_id <> ? "
        "AND value IN (";
    std::vector<store::Value> args{ctx.org(), contact_id};
    for (size_t i = 0; i < ids.size(); ++i) {
      sql += i ? ", ?" : "?";
      args.emplace_back(ids[i].value);
    }
    sql += ")";
    BX_ASSIGN_OR_RETURN(auto taken, c.query(sql, args));
    for (const auto& id : ids)
      for (const auto& row : taken)
        if (row.text(0) == id.kind && row.text(1) == id.value)
          return field_error(Code::already_exists, value_field(id.index),
                             id.value + " already belongs to another contact");
  }
  BX_ASSIGN_OR_RETURN(auto existing, c.query("SELECT id, kind, value FROM contact_identities "
                                             "WHERE org_id = ? AND contact_id = ?",
                                             {ctx.org(), contact_id}));
  auto in = [](const std::vector<Identity>& v, const std::string& kind, const std::string& value) {
    return std::any_of(v.begin(), v.end(),
                       [&](const Identity& x) { return x.kind == kind && x.value == value; });
  };
  std::vector<Identity> kept;
  for (const auto& row : existing) {
    if (in(ids, row.str(1), row.str(2))) {
      kept.push_back({row.str(1), row.str(2), 0});
      continue;
    }
    auto r = c.query("DELETE FROM contact_identities WHERE id = ? AND org_id = ?",
                     {row.text(0), ctx.org()});
    if (!r.ok()) return r.status();
  }
  for (const auto& id : ids) {
    if (in(kept, id.kind, id.value)) continue;
    auto r = c.query(
        "INSERT INTO contact_identities (id, org_id, contact_id, kind, value, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        {ctx.new_id(), ctx.org(), contact_id, id.kind, id.value, ctx.now()});
    if (!r.ok()) {
      if (r.status().code() == Code::already_exists)
        return field_error(Code::already_exists, value_field(id.index),
                           id.value + " already belongs to another contact");
      return r.status();
    }
  }
  return Status();
}

// Identities of several contacts in one query: contact id -> JSON array text.
Result<std::map<std::string, std::string>> identities_json(store::Conn& c, api::Ctx& ctx,
                                                           const std::vector<std::string>& ids) {
  std::map<std::string, std::string> out;
  for (const auto& id : ids) out[id] = "[";
  if (!ids.empty()) {
    std::string sql =
        "SELECT contact_id, id, kind, value FROM contact_identities WHERE org_id = ? "
        "AND contact_id IN (";
    std::vector<store::Value> args{ctx.org()};
    for (size_t i = 0; i < ids.size(); ++i) {
      sql += i ? ", ?" : "?";
      args.emplace_back(ids[i]);
    }
    sql += ") ORDER BY created_at, id";
    BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
    for (const auto& row : rows) {
      std::string& j = out[row.str(0)];
      if (j.size() > 1) j += ',';
      j += "{\"id\":" + json::quote(row.text(1)) + ",\"kind\":" + json::quote(row.text(2)) +
           ",\"value\":" + json::quote(row.text(3)) + "}";
    }
  }
  for (auto& [id, j] : out) j += ']';
  return out;
}

// A contact row's JSON with its identities added.
std::string with_identities(const store::Row& row, const std::string& identities) {
  std::string j = row_to_json(row, kContact);
  j.pop_back();  // '}'
  return j + ",\"identities\":" + identities + "}";
}

Result<std::string> contact_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  static const std::string sql =
      "SELECT " + select_list(kContact) + " FROM contacts WHERE id = ? AND org_id = ?";
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, {id, ctx.org()}));
  if (rows.empty()) return NotFound("contact " + id + " not found");
  BX_ASSIGN_OR_RETURN(auto idents, identities_json(c, ctx, {id}));
  return with_identities(rows[0], idents[id]);
}

}  // namespace

// Region for numbers written without a country code: the organization's settings
// `default_region`, else India, where banxway's first users are.
Result<std::string> default_region(api::Ctx& ctx) {
  BX_ASSIGN_OR_RETURN(
      auto rows, ctx.db().query("SELECT settings FROM organizations WHERE id = ?", {ctx.org()}));
  if (!rows.empty()) {
    json::Document d;
    if (json::parse(rows[0].text(0), &d).ok() && d.IsObject()) {
      if (auto r = json::get_string(d, "default_region");
          r && r->size() == 2 && std::isalpha(static_cast<unsigned char>((*r)[0])) &&
          std::isalpha(static_cast<unsigned char>((*r)[1]))) {
        std::string region(*r);
        for (auto& c : region) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return region;
      }
    }
  }
  return std::string("IN");
}

namespace {

std::optional<std::string> parse_e164(const std::string& raw, const std::string& region) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  if (util->Parse(raw, region, &n) != PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
  if (!util->IsValidNumber(n)) return std::nullopt;
  std::string out;
  util->Format(n, PhoneNumberUtil::E164, &out);
  return out;
}

}  // namespace

// Parsing a number with libphonenumber (regular expressions over its metadata) costs more than
// the rest of storing a WhatsApp message; the same senders write again and again, so answers
// are remembered. Bounded: the table is dropped whole when it fills.
std::optional<std::string> to_e164(const std::string& raw, const std::string& region) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::optional<std::string>> cache;
  constexpr size_t kMaxEntries = 8192;
  std::string key = region;
  key += '\n';
  key += raw;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  auto out = parse_e164(raw, region);
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= kMaxEntries) cache.clear();
  cache.emplace(std::move(key), out);
  return out;
}


Result<std::string> contacts_list(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p);
  static const std::string base =
      "SELECT " + select_list(kContact) + " FROM contacts WHERE org_id = ?";
  std::string sql = base;
  std::vector<store::Value> args{ctx.org()};
  add_equal_filters(sql, args, p, {"customer_id"});
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/false));
  DbReader c(ctx.db());
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
  size_t n = std::min(rows.size(), static_cast<size_t>(limit));
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(rows[i].str(0));
  // One query for the whole page's identities, not one per contact.
  BX_ASSIGN_OR_RETURN(auto idents, identities_json(c, ctx, ids));
  std::string items = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i) items += ',';
    items += with_identities(rows[i], idents[ids[i]]);
  }
  items += ']';
  return api::list_result(items, next_created_cursor(rows, limit, kCreatedCol));
}

Result<std::string> contacts_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return contact_json(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> contacts_create(api::Ctx& ctx, json::Value& p) {
  std::vector<Identity> ids;
  if (const json::Value* v = json::get(p, "identities")) {
    BX_ASSIGN_OR_RETURN(ids, normalize_identities(ctx, *v));
  }
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    auto customer = api::param_str(p, "customer_id");
    if (customer) BX_RETURN_IF_ERROR(require_ref(c, ctx, "customers", *customer, "customer_id"));
    auto r = c.query(
        "INSERT INTO contacts (id, org_id, customer_id, name, title, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), customer, api::param_str(p, "name"), api::param_str(p, "title"), ctx.now(),
         ctx.now()});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(set_identities(c, ctx, id, ids));
    BX_ASSIGN_OR_RETURN(out, contact_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "contact.created", "contact", id, std::nullopt, out));
    return ctx.audit(c, "contact", id);
  }));
  return out;
}

Result<std::string> contacts_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::optional<std::vector<Identity>> ids;
  if (const json::Value* v = json::get(p, "identities")) {
    BX_ASSIGN_OR_RETURN(ids, normalize_identities(ctx, *v));
  }
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "contacts", id, "id"));
    if (auto customer = json::get_string(p, "customer_id"))
      BX_RETURN_IF_ERROR(require_ref(c, ctx, "customers", *customer, "customer_id"));
    std::string sets = "updated_at = ?";
    std::vector<store::Value> args{ctx.now()};
    add_set_fields(sets, args, p, {"name", "title", "customer_id"});
    args.emplace_back(id);
    args.emplace_back(ctx.org());
    auto r = c.query("UPDATE contacts SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    if (ids) BX_RETURN_IF_ERROR(set_identities(c, ctx, id, *ids));
    BX_ASSIGN_OR_RETURN(out, contact_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "contact.updated", "contact", id, std::nullopt, out));
    return ctx.audit(c, "contact", id);
  }));
  return out;
}

Result<std::string> contacts_delete(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(std::string before, contact_json(c, ctx, id));
    // Conversations outlive the person record: detach them explicitly rather than rely on
    // ON DELETE actions, which must be declared identically in both schemas to behave alike.
    auto r = c.query(
        "UPDATE threads SET contact_id = NULL, updated_at = ? WHERE org_id = ? AND contact_id = ?",
        {ctx.now(), ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query("UPDATE messages SET contact_id = NULL WHERE org_id = ? AND contact_id = ?",
                {ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query("DELETE FROM contact_identities WHERE org_id = ? AND contact_id = ?",
                {ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query("DELETE FROM contacts WHERE id = ? AND org_id = ?", {id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(ctx.event(c, "contact.deleted", "contact", id, std::nullopt, before));
    return ctx.audit(c, "contact", id);
  }));
  return "{\"id\":" + json::quote(id) + ",\"deleted\":true}";
}

Result<std::string> contacts_merge(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string source = *api::param_str(p, "source_id");
  if (id == source)
    return InvalidArgument("source_id: a contact cannot be merged into itself",
                           "{\"field\":\"source_id\"}");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "contacts", id, "id"));
    BX_ASSIGN_OR_RETURN(std::string before, contact_json(c, ctx, source));
    // Identities are unique per organization, so the source's move over without collisions.
    auto ids = c.query("UPDATE contact_identities SET contact_id = ? WHERE org_id = ? AND "
                       "contact_id = ?",
                       {id, ctx.org(), source});
    if (!ids.ok()) return ids.status();
    auto threads = c.query("UPDATE threads SET contact_id = ?, updated_at = ? WHERE org_id = ? "
                           "AND contact_id = ?",
                           {id, ctx.now(), ctx.org(), source});
    if (!threads.ok()) return threads.status();
    auto msgs = c.query("UPDATE messages SET contact_id = ? WHERE org_id = ? AND contact_id = ?",
                        {id, ctx.org(), source});
    if (!msgs.ok()) return msgs.status();
    // The survivor keeps its own fields; the source's fill only the ones it lacks.
    auto r = c.query(
        "UPDATE contacts SET name = COALESCE(name, (SELECT s.name FROM contacts s WHERE s.id = ? "
        "AND s.org_id = ?)), title = COALESCE(title, (SELECT s.title FROM contacts s WHERE "
        "s.id = ? AND s.org_id = ?)), customer_id = COALESCE(customer_id, (SELECT s.customer_id "
        "FROM contacts s WHERE s.id = ? AND s.org_id = ?)), updated_at = ? WHERE id = ? AND "
        "org_id = ?",
        {source, ctx.org(), source, ctx.org(), source, ctx.org(), ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    r = c.query("DELETE FROM contacts WHERE id = ? AND org_id = ?", {source, ctx.org()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(std::string survivor, contact_json(c, ctx, id));
    std::string moved = "{\"source_id\":" + json::quote(source) +
                        ",\"identities\":" + std::to_string(ids->affected) +
                        ",\"threads\":" + std::to_string(threads->affected) +
                        ",\"messages\":" + std::to_string(msgs->affected) + "}";
    out = survivor;
    out.pop_back();
    out += ",\"merged\":" + moved + "}";
    // The event carries the source as it was, so a consumer can redirect its id.
    BX_RETURN_IF_ERROR(ctx.event(c, "contact.merged", "contact", id, std::nullopt,
                                 "{\"contact\":" + survivor + ",\"source\":" + before +
                                     ",\"moved\":" + moved + "}"));
    return ctx.audit(c, "contact", id, moved);
  }));
  return out;
}

}  // namespace banxway::services
