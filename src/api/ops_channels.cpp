// channels.* (channel accounts) and the outbox operations messages.send / messages.cancel.
#include "api/registry.hpp"
#include "runtime/mail_sync.hpp"
#include "services/channel_accounts.hpp"
#include "services/messaging.hpp"
#include "services/outbox.hpp"

namespace banxway::api {
namespace {

// The email account settings (docs/EMAIL.md, "Channel accounts"); other channels arrive with
// their adapters.
constexpr const char* kEmailConfig = R"({"type":"object","properties":{
    "from_name":{"type":"string","maxLength":200},
    "from":{"type":"string","minLength":1,"maxLength":64},
    "base_url":{"type":"string","minLength":8,"maxLength":300},
    "region":{"type":"string","enum":["in","sg"]},
    "account_sid":{"type":"string","minLength":1,"maxLength":100},
    "phone_number_id":{"type":"string","minLength":1,"maxLength":64},
    "graph_version":{"type":"string","minLength":2,"maxLength":16},
    "dlt_entity_id":{"type":"string","maxLength":64},
    "dlt_template_id":{"type":"string","maxLength":64},
    "sms_type":{"type":"string","enum":["transactional","transactional_opt_in","promotional"]},
    "requests_per_minute":{"type":"integer","minimum":0,"maximum":1000000},
    "timeout_seconds":{"type":"integer","minimum":1,"maximum":600},
    "allow_private_network":{"type":"boolean"},
    "webhook_base_url":{"type":"string","minLength":8,"maxLength":300},
    "ip_allowlist":{"type":"array","maxItems":100,"items":{"type":"string","minLength":2,"maxLength":64}},
    "fallback_template":{"type":"object","required":["name"],"properties":{
      "name":{"type":"string","minLength":1,"maxLength":512},
      "language":{"type":"string","minLength":2,"maxLength":16},
      "body_params":{"type":"array","maxItems":20,"items":{"type":"string","maxLength":1024}}}},
    "imap":{"type":"object","required":["host"],"properties":{
      "host":{"type":"string","minLength":1,"maxLength":253},
      "port":{"type":"integer","minimum":1,"maximum":65535},
      "security":{"type":"string","enum":["tls","starttls","plain"]},
      "verify_certificates":{"type":"boolean"},
      "username":{"type":"string","minLength":1,"maxLength":320},
      "folders":{"type":"array","minItems":1,"maxItems":50,
                 "items":{"type":"string","minLength":1,"maxLength":500}},
      "poll_interval_seconds":{"type":"integer","minimum":5,"maximum":86400},
      "idle":{"type":"boolean"},
      "page_size":{"type":"integer","minimum":1,"maximum":1000},
      "timeout_seconds":{"type":"integer","minimum":1,"maximum":600}}},
    "smtp":{"type":"object","required":["host"],"properties":{
      "host":{"type":"string","minLength":1,"maxLength":253},
      "port":{"type":"integer","minimum":1,"maximum":65535},
      "security":{"type":"string","enum":["tls","starttls","plain"]},
      "verify_certificates":{"type":"boolean"},
      "username":{"type":"string","minLength":1,"maxLength":320},
      "helo_domain":{"type":"string","minLength":1,"maxLength":253},
      "timeout_seconds":{"type":"integer","minimum":1,"maximum":600}}}}})";

constexpr const char* kSecrets = R"({"type":"object","properties":{
    "imap_password":{"type":["string","null"],"maxLength":4096},
    "smtp_password":{"type":["string","null"],"maxLength":4096},
    "api_key":{"type":["string","null"],"maxLength":4096},
    "api_token":{"type":["string","null"],"maxLength":4096},
    "access_token":{"type":["string","null"],"maxLength":4096},
    "app_secret":{"type":["string","null"],"maxLength":4096},
    "verify_token":{"type":["string","null"],"maxLength":4096},
    "auth_token":{"type":["string","null"],"maxLength":4096}}})";

std::string create_schema() {
  return std::string(R"({"type":"object","required":["channel","name"],"properties":{
      "channel":{"type":"string","enum":["email","whatsapp","sms","voice"]},
      "provider":{"type":"string","enum":["imap_smtp","exotel","meta","twilio"]},
      "name":{"type":"string","minLength":1,"maxLength":200},
      "address":{"type":"string","format":"email"},
      "active":{"type":"boolean"},
      "config":)") + kEmailConfig + R"(,"secrets":)" + kSecrets + "}}";
}

std::string update_schema() {
  return std::string(R"({"type":"object","required":["id"],"properties":{
      "id":{"type":"string","format":"uuid"},
      "name":{"type":"string","minLength":1,"maxLength":200},
      "address":{"type":"string","format":"email"},
      "active":{"type":"boolean"},
      "config":)") + kEmailConfig + R"(,"secrets":)" + kSecrets + "}}";
}

}  // namespace

void register_channel_ops(Registry& r) {
  r.add("channels.list", "List channel accounts (secrets are never shown, only which are set)",
        Permission::read,
        R"({"type":"object","properties":{
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048},
            "channel":{"type":"string","enum":["email","whatsapp","sms","voice"]}}})",
        services::channels_list, true);
  r.add("channels.get", "Get a channel account, with its IMAP folder cursors", Permission::read,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::channels_get);
  r.add("channels.create",
        "Add a channel account (an email mailbox: IMAP to read, SMTP to send); admin only",
        Permission::users_admin, create_schema(), services::channels_create);
  r.add("channels.update",
        "Change a channel account; secrets are merged (null removes one); admin only",
        Permission::users_admin, update_schema(), services::channels_update);
  r.add("channels.sync",
        "Fetch new mail of an email account now (one pass over its folders, up to max_messages), "
        "on the calling thread; returns what was fetched and stored",
        Permission::write,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "max_messages":{"type":"integer","minimum":1,"maximum":1000000}}})",
        [](Ctx& ctx, json::Value& p) -> Result<std::string> {
          runtime::SyncOptions o;
          if (auto n = json::get_int(p, "max_messages")) o.max_messages = static_cast<size_t>(*n);
          BX_ASSIGN_OR_RETURN(auto rep, runtime::sync_account_once(ctx.core(), ctx.org(),
                                                                   *param_str(p, "id"), o));
          return rep.to_json();
        });

  r.add("messages.send",
        "Send a message: queued with a delivery job in one transaction, sent by a worker. "
        "A reply when thread_id is given (recipients, subject and references from the thread), "
        "else a new thread (to and subject required). send_at schedules it",
        Permission::write,
        R"({"type":"object","properties":{
            "thread_id":{"type":"string","format":"uuid"},
            "channel":{"type":"string","enum":["email","whatsapp","sms"]},
            "channel_account_id":{"type":"string","format":"uuid"},
            "to":{"type":"array","maxItems":100,"items":{"type":"string","minLength":3,"maxLength":320}},
            "cc":{"type":"array","maxItems":100,"items":{"type":"string","minLength":3,"maxLength":320}},
            "bcc":{"type":"array","maxItems":100,"items":{"type":"string","minLength":3,"maxLength":320}},
            "reply_all":{"type":"boolean"},
            "subject":{"type":"string","maxLength":998},
            "text":{"type":"string","maxLength":1000000},
            "html":{"type":"string","maxLength":2000000},
            "send_at":{"type":"string","format":"date-time"},
            "template":{"type":"object","required":["name"],"properties":{
               "name":{"type":"string","minLength":1,"maxLength":512},
               "language":{"type":"string","minLength":2,"maxLength":16},
               "params":{"type":"array","maxItems":20,"items":{"type":"string","maxLength":1024}},
               "header_media_url":{"type":"string","minLength":9,"maxLength":2000},
               "header_media_kind":{"type":"string","enum":["image","video","document"]}}},
            "media_url":{"type":"string","minLength":9,"maxLength":2000},
            "attachments":{"type":"array","maxItems":50,"items":{"type":"object","properties":{
               "attachment_id":{"type":"string","format":"uuid"},
               "filename":{"type":"string","minLength":1,"maxLength":255},
               "media_type":{"type":"string","minLength":3,"maxLength":255},
               "content_base64":{"type":"string"}}}}}})",
        services::messages_send);
  r.add("calls.start",
        "Click-to-call: the provider rings the agent's phone, then the contact, and bridges them; "
        "the call is a voice message in the contact's thread, updated by the status callback",
        Permission::write,
        R"({"type":"object","required":["agent_phone"],"properties":{
            "agent_phone":{"type":"string","minLength":3,"maxLength":32},
            "contact_id":{"type":"string","format":"uuid"},
            "to":{"type":"string","minLength":3,"maxLength":32},
            "thread_id":{"type":"string","format":"uuid"},
            "channel_account_id":{"type":"string","format":"uuid"},
            "record":{"type":"boolean"}}})",
        services::calls_start);
  r.add("channels.rotate_webhook_token",
        "New secret token for an Exotel account's callback URLs (shown once); the previous one "
        "stays valid for overlap_seconds (default 86400)",
        Permission::users_admin,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "overlap_seconds":{"type":"integer","minimum":0,"maximum":2592000}}})",
        services::channels_rotate_webhook_token);
  r.add("webhooks.receive",
        "A provider webhook relayed by a trusted host (admin): authenticated exactly as on the "
        "webhook routes, stored and queued; returns the HTTP answer to give the provider",
        Permission::users_admin,
        R"({"type":"object","required":["provider","channel"],"properties":{
            "provider":{"type":"string","enum":["exotel","meta","twilio"]},
            "channel":{"type":"string","enum":["sms","whatsapp","voice"]},
            "token":{"type":"string","maxLength":200},
            "method":{"type":"string","enum":["GET","POST"]},
            "url":{"type":"string","maxLength":4000},
            "query":{"type":"string","maxLength":4000},
            "content_type":{"type":"string","maxLength":300},
            "headers":{"type":"object","additionalProperties":true},
            "remote_addr":{"type":"string","maxLength":64},
            "body":{"type":"string"},
            "body_base64":{"type":"string"}}})",
        services::webhooks_receive);
  r.add("messages.cancel", "Cancel a queued (or scheduled) outbound message before it is sent",
        Permission::write,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::messages_cancel);
}

}  // namespace banxway::api
