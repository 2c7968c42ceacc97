// orgs.*: the caller's organization; bootstrap for trusted hosts.
#include "api/auth.hpp"
#include "api/registry.hpp"
#include "compose/message_analysis.hpp"
#include "runtime/event_dispatch.hpp"
#include "services/common.hpp"
#include "services/orgs.hpp"
#include "sched/zone.hpp"

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
    // Every organization's inbound messages are analyzed (compose/message_analysis.hpp).
    BX_RETURN_IF_ERROR(runtime::EventDispatcher::activate(c, compose::kAnalysisConsumer, org_id,
                                                          ctx.now()));
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
  r.add("orgs.update",
        "Rename the organization or change its settings: time_zone (IANA; schedules and business "
        "calendars without their own zone use it), default_region (ISO 3166 alpha-2, for phone "
        "numbers without a country code), tone and signature (reply drafts), "
        "ai_monthly_token_budget (tokens per month; null: the engine's default) and ai_redact "
        "(phone numbers and e-mail addresses removed from what goes to the AI provider)",
        Permission::users_admin,
        R"({"type":"object","properties":{
            "name":{"type":"string","minLength":1,"maxLength":200},
            "time_zone":{"type":"string","minLength":1,"maxLength":64},
            "default_region":{"type":"string","pattern":"^[A-Za-z]{2}$"},
            "tone":{"type":"string","enum":["professional","friendly","formal"]},
            "signature":{"type":"string","maxLength":2000},
            "ai_monthly_token_budget":{"type":["integer","null"],"minimum":0,"maximum":1000000000000},
            "ai_redact":{"type":"boolean"}}})",
        [](Ctx& ctx, json::Value& p) -> Result<std::string> {
          if (auto z = json::get_string(p, "time_zone")) {
            auto zone = sched::find_zone(*z);
            if (!zone.ok()) return InvalidArgument("time_zone: " + zone.status().message());
          }
          std::string out;
          BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
            BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT settings FROM organizations WHERE id = ?",
                                                  {ctx.org()}));
            if (cur.empty()) return NotFound("organization " + ctx.org() + " not found");
            json::Document settings;
            if (!json::parse(cur[0].text(0), &settings).ok() || !settings.IsObject())
              settings.SetObject();
            auto& a = settings.GetAllocator();
            for (const char* k : {"ai_monthly_token_budget", "ai_redact"}) {
              const json::Value* v = json::get(p, k);
              if (!v) continue;
              settings.RemoveMember(k);
              if (!v->IsNull()) settings.AddMember(json::Value(k, a), json::Value(*v, a), a);
            }
            for (const char* k : {"time_zone", "default_region", "tone", "signature"}) {
              auto v = json::get_string(p, k);
              if (!v) continue;
              std::string val(*v);
              if (std::string_view(k) == "default_region")
                for (auto& ch : val) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
              settings.RemoveMember(k);
              settings.AddMember(json::Value(k, a), json::Value(val.c_str(), a), a);
            }
            std::string name_sql = json::get_string(p, "name") ? ", name = ?" : "";
            std::vector<store::Value> args{json::stringify(settings), ctx.now()};
            if (auto n = json::get_string(p, "name")) args.emplace_back(std::string(*n));
            args.emplace_back(ctx.org());
            BX_RETURN_IF_ERROR(c.query("UPDATE organizations SET settings = ?, updated_at = ?" +
                                           name_sql + " WHERE id = ?",
                                       args)
                                   .status());
            BX_ASSIGN_OR_RETURN(out, services::get_org(c, ctx.org()));
            BX_RETURN_IF_ERROR(ctx.event(c, "org.updated", "org", ctx.org(), std::nullopt, out));
            return ctx.audit(c, "org", ctx.org());
          }));
          return out;
        });
}

}  // namespace api
}  // namespace banxway
