// users.* and apikeys.*
#include "api/registry.hpp"
#include "services/users.hpp"

namespace banxway::api {

void register_user_ops(Registry& r) {
  r.add("users.list", "List the organization's users", Permission::read,
        R"({"type":"object","properties":{"limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::users_list, true);
  r.add("users.get", "Get a user", Permission::read,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::users_get);
  r.add("users.create", "Create (invite) a user", Permission::users_admin,
        R"({"type":"object","required":["email","role"],"properties":{
            "email":{"type":"string","format":"email","maxLength":320},
            "role":{"type":"string","enum":["admin","manager","agent","viewer"]},
            "name":{"type":"string","minLength":1,"maxLength":200},
            "team":{"type":"string","maxLength":100}}})",
        services::users_create);
  r.add("users.update", "Change a user's name, role, team or active flag", Permission::users_admin,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "role":{"type":"string","enum":["admin","manager","agent","viewer"]},
            "name":{"type":["string","null"],"minLength":1,"maxLength":200},
            "team":{"type":["string","null"],"maxLength":100},
            "active":{"type":"boolean"}}})",
        services::users_update);
  r.add("users.me", "The caller's own user (needs a user session or a key tied to a user)",
        Permission::read, R"({"type":"object","properties":{}})", services::users_me);
  r.add("users.invite", "Invite a user: creates them with who invited and when (admin only)",
        Permission::users_admin,
        R"({"type":"object","required":["email","name","role"],"properties":{
            "email":{"type":"string","format":"email","maxLength":320},
            "name":{"type":"string","minLength":1,"maxLength":200},
            "role":{"type":"string","enum":["admin","manager","agent","viewer"]},
            "team":{"type":"string","maxLength":100}}})",
        services::users_invite);
  r.add("users.deactivate",
        "Deactivate a user and revoke their API keys; not yourself, not the last admin",
        Permission::users_admin,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::users_deactivate);
  r.add("users.set_role", "Change a user's role; the last active admin cannot be demoted",
        Permission::users_admin,
        R"({"type":"object","required":["id","role"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "role":{"type":"string","enum":["admin","manager","agent","viewer"]}}})",
        services::users_set_role);
  r.add("apikeys.list", "List API keys (never their secrets)", Permission::users_admin,
        R"({"type":"object","properties":{"limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::apikeys_list, true);
  r.add("apikeys.create", "Create an API key; the key is returned once", Permission::users_admin,
        R"({"type":"object","required":["role"],"properties":{
            "role":{"type":"string","enum":["admin","manager","agent","viewer"]},
            "name":{"type":"string","maxLength":200},
            "user_id":{"type":"string","format":"uuid"}}})",
        services::apikeys_create);
  r.add("apikeys.revoke", "Revoke an API key", Permission::users_admin,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::apikeys_revoke);
}

}  // namespace banxway::api
