// Identify: addresses to contacts (known identity first, else a new contact) and contacts to
// customers by email domain.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "api/context.hpp"

namespace banxway::pipeline {

struct ContactRef {
  std::string contact_id;
  std::optional<std::string> customer_id;
  bool created = false;
};

/// The organization's own addresses (users and email channel accounts), lower-cased: mail
/// from one of them is outbound, and they never become contacts.
Result<std::set<std::string>> own_addresses(store::Conn& c, const std::string& org);

/// Lookups remembered for the length of one write transaction (a batch of imported messages):
/// the transaction is the only writer, so what it read or wrote itself stays true until it
/// ends. Must not outlive the transaction (a rollback would leave ids of contacts that were
/// never committed).
struct IdentifyCache {
  std::optional<std::set<std::string>> own;               // own_addresses()
  std::unordered_map<std::string, ContactRef> contacts;  // email -> contact (created=false)
};

/// The contact owning this email address, created (with the display name, and the customer
/// whose domain matches) when none does. Emits contact.created for new contacts. With a cache,
/// an address seen earlier in the same transaction is answered without a query.
Result<ContactRef> contact_for_email(store::Conn& c, api::Ctx& ctx, const std::string& email,
                                     const std::string& display_name,
                                     IdentifyCache* cache = nullptr);

/// own_addresses() read once per transaction.
Result<const std::set<std::string>*> own_addresses(store::Conn& c, const std::string& org,
                                                   IdentifyCache& cache);

}  // namespace banxway::pipeline
