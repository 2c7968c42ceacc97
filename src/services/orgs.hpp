#pragma once

#include <string_view>

#include "api/context.hpp"

namespace banxway::services {


/// Creates an organization and an admin API key in one transaction.
Result<Bootstrap> bootstrap_org(api::Core& core, std::string_view name);

}  // namespace banxway::services
