#include "support/engine_fixture.hpp"

namespace bxtest {

using banxway::json::Document;

void EngineTest::SetUp() {
  BX_SKIP_IF_NO_BACKEND(GetParam());
  url = fresh_database_url(GetParam());
  banxway::EngineOptions o;
  o.database_url = url;
  o.jwt_secret = "test-secret-with-at-least-32-characters!";
  configure(o);
  auto e = banxway::Engine::open(o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  engine = std::move(e).value();
  for (auto* p : {&org_a, &org_b}) {
    auto b = engine->bootstrap(p == &org_a ? "Org A" : "Org B");
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    Document d;
    ASSERT_TRUE(banxway::json::parse(b->org_json, &d).ok());
    *p = d["id"].GetString();
    (p == &org_a ? key_a : key_b) = b->api_key;
  }
}

void EngineTest::TearDown() {
  engine.reset();
  remove_database(url);
}

banxway::Status EngineTest::call(const std::string& op, const std::string& params, Document* out,
                                 const std::string& key) {
  auto r = engine->call(op, params, key.empty() ? key_a : key);
  if (!r.ok()) return r.status();
  if (out) {
    auto st = banxway::json::parse(r->data, out, {64, SIZE_MAX});
    EXPECT_TRUE(st.ok()) << "result is not JSON: " << r->data;
  }
  return banxway::Status();
}

Document EngineTest::ok(const std::string& op, const std::string& params, const std::string& key) {
  Document d;
  auto st = call(op, params, &d, key);
  EXPECT_TRUE(st.ok()) << op << " " << params << " -> " << st.to_string();
  return d;
}

std::string EngineTest::fails(const std::string& op, const std::string& params,
                              banxway::Code code, const std::string& key) {
  auto st = call(op, params, nullptr, key);
  EXPECT_FALSE(st.ok()) << op << " " << params << " unexpectedly succeeded";
  EXPECT_EQ(banxway::code_name(st.code()), banxway::code_name(code))
      << op << " " << params << " -> " << st.to_string();
  return st.message();
}

std::string EngineTest::key_with_role(const std::string& role) {
  auto d = ok("apikeys.create", "{\"role\":\"" + role + "\"}");
  return d.IsObject() && d.HasMember("key") ? d["key"].GetString() : "";
}

EngineTest::TestUser EngineTest::make_user(const std::string& email, const std::string& role,
                                          const std::string& name) {
  using banxway::json::quote;
  std::string body = "{\"email\":" + quote(email) + ",\"role\":" + quote(role) +
                     (name.empty() ? "" : ",\"name\":" + quote(name)) + "}";
  TestUser u;
  u.id = str(ok("users.create", body), "id");
  u.key = str(ok("apikeys.create", "{\"role\":" + quote(role) + ",\"user_id\":" + quote(u.id) + "}"),
              "key");
  return u;
}

int64_t EngineTest::count(const std::string& sql, const std::vector<banxway::store::Value>& args) {
  banxway::store::DbOptions o;
  o.readers = 1;
  o.apply_migrations = false;
  auto db = banxway::store::open(url, o);
  EXPECT_TRUE(db.ok()) << db.status().to_string();
  if (!db.ok()) return -1;
  auto r = (*db)->query(sql, args);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() && !r->empty() ? r->rows[0].int64(0) : -1;
}

std::string str(const banxway::json::Value& v, const char* key) {
  if (!v.IsObject() || !v.HasMember(key) || !v[key].IsString()) return "";
  return v[key].GetString();
}

}  // namespace bxtest

#include "api/auth.hpp"

namespace banxway {
std::string api_test_sign(const std::string& claims, const std::string& secret) {
  return api::sign_jwt_hs256(claims, secret);
}
}  // namespace banxway
