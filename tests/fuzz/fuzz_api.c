/* fuzz_api: whole requests through the route table and the real handlers,
 * on a real app (SQLite file, in-process line, a clock only this harness
 * moves), without a socket.
 *
 * An input is text, so seeds can be written by hand:
 *
 *   line 0  method ("POST"); leading '+'s first move the clock 301 s
 *           forward (past a hold's 300 s) and run one housekeeping pass
 *   line 1  path, with an optional "?query" ("/api/v1/users/1/points/
 *           history?limit=5")
 *   line 2  Content-Type      an empty line means the header is absent,
 *   line 3  Authorization     "~" that it is present but empty; in
 *   line 4  Idempotency-Key   Authorization "@0".."@4" are "Bearer " and
 *                             a fixture token, "@a" the admin secret,
 *                             "$0" a bare token (fuzz_expand_auth)
 *   rest    the body, any bytes
 *
 * Routing is bo_router_match over bo_api_routes, as the server does; what
 * the server answers itself for an unrouted path is built here the same
 * way, so those replies are checked too. After each request the reply is
 * checked (fuzz_check_reply) and so is the database (fuzz_check_db).
 *
 * The app persists across inputs: it is rebuilt every BO_FUZZ_RESET_EVERY
 * inputs (default 250) and whenever a fixture token has left its state
 * (fuzz_app_next_input). A crash that needs earlier inputs' state may
 * therefore not replay alone; run the reproducer with the inputs before it,
 * or with BO_FUZZ_RESET_EVERY=1 to check that it needs none. */
#include "api/api.h"
#include "booking/housekeeping.h"
#include "fuzz_support.h"
#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_STEP_MS (301 * 1000LL)
#define QUERY_ARGS_MAX 8

static struct fuzz_app fx;
static bool verbose; /* BO_FUZZ_VERBOSE=1: print each request and answer */

static void close_app(void) {
  if (verbose)
    fprintf(stderr, "fuzz_api: %lu rebuilds of the app\n", fx.resets);
  fuzz_app_close(&fx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_app_open(&fx);
  atexit(close_app);
  verbose = getenv("BO_FUZZ_VERBOSE") != NULL;
  return 0;
}

/* The query string split the way libmicrohttpd hands it over: name=value
 * pairs separated by '&'; a name without '=' has no value. */
struct query {
  char *text; /* owned; split in place */
  const char *names[QUERY_ARGS_MAX];
  const char *values[QUERY_ARGS_MAX];
  int count;
};

static void query_split(struct query *q, char *text) {
  q->text = text;
  q->count = 0;
  for (char *p = text; p && *p && q->count < QUERY_ARGS_MAX;) {
    char *amp = strchr(p, '&');
    if (amp)
      *amp = '\0';
    char *eq = strchr(p, '=');
    if (eq)
      *eq = '\0';
    q->names[q->count] = p;
    q->values[q->count] = eq ? eq + 1 : NULL;
    q->count++;
    p = amp ? amp + 1 : NULL;
  }
}

static const char *query_lookup(void *ctx, const char *name) {
  const struct query *q = ctx;
  for (int i = 0; i < q->count; i++)
    if (strcmp(q->names[i], name) == 0)
      return q->values[i];
  return NULL;
}

/* A header line: empty means absent (NULL), "~" present and empty. */
static char *header_value(char *line) {
  if (line[0] == '\0') {
    free(line);
    return NULL;
  }
  if (strcmp(line, "~") == 0)
    line[0] = '\0';
  return line;
}

/* What the server itself answers when no handler takes the path (as
 * src/http/connection.c does), so the client-controlled path text reaches
 * bo_reply_error as it would in production. */
static void answer_unrouted(enum bo_route_match outcome,
                            const struct bo_route_result *match,
                            const char *method, const char *path,
                            struct bo_reply *reply) {
  switch (outcome) {
  case BO_ROUTE_NOT_FOUND:
    bo_reply_error(reply, BO_ERR_NOT_FOUND, "no resource at '%s'", path);
    break;
  case BO_ROUTE_BAD_METHOD:
    if (match->allow[0] == '\0')
      fuzz_fail("405 for %s %s with an empty Allow", method, path);
    bo_reply_error(reply, BO_ERR_METHOD_NOT_ALLOWED,
                   "%s is not allowed here; allowed: %s", method, match->allow);
    break;
  case BO_ROUTE_BAD_ID:
    bo_reply_error(reply, BO_ERR_BAD_REQUEST, "'%s' is not a valid id in '%s'",
                   path, bo_api_routes[match->index].pattern);
    break;
  case BO_ROUTE_FOUND:
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_app_next_input(&fx);

  char *method_line = fuzz_take_line(&data, &size);
  char *path = fuzz_take_line(&data, &size);
  char *content_type = header_value(fuzz_take_line(&data, &size));
  char *auth_line = header_value(fuzz_take_line(&data, &size));
  char *idempotency_key = header_value(fuzz_take_line(&data, &size));
  /* Exactly as long as the body, not NUL-terminated, as the server keeps
   * it: a handler reading one byte too far is an ASan report. */
  char *body = size ? malloc(size) : NULL;
  if (body)
    memcpy(body, data, size);
  char *authorization = auth_line ? fuzz_expand_auth(&fx, auth_line) : NULL;

  const char *method = method_line;
  if (*method == '+') {
    /* One step however many '+': more would only expire the fixture
     * tokens sooner, and each expiry costs a rebuild. */
    method += strspn(method, "+");
    fuzz_app_advance(&fx, CLOCK_STEP_MS);
    bo_housekeeping_admit(&fx.app);
    bo_housekeeping_release_holds(&fx.app);
  }

  struct query query = {0};
  char *mark = strchr(path, '?');
  if (mark) {
    *mark = '\0';
    query_split(&query,
                fuzz_strndup((const uint8_t *)mark + 1, strlen(mark + 1)));
  }

  struct bo_reply reply = {0};
  struct bo_route_result match;
  enum bo_route_match outcome =
      bo_router_match(bo_api_routes, bo_api_route_count, method, path, &match);
  if (outcome == BO_ROUTE_FOUND) {
    const struct bo_route *route = &bo_api_routes[match.index];
    struct bo_request req = {
        .method = method,
        .path = path,
        .route = route->pattern,
        .content_type = content_type,
        .authorization = authorization,
        .idempotency_key = idempotency_key,
        .body = body,
        .body_len = size,
        .path_id_count = match.id_count,
        .request_id = "00000000000f0220",
        .query = query_lookup,
        .query_ctx = &query,
    };
    for (int i = 0; i < match.id_count; i++)
      req.path_ids[i] = match.ids[i];
    route->handler(&fx.app, &req, &reply);
    if (reply.status == 0)
      fuzz_fail("%s %s: the handler left no status", method, path);
  } else {
    answer_unrouted(outcome, &match, method, path, &reply);
  }
  bo_metrics_observe_request(fx.app.metrics, match.index, reply.status, 1000);
  fuzz_check_reply(&reply);
  if (verbose) { /* for checking what a seed reaches */
    size_t len = 0;
    const char *text = bo_reply_body(&reply, &len);
    fprintf(stderr, "%s %s -> %d %.*s\n", method, path, reply.status,
            (int)(len > 300 ? 300 : len), text);
  }
  fuzz_check_db(&fx);

  bo_reply_clear(&reply);
  free(query.text);
  free(body);
  free(authorization);
  free(auth_line);
  free(idempotency_key);
  free(content_type);
  free(path);
  free(method_line);
  return 0;
}
