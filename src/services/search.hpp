#pragma once

#include <span>

#include "api/context.hpp"
#include "services/rowjson.hpp"

namespace banxway::services {

/// Full-text search over message subjects and text (FTS5 on SQLite, tsvector on PostgreSQL).
Result<std::string> search_messages(api::Ctx& ctx, json::Value& p);

/// Events of the organization after an id, oldest first.
Result<std::string> events_list(api::Ctx& ctx, json::Value& p);
/// The columns of an event as events.list and the live feed show it.
std::span<const ColSpec> event_columns();

}  // namespace banxway::services
