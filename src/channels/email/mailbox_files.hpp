// Reading messages out of mbox files and maildir folders (for imports).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "banxway/status.hpp"

namespace banxway::email {

/// Calls fn(message, index) for each message of an mbox (classic "From " separator lines;
/// ">From " escapes of mboxrd/mboxo are undone). fn returning false stops the walk.
Status for_each_mbox_message(const std::string& path,
                             const std::function<bool(std::string&& raw, size_t index)>& fn);

/// Calls fn(message, file name) for each file in DIR/cur and DIR/new (or DIR itself when it
/// holds files directly), in name order.
Status for_each_maildir_message(
    const std::string& dir, const std::function<bool(std::string&& raw, const std::string& name)>& fn);

}  // namespace banxway::email
