#include "support/mail_env.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
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

std::string unique_folder(const std::string& prefix) {
  static std::atomic<int> n{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string f = prefix + (info ? info->name() : "x") + "x" + std::to_string(::getpid()) + "x" +
                  std::to_string(n++) + "x" +
                  std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  std::string out;
  for (char ch : f)
    if (std::isalnum(static_cast<unsigned char>(ch)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string rcpt_for(const MailEnv& env, const std::string& folder) {
  auto at = env.user.find('@');
  return env.user.substr(0, at) + "+" + folder + env.user.substr(at);
}

bool mail_required() {
  const char* v = std::getenv("BANXWAY_REQUIRE_MAIL");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace bxtest
