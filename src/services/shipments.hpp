// Shipments: a forwarder's jobs (ocean, air, road, rail), known by their references (booking,
// B/L, container and AWB numbers), tracked by milestones, and linked to the threads that talk
// about them. docs/SHIPMENTS.md.
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> shipments_list(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_get(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_create(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_update(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_lookup(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_set_milestone(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_link_thread(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_unlink_thread(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
