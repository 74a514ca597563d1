/* The Redis queue driver: waiting lines shared by any number of boxoffice
 * instances.
 *
 * Backend and lines. A backend is one Redis and the connections to it (one
 * per thread, scripts loaded on each; redis_conn.c). Any number of lines
 * are opened on it: line 0, the global line, and one per concert. A line is
 * nothing but a key prefix and a policy: "bo:{q}:" for line 0 (the keys of
 * before lines existed, so a running deployment keeps its line through an
 * upgrade) and "bo:{qL}:" for line L. Each prefix is its own Redis Cluster
 * hash tag, so a line's keys share one slot, as its scripts need, and two
 * lines never touch each other's keys: a busy line costs another only the
 * Redis time its scripts take. Closing a line frees only the line; the
 * backend, closed after its lines, frees the connections.
 *
 * Data. All of a line's state lives in Redis under its prefix: the line as
 * a sorted set of tokens scored by a global INCR sequence number, ACTIVE
 * tokens in a sorted set scored by their expiry, two hashes token -> user
 * and user -> token for live tokens, a sorted set of last-status times of
 * WAITING tokens for idle removal, one key per SPENT token with a TTL, a
 * small hash of admissions per second for the ETA and the time the line
 * started admitting; for the policy, the rate limit's token bucket; for
 * the pre-queue, a sorted set of who joined before the on-sale, the draw's
 * result and its working keys. docs/queue.md lists every key. This process
 * keeps only its connections, each line's policy, and the count of
 * admissions its own calls made (stats.admitted_total).
 *
 * The policy (active_max, rate, cap, paused, on-sale) is not stored in
 * Redis: every instance refreshes its own copy from the database each
 * second (configure()) and sends it with every script call, as ARGV. Two
 * instances may disagree for up to a second after a change; each script
 * still runs whole under one policy. The rate limit's state (the bucket's
 * credit and when it was last filled) is another matter: it lives in
 * Redis, so the rate holds for all instances together, not per instance.
 *
 * One script per step. Every call that carries a time (join, status,
 * leave, admit) is one Lua script, which Redis runs alone, start to end:
 * no other instance's script can interleave. Each begins with the same
 * step() (src/queue/step.lua, put in front of each script when the driver
 * starts, because Redis scripts cannot share functions): drop ACTIVE tokens
 * whose time ran out, drop WAITING tokens idle for idle_ms, then move the
 * front of the line to ACTIVE while the policy lets anyone in (room under
 * active_max and admit_cap, a credit in the bucket, not paused, the
 * pre-queue drawn). So a run-out token reads NOT_FOUND and its slot is
 * refilled at the very next call from any instance, whether or not a
 * housekeeping thread ran admit.
 *
 * Why FIFO holds across instances. A join takes its number from one INCR
 * inside its script, so numbers follow the order in which scripts ran, on
 * whatever instance; the only way out of the line into ACTIVE is step(),
 * which pops the lowest number each time (ZPOPMIN). A join goes straight to
 * ACTIVE only when the line is empty, so it overtakes no one.
 *
 * Why at most active_max are ACTIVE (and admit_cap, and the rate). A token
 * is added to the active set in two places, both inside a script that
 * first counts the set and reads the bucket, and adds only within what
 * they allow; scripts do not interleave, so no two instances can both see
 * the last free slot or spend the last credit.
 *
 * The pre-queue and the draw. Before a line's on-sale, joins wait in the
 * pre-queue, unordered. The draw is done here, in C, by admit() (the
 * housekeeping thread of every instance calls it every 100 ms): the entry
 * ids are SHA-256 and the order HMAC-SHA256 (draw.c, libsodium), which Lua
 * in Redis cannot compute. A short lock key lets one instance do it, and
 * while it is held the pre-queue takes no one more; the moves are a script
 * that checks the list it is given is still the whole pre-queue
 * (redis_draw.c has the protocol). The line admits nobody until
 * the draw is recorded, and joins after the on-sale are scored behind
 * every drawn place, so when the draw happens does not change the order.
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
 * "live token in no set" assertion, which is a bug). What remains is a
 * reply lost after the script ran; the caller has answered 503 by then,
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
 * scripts stays far inside the 2^53 that Lua's numbers hold exactly. The
 * rate's: its bucket holds admit_per_minute * 1000 units. */
#define BO_REDISQ_ACTIVE_MAX_LIMIT (INT64_C(1) << 30)
#define BO_REDISQ_DURATION_LIMIT_MS (INT64_C(7) * 24 * 3600 * 1000)
#define BO_REDISQ_RATE_LIMIT (INT64_C(1) << 30)
/* How long Redis keeps a SPENT token's key past its end: room for the
 * instances' clocks to disagree. */
#define BO_REDISQ_SPENT_SLACK_MS 1000
/* Tries before a join gives up on drawing a token nobody holds. */
#define BO_REDISQ_JOIN_TRIES 4

struct bo_redisq_backend {
  struct bo_redisq_pool pool;
};

static const char *const bo_redisq_key_names[BO_REDISQ_KEYS] = {
    [BO_REDISQ_K_LINE] = "line",       [BO_REDISQ_K_ACTIVE] = "active",
    [BO_REDISQ_K_SEEN] = "seen",       [BO_REDISQ_K_OWNER] = "owner",
    [BO_REDISQ_K_HOLDER] = "holder",   [BO_REDISQ_K_RATE] = "rate",
    [BO_REDISQ_K_SEQ] = "seq",         [BO_REDISQ_K_PRE] = "pre",
    [BO_REDISQ_K_BUCKET] = "bucket",   [BO_REDISQ_K_DRAWN] = "drawn",
    [BO_REDISQ_K_STARTED] = "started", [BO_REDISQ_K_IDS] = "ids",
    [BO_REDISQ_K_DRAWING] = "drawing", [BO_REDISQ_K_DRAW_LOCK] = "draw_lock",
};

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
  BO_REDISQ_F_PRE_QUEUE,
  BO_REDISQ_FIELDS
};

/* The arguments of one script call that runs step.lua: the line's keys,
 * the script's extra key, then now and the policy (step.lua's ARGV 1..8),
 * then the script's own. argv points into the struct: keep it in place. */
enum { BO_REDISQ_CALL_ARGS = 32 };
struct bo_redisq_call {
  char now[BO_REDISQ_INT_CHARS];
  char active_max[BO_REDISQ_INT_CHARS];
  char admit_per_minute[BO_REDISQ_INT_CHARS];
  char admit_cap[BO_REDISQ_INT_CHARS];
  char on_sale_at_ms[BO_REDISQ_INT_CHARS];
  char spent_key[BO_REDISQ_KEY_MAX];
  const char *argv[BO_REDISQ_CALL_ARGS];
  int nkeys, nargs;
};

static struct bo_redisq_line *bo_redisq_of(struct bo_queue *queue) {
  return queue->impl;
}

static struct bo_line_policy bo_redisq_policy(struct bo_redisq_line *q) {
  pthread_mutex_lock(&q->policy_lock);
  struct bo_line_policy policy = q->policy;
  pthread_mutex_unlock(&q->policy_lock);
  return policy;
}

/* Fills `call` for a script at now_ms under `policy`; token_text, when not
 * NULL, names the spent:<token> key the script gets as KEYS 13. */
static void bo_redisq_call_init(struct bo_redisq_line *q,
                                const struct bo_line_policy *policy,
                                int64_t now_ms, const char *token_text,
                                struct bo_redisq_call *call) {
  atomic_store(&q->latest_now_ms, now_ms);
  snprintf(call->now, sizeof call->now, "%" PRId64, now_ms);
  snprintf(call->active_max, sizeof call->active_max, "%" PRId64,
           policy->active_max);
  snprintf(call->admit_per_minute, sizeof call->admit_per_minute, "%" PRId64,
           policy->admit_per_minute);
  snprintf(call->admit_cap, sizeof call->admit_cap, "%" PRId64,
           policy->admit_cap);
  snprintf(call->on_sale_at_ms, sizeof call->on_sale_at_ms, "%" PRId64,
           policy->on_sale_at_ms);
  int n = 0;
  for (int i = 0; i < BO_REDISQ_STEP_KEYS; i++)
    call->argv[n++] = q->keys[i];
  if (token_text != NULL) {
    snprintf(call->spent_key, sizeof call->spent_key, "%sspent:%s", q->prefix,
             token_text);
    call->argv[n++] = call->spent_key;
  }
  call->nkeys = n;
  call->argv[n++] = call->now;
  call->argv[n++] = call->active_max;
  call->argv[n++] = q->active_ms;
  call->argv[n++] = q->idle_ms;
  call->argv[n++] = call->admit_per_minute;
  call->argv[n++] = call->admit_cap;
  call->argv[n++] = policy->paused ? "1" : "0";
  call->argv[n++] = call->on_sale_at_ms;
  call->nargs = n;
}

static void bo_redisq_call_arg(struct bo_redisq_call *call, const char *arg) {
  if (call->nargs >= BO_REDISQ_CALL_ARGS)
    abort(); /* a bug in this file */
  call->argv[call->nargs++] = arg;
}

static redisReply *bo_redisq_call_run(struct bo_redisq_line *q,
                                      enum bo_redisq_script script,
                                      const struct bo_redisq_call *call) {
  return bo_redisq_eval(q->pool, script, call->nkeys, call->nargs, call->argv);
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
static int bo_redisq_read_info(struct bo_redisq_line *q,
                               const redisReply *reply,
                               struct bo_token_info *out) {
  if (!bo_redisq_shape(reply, BO_REDISQ_FIELDS, BO_REDISQ_F_TOKEN))
    return -1;
  const redisReply *token = reply->element[BO_REDISQ_F_TOKEN];
  if (token->type != REDIS_REPLY_STRING ||
      !bo_redisq_is_int(reply->element[BO_REDISQ_F_CREATED]) ||
      !bo_redisq_is_int(reply->element[BO_REDISQ_F_ADMITTED]) ||
      !bo_redisq_is_int(reply->element[BO_REDISQ_F_PRE_QUEUE]))
    return -1;
  *out = (struct bo_token_info){
      .user_id = reply->element[BO_REDISQ_F_USER]->integer,
      .position = reply->element[BO_REDISQ_F_POSITION]->integer,
      .estimated_wait_seconds = reply->element[BO_REDISQ_F_ETA]->integer,
      .expires_at_ms = reply->element[BO_REDISQ_F_EXPIRES]->integer,
      .pre_queue = reply->element[BO_REDISQ_F_PRE_QUEUE]->integer != 0,
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
  struct bo_redisq_line *q = bo_redisq_of(queue);
  struct bo_line_policy policy = bo_redisq_policy(q);
  char user[BO_REDISQ_INT_CHARS];
  snprintf(user, sizeof user, "%" PRId64, user_id);
  for (int attempt = 0; attempt < BO_REDISQ_JOIN_TRIES; attempt++) {
    /* Drawn here; wasted when the user already has one. */
    struct bo_token fresh;
    bo_token_generate(&fresh);
    char fresh_text[BO_TOKEN_TEXT_LEN + 1];
    bo_token_encode(&fresh, fresh_text);
    struct bo_redisq_call call;
    bo_redisq_call_init(q, &policy, now_ms, fresh_text, &call);
    bo_redisq_call_arg(&call, user);
    bo_redisq_call_arg(&call, fresh_text);
    redisReply *reply = bo_redisq_call_run(q, BO_REDISQ_JOIN, &call);
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
  struct bo_redisq_line *q = bo_redisq_of(queue);
  struct bo_line_policy policy = bo_redisq_policy(q);
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(token, text);
  struct bo_redisq_call call;
  bo_redisq_call_init(q, &policy, now_ms, text, &call);
  bo_redisq_call_arg(&call, text);
  redisReply *reply = bo_redisq_call_run(q, BO_REDISQ_STATUS, &call);
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

/* Reads {code, admitted, ...} (leave, admit): the code, or -1 if
 * malformed. */
static int bo_redisq_read_code(struct bo_redisq_line *q,
                               const redisReply *reply, int64_t *admitted) {
  if (!bo_redisq_shape(reply, 2, 2))
    return -1;
  *admitted = reply->element[1]->integer;
  atomic_fetch_add(&q->admitted_total, *admitted);
  return (int)reply->element[0]->integer;
}

static enum bo_queue_status bo_redisq_leave(struct bo_queue *queue,
                                            const struct bo_token *token,
                                            int64_t now_ms) {
  struct bo_redisq_line *q = bo_redisq_of(queue);
  struct bo_line_policy policy = bo_redisq_policy(q);
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(token, text);
  struct bo_redisq_call call;
  bo_redisq_call_init(q, &policy, now_ms, text, &call);
  bo_redisq_call_arg(&call, text);
  bo_redisq_call_arg(&call, q->spent_keep_ms);
  bo_redisq_call_arg(&call, q->spent_slack_ms);
  redisReply *reply = bo_redisq_call_run(q, BO_REDISQ_LEAVE, &call);
  if (reply == NULL)
    return BO_QUEUE_UNAVAILABLE;
  int64_t admitted = 0;
  int code = bo_redisq_read_code(q, reply, &admitted);
  if (code != BO_REDISQ_R_OK && code != BO_REDISQ_R_NOT_FOUND)
    return bo_redisq_bad_reply(reply, "leave");
  freeReplyObject(reply);
  return code == BO_REDISQ_R_OK ? BO_QUEUE_OK : BO_QUEUE_NOT_FOUND;
}

/* Whether admit() must draw first: the on-sale came (and nothing says the
 * draw is done), or the last admit() found a called-off on-sale's
 * pre-queue still waiting. */
static bool bo_redisq_draw_due(struct bo_redisq_line *q,
                               const struct bo_line_policy *policy,
                               int64_t now_ms) {
  if (atomic_load(&q->drawn))
    return false;
  if (policy->on_sale_at_ms > 0)
    return now_ms >= policy->on_sale_at_ms;
  return atomic_load(&q->stranded);
}

static enum bo_queue_status bo_redisq_admit(struct bo_queue *queue,
                                            int64_t now_ms, int64_t *admitted) {
  struct bo_redisq_line *q = bo_redisq_of(queue);
  struct bo_line_policy policy = bo_redisq_policy(q);
  if (bo_redisq_draw_due(q, &policy, now_ms)) {
    enum bo_queue_status drawn = bo_redisq_draw(q, &policy, now_ms);
    if (drawn != BO_QUEUE_OK)
      return drawn;
  }
  struct bo_redisq_call call;
  bo_redisq_call_init(q, &policy, now_ms, NULL, &call);
  redisReply *reply = bo_redisq_call_run(q, BO_REDISQ_ADMIT, &call);
  if (reply == NULL)
    return BO_QUEUE_UNAVAILABLE;
  int64_t count = 0;
  if (bo_redisq_read_code(q, reply, &count) != BO_REDISQ_R_OK ||
      !bo_redisq_shape(reply, 3, 3))
    return bo_redisq_bad_reply(reply, "admit");
  atomic_store(&q->stranded, reply->element[2]->integer != 0);
  freeReplyObject(reply);
  if (admitted != NULL)
    *admitted = count;
  return BO_QUEUE_OK;
}

/* waiting and active are the whole line's, as of the latest script any
 * instance ran (stats carries no time, so run-out ACTIVE tokens count
 * until some call drops them; the housekeeping thread does within a
 * tick). admitted_last_minute is every instance's admissions, counted up
 * to the latest time this process passed. admitted_total is this
 * process's own: summed over instances it is the line's, as a Prometheus
 * counter should be. */
static enum bo_queue_status bo_redisq_stats(struct bo_queue *queue,
                                            struct bo_queue_stats *out) {
  struct bo_redisq_line *q = bo_redisq_of(queue);
  char latest[BO_REDISQ_INT_CHARS];
  snprintf(latest, sizeof latest, "%" PRId64,
           (int64_t)atomic_load(&q->latest_now_ms));
  const char *argv[] = {q->keys[BO_REDISQ_K_LINE],  q->keys[BO_REDISQ_K_ACTIVE],
                        q->keys[BO_REDISQ_K_PRE],   q->keys[BO_REDISQ_K_RATE],
                        q->keys[BO_REDISQ_K_DRAWN], latest};
  redisReply *reply = bo_redisq_eval(q->pool, BO_REDISQ_STATS, 5, 6, argv);
  if (reply == NULL)
    return BO_QUEUE_UNAVAILABLE;
  if (!bo_redisq_shape(reply, 6, 6))
    return bo_redisq_bad_reply(reply, "stats");
  int64_t pre = reply->element[2]->integer;
  *out = (struct bo_queue_stats){
      .waiting = reply->element[0]->integer + pre,
      .pre_queue = pre,
      .active = reply->element[1]->integer,
      .admitted_total = atomic_load(&q->admitted_total),
      .admitted_last_minute = reply->element[3]->integer,
      .drawn = reply->element[4]->integer != 0,
      .drawn_at_ms = reply->element[5]->integer,
  };
  freeReplyObject(reply);
  return BO_QUEUE_OK;
}

static int bo_redisq_policy_ok(const struct bo_line_policy *policy) {
  return policy->active_max >= 1 &&
         policy->active_max <= BO_REDISQ_ACTIVE_MAX_LIMIT &&
         policy->admit_per_minute >= 0 &&
         policy->admit_per_minute <= BO_REDISQ_RATE_LIMIT &&
         policy->on_sale_at_ms >= 0;
}

static enum bo_queue_status
bo_redisq_configure(struct bo_queue *queue,
                    const struct bo_line_policy *policy) {
  struct bo_redisq_line *q = bo_redisq_of(queue);
  if (!bo_redisq_policy_ok(policy)) {
    /* The settings table and the admin API bound every field first, so
     * this is our bug; the line keeps the policy it had. */
    bo_log_error("msg=\"redis queue: policy out of range\" line=%" PRId64
                 " active_max=%" PRId64 " admit_per_minute=%" PRId64
                 " on_sale_at_ms=%" PRId64,
                 q->line_id, policy->active_max, policy->admit_per_minute,
                 policy->on_sale_at_ms);
    return BO_QUEUE_UNAVAILABLE;
  }
  struct bo_line_policy copy = *policy;
  /* Any negative cap means none; one above active_max never binds. */
  if (copy.admit_cap < 0)
    copy.admit_cap = -1;
  if (copy.admit_cap > BO_REDISQ_ACTIVE_MAX_LIMIT)
    copy.admit_cap = BO_REDISQ_ACTIVE_MAX_LIMIT;
  pthread_mutex_lock(&q->policy_lock);
  q->policy = copy;
  pthread_mutex_unlock(&q->policy_lock);
  return BO_QUEUE_OK;
}

static enum bo_queue_status bo_redisq_ping_op(struct bo_queue *queue) {
  struct bo_redisq_line *q = bo_redisq_of(queue);
  return bo_redisq_ping(q->pool) == 0 ? BO_QUEUE_OK : BO_QUEUE_UNAVAILABLE;
}

static void bo_redisq_close(struct bo_queue *queue) {
  struct bo_redisq_line *q = bo_redisq_of(queue);
  pthread_mutex_destroy(&q->policy_lock);
  free(q);
}

static const struct bo_queue_driver bo_redisq_driver = {
    .name = "redis",
    .join = bo_redisq_join,
    .status = bo_redisq_status,
    .leave = bo_redisq_leave,
    .admit = bo_redisq_admit,
    .stats = bo_redisq_stats,
    .configure = bo_redisq_configure,
    .draw_result = bo_redisq_draw_result,
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

static void bo_redisq_name_keys(struct bo_redisq_line *q) {
  if (q->line_id == 0)
    snprintf(q->prefix, sizeof q->prefix, "%s", BO_REDISQ_PREFIX);
  else
    snprintf(q->prefix, sizeof q->prefix, "bo:{q%" PRId64 "}:", q->line_id);
  for (int i = 0; i < BO_REDISQ_KEYS; i++)
    snprintf(q->keys[i], sizeof q->keys[i], "%s%s", q->prefix,
             bo_redisq_key_names[i]);
}

struct bo_queue *bo_redisq_open_line(struct bo_redisq_backend *backend,
                                     int64_t line_id,
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
  struct bo_redisq_line *q = calloc(1, sizeof *q);
  if (q == NULL || pthread_mutex_init(&q->policy_lock, NULL) != 0) {
    free(q);
    snprintf(error, error_size, "redis queue: out of memory");
    return NULL;
  }
  q->pool = &backend->pool;
  q->line_id = line_id;
  bo_redisq_name_keys(q);
  q->policy = (struct bo_line_policy){.active_max = settings->active_max,
                                      .admit_per_minute = 0,
                                      .admit_cap = -1,
                                      .paused = false,
                                      .on_sale_at_ms = 0};
  snprintf(q->active_ms, sizeof q->active_ms, "%" PRId64, settings->active_ms);
  snprintf(q->idle_ms, sizeof q->idle_ms, "%" PRId64, settings->idle_ms);
  snprintf(q->spent_keep_ms, sizeof q->spent_keep_ms, "%" PRId64,
           settings->spent_keep_ms);
  snprintf(q->spent_slack_ms, sizeof q->spent_slack_ms, "%d",
           BO_REDISQ_SPENT_SLACK_MS);
  uint8_t holder[16];
  randombytes_buf(holder, sizeof holder);
  bo_draw_hex(holder, sizeof holder, q->draw_holder);
  atomic_init(&q->drawn, false);
  atomic_init(&q->stranded, false);
  atomic_init(&q->admitted_total, 0);
  atomic_init(&q->latest_now_ms, 0);
  q->queue.driver = &bo_redisq_driver;
  q->queue.impl = q;
  return &q->queue;
}

struct bo_redisq_backend *bo_redisq_backend_open(const char *url, char *error,
                                                 size_t error_size) {
  /* Tokens and draw nonces come from libsodium's randombytes; init is
   * idempotent and thread-safe. */
  if (sodium_init() < 0) {
    snprintf(error, error_size, "redis queue: libsodium failed to start");
    return NULL;
  }
  struct bo_redisq_url parsed;
  if (bo_redisq_url_parse(url, &parsed, error, error_size) != 0)
    return NULL;
  struct bo_redisq_backend *backend = calloc(1, sizeof *backend);
  if (backend == NULL) {
    bo_redisq_url_free(&parsed);
    snprintf(error, error_size, "redis queue: out of memory");
    return NULL;
  }
  if (bo_redisq_pool_init(&backend->pool, &parsed, error, error_size) != 0) {
    free(backend);
    return NULL;
  }
  /* A wrong password, db number or a script Redis rejects is a setting
   * (or a bug) to fix now. A Redis that is not up yet is an outage like
   * any later one: requests get 503 until it is, and /healthz says so. */
  char reason[512];
  int rc = bo_redisq_connect(&backend->pool, reason, sizeof reason);
  if (rc == -2) {
    snprintf(error, error_size, "%s", reason);
    bo_redisq_backend_close(backend);
    return NULL;
  }
  if (rc != 0)
    bo_log_warn("msg=\"redis queue not reachable yet; requests needing it "
                "get 503 until it is\" reason=\"%s\"",
                reason);
  return backend;
}

void bo_redisq_backend_close(struct bo_redisq_backend *backend) {
  if (backend == NULL)
    return;
  bo_redisq_pool_destroy(&backend->pool);
  free(backend);
}
