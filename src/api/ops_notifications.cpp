// notifications.*: the caller's own notifications and preferences (a user principal only).
#include "api/registry.hpp"
#include "services/notifications.hpp"

namespace banxway::api {

void register_notification_ops(Registry& r) {
  // Read permission for all: every user, viewers included, manages their own notifications.
  r.add("notifications.list", "The caller's notifications, newest first", Permission::read,
        R"({"type":"object","properties":{
            "unread_only":{"type":"boolean"},
            "kind":{"type":"string","enum":["assigned","mention","reply","sla"]},
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::notifications_list, true);
  r.add("notifications.mark_read", "Mark one notification (id) or all of them (all: true) read",
        Permission::read,
        R"({"type":"object","properties":{
            "id":{"type":"string","format":"uuid"},
            "all":{"type":"boolean"}}})",
        services::notifications_mark_read);
  r.add("notifications.mark_all_read", "Mark every notification of the caller read",
        Permission::read, R"({"type":"object","properties":{}})",
        services::notifications_mark_all_read);
  r.add("notifications.unread_count", "How many of the caller's notifications are unread",
        Permission::read, R"({"type":"object","properties":{}})",
        services::notifications_unread_count);
  r.add("notifications.prefs_get", "The caller's notification preferences, per kind",
        Permission::read, R"({"type":"object","properties":{}})",
        services::notifications_prefs_get);
  r.add("notifications.prefs_update",
        "Change one kind's preference: in_app, email (never, offline or always)", Permission::read,
        R"({"type":"object","required":["kind"],"properties":{
            "kind":{"type":"string","enum":["assigned","mention","reply","sla"]},
            "in_app":{"type":"boolean"},
            "email":{"type":"string","enum":["never","offline","always"]}}})",
        services::notifications_prefs_update);
}

}  // namespace banxway::api
