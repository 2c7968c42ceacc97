// Customers: the forwarder's client companies, with the email domains that identify them.
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> customers_list(api::Ctx& ctx, json::Value& p);
Result<std::string> customers_get(api::Ctx& ctx, json::Value& p);
Result<std::string> customers_create(api::Ctx& ctx, json::Value& p);
Result<std::string> customers_update(api::Ctx& ctx, json::Value& p);
Result<std::string> customers_delete(api::Ctx& ctx, json::Value& p);
/// The customer with its open threads (count, most recent), shipments (count, newest),
/// contacts count and the time of the last message with them.
Result<std::string> customers_overview(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
