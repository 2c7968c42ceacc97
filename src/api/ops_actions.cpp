// actions.*
#include "api/registry.hpp"
#include "services/actions.hpp"

namespace banxway::api {

void register_action_ops(Registry& r) {
  r.add("actions.list", "List actions, newest first", Permission::read,
        R"({"type":"object","properties":{
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048},
            "thread_id":{"type":"string","format":"uuid"},
            "status":{"type":"string","enum":["open","in_progress","done","cancelled"]},
            "assignee_id":{"type":"string","format":"uuid"}}})",
        services::actions_list, true);
  r.add(
      "actions.get", "Get an action", Permission::read,
      R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
      services::actions_get);
  r.add("actions.create", "Create an action (a task), optionally from a thread or a message",
        Permission::write,
        R"({"type":"object","required":["title"],"properties":{
            "title":{"type":"string","minLength":1,"maxLength":500},
            "type":{"type":"string","minLength":1,"maxLength":50},
            "thread_id":{"type":"string","format":"uuid"},
            "message_id":{"type":"string","format":"uuid"},
            "description":{"type":"string","maxLength":10000},
            "assignee_id":{"type":"string","format":"uuid"},
            "due_at":{"type":"string","format":"date-time"}}})",
        services::actions_create);
  r.add("actions.update", "Change an action's title, description, status, assignee or due time",
        Permission::write,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "title":{"type":"string","minLength":1,"maxLength":500},
            "description":{"type":["string","null"],"maxLength":10000},
            "status":{"type":"string","enum":["open","in_progress","done","cancelled"]},
            "assignee_id":{"type":["string","null"],"format":"uuid"},
            "due_at":{"type":["string","null"],"format":"date-time"}}})",
        services::actions_update);
}

}  // namespace banxway::api
