/* Settings come from one table. Each row says where a setting's text comes
 * from (flag, environment variable, default), how to check it and where it
 * lands in struct bo_settings; the parser, the error messages and --help are
 * all driven by the rows, so a new setting is one row and cannot be
 * documented differently from how it is parsed.
 *
 * Loading is two passes. The first walks argv and only records which text
 * each flag gave (so --help works however broken the other values are, and a
 * repeated flag simply wins by coming last). The second goes down the table
 * and picks, per row, flag text over environment text over the default, then
 * checks it. Defaults go through the same checks, so a bad default fails the
 * unit tests instead of reaching production. */
#include "config.h"

#include "util/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* BO_VERSION is defined on the executable by CMake; this file also builds
 * inside bo_util, which gets it only if CMake passes it there too. */
#ifndef BO_VERSION
#define BO_VERSION "0.1.0"
#endif

enum kind {
  KIND_LISTEN, /* HOST:PORT or [IPV6]:PORT, into listen_host + listen_port */
  KIND_DB,     /* sqlite:PATH or postgres(ql)://... */
  KIND_QUEUE,  /* memory or redis://... */
  KIND_INT,    /* strict decimal int64_t within [min, max] */
  KIND_SECRET, /* visible ASCII, never echoed back in messages */
  KIND_SWITCH, /* a flag without a value; no environment variable */
  KIND_RANGES, /* comma-separated IP addresses or CIDR blocks */
};

struct setting {
  const char *name;
  const char *env;  /* NULL: flag only */
  const char *flag; /* with the leading "--" */
  enum kind kind;
  const char *fallback; /* default as text; NULL: unset */
  int64_t min, max;     /* value, port (LISTEN) or length (SECRET) bounds */
  size_t offset;        /* into struct bo_settings */
  size_t size;          /* of that member (string capacity incl. NUL) */
  const char *meta;     /* what the value looks like, for --help */
  const char *help;
};

#define FIELD(member)                                                          \
  offsetof(struct bo_settings, member),                                        \
      sizeof(((struct bo_settings *)0)->member)

static const struct setting settings_table[] = {
    {"listen", "BOXOFFICE_LISTEN", "--listen", KIND_LISTEN, "127.0.0.1:8080", 0,
     65535, FIELD(listen_host), "HOST:PORT",
     "address to serve on; IPv6 as [::1]:8080; port 0 picks a free one"},
    {"db", "BOXOFFICE_DB", "--db", KIND_DB, "sqlite:boxoffice.db", 0, 0,
     FIELD(db_url), "URL",
     "sqlite:PATH (one instance) or postgres://... (a libpq URI)"},
    {"queue", "BOXOFFICE_QUEUE", "--queue", KIND_QUEUE, "memory", 0, 0,
     FIELD(queue_url), "URL",
     "memory (one instance) or redis://[:PASSWORD@]HOST:PORT[/DB]"},
    {"hold_seconds", "BOXOFFICE_HOLD_SECONDS", "--hold-seconds", KIND_INT,
     "300", 1, 86400, FIELD(hold_seconds), "N",
     "how long a seat stays held before it is free again"},
    {"active_max", "BOXOFFICE_ACTIVE_MAX", "--active-max", KIND_INT, "1000", 1,
     10000000, FIELD(active_max), "N",
     "queue tokens ACTIVE at once; the rest wait in line"},
    {"active_seconds", "BOXOFFICE_ACTIVE_SECONDS", "--active-seconds", KIND_INT,
     "600", 1, 86400, FIELD(active_seconds), "N",
     "how long a queue token stays ACTIVE"},
    {"idle_seconds", "BOXOFFICE_IDLE_SECONDS", "--idle-seconds", KIND_INT,
     "120", 1, 86400, FIELD(idle_seconds), "N",
     "a waiting user who stops polling this long leaves the line"},
    {"admin_token", "BOXOFFICE_ADMIN_TOKEN", "--admin-token", KIND_SECRET, NULL,
     1, 255, FIELD(admin_token), "SECRET",
     "admin API secret (Authorization: Bearer); unset turns the admin API\n"
     "off; make it long and random (e.g. 32 bytes from /dev/urandom in\n"
     "base64) and prefer the variable: flags show up in ps"},
    {"threads", "BOXOFFICE_THREADS", "--threads", KIND_INT, "8", 1, 256,
     FIELD(threads), "N", "HTTP worker threads"},
    {"max_connections", "BOXOFFICE_MAX_CONNECTIONS", "--max-connections",
     KIND_INT, "20000", 1, 1000000, FIELD(max_connections), "N",
     "open client connections at most; more are refused"},
    {"max_connections_per_ip", "BOXOFFICE_MAX_CONNECTIONS_PER_IP",
     "--max-connections-per-ip", KIND_INT, "256", 0, 1000000,
     FIELD(max_connections_per_ip), "N",
     "open connections from one client address (IPv6: one /64) at most;\n"
     "more are refused. Trusted proxies (--trusted-proxies) carry many\n"
     "clients and are not capped. 0 turns the cap off; do that behind a\n"
     "load balancer that is not listed as a trusted proxy"},
    {"client_timeout_seconds", "BOXOFFICE_CLIENT_TIMEOUT_SECONDS",
     "--client-timeout-seconds", KIND_INT, "10", 1, 3600,
     FIELD(client_timeout_seconds), "N",
     "a connection that sends nothing for this long is closed (idle\n"
     "keep-alive and clients stalling mid-request alike)"},
    {"poll_rate", "BOXOFFICE_POLL_RATE", "--poll-rate", KIND_INT, "10", 0,
     1000000, FIELD(poll_rate), "N",
     "GET /api/v1/queue/status per queue token per second, on average;\n"
     "past it 429 with Retry-After. 0 turns the limit off. Each instance\n"
     "counts on its own"},
    {"poll_burst", "BOXOFFICE_POLL_BURST", "--poll-burst", KIND_INT, "20", 1,
     1000000, FIELD(poll_burst), "N",
     "queue status polls one token may make at once after a quiet spell"},
    {"seatmap_max_age_ms", "BOXOFFICE_SEATMAP_MAX_AGE_MS",
     "--seatmap-max-age-ms", KIND_INT, "500", 0, 1000,
     FIELD(seatmap_max_age_ms), "N",
     "a seat map may be served from a snapshot this old (changes made\n"
     "through other instances show up this late; this instance's own at\n"
     "once). 0 reads the database for every request"},
    {"issue_rate", "BOXOFFICE_ISSUE_RATE", "--issue-rate", KIND_INT, "50", 0,
     1000000, FIELD(issue_rate), "N",
     "POST /api/v1/queue/tokens per client address per second, on average;\n"
     "past it 429 with Retry-After. 0 turns the limit off. Each instance\n"
     "counts on its own; IPv6 clients count per /64"},
    {"issue_burst", "BOXOFFICE_ISSUE_BURST", "--issue-burst", KIND_INT, "500",
     1, 1000000, FIELD(issue_burst), "N",
     "queue tokens one client address may ask for at once after a quiet\n"
     "spell"},
    {"trusted_proxies", "BOXOFFICE_TRUSTED_PROXIES", "--trusted-proxies",
     KIND_RANGES, "127.0.0.1,::1", 0, BO_NETRANGE_LIST_MAX,
     FIELD(trusted_proxies), "LIST",
     "addresses or CIDR blocks of load balancers, comma-separated, or none.\n"
     "A connection from one of them is not held to the per-address\n"
     "connection cap, and the client it names in X-Forwarded-For is the\n"
     "one the token issuance limit counts. The default is this host (a\n"
     "local haproxy, local tools); list your balancers' addresses instead"},
    {"demo", NULL, "--demo", KIND_SWITCH, NULL, 0, 0, FIELD(demo), NULL,
     "serve only: load demo data (concerts, schedules, users) into an\n"
     "empty database"},
};

#define SETTING_COUNT (sizeof settings_table / sizeof settings_table[0])

static const char *process_env(const char *name) {
  return getenv(name);
}

/* Values are user input headed for a terminal or a log: escape what is not
 * printable so a stray newline or escape sequence cannot forge output, and
 * cut very long values short. */
static void print_quoted(FILE *to, const char *text) {
  enum { SHOWN_MAX = 80 };
  size_t n = 0;
  fputc('"', to);
  for (const unsigned char *p = (const unsigned char *)text; *p; p++, n++) {
    if (n == SHOWN_MAX) {
      fputs("...", to);
      break;
    }
    if (*p == '"' || *p == '\\')
      fprintf(to, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f)
      fprintf(to, "\\x%02x", *p);
    else
      fputc(*p, to);
  }
  fputc('"', to);
}

static void print_rule(FILE *to, const struct setting *row) {
  switch (row->kind) {
  case KIND_LISTEN:
    fprintf(to,
            "must be HOST:PORT with a port from %" PRId64 " to %" PRId64
            " (IPv6 as [::1]:8080)",
            row->min, row->max);
    break;
  case KIND_DB:
    fputs("must be sqlite:PATH or postgres://... (postgresql:// too)", to);
    break;
  case KIND_QUEUE:
    fputs("must be memory or redis://HOST:PORT[/DB]", to);
    break;
  case KIND_INT:
    fprintf(to, "must be an integer from %" PRId64 " to %" PRId64, row->min,
            row->max);
    break;
  case KIND_SECRET:
    fprintf(to,
            "must be %" PRId64 " to %" PRId64
            " visible ASCII characters (no spaces)",
            row->min, row->max);
    break;
  case KIND_SWITCH:
    fputs("takes no value", to);
    break;
  case KIND_RANGES:
    fprintf(to,
            "must be none or up to %" PRId64
            " comma-separated IP addresses or CIDR blocks (10.0.0.0/8)",
            row->max);
    break;
  }
}

/* The one shape of every bad-value message: setting, variable, flag, value,
 * rule. Secrets are never echoed, since stderr usually ends up in logs. */
static void report_invalid(FILE *err, const struct setting *row,
                           const char *value) {
  fprintf(err, "boxoffice: invalid %s (%s) ", row->env ? row->env : row->name,
          row->flag);
  /* A database or Redis URL may carry a password (postgres://u:pw@h). */
  if (row->kind == KIND_SECRET || row->kind == KIND_DB ||
      row->kind == KIND_QUEUE)
    fputs("(value hidden)", err);
  else
    print_quoted(err, value);
  fputs(": ", err);
  print_rule(err, row);
  fputc('\n', err);
}

static bool parse_int(const char *text, int64_t min, int64_t max,
                      int64_t *out) {
  /* strtoll alone skips leading spaces and takes a '+'; a value written by
   * a person that is not plain digits (or '-' and digits, left to the range
   * check) is more likely a typo than a number, so it is refused. */
  const char *digits = text[0] == '-' ? text + 1 : text;
  if (*digits < '0' || *digits > '9')
    return false;
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno == ERANGE || *end != '\0')
    return false;
  if (value < min || value > max)
    return false;
  *out = (int64_t)value;
  return true;
}

static bool copy_text(const char *text, char *dst, size_t size) {
  size_t len = strlen(text);
  if (len >= size)
    return false;
  memcpy(dst, text, len + 1);
  return true;
}

static bool starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* A name libmicrohttpd's bind can resolve: an IPv4 literal or a DNS name.
 * A bare ':' here means an unbracketed IPv6 address, which is ambiguous with
 * the port separator, so it is refused. */
static bool host_name_ok(const char *host, size_t len) {
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = host[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

/* Fills listen_host (brackets stripped, ready for getaddrinfo/inet_pton)
 * and listen_port, the one row that writes two members. */
static bool parse_listen(const char *text, const struct setting *row,
                         struct bo_settings *s) {
  const char *colon = strrchr(text, ':');
  if (!colon)
    return false;
  const char *host = text;
  size_t host_len = (size_t)(colon - text);
  if (host[0] == '[') {
    if (host_len < 3 || host[host_len - 1] != ']')
      return false;
    host++;
    host_len -= 2;
    char literal[INET6_ADDRSTRLEN + 16];
    struct in6_addr addr;
    if (host_len >= sizeof literal)
      return false;
    memcpy(literal, host, host_len);
    literal[host_len] = '\0';
    if (inet_pton(AF_INET6, literal, &addr) != 1)
      return false;
  } else if (!host_name_ok(host, host_len)) {
    return false;
  }
  if (host_len >= sizeof s->listen_host)
    return false;
  int64_t port = 0;
  if (!parse_int(colon + 1, row->min, row->max, &port))
    return false;
  memcpy(s->listen_host, host, host_len);
  s->listen_host[host_len] = '\0';
  s->listen_port = (uint16_t)port;
  return true;
}

static bool parse_secret(const char *text, const struct setting *row,
                         char *dst) {
  /* It travels as "Authorization: Bearer <secret>": a space or control byte
   * could not be sent back reliably, so it is refused up front. */
  size_t len = strlen(text);
  if ((int64_t)len < row->min || (int64_t)len > row->max)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c <= 0x20 || c >= 0x7f)
      return false;
  }
  return copy_text(text, dst, row->size);
}

/* Checks `text` against the row and stores it; false means "report it". */
static bool apply(const struct setting *row, const char *text,
                  struct bo_settings *s) {
  char *member = (char *)s + row->offset;
  switch (row->kind) {
  case KIND_LISTEN:
    return parse_listen(text, row, s);
  case KIND_DB:
    if (starts_with(text, "sqlite:")) {
      if (text[strlen("sqlite:")] == '\0')
        return false;
    } else if (!starts_with(text, "postgres://") &&
               !starts_with(text, "postgresql://")) {
      return false;
    }
    return copy_text(text, member, row->size);
  case KIND_QUEUE:
    if (strcmp(text, "memory") != 0 &&
        !(starts_with(text, "redis://") && text[strlen("redis://")] != '\0'))
      return false;
    return copy_text(text, member, row->size);
  case KIND_INT: {
    int64_t value = 0;
    if (!parse_int(text, row->min, row->max, &value))
      return false;
    memcpy(member, &value, sizeof value);
    return true;
  }
  case KIND_SECRET:
    return parse_secret(text, row, member);
  case KIND_SWITCH: {
    bool on = true;
    memcpy(member, &on, sizeof on);
    return true;
  }
  case KIND_RANGES:
    /* "none" spells the empty list: an empty variable means "unset",
     * which would bring the default back. */
    if (strcmp(text, "none") == 0)
      text = "";
    if (bo_netrange_parse_list(text, NULL, (int)row->max) < 0)
      return false;
    return copy_text(text, member, row->size);
  }
  return false;
}

/* Help texts in the table may span lines; each line gets the same indent. */
static void print_indented(FILE *out, const char *text) {
  fputs("      ", out);
  for (const char *p = text; *p; p++) {
    fputc(*p, out);
    if (*p == '\n')
      fputs("      ", out);
  }
  fputc('\n', out);
}

static void print_help(FILE *out) {
  fputs("boxoffice " BO_VERSION
        ": concert ticket reservations over HTTP (waiting queue,\n"
        "seat holds, payments with points).\n"
        "\n"
        "usage: boxoffice [serve|migrate] [--SETTING VALUE | "
        "--SETTING=VALUE]...\n"
        "       boxoffice --help | --version\n"
        "\n"
        "commands:\n"
        "  serve    serve the HTTP API (the default)\n"
        "  migrate  apply pending database migrations and exit\n"
        "\n"
        "settings (a flag beats its variable, which beats the default;\n"
        "an empty variable counts as unset):\n",
        out);
  for (size_t i = 0; i < SETTING_COUNT; i++) {
    const struct setting *row = &settings_table[i];
    if (row->meta)
      fprintf(out, "  %s %s", row->flag, row->meta);
    else
      fprintf(out, "  %s", row->flag);
    if (row->env)
      fprintf(out, "  (env %s)", row->env);
    fputc('\n', out);
    print_indented(out, row->help);
    if (row->kind == KIND_INT)
      fprintf(out, "      default %s, from %" PRId64 " to %" PRId64 "\n",
              row->fallback, row->min, row->max);
    else if (row->fallback)
      fprintf(out, "      default %s\n", row->fallback);
    else if (row->kind == KIND_SECRET)
      fputs("      default unset\n", out);
  }
  fputs("  -h, --help\n      print this help and exit\n"
        "  --version\n      print the version and exit\n"
        "\n"
        "example: BOXOFFICE_ADMIN_TOKEN=$(head -c 32 /dev/urandom | base64) "
        "boxoffice serve --listen 0.0.0.0:8080 --db sqlite:/var/lib/boxoffice/"
        "boxoffice.db\n",
        out);
}

static const struct setting *find_flag(const char *name, size_t len) {
  for (size_t i = 0; i < SETTING_COUNT; i++) {
    const char *flag = settings_table[i].flag;
    if (strlen(flag) == len && strncmp(flag, name, len) == 0)
      return &settings_table[i];
  }
  return NULL;
}

/* What argv said, before any value is checked. */
struct command_line {
  const char *given[SETTING_COUNT]; /* NULL: flag absent */
  const char *command;              /* NULL: none given */
};

enum scan_result { SCAN_OK, SCAN_HELP, SCAN_VERSION, SCAN_ERROR };

static enum scan_result scan_argv(int argc, char **argv,
                                  struct command_line *cl, FILE *err) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
      return SCAN_HELP;
    if (strcmp(arg, "--version") == 0)
      return SCAN_VERSION;
    if (arg[0] != '-') {
      if (cl->command) {
        fprintf(err, "boxoffice: unexpected argument ");
        print_quoted(err, arg);
        fputs(" (see boxoffice --help)\n", err);
        return SCAN_ERROR;
      }
      cl->command = arg;
      continue;
    }
    const char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct setting *row = find_flag(arg, name_len);
    if (!row) {
      fputs("boxoffice: unknown flag ", err);
      print_quoted(err, arg);
      fputs(" (see boxoffice --help)\n", err);
      return SCAN_ERROR;
    }
    const char *value = NULL;
    if (row->kind == KIND_SWITCH) {
      if (eq) {
        report_invalid(err, row, eq + 1);
        return SCAN_ERROR;
      }
      value = "";
    } else if (eq) {
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      fprintf(err, "boxoffice: %s needs a value (see boxoffice --help)\n",
              row->flag);
      return SCAN_ERROR;
    }
    cl->given[row - settings_table] = value;
  }
  return SCAN_OK;
}

static bool pick_command(const char *name, enum bo_command *out, FILE *err) {
  if (!name || strcmp(name, "serve") == 0) {
    *out = BO_COMMAND_SERVE;
    return true;
  }
  if (strcmp(name, "migrate") == 0) {
    *out = BO_COMMAND_MIGRATE;
    return true;
  }
  fputs("boxoffice: unknown command ", err);
  print_quoted(err, name);
  fputs(": expected serve or migrate (see boxoffice --help)\n", err);
  return false;
}

enum bo_config_outcome bo_config_load(int argc, char **argv,
                                      const char *(*env)(const char *name),
                                      struct bo_settings *settings, FILE *out,
                                      FILE *err) {
  if (!env)
    env = process_env;
  memset(settings, 0, sizeof *settings);

  struct command_line cl = {0};
  switch (scan_argv(argc, argv, &cl, err)) {
  case SCAN_HELP:
    print_help(out);
    return BO_CONFIG_EXIT_OK;
  case SCAN_VERSION:
    fputs("boxoffice " BO_VERSION "\n", out);
    return BO_CONFIG_EXIT_OK;
  case SCAN_ERROR:
    return BO_CONFIG_EXIT_ERROR;
  case SCAN_OK:
    break;
  }
  if (!pick_command(cl.command, &settings->command, err))
    return BO_CONFIG_EXIT_ERROR;

  for (size_t i = 0; i < SETTING_COUNT; i++) {
    const struct setting *row = &settings_table[i];
    const char *text = cl.given[i];
    if (!text && row->env) {
      text = env(row->env);
      /* `FOO= boxoffice` and an empty line in an env file mean "not set". */
      if (text && text[0] == '\0')
        text = NULL;
    }
    if (!text)
      text = row->fallback;
    if (!text)
      continue; /* unset and no default: the member stays zero */
    if (!apply(row, text, settings)) {
      report_invalid(err, row, text);
      return BO_CONFIG_EXIT_ERROR;
    }
  }

  /* Demo data goes into the database `serve` is about to use; for migrate
   * it would silently do nothing, which hides a mistake. */
  if (settings->demo && settings->command != BO_COMMAND_SERVE) {
    fputs("boxoffice: --demo only applies to serve\n", err);
    return BO_CONFIG_EXIT_ERROR;
  }
  return BO_CONFIG_RUN;
}
