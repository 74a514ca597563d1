/* The Redis queue driver: one waiting line shared by any number of
 * boxoffice instances.
 *
 * Data. All state lives in Redis under keys that share the hash tag {q}
 * (so one Redis Cluster slot holds them all): the line as a sorted set of
 * tokens scored by a global INCR sequence number, ACTIVE tokens in a
 * sorted set scored by their expiry, two hashes token -> user and user ->
 * token for live tokens, a sorted set of last-status times of WAITING
 * tokens for idle removal, one key per SPENT token with a TTL, and a small
 * hash of admissions per second for the ETA. docs/queue.md lists every key.
 * This process keeps only its connections and the count of admissions its
 * own calls made (stats.admitted_total).
 *
 * One script per step. Every call that carries a time (join, status,
 * leave, admit) is one Lua script, which Redis runs alone, start to end:
 * no other instance's script can interleave. Each begins with the same
 * step() (src/queue/step.lua, put in front of each script when the driver
 * starts, because Redis scripts cannot share functions): drop ACTIVE tokens
 * whose time ran out, drop WAITING tokens idle for idle_ms, then move the
 * front of the line to ACTIVE while fewer than active_max are ACTIVE. So a
 * run-out token reads NOT_FOUND and its slot is refilled at the very next
 * call from any instance, whether or not a housekeeping thread ran admit.
 * A separate admit script called before each step would cost a second
 * round trip, and between the two another instance could move the line.
 *
 * Why FIFO holds across instances. A join takes its number from one INCR
 * inside its script, so numbers follow the order in which scripts ran, on
 * whatever instance; the only way out of the line into ACTIVE is step(),
 * which pops the lowest number each time (ZPOPMIN). A join goes straight to
 * ACTIVE only when the line is empty, so it overtakes no one.
 *
 * Why at most active_max are ACTIVE. A token is added to the active set in
 * two places, both inside a script that first counts the set (ZCARD) and
 * adds only while the count is below active_max; scripts do not interleave,
 * so no two instances can both see the last free slot.
 *
 * Times are the caller's now_ms, never Redis TIME: instances' clocks are
 * assumed NTP-synced (a skew of a few ms shifts an expiry by as much), and
 * tests move a clock by hand. A SPENT token's key also carries a Redis TTL
 * of spent_keep_ms plus a second, which only collects the garbage; SPENT
 * ends by the caller's clock, like every other deadline.
 *
 * Failure. Every call needs Redis; when it cannot be reached within about a
 * second the call answers BO_QUEUE_UNAVAILABLE and the next one reconnects
 * (redis_conn.c). Redis does not roll a script back if it fails half-way,
 * so the scripts have no failure path after their first write (only the
 * "live token in neither set" assertion, which is a bug). What remains is
 * a reply lost after the script ran; the caller has answered 503 by then,
 * and a client that retries a join gets the same token back. */
#include "queue/redis_internal.h"
#include "util/log.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The same bounds as the memory driver (memory.c): every product in the
 * scripts stays far inside the 2^53 that Lua's numbers hold exactly. */
#define BO_REDISQ_ACTIVE_MAX_LIMIT (INT64_C(1) << 30)
#define BO_REDISQ_DURATION_LIMIT_MS (INT64_C(7) * 24 * 3600 * 1000)
/* How long Redis keeps a SPENT token's key past its end: room for the
 * instances' clocks to disagree. */
#define BO_REDISQ_SPENT_SLACK_MS 1000
/* Tries before a join gives up on drawing a token nobody holds. */
#define BO_REDISQ_JOIN_TRIES 4

#define BO_REDISQ_INT_CHARS 24

struct bo_redisq {
  struct bo_queue queue; /* the public face; impl points back here */
  struct bo_queue_settings settings;
  struct bo_redisq_pool pool;
  /* The settings as script arguments, written once. */
  char active_max[BO_REDISQ_INT_CHARS];
  char active_ms[BO_REDISQ_INT_CHARS];
  char idle_ms[BO_REDISQ_INT_CHARS];
  char spent_keep_ms[BO_REDISQ_INT_CHARS];
  char spent_slack_ms[BO_REDISQ_INT_CHARS];
  atomic_int_least64_t admitted_total;
};

/* KEYS 1..7 of every script that runs step.lua, in step.lua's order. */
enum { BO_REDISQ_COMMON_KEYS = 7 };
static const char *const bo_redisq_keys[BO_REDISQ_COMMON_KEYS] = {
    BO_REDISQ_PREFIX "line",   BO_REDISQ_PREFIX "active",
    BO_REDISQ_PREFIX "seen",   BO_REDISQ_PREFIX "owner",
    BO_REDISQ_PREFIX "holder", BO_REDISQ_PREFIX "rate",
    BO_REDISQ_PREFIX "seq"};

/* The reply of join and status (step.lua, describe()). */
enum {
  BO_REDISQ_F_CODE,
  BO_REDISQ_F_STATE,
  BO_REDISQ_F_USER,
  BO_REDISQ_F_POSITION,
  BO_REDISQ_F_ETA,
  BO_REDISQ_F_EXPIRES,
  BO_REDISQ_F_TOKEN,
  BO_REDISQ_F_CREATED,
  BO_REDISQ_F_ADMITTED,
  BO_REDISQ_FIELDS
};

static struct bo_redisq *bo_redisq_of(struct bo_queue *queue) {
  return queue->impl;
}

/* The arguments every step.lua script starts with: 7 keys, the script's
 * 8th key (NULL for none), then now, active_max, active_ms, idle_ms.
 * Returns the count of entries written. */
static int bo_redisq_common_args(const struct bo_redisq *q,
                                 const char *extra_key, const char *now,
                                 const char **argv) {
  int n = 0;
  for (int i = 0; i < BO_REDISQ_COMMON_KEYS; i++)
    argv[n++] = bo_redisq_keys[i];
  if (extra_key != NULL)
    argv[n++] = extra_key;
  argv[n++] = now;
  argv[n++] = q->active_max;
  argv[n++] = q->active_ms;
  argv[n++] = q->idle_ms;
  return n;
}

static void bo_redisq_spent_key(const char *token_text,
                                char out[sizeof BO_REDISQ_PREFIX + 32]) {
  snprintf(out, sizeof BO_REDISQ_PREFIX + 32, "%sspent:%s", BO_REDISQ_PREFIX,
           token_text);
}

static int bo_redisq_is_int(const redisReply *reply) {
  return reply->type == REDIS_REPLY_INTEGER;
}

/* An array of `min` or more elements whose first `ints` are integers. */
static int bo_redisq_shape(const redisReply *reply, size_t min, size_t ints) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < min)
    return 0;
  for (size_t i = 0; i < ints && i < reply->elements; i++)
    if (!bo_redisq_is_int(reply->element[i]))
      return 0;
  return 1;
}

static enum bo_queue_status bo_redisq_bad_reply(redisReply *reply,
                                                const char *script) {
  bo_log_error("msg=\"redis queue: unexpected script reply\" script=%s",
               script);
  freeReplyObject(reply);
  return BO_QUEUE_UNAVAILABLE;
}

/* Reads a join or status reply (code OK) into `out`. -1 if malformed. */
static int bo_redisq_read_info(struct bo_redisq *q, const redisReply *reply,
                               struct bo_token_info *out) {
  if (!bo_redisq_shape(reply, BO_REDISQ_FIELDS, BO_REDISQ_F_TOKEN))
    return -1;
  const redisReply *token = reply->element[BO_REDISQ_F_TOKEN];
  if (token->type != REDIS_REPLY_STRING ||
      !bo_redisq_is_int(reply->element[BO_REDISQ_F_CREATED]) ||
      !bo_redisq_is_int(reply->element[BO_REDISQ_F_ADMITTED]))
    return -1;
  *out = (struct bo_token_info){
      .user_id = reply->element[BO_REDISQ_F_USER]->integer,
      .position = reply->element[BO_REDISQ_F_POSITION]->integer,
      .estimated_wait_seconds = reply->element[BO_REDISQ_F_ETA]->integer,
      .expires_at_ms = reply->element[BO_REDISQ_F_EXPIRES]->integer,
  };
  switch (reply->element[BO_REDISQ_F_STATE]->integer) {
  case BO_REDISQ_S_WAITING:
    out->state = BO_TOKEN_WAITING;
    break;
  case BO_REDISQ_S_ACTIVE:
    out->state = BO_TOKEN_ACTIVE;
    break;
  case BO_REDISQ_S_SPENT:
    out->state = BO_TOKEN_SPENT;
    break;
  default:
    return -1;
  }
  if (!bo_token_decode(token->str, &out->token))
    return -1;
  atomic_fetch_add(&q->admitted_total,
                   reply->element[BO_REDISQ_F_ADMITTED]->integer);
  return 0;
}

static enum bo_queue_status bo_redisq_join(struct bo_queue *queue,
                                           int64_t user_id, int64_t now_ms,
                                           struct bo_token_info *out,
                                           int *created) {
  struct bo_redisq *q = bo_redisq_of(queue);
  char now[BO_REDISQ_INT_CHARS], user[BO_REDISQ_INT_CHARS];
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  snprintf(user, sizeof user, "%" PRId64, user_id);
  for (int attempt = 0; attempt < BO_REDISQ_JOIN_TRIES; attempt++) {
    /* Drawn here; wasted when the user already has one. */
    struct bo_token fresh;
    bo_token_generate(&fresh);
    char fresh_text[BO_TOKEN_TEXT_LEN + 1];
    bo_token_encode(&fresh, fresh_text);
    char spent_key[sizeof BO_REDISQ_PREFIX + 32];
    bo_redisq_spent_key(fresh_text, spent_key);
    const char *argv[16];
    int n = bo_redisq_common_args(q, spent_key, now, argv);
    argv[n++] = user;
    argv[n++] = fresh_text;
    redisReply *reply = bo_redisq_eval(&q->pool, BO_REDISQ_JOIN,
                                       BO_REDISQ_COMMON_KEYS + 1, n, argv);
    if (reply == NULL)
      return BO_QUEUE_UNAVAILABLE;
    if (!bo_redisq_shape(reply, 1, 1))
      return bo_redisq_bad_reply(reply, "join");
    if (reply->element[0]->integer == BO_REDISQ_R_RETRY) {
      /* 2^-128 odds, but a duplicate would hand this user someone's
       * place. */
      freeReplyObject(reply);
      continue;
    }
    if (reply->element[0]->integer != BO_REDISQ_R_OK ||
        bo_redisq_read_info(q, reply, out) != 0)
      return bo_redisq_bad_reply(reply, "join");
    *created = (int)reply->element[BO_REDISQ_F_CREATED]->integer;
    freeReplyObject(reply);
    return BO_QUEUE_OK;
  }
  bo_log_error("msg=\"redis queue: no unused token after %d draws\"",
               BO_REDISQ_JOIN_TRIES);
  return BO_QUEUE_UNAVAILABLE;
}

static enum bo_queue_status bo_redisq_status(struct bo_queue *queue,
                                             const struct bo_token *token,
                                             int64_t now_ms,
                                             struct bo_token_info *out) {
  struct bo_redisq *q = bo_redisq_of(queue);
  char now[BO_REDISQ_INT_CHARS];
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(token, text);
  char spent_key[sizeof BO_REDISQ_PREFIX + 32];
  bo_redisq_spent_key(text, spent_key);
  const char *argv[16];
  int n = bo_redisq_common_args(q, spent_key, now, argv);
  argv[n++] = text;
  redisReply *reply = bo_redisq_eval(&q->pool, BO_REDISQ_STATUS,
                                     BO_REDISQ_COMMON_KEYS + 1, n, argv);
  if (reply == NULL)
    return BO_QUEUE_UNAVAILABLE;
  if (!bo_redisq_shape(reply, BO_REDISQ_FIELDS, 1))
    return bo_redisq_bad_reply(reply, "status");
  enum bo_queue_status status = BO_QUEUE_OK;
  if (reply->element[0]->integer == BO_REDISQ_R_NOT_FOUND) {
    const redisReply *admitted = reply->element[BO_REDISQ_F_ADMITTED];
    if (!bo_redisq_is_int(admitted))
      return bo_redisq_bad_reply(reply, "status");
    atomic_fetch_add(&q->admitted_total, admitted->integer);
    status = BO_QUEUE_NOT_FOUND;
  } else if (reply->element[0]->integer != BO_REDISQ_R_OK ||
             bo_redisq_read_info(q, reply, out) != 0) {
    return bo_redisq_bad_reply(reply, "status");
  }
  freeReplyObject(reply);
  return status;
}

/* Reads {code, admitted} (leave, admit): the code, or -1 if malformed. */
static int bo_redisq_read_code(struct bo_redisq *q, const redisReply *reply,
                               int64_t *admitted) {
  if (!bo_redisq_shape(reply, 2, 2))
    return -1;
  *admitted = reply->element[1]->integer;
  atomic_fetch_add(&q->admitted_total, *admitted);
  return (int)reply->element[0]->integer;
}

static enum bo_queue_status bo_redisq_leave(struct bo_queue *queue,
                                            const struct bo_token *token,
                                            int64_t now_ms) {
  struct bo_redisq *q = bo_redisq_of(queue);
  char now[BO_REDISQ_INT_CHARS];
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(token, text);
  char spent_key[sizeof BO_REDISQ_PREFIX + 32];
  bo_redisq_spent_key(text, spent_key);
  const char *argv[16];
  int n = bo_redisq_common_args(q, spent_key, now, argv);
  argv[n++] = text;
  argv[n++] = q->spent_keep_ms;
  argv[n++] = q->spent_slack_ms;
  redisReply *reply = bo_redisq_eval(&q->pool, BO_REDISQ_LEAVE,
                                     BO_REDISQ_COMMON_KEYS + 1, n, argv);
  if (reply == NULL)
    return BO_QUEUE_UNAVAILABLE;
  int64_t admitted = 0;
  int code = bo_redisq_read_code(q, reply, &admitted);
  if (code != BO_REDISQ_R_OK && code != BO_REDISQ_R_NOT_FOUND)
    return bo_redisq_bad_reply(reply, "leave");
  freeReplyObject(reply);
  return code == BO_REDISQ_R_OK ? BO_QUEUE_OK : BO_QUEUE_NOT_FOUND;
}

static enum bo_queue_status bo_redisq_admit(struct bo_queue *queue,
                                            int64_t now_ms, int64_t *admitted) {
  struct bo_redisq *q = bo_redisq_of(queue);
  char now[BO_REDISQ_INT_CHARS];
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  const char *argv[16];
  int n = bo_redisq_common_args(q, NULL, now, argv);
  redisReply *reply =
      bo_redisq_eval(&q->pool, BO_REDISQ_ADMIT, BO_REDISQ_COMMON_KEYS, n, argv);
  if (reply == NULL)
    return BO_QUEUE_UNAVAILABLE;
  int64_t count = 0;
  if (bo_redisq_read_code(q, reply, &count) != BO_REDISQ_R_OK)
    return bo_redisq_bad_reply(reply, "admit");
  freeReplyObject(reply);
  if (admitted != NULL)
    *admitted = count;
  return BO_QUEUE_OK;
}

/* waiting and active are the whole line's, as of the latest script any
 * instance ran (stats carries no time, so run-out ACTIVE tokens count
 * until some call drops them; the housekeeping thread does within a
 * tick). admitted_total is this process's own: summed over instances it is
 * the line's, as a Prometheus counter should be. */
static enum bo_queue_status bo_redisq_stats(struct bo_queue *queue,
                                            struct bo_queue_stats *out) {
  struct bo_redisq *q = bo_redisq_of(queue);
  const char *argv[] = {bo_redisq_keys[0], bo_redisq_keys[1]};
  redisReply *reply = bo_redisq_eval(&q->pool, BO_REDISQ_STATS, 2, 2, argv);
  if (reply == NULL)
    return BO_QUEUE_UNAVAILABLE;
  if (!bo_redisq_shape(reply, 2, 2))
    return bo_redisq_bad_reply(reply, "stats");
  out->waiting = reply->element[0]->integer;
  out->active = reply->element[1]->integer;
  out->admitted_total = atomic_load(&q->admitted_total);
  freeReplyObject(reply);
  return BO_QUEUE_OK;
}

static enum bo_queue_status bo_redisq_ping_op(struct bo_queue *queue) {
  struct bo_redisq *q = bo_redisq_of(queue);
  return bo_redisq_ping(&q->pool) == 0 ? BO_QUEUE_OK : BO_QUEUE_UNAVAILABLE;
}

static void bo_redisq_close(struct bo_queue *queue) {
  struct bo_redisq *q = bo_redisq_of(queue);
  bo_redisq_pool_destroy(&q->pool);
  free(q);
}

static const struct bo_queue_driver bo_redisq_driver = {
    .name = "redis",
    .join = bo_redisq_join,
    .status = bo_redisq_status,
    .leave = bo_redisq_leave,
    .admit = bo_redisq_admit,
    .stats = bo_redisq_stats,
    .ping = bo_redisq_ping_op,
    .close = bo_redisq_close,
};

static int bo_redisq_check(const char *name, int64_t value, int64_t min,
                           int64_t max, char *error, size_t error_size) {
  if (value >= min && value <= max)
    return 0;
  snprintf(error, error_size,
           "redis queue: %s = %lld is out of range [%lld, %lld]", name,
           (long long)value, (long long)min, (long long)max);
  return -1;
}

struct bo_queue *bo_redisq_open(const char *url,
                                const struct bo_queue_settings *settings,
                                char *error, size_t error_size) {
  if (bo_redisq_check("active_max", settings->active_max, 1,
                      BO_REDISQ_ACTIVE_MAX_LIMIT, error, error_size) != 0 ||
      bo_redisq_check("active_ms", settings->active_ms, 1,
                      BO_REDISQ_DURATION_LIMIT_MS, error, error_size) != 0 ||
      bo_redisq_check("spent_keep_ms", settings->spent_keep_ms, 0,
                      BO_REDISQ_DURATION_LIMIT_MS, error, error_size) != 0 ||
      bo_redisq_check("idle_ms", settings->idle_ms, 0,
                      BO_REDISQ_DURATION_LIMIT_MS, error, error_size) != 0)
    return NULL;
  /* Tokens come from libsodium's randombytes; init is idempotent and
   * thread-safe. */
  if (sodium_init() < 0) {
    snprintf(error, error_size, "redis queue: libsodium failed to start");
    return NULL;
  }
  struct bo_redisq_url parsed;
  if (bo_redisq_url_parse(url, &parsed, error, error_size) != 0)
    return NULL;
  struct bo_redisq *q = calloc(1, sizeof *q);
  if (q == NULL) {
    bo_redisq_url_free(&parsed);
    snprintf(error, error_size, "redis queue: out of memory");
    return NULL;
  }
  if (bo_redisq_pool_init(&q->pool, &parsed, error, error_size) != 0) {
    free(q);
    return NULL;
  }
  q->settings = *settings;
  snprintf(q->active_max, sizeof q->active_max, "%" PRId64,
           settings->active_max);
  snprintf(q->active_ms, sizeof q->active_ms, "%" PRId64, settings->active_ms);
  snprintf(q->idle_ms, sizeof q->idle_ms, "%" PRId64, settings->idle_ms);
  snprintf(q->spent_keep_ms, sizeof q->spent_keep_ms, "%" PRId64,
           settings->spent_keep_ms);
  snprintf(q->spent_slack_ms, sizeof q->spent_slack_ms, "%d",
           BO_REDISQ_SPENT_SLACK_MS);
  atomic_init(&q->admitted_total, 0);
  q->queue.driver = &bo_redisq_driver;
  q->queue.impl = q;

  /* A wrong password, db number or a script Redis rejects is a setting
   * (or a bug) to fix now. A Redis that is not up yet is an outage like
   * any later one: requests get 503 until it is, and /healthz says so. */
  char reason[512];
  int rc = bo_redisq_connect(&q->pool, reason, sizeof reason);
  if (rc == -2) {
    snprintf(error, error_size, "%s", reason);
    bo_redisq_close(&q->queue);
    return NULL;
  }
  if (rc != 0)
    bo_log_warn("msg=\"redis queue not reachable yet; requests needing it "
                "get 503 until it is\" reason=\"%s\"",
                reason);
  return &q->queue;
}
