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

/// The overview's two reads over the customer's threads, as run on `d`: the most recent open
/// threads (parameters org, customer; the select list and LIMIT appended by the caller are
/// `select_list` and `limit`) and the last message time (org, customer). On SQLite, which plans
/// without statistics, both name the customer's index so that they seek the customer's threads
/// instead of walking every thread or message of the organization (tests/threading/plan_test.cpp).
std::string customer_recent_open_threads_sql(store::Dialect d, const std::string& select_list,
                                             int limit);
std::string customer_last_contact_sql(store::Dialect d);

}  // namespace banxway::services
