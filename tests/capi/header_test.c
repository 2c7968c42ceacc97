/* banxway.h must compile as strict C99 on its own (built with -std=c99 -pedantic -Werror). */
#include <banxway/banxway.h>

int main(void) {
  banxway_engine* e = (banxway_engine*)0;
  (void)e;
  return BANXWAY_OK;
}
