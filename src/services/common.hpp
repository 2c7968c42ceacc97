// Helpers shared by the resource services.
#pragma once

#include <string>
#include <string_view>

#include "api/context.hpp"
#include "services/rowjson.hpp"

namespace banxway::services {

/// Checks that `id` names a row of `table` in the caller's organization; not_found otherwise
/// (another organization's row is reported exactly like a missing one).
Status require_ref(store::Conn& c, api::Ctx& ctx, std::string_view table, std::string_view id,
                   std::string_view field);

/// One row as JSON by id within the organization, or not_found naming `what`.
Result<std::string> get_by_id(store::Conn& c, api::Ctx& ctx, std::string_view table,
                              std::span<const ColSpec> cols, std::string_view id,
                              std::string_view what);

/// A message's snippet: the first 200 code points of `text` on one line, runs of whitespace
/// collapsed to one space.
std::string snippet_of(std::string_view text);

/// A JSON array text from a JSON array param of strings (or "[]").
std::string string_array_json(const json::Value* v);

/// A reader that is the writer inside transactions: lets read helpers run in either place.
class DbReader final : public store::Conn {
 public:
  explicit DbReader(store::Db& db) : db_(db) {}
  Result<store::Rows> query(std::string_view sql, std::span<const store::Value> params) override {
    return db_.query(sql, params);
  }
  using store::Conn::query;
  store::Dialect dialect() const override { return db_.dialect(); }
  Status exec_script(std::string_view) override {
    return Internal("exec_script is not available on a reader");
  }

 private:
  store::Db& db_;
};

}  // namespace banxway::services
