// Shipments: a forwarder's jobs (ocean, air, road, rail), known by their references (booking,
// B/L, container and AWB numbers), tracked by milestones, and linked to the threads that talk
// about them. docs/SHIPMENTS.md.
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> shipments_list(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_get(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_create(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_update(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_lookup(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_set_milestone(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_link_thread(api::Ctx& ctx, json::Value& p);
/// A shipment's JSON as shipments.get returns it (inside the caller's transaction).
Result<std::string> shipment_record(store::Conn& c, api::Ctx& ctx, const std::string& id);
/// shipments.link_thread inside the caller's transaction (workflow steps).
Status shipment_link_in(store::Conn& c, api::Ctx& ctx, const std::string& shipment_id,
                        const std::string& thread_id, std::string* out);
Result<std::string> shipments_unlink_thread(api::Ctx& ctx, json::Value& p);

// Documents (shipment_documents.cpp). Upload and download carry bytes, so they are Engine
// methods rather than registry operations; list and delete are operations.
struct DocumentBytes {
  std::string content_type;
  std::string filename;
  std::string bytes;
};
/// params: {shipment_id, kind?, filename?, content_type?}; checks size, type and content.
Result<std::string> shipments_document_upload(api::Ctx& ctx, std::string_view params_json,
                                              std::string_view bytes);
Result<DocumentBytes> shipments_document_download(api::Ctx& ctx, std::string_view id);
Result<std::string> shipments_documents_list(api::Ctx& ctx, json::Value& p);
Result<std::string> shipments_document_delete(api::Ctx& ctx, json::Value& p);
/// The last path component, control and reserved characters replaced, at most 200 bytes.
std::string sanitize_document_filename(std::string_view name);

}  // namespace banxway::services
