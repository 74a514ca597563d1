/* fuzz_auth: the credentials path. Token texts through bo_token_decode, an
 * Authorization header through the API's own checks (bo_api_token for each
 * need, bo_api_admin), the Idempotency-Key check, and RFC 3339 times
 * through bo_time_parse and back through bo_time_format.
 *
 * Input, one item per line:
 *   line 0  Authorization (empty: absent; "~": present and empty; "@0".."@4"
 *           expand to "Bearer " and a fixture token, "@a" to the admin
 *           secret, "$0" to a bare token; the rest is kept, so "@0 x" is a
 *           token with a tail and "bearer  $1" another spelling)
 *   line 1  Idempotency-Key (same empty/"~" rule)
 *   line 2  a time text; or "#" and up to 11 bytes from which one is built
 *           field by field (structured_time)
 *   rest    a token text (any bytes; cut at the first NUL as C would)
 *
 * The security claims are checked exactly, not just "no crash": a token is
 * accepted only when the header carries, after a case-insensitive "Bearer"
 * and spaces, exactly the text of a token the fixture issued, in a state
 * the need allows; the admin check passes only for exactly the secret; a
 * decoded token re-encodes to the very text it came from, so no two texts
 * name one token. */
#include "api/common.h"
#include "fuzz_support.h"
#include "util/time.h"
#include "util/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct fuzz_app fx;

static void close_app(void) {
  fuzz_app_close(&fx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  /* Nothing here changes the app, so it never needs rebuilding. */
  setenv("BO_FUZZ_RESET_EVERY", "0", 0);
  fuzz_app_open(&fx);
  atexit(close_app);
  return 0;
}

static char *header_value(char *line) {
  if (line[0] == '\0') {
    free(line);
    return NULL;
  }
  if (strcmp(line, "~") == 0)
    line[0] = '\0';
  return line;
}

/* The credentials as RFC 9110 and the API read them, written out again
 * independently of src/api/common.c. */
static const char *reference_bearer(const char *h) {
  if (!h || strncasecmp(h, "Bearer ", 7) != 0)
    return NULL;
  h += 7;
  while (*h == ' ')
    h++;
  return *h ? h : NULL;
}

static void check_token_text(const char *text) {
  struct bo_token token;
  if (!bo_token_decode(text, &token))
    return;
  char again[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&token, again);
  if (strcmp(again, text) != 0)
    fuzz_fail("token '%s' decodes, but encodes back as '%s'", text, again);
}

static bool need_allows(enum bo_token_need need, enum fuzz_token which) {
  switch (which) {
  case FUZZ_TOKEN_ALICE:
  case FUZZ_TOKEN_BOB:
    return true;
  case FUZZ_TOKEN_CAROL: /* WAITING */
    return need != BO_NEED_ACTIVE;
  case FUZZ_TOKEN_SPENT:
    return need == BO_NEED_KNOWN;
  default:
    return false;
  }
}

static void check_api_token(const char *authorization) {
  struct bo_request req = {
      .method = "GET", .path = "/fuzz", .authorization = authorization};
  const char *given = reference_bearer(authorization);
  enum fuzz_token which = FUZZ_TOKEN_COUNT;
  for (int t = 0; given && t < FUZZ_TOKEN_COUNT; t++)
    if (strcmp(given, fx.tokens[t]) == 0)
      which = (enum fuzz_token)t;

  static const enum bo_token_need needs[] = {BO_NEED_ACTIVE, BO_NEED_LIVE,
                                             BO_NEED_KNOWN};
  for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
    struct bo_reply reply = {0};
    struct bo_token_info info;
    bool ok = bo_api_token(&fx.app, &req, needs[i], &info, &reply);
    if (ok != need_allows(needs[i], which))
      fuzz_fail("bo_api_token(need %d) = %d for '%s'", needs[i], ok,
                authorization ? authorization : "(absent)");
    if (ok) {
      if (reply.status != 0)
        fuzz_fail("accepted token with a reply");
      int64_t owner = fx.user_ids[which == FUZZ_TOKEN_BOB     ? 1
                                  : which == FUZZ_TOKEN_CAROL ? 2
                                                              : 0];
      if (info.user_id != owner)
        fuzz_fail("token of user %lld read as user %lld", (long long)owner,
                  (long long)info.user_id);
    } else {
      if (reply.error != BO_ERR_TOKEN_INVALID &&
          reply.error != BO_ERR_TOKEN_NOT_ACTIVE)
        fuzz_fail("token refused with %s", bo_error_info(reply.error)->code);
      fuzz_check_reply(&reply);
    }
    bo_reply_clear(&reply);
  }
}

static void check_admin(const char *authorization) {
  struct bo_request req = {
      .method = "POST", .path = "/fuzz", .authorization = authorization};
  struct bo_reply reply = {0};
  const char *given = reference_bearer(authorization);
  bool want = given && strcmp(given, FUZZ_ADMIN_SECRET) == 0;
  bool ok = bo_api_admin(&fx.app, &req, &reply);
  if (ok != want)
    fuzz_fail("bo_api_admin = %d for '%s'", ok,
              authorization ? authorization : "(absent)");
  if (ok && reply.status != 0)
    fuzz_fail("admin accepted with a reply");
  if (!ok) {
    if (reply.error != BO_ERR_ADMIN_UNAUTHORIZED)
      fuzz_fail("admin refused with %s", bo_error_info(reply.error)->code);
    fuzz_check_reply(&reply);
  }
  bo_reply_clear(&reply);
}

static void check_idempotency_key(const char *value) {
  struct bo_request req = {
      .method = "POST", .path = "/fuzz", .idempotency_key = value};
  struct bo_reply reply = {0};
  const char *key = "unset";
  bool want = true;
  if (value) {
    size_t len = strlen(value);
    want = len >= 1 && len <= 255;
    for (size_t i = 0; i < len; i++)
      want = want && value[i] >= 0x20 && value[i] <= 0x7e;
  }
  bool ok = bo_api_idempotency_key(&req, &key, &reply);
  if (ok != want)
    fuzz_fail("idempotency key '%s' judged %d", value ? value : "(absent)", ok);
  if (ok && key != value)
    fuzz_fail("idempotency key handed back as another pointer");
  if (!ok) {
    if (key != NULL || reply.error != BO_ERR_BAD_REQUEST)
      fuzz_fail("idempotency key refused oddly");
    fuzz_check_reply(&reply);
  }
  bo_reply_clear(&reply);
}

/* A time the parser accepts must print and parse back to the same second,
 * and a canonical text ("2026-12-24T19:00:00Z") must print as itself. */
static void check_time(const char *text) {
  int64_t ms = -1;
  if (!bo_time_parse(text, &ms))
    return;
  if (ms < 0)
    fuzz_fail("'%s' parsed as %lld", text, (long long)ms);
  char printed[BO_TIME_TEXT_SIZE + 8];
  memset(printed, 'X', sizeof printed);
  bo_time_format(ms, printed);
  if (memchr(printed, '\0', BO_TIME_TEXT_SIZE) == NULL)
    fuzz_fail("'%s' (%lld ms) formats without a terminating NUL", text,
              (long long)ms);
  int64_t again = -1;
  if (!bo_time_parse(printed, &again) || again != ms - ms % 1000)
    fuzz_fail("'%s' (%lld ms) prints as '%s', which parses as %lld", text,
              (long long)ms, printed, (long long)again);
  if (strlen(text) == 20 && text[10] == 'T' && text[19] == 'Z' &&
      strcmp(text + 17, "60Z") != 0 && strcmp(printed, text) != 0)
    fuzz_fail("canonical '%s' prints as '%s'", text, printed);
}

/* Byte i of b clamped to [0, max]; 0 past the end. */
static int field(const unsigned char *b, size_t n, size_t i, int max) {
  int v = i < n ? b[i] : 0;
  return v > max ? max : v;
}

/* A date-time built from bytes, each clamped to its field's range: year
 * 1970 + (two bytes, at most 8029), month, day, hour, minute, second
 * (60 allowed), a fraction (0: none), and an offset (sign byte 0: "Z").
 * Random digits almost never land on the edges of several fields at once;
 * clamping makes 0xff the top of every field, so the mutator's favourite
 * values reach corners like the last second of 9999 with an offset. */
static void structured_time(const unsigned char *b, size_t n, char *out,
                            size_t size) {
  int year = 1970 + (field(b, n, 0, 255) * 256 + field(b, n, 1, 255) > 8029
                         ? 8029
                         : field(b, n, 0, 255) * 256 + field(b, n, 1, 255));
  int used =
      snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d", year,
               1 + field(b, n, 2, 11), 1 + field(b, n, 3, 30),
               field(b, n, 4, 23), field(b, n, 5, 59), field(b, n, 6, 60));
  int fraction = field(b, n, 7, 255);
  if (fraction)
    used += snprintf(out + used, size - (size_t)used, ".%d", fraction);
  int sign = field(b, n, 8, 255);
  if (sign == 0)
    snprintf(out + used, size - (size_t)used, "Z");
  else
    snprintf(out + used, size - (size_t)used, "%c%02d:%02d",
             sign & 1 ? '-' : '+', field(b, n, 9, 23), field(b, n, 10, 59));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *auth_line = header_value(fuzz_take_line(&data, &size));
  char *key = header_value(fuzz_take_line(&data, &size));
  /* The raw length too: a built time's bytes may include NUL. */
  const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
  size_t time_len = nl ? (size_t)(nl - data) : size;
  char *time_text = fuzz_take_line(&data, &size);
  char *token_text = fuzz_strndup(data, size);
  char *authorization = auth_line ? fuzz_expand_auth(&fx, auth_line) : NULL;

  check_token_text(token_text);
  check_api_token(authorization);
  check_admin(authorization);
  check_idempotency_key(key);
  if (time_text[0] == '#') {
    char built[64];
    structured_time((const unsigned char *)time_text + 1, time_len - 1, built,
                    sizeof built);
    check_time(built);
  } else {
    check_time(time_text);
  }

  free(authorization);
  free(token_text);
  free(time_text);
  free(key);
  free(auth_line);
  return 0;
}
