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
/// Merges contact source_id into id in one transaction: identities, threads and messages move
/// to id, id's empty fields are filled from the source, the source is deleted; contact.merged.
Result<std::string> contacts_merge(api::Ctx& ctx, json::Value& p);

/// Region for phone numbers written without a country code: the organization's settings
/// `default_region` (ISO 3166 alpha-2), else "IN".
Result<std::string> default_region(api::Ctx& ctx);
/// A phone number in E.164 (libphonenumber: parsed in `region`, valid), or nullopt.
std::optional<std::string> to_e164(const std::string& raw, const std::string& region);

}  // namespace banxway::services
