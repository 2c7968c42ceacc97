// How adapters make themselves known: each provider folder registers a factory at static
// initialization, and provider_for() looks it up by name. A static archive drops object files
// nothing references, so each adapter also defines an empty link_adapter() in the same file,
// which the registry calls: that reference keeps the adapter (and its registration) linked.
//
//   namespace { const bool registered = banxway::messaging::register_provider(
//       "exotel", [] { return std::make_unique<ExotelProvider>(); }); }
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "channels/messaging/provider.hpp"

namespace banxway::messaging {

using ProviderFactory = std::function<std::unique_ptr<Provider>()>;

/// Registers the adapter for `name` (called once per provider, at static initialization).
bool register_provider(std::string_view name, ProviderFactory factory);

}  // namespace banxway::messaging

namespace banxway::exotel {
void link_adapter();
}
namespace banxway::messaging::meta {
void link_adapter();
}
namespace banxway::messaging::twilio {
void link_adapter();
}
namespace banxway::messaging {

}  // namespace banxway::messaging
