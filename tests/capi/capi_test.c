/* The C ABI exercised from C: open, bootstrap, call, errors, events, ownership rules. */
#include <banxway/banxway.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    ++checks;                                                         \
    if (!(cond)) {                                                    \
      ++failures;                                                     \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

/* Copies the string value of "key" from flat JSON text into out. */
static int json_str(const char* json, const char* key, char* out, size_t n) {
  char pat[64];
  const char* p;
  size_t i = 0;
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  p = json ? strstr(json, pat) : NULL;
  if (!p) return 0;
  p += strlen(pat);
  while (*p && *p != '"' && i + 1 < n) out[i++] = *p++;
  out[i] = '\0';
  return 1;
}

int main(void) {
  banxway_engine* e = NULL;
  char* out = NULL;
  char key[128], thread_id[64], params[256];
  int rc;
  const char* url = getenv("BANXWAY_CAPI_DB");
  char config[512];

  CHECK(strlen(banxway_version()) > 0);
  CHECK(strcmp(banxway_error_last(), "") == 0);

  /* Bad config: a clear error, no engine. */
  rc = banxway_open(&e, "{\"database_url\": \"mysql://nope\"}");
  CHECK(rc == BANXWAY_EINVALID);
  CHECK(e == NULL);
  CHECK(strstr(banxway_error_last(), "database URL") != NULL);
  rc = banxway_open(&e, "{not json");
  CHECK(rc == BANXWAY_EINVALID);
  rc = banxway_open(&e, "{\"watch_mail\": \"yes\"}");
  CHECK(rc == BANXWAY_EINVALID);
  CHECK(strstr(banxway_error_last(), "watch_mail") != NULL);
  rc = banxway_open(&e, "{\"ingest_parse_thread\": 1}");
  CHECK(rc == BANXWAY_EINVALID);
  CHECK(strstr(banxway_error_last(), "ingest_parse_thread") != NULL);
  rc = banxway_open(&e, "{\"blob_inline_max\": -1}");
  CHECK(rc == BANXWAY_EINVALID);
  CHECK(strstr(banxway_error_last(), "blob_inline_max") != NULL);

  snprintf(config, sizeof config,
           "{\"database_url\": \"%s\", \"watch_mail\": false, \"message_id_domain\": \"c.example\", "
           "\"blob_inline_max\": 32768, \"ingest_parse_thread\": false}",
           url ? url : "sqlite::memory:");
  rc = banxway_open(&e, config);
  CHECK(rc == BANXWAY_OK);
  if (rc != BANXWAY_OK) {
    fprintf(stderr, "open: %s\n", banxway_error_last());
    return 1;
  }

  rc = banxway_bootstrap(&out, e, "C Freight");
  CHECK(rc == BANXWAY_OK);
  CHECK(json_str(out, "api_key", key, sizeof key));
  CHECK(strncmp(key, "bxk_", 4) == 0);
  banxway_free(out);

  rc = banxway_call(&out, e, "threads.create", "{\"subject\": \"From C\"}", key);
  CHECK(rc == BANXWAY_OK);
  CHECK(json_str(out, "id", thread_id, sizeof thread_id));
  banxway_free(out);

  snprintf(params, sizeof params, "{\"id\": \"%s\"}", thread_id);
  rc = banxway_call(&out, e, "threads.get", params, key);
  CHECK(rc == BANXWAY_OK);
  CHECK(out && strstr(out, "\"subject\":\"From C\"") != NULL);
  banxway_free(out);

  rc = banxway_call(&out, e, "threads.list", NULL, key);
  CHECK(rc == BANXWAY_OK);
  CHECK(out && strstr(out, "\"items\":[") != NULL);
  banxway_free(out);

  /* Errors come back as a status, a JSON error object and banxway_error_last(). */
  rc = banxway_call(&out, e, "threads.get", "{\"id\": \"0190a0a0-0000-7000-8000-000000000999\"}", key);
  CHECK(rc == BANXWAY_ENOTFOUND);
  CHECK(out && strstr(out, "\"code\":\"not_found\"") != NULL);
  CHECK(strstr(banxway_error_last(), "not found") != NULL);
  banxway_free(out);

  rc = banxway_call(&out, e, "threads.create", "{\"subject\": 1}", key);
  CHECK(rc == BANXWAY_EINVALID);
  CHECK(strstr(banxway_error_last(), "subject") != NULL);
  banxway_free(out);

  rc = banxway_call(&out, e, "threads.list", "{}", "bxk_wrong");
  CHECK(rc == BANXWAY_EUNAUTH);
  banxway_free(out);

  rc = banxway_call(&out, e, "threads.list", "{}", NULL);
  CHECK(rc == BANXWAY_EUNAUTH);
  banxway_free(out);

  rc = banxway_call(NULL, e, "threads.list", "{}", key);
  CHECK(rc == BANXWAY_EINVALID);

  rc = banxway_events_poll(&out, e, key, 0, 100);
  CHECK(rc == BANXWAY_OK);
  CHECK(out && out[0] == '[' && strstr(out, "\"type\":\"thread.created\"") != NULL);
  banxway_free(out);

  rc = banxway_events_poll(&out, e, key, 0, 0);
  CHECK(rc == BANXWAY_EINVALID);
  banxway_free(out);

  {
    /* Raw mail with a non-UTF-8 byte in the body: bytes in, a threaded message out. */
    static const char mail[] =
        "From: Priya <priya@acme.example>\r\nTo: ops@forwarder.example\r\n"
        "Subject: Booking from C\r\nMessage-ID: <c-abi-1@acme.example>\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n\r\nCaf\xe9 au lait\r\n";
    rc = banxway_ingest(&out, e, key, mail, sizeof mail - 1);
    CHECK(rc == BANXWAY_OK);
    CHECK(out && strstr(out, "\"duplicate\":false") != NULL);
    CHECK(out && strstr(out, "Caf\xc3\xa9") != NULL);
    banxway_free(out);
    rc = banxway_ingest(&out, e, key, mail, sizeof mail - 1);
    CHECK(rc == BANXWAY_OK);
    CHECK(out && strstr(out, "\"duplicate\":true") != NULL);
    banxway_free(out);
    rc = banxway_ingest(&out, e, "bxk_nope", mail, sizeof mail - 1);
    CHECK(rc == BANXWAY_EUNAUTH);
    banxway_free(out);
  }

  banxway_free(NULL);
  banxway_close(NULL);
  banxway_close(e);

  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
