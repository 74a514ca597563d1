/* Where servers store things: the two configurations, the PostgreSQL
 * databases and Redis servers of the postgres one, and the guard that
 * undoes them if the test process dies.
 *
 * Why these choices:
 *  - A fresh database per store (CREATE DATABASE in the cluster that
 *    tests/services.sh run started) costs a few milliseconds and isolates
 *    tests completely, including migrations; a Redis per store does the
 *    same for queue keys, which have no database-like namespace that a
 *    test could drop.
 *  - Redis and PostgreSQL daemonize, so PR_SET_PDEATHSIG cannot tie them to
 *    the test process the way it ties boxoffice servers. The guard is a
 *    grandchild of the test process in a session of its own (so neither a
 *    process-tree kill by ctest nor a signal to the process group reaches
 *    it) that reads what to undo from a pipe. When the pipe closes, the
 *    test has either finished its teardown (it said "bye" first) or died:
 *    either way the guard drops the databases and stops the servers, and
 *    after a death it also removes the folders. Teardown itself relies on
 *    the guard, so that path runs in every test and does not rot.
 *  - tests/services.sh is the one place that knows how to start and stop
 *    the servers (initdb as an unprivileged user, ports, persistence), for
 *    the harness as for ctest. */
#include "support/harness.h"
#include "support/internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IT_MAX_STORES 8
#define IT_GUARD_WAIT_MS 120000

static struct it_store *stores[IT_MAX_STORES];
static size_t store_count;

/* ---- The configuration -------------------------------------------------- */

bool it_postgres_mode(void) {
  const char *backend = getenv("BOXOFFICE_IT_BACKEND");
  if (!backend || !*backend || strcmp(backend, "sqlite") == 0)
    return false;
  cr_assert_str_eq(backend, "postgres",
                   "BOXOFFICE_IT_BACKEND=%s: expected sqlite or postgres",
                   backend);
  return true;
}

const char *it_backend_name(void) {
  return it_postgres_mode() ? "postgres+redis" : "sqlite+memory";
}

/* ---- tests/services.sh -------------------------------------------------- */

static bool services_path(char path[512]) {
  const char *src = getenv("BOXOFFICE_SOURCE_DIR");
  if (!src || !*src)
    return false;
  snprintf(path, 512, "%s/tests/services.sh", src);
  return access(path, X_OK) == 0;
}

/* Runs `services.sh VERB DIR`; its first line of output goes to `out`.
 * Returns the exit status (-1: could not run it). Never asserts: the guard
 * uses it too. Only async-signal-safe calls between fork and exec, since a
 * test may have other threads running. */
static int run_services(const char *script, const char *verb, const char *dir,
                        char *out, size_t out_size) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return -1;
  const char *argv[] = {script, verb, dir, NULL};
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0)
      _exit(127);
    /* No test sockets or pipes in the daemons it starts. */
    close_range(3, ~0U, 0);
    execv(script, (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  char buf[1024];
  size_t len = 0;
  ssize_t n;
  while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    len += (size_t)n;
    if (len == sizeof buf - 1) /* more than a URL: drain and ignore */
      len = 0;
  }
  close(p[0]);
  buf[len] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  if (out && out_size > 0) {
    size_t keep = strlen(buf) < out_size ? strlen(buf) : out_size - 1;
    memcpy(out, buf, keep);
    out[keep] = '\0';
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The same for a test: asserts success and returns the printed line. */
static void services(const char *verb, const char *dir, char *out,
                     size_t out_size) {
  char script[512];
  cr_assert(services_path(script),
            "tests/services.sh not found: BOXOFFICE_SOURCE_DIR=%s (ctest "
            "sets it)",
            getenv("BOXOFFICE_SOURCE_DIR") ? getenv("BOXOFFICE_SOURCE_DIR")
                                           : "(unset)");
  char line[1024];
  int rc = run_services(script, verb, dir, line, sizeof line);
  cr_assert_eq(rc, 0,
               "tests/services.sh %s %s exited %d (its messages are "
               "above)",
               verb, dir, rc);
  if (out) {
    cr_assert_lt(strlen(line), out_size, "services.sh printed too much: %s",
                 line);
    memcpy(out, line, strlen(line) + 1);
  }
}

/* ---- PostgreSQL databases ----------------------------------------------- */

/* Runs one statement in the database at `url`; on failure writes why. */
static bool pg_exec(const char *url, const char *sql, char *why,
                    size_t why_size) {
  char conninfo[600];
  /* A database that does not answer must not hang the test or the guard. */
  snprintf(conninfo, sizeof conninfo, "%s%sconnect_timeout=10", url,
           strchr(url, '?') ? "&" : "?");
  PGconn *conn = PQconnectdb(conninfo);
  bool ok = false;
  if (PQstatus(conn) != CONNECTION_OK) {
    snprintf(why, why_size, "connect: %s", PQerrorMessage(conn));
  } else {
    PGresult *res = PQexec(conn, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
      snprintf(why, why_size, "%s", PQresultErrorMessage(res));
    PQclear(res);
  }
  PQfinish(conn);
  return ok;
}

/* `admin`'s URL with its database name replaced by `name`. */
static void database_url(const char *admin, const char *name, char *out,
                         size_t out_size) {
  const char *authority = strstr(admin, "://");
  cr_assert_not_null(authority, "BOXOFFICE_TEST_PG=%s is not a URL", admin);
  authority += 3;
  const char *query = strchr(authority, '?');
  const char *path = strchr(authority, '/');
  if (!query)
    query = admin + strlen(admin);
  if (!path || path > query)
    path = query;
  snprintf(out, out_size, "%.*s/%s%s", (int)(path - admin), admin, name, query);
}

static void create_database(struct it_store *st) {
  const char *admin = getenv("BOXOFFICE_TEST_PG");
  cr_assert(admin && *admin,
            "BOXOFFICE_IT_BACKEND=postgres needs BOXOFFICE_TEST_PG; run the "
            "test through tests/services.sh run");
  static unsigned counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(st->db_name, sizeof st->db_name, "it_%ld_%u_%lx", (long)getpid(),
           ++counter, (unsigned long)ts.tv_nsec);
  /* Noted before it exists, so that a death half-way still drops it. */
  it_guard_note("db %s %s", st->db_name, admin);
  char sql[128], why[512];
  snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", st->db_name);
  cr_assert(pg_exec(admin, sql, why, sizeof why), "%s: %s", sql, why);
  database_url(admin, st->db_name, st->db_url, sizeof st->db_url);
}

/* ---- Stores ------------------------------------------------------------- */

static struct it_store *new_store(void) {
  cr_assert_lt(store_count, IT_MAX_STORES, "too many stores in one test");
  struct it_store *st = calloc(1, sizeof *st);
  cr_assert_not_null(st);
  stores[store_count++] = st;
  it_make_scratch_dir(st->dir);
  return st;
}

static void start_redis(struct it_store *st) {
  snprintf(st->redis_dir, sizeof st->redis_dir, "%s/redis", st->dir);
  it_guard_note("redis %s", st->redis_dir);
  services("start-redis", st->redis_dir, st->queue_url, sizeof st->queue_url);
}

struct it_store *it_store_new(void) {
  struct it_store *st = new_store();
  if (!it_postgres_mode()) {
    snprintf(st->db_url, sizeof st->db_url, "sqlite:%s/boxoffice.db", st->dir);
    snprintf(st->queue_url, sizeof st->queue_url, "memory");
    return st;
  }
  create_database(st);
  start_redis(st);
  return st;
}

struct it_store *it_store_private(void) {
  cr_assert(it_postgres_mode(), "it_store_private needs the postgres mode");
  struct it_store *st = new_store();
  /* PostgreSQL runs as an unprivileged user when the test runs as root; it
   * must be able to reach its folder. */
  cr_assert_eq(chmod(st->dir, 0755), 0, "chmod %s: %s", st->dir,
               strerror(errno));
  snprintf(st->pg_dir, sizeof st->pg_dir, "%s/pg", st->dir);
  it_guard_note("pg %s", st->pg_dir);
  services("start-pg", st->pg_dir, st->db_url, sizeof st->db_url);
  start_redis(st);
  return st;
}

void it_store_stop_pg(struct it_store *st) {
  cr_assert(st->pg_dir[0], "not a store with a cluster of its own");
  services("stop-pg", st->pg_dir, NULL, 0);
}

void it_store_crash_pg(struct it_store *st) {
  cr_assert(st->pg_dir[0], "not a store with a cluster of its own");
  services("crash-pg", st->pg_dir, NULL, 0);
}

void it_store_start_pg(struct it_store *st) {
  cr_assert(st->pg_dir[0], "not a store with a cluster of its own");
  char url[300];
  services("start-pg", st->pg_dir, url, sizeof url);
  cr_assert_str_eq(url, st->db_url,
                   "PostgreSQL came back on another address (its port was "
                   "taken meanwhile), so the servers cannot find it");
}

void it_store_stop_redis(struct it_store *st) {
  cr_assert(st->redis_dir[0], "not a store with a Redis of its own");
  services("stop-redis", st->redis_dir, NULL, 0);
}

void it_store_start_redis(struct it_store *st) {
  cr_assert(st->redis_dir[0], "not a store with a Redis of its own");
  char url[128];
  services("start-redis", st->redis_dir, url, sizeof url);
  cr_assert_str_eq(url, st->queue_url,
                   "Redis came back on another address (its port was taken "
                   "meanwhile), so the servers cannot find it");
}

void it_stores_free(void) {
  for (size_t i = 0; i < store_count; i++)
    free(stores[i]);
  store_count = 0;
}

/* ---- The guard ---------------------------------------------------------- */

static int guard_fd = -1;      /* write end: what to undo */
static int guard_done_fd = -1; /* read end: EOF once the guard has finished */

enum { GUARD_IN = 3, GUARD_DONE = 4 };

/* Undoes every noted thing of `kind`; the rest of each line is its
 * argument. */
static void guard_undo(char **notes, size_t n, const char *kind,
                       const char *script) {
  size_t kind_len = strlen(kind);
  for (size_t i = n; i-- > 0;) {
    if (strncmp(notes[i], kind, kind_len) != 0 || notes[i][kind_len] != ' ')
      continue;
    char *arg = notes[i] + kind_len + 1;
    if (strcmp(kind, "db") == 0) {
      char *url = strchr(arg, ' ');
      if (!url)
        continue;
      *url++ = '\0';
      char sql[128], why[512];
      snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)",
               arg);
      /* After a death the cluster may already be going away with
       * services.sh run: then there is nothing left to drop. */
      if (!pg_exec(url, sql, why, sizeof why) && !strstr(why, "connect"))
        fprintf(stderr, "it guard: %s: %s", sql, why);
    } else if (strcmp(kind, "dir") == 0) {
      it_remove_tree(arg);
    } else if (script[0]) {
      char verb[16];
      snprintf(verb, sizeof verb, "stop-%s", kind);
      if (run_services(script, verb, arg, NULL, 0) != 0)
        fprintf(stderr, "it guard: services.sh %s %s failed\n", verb, arg);
    }
  }
}

static void guard_main(void) {
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  char script[512];
  if (!services_path(script))
    script[0] = '\0';

  size_t len = 0, cap = 4096;
  char *text = malloc(cap);
  ssize_t n;
  while (text && (n = read(GUARD_IN, text + len, cap - len - 1)) != 0) {
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    len += (size_t)n;
    if (cap - len - 1 == 0) {
      char *bigger = realloc(text, cap * 2);
      if (!bigger)
        break;
      text = bigger;
      cap *= 2;
    }
  }
  if (!text)
    _exit(1);
  text[len] = '\0';

  char **notes = calloc(len / 2 + 2, sizeof *notes);
  size_t count = 0;
  bool clean = false;
  for (char *line = strtok(text, "\n"); line && notes;
       line = strtok(NULL, "\n")) {
    if (strcmp(line, "bye") == 0)
      clean = true;
    else
      notes[count++] = line;
  }
  if (!notes)
    _exit(1);
  /* Databases first, while nothing else has changed; then the servers;
   * folders only when the test could not remove them itself. */
  guard_undo(notes, count, "db", script);
  guard_undo(notes, count, "redis", script);
  guard_undo(notes, count, "pg", script);
  if (!clean) {
    if (getenv("BOXOFFICE_IT_KEEP"))
      fprintf(stderr, "it guard: the test died; its folders are kept\n");
    else
      guard_undo(notes, count, "dir", script);
  }
  /* _exit: no atexit handlers or sanitizer leak reports of the copy of the
   * test process this is. GUARD_DONE closes with it. */
  _exit(0);
}

void it_guard_start(void) {
  int in[2], done[2];
  cr_assert_eq(pipe2(in, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
  cr_assert_eq(pipe2(done, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
  pid_t middle = fork();
  cr_assert_neq(middle, -1, "fork: %s", strerror(errno));
  if (middle == 0) {
    if (fork() != 0)
      _exit(0); /* the guard is reparented at once */
    setsid();
    int a = fcntl(in[0], F_DUPFD_CLOEXEC, 10);
    int b = fcntl(done[1], F_DUPFD_CLOEXEC, 10);
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (a < 0 || b < 0 || nul < 0 || dup3(a, GUARD_IN, O_CLOEXEC) < 0 ||
        dup3(b, GUARD_DONE, O_CLOEXEC) < 0 || dup2(nul, 0) < 0 ||
        dup2(nul, 1) < 0)
      _exit(1);
    /* Only its pipes and stderr: no test sockets, no Criterion channels. */
    close_range(GUARD_DONE + 1, ~0U, 0);
    guard_main();
  }
  close(in[0]);
  close(done[1]);
  int status;
  while (waitpid(middle, &status, 0) < 0 && errno == EINTR)
    ;
  guard_fd = in[1];
  guard_done_fd = done[0];
}

void it_guard_note(const char *fmt, ...) {
  cr_assert_geq(guard_fd, 0, "the guard is not running (it_setup not run?)");
  char line[700];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  cr_assert(n > 0 && (size_t)n < sizeof line - 1, "guard note too long");
  line[n++] = '\n';
  /* Under PIPE_BUF, so one write is atomic and complete. */
  cr_assert_eq(write(guard_fd, line, (size_t)n), n, "guard: %s",
               strerror(errno));
}

void it_guard_finish(void) {
  if (guard_fd < 0)
    return;
  ssize_t w = write(guard_fd, "bye\n", 4);
  (void)w;
  close(guard_fd);
  guard_fd = -1;
  struct pollfd p = {.fd = guard_done_fd, .events = POLLIN};
  int64_t deadline = it_now_ms() + IT_GUARD_WAIT_MS;
  char c;
  for (;;) {
    int left = (int)(deadline - it_now_ms());
    if (left <= 0) {
      fprintf(stderr, "it: the guard did not finish within %d s\n",
              IT_GUARD_WAIT_MS / 1000);
      break;
    }
    int r = poll(&p, 1, left);
    if (r == 0 || (r < 0 && errno == EINTR))
      continue;
    if (r < 0 || read(guard_done_fd, &c, 1) <= 0)
      break;
  }
  close(guard_done_fd);
  guard_done_fd = -1;
}
