// shipments.*
#include <string>

#include "api/registry.hpp"
#include "services/shipments.hpp"

namespace banxway::api {
namespace {
constexpr const char* kReferences = R"("references":{"type":"array","maxItems":50,"items":{
    "type":"object","required":["kind","value"],"properties":{
      "kind":{"type":"string","enum":["booking","bl","container","awb"]},
      "value":{"type":"string","minLength":1,"maxLength":64}}}})";
constexpr const char* kModes = R"(["ocean","air","road","rail"])";
constexpr const char* kStatuses =
    R"(["planned","booked","in_transit","arrived","delivered","cancelled"])";
}  // namespace

void register_shipment_ops(Registry& r) {
  const std::string modes(kModes), statuses(kStatuses);
  r.add("shipments.list", "List shipments, newest first", Permission::read,
        R"({"type":"object","properties":{
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048},
            "status":{"type":"string","enum":)" +
            statuses + R"(},
            "customer_id":{"type":"string","format":"uuid"},
            "mode":{"type":"string","enum":)" +
            modes + "}}}",
        services::shipments_list, true);
  r.add(
      "shipments.get", "Get a shipment with its references, milestones and linked threads",
      Permission::read,
      R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
      services::shipments_get);
  r.add("shipments.create",
        "Create a shipment; references are checked (container and AWB check digits)",
        Permission::write,
        R"({"type":"object","required":["mode"],"properties":{
            "mode":{"type":"string","enum":)" +
            modes + R"(},
            "status":{"type":"string","enum":)" +
            statuses + R"(},
            "customer_id":{"type":"string","format":"uuid"},
            "origin":{"type":"string","minLength":5,"maxLength":6},
            "destination":{"type":"string","minLength":5,"maxLength":6},
            "etd":{"type":"string","format":"date-time"},
            "eta":{"type":"string","format":"date-time"},
            "parties":{"type":"object","additionalProperties":true},)" +
            std::string(kReferences) + "}}",
        services::shipments_create);
  r.add("shipments.update", "Change a shipment; references replaces the set", Permission::write,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "mode":{"type":"string","enum":)" +
            modes + R"(},
            "status":{"type":"string","enum":)" +
            statuses + R"(},
            "customer_id":{"type":["string","null"],"format":"uuid"},
            "origin":{"type":["string","null"],"minLength":5,"maxLength":6},
            "destination":{"type":["string","null"],"minLength":5,"maxLength":6},
            "etd":{"type":["string","null"],"format":"date-time"},
            "eta":{"type":["string","null"],"format":"date-time"},
            "parties":{"type":"object","additionalProperties":true},)" +
            std::string(kReferences) + "}}",
        services::shipments_update);
  r.add("shipments.lookup",
        "Find shipments by a reference (booking, B/L, container or AWB number; any formatting)",
        Permission::read,
        R"({"type":"object","required":["reference"],"properties":{
            "reference":{"type":"string","minLength":1,"maxLength":100},
            "kind":{"type":"string","enum":["booking","bl","container","awb"]}}})",
        services::shipments_lookup, true);
  r.add("shipments.set_milestone",
        "Set a shipment milestone's planned/actual time, location and note (upsert per kind)",
        Permission::write,
        R"({"type":"object","required":["shipment_id","kind"],"properties":{
            "shipment_id":{"type":"string","format":"uuid"},
            "kind":{"type":"string","enum":["booked","picked_up","gate_in","loaded","departed",
                                            "transshipped","arrived","customs_cleared","delivered"]},
            "planned_at":{"type":["string","null"],"format":"date-time"},
            "actual_at":{"type":["string","null"],"format":"date-time"},
            "location":{"type":["string","null"],"maxLength":200},
            "note":{"type":["string","null"],"maxLength":2000}}})",
        services::shipments_set_milestone);
  r.add("shipments.link_thread", "Link a thread to a shipment (idempotent)", Permission::write,
        R"({"type":"object","required":["shipment_id","thread_id"],"properties":{
            "shipment_id":{"type":"string","format":"uuid"},
            "thread_id":{"type":"string","format":"uuid"}}})",
        services::shipments_link_thread);
  r.add("shipments.unlink_thread", "Unlink a thread from a shipment (idempotent)",
        Permission::write,
        R"({"type":"object","required":["shipment_id","thread_id"],"properties":{
            "shipment_id":{"type":"string","format":"uuid"},
            "thread_id":{"type":"string","format":"uuid"}}})",
        services::shipments_unlink_thread);
  // Documents: uploading and downloading bytes are Engine::upload_document/download_document.
  r.add("shipments.documents_list", "List a shipment's documents (not deleted), oldest first",
        Permission::read,
        R"({"type":"object","required":["shipment_id"],"properties":{
            "shipment_id":{"type":"string","format":"uuid"},
            "kind":{"type":"string","enum":["bill_of_lading","invoice","packing_list",
              "certificate_of_origin","customs_declaration","delivery_order","other"]},
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::shipments_documents_list, true);
  r.add("shipments.document_delete", "Delete a shipment document (it stops being listed or served)",
        Permission::write,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::shipments_document_delete);
}

}  // namespace banxway::api
