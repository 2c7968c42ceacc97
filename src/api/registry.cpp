#include "api/registry.hpp"

#include <cstdio>
#include <cstdlib>

namespace banxway::api {

void Registry::add(std::string name, std::string summary, Permission perm,
                   std::string_view schema_json, Handler handler, bool is_list) {
  auto compiled = Schema::compile(schema_json);
  if (!compiled.ok()) {
    std::fprintf(stderr, "banxway: bad params schema for %s: %s\n", name.c_str(),
                 compiled.status().to_string().c_str());
    std::abort();
  }
  auto op = std::make_unique<Operation>();
  op->name = std::move(name);
  op->summary = std::move(summary);
  op->permission = perm;
  op->is_list = is_list;
  op->is_write = perm != Permission::read;
  op->schema = std::move(compiled).value();
  op->handler = std::move(handler);
  by_name_[op->name] = op.get();
  ops_.push_back(std::move(op));
}

const Operation* Registry::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_org_ops(reg);
    register_user_ops(reg);
    register_customer_ops(reg);
    register_contact_ops(reg);
    register_thread_ops(reg);
    register_message_ops(reg);
    register_action_ops(reg);
    register_search_ops(reg);
    register_event_ops(reg);
    register_inbound_ops(reg);
    register_channel_ops(reg);
    register_shipment_ops(reg);
    register_notification_ops(reg);
    register_analytics_ops(reg);
    register_webhook_ops(reg);
    register_workflow_ops(reg);
    register_sla_ops(reg);
    register_compose_ops(reg);
    return reg;
  }();
  return r;
}

}  // namespace banxway::api
