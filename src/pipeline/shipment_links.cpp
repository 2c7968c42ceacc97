#include "pipeline/shipment_links.hpp"

#include "services/shipment_refs.hpp"

namespace banxway::pipeline {

Result<std::vector<std::string>> link_shipments_from_text(store::Conn& c, api::Ctx& ctx,
                                                          const std::string& thread_id,
                                                          const std::optional<std::string>& contact_id,
                                                          std::string_view text) {
  std::vector<std::string> linked;
  if (!contact_id || text.empty()) return linked;
  auto found = services::find_references(text.substr(0, 64 * 1024));
  for (size_t i = 0; i < found.size() && i < 20; ++i) {
    const auto& f = found[i];
    // The shipment must already be linked to one of this contact's open threads.
    BX_ASSIGN_OR_RETURN(
        auto r, c.query("SELECT r.shipment_id FROM shipment_references r "
                        "JOIN thread_shipments ts ON ts.org_id = r.org_id AND "
                        "ts.shipment_id = r.shipment_id "
                        "JOIN threads t ON t.id = ts.thread_id "
                        "WHERE r.org_id = ? AND r.kind = ? AND r.value = ? AND t.contact_id = ? "
                        "AND t.merged_into IS NULL AND t.status IN ('open','pending','snoozed') "
                        "LIMIT 1",
                        {ctx.org(), std::string(services::ref_kind_name(f.kind)), f.value,
                         *contact_id}));
    if (r.empty()) continue;
    std::string shipment = r[0].str(0);
    auto ins = c.query("INSERT INTO thread_shipments (org_id, thread_id, shipment_id, created_at) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (org_id, thread_id, shipment_id) DO NOTHING "
                       "RETURNING shipment_id",
                       {ctx.org(), thread_id, shipment, ctx.now()});
    if (!ins.ok()) return ins.status();
    if (ins->empty()) continue;  // linked already
    linked.push_back(shipment);
    std::string data = "{\"shipment_id\":" + json::quote(shipment) + ",\"thread_id\":" +
                       json::quote(thread_id) + ",\"created_at\":" + json::quote(ctx.now()) +
                       ",\"linked\":true,\"by\":\"reference\",\"reference\":" +
                       json::quote(f.value) + "}";
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.shipment_linked", "shipment", shipment, thread_id, data));
  }
  return linked;
}

}  // namespace banxway::pipeline
