// Helpers shared by the resource services.
#pragma once

#include <initializer_list>
#include <optional>
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

/// Keyset pagination over (created_at, id), the order most lists use. Appends the cursor's
/// condition (params "cursor", checked), the ORDER BY and "LIMIT limit+1" to sql/args.
Status add_created_keyset(std::string& sql, std::vector<store::Value>& args, const json::Value& p,
                          int limit, bool descending);
/// The cursor of the page after `rows` (queried with limit+1), or nullopt on the last page.
std::optional<std::string> next_created_cursor(const store::Rows& rows, int limit,
                                               size_t created_col);
/// Appends " AND <field> = ?" for each of `fields` given as a string in params.
void add_equal_filters(std::string& sql, std::vector<store::Value>& args, const json::Value& p,
                       std::initializer_list<const char*> fields);

/// Appends ", <field> = ?" to an UPDATE's SET list for each of `fields` present in params
/// (JSON null sets NULL); those also named in `time_fields` are stored by normalized_time.
void add_set_fields(std::string& sets, std::vector<store::Value>& args, const json::Value& p,
                    std::initializer_list<const char*> fields,
                    std::initializer_list<const char*> time_fields = {});

/// A timestamp in the one fixed-width UTC form, so SQLite's text order is time order (the schema
/// already checked the format; text that does not parse is kept as given).
std::string normalized_time(std::string_view s);

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
