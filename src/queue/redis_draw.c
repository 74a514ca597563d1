/* The draw of a line's pre-queue in Redis (queue.h, "Lines"; draw.h for
 * the hashing; draw.lua for the moves).
 *
 * Why in C. An entry id is SHA-256 of the token's bytes and the order is
 * HMAC-SHA256 under the line's seed; Redis's Lua has neither, and the seed
 * is the instance's (from the database), not Redis's. So admit() reads the
 * pre-queue, names and sorts the entries with draw.c, and hands the sorted
 * list to draw.lua, which moves them.
 *
 * One instance at a time. Every instance's housekeeping calls admit()
 * every 100 ms, and each would read the whole pre-queue. A lock key (SET NX
 * PX, BO_REDISQ_DRAW_LOCK_MS) lets one go ahead; the others skip the draw
 * and admit nobody on this line until it is done (the scripts check
 * `drawn`). While the lock is held the pre-queue takes no one more: a join
 * from an instance whose clock is still before the on-sale goes to the
 * line, behind every drawn place (join.lua). Without that, such an
 * instance could add to the pre-queue between every read and every check
 * and starve the draw; with it, the pre-queue only shrinks (leaves) while
 * it is drawn, so starting over ends. The lock is about work and that
 * freeze, not order: correctness comes from the script's checks below, so
 * an instance that dies holding it, or one that outlives it, costs time.
 *
 * Attempts and chunks. An attempt has a nonce. Its entries go to draw.lua
 * in chunks of BO_REDISQ_DRAW_CHUNK (each chunk is one short script, so
 * Redis is not held for seconds by a million entries, and ARGV stays
 * small). The first chunk undoes whatever an unfinished attempt moved,
 * checks the pre-queue still has as many entries as were read, and writes
 * the nonce into `drawing`; every later chunk checks the nonce is still
 * there (else another instance took over: stop). Each entry moved must
 * still be in the pre-queue (else it left: start over), and the last chunk
 * checks the pre-queue is empty (else someone joined it late, before the
 * lock was taken or after it lapsed: start over) before it writes
 * `drawn`. So what is
 * drawn is exactly the pre-queue as it stood, and the line admits nobody
 * until then. Starting over re-reads and re-sorts, up to
 * BO_REDISQ_DRAW_TRIES times per admit(). */
#include "queue/redis_internal.h"
#include "util/log.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BO_REDISQ_DRAW_CHUNK 1000  /* entries per draw.lua call */
#define BO_REDISQ_READ_CHUNK 10000 /* tokens per ZRANGE, ids per LRANGE */
#define BO_REDISQ_DRAW_LOCK_MS 10000
#define BO_REDISQ_DRAW_TRIES 4
#define BO_REDISQ_HEX_ID (2 * BO_DRAW_ID_BYTES + 1)

/* draw.lua's KEYS, in its order, and its fixed ARGV. */
static const enum bo_redisq_key bo_redisq_draw_keys[] = {
    BO_REDISQ_K_PRE,     BO_REDISQ_K_LINE,     BO_REDISQ_K_SEEN,
    BO_REDISQ_K_DRAWN,   BO_REDISQ_K_IDS,      BO_REDISQ_K_STARTED,
    BO_REDISQ_K_DRAWING, BO_REDISQ_K_DRAW_LOCK};
enum {
  BO_REDISQ_DRAW_NKEYS =
      sizeof bo_redisq_draw_keys / sizeof bo_redisq_draw_keys[0],
  BO_REDISQ_DRAW_FIXED = 5, /* now, nonce, done before, total, last */
  BO_REDISQ_DRAW_ARGS =
      BO_REDISQ_DRAW_NKEYS + BO_REDISQ_DRAW_FIXED + 2 * BO_REDISQ_DRAW_CHUNK
};

/* The pre-queue as read: tokens as text, and one sort entry each (ref is
 * the index of its token). */
struct bo_redisq_pre {
  char (*tokens)[BO_TOKEN_TEXT_LEN + 1];
  struct bo_draw_entry *entries;
  size_t count, cap;
};

static void bo_redisq_pre_free(struct bo_redisq_pre *pre) {
  free(pre->tokens);
  free(pre->entries);
  *pre = (struct bo_redisq_pre){0};
}

static int bo_redisq_pre_grow(struct bo_redisq_pre *pre, size_t more) {
  if (pre->count + more <= pre->cap)
    return 0;
  size_t cap = pre->cap ? pre->cap : BO_REDISQ_READ_CHUNK;
  while (cap < pre->count + more)
    cap *= 2;
  void *tokens = realloc(pre->tokens, cap * sizeof *pre->tokens);
  if (tokens != NULL)
    pre->tokens = tokens;
  void *entries = realloc(pre->entries, cap * sizeof *pre->entries);
  if (entries != NULL)
    pre->entries = entries;
  if (tokens == NULL || entries == NULL)
    return -1;
  pre->cap = cap;
  return 0;
}

/* Adds one token's text and entry id; -1 if it is not a token. */
static int bo_redisq_pre_add(struct bo_redisq_pre *pre,
                             const redisReply *text) {
  struct bo_token token;
  if (text->type != REDIS_REPLY_STRING || text->len != BO_TOKEN_TEXT_LEN ||
      !bo_token_decode(text->str, &token))
    return -1;
  memcpy(pre->tokens[pre->count], text->str, BO_TOKEN_TEXT_LEN + 1);
  struct bo_draw_entry *entry = &pre->entries[pre->count];
  bo_draw_entry_id(&token, entry->id);
  entry->ref = pre->count;
  pre->count++;
  return 0;
}

/* Reads the whole pre-queue, BO_REDISQ_READ_CHUNK at a time (entries that
 * come or go meanwhile are caught by draw.lua's checks). */
static enum bo_queue_status bo_redisq_read_pre(struct bo_redisq_line *q,
                                               struct bo_redisq_pre *out) {
  for (size_t start = 0;; start += BO_REDISQ_READ_CHUNK) {
    char from[BO_REDISQ_INT_CHARS], to[BO_REDISQ_INT_CHARS];
    snprintf(from, sizeof from, "%zu", start);
    snprintf(to, sizeof to, "%zu", start + BO_REDISQ_READ_CHUNK - 1);
    const char *argv[] = {"ZRANGE", q->keys[BO_REDISQ_K_PRE], from, to};
    redisReply *reply = bo_redisq_command(q->pool, 4, argv);
    if (reply == NULL)
      return BO_QUEUE_UNAVAILABLE;
    int bad = reply->type != REDIS_REPLY_ARRAY ||
              bo_redisq_pre_grow(out, reply->elements) != 0;
    for (size_t i = 0; !bad && i < reply->elements; i++)
      bad = bo_redisq_pre_add(out, reply->element[i]) != 0;
    size_t got = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
    freeReplyObject(reply);
    if (bad) {
      bo_log_error(
          "msg=\"redis queue: cannot read the pre-queue\" line=%" PRId64,
          q->line_id);
      return BO_QUEUE_UNAVAILABLE;
    }
    if (got < BO_REDISQ_READ_CHUNK)
      return BO_QUEUE_OK;
  }
}

/* Sends the sorted pre-queue to draw.lua chunk by chunk. Returns the code
 * of the chunk that ended the attempt (BO_REDISQ_D_*), or -1 when Redis
 * failed. */
static int bo_redisq_draw_attempt(struct bo_redisq_line *q,
                                  const struct bo_redisq_pre *pre,
                                  const char *nonce, const char *now) {
  const char **argv = malloc(BO_REDISQ_DRAW_ARGS * sizeof *argv);
  char(*hex)[BO_REDISQ_HEX_ID] = malloc(BO_REDISQ_DRAW_CHUNK * sizeof *hex);
  int code = -1;
  if (argv == NULL || hex == NULL)
    goto done;
  char total[BO_REDISQ_INT_CHARS];
  snprintf(total, sizeof total, "%zu", pre->count);
  size_t done_before = 0;
  for (;;) {
    size_t n = pre->count - done_before;
    if (n > BO_REDISQ_DRAW_CHUNK)
      n = BO_REDISQ_DRAW_CHUNK;
    int last = done_before + n == pre->count;
    char before[BO_REDISQ_INT_CHARS];
    snprintf(before, sizeof before, "%zu", done_before);
    int argc = 0;
    for (int k = 0; k < BO_REDISQ_DRAW_NKEYS; k++)
      argv[argc++] = q->keys[bo_redisq_draw_keys[k]];
    argv[argc++] = now;
    argv[argc++] = nonce;
    argv[argc++] = before;
    argv[argc++] = total;
    argv[argc++] = last ? "1" : "0";
    for (size_t i = 0; i < n; i++) {
      const struct bo_draw_entry *entry = &pre->entries[done_before + i];
      bo_draw_hex(entry->id, sizeof entry->id, hex[i]);
      argv[argc++] = pre->tokens[entry->ref];
      argv[argc++] = hex[i];
    }
    redisReply *reply = bo_redisq_eval(q->pool, BO_REDISQ_DRAW,
                                       BO_REDISQ_DRAW_NKEYS, argc, argv);
    if (reply == NULL)
      goto done;
    int ok = reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
             reply->element[0]->type == REDIS_REPLY_INTEGER;
    code = ok ? (int)reply->element[0]->integer : -1;
    freeReplyObject(reply);
    if (!ok)
      bo_log_error("msg=\"redis queue: unexpected script reply\" "
                   "script=draw");
    if (code != BO_REDISQ_D_OK || last)
      goto done;
    done_before += n;
  }
done:
  free(argv);
  free(hex);
  return code;
}

/* 1 when the line is drawn, 0 when not, -1 when Redis failed. */
static int bo_redisq_is_drawn(struct bo_redisq_line *q) {
  const char *argv[] = {"EXISTS", q->keys[BO_REDISQ_K_DRAWN]};
  redisReply *reply = bo_redisq_command(q->pool, 2, argv);
  if (reply == NULL)
    return -1;
  int drawn = reply->type == REDIS_REPLY_INTEGER ? reply->integer == 1 : -1;
  freeReplyObject(reply);
  return drawn;
}

/* 1 when this line object holds the draw's lock now, 0 when another
 * does, -1 when Redis failed. Held already (this object's draw failed
 * half-way, or kept meeting changes): taken up again, rather than waiting
 * for it to lapse while the line admits nobody. */
static int bo_redisq_lock_draw(struct bo_redisq_line *q) {
  char ttl[BO_REDISQ_INT_CHARS];
  snprintf(ttl, sizeof ttl, "%d", BO_REDISQ_DRAW_LOCK_MS);
  const char *set[] = {
      "SET", q->keys[BO_REDISQ_K_DRAW_LOCK], q->draw_holder, "NX", "PX", ttl};
  redisReply *reply = bo_redisq_command(q->pool, 6, set);
  if (reply == NULL)
    return -1;
  int locked = reply->type == REDIS_REPLY_STATUS;
  freeReplyObject(reply);
  if (locked)
    return 1;
  const char *get[] = {"GET", q->keys[BO_REDISQ_K_DRAW_LOCK]};
  reply = bo_redisq_command(q->pool, 2, get);
  if (reply == NULL)
    return -1;
  locked = reply->type == REDIS_REPLY_STRING &&
           strcmp(reply->str, q->draw_holder) == 0;
  freeReplyObject(reply);
  return locked;
}

static void bo_redisq_mark_drawn(struct bo_redisq_line *q) {
  atomic_store(&q->drawn, true);
  atomic_store(&q->stranded, false);
}

enum bo_queue_status bo_redisq_draw(struct bo_redisq_line *q,
                                    const struct bo_line_policy *policy,
                                    int64_t now_ms) {
  /* Drawn by another instance: one EXISTS, not a lock and a read. */
  int drawn = bo_redisq_is_drawn(q);
  if (drawn < 0)
    return BO_QUEUE_UNAVAILABLE;
  if (drawn) {
    bo_redisq_mark_drawn(q);
    return BO_QUEUE_OK;
  }
  int locked = bo_redisq_lock_draw(q);
  if (locked <= 0)
    return locked < 0 ? BO_QUEUE_UNAVAILABLE : BO_QUEUE_OK;

  char now[BO_REDISQ_INT_CHARS];
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  for (int attempt = 0; attempt < BO_REDISQ_DRAW_TRIES; attempt++) {
    struct bo_redisq_pre pre = {0};
    if (bo_redisq_read_pre(q, &pre) != BO_QUEUE_OK) {
      bo_redisq_pre_free(&pre);
      return BO_QUEUE_UNAVAILABLE;
    }
    bo_draw_sort(policy->seed, pre.entries, pre.count);
    /* A nonce per attempt, so a chunk of one can never pass for
     * another's. */
    uint8_t nonce_bytes[16];
    randombytes_buf(nonce_bytes, sizeof nonce_bytes);
    char nonce[2 * sizeof nonce_bytes + 1];
    bo_draw_hex(nonce_bytes, sizeof nonce_bytes, nonce);
    int code = bo_redisq_draw_attempt(q, &pre, nonce, now);
    size_t count = pre.count;
    bo_redisq_pre_free(&pre);
    switch (code) {
    case BO_REDISQ_D_OK:
      bo_log_info("msg=\"pre-queue drawn\" line=%" PRId64 " entries=%zu",
                  q->line_id, count);
      bo_redisq_mark_drawn(q);
      return BO_QUEUE_OK;
    case BO_REDISQ_D_ALREADY:
      bo_redisq_mark_drawn(q);
      return BO_QUEUE_OK;
    case BO_REDISQ_D_LOST:
      return BO_QUEUE_OK; /* another instance's attempt goes on */
    case BO_REDISQ_D_RETRY:
      continue;
    default:
      return BO_QUEUE_UNAVAILABLE;
    }
  }
  /* This object keeps the lock (it lapses if it dies), and its next
   * admit() tries again. */
  bo_log_warn("msg=\"pre-queue kept changing during its draw; trying again "
              "later\" line=%" PRId64 " tries=%d",
              q->line_id, BO_REDISQ_DRAW_TRIES);
  return BO_QUEUE_OK;
}

/* ---- draw_result() ---- */

static int bo_redisq_parse_int(const redisReply *reply, int64_t *out) {
  if (reply->type != REDIS_REPLY_STRING)
    return -1;
  char *end = NULL;
  long long value = strtoll(reply->str, &end, 10);
  if (end == reply->str || *end != '\0')
    return -1;
  *out = value;
  return 0;
}

/* Reads `count` hex ids from the ids list into `ids`. 0, -1 if the list
 * does not hold them, -2 when Redis failed. */
static int bo_redisq_read_ids(struct bo_redisq_line *q, size_t count,
                              uint8_t (*ids)[BO_DRAW_ID_BYTES]) {
  size_t got = 0;
  while (got < count) {
    char from[BO_REDISQ_INT_CHARS], to[BO_REDISQ_INT_CHARS];
    snprintf(from, sizeof from, "%zu", got);
    snprintf(to, sizeof to, "%zu", got + BO_REDISQ_READ_CHUNK - 1);
    const char *argv[] = {"LRANGE", q->keys[BO_REDISQ_K_IDS], from, to};
    redisReply *reply = bo_redisq_command(q->pool, 4, argv);
    if (reply == NULL)
      return -2;
    int bad = reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
              got + reply->elements > count;
    for (size_t i = 0; !bad && i < reply->elements; i++) {
      const redisReply *hex = reply->element[i];
      size_t len = 0;
      bad = hex->type != REDIS_REPLY_STRING ||
            sodium_hex2bin(ids[got + i], BO_DRAW_ID_BYTES, hex->str, hex->len,
                           NULL, &len, NULL) != 0 ||
            len != BO_DRAW_ID_BYTES;
    }
    if (!bad)
      got += reply->elements;
    freeReplyObject(reply);
    if (bad)
      return -1;
  }
  return 0;
}

enum bo_queue_status bo_redisq_draw_result(struct bo_queue *queue,
                                           struct bo_draw_result *out) {
  struct bo_redisq_line *q = queue->impl;
  *out = (struct bo_draw_result){0};
  const char *argv[] = {"HMGET", q->keys[BO_REDISQ_K_DRAWN], "at", "count"};
  redisReply *reply = bo_redisq_command(q->pool, 4, argv);
  if (reply == NULL)
    return BO_QUEUE_UNAVAILABLE;
  int64_t at = 0, count = 0;
  int shaped = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2;
  int undrawn = shaped && reply->element[0]->type == REDIS_REPLY_NIL;
  int bad = !shaped ||
            (!undrawn && (bo_redisq_parse_int(reply->element[0], &at) != 0 ||
                          bo_redisq_parse_int(reply->element[1], &count) != 0 ||
                          count < 0));
  freeReplyObject(reply);
  if (undrawn)
    return BO_QUEUE_OK;
  uint8_t(*ids)[BO_DRAW_ID_BYTES] = NULL;
  if (!bad && count > 0) {
    ids = malloc((size_t)count * sizeof *ids);
    if (ids == NULL)
      return BO_QUEUE_UNAVAILABLE;
    int rc = bo_redisq_read_ids(q, (size_t)count, ids);
    if (rc == -2) {
      free(ids);
      return BO_QUEUE_UNAVAILABLE;
    }
    bad = rc != 0;
  }
  if (bad) {
    free(ids);
    bo_log_error("msg=\"redis queue: malformed draw result\" line=%" PRId64,
                 q->line_id);
    return BO_QUEUE_UNAVAILABLE;
  }
  *out = (struct bo_draw_result){.drawn = true,
                                 .drawn_at_ms = at,
                                 .count = (size_t)count,
                                 .entry_ids = ids};
  return BO_QUEUE_OK;
}
