// Users and API keys of an organization.
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> users_list(api::Ctx& ctx, json::Value& p);
Result<std::string> users_get(api::Ctx& ctx, json::Value& p);
Result<std::string> users_create(api::Ctx& ctx, json::Value& p);
Result<std::string> users_update(api::Ctx& ctx, json::Value& p);

Result<std::string> apikeys_list(api::Ctx& ctx, json::Value& p);
Result<std::string> apikeys_create(api::Ctx& ctx, json::Value& p);
Result<std::string> apikeys_revoke(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
