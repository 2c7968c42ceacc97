#include "pipeline/identify.hpp"

#include "services/rowjson.hpp"

namespace banxway::pipeline {

Result<std::set<std::string>> own_addresses(store::Conn& c, const std::string& org) {
  std::set<std::string> out;
  BX_ASSIGN_OR_RETURN(auto users, c.query("SELECT lower(email) FROM users WHERE org_id = ?", {org}));
  for (const auto& r : users) out.insert(r.str(0));
  BX_ASSIGN_OR_RETURN(auto accts, c.query("SELECT lower(address) FROM channel_accounts "
                                          "WHERE org_id = ? AND channel = 'email' AND address IS NOT NULL",
                                          {org}));
  for (const auto& r : accts) out.insert(r.str(0));
  return out;
}

Result<const std::set<std::string>*> own_addresses(store::Conn& c, const std::string& org,
                                                   IdentifyCache& cache) {
  if (!cache.own) {
    BX_ASSIGN_OR_RETURN(auto own, own_addresses(c, org));
    cache.own = std::move(own);
  }
  return &*cache.own;
}

Result<ContactRef> contact_for_email(store::Conn& c, api::Ctx& ctx, const std::string& email,
                                     const std::string& display_name, IdentifyCache* cache) {
  if (cache) {
    if (auto it = cache->contacts.find(email); it != cache->contacts.end()) return it->second;
  }
  auto remember = [&](const ContactRef& ref) {
    if (!cache) return;
    ContactRef seen = ref;
    seen.created = false;  // as a later lookup in the database would report it
    cache->contacts.emplace(email, std::move(seen));
  };
  BX_ASSIGN_OR_RETURN(
      auto known,
      c.query("SELECT ci.contact_id, k.customer_id FROM contact_identities ci "
              "JOIN contacts k ON k.id = ci.contact_id "
              "WHERE ci.org_id = ? AND ci.kind = 'email' AND ci.value = ?",
              {ctx.org(), email}));
  if (!known.empty()) {
    ContactRef ref{known[0].str(0), known[0].opt(1), false};
    remember(ref);
    return ref;
  }

  ContactRef ref;
  ref.created = true;
  ref.contact_id = ctx.new_id();
  auto at = email.rfind('@');
  if (at != std::string::npos) {
    // The most specific registered domain wins: mail.acme.example before acme.example.
    std::string domain = email.substr(at + 1);
    for (;;) {
      BX_ASSIGN_OR_RETURN(auto cust, c.query("SELECT customer_id FROM customer_domains "
                                             "WHERE org_id = ? AND domain = ?",
                                             {ctx.org(), domain}));
      if (!cust.empty()) {
        ref.customer_id = cust[0].str(0);
        break;
      }
      auto dot = domain.find('.');
      if (dot == std::string::npos || domain.find('.', dot + 1) == std::string::npos) break;
      domain = domain.substr(dot + 1);
    }
  }
  std::optional<std::string> name;
  if (!display_name.empty()) name = display_name.substr(0, 200);
  auto r = c.query(
      "INSERT INTO contacts (id, org_id, customer_id, name, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {ref.contact_id, ctx.org(), store::Value(ref.customer_id), store::Value(name), ctx.now(),
       ctx.now()});
  if (!r.ok()) return r.status();
  r = c.query(
      "INSERT INTO contact_identities (id, org_id, contact_id, kind, value, created_at) "
      "VALUES (?, ?, ?, 'email', ?, ?)",
      {ctx.new_id(), ctx.org(), ref.contact_id, email, ctx.now()});
  if (!r.ok()) return r.status();
  std::string data = "{\"id\":" + json::quote(ref.contact_id) + ",\"name\":" +
                     (name ? json::quote(*name) : std::string("null")) + ",\"customer_id\":" +
                     (ref.customer_id ? json::quote(*ref.customer_id) : std::string("null")) +
                     ",\"identities\":[{\"kind\":\"email\",\"value\":" + json::quote(email) + "}]}";
  BX_RETURN_IF_ERROR(ctx.event(c, "contact.created", "contact", ref.contact_id, std::nullopt, data));
  remember(ref);
  return ref;
}

}  // namespace banxway::pipeline
