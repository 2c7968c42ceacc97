// An email channel account as the runtime uses it: the IMAP side (where mail is read), the SMTP
// side (how mail is sent) and the address banxway sends as, decoded from the channel_accounts
// row (config JSON + secrets JSON). The operations that edit these rows live in
// services/channel_accounts; the JSON layout is documented in docs/EMAIL.md, "Channel accounts".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "banxway/status.hpp"
#include "channels/email/imap_client.hpp"
#include "channels/email/smtp_sender.hpp"
#include "store/db.hpp"

namespace banxway::email {

struct ImapSettings {
  ImapConfig conn;
  std::vector<std::string> folders{"INBOX"};
  std::chrono::seconds poll_interval{30};  // the safety-net poll, and the poll without IDLE
  bool use_idle = true;                    // IDLE when the server advertises it
  size_t page_size = 100;                  // messages fetched and stored per transaction
};

struct EmailAccount {
  std::string id, org_id;
  std::string address;    // the From address of mail sent through this account
  std::string from_name;  // display name for From, may be empty
  bool active = true;
  std::string status;     // ok | auth_failed | unreachable
  std::optional<ImapSettings> imap;
  std::optional<SmtpConfig> smtp;
};

/// Decodes an account from its stored config and secrets JSON texts. invalid_argument naming
/// the field when something the runtime needs is missing or malformed.
Result<EmailAccount> decode_email_account(std::string id, std::string org_id, std::string address,
                                          bool active, std::string status,
                                          std::string_view config_json,
                                          std::string_view secrets_json);

/// Loads the email account `id` of `org` (not_found when it is not an email account there).
Result<EmailAccount> load_email_account(store::Conn& c, const std::string& org,
                                        const std::string& id);

}  // namespace banxway::email
