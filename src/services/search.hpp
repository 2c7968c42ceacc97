#pragma once
#include "api/context.hpp"

namespace banxway::services {

/// Full-text search over message subjects and text (FTS5 on SQLite, tsvector on PostgreSQL).
Result<std::string> search_messages(api::Ctx& ctx, json::Value& p);

/// Events of the organization after an id, oldest first.
Result<std::string> events_list(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
