// A gtest fixture: an Engine on a fresh database of the backend under test, with two
// organizations (A and B) and an admin API key for each.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "banxway/engine.hpp"
#include "core/json.hpp"
#include "store/db.hpp"
#include "support/backends.hpp"

namespace bxtest {

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;
  /// Lets a suite adjust the engine's options (a FakeClock, limits) before SetUp opens it.
  virtual void configure(banxway::EngineOptions& o) { (void)o; }

  /// Calls op with params as `who` (key A by default). Returns the status; on success the
  /// parsed data is in `out` when given.
  banxway::Status call(const std::string& op, const std::string& params,
                       banxway::json::Document* out = nullptr, const std::string& key = "");
  /// Calls and expects success; returns the parsed data.
  banxway::json::Document ok(const std::string& op, const std::string& params,
                             const std::string& key = "");
  /// Calls and expects failure with `code`; returns the message.
  std::string fails(const std::string& op, const std::string& params, banxway::Code code,
                    const std::string& key = "");
  /// A new API key in org A with the given role.
  std::string key_with_role(const std::string& role);
  /// COUNT-style query read straight from the database on a connection of its own (for rows
  /// no operation shows: audit, indexes, inbox rows); the first column of the first row.
  int64_t count(const std::string& sql, const std::vector<banxway::store::Value>& args);
  /// A new user of org A (role, optional display name) and an API key bound to that user.
  struct TestUser {
    std::string id, key;
  };
  TestUser make_user(const std::string& email, const std::string& role,
                     const std::string& name = "");

  std::unique_ptr<banxway::Engine> engine;
  std::string url;
  std::string org_a, key_a;
  std::string org_b, key_b;
};

/// Shorthand: string member of a JSON object.
std::string str(const banxway::json::Value& v, const char* key);

}  // namespace bxtest

#define BX_INSTANTIATE_BACKENDS(Suite) \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite, ::testing::ValuesIn(bxtest::backends()), \
                           bxtest::BackendName())

namespace banxway {
/// HS256-signs claims for tests (wraps api::sign_jwt_hs256).
std::string api_test_sign(const std::string& claims, const std::string& secret);
}  // namespace banxway
