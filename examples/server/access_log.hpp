// The access log: one line per request on stderr. Lines are batched and written at most every
// second (or per 64 KiB), because a write(2) per request behind one mutex halved throughput
// under load; errors and start-up messages still go out immediately on the default logger.
#pragma once

#include <memory>

namespace spdlog {
class logger;
}

namespace bxserver {

/// Creates (once) and returns the "access" logger.
std::shared_ptr<spdlog::logger> access_logger();

}  // namespace bxserver
