// Contacts: the people behind customers, with the identities (email, phone, WhatsApp id) that
// messages are matched by. Identities are unique per organization.
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> contacts_list(api::Ctx& ctx, json::Value& p);
Result<std::string> contacts_get(api::Ctx& ctx, json::Value& p);
Result<std::string> contacts_create(api::Ctx& ctx, json::Value& p);
Result<std::string> contacts_update(api::Ctx& ctx, json::Value& p);
Result<std::string> contacts_delete(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
