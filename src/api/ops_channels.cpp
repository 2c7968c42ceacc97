// channels.* (channel accounts) and the outbox operations messages.send / messages.cancel.
#include "api/registry.hpp"
#include "runtime/mail_sync.hpp"
#include "services/channel_accounts.hpp"
#include "services/outbox.hpp"

namespace banxway::api {
namespace {

// The email account settings (docs/EMAIL.md, "Channel accounts"); other channels arrive with
// their adapters.
constexpr const char* kEmailConfig = R"({"type":"object","properties":{
    "from_name":{"type":"string","maxLength":200},
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
    "smtp_password":{"type":["string","null"],"maxLength":4096}}})";

std::string create_schema() {
  return std::string(R"({"type":"object","required":["channel","name"],"properties":{
      "channel":{"type":"string","enum":["email"]},
      "provider":{"type":"string","enum":["imap_smtp"]},
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
        R"({"type":"object","required":["text"],"properties":{
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
            "attachments":{"type":"array","maxItems":50,"items":{"type":"object","properties":{
               "attachment_id":{"type":"string","format":"uuid"},
               "filename":{"type":"string","minLength":1,"maxLength":255},
               "media_type":{"type":"string","minLength":3,"maxLength":255},
               "content_base64":{"type":"string"}}}}}})",
        services::messages_send);
  r.add("messages.cancel", "Cancel a queued (or scheduled) outbound message before it is sent",
        Permission::write,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::messages_cancel);
}

}  // namespace banxway::api
