// threads.* and messages.*
#include "api/registry.hpp"
#include "services/threads.hpp"

namespace banxway::api {

void register_thread_ops(Registry& r) {
  r.add("threads.list", "List threads, most recent activity first", Permission::read,
        R"({"type":"object","properties":{
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048},
            "status":{"type":"string","enum":["open","pending","snoozed","resolved","closed"]},
            "priority":{"type":"string","enum":["low","normal","high","urgent"]},
            "assignee_id":{"type":"string","format":"uuid"},
            "customer_id":{"type":"string","format":"uuid"},
            "contact_id":{"type":"string","format":"uuid"},
            "tag":{"type":"string","minLength":1,"maxLength":64}}})",
        services::threads_list, true);
  r.add("threads.get", "Get a thread", Permission::read,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::threads_get);
  r.add("threads.create", "Create a thread", Permission::write,
        R"({"type":"object","required":["subject"],"properties":{
            "subject":{"type":"string","minLength":1,"maxLength":998},
            "channel":{"type":"string","enum":["email","whatsapp","sms","voice"]},
            "status":{"type":"string","enum":["open","pending","snoozed","resolved","closed"]},
            "priority":{"type":"string","enum":["low","normal","high","urgent"]},
            "assignee_id":{"type":"string","format":"uuid"},
            "customer_id":{"type":"string","format":"uuid"},
            "contact_id":{"type":"string","format":"uuid"},
            "snoozed_until":{"type":"string","format":"date-time"},
            "tags":{"type":"array","maxItems":50,"items":{"type":"string","minLength":1,"maxLength":64}}}})",
        services::threads_create);
  r.add("threads.update", "Change a thread's status, priority, assignee, tags or snooze",
        Permission::write,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "subject":{"type":"string","minLength":1,"maxLength":998},
            "status":{"type":"string","enum":["open","pending","snoozed","resolved","closed"]},
            "priority":{"type":"string","enum":["low","normal","high","urgent"]},
            "assignee_id":{"type":["string","null"],"format":"uuid"},
            "customer_id":{"type":["string","null"],"format":"uuid"},
            "contact_id":{"type":["string","null"],"format":"uuid"},
            "snoozed_until":{"type":["string","null"],"format":"date-time"},
            "tags":{"type":"array","maxItems":50,"items":{"type":"string","minLength":1,"maxLength":64}}}})",
        services::threads_update);
}

void register_message_ops(Registry& r) {
  r.add("messages.list", "A thread's messages and notes, oldest first", Permission::read,
        R"({"type":"object","required":["thread_id"],"properties":{
            "thread_id":{"type":"string","format":"uuid"},
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::messages_list, true);
  r.add("messages.create_note", "Add an internal note to a thread", Permission::write,
        R"({"type":"object","required":["thread_id","text"],"properties":{
            "thread_id":{"type":"string","format":"uuid"},
            "text":{"type":"string","minLength":1,"maxLength":65536}}})",
        services::messages_create_note);
}

}  // namespace banxway::api
