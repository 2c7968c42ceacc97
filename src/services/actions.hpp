// Actions: tasks born from a message or created by hand (follow up, send a quote, chase a
// document), with an assignee, a due time and a status.
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> actions_list(api::Ctx& ctx, json::Value& p);
Result<std::string> actions_get(api::Ctx& ctx, json::Value& p);
Result<std::string> actions_create(api::Ctx& ctx, json::Value& p);
/// actions.create inside the caller's transaction (workflow steps); *out gets the action JSON.
Status action_create_in(store::Conn& c, api::Ctx& ctx, const json::Value& p, std::string* out);
Result<std::string> actions_update(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
