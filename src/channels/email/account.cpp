#include "channels/email/account.hpp"

#include "core/json.hpp"

namespace banxway::email {
namespace {

Status bad(const std::string& field, const std::string& what) {
  return InvalidArgument("channel account " + field + ": " + what,
                         "{\"field\":" + json::quote(field) + "}");
}

template <class Security>
Result<Security> security_of(const json::Value& obj, const std::string& field, Security def) {
  auto s = json::get_string(obj, "security");
  if (!s) return def;
  if (*s == "tls") return Security::tls;
  if (*s == "starttls") return Security::starttls;
  if (*s == "plain") return Security::plain;
  return bad(field + ".security", "expected tls, starttls or plain");
}

std::string secret(const json::Value& secrets, const char* key) {
  if (!secrets.IsObject()) return {};
  return std::string(json::get_string(secrets, key).value_or(""));
}

}  // namespace

Result<EmailAccount> decode_email_account(std::string id, std::string org_id, std::string address,
                                          bool active, std::string status,
                                          std::string_view config_json,
                                          std::string_view secrets_json) {
  EmailAccount a;
  a.id = std::move(id);
  a.org_id = std::move(org_id);
  a.address = std::move(address);
  a.active = active;
  a.status = std::move(status);
  json::Document cfg, sec;
  if (!json::parse(config_json.empty() ? "{}" : config_json, &cfg).ok() || !cfg.IsObject())
    return bad("config", "not a JSON object");
  if (!json::parse(secrets_json.empty() ? "{}" : secrets_json, &sec).ok() || !sec.IsObject())
    return bad("secrets", "not a JSON object");
  a.from_name = std::string(json::get_string(cfg, "from_name").value_or(""));

  if (const json::Value* im = json::get(cfg, "imap"); im && im->IsObject()) {
    ImapSettings s;
    auto host = json::get_string(*im, "host");
    if (!host || host->empty()) return bad("config.imap.host", "required");
    s.conn.host = std::string(*host);
    BX_ASSIGN_OR_RETURN(s.conn.security,
                        security_of(*im, "config.imap", ImapConfig::Security::tls));
    s.conn.port = static_cast<int>(json::get_int(*im, "port").value_or(
        s.conn.security == ImapConfig::Security::tls ? 993 : 143));
    s.conn.verify_certificates = json::get_bool(*im, "verify_certificates").value_or(true);
    s.conn.username = std::string(json::get_string(*im, "username").value_or(a.address));
    s.conn.password = secret(sec, "imap_password");
    if (auto t = json::get_int(*im, "timeout_seconds")) s.conn.timeout = std::chrono::seconds(*t);
    if (const json::Value* f = json::get(*im, "folders"); f && f->IsArray() && f->Size() > 0) {
      s.folders.clear();
      for (auto& v : f->GetArray())
        if (v.IsString()) s.folders.emplace_back(v.GetString(), v.GetStringLength());
    }
    if (auto p = json::get_int(*im, "poll_interval_seconds"))
      s.poll_interval = std::chrono::seconds(*p);
    s.use_idle = json::get_bool(*im, "idle").value_or(true);
    if (auto n = json::get_int(*im, "page_size")) s.page_size = static_cast<size_t>(*n);
    a.imap = std::move(s);
  }
  if (const json::Value* sm = json::get(cfg, "smtp"); sm && sm->IsObject()) {
    SmtpConfig s;
    auto host = json::get_string(*sm, "host");
    if (!host || host->empty()) return bad("config.smtp.host", "required");
    s.host = std::string(*host);
    BX_ASSIGN_OR_RETURN(s.security,
                        security_of(*sm, "config.smtp", SmtpConfig::Security::starttls));
    s.port = static_cast<int>(json::get_int(*sm, "port").value_or(
        s.security == SmtpConfig::Security::tls ? 465 : 587));
    s.verify_certificates = json::get_bool(*sm, "verify_certificates").value_or(true);
    s.username = std::string(json::get_string(*sm, "username").value_or(""));
    s.password = secret(sec, "smtp_password");
    if (auto t = json::get_int(*sm, "timeout_seconds")) s.timeout = std::chrono::seconds(*t);
    s.helo_domain = std::string(json::get_string(*sm, "helo_domain").value_or(""));
    a.smtp = std::move(s);
  }
  return a;
}

Result<EmailAccount> load_email_account(store::Conn& c, const std::string& org,
                                        const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows,
                      c.query("SELECT id, org_id, address, active, status, config, secrets "
                              "FROM channel_accounts WHERE id = ? AND org_id = ? AND "
                              "channel = 'email'",
                              {id, org}));
  if (rows.empty()) return NotFound("email channel account " + id + " not found");
  const auto& r = rows[0];
  return decode_email_account(r.str(0), r.str(1), r.str(2), r.int64(3) != 0, r.str(4),
                              r.text(5), r.text(6));
}

}  // namespace banxway::email
