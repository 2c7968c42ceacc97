// Shipment references in messages (ARCHITECTURE.md §4.3): a message that names a container
// number or an air waybill — validated by its check digit — of a shipment already linked to one
// of the sender's open threads links its own thread to that shipment too. References link;
// they never merge threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/context.hpp"

namespace banxway::pipeline {

/// Inside the caller's transaction. Returns the shipments newly linked to `thread_id` (and
/// emits `thread.shipment_linked` for each).
Result<std::vector<std::string>> link_shipments_from_text(store::Conn& c, api::Ctx& ctx,
                                                          const std::string& thread_id,
                                                          const std::optional<std::string>& contact_id,
                                                          std::string_view text);

}  // namespace banxway::pipeline
