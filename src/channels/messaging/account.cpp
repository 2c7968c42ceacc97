#include "channels/messaging/account.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "core/crypto.hpp"
#include "core/json.hpp"

namespace banxway::messaging {
namespace {

Status bad(const std::string& field, const std::string& what) {
  return InvalidArgument("channel account " + field + ": " + what,
                         "{\"field\":" + json::quote(field) + "}");
}

std::string str(const json::Value& o, const char* k) {
  if (!o.IsObject()) return {};
  return std::string(json::get_string(o, k).value_or(""));
}

// Parses "a.b.c.d/n" or "x::y/n" (or a bare address) into bytes + prefix length.
bool parse_cidr(std::string_view cidr, unsigned char* addr, int* family, int* bits) {
  std::string s(cidr);
  int prefix = -1;
  if (auto slash = s.find('/'); slash != std::string::npos) {
    try {
      prefix = std::stoi(s.substr(slash + 1));
    } catch (...) {
      return false;
    }
    s.resize(slash);
  }
  if (inet_pton(AF_INET, s.c_str(), addr) == 1) {
    *family = AF_INET;
    *bits = prefix < 0 ? 32 : prefix;
    return *bits >= 0 && *bits <= 32;
  }
  if (inet_pton(AF_INET6, s.c_str(), addr) == 1) {
    *family = AF_INET6;
    *bits = prefix < 0 ? 128 : prefix;
    return *bits >= 0 && *bits <= 128;
  }
  return false;
}

}  // namespace

Result<MessagingAccount> decode_messaging_account(std::string id, std::string org_id,
                                                  std::string channel, std::string provider,
                                                  std::string name, bool active,
                                                  std::string_view config_json,
                                                  std::string_view secrets_json) {
  MessagingAccount a;
  a.id = std::move(id);
  a.org_id = std::move(org_id);
  a.channel = std::move(channel);
  a.provider = std::move(provider);
  a.name = std::move(name);
  a.active = active;
  json::Document cfg, sec;
  if (!json::parse(config_json.empty() ? "{}" : config_json, &cfg).ok() || !cfg.IsObject())
    return bad("config", "not a JSON object");
  if (!json::parse(secrets_json.empty() ? "{}" : secrets_json, &sec).ok() || !sec.IsObject())
    return bad("secrets", "not a JSON object");
  ProviderAccount& p = a.api;
  p.provider = a.provider;
  p.channel = a.channel;
  p.from = str(cfg, "from");
  p.base_url = str(cfg, "base_url");
  if (p.base_url.empty()) {
    if (a.provider == "exotel")
      p.base_url = str(cfg, "region") == "in" ? "https://api.in.exotel.com" : "https://api.exotel.com";
    else if (a.provider == "meta")
      p.base_url = "https://graph.facebook.com";
    else if (a.provider == "twilio")
      p.base_url = "https://api.twilio.com";
  }
  while (!p.base_url.empty() && p.base_url.back() == '/') p.base_url.pop_back();
  p.allow_private_network = json::get_bool(cfg, "allow_private_network").value_or(false);
  p.account_sid = str(cfg, "account_sid");
  p.dlt_entity_id = str(cfg, "dlt_entity_id");
  p.dlt_template_id = str(cfg, "dlt_template_id");
  p.sms_type = str(cfg, "sms_type");
  p.phone_number_id = str(cfg, "phone_number_id");
  if (auto v = json::get_string(cfg, "graph_version")) p.graph_version = std::string(*v);
  p.requests_per_minute = static_cast<int>(json::get_int(cfg, "requests_per_minute").value_or(0));
  if (auto t = json::get_int(cfg, "timeout_seconds")) p.timeout = std::chrono::seconds(*t);
  p.api_key = str(sec, "api_key");
  p.api_token = str(sec, "api_token");
  p.access_token = str(sec, "access_token");
  p.app_secret = str(sec, "app_secret");
  p.verify_token = str(sec, "verify_token");
  p.auth_token = str(sec, "auth_token");

  a.webhook_base_url = str(cfg, "webhook_base_url");
  while (!a.webhook_base_url.empty() && a.webhook_base_url.back() == '/')
    a.webhook_base_url.pop_back();
  a.webhook_token = str(sec, "webhook_token");
  a.previous_webhook_token = str(sec, "previous_webhook_token");
  if (auto until = json::get_string(cfg, "previous_webhook_token_until")) {
    TimePoint t;
    if (parse_time(*until, &t)) a.previous_token_until = t;
  }
  if (const json::Value* ips = json::get(cfg, "ip_allowlist"); ips && ips->IsArray()) {
    for (auto& v : ips->GetArray()) {
      if (!v.IsString()) return bad("config.ip_allowlist", "expected strings");
      unsigned char buf[16];
      int fam, bits;
      if (!parse_cidr(v.GetString(), buf, &fam, &bits))
        return bad("config.ip_allowlist", std::string("not an address or CIDR: ") + v.GetString());
      a.ip_allowlist.emplace_back(v.GetString());
    }
  }
  if (const json::Value* t = json::get(cfg, "fallback_template"); t && t->IsObject()) {
    TemplateMessage tm;
    tm.name = str(*t, "name");
    if (tm.name.empty()) return bad("config.fallback_template.name", "required");
    if (auto l = json::get_string(*t, "language")) tm.language = std::string(*l);
    if (const json::Value* bp = json::get(*t, "body_params"); bp && bp->IsArray())
      for (auto& v : bp->GetArray())
        if (v.IsString()) tm.body_params.emplace_back(v.GetString(), v.GetStringLength());
    a.fallback_template = std::move(tm);
  }

  // What each provider cannot work without.
  auto need = [&](const std::string& v, const char* field) -> Status {
    return v.empty() ? bad(field, "required for provider " + a.provider) : Status();
  };
  if (a.provider == "exotel") {
    BX_RETURN_IF_ERROR(need(p.account_sid, "config.account_sid"));
    BX_RETURN_IF_ERROR(need(p.api_key, "secrets.api_key"));
    BX_RETURN_IF_ERROR(need(p.api_token, "secrets.api_token"));
    BX_RETURN_IF_ERROR(need(p.from, "config.from"));
  } else if (a.provider == "meta") {
    BX_RETURN_IF_ERROR(need(p.phone_number_id, "config.phone_number_id"));
    BX_RETURN_IF_ERROR(need(p.access_token, "secrets.access_token"));
    BX_RETURN_IF_ERROR(need(p.app_secret, "secrets.app_secret"));
  } else if (a.provider == "twilio") {
    BX_RETURN_IF_ERROR(need(p.account_sid, "config.account_sid"));
    BX_RETURN_IF_ERROR(need(p.auth_token, "secrets.auth_token"));
    BX_RETURN_IF_ERROR(need(p.from, "config.from"));
  } else {
    return bad("provider", "expected exotel, meta or twilio");
  }
  if (a.provider == "meta" && a.channel != "whatsapp")
    return bad("channel", "the Meta provider serves whatsapp only");
  if (a.provider == "twilio" && a.channel == "voice" && p.from.empty())
    return bad("config.from", "required for voice");
  return a;
}

Result<MessagingAccount> load_messaging_account(store::Conn& c, const std::string& org,
                                                const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows,
                      c.query("SELECT id, org_id, channel, provider, name, active, config, secrets "
                              "FROM channel_accounts WHERE id = ? AND org_id = ? AND "
                              "channel <> 'email'",
                              {id, org}));
  if (rows.empty()) return NotFound("messaging channel account " + id + " not found");
  const auto& r = rows[0];
  return decode_messaging_account(r.str(0), r.str(1), r.str(2), r.str(3), r.str(4),
                                  r.int64(5) != 0, r.text(6), r.text(7));
}

std::string make_webhook_token(const std::string& account_id) {
  return account_id + "." + crypto::base64url_encode(crypto::random_bytes(32));
}

std::string token_account_id(std::string_view token) {
  size_t dot = token.find('.');
  if (dot == std::string_view::npos || dot != 36 || token.size() > 200) return {};
  return std::string(token.substr(0, dot));
}

bool token_matches(const MessagingAccount& a, std::string_view token, TimePoint now) {
  // Compare digests so the comparison time does not depend on where the strings differ, nor
  // on their lengths.
  std::string t = crypto::sha256(token);
  bool ok = !a.webhook_token.empty() && crypto::constant_time_equal(t, crypto::sha256(a.webhook_token));
  bool prev = !a.previous_webhook_token.empty() && a.previous_token_until &&
              now < *a.previous_token_until &&
              crypto::constant_time_equal(t, crypto::sha256(a.previous_webhook_token));
  return ok || prev;
}

bool ip_allowed(const std::vector<std::string>& cidrs, std::string_view ip) {
  if (cidrs.empty()) return true;
  unsigned char addr[16];
  int fam;
  int bits;
  std::string ip_s(ip);
  // IPv4-mapped IPv6 ("::ffff:a.b.c.d") is matched as IPv4.
  if (ip_s.rfind("::ffff:", 0) == 0 && ip_s.find('.') != std::string::npos) ip_s = ip_s.substr(7);
  if (!parse_cidr(ip_s, addr, &fam, &bits)) return false;
  for (const auto& c : cidrs) {
    unsigned char net[16];
    int nfam, nbits;
    if (!parse_cidr(c, net, &nfam, &nbits) || nfam != fam) continue;
    int full = nbits / 8, rest = nbits % 8;
    if (std::memcmp(addr, net, static_cast<size_t>(full)) != 0) continue;
    if (rest) {
      unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rest));
      if ((addr[full] & mask) != (net[full] & mask)) continue;
    }
    return true;
  }
  return false;
}

std::string status_callback_url(const MessagingAccount& a, std::string_view kind) {
  if (a.webhook_base_url.empty()) return {};
  if (a.provider == "exotel")
    return a.webhook_base_url + "/api/v1/webhooks/exotel/" + std::string(kind) + "/" + a.webhook_token;
  if (a.provider == "twilio")
    return a.webhook_base_url + "/api/v1/webhooks/twilio/" + std::string(kind);
  return {};  // Meta: statuses go to the app's subscribed webhook
}

}  // namespace banxway::messaging
