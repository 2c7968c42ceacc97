// Users and API keys of an organization.
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> users_list(api::Ctx& ctx, json::Value& p);
Result<std::string> users_get(api::Ctx& ctx, json::Value& p);
Result<std::string> users_create(api::Ctx& ctx, json::Value& p);
Result<std::string> users_update(api::Ctx& ctx, json::Value& p);
/// The caller's own user; invalid_argument for a credential without a user.
Result<std::string> users_me(api::Ctx& ctx, json::Value& p);
/// Creates an invited user (users.create plus who invited and when; event user.invited).
Result<std::string> users_invite(api::Ctx& ctx, json::Value& p);
/// Deactivates a user and revokes their API keys; never yourself, never the last active admin.
Result<std::string> users_deactivate(api::Ctx& ctx, json::Value& p);
/// Changes a user's role; the last active admin cannot be demoted; keys are capped to it.
Result<std::string> users_set_role(api::Ctx& ctx, json::Value& p);

Result<std::string> apikeys_list(api::Ctx& ctx, json::Value& p);
Result<std::string> apikeys_create(api::Ctx& ctx, json::Value& p);
Result<std::string> apikeys_revoke(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
