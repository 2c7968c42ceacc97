// The mail test bed (scripts/lib/mail.sh: Dovecot IMAP + LMTP, OpenSMTPD) as tests see it.
// A test that needs it starts with BX_REQUIRE_MAIL(env): it skips with the reason when the test
// bed is not running, or fails when BANXWAY_REQUIRE_MAIL=1 (scripts/test sets that).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace bxtest {

struct MailEnv {
  std::string host;
  int imap_port = 0;
  int lmtp_port = 0;
  int smtp_port = 0;
  std::string user, password;
};

/// A folder of the calling test's own (user+folder@ delivers there), so parallel test processes
/// and repeated runs against one Dovecot never see each other's mail. Lower-case alphanumerics.
std::string unique_folder(const std::string& prefix);
/// The test bed address that delivers into `folder` of env.user's mailbox.
std::string rcpt_for(const MailEnv& env, const std::string& folder);

/// The running test bed, or nullopt when its ports are not in the environment.
std::optional<MailEnv> mail_env();
bool mail_required();

}  // namespace bxtest

#define BX_REQUIRE_MAIL(env)                                                                   \
  auto env##_opt = ::bxtest::mail_env();                                                       \
  if (!env##_opt) {                                                                            \
    if (::bxtest::mail_required())                                                             \
      FAIL() << "the mail test bed's ports are not set but BANXWAY_REQUIRE_MAIL=1";            \
    GTEST_SKIP() << "no mail test bed (BANXWAY_TEST_IMAP_PORT unset; "                         \
                    "source scripts/lib/mail.sh && mail_start)";                               \
  }                                                                                            \
  const ::bxtest::MailEnv& env = *env##_opt
