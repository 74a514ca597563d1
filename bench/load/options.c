/* Flags as a table: name, kind, where the value goes, which workloads take
 * it and which need it, bounds, and the help line. Parsing, validation and
 * the usage text all read the same rows, so they cannot disagree. */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum kind { KIND_INT, KIND_SECONDS, KIND_PAIR, KIND_TEXT, KIND_SWITCH };

#define FOR(w) (1u << (w))
#define ALL                                                                    \
  (FOR(BO_LOAD_TOKENS) | FOR(BO_LOAD_RUSH) | FOR(BO_LOAD_PURCHASE) |           \
   FOR(BO_LOAD_CROWD) | FOR(BO_LOAD_STREAMS))
#define FIELD(f) offsetof(struct bo_load_options, f)

struct flag {
  const char *name; /* without the leading "--" */
  enum kind kind;
  size_t field;
  size_t second_field; /* KIND_PAIR: where the number after ':' goes */
  unsigned used_by;
  unsigned required_by;
  int64_t min, max; /* KIND_INT, and each half of KIND_PAIR */
  const char *value;
  const char *help;
};

static const struct flag flags[] = {
    {"url", KIND_TEXT, FIELD(url), 0, ALL, ALL, 0, 0, "http://HOST:PORT",
     "the server under test"},
    {"connections", KIND_INT, FIELD(connections), 0, ALL, 0, 1, 100000, "N",
     "keep-alive connections, one request in flight on each (default 256;\n"
     "crowd 10000; streams: one stream each, 10000)"},
    {"threads", KIND_INT, FIELD(threads), 0, ALL, 0, 1, 256, "N",
     "event-loop threads sharing the connections (default 1)"},
    {"seed", KIND_INT, FIELD(seed), 0, ALL, 0, 0, INT64_MAX, "N",
     "random seed (default: from the clock; the report says which)"},
    {"timeout", KIND_SECONDS, FIELD(timeout_seconds), 0, ALL, 0, 0, 0,
     "SECONDS",
     "a request unanswered this long is a transport error\n"
     "(default 30)"},
    {"users", KIND_PAIR, FIELD(users_first), FIELD(users_count),
     FOR(BO_LOAD_TOKENS) | FOR(BO_LOAD_PURCHASE),
     FOR(BO_LOAD_TOKENS) | FOR(BO_LOAD_PURCHASE), 1, INT64_MAX / 2,
     "FIRST:COUNT", "user ids FIRST .. FIRST+COUNT-1"},
    {"out", KIND_TEXT, FIELD(out_path), 0,
     FOR(BO_LOAD_TOKENS) | FOR(BO_LOAD_RUSH), FOR(BO_LOAD_TOKENS), 0, 0, "FILE",
     "tokens: where the issued tokens go, one \"TOKEN USERID STATUS\" a line;\n"
     "rush (optional): the wins, \"RESERVATIONID USERID SCHEDULE SEAT\""},
    {"forwarded-for", KIND_SWITCH, FIELD(forwarded_for), 0,
     FOR(BO_LOAD_TOKENS) | FOR(BO_LOAD_PURCHASE), 0, 0, 0, NULL,
     "send X-Forwarded-For: 10.a.b.c, one address per user id, so that the\n"
     "per-address issue limit sees distinct users (the server must trust\n"
     "this host as a proxy, as it does 127.0.0.1 by default)"},
    {"tokens", KIND_TEXT, FIELD(tokens_path), 0,
     FOR(BO_LOAD_RUSH) | FOR(BO_LOAD_CROWD) | FOR(BO_LOAD_STREAMS),
     FOR(BO_LOAD_RUSH) | FOR(BO_LOAD_CROWD) | FOR(BO_LOAD_STREAMS), 0, 0,
     "FILE",
     "a file written by `bo_load tokens` (rush uses its ACTIVE lines;\n"
     "streams needs one line per connection)"},
    {"schedules", KIND_PAIR, FIELD(schedules_first), FIELD(schedules_last),
     FOR(BO_LOAD_RUSH) | FOR(BO_LOAD_CROWD), FOR(BO_LOAD_RUSH), 1,
     INT64_MAX / 2, "A:B",
     "rush: schedule ids A .. B, inclusive; crowd: ask for their seat\n"
     "maps (ACTIVE tokens) instead of the queue status"},
    {"seats", KIND_INT, FIELD(seats), 0, FOR(BO_LOAD_RUSH), 0, 1, 1000, "N",
     "rush: seats 1 .. N of each schedule (default 50)"},
    {"concert", KIND_INT, FIELD(concert_id), 0, FOR(BO_LOAD_PURCHASE),
     FOR(BO_LOAD_PURCHASE), 1, INT64_MAX, "ID",
     "purchase: the concert whose seats are bought"},
    {"duration", KIND_SECONDS, FIELD(duration_seconds), 0,
     FOR(BO_LOAD_PURCHASE) | FOR(BO_LOAD_CROWD) | FOR(BO_LOAD_STREAMS), 0, 0, 0,
     "SECONDS",
     "purchase: stop after this long (default 60); crowd: measure this long\n"
     "after the ramp (default 30); streams: hold them this long after the\n"
     "ramp (default 30)"},
    {"poll-ms", KIND_INT, FIELD(poll_ms), 0, FOR(BO_LOAD_PURCHASE), 0, 1, 60000,
     "MS", "purchase: queue status poll period while WAITING (200)"},
    {"interval-ms", KIND_INT, FIELD(interval_ms), 0, FOR(BO_LOAD_CROWD), 0, 1,
     600000, "MS", "crowd: poll period of each connection (default 1000)"},
    {"ramp-seconds", KIND_SECONDS, FIELD(ramp_seconds), 0,
     FOR(BO_LOAD_CROWD) | FOR(BO_LOAD_STREAMS), 0, 0, 0, "SECONDS",
     "crowd, streams: spread the connections' opening over this long\n"
     "(default 5)"},
};

#define FLAG_COUNT (sizeof flags / sizeof flags[0])

static const struct {
  const char *name;
  const char *synopsis;
  const char *summary;
} workloads[BO_LOAD_WORKLOADS] = {
    [BO_LOAD_TOKENS] = {"tokens",
                        "--users FIRST:COUNT --out FILE [--forwarded-for]",
                        "POST /api/v1/queue/tokens once for every user, as "
                        "fast as the\n"
                        "connections allow (429: wait Retry-After, ask "
                        "again)"},
    [BO_LOAD_RUSH] = {"rush",
                      "--tokens FILE --schedules A:B [--seats 50] [--out FILE]",
                      "every ACTIVE token's user races for the seats of the "
                      "schedules;\n"
                      "a 409 marks a seat taken for the users of that thread"},
    [BO_LOAD_PURCHASE] =
        {"purchase",
         "--users FIRST:COUNT --concert ID [--duration 60]\n"
         "                    [--poll-ms 200] [--forwarded-for]",
         "token, wait for ACTIVE, schedules, seat map, hold, charge, pay:\n"
         "one user after another on each connection"},
    [BO_LOAD_CROWD] =
        {"crowd",
         "--tokens FILE [--connections 10000] [--duration 30]\n"
         "                    [--interval-ms 1000] [--ramp-seconds 5] "
         "[--schedules A:B]",
         "many keep-alive connections, each polling /api/v1/queue/status\n"
         "(or, with --schedules, seat maps) at a fixed pace: open loop"},
    [BO_LOAD_STREAMS] =
        {"streams",
         "--tokens FILE [--connections 10000] [--duration 30]\n"
         "                    [--ramp-seconds 5]",
         "one GET /api/v1/queue/stream per token, held open: counts events,\n"
         "heartbeats, admissions and end events"},
};

const char *bo_load_workload_name(enum bo_load_workload w) {
  return workloads[w].name;
}

/* Help text, every line indented under its flag or workload. */
static void print_indented(FILE *to, const char *text) {
  fputs("      ", to);
  for (const char *p = text; *p; p++) {
    fputc(*p, to);
    if (*p == '\n')
      fputs("      ", to);
  }
  fputc('\n', to);
}

void bo_load_options_usage(FILE *to) {
  fputs("usage: bo_load WORKLOAD --url http://HOST:PORT [flags]\n"
        "\nA load driver for boxoffice: epoll event loops, keep-alive "
        "connections,\n"
        "one request in flight per connection. Prints one JSON object on "
        "stdout.\n\nWorkloads:\n",
        to);
  for (int w = 0; w < BO_LOAD_WORKLOADS; w++) {
    fprintf(to, "  bo_load %-9s %s\n", workloads[w].name,
            workloads[w].synopsis);
    print_indented(to, workloads[w].summary);
  }
  fputs("\nFlags:\n", to);
  for (size_t i = 0; i < FLAG_COUNT; i++) {
    const struct flag *f = &flags[i];
    fprintf(to, "  --%s%s%s\n", f->name, f->value ? " " : "",
            f->value ? f->value : "");
    print_indented(to, f->help);
  }
  fputs("\nEvery run reports workload, requests, seconds, rps, p50_ms, "
        "p99_ms,\n"
        "max_ms, errors (status >= 500, transport errors and unexpected "
        "statuses),\n"
        "status (code -> count) and reconnects, plus its own fields.\n"
        "Exit status: 0 the run completed (errors or not), 1 the server "
        "cannot\n"
        "be reached or the run could not be set up, 2 bad flags or input "
        "files.\n",
        to);
}

static bool parse_int(const char *text, int64_t min, int64_t max,
                      int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max)
    return false;
  *out = v;
  return true;
}

static bool parse_seconds(const char *text, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end || !isfinite(v) || v < 0 || v > 1e6)
    return false;
  *out = v;
  return true;
}

static bool parse_pair(const char *text, const struct flag *f, int64_t *a,
                       int64_t *b) {
  const char *colon = strchr(text, ':');
  if (!colon || colon == text)
    return false;
  char first[32];
  size_t len = (size_t)(colon - text);
  if (len >= sizeof first)
    return false;
  memcpy(first, text, len);
  first[len] = '\0';
  return parse_int(first, f->min, f->max, a) &&
         parse_int(colon + 1, f->min, f->max, b);
}

static bool store(const struct flag *f, const char *value,
                  struct bo_load_options *o) {
  char *base = (char *)o;
  switch (f->kind) {
  case KIND_INT: {
    int64_t v;
    if (!parse_int(value, f->min, f->max, &v))
      return false;
    memcpy(base + f->field, &v, sizeof v); /* int64_t or uint64_t */
    return true;
  }
  case KIND_SECONDS:
    return parse_seconds(value, (double *)(void *)(base + f->field));
  case KIND_PAIR:
    return parse_pair(value, f, (int64_t *)(void *)(base + f->field),
                      (int64_t *)(void *)(base + f->second_field));
  case KIND_TEXT:
    if (!*value)
      return false;
    memcpy(base + f->field, &value, sizeof value);
    return true;
  case KIND_SWITCH:
    *(bool *)(void *)(base + f->field) = true;
    return true;
  }
  return false;
}

static const struct flag *find_flag(const char *name, size_t len) {
  for (size_t i = 0; i < FLAG_COUNT; i++)
    if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
      return &flags[i];
  return NULL;
}

static void set_defaults(struct bo_load_options *o, enum bo_load_workload w) {
  memset(o, 0, sizeof *o);
  o->workload = w;
  o->connections = w == BO_LOAD_CROWD || w == BO_LOAD_STREAMS ? 10000 : 256;
  o->threads = 1;
  o->timeout_seconds = 30;
  o->duration_seconds = w == BO_LOAD_CROWD || w == BO_LOAD_STREAMS ? 30 : 60;
  o->ramp_seconds = 5;
  o->seats = 50;
  o->poll_ms = 200;
  o->interval_ms = 1000;
  o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

static bool is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 ||
         strcmp(arg, "help") == 0;
}

/* One "--name value" or "--name=value" at argv[*i]; advances *i. */
static bool parse_flag(int argc, char **argv, int *i, unsigned *seen,
                       struct bo_load_options *o) {
  const char *arg = argv[*i];
  const char *w = workloads[o->workload].name;
  if (strncmp(arg, "--", 2) != 0) {
    fprintf(stderr, "bo_load %s: unexpected argument %s\n", w, arg);
    return false;
  }
  const char *name = arg + 2;
  const char *equals = strchr(name, '=');
  size_t len = equals ? (size_t)(equals - name) : strlen(name);
  const struct flag *f = find_flag(name, len);
  if (!f || !(f->used_by & FOR(o->workload))) {
    fprintf(stderr, "bo_load %s: unknown flag --%.*s\n", w, (int)len, name);
    return false;
  }
  const char *value = "";
  if (f->kind != KIND_SWITCH) {
    if (equals) {
      value = equals + 1;
    } else if (*i + 1 < argc) {
      value = argv[++*i];
    } else {
      fprintf(stderr, "bo_load %s: --%s needs %s\n", w, f->name, f->value);
      return false;
    }
  } else if (equals) {
    fprintf(stderr, "bo_load %s: --%s takes no value\n", w, f->name);
    return false;
  }
  if (!store(f, value, o)) {
    fprintf(stderr, "bo_load %s: bad value for --%s: \"%s\" (want %s)\n", w,
            f->name, value, f->value);
    return false;
  }
  *seen |= 1u << (f - flags);
  (*i)++;
  return true;
}

static bool check(const struct bo_load_options *o, unsigned seen) {
  const char *w = workloads[o->workload].name;
  for (size_t i = 0; i < FLAG_COUNT; i++)
    if ((flags[i].required_by & FOR(o->workload)) && !(seen & (1u << i))) {
      fprintf(stderr, "bo_load %s: --%s %s is required\n", w, flags[i].name,
              flags[i].value);
      return false;
    }
  if (o->workload == BO_LOAD_RUSH && o->schedules_last < o->schedules_first) {
    fprintf(stderr, "bo_load rush: --schedules A:B needs A <= B\n");
    return false;
  }
  if (o->workload == BO_LOAD_RUSH &&
      (o->schedules_last - o->schedules_first + 1) * o->seats > 10000000) {
    fprintf(stderr, "bo_load rush: more than 10,000,000 seats\n");
    return false;
  }
  if (o->timeout_seconds <= 0) {
    fprintf(stderr, "bo_load %s: --timeout must be above 0\n", w);
    return false;
  }
  if (o->workload == BO_LOAD_PURCHASE && o->duration_seconds <= 0) {
    fprintf(stderr, "bo_load purchase: --duration must be above 0\n");
    return false;
  }
  if ((o->workload == BO_LOAD_CROWD || o->workload == BO_LOAD_STREAMS) &&
      o->duration_seconds <= 0) {
    fprintf(stderr, "bo_load %s: --duration must be above 0\n", w);
    return false;
  }
  return true;
}

enum bo_load_parse bo_load_options_parse(int argc, char **argv,
                                         struct bo_load_options *out) {
  if (argc < 2)
    return BO_LOAD_PARSE_NOTHING;
  if (is_help(argv[1]))
    return BO_LOAD_PARSE_HELP;
  int w = 0;
  while (w < BO_LOAD_WORKLOADS && strcmp(argv[1], workloads[w].name) != 0)
    w++;
  if (w == BO_LOAD_WORKLOADS) {
    fprintf(stderr, "bo_load: unknown workload %s (bo_load --help)\n", argv[1]);
    return BO_LOAD_PARSE_BAD;
  }
  set_defaults(out, (enum bo_load_workload)w);
  unsigned seen = 0;
  for (int i = 2; i < argc;) {
    if (is_help(argv[i]))
      return BO_LOAD_PARSE_HELP;
    if (!parse_flag(argc, argv, &i, &seen, out))
      return BO_LOAD_PARSE_BAD;
  }
  return check(out, seen) ? BO_LOAD_PARSE_OK : BO_LOAD_PARSE_BAD;
}
