// The operation registry: one table of every operation (name, params schema, permission,
// handler). Every surface dispatches through it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/context.hpp"
#include "api/schema.hpp"

namespace banxway::api {

using Handler = std::function<Result<std::string>(Ctx&, json::Value& params)>;

struct Operation {
  std::string name;
  std::string summary;
  Permission permission = Permission::read;
  bool is_list = false;
  bool is_write = false;
  Schema schema;
  Handler handler;
};

class Registry {
 public:
  /// Adds an operation; schema_json is compiled now (a bad schema aborts: programming error).
  void add(std::string name, std::string summary, Permission perm, std::string_view schema_json,
           Handler handler, bool is_list = false);
  const Operation* find(std::string_view name) const;
  const std::vector<std::unique_ptr<Operation>>& all() const { return ops_; }

 private:
  std::vector<std::unique_ptr<Operation>> ops_;
  std::unordered_map<std::string_view, const Operation*> by_name_;
};

/// The process-wide registry with every built-in operation.
const Registry& registry();

// Each resource registers its operations (src/api/ops_*.cpp).
void register_org_ops(Registry& r);
void register_user_ops(Registry& r);
void register_customer_ops(Registry& r);
void register_contact_ops(Registry& r);
void register_thread_ops(Registry& r);
void register_message_ops(Registry& r);
void register_action_ops(Registry& r);
void register_search_ops(Registry& r);
void register_event_ops(Registry& r);
void register_inbound_ops(Registry& r);
void register_channel_ops(Registry& r);
void register_shipment_ops(Registry& r);
void register_notification_ops(Registry& r);
void register_analytics_ops(Registry& r);
void register_webhook_ops(Registry& r);
void register_workflow_ops(Registry& r);
void register_sla_ops(Registry& r);
void register_compose_ops(Registry& r);

/// Schema fragments shared by operations.
namespace schema {
inline constexpr const char* kId = R"({"type":"string","format":"uuid"})";
inline constexpr const char* kNullableId = R"({"type":["string","null"],"format":"uuid"})";
inline constexpr const char* kLimit = R"({"type":"integer","minimum":1,"maximum":200})";
inline constexpr const char* kCursor = R"({"type":"string","maxLength":2048})";
}  // namespace schema

}  // namespace banxway::api
