// GET /api/v1/openapi.json: an OpenAPI 3.1 description generated at start-up from the route
// table (router.cpp) and the engine's operation registry (names, summaries, permissions, params
// schemas). Nothing is written by hand per route, so a new route or operation appears in it
// without further work.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "banxway/engine.hpp"
#include "config.hpp"
#include "params.hpp"
#include "router.hpp"

namespace bxserver {

struct OpenApiOptions {
  ServerConfig::MetricsMode metrics = ServerConfig::MetricsMode::public_;
  std::string_view version;  // the library version, as info.version
};

/// The OpenAPI document as JSON text.
std::string openapi_document(const Router& router, const std::vector<banxway::OperationInfo>& ops,
                             const OpCatalog& catalog, const OpenApiOptions& opt);

/// "/api/v1/shipments/:id" -> "/api/v1/shipments/{id}".
std::string openapi_path(std::string_view route_path);

}  // namespace bxserver
