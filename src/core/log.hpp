// Logging set-up: spdlog to stderr, plain text or one JSON object per line.
#pragma once

#include <string_view>

#include "banxway/status.hpp"

namespace banxway::log {

struct Options {
  std::string_view level = "info";  // trace debug info warn error critical off
  bool json_lines = false;          // {"ts":…,"level":…,"msg":…} per line, for log shippers
};

/// Configures the default logger. Unknown levels are invalid_argument.
Status configure(const Options& opts);

}  // namespace banxway::log
