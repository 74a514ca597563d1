/* What the libFuzzer harnesses share: a whole struct bo_app on a real
 * SQLite file with the in-process queue and a clock moved only by the
 * harness, a small set of known users, concerts, reservations and tokens so
 * that valid paths are reachable, checks every reply must pass, and the
 * database-wide invariants.
 *
 * Harnesses abort() on a broken invariant: libFuzzer treats that as a crash,
 * saves the input and stops, which is exactly what a fuzzing run should do
 * when the service breaks a promise without crashing. */
#ifndef BO_FUZZ_SUPPORT_H
#define BO_FUZZ_SUPPORT_H

#include "app.h"
#include "http/reply.h"
#include "util/token.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tokens a fuzz input can name as "@0".."@4" (see fuzz_expand_auth). */
enum fuzz_token {
  FUZZ_TOKEN_ALICE,   /* ACTIVE; rich; owns reservations 2 (paid) and 3 */
  FUZZ_TOKEN_BOB,     /* ACTIVE; poor; owns reservation 1 (held) */
  FUZZ_TOKEN_CAROL,   /* WAITING: the line is full */
  FUZZ_TOKEN_SPENT,   /* alice's first token, spent by her payment */
  FUZZ_TOKEN_UNKNOWN, /* well-formed, never issued */
  FUZZ_TOKEN_COUNT
};

#define FUZZ_ADMIN_SECRET "fuzz-admin-secret-0123456789"
/* The key alice's fixture payment used, so a replay is reachable. */
#define FUZZ_PAYMENT_KEY "fixture-payment-1"

struct fuzz_app {
  struct bo_app app;
  int64_t now_ms; /* what the clock answers; only ever moves forward */
  char dir[512];
  char tokens[FUZZ_TOKEN_COUNT][BO_TOKEN_TEXT_LEN + 1];
  int64_t user_ids[4];            /* alice, bob, carol, a filler user */
  struct sqlite3 *check_db;       /* a second connection, for invariants only */
  struct sqlite3_stmt *checks[8]; /* its queries, prepared once per build */
  const char **route_names;       /* borrowed by the metrics */
  unsigned long inputs;           /* since the last reset */
  unsigned long reset_every;      /* BO_FUZZ_RESET_EVERY, default 250 */
  unsigned long resets;           /* how many rebuilds so far */
};

/* Builds everything in a fresh folder under $TMPDIR (default /tmp); aborts
 * on any failure, since a harness without its app can test nothing. */
void fuzz_app_open(struct fuzz_app *fx);
void fuzz_app_close(struct fuzz_app *fx);

/* Called before each input. Rebuilds the whole app (a fresh file, the same
 * fixtures) every reset_every inputs, and at once when a fixture token is no
 * longer in its state (alice or bob not ACTIVE, carol not WAITING, the spent
 * token forgotten): a payment, a cancel or the clock moving on changes
 * them, and without live tokens nearly every input would stop at 401.
 * Rebuilding also keeps the database small, so exec/s stays high. */
void fuzz_app_next_input(struct fuzz_app *fx);

/* Moves the clock forward (never back: the rules assume time does not
 * reverse, so a backward step could only produce false alarms). */
void fuzz_app_advance(struct fuzz_app *fx, int64_t ms);

/* An Authorization value written by the fuzzer: a leading "@<digit>"
 * becomes "Bearer <fixture token>" and a leading "@a" "Bearer <admin
 * secret>"; "$<digit>" and "$a" anywhere become the bare token or secret
 * ("bearer  $0", "Bearer $0$1"). The fuzzer cannot guess a 128-bit token,
 * so without this nearly every input would stop at 401. Returns malloc'd
 * text. */
char *fuzz_expand_auth(const struct fuzz_app *fx, const char *value);

/* Checks what every reply must be: a status from 200 to 599, a body that
 * serialises to valid JSON (or text for /metrics), and for an error a
 * problem+json document whose code and status come from the registry in
 * errors.h. Aborts with a message otherwise. */
void fuzz_check_reply(struct bo_reply *reply);

/* Database-wide invariants, read through a second connection: no balance
 * is negative or above the limit, each balance equals its history (charges
 * minus uses plus refunds) and the last history row's balance after, and
 * every SOLD seat has exactly one CONFIRMED reservation with one payment. */
void fuzz_check_db(struct fuzz_app *fx);

/* A NUL-terminated copy of data[0..len) in a buffer of exactly len + 1
 * bytes, so ASan sees any read past it. */
char *fuzz_strndup(const uint8_t *data, size_t len);

/* Splits data at the first '\n' into a malloc'd line (the rest is kept in
 * *data, *len). At the end of the input the line is empty. */
char *fuzz_take_line(const uint8_t **data, size_t *len);

/* Prints a message and aborts: a broken promise, for libFuzzer a crash. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

#endif
