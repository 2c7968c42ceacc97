// customers.*
#include "api/registry.hpp"
#include "services/customers.hpp"

namespace banxway::api {

void register_customer_ops(Registry& r) {
  r.add("customers.list", "List customers by name; q filters by name prefix", Permission::read,
        R"({"type":"object","properties":{
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048},
            "q":{"type":"string","minLength":1,"maxLength":200}}})",
        services::customers_list, true);
  r.add(
      "customers.get", "Get a customer", Permission::read,
      R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
      services::customers_get);
  r.add("customers.create", "Create a customer", Permission::write,
        R"({"type":"object","required":["name"],"properties":{
            "name":{"type":"string","minLength":1,"maxLength":200},
            "domains":{"type":"array","maxItems":20,
                       "items":{"type":"string","minLength":1,"maxLength":253}},
            "tier":{"type":"string","maxLength":50},
            "account_manager_id":{"type":"string","format":"uuid"},
            "notes":{"type":"string","maxLength":10000}}})",
        services::customers_create);
  r.add("customers.update", "Change a customer; domains replaces the set", Permission::write,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "name":{"type":"string","minLength":1,"maxLength":200},
            "domains":{"type":"array","maxItems":20,
                       "items":{"type":"string","minLength":1,"maxLength":253}},
            "tier":{"type":["string","null"],"maxLength":50},
            "account_manager_id":{"type":["string","null"],"format":"uuid"},
            "notes":{"type":["string","null"],"maxLength":10000}}})",
        services::customers_update);
  r.add(
      "customers.delete",
      "Delete a customer; its contacts and threads are kept, without the customer",
      Permission::remove,
      R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
      services::customers_delete);
  r.add(
      "customers.overview",
      "A customer at a glance: open threads, shipments, contacts, last contact time",
      Permission::read,
      R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
      services::customers_overview);
}

}  // namespace banxway::api
