/* bo_line_memory: how many bytes one waiting user costs the waiting line,
 * for each queue driver, measured through the same interface boxoffice
 * uses (src/queue/queue.h) with boxoffice's default queue settings.
 *
 * --users distinct users join with one ACTIVE slot (active_max 1), so all
 * but one wait. Every join passes the same now_ms, so nobody is admitted,
 * expires or goes idle during the measurement; what is measured is the
 * line at rest, every waiting entry in full.
 *  - memory: the growth of this process's malloc heap (mallinfo2: small
 *    blocks in use + mmapped big ones) from before the queue is opened
 *    to after the last join, so the line's fixed cost is included (at a
 *    million users it is noise). The joins run on one thread: the
 *    in-process line takes one lock per join, so more threads would only
 *    add malloc arenas to the figure. Meaningless under ASan (another
 *    allocator): build without sanitizers.
 *  - redis://HOST:PORT/DB: the growth of Redis's INFO used_memory from
 *    after the driver has connected (scripts loaded) to after the last
 *    join, with --threads joiners as boxoffice's workers would. Use a
 *    database of its own: the run refuses to start if the line's keys
 *    (bo:{q}:*) already exist there, and deletes exactly those keys at the
 *    end. Nothing else in Redis should be writing during the run, or its
 *    growth is counted too. Start Redis without persistence
 *    (--save '' --appendonly no): an AOF rewrite buffer is used_memory.
 * The figure is what capacity planning needs: memory per waiting user
 * times the crowd you expect.
 *
 *   bo_line_memory [--queue memory|redis://HOST:PORT/DB] [--users N]
 *                  [--threads T]
 *
 * Prints one JSON line on stdout:
 *   {"probe":"line_memory","queue":"memory","waiting":W,"bytes":B,
 *    "bytes_per_waiting":X,"users":N,"join_s":S}
 * The URL is never printed: it may carry a password. */
#include "queue/queue.h"
/* Only for the driver's URL parser and key prefix, so that the probe reads
 * the URL and finds the line's keys exactly as the driver does. */
#include "queue/redis_internal.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Boxoffice's defaults (src/config.c, src/main.c), but one ACTIVE slot. */
#define ACTIVE_MAX 1
#define ACTIVE_MS (600 * 1000)
#define IDLE_MS (120 * 1000)
#define SPENT_KEEP_MS (3600 * 1000)

#define FIRST_USER_ID 1000000
#define MAX_THREADS 64
#define LINE_KEYS BO_REDISQ_PREFIX "*"

struct options {
  const char *queue_url;
  long users;
  int threads;
};

/* What the joiner threads share, and what each one found. */
struct joiner {
  struct bo_queue *queue;
  long users;
  int threads;
  int index;
  int64_t now_ms;
  long failures;
  pthread_t thread;
};

struct measurement {
  int64_t waiting;
  long long bytes;
  double join_s;
};

static double monotonic_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct bo_queue *open_line(const char *url) {
  const struct bo_queue_settings settings = {.active_max = ACTIVE_MAX,
                                             .active_ms = ACTIVE_MS,
                                             .idle_ms = IDLE_MS,
                                             .spent_keep_ms = SPENT_KEEP_MS};
  char error[256] = "";
  struct bo_queue *queue = bo_queue_open(url, &settings, error, sizeof error);
  if (queue == NULL)
    fprintf(stderr, "bo_line_memory: cannot open the queue: %s\n", error);
  return queue;
}

/* Joins users index, index + threads, ...; each must be a new token. */
static void *join_share(void *arg) {
  struct joiner *j = arg;
  for (long i = j->index; i < j->users; i += j->threads) {
    struct bo_token_info info;
    int created = 0;
    if (j->queue->driver->join(j->queue, FIRST_USER_ID + i, j->now_ms, &info,
                               &created) != BO_QUEUE_OK ||
        !created)
      j->failures++;
  }
  return NULL;
}

/* Joins every user from `threads` threads (the caller's own when 1) and
 * checks that all but ACTIVE_MAX wait. */
static bool join_everyone(struct bo_queue *queue, long users, int threads,
                          struct measurement *out) {
  struct joiner joiners[MAX_THREADS];
  int64_t now_ms = wall_ms();
  int started = 0;
  long failures = 0;
  double start = monotonic_s();
  for (int t = 0; t < threads; t++)
    joiners[t] = (struct joiner){.queue = queue,
                                 .users = users,
                                 .threads = threads,
                                 .index = t,
                                 .now_ms = now_ms};
  if (threads == 1) {
    join_share(&joiners[0]);
    started = 1;
  } else {
    for (; started < threads; started++)
      if (pthread_create(&joiners[started].thread, NULL, join_share,
                         &joiners[started]) != 0)
        break;
    for (int t = 0; t < started; t++)
      pthread_join(joiners[t].thread, NULL);
  }
  out->join_s = monotonic_s() - start;
  for (int t = 0; t < started; t++)
    failures += joiners[t].failures;

  struct bo_queue_stats stats;
  if (started < threads || failures > 0 ||
      queue->driver->stats(queue, &stats) != BO_QUEUE_OK) {
    fprintf(stderr, "bo_line_memory: %ld joins failed (%d of %d threads)\n",
            failures, started, threads);
    return false;
  }
  if (stats.waiting != users - ACTIVE_MAX || stats.active != ACTIVE_MAX) {
    fprintf(stderr,
            "bo_line_memory: expected %ld waiting and %d active, found "
            "%lld and %lld\n",
            users - ACTIVE_MAX, ACTIVE_MAX, (long long)stats.waiting,
            (long long)stats.active);
    return false;
  }
  out->waiting = stats.waiting;
  return true;
}

/* ---- memory ---- */

static long long heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return (long long)(mi.uordblks + mi.hblkhd);
}

static bool measure_memory(const struct options *opt, struct measurement *out) {
  long long before = heap_in_use();
  struct bo_queue *queue = open_line("memory");
  if (queue == NULL)
    return false;
  bool ok = join_everyone(queue, opt->users, 1, out);
  out->bytes = heap_in_use() - before;
  bo_queue_close(queue);
  return ok;
}

/* ---- redis ---- */

/* A plain connection beside the driver's, to the URL's database. */
static redisContext *connect_direct(const char *url) {
  struct bo_redisq_url parsed;
  char error[256];
  redisContext *ctx = NULL;
  redisReply *reply = NULL;
  if (bo_redisq_url_parse(url, &parsed, error, sizeof error) != 0) {
    fprintf(stderr, "bo_line_memory: bad Redis URL: %s\n", error);
    return NULL;
  }
  struct timeval timeout = {.tv_sec = 5};
  ctx = redisConnectWithTimeout(parsed.host, parsed.port, timeout);
  if (ctx == NULL || ctx->err) {
    fprintf(stderr, "bo_line_memory: cannot connect to Redis: %s\n",
            ctx ? ctx->errstr : "out of memory");
    goto fail;
  }
  if (parsed.password != NULL) {
    reply = parsed.user != NULL
                ? redisCommand(ctx, "AUTH %s %s", parsed.user, parsed.password)
                : redisCommand(ctx, "AUTH %s", parsed.password);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
      fprintf(stderr, "bo_line_memory: Redis refused the password\n");
      goto fail;
    }
    freeReplyObject(reply);
  }
  reply = redisCommand(ctx, "SELECT %d", parsed.db);
  if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
    fprintf(stderr, "bo_line_memory: cannot select database %d\n", parsed.db);
    goto fail;
  }
  freeReplyObject(reply);
  bo_redisq_url_free(&parsed);
  return ctx;
fail:
  if (reply)
    freeReplyObject(reply);
  if (ctx)
    redisFree(ctx);
  bo_redisq_url_free(&parsed);
  return NULL;
}

static long long used_memory(redisContext *ctx) {
  long long bytes = -1;
  redisReply *reply = redisCommand(ctx, "INFO memory");
  if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
    const char *field = strstr(reply->str, "\r\nused_memory:");
    if (field != NULL)
      bytes = atoll(field + strlen("\r\nused_memory:"));
  }
  if (reply)
    freeReplyObject(reply);
  return bytes;
}

/* Walks the line's keys with SCAN; with `delete`, UNLINKs each batch.
 * Returns how many there were, or -1 on an error. */
static long long each_line_key(redisContext *ctx, bool delete) {
  long long found = 0;
  char cursor[32] = "0";
  do {
    redisReply *reply =
        redisCommand(ctx, "SCAN %s MATCH %s COUNT 1000", cursor, LINE_KEYS);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != 2) {
      if (reply)
        freeReplyObject(reply);
      return -1;
    }
    snprintf(cursor, sizeof cursor, "%s", reply->element[0]->str);
    redisReply *keys = reply->element[1];
    found += (long long)keys->elements;
    if (delete &&keys->elements > 0) {
      size_t n = keys->elements;
      const char **argv = malloc((n + 1) * sizeof *argv);
      if (argv == NULL) {
        freeReplyObject(reply);
        return -1;
      }
      argv[0] = "UNLINK";
      for (size_t i = 0; i < n; i++)
        argv[i + 1] = keys->element[i]->str;
      redisReply *gone = redisCommandArgv(ctx, (int)n + 1, argv, NULL);
      free(argv);
      if (gone == NULL) {
        freeReplyObject(reply);
        return -1;
      }
      freeReplyObject(gone);
    }
    freeReplyObject(reply);
  } while (strcmp(cursor, "0") != 0);
  return found;
}

static bool measure_redis(const struct options *opt, struct measurement *out) {
  bool ok = false, ours = false;
  struct bo_queue *queue = NULL;
  redisContext *ctx = connect_direct(opt->queue_url);
  if (ctx == NULL)
    return false;
  long long existing = each_line_key(ctx, false);
  if (existing != 0) {
    fprintf(stderr, existing < 0
                        ? "bo_line_memory: cannot list the line's keys\n"
                        : "bo_line_memory: a line (bo:{q}:* keys) already "
                          "exists in that database; use another one\n");
    goto done;
  }
  ours = true;
  queue = open_line(opt->queue_url);
  struct bo_queue_stats ignored;
  /* Connects and loads the scripts, so that neither is in the figure. */
  if (queue == NULL || queue->driver->stats(queue, &ignored) != BO_QUEUE_OK)
    goto done;
  long long before = used_memory(ctx);
  if (before < 0 || !join_everyone(queue, opt->users, opt->threads, out))
    goto done;
  long long after = used_memory(ctx);
  if (after < 0)
    goto done;
  out->bytes = after - before;
  ok = true;
done:
  if (queue)
    bo_queue_close(queue);
  if (ours && each_line_key(ctx, true) < 0) {
    fprintf(stderr, "bo_line_memory: could not delete the line's keys\n");
    ok = false;
  }
  redisFree(ctx);
  return ok;
}

/* ---- main ---- */

static void usage(FILE *out) {
  fprintf(out,
          "usage: bo_line_memory [--queue memory|redis://HOST:PORT/DB] "
          "[--users N] [--threads T]\n"
          "  --queue    the line to measure; default memory. Give Redis a\n"
          "             database of its own: the line's keys are deleted "
          "at the end\n"
          "  --users    users who join, all but one then waiting; "
          "default 1000000\n"
          "  --threads  joiners for Redis, 1..%d; default 8 (the memory "
          "line: always 1)\n",
          MAX_THREADS);
}

static bool parse_long(const char *text, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
    return false;
  *out = value;
  return true;
}

static bool parse_options(int argc, char **argv, struct options *opt) {
  *opt =
      (struct options){.queue_url = "memory", .users = 1000000, .threads = 8};
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
      usage(stdout);
      exit(EXIT_SUCCESS);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "bo_line_memory: %s needs a value\n", flag);
      return false;
    }
    const char *value = argv[++i];
    long number = 0;
    bool ok = true;
    if (strcmp(flag, "--queue") == 0) {
      opt->queue_url = value;
    } else if (strcmp(flag, "--users") == 0) {
      ok = parse_long(value, ACTIVE_MAX + 1, 100000000, &opt->users);
    } else if (strcmp(flag, "--threads") == 0) {
      ok = parse_long(value, 1, MAX_THREADS, &number);
      opt->threads = (int)number;
    } else {
      fprintf(stderr, "bo_line_memory: unknown flag %s\n", flag);
      return false;
    }
    if (!ok) {
      fprintf(stderr, "bo_line_memory: bad value for %s\n", flag);
      return false;
    }
  }
  return true;
}

int main(int argc, char **argv) {
  struct options opt;
  struct measurement m = {0};
  if (!parse_options(argc, argv, &opt)) {
    usage(stderr);
    return 2;
  }
  bool memory = strcmp(opt.queue_url, "memory") == 0;
  if (!(memory ? measure_memory(&opt, &m) : measure_redis(&opt, &m)))
    return EXIT_FAILURE;
  printf("{\"probe\":\"line_memory\",\"queue\":\"%s\",\"waiting\":%lld,"
         "\"bytes\":%lld,\"bytes_per_waiting\":%.1f,\"users\":%ld,"
         "\"join_s\":%.2f}\n",
         memory ? "memory" : "redis", (long long)m.waiting, m.bytes,
         (double)m.bytes / (double)m.waiting, opt.users, m.join_s);
  return EXIT_SUCCESS;
}
