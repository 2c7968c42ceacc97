// orgs.*: the caller's organization; bootstrap for trusted hosts.
#include "api/auth.hpp"
#include "api/registry.hpp"
#include "services/common.hpp"
#include "services/orgs.hpp"

namespace banxway {
namespace services {
namespace {
const ColSpec kOrg[] = {
    {"id", "id", Col::str},
    {"name", "name", Col::str},
    {"settings", "settings", Col::json},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};

// Organizations are the root of tenancy: their own id is the scope.
Result<std::string> get_org(store::Conn& c, const std::string& org_id) {
  auto r = c.query("SELECT " + select_list(kOrg) + " FROM organizations WHERE id = ?", {org_id});
  if (!r.ok()) return r.status();
  if (r->empty()) return NotFound("organization " + org_id + " not found");
  return row_to_json(r->rows[0], kOrg);
}
}  // namespace

Result<Bootstrap> bootstrap_org(api::Core& core, std::string_view name) {
  if (name.empty() || name.size() > 200)
    return InvalidArgument("organization name must be 1 to 200 characters");
  std::string org_id = core.ids->next();
  std::string key = api::generate_api_key();
  std::string key_id = core.ids->next();
  Principal system;
  system.org_id = org_id;
  system.role = Role::admin;
  system.actor_type = "system";
  system.actor_id = "bootstrap";
  api::Ctx ctx(core, system, "orgs.bootstrap");
  std::string org_json;
  Status st = core.db->transaction([&](store::Conn& c) -> Status {
    auto r = c.query(
        "INSERT INTO organizations (id, name, settings, created_at, updated_at) "
        "VALUES (?, ?, '{}', ?, ?)",
        {org_id, name, ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    r = c.query(
        "INSERT INTO api_keys (id, org_id, name, role, prefix, key_hash, created_at) "
        "VALUES (?, ?, 'bootstrap admin key', 'admin', ?, ?, ?)",
        {key_id, org_id, key.substr(0, 12), api::api_key_hash(key), ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(org_json, get_org(c, org_id));
    BX_RETURN_IF_ERROR(ctx.event(c, "org.created", "organization", org_id, std::nullopt, org_json));
    return ctx.audit(c, "organization", org_id);
  });
  if (!st.ok()) return st;
  return Bootstrap{org_json, key};
}

}  // namespace services

namespace api {

void register_org_ops(Registry& r) {
  r.add("orgs.get", "The caller's organization", Permission::read,
        R"({"type":"object","properties":{}})", [](Ctx& ctx, json::Value&) -> Result<std::string> {
          services::DbReader c(ctx.db());
          return services::get_org(c, ctx.org());
        });
}

}  // namespace api
}  // namespace banxway
