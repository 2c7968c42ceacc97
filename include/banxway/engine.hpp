// libbanxway's C++ entry point. Every capability is an operation in the registry; Engine::call
// dispatches one by name with JSON params, after authentication and schema validation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "banxway/status.hpp"

namespace banxway {

class Clock;
class IdSource;

enum class Role : int { viewer = 0, agent = 1, manager = 2, admin = 3 };
std::string_view role_name(Role r) noexcept;
std::optional<Role> role_from_name(std::string_view s) noexcept;

/// Who is calling: resolved from an API key or a JWT, or a trusted host (system).
struct Principal {
  std::string org_id;
  std::string user_id;     // empty for API keys without a user and for system principals
  Role role = Role::viewer;
  std::string actor_type;  // "user", "api_key" or "system"
  std::string actor_id;    // user id, api key id, or a host-chosen label ("cli")
  /// How deep in a chain of workflow reactions this call is: 0 for people, keys and the host;
  /// a workflow acting on event at depth d acts at d + 1 (docs/WORKFLOWS.md, "Loop guard").
  int chain_depth = 0;
};

struct EngineOptions {
  /// `sqlite:///path`, `sqlite::memory:`, `postgres://…`. Empty: sqlite://./var/banxway.db
  std::string database_url;
  /// HS256 secret for bearer JWTs (SUPABASE_JWT_SECRET / JWT_SECRET); empty disables JWTs.
  std::string jwt_secret;
  std::string jwt_audience;  // checked when set (Supabase: "authenticated")
  std::string jwt_issuer;    // checked when set
  int db_pool_size = 4;
  size_t max_params_bytes = 1 << 20;
  /// Where attachments and raw messages go; empty: next to a SQLite file, in memory for
  /// sqlite::memory:, ./var/blobs for PostgreSQL.
  std::string blob_dir;
  /// Blobs up to this size (most raw messages, small attachments) are kept in the database, in
  /// their `blobs` row, written by the same transaction as the message: no file per message.
  /// Larger ones are files under blob_dir. 0: every blob is a file.
  size_t blob_inline_max_bytes = 64u << 10;
  size_t max_message_bytes = 50u << 20;     // a larger raw message is refused
  size_t max_attachment_bytes = 25u << 20;  // a larger attachment is dropped with a warning
  size_t max_document_bytes = 25u << 20;    // a larger shipment document upload is refused
  /// Batch ingest (ingest_email_batch, imports, IMAP sync pages) parses the next messages on a
  /// second thread while the calling thread writes the earlier ones; a transaction never waits
  /// for a parse. Off: everything runs on the calling thread.
  bool ingest_parse_thread = true;
  /// Domain of banxway's own Message-IDs (bx.<thread>.<random>@domain).
  std::string message_id_domain = "banxway.invalid";
  /// Call recordings are transcribed through an OpenAI-compatible /v1/audio/transcriptions
  /// endpoint when this base URL is set (e.g. "https://api.openai.com", a local whisper
  /// server); the text is stored on the voice message and searchable. Empty: no transcription.
  std::string transcription_url;
  std::string transcription_api_key;
  std::string transcription_model = "whisper-1";
  std::string transcription_language;  // ISO-639-1 hint, optional
  /// Let transcription_url be a loopback/private address (a local server, tests).
  bool transcription_allow_private_network = false;
  /// Engine::start also starts a watcher per active email account with IMAP settings (IDLE
  /// or polling, docs/EMAIL.md). Off: mail is fetched only by the channels.sync operation.
  bool watch_mail = true;
  /// Outgoing webhooks (docs/WEBHOOKS.md): let subscription URLs name private, loopback,
  /// link-local or metadata addresses (refused at save time when literal, and at connect time
  /// after DNS otherwise). Only for on-premises receivers and tests.
  bool webhooks_allow_private_network = false;
  /// Outgoing webhooks: accept http:// subscription URLs (https only otherwise).
  bool webhooks_allow_http = false;
  /// Workflows (docs/WORKFLOWS.md): a change made by a workflow step may trigger other
  /// workflows, whose changes may trigger more; a chain deeper than this stops, and the run
  /// that would have gone deeper is recorded as skipped with the reason.
  int workflow_max_chain_depth = 5;
  /// Workflow webhook steps may call private, loopback or link-local addresses (tests,
  /// on-premises receivers). Off: such targets fail the step.
  bool workflow_webhooks_allow_private_network = false;
  /// AI provider for drafts and message analysis (docs/AI.md, docs/COMPOSE.md). ai_provider:
  /// "openai" (any OpenAI-compatible Chat Completions server: OpenAI, llama.cpp, vLLM,
  /// Ollama) or "anthropic"; empty: none, and every AI feature uses its deterministic path
  /// (output marked source "rules"). ai_base_url e.g. "https://api.openai.com/v1",
  /// "http://127.0.0.1:8080/v1", "https://api.anthropic.com".
  std::string ai_provider;
  std::string ai_base_url;
  std::string ai_api_key;
  std::string ai_model;
  int ai_connect_timeout_ms = 5000;
  int ai_first_token_timeout_ms = 30000;
  int ai_total_timeout_ms = 120000;
  int ai_max_attempts = 3;  // before the first token, on 429 / 5xx / connection errors
  /// Let ai_base_url be a loopback or private address (a local model server, tests).
  bool ai_allow_private_network = false;
  /// Log prompts and completions at debug level. Off: they are never logged.
  bool ai_log_traffic = false;
  /// Tokens (input + output) an organization may use per calendar month (UTC); 0: no limit.
  /// An organization's settings.ai_monthly_token_budget overrides it.
  int64_t ai_monthly_token_budget = 0;
  /// Inbound messages are also classified by the model (intent, sentiment, urgency) when a
  /// provider is configured; the deterministic analysis runs regardless.
  bool ai_analyze_messages = true;
  /// Test seams; defaults are the system clock and UUIDv7 ids.
  std::shared_ptr<Clock> clock;
  std::shared_ptr<IdSource> ids;
};

/// Result of an operation: `data` is JSON text. List operations return
/// {"items": [...], "next_cursor": "…" | null}.
struct CallResult {
  std::string data;
};

struct OperationInfo {
  std::string name;
  std::string summary;
  std::string permission;
  std::string params_schema;  // JSON Schema text
  bool is_list = false;
  bool is_write = false;
};

/// A provider's webhook request as the HTTP layer received it (raw bytes: signatures are
/// checked over them before anything is parsed). docs/MESSAGING.md.
struct WebhookRequest {
  std::string provider;  // exotel | meta | twilio
  std::string channel;   // sms | whatsapp | voice
  std::string token;     // Exotel: the secret token from the URL path
  std::string method = "POST";
  std::string url;       // the full public URL the provider called (Twilio signs it)
  std::string query;     // the raw query string (Meta's GET handshake)
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_addr;  // for an account's IP allow-list; empty: not checked
};

struct WebhookResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

/// One event of the event log as live subscribers see it (docs/REALTIME.md).
struct LiveEvent {
  int64_t id = 0;
  std::string org_id;
  std::string type;
  std::string thread_id;  // empty when the event concerns no thread
  std::string subject_type;
  std::string subject_id;
  /// Users the event concerns: data.user_id, data.assignee_id, data.previous_assignee_id, and
  /// the subject when it is a user.
  std::vector<std::string> user_ids;
  /// {"id","type","data","thread_id","subject_type","subject_id","created_at"}
  std::string json;
};
using LiveEvents = std::vector<std::shared_ptr<const LiveEvent>>;

/// Callbacks of the live feed; both run on the feed's own thread, one call at a time.
struct LiveHandler {
  /// New events of a watched organization, in id order, each exactly once.
  std::function<void(const std::string& org_id, const LiveEvents& batch)> on_events;
  /// An ephemeral signal (presence, typing) sent with live_signal by any engine on this
  /// database, this one included.
  std::function<void(const std::string& payload)> on_signal;
};

/// A stored file as served for download (shipment documents).
struct Download {
  std::string content_type;
  std::string filename;  // sanitized at upload
  std::string bytes;
};

struct Bootstrap {
  std::string org_json;  // the organization
  std::string api_key;   // admin key, shown once
};

/// An Engine is safe to use from many threads at once: storage is pooled and locked inside, the
/// registry is immutable, and the credential cache is guarded.
class Engine {
 public:
  static Result<std::unique_ptr<Engine>> open(EngineOptions opts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Resolves `bxk_…` API keys and JWTs (optionally prefixed "Bearer ").
  Result<Principal> authenticate(std::string_view credential);

  /// Runs an operation. params_json must be a JSON object (empty text means {}).
  Result<CallResult> call(std::string_view op, std::string_view params_json,
                          const Principal& who);
  Result<CallResult> call(std::string_view op, std::string_view params_json,
                          std::string_view credential);
  /// Receives a streaming operation's events (compose.suggest: "context", "delta", "done");
  /// data is a JSON object. Return false to cancel the operation (the client went away).
  using StreamSink = std::function<bool(std::string_view event, std::string_view data_json)>;
  /// Runs an operation that can stream (compose.suggest); others ignore the sink. The result
  /// is the same as call()'s; events already went to the sink as they happened. `cancel`
  /// (optional) may be set from another thread to stop the operation early (a provider call in
  /// progress is aborted within about 50 ms).
  Result<CallResult> call_streaming(std::string_view op, std::string_view params_json,
                                    const Principal& who, const StreamSink& sink,
                                    std::atomic<bool>* cancel = nullptr);

  /// Ingests one raw RFC 5322 message (bytes, any size up to max_message_bytes). Returns the
  /// same JSON as the inbound.email operation: {"message", "thread_id", "duplicate", ...}.
  Result<std::string> ingest_email(const Principal& who, std::string_view raw,
                                   std::string_view channel_account_id = {});
  /// Many messages, `batch` per transaction (imports); one result per input, in order.
  std::vector<Result<std::string>> ingest_email_batch(const Principal& who,
                                                      const std::vector<std::string_view>& raws,
                                                      size_t batch = 200);

  /// A provider webhook: authenticated (Exotel URL token, Meta X-Hub-Signature-256, Twilio
  /// X-Twilio-Signature, optional IP allow-list) before anything is parsed, then stored and
  /// queued in one transaction; parsing and threading run in a job. Failed checks:
  /// unauthenticated / permission_denied, nothing written. Meta's GET handshake answers the
  /// challenge.
  Result<WebhookResponse> receive_webhook(const WebhookRequest& req);

  /// Uploads a shipment document (docs/SHIPMENTS.md). params_json: {"shipment_id", "kind",
  /// "filename", "content_type"}; bytes: the file. Checks max_document_bytes, the content-type
  /// allow-list and that the bytes match the declared type (libmagic). Returns the document
  /// JSON; emits shipment.document_added. Needs the write permission.
  Result<std::string> upload_document(const Principal& who, std::string_view params_json,
                                      std::string_view bytes);
  /// A document's bytes, content type and filename (read permission; another organization's
  /// or a deleted document is not_found).
  Result<Download> download_document(const Principal& who, std::string_view id);

  /// Counters for monitoring, across all organizations: {"messages":[{"channel","direction",
  /// "count"}], "jobs":[{"kind","status","count"}]}. A few COUNT queries over indexes; a host
  /// scraping often should cache the result.
  Result<std::string> stats();

  /// Events of the principal's organization with id > after, oldest first, as a JSON array.
  Result<std::string> events_poll(const Principal& who, int64_t after, int limit);

  /// Live events (docs/REALTIME.md): a thread that reads new events of watched organizations
  /// right after they commit — woken by this engine's own commits, by other processes through
  /// PostgreSQL LISTEN/NOTIFY, and by a once-a-second check (SQLite files shared between
  /// processes) — and hands them to the handler in id order, without gaps or repeats.
  Status live_start(LiveHandler handler);
  void live_stop();
  /// Starts delivery for an organization; returns the id after which delivery begins (events
  /// up to it are in the past: read them with live_read).
  Result<int64_t> live_watch(std::string_view org_id);
  /// Stops delivery for an organization (its last subscriber left); watching it again starts
  /// after the head at that time.
  void live_unwatch(std::string_view org_id);
  /// Events of an organization with after < id <= upto (upto 0: no bound), oldest first.
  Result<LiveEvents> live_read(std::string_view org_id, int64_t after, int64_t upto, int limit);
  /// Sends an ephemeral signal to every engine's on_signal (NOTIFY on PostgreSQL, up to 7999
  /// bytes; on SQLite only this process).
  Status live_signal(std::string_view payload);
  /// Lets the host say who is connected right now (notifications e-mail offline users).
  void set_presence_probe(std::function<bool(const std::string& org_id, const std::string& user_id)> probe);

  /// Creates an organization and an admin API key (trusted host use: CLI, scripts/run).
  Result<Bootstrap> bootstrap(std::string_view org_name);
  /// True when no organization exists yet.
  Result<bool> empty();

  /// A system principal acting as admin in an organization (trusted host use).
  Result<Principal> system_principal(std::string_view org_id, std::string_view label = "system");

  /// Durable jobs (timers, outbox sends, ...), the event consumers (workflows, SLA clocks,
  /// outgoing webhooks) and, with watch_mail, the IMAP watchers. Either start a pool of
  /// background workers (stop() joins them; the destructor stops them too) or step from the
  /// host's own loop with run_pending, which first hands new events to their consumers, then
  /// runs up to `max` due jobs on the calling thread, and returns how many events and jobs it
  /// handled (0: nothing to do right now). See docs/RUNTIME.md.
  Status start(int workers);
  void stop();
  Result<int> run_pending(int max = 100);

  Status ping();
  Result<int> schema_version();
  std::vector<OperationInfo> operations() const;
  const OperationInfo* operation(std::string_view name) const;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Library version, e.g. "0.1.0".
const char* version() noexcept;

}  // namespace banxway
