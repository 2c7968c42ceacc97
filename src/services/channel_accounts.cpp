#include "services/channel_accounts.hpp"

#include "channels/email/account.hpp"
#include "channels/messaging/account.hpp"
#include "services/common.hpp"

namespace banxway::services {
namespace {

const ColSpec kChannel[] = {
    {"id", "id", Col::str},
    {"channel", "channel", Col::str},
    {"provider", "provider", Col::str},
    {"name", "name", Col::str},
    {"address", "address", Col::str},
    {"config", "config", Col::json},
    {"active", "active", Col::boolean},
    {"status", "status", Col::str},
    {"last_error", "last_error", Col::str},
    {"last_error_at", "last_error_at", Col::str},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};
constexpr size_t kCreatedCol = 10;
constexpr size_t kSecretsCol = std::size(kChannel);  // selected after the listed columns

Status field_error(const std::string& field, const std::string& what) {
  return InvalidArgument(field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

// {"...":..., "secrets":["imap_password"]} — the names of the secrets that are set.
void append_channel(std::string& out, const store::Row& row) {
  std::string obj = row_to_json(row, kChannel);
  obj.pop_back();
  obj += ",\"secrets\":[";
  json::Document sec;
  bool first = true;
  if (json::parse(row.text(kSecretsCol), &sec).ok() && sec.IsObject()) {
    for (auto& m : sec.GetObject()) {
      if (m.value.IsNull()) continue;
      if (!first) obj += ',';
      first = false;
      append_json_string(obj, std::string_view(m.name.GetString(), m.name.GetStringLength()));
    }
  }
  obj += "]}";
  out += obj;
}

const std::string& channel_select() {
  static const std::string s = "SELECT " + select_list(kChannel) + ", secrets FROM channel_accounts";
  return s;
}

// Merges `patch` (an object of secrets; null removes one) into the stored secrets text.
std::string merge_secrets(std::string_view stored, const json::Value* patch) {
  json::Document d;
  if (!json::parse(stored.empty() ? "{}" : stored, &d).ok() || !d.IsObject()) d.SetObject();
  if (patch && patch->IsObject()) {
    for (auto& m : patch->GetObject()) {
      std::string_view k(m.name.GetString(), m.name.GetStringLength());
      d.RemoveMember(m.name.GetString());
      if (m.value.IsNull()) continue;
      json::Value key(k.data(), static_cast<rapidjson::SizeType>(k.size()), d.GetAllocator());
      json::Value val(m.value, d.GetAllocator());
      d.AddMember(key, val, d.GetAllocator());
    }
  }
  return json::stringify(d);
}

// The runtime must be able to use what is stored: check the config decodes.
Status check_email_config(const std::string& address, const std::string& config,
                          const std::string& secrets) {
  auto a = email::decode_email_account("", "", address, true, "ok", config, secrets);
  if (!a.ok()) return a.status();
  if (!a->imap && !a->smtp)
    return field_error("config", "an email account needs config.imap, config.smtp or both");
  if (a->smtp && address.empty())
    return field_error("address", "required for sending: the From address of outgoing mail");
  return Status();
}

// Messaging accounts (WhatsApp, SMS, voice): the provider's required settings must be there.
Status check_messaging_config(const std::string& channel, const std::string& provider,
                              const std::string& config, const std::string& secrets) {
  if (channel == "email") return Status();
  if (provider == "imap_smtp")
    return field_error("provider", "a " + channel + " account needs provider exotel, meta or twilio");
  return messaging::decode_messaging_account("", "", channel, provider, "", true, config, secrets)
      .status();
}

}  // namespace

Result<std::string> channel_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows,
                      c.query(channel_select() + " WHERE id = ? AND org_id = ?", {id, ctx.org()}));
  if (rows.empty()) return NotFound("channel account " + id + " not found");
  std::string out;
  append_channel(out, rows[0]);
  // Where ingest stands, per IMAP folder.
  BX_ASSIGN_OR_RETURN(auto f, c.query("SELECT folder, uidvalidity, last_uid, lease_owner, "
                                      "lease_until, updated_at FROM mail_folders "
                                      "WHERE org_id = ? AND account_id = ? ORDER BY folder",
                                      {ctx.org(), id}));
  out.pop_back();
  out += ",\"folders\":[";
  for (size_t i = 0; i < f.size(); ++i) {
    if (i) out += ',';
    out += "{\"folder\":" + json::quote(f[i].text(0)) +
           ",\"uidvalidity\":" + std::to_string(f[i].int64(1)) +
           ",\"last_uid\":" + std::to_string(f[i].int64(2)) + ",\"lease_owner\":" +
           (f[i].is_null(3) ? std::string("null") : json::quote(f[i].text(3))) +
           ",\"lease_until\":" +
           (f[i].is_null(4) ? std::string("null") : json::quote(f[i].text(4))) +
           ",\"updated_at\":" + json::quote(f[i].text(5)) + "}";
  }
  out += "]}";
  return out;
}

Result<std::string> channels_list(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p);
  std::string sql = channel_select() + " WHERE org_id = ?";
  std::vector<store::Value> args{ctx.org()};
  add_equal_filters(sql, args, p, {"channel"});
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/true));
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  std::string items = "[";
  size_t n = std::min(rows.size(), static_cast<size_t>(limit));
  for (size_t i = 0; i < n; ++i) {
    if (i) items += ',';
    append_channel(items, rows[i]);
  }
  items += ']';
  return api::list_result(items, next_created_cursor(rows, limit, kCreatedCol));
}

Result<std::string> channels_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return channel_json(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> channels_create(api::Ctx& ctx, json::Value& p) {
  std::string id = ctx.new_id();
  std::string channel = *api::param_str(p, "channel");
  std::string address = api::param_str(p, "address").value_or("");
  for (auto& ch : address) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const json::Value* cfg = json::get(p, "config");
  std::string config = cfg ? json::stringify(*cfg) : "{}";
  std::string secrets = merge_secrets("{}", json::get(p, "secrets"));
  std::string provider = api::param_str(p, "provider").value_or(channel == "email" ? "imap_smtp" : "");
  if (channel == "email" && provider != "imap_smtp")
    return field_error("provider", "an email account uses provider imap_smtp");
  if (channel != "email" && provider.empty())
    return field_error("provider", "required: exotel, meta or twilio");
  // Exotel signs nothing: its callback URLs carry a secret token, made here and shown once.
  std::string token;
  if (provider == "exotel") {
    token = messaging::make_webhook_token(id);
    json::Document tok;
    tok.SetObject();
    tok.AddMember("webhook_token", json::Value(token.c_str(), tok.GetAllocator()), tok.GetAllocator());
    secrets = merge_secrets(secrets, &tok);
  }
  if (channel == "email") BX_RETURN_IF_ERROR(check_email_config(address, config, secrets));
  BX_RETURN_IF_ERROR(check_messaging_config(channel, provider, config, secrets));
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    auto r = c.query(
        "INSERT INTO channel_accounts (id, org_id, channel, provider, name, address, config, "
        "secrets, active, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?, ?)",
        {id, ctx.org(), channel, provider,
         *api::param_str(p, "name"), address.empty() ? store::Value() : store::Value(address),
         config, secrets, json::get_bool(p, "active").value_or(true) ? 1 : 0, ctx.now(),
         ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, channel_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "channel.created", "channel_account", id, std::nullopt, out));
    return ctx.audit(c, "channel_account", id);
  }));
  if (!token.empty()) {
    out.pop_back();
    out += ",\"webhook_token\":" + json::quote(token) + ",\"webhook_paths\":{";
    const char* kinds[] = {"sms", "whatsapp", "voice"};
    for (size_t i = 0; i < 3; ++i)
      out += std::string(i ? "," : "") + "\"" + kinds[i] + "\":" +
             json::quote(std::string("/api/v1/webhooks/exotel/") + kinds[i] + "/" + token);
    out += "}}";
  }
  return out;
}

Result<std::string> channels_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT channel, address, config, secrets, provider "
                                          "FROM channel_accounts WHERE id = ? AND org_id = ?",
                                          {id, ctx.org()}));
    if (cur.empty()) return NotFound("channel account " + id + " not found");
    std::string channel = cur[0].str(0);
    std::string address = cur[0].str(1);
    if (auto a = api::param_str(p, "address")) {
      address = *a;
      for (auto& ch : address) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    const json::Value* cfg = json::get(p, "config");
    std::string config = cfg ? json::stringify(*cfg) : cur[0].str(2);
    std::string secrets = merge_secrets(cur[0].text(3), json::get(p, "secrets"));
    if (channel == "email") BX_RETURN_IF_ERROR(check_email_config(address, config, secrets));
    BX_RETURN_IF_ERROR(check_messaging_config(channel, cur[0].str(4), config, secrets));
    std::string sets = "updated_at = ?, address = ?, config = ?, secrets = ?";
    std::vector<store::Value> args{ctx.now(),
                                   address.empty() ? store::Value() : store::Value(address),
                                   config, secrets};
    if (auto n = api::param_str(p, "name")) {
      sets += ", name = ?";
      args.emplace_back(*n);
    }
    if (auto a = json::get_bool(p, "active")) {
      sets += ", active = ?";
      args.emplace_back(*a ? 1 : 0);
    }
    // New credentials or servers deserve a fresh verdict: the next sync or send sets it again.
    if (cfg || json::get(p, "secrets")) sets += ", status = 'ok', last_error = NULL, last_error_at = NULL";
    args.emplace_back(id);
    args.emplace_back(ctx.org());
    auto r = c.query("UPDATE channel_accounts SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, channel_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "channel.updated", "channel_account", id, std::nullopt, out));
    // The audit detail names what changed, never the secret values.
    std::string detail = "{\"secrets_changed\":" +
                         std::string(json::get(p, "secrets") ? "true" : "false") + "}";
    return ctx.audit(c, "channel_account", id, detail);
  }));
  return out;
}

Result<bool> set_channel_status(api::Ctx& ctx, const std::string& id, std::string_view status,
                                std::string_view error) {
  bool changed = false;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT status FROM channel_accounts WHERE id = ? AND "
                                          "org_id = ?",
                                          {id, ctx.org()}));
    if (cur.empty()) return NotFound("channel account " + id + " not found");
    std::string before = cur[0].str(0);
    changed = before != status;
    bool ok = status == "ok";
    if (!changed && ok) return Status();  // the common case writes nothing
    std::string err(error.substr(0, 2000));
    auto r = ok ? c.query("UPDATE channel_accounts SET status = 'ok', updated_at = ? "
                          "WHERE id = ? AND org_id = ?",
                          {ctx.now(), id, ctx.org()})
                : c.query("UPDATE channel_accounts SET status = ?, last_error = ?, "
                          "last_error_at = ?, updated_at = ? WHERE id = ? AND org_id = ?",
                          {status, err, ctx.now(), ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    if (!changed) return Status();
    std::string data = "{\"id\":" + json::quote(id) + ",\"status\":" + json::quote(status) +
                       ",\"previous_status\":" + json::quote(before) + ",\"error\":" +
                       (ok ? std::string("null") : json::quote(err)) + "}";
    return ctx.event(c, "channel.status_changed", "channel_account", id, std::nullopt, data);
  }));
  return changed;
}

}  // namespace banxway::services
