// The C++ example from the README, kept compiling and running as a test.
#include <banxway/engine.hpp>
#include <iostream>

int main() {
  auto engine = banxway::Engine::open({.database_url = "sqlite::memory:"});
  if (!engine.ok()) { std::cerr << engine.status().to_string() << "\n"; return 1; }
  auto boot = (*engine)->bootstrap("Acme Logistics");
  auto created = (*engine)->call("threads.create", R"({"subject": "Customs hold"})", boot->api_key);
  auto page = (*engine)->call("threads.list", R"({"limit": 20})", boot->api_key);
  std::cout << page->data << "\n";  // {"items": [...], "next_cursor": null}
  return created.ok() && page.ok() ? 0 : 1;
}
