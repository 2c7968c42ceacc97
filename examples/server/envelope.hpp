// The response envelope of the REST surface:
//   {"success":true,"data":…}  /  {"success":true,"data":[…],"pagination":{"next_cursor":…}}
//   {"success":false,"error":{"code":"…","message":"…","details":…}}
// Operation results are already JSON text; they are spliced in, not re-parsed, except that
// list results are split into items and cursor by a scanner that allocates nothing.
#pragma once

#include <string>
#include <string_view>

#include "banxway/status.hpp"

namespace bxserver {

/// Appends `s` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

std::string success_envelope(std::string_view data);
/// `data` is {"items":[…],"next_cursor":…}; falls back to success_envelope if it is not.
std::string list_envelope(std::string_view data);
std::string error_envelope(std::string_view code, std::string_view message,
                           std::string_view details_json = {});
std::string error_envelope(const banxway::Status& st);

/// Finds the raw text of a top-level member of a JSON object (trusted, well-formed text).
bool find_member(std::string_view object, std::string_view key, std::string_view& value);

}  // namespace bxserver
