/* The harnesses' own log functions, linked in place of src/util/log.c (an
 * object on the link line wins over the archive member, which is then never
 * pulled in).
 *
 * Why: the app logs an info line at every rebuild, which would bury
 * libFuzzer's output; and a level=error line is, by the project's rule, "our
 * bug" as opposed to "client sent nonsense", so under fuzzing, where no
 * database or queue fails, one is a finding. It is printed and, unless
 * BO_FUZZ_LOG_ERRORS_FATAL=0, turned into a crash so libFuzzer keeps the
 * input. Info and warn lines are dropped. */
#include "fuzz_support.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bo_log_info(const char *fmt, ...) {
  (void)fmt;
}

void bo_log_warn(const char *fmt, ...) {
  (void)fmt;
}

void bo_log_error(const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  const char *fatal = getenv("BO_FUZZ_LOG_ERRORS_FATAL");
  if (fatal && strcmp(fatal, "0") == 0) {
    fprintf(stderr, "level=error %s\n", line);
    return;
  }
  fuzz_fail("level=error logged: %s", line);
}
