// Turns an HTTP request's query string, path id and JSON body into one params object for an
// operation. Query values are text; they are coerced using the operation's params schema so
// `?limit=20` reaches the engine as a number, not "20".
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "banxway/engine.hpp"
#include "banxway/status.hpp"

namespace bxserver {

/// The JSON type a query value is converted to.
enum class ParamKind : unsigned char { string, integer, number, boolean, array, other };

struct OpSpec {
  std::string name;
  bool is_list = false;
  bool is_create = false;  // the verb starts with "create" or "invite": a successful POST answers 201
  bool is_accepted = false;  // the verb is "send": queued for delivery, a POST answers 202
  std::unordered_map<std::string, ParamKind> props;
  std::unordered_map<std::string, ParamKind> item_kinds;  // element kind of array properties
};

/// Every operation's spec, built once from Engine::operations().
class OpCatalog {
 public:
  explicit OpCatalog(const std::vector<banxway::OperationInfo>& ops);
  const OpSpec* find(std::string_view name) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::unordered_map<std::string_view, const OpSpec*> by_name_;
  std::vector<std::unique_ptr<OpSpec>> specs_;
  std::vector<std::string> names_;
};

struct ParamsInput {
  std::string_view query;     // raw, without '?'
  std::string_view id_param;  // "id" / "thread_id" or empty
  std::string_view id_value;
  std::string_view body;  // raw body text (may be empty)
};

/// Builds the params JSON text. When there is nothing to merge, the body text is returned as it
/// came so that malformed JSON or invalid UTF-8 is reported by the engine's own validation.
banxway::Result<std::string> build_params(const OpSpec& op, const ParamsInput& in);

}  // namespace bxserver
