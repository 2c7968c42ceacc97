/*
 * banxway.h — the stable C ABI of libbanxway.
 *
 * Conventions (as in libgit2): opaque handles; outputs first; functions return an int status
 * (BANXWAY_OK = 0, negative on error); the message of the last error on this thread is
 * banxway_error_last() (never NULL); every string the library returns is freed with
 * banxway_free(); NULL is accepted by every free/close. No C++ exception crosses this boundary.
 * A shipped function never changes: a new behaviour gets a new name (…_v2).
 */
#ifndef BANXWAY_H
#define BANXWAY_H

#include <stddef.h>
#include <stdint.h>

#if defined(BANXWAY_BUILDING)
#define BANXWAY_EXTERN __attribute__((visibility("default")))
#else
#define BANXWAY_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: 0 is success; each error code matches an API error name. */
enum banxway_status {
  BANXWAY_OK = 0,
  BANXWAY_EINVALID = -1,      /* invalid_argument */
  BANXWAY_ENOTFOUND = -2,     /* not_found */
  BANXWAY_EEXISTS = -3,       /* already_exists */
  BANXWAY_EDENIED = -4,       /* permission_denied */
  BANXWAY_EUNAUTH = -5,       /* unauthenticated */
  BANXWAY_ECONFLICT = -6,     /* conflict */
  BANXWAY_ETOOLARGE = -7,     /* payload_too_large */
  BANXWAY_ERATELIMIT = -8,    /* rate_limited */
  BANXWAY_EUNAVAILABLE = -9,  /* unavailable */
  BANXWAY_EINTERNAL = -10     /* internal */
};

typedef struct banxway_engine banxway_engine;

/* The library version, e.g. "0.1.0". Static storage; do not free. */
BANXWAY_EXTERN const char* banxway_version(void);

/*
 * Opens an engine. config_json is NULL or a JSON object:
 *   {"database_url": "sqlite:///path" | "sqlite::memory:" | "postgres://…",
 *    "jwt_secret": "…", "jwt_audience": "…", "jwt_issuer": "…", "pool_size": 4,
 *    "blob_dir": "…", "blob_inline_max": 65536,
 *    "message_id_domain": "mail.example.com", "watch_mail": true, "ingest_parse_thread": true,
 *    "transcription_url": "https://…", "transcription_api_key": "…", "transcription_model": "…",
 *    "ai_provider": "openai" | "anthropic", "ai_base_url": "…", "ai_api_key": "…",
 *    "ai_model": "…", "ai_monthly_token_budget": 0, "ai_allow_private_network": false}
 * blob_inline_max: blobs up to this many bytes are kept in the database, larger ones as files
 * under blob_dir (0: all files).
 * watch_mail: banxway_start also runs the IMAP watchers of email channel accounts.
 * ingest_parse_thread: batch ingest (IMAP sync pages) parses on a second thread while the
 * calling thread writes; false keeps it on the calling thread.
 * Missing migrations are applied. On success *out is a new engine (close it with
 * banxway_close).
 */
BANXWAY_EXTERN int banxway_open(banxway_engine** out, const char* config_json);

/* Closes an engine; NULL is a no-op. */
BANXWAY_EXTERN void banxway_close(banxway_engine* engine);

/*
 * Runs operation `op` (e.g. "threads.list") with params_json (a JSON object, NULL for {}),
 * authenticated by `credential` (an API key "bxk_…" or a JWT, optionally "Bearer "-prefixed).
 * On success *result_json is the operation's data as JSON (free with banxway_free). On error
 * *result_json is {"code": "...", "message": "...", "details": ...} and the return is the
 * matching negative status; banxway_error_last() holds the message too.
 */
BANXWAY_EXTERN int banxway_call(char** result_json, banxway_engine* engine, const char* op,
                                const char* params_json, const char* credential);

/*
 * Events of the credential's organization with id > after_id, oldest first, at most `limit`
 * (1..1000): *events_json is a JSON array of {"id", "type", "data", ...}.
 */
BANXWAY_EXTERN int banxway_events_poll(char** events_json, banxway_engine* engine,
                                       const char* credential, int64_t after_id, int limit);

/*
 * Ingests one raw RFC 5322 message of `len` bytes (any bytes: it need not be UTF-8 or
 * NUL-terminated) for the credential's organization: parsed, threaded, stored. Idempotent by
 * Message-ID (or by content when there is none). *result_json is
 * {"message": {...}, "thread_id": "...", "duplicate": bool, "new_thread": bool,
 *  "threaded_by": "...", "merged": [...], "warnings": [...]}.
 */
BANXWAY_EXTERN int banxway_ingest(char** result_json, banxway_engine* engine,
                                  const char* credential, const char* raw, size_t len);

/*
 * Trusted-host set-up: creates an organization named org_name and an admin API key.
 * *result_json is {"org": {...}, "api_key": "bxk_…"}; the key is shown only here.
 */
BANXWAY_EXTERN int banxway_bootstrap(char** result_json, banxway_engine* engine,
                                     const char* org_name);

/*
 * Durable jobs. Either start `workers` background threads (1..64) that run due jobs until
 * banxway_stop (or banxway_close), or call banxway_run_pending from the host's own loop; the
 * library starts no thread unless asked. BANXWAY_ECONFLICT when workers are already running.
 */
BANXWAY_EXTERN int banxway_start(banxway_engine* engine, int workers);

/* Stops and joins the workers started by banxway_start; a job already running finishes first.
 * NULL, or an engine without workers, is a no-op. */
BANXWAY_EXTERN void banxway_stop(banxway_engine* engine);

/*
 * Host-stepped mode: hands new events to the event consumers (workflows, SLA clocks, outgoing
 * webhooks), then runs up to `max` (>= 1) due jobs on the calling thread, and sets *ran to how
 * many events and jobs were handled (0 when nothing was to do).
 */
BANXWAY_EXTERN int banxway_run_pending(int* ran, banxway_engine* engine, int max);

/* The message of the last error on this thread ("" when none). Never NULL; do not free. */
BANXWAY_EXTERN const char* banxway_error_last(void);

/* Frees a string returned by the library; NULL is a no-op. */
BANXWAY_EXTERN void banxway_free(void* ptr);

#ifdef __cplusplus
}
#endif

#endif /* BANXWAY_H */
