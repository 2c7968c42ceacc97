// Threads (conversations), their messages and notes.
#pragma once

#include "api/context.hpp"
#include "services/rowjson.hpp"

namespace banxway::services {

Result<std::string> threads_list(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_get(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_create(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_update(api::Ctx& ctx, json::Value& p);

Result<std::string> messages_list(api::Ctx& ctx, json::Value& p);
Result<std::string> messages_create_note(api::Ctx& ctx, json::Value& p);

/// A thread's JSON by id inside a transaction (or via DbReader).
Result<std::string> thread_json(store::Conn& c, api::Ctx& ctx, const std::string& id);
/// A message's JSON by id.
Result<std::string> message_json(store::Conn& c, api::Ctx& ctx, const std::string& id);

/// The column lists thread_json and message_json read, for a write's RETURNING clause, and the
/// JSON of a row returned with them: a writer that just inserted or updated the row gets the
/// same JSON without reading it back (the ingest pipeline does, per message).
const std::string& thread_columns();
std::string thread_row_json(const store::Row& row);
const std::string& message_columns();
std::string message_row_json(const store::Row& row);

}  // namespace banxway::services
