/* The C example from the README: open an engine, create an organization, list threads. */
#include <banxway/banxway.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  const char* config = argc > 1 ? argv[1] : "{\"database_url\": \"sqlite::memory:\"}";
  banxway_engine* engine = NULL;
  if (banxway_open(&engine, config) != BANXWAY_OK) {
    fprintf(stderr, "open failed: %s\n", banxway_error_last());
    return 1;
  }
  char* boot = NULL;
  if (banxway_bootstrap(&boot, engine, "Acme Logistics") != BANXWAY_OK) {
    fprintf(stderr, "bootstrap failed: %s\n", banxway_error_last());
    banxway_free(boot);
    banxway_close(engine);
    return 1;
  }
  /* The admin key is the value of "api_key" in {"org": {...}, "api_key": "bxk_..."}. */
  char key[128] = {0};
  const char* k = strstr(boot, "\"api_key\":\"");
  if (k) sscanf(k + 11, "%127[^\"]", key);
  banxway_free(boot);

  char* result = NULL;
  int rc = banxway_call(&result, engine, "threads.create",
                        "{\"subject\": \"Booking MAEU123 delayed\", \"priority\": \"high\"}", key);
  printf("threads.create -> %d %s\n", rc, result);
  banxway_free(result);
  rc = banxway_call(&result, engine, "threads.list", "{\"limit\": 10}", key);
  printf("threads.list -> %d %s\n", rc, result);
  banxway_free(result);
  banxway_close(engine);
  return rc == BANXWAY_OK ? 0 : 1;
}
