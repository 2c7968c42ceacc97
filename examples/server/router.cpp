#include "router.hpp"

namespace bxserver {
namespace {

struct RouteDef {
  std::string_view path;
  std::string_view id_param;
  Target target;
  std::string_view get, post, patch, del;
};

// The REST surface. Built-in endpoints use their own name as a placeholder "operation" so the
// method table works the same way for them.
// One route per line reads better than a wrapped table.
// clang-format off
constexpr RouteDef kRoutes[] = {
    {"/health", "", Target::health, "health", "", "", ""},
    {"/api/v1", "", Target::info, "info", "", "", ""},
    {"/api/v1/openapi.json", "", Target::openapi, "openapi", "", "", ""},
    {"/metrics", "", Target::metrics, "metrics", "", "", ""},
    {"/ws", "", Target::websocket, "websocket", "", "", ""},
    {"/api/v1/ops/:name", "", Target::any_operation, "", "*", "", ""},
    {"/api/v1/communications/threads", "", Target::operation, "threads.list", "threads.create", "", ""},
    {"/api/v1/communications/threads/bulk", "", Target::operation, "", "threads.bulk_update", "", ""},  // before :id
    {"/api/v1/communications/threads/:id", "id", Target::operation, "threads.get", "", "threads.update", ""},
    {"/api/v1/communications/threads/:id/assign", "id", Target::operation, "", "threads.assign", "", ""},
    {"/api/v1/communications/threads/:id/unassign", "id", Target::operation, "", "threads.unassign", "", ""},
    {"/api/v1/communications/threads/:id/follow", "id", Target::operation, "", "threads.follow", "", ""},
    {"/api/v1/communications/threads/:id/unfollow", "id", Target::operation, "", "threads.unfollow", "", ""},
    {"/api/v1/communications/threads/:id/followers", "id", Target::operation, "threads.followers", "", "", ""},
    {"/api/v1/communications/threads/:id/merge", "id", Target::operation, "", "threads.merge", "", ""},
    {"/api/v1/communications/messages/:id/split", "message_id", Target::operation, "", "threads.split", "", ""},
    {"/api/v1/communications/threads/:id/runs", "thread_id", Target::operation, "threads.runs", "", "", ""},
    {"/api/v1/workflows", "", Target::operation, "workflows.list", "workflows.create", "", ""},
    {"/api/v1/workflows/test", "", Target::operation, "", "workflows.test", "", ""},  // before :id
    {"/api/v1/workflows/:id", "id", Target::operation, "workflows.get", "", "workflows.update", "workflows.delete"},
    {"/api/v1/workflows/:id/versions", "id", Target::operation, "workflows.versions", "", "", ""},
    {"/api/v1/workflows/:id/runs", "id", Target::operation, "workflows.runs", "workflows.run", "", ""},
    {"/api/v1/workflows/:id/test", "id", Target::operation, "", "workflows.test", "", ""},
    {"/api/v1/workflow-runs/:id", "id", Target::operation, "workflow_runs.get", "", "", ""},
    {"/api/v1/workflow-runs/:id/cancel", "id", Target::operation, "", "workflow_runs.cancel", "", ""},
    {"/api/v1/workflow-runs/:id/retry", "id", Target::operation, "", "workflow_runs.retry", "", ""},
    {"/api/v1/communications/threads/:id/context", "thread_id", Target::operation, "compose.context", "", "", ""},
    {"/api/v1/communications/threads/:id/suggestions", "thread_id", Target::operation, "threads.suggestions", "", "", ""},
    {"/api/v1/communications/messages/:id/analyze", "message_id", Target::operation, "", "messages.analyze", "", ""},
    {"/api/v1/compose/context", "", Target::operation, "compose.context", "compose.context", "", ""},
    {"/api/v1/compose/suggest", "", Target::operation, "", "compose.suggest", "", ""},
    {"/api/v1/suggestions/:id", "id", Target::operation, "", "", "suggestions.update", ""},
    {"/api/v1/ai/usage", "", Target::operation, "ai.usage", "", "", ""},
    {"/api/v1/notifications", "", Target::operation, "notifications.list", "", "", ""},
    {"/api/v1/notifications/read-all", "", Target::operation, "", "notifications.mark_all_read", "", ""},
    {"/api/v1/notifications/unread-count", "", Target::operation, "notifications.unread_count", "", "", ""},
    {"/api/v1/notifications/preferences", "", Target::operation, "notifications.prefs_get", "", "notifications.prefs_update", ""},
    {"/api/v1/notifications/:id/read", "id", Target::operation, "", "notifications.mark_read", "", ""},
    {"/api/v1/communications/threads/:id/messages", "thread_id", Target::operation, "messages.list", "messages.send", "", ""},
    {"/api/v1/communications/messages", "", Target::operation, "", "messages.send", "", ""},
    {"/api/v1/communications/messages/:id/cancel", "id", Target::operation, "", "messages.cancel", "", ""},
    {"/api/v1/communications/threads/:id/notes", "thread_id", Target::operation, "", "messages.create_note", "", ""},
    {"/api/v1/communications/notes", "", Target::operation, "", "messages.create_note", "", ""},
    {"/api/v1/communications/actions", "", Target::operation, "actions.list", "actions.create", "", ""},
    {"/api/v1/communications/actions/:id", "id", Target::operation, "actions.get", "", "actions.update", ""},
    {"/api/v1/customers", "", Target::operation, "customers.list", "customers.create", "", ""},
    {"/api/v1/customers/:id", "id", Target::operation, "customers.get", "", "customers.update", "customers.delete"},
    {"/api/v1/customers/:id/overview", "id", Target::operation, "customers.overview", "", "", ""},
    {"/api/v1/shipments", "", Target::operation, "shipments.list", "shipments.create", "", ""},
    {"/api/v1/shipments/lookup", "", Target::operation, "shipments.lookup", "", "", ""},  // before :id (first match wins)
    {"/api/v1/shipments/:id", "id", Target::operation, "shipments.get", "", "shipments.update", ""},
    {"/api/v1/shipments/:id/milestones", "shipment_id", Target::operation, "", "shipments.set_milestone", "", ""},
    {"/api/v1/shipments/:id/threads", "shipment_id", Target::operation, "", "shipments.link_thread", "", ""},
    {"/api/v1/shipments/:id/documents", "shipment_id", Target::operation, "shipments.documents_list", "documents.upload", "", ""},
    {"/api/v1/documents/:id", "id", Target::operation, "", "", "", "shipments.document_delete"},
    {"/api/v1/documents/:id/download", "id", Target::document_download, "documents.download", "", "", ""},
    {"/api/v1/contacts", "", Target::operation, "contacts.list", "contacts.create", "", ""},
    {"/api/v1/contacts/:id", "id", Target::operation, "contacts.get", "", "contacts.update", "contacts.delete"},
    {"/api/v1/contacts/:id/merge", "id", Target::operation, "", "contacts.merge", "", ""},
    {"/api/v1/users", "", Target::operation, "users.list", "users.create", "", ""},
    {"/api/v1/users/me", "", Target::operation, "users.me", "", "", ""},  // before :id (first match wins)
    {"/api/v1/users/invite", "", Target::operation, "", "users.invite", "", ""},  // before :id
    {"/api/v1/users/:id", "id", Target::operation, "users.get", "", "users.update", ""},
    {"/api/v1/users/:id/deactivate", "id", Target::operation, "", "users.deactivate", "", ""},
    {"/api/v1/users/:id/role", "id", Target::operation, "", "users.set_role", "", ""},
    {"/api/v1/analytics/volume", "", Target::operation, "analytics.volume", "", "", ""},
    {"/api/v1/analytics/response-times", "", Target::operation, "analytics.response_times", "", "", ""},
    {"/api/v1/analytics/backlog", "", Target::operation, "analytics.backlog", "", "", ""},
    {"/api/v1/analytics/sla", "", Target::operation, "analytics.sla", "", "", ""},
    {"/api/v1/sla-policies", "", Target::operation, "sla_policies.list", "sla_policies.create", "", ""},
    {"/api/v1/sla-policies/:id", "id", Target::operation, "sla_policies.get", "", "sla_policies.update", "sla_policies.delete"},
    {"/api/v1/business-calendars", "", Target::operation, "business_calendars.list", "business_calendars.create", "", ""},
    {"/api/v1/business-calendars/:id", "id", Target::operation, "business_calendars.get", "", "business_calendars.update", "business_calendars.delete"},
    {"/api/v1/sla-milestone-rules", "", Target::operation, "sla_milestone_rules.list", "sla_milestone_rules.create", "", ""},
    {"/api/v1/sla-milestone-rules/:id", "id", Target::operation, "sla_milestone_rules.get", "", "sla_milestone_rules.update", "sla_milestone_rules.delete"},
    {"/api/v1/search", "", Target::operation, "search.messages", "", "", ""},
    {"/api/v1/events", "", Target::operation, "events.list", "", "", ""},
    {"/api/v1/org", "", Target::operation, "orgs.get", "", "orgs.update", ""},
    {"/api/v1/apikeys", "", Target::operation, "apikeys.list", "apikeys.create", "", ""},
    {"/api/v1/apikeys/:id", "id", Target::operation, "", "", "", "apikeys.revoke"},
    {"/api/v1/channels", "", Target::operation, "channels.list", "channels.create", "", ""},
    {"/api/v1/channels/:id", "id", Target::operation, "channels.get", "", "channels.update", ""},
    {"/api/v1/channels/:id/sync", "id", Target::operation, "", "channels.sync", "", ""},
    {"/api/v1/webhook-subscriptions", "", Target::operation, "webhooks.list", "webhooks.create", "", ""},
    {"/api/v1/webhook-subscriptions/:id", "id", Target::operation, "webhooks.get", "", "webhooks.update", "webhooks.delete"},
    {"/api/v1/webhook-subscriptions/:id/deliveries", "subscription_id", Target::operation, "webhooks.deliveries", "", "", ""},
    {"/api/v1/webhook-subscriptions/:id/rotate-secret", "id", Target::operation, "", "webhooks.rotate_secret", "", ""},
    {"/api/v1/webhook-subscriptions/:id/test", "id", Target::operation, "", "webhooks.test", "", ""},
    {"/api/v1/webhook-deliveries", "", Target::operation, "webhooks.deliveries", "", "", ""},
    {"/api/v1/webhook-deliveries/:id", "id", Target::operation, "webhooks.delivery_get", "", "", ""},
    {"/api/v1/webhook-deliveries/:id/redeliver", "id", Target::operation, "", "webhooks.redeliver", "", ""},
    {"/api/v1/webhooks/exotel/sms/:token", "token", Target::webhook, "", "exotel/sms", "", ""},
    {"/api/v1/webhooks/exotel/whatsapp/:token", "token", Target::webhook, "", "exotel/whatsapp", "", ""},
    {"/api/v1/webhooks/exotel/voice/:token", "token", Target::webhook, "exotel/voice", "exotel/voice", "", ""},
    {"/api/v1/webhooks/meta/whatsapp", "", Target::webhook, "meta/whatsapp", "meta/whatsapp", "", ""},
    {"/api/v1/webhooks/twilio/sms", "", Target::webhook, "", "twilio/sms", "", ""},
    {"/api/v1/webhooks/twilio/whatsapp", "", Target::webhook, "", "twilio/whatsapp", "", ""},
    {"/api/v1/webhooks/twilio/voice", "", Target::webhook, "", "twilio/voice", "", ""},
    {"/api/v1/inbound/email", "", Target::inbound_email, "", "inbound.email", "", ""},
};
// clang-format on

// Splits "/a/b/" into {"a","b"}: one trailing slash is ignored so "/x/" routes like "/x".
// Returns false when there are more segments than `segs` holds (no route is that deep).
template <size_t N>
bool split_path(std::string_view p, std::array<std::string_view, N>& segs, size_t& n) {
  n = 0;
  if (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  while (!p.empty()) {
    if (p.front() == '/') p.remove_prefix(1);
    if (n == N) return false;
    auto slash = p.find('/');
    segs[n++] = p.substr(0, slash);
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash);
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Built-ins that share a path with operations get their own target per method.
Target target_of(std::string_view op, Target route_target) {
  if (op == "documents.upload") return Target::document_upload;
  return route_target;
}

constexpr Method kTableMethods[] = {Method::get, Method::post, Method::patch, Method::del};

}  // namespace

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::post: return "POST";
    case Method::patch: return "PATCH";
    case Method::del: return "DELETE";
    case Method::put: return "PUT";
    case Method::head: return "HEAD";
    case Method::options: return "OPTIONS";
    case Method::other: break;
  }
  return "OTHER";
}

Method method_from(std::string_view name) {
  if (name == "GET") return Method::get;
  if (name == "POST") return Method::post;
  if (name == "PATCH") return Method::patch;
  if (name == "DELETE") return Method::del;
  if (name == "PUT") return Method::put;
  if (name == "HEAD") return Method::head;
  if (name == "OPTIONS") return Method::options;
  return Method::other;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

Router::Router() {
  routes_.reserve(std::size(kRoutes));
  for (const auto& d : kRoutes) {
    Route r;
    std::array<std::string_view, 8> segs;
    size_t n = 0;
    split_path(d.path, segs, n);
    r.segments.assign(segs.begin(), segs.begin() + n);
    r.id_param = d.id_param;
    r.target = d.target;
    r.ops[static_cast<int>(Method::get)] = d.get;
    r.ops[static_cast<int>(Method::post)] = d.post;
    r.ops[static_cast<int>(Method::patch)] = d.patch;
    r.ops[static_cast<int>(Method::del)] = d.del;
    r.path = d.path;
    for (Method m : kTableMethods)
      r.targets[static_cast<int>(m)] = target_of(r.ops[static_cast<int>(m)], d.target);
    static constexpr std::pair<Method, std::string_view> kNames[] = {{Method::get, "GET"},
                                                                     {Method::post, "POST"},
                                                                     {Method::patch, "PATCH"},
                                                                     {Method::del, "DELETE"}};
    for (auto [m, name] : kNames) {
      if (r.ops[static_cast<int>(m)].empty()) continue;
      r.allow += name;
      r.allow += ", ";
    }
    r.allow += "OPTIONS";
    routes_.push_back(std::move(r));
  }
}

const Router::Route* Router::find(std::string_view path, std::string& var, bool& bad_escape) const {
  // Routes have at most 5 segments; a fixed buffer keeps matching allocation-free.
  std::array<std::string_view, 8> segs;
  size_t n = 0;
  if (!split_path(path, segs, n)) return nullptr;
  for (const auto& r : routes_) {
    if (r.segments.size() != n) continue;
    size_t var_at = n;
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i) {
      if (!r.segments[i].empty() && r.segments[i].front() == ':') {
        if (segs[i].empty()) ok = false;
        var_at = i;
      } else {
        ok = r.segments[i] == segs[i];
      }
    }
    if (!ok) continue;
    if (var_at < n) bad_escape = !percent_decode(segs[var_at], var, false);
    return &r;
  }
  return nullptr;
}

RouteMatch Router::match(Method m, std::string_view path) const {
  RouteMatch out;
  bool bad_escape = false;
  const Route* r = find(path, out.id_value, bad_escape);
  if (!r || bad_escape) return out;  // a malformed %-escape names no resource: 404
  out.allow = r->allow;
  out.pattern = r->path;
  std::string_view op = r->ops[static_cast<int>(m)];
  if (op.empty()) {
    out.kind = RouteMatch::Kind::method_not_allowed;
    return out;
  }
  out.kind = RouteMatch::Kind::found;
  out.target = r->targets[static_cast<int>(m)];
  out.op = op;
  out.id_param = r->id_param;
  return out;
}

std::vector<std::string_view> Router::operations() const {
  std::vector<std::string_view> out;
  for (const auto& r : routes_) {
    for (size_t i = 0; i < r.ops.size(); ++i)
      if (!r.ops[i].empty() && r.targets[i] == Target::operation) out.push_back(r.ops[i]);
  }
  return out;
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) {
    RouteInfo info{r.path, r.id_param, {}};
    for (Method m : kTableMethods) {
      auto op = r.ops[static_cast<int>(m)];
      if (!op.empty()) info.methods.push_back({m, op, r.targets[static_cast<int>(m)]});
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace bxserver
