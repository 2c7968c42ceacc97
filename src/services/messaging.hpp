// Messaging channels in the engine (docs/MESSAGING.md): webhook intake (authenticate, store,
// queue), the drain job that parses and threads stored webhooks, the send / call / poll jobs of
// the outbox, and the operations that start them.
#pragma once

#include "api/context.hpp"
#include "banxway/engine.hpp"
#include "runtime/jobs.hpp"

namespace banxway::services {

inline constexpr std::string_view kWebhookDrainJob = "webhook.drain";
inline constexpr std::string_view kMessagingSendJob = "messaging.send";
inline constexpr std::string_view kCallStartJob = "call.start";
inline constexpr std::string_view kMessagingPollJob = "messaging.poll";
inline constexpr std::string_view kTranscribeJob = "voice.transcribe";

/// Engine::receive_webhook. `org_scope` non-empty restricts the accounts considered to one
/// organization (the webhooks.receive operation, called by a trusted relay with an API key).
Result<WebhookResponse> receive_webhook(api::Core& core, const WebhookRequest& req,
                                        const std::string& org_scope = "");

runtime::JobResult run_webhook_drain(api::Core& core, const runtime::Job& job);
runtime::JobResult run_messaging_send(api::Core& core, const runtime::Job& job);
runtime::JobResult run_call_start(api::Core& core, const runtime::Job& job);
runtime::JobResult run_messaging_poll(api::Core& core, const runtime::Job& job);
/// Transcribes a voice message's recording (EngineOptions::transcription_url) and stores the
/// text on the message (searchable).
runtime::JobResult run_transcribe(api::Core& core, const runtime::Job& job);

/// Webhook requests refused (bad token, signature, address) since start, all organizations.
uint64_t webhook_rejections();

/// messages.send for channel whatsapp / sms (called by messages_send).
Result<std::string> messaging_send(api::Ctx& ctx, json::Value& p);
/// calls.start: click-to-call from an agent's phone to a contact.
Result<std::string> calls_start(api::Ctx& ctx, json::Value& p);
/// channels.rotate_webhook_token: a new Exotel callback token; the old one keeps working for
/// `overlap_seconds` (default 1 day).
Result<std::string> channels_rotate_webhook_token(api::Ctx& ctx, json::Value& p);
/// webhooks.receive: a webhook relayed by a trusted host (admin key), for C/Python hosts.
Result<std::string> webhooks_receive(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
