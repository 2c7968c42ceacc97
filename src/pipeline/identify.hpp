// Identify: addresses to contacts (known identity first, else a new contact) and contacts to
// customers by email domain.
#pragma once

#include <optional>
#include <set>
#include <string>

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

/// The contact owning this email address, created (with the display name, and the customer
/// whose domain matches) when none does. Emits contact.created for new contacts.
Result<ContactRef> contact_for_email(store::Conn& c, api::Ctx& ctx, const std::string& email,
                                     const std::string& display_name);

}  // namespace banxway::pipeline
