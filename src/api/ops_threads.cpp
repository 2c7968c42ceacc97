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
  r.add("threads.assign", "Assign a thread to an active user (notifies them)", Permission::write,
        R"({"type":"object","required":["id","assignee_id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "assignee_id":{"type":"string","format":"uuid"}}})",
        services::threads_assign);
  r.add("threads.unassign", "Remove a thread's assignee", Permission::write,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::threads_unassign);
  r.add("threads.follow",
        "Follow a thread (replies notify its followers); user_id other than the caller needs manager",
        Permission::read,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "user_id":{"type":"string","format":"uuid"}}})",
        services::threads_follow);
  r.add("threads.unfollow", "Stop following a thread", Permission::read,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "user_id":{"type":"string","format":"uuid"}}})",
        services::threads_unfollow);
  r.add("threads.followers", "A thread's followers", Permission::read,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::threads_followers, true);
  r.add("threads.merge",
        "Merge thread source_id into thread id (messages, notes, channels, shipment links, followers)",
        Permission::write,
        R"({"type":"object","required":["id","source_id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "source_id":{"type":"string","format":"uuid"}}})",
        services::threads_merge);
  r.add("threads.split", "Move a message (and optionally the later ones) into a new thread",
        Permission::write,
        R"({"type":"object","required":["message_id"],"properties":{
            "message_id":{"type":"string","format":"uuid"},
            "subject":{"type":"string","minLength":1,"maxLength":998},
            "include_later":{"type":"boolean"}}})",
        services::threads_split);
  r.add("threads.bulk_update", "Set the status of up to 200 threads at once (all or nothing)",
        Permission::write,
        R"({"type":"object","required":["ids","status"],"properties":{
            "ids":{"type":"array","minItems":1,"maxItems":200,"items":{"type":"string","format":"uuid"}},
            "status":{"type":"string","enum":["open","pending","resolved","closed"]}}})",
        services::threads_bulk_update);
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
