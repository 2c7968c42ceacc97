#include <cctype>
#include <map>
#include <mutex>
#include <string>

#include "channels/messaging/adapters.hpp"
#include "channels/messaging/provider.hpp"
#include "channels/messaging/types.hpp"

namespace banxway::messaging {

std::string_view status_name(DeliveryStatus s) noexcept {
  switch (s) {
    case DeliveryStatus::queued: return "queued";
    case DeliveryStatus::sent: return "sent";
    case DeliveryStatus::delivered: return "delivered";
    case DeliveryStatus::read: return "read";
    case DeliveryStatus::failed: return "failed";
  }
  return "queued";
}

std::optional<DeliveryStatus> status_from_name(std::string_view s) noexcept {
  if (s == "queued") return DeliveryStatus::queued;
  if (s == "sent") return DeliveryStatus::sent;
  if (s == "delivered") return DeliveryStatus::delivered;
  if (s == "read") return DeliveryStatus::read;
  if (s == "failed") return DeliveryStatus::failed;
  return std::nullopt;
}

int status_rank(DeliveryStatus s) noexcept { return static_cast<int>(s); }

std::string WebhookRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < k.size() && eq; ++i)
      eq = std::tolower(static_cast<unsigned char>(k[i])) ==
           std::tolower(static_cast<unsigned char>(name[i]));
    if (eq) return v;
  }
  return "";
}

namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, ProviderFactory, std::less<>> factories;
  std::map<std::string, std::unique_ptr<Provider>, std::less<>> instances;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: adapters outlive static teardown
  return *r;
}

// Keeps every adapter's object file in statically linked binaries (see adapters.hpp).
void link_adapters() {
  static const bool once = [] {
    exotel::link_adapter();
    meta::link_adapter();
    twilio::link_adapter();
    return true;
  }();
  (void)once;
}

}  // namespace

bool register_provider(std::string_view name, ProviderFactory factory) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories.emplace(std::string(name), std::move(factory));
  return true;
}

Provider* provider_for(std::string_view name) {
  link_adapters();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (auto it = r.instances.find(name); it != r.instances.end()) return it->second.get();
  auto f = r.factories.find(name);
  if (f == r.factories.end()) return nullptr;
  auto p = f->second();
  Provider* raw = p.get();
  r.instances.emplace(std::string(name), std::move(p));
  return raw;
}

}  // namespace banxway::messaging
