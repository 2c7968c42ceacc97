// search.messages and events.list
#include "api/registry.hpp"
#include "services/search.hpp"

namespace banxway::api {

void register_search_ops(Registry& r) {
  r.add("search.messages", "Full-text search over messages", Permission::read,
        R"({"type":"object","required":["q"],"properties":{
            "q":{"type":"string","minLength":1,"maxLength":256},
            "thread_id":{"type":"string","format":"uuid"},
            "limit":{"type":"integer","minimum":1,"maximum":100},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::search_messages, true);
}

void register_event_ops(Registry& r) {
  r.add("events.list", "The organization's event log after an event id, oldest first",
        Permission::read,
        R"({"type":"object","properties":{
            "after":{"type":"integer","minimum":0},
            "limit":{"type":"integer","minimum":1,"maximum":1000},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::events_list, true);
}

}  // namespace banxway::api
