// Channel accounts: the mailboxes (and later WhatsApp senders, SMS ids, voice numbers) an
// organization talks through. Credentials go in `secrets`, which is write-only: reads show only
// which secrets are set, never their values. Layout: docs/EMAIL.md, "Channel accounts".
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> channels_list(api::Ctx& ctx, json::Value& p);
Result<std::string> channels_get(api::Ctx& ctx, json::Value& p);
Result<std::string> channels_create(api::Ctx& ctx, json::Value& p);
Result<std::string> channels_update(api::Ctx& ctx, json::Value& p);

/// The account as API JSON (secrets replaced by the names of those set; IMAP folder cursors).
Result<std::string> channel_json(store::Conn& c, api::Ctx& ctx, const std::string& id);

/// Records an account's health (ok | auth_failed | unreachable) and, unless ok, the error text
/// (which never contains a password), in its own transaction. Emits `channel.status_changed`
/// only when the status changes. Returns whether it changed.
Result<bool> set_channel_status(api::Ctx& ctx, const std::string& id, std::string_view status,
                                std::string_view error);

}  // namespace banxway::services
