// contacts.*
#include "api/registry.hpp"
#include "services/contacts.hpp"

namespace banxway::api {

namespace {
// Shared by create and update. Emails are lower-cased, phones normalized to E.164 and WhatsApp
// ids kept as given by the handler; the schema only bounds them.
constexpr const char* kIdentities = R"("identities":{"type":"array","maxItems":20,"items":{
    "type":"object","required":["kind","value"],"properties":{
      "kind":{"type":"string","enum":["email","phone","whatsapp"]},
      "value":{"type":"string","minLength":1,"maxLength":320}}}})";
}  // namespace

void register_contact_ops(Registry& r) {
  r.add("contacts.list", "List contacts, oldest first; customer_id filters", Permission::read,
        R"({"type":"object","properties":{
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048},
            "customer_id":{"type":"string","format":"uuid"}}})",
        services::contacts_list, true);
  r.add(
      "contacts.get", "Get a contact with its identities", Permission::read,
      R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
      services::contacts_get);
  r.add("contacts.create", "Create a contact", Permission::write,
        std::string(R"({"type":"object","properties":{
            "name":{"type":"string","minLength":1,"maxLength":200},
            "title":{"type":"string","maxLength":200},
            "customer_id":{"type":"string","format":"uuid"},)") +
            std::string(kIdentities) + "}}",
        services::contacts_create);
  r.add("contacts.update", "Change a contact; identities replaces the set", Permission::write,
        std::string(R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "name":{"type":["string","null"],"minLength":1,"maxLength":200},
            "title":{"type":["string","null"],"maxLength":200},
            "customer_id":{"type":["string","null"],"format":"uuid"},)") +
            std::string(kIdentities) + "}}",
        services::contacts_update);
  r.add(
      "contacts.delete", "Delete a contact and its identities; its threads are kept",
      Permission::remove,
      R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
      services::contacts_delete);
  r.add("contacts.merge",
        "Merge contact source_id into id: identities, threads and messages move; source deleted",
        Permission::write,
        R"({"type":"object","required":["id","source_id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "source_id":{"type":"string","format":"uuid"}}})",
        services::contacts_merge);
}

}  // namespace banxway::api
