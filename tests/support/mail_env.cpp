#include "support/mail_env.hpp"

#include <cstdlib>

namespace bxtest {

std::optional<MailEnv> mail_env() {
  auto get = [](const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr && *v != '\0' ? v : fallback);
  };
  MailEnv e;
  e.imap_port = std::atoi(get("BANXWAY_TEST_IMAP_PORT", "0").c_str());
  e.lmtp_port = std::atoi(get("BANXWAY_TEST_LMTP_PORT", "0").c_str());
  e.smtp_port = std::atoi(get("BANXWAY_TEST_SMTP_PORT", "0").c_str());
  if (e.imap_port == 0 || e.lmtp_port == 0 || e.smtp_port == 0) return std::nullopt;
  e.host = get("BANXWAY_TEST_IMAP_HOST", "127.0.0.1");
  e.user = get("BANXWAY_TEST_MAIL_USER", "ops@example.test");
  e.password = get("BANXWAY_TEST_MAIL_PASSWORD", "secret");
  return e;
}

bool mail_required() {
  const char* v = std::getenv("BANXWAY_REQUIRE_MAIL");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace bxtest
