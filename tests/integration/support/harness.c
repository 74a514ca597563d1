/* Server processes for the end-to-end tests: start, watch, crash, restart,
 * stop, and the scratch folders they live in.
 *
 * Why these choices:
 *  - Each server gets its own mkdtemp folder (its log, and its cwd) and its
 *    own port, because Criterion runs two tests at once and each starts
 *    servers. What it stores lives in its `struct it_store` (services.c).
 *  - The port comes from binding port 0 and closing it. Another process can
 *    grab it in between, so a server that says "cannot listen" during
 *    start-up is started again on a new port (three attempts). Any other
 *    exit during start-up fails the test at once: a retry would hide a
 *    start-up bug (migrations racing between instances, say).
 *  - The child runs with PR_SET_PDEATHSIG: if the test process dies (a
 *    Criterion timeout kills it), its servers die too instead of lingering.
 *    The signal follows the thread that forked, so servers are started from
 *    the test's main thread only (which the header demands anyway).
 *  - Server output goes to a log file in the folder; it is printed when a
 *    start fails or the server ends badly, and kept when BOXOFFICE_IT_KEEP
 *    is set. */
#include "support/harness.h"

#include "support/internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define IT_MAX_SERVERS 8
#define IT_MAX_DIRS 32
/* Generous: under ASan, with migrations of a fresh PostgreSQL database and
 * three instances starting at once, start-up takes a few seconds. */
#define IT_START_TIMEOUT_MS 30000
#define IT_STOP_TIMEOUT_MS 10000

/* What this test process started; only the main thread touches these. */
static struct it_server *servers[IT_MAX_SERVERS];
static size_t server_count;
static char *scratch_dirs[IT_MAX_DIRS];
static size_t scratch_count;

/* ---- Folders and files -------------------------------------------------- */

/* $TMPDIR if set, else /dev/shm when there is one: SQLite's fsyncs cost
 * nothing on tmpfs, which makes the suite several times faster, and what
 * the crash tests check (kill -9 of the process, not a power cut) holds
 * there just the same. */
static const char *scratch_base(void) {
  const char *tmp = getenv("TMPDIR");
  if (tmp && *tmp)
    return tmp;
  return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

void it_make_scratch_dir(char dir[256]) {
  snprintf(dir, 256, "%s/boxoffice-it-XXXXXX", scratch_base());
  cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
  cr_assert_lt(scratch_count, IT_MAX_DIRS, "too many scratch folders");
  scratch_dirs[scratch_count++] = strdup(dir);
  it_guard_note("dir %s", dir);
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
                        struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

void it_remove_tree(const char *dir) {
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The whole file, NUL-terminated (malloc'd), or NULL. */
static char *read_file(const char *path, size_t *len_out) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len - 1 == 0) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf)
    buf[len] = '\0';
  if (len_out)
    *len_out = len;
  return buf;
}

/* The server's log on stderr, for a failure's post-mortem: its beginning
 * (start-up: which database, which queue, what failed first) and its end. */
static void print_log(const struct it_server *s, const char *why) {
  size_t len = 0;
  char *log = read_file(s->log_path, &len);
  const size_t head = 3072, tail = 6144;
  if (log && len > head + tail)
    fprintf(stderr,
            "---- boxoffice log (%s), %s ----\n%.*s\n[... %zu bytes ...]\n"
            "%s\n---- end of log ----\n",
            s->log_path, why, (int)head, log, len - head - tail,
            log + len - tail);
  else
    fprintf(stderr,
            "---- boxoffice log (%s), %s ----\n%s\n---- end of log ----\n",
            s->log_path, why, log ? log : "(unreadable)");
  free(log);
}

/* ---- Processes ---------------------------------------------------------- */

static const char *binary(void) {
  const char *bin = getenv("BOXOFFICE_BIN");
  cr_assert(bin && *bin, "BOXOFFICE_BIN is not set (ctest sets it)");
  cr_assert_eq(access(bin, X_OK), 0, "BOXOFFICE_BIN=%s: %s", bin,
               strerror(errno));
  return bin;
}

/* The test's environment without BOXOFFICE_* (so a developer's shell cannot
 * change what a test means), plus `extra`. The array is malloc'd; the
 * strings are borrowed. */
static char **child_env(const char *const *extra) {
  size_t n = 0, m = 0;
  while (environ[n])
    n++;
  while (extra && extra[m])
    m++;
  char **env = calloc(n + m + 1, sizeof *env);
  cr_assert_not_null(env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "BOXOFFICE_", 10) != 0)
      env[k++] = environ[i];
  for (size_t i = 0; i < m; i++)
    env[k++] = (char *)extra[i];
  return env;
}

/* fork + execve with stdout and stderr appended to `log_path`. */
static pid_t spawn(const char *const *argv, char **env, const char *log_path,
                   const char *cwd) {
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
  if (pid > 0)
    return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) /* the test died before prctl took effect */
    _exit(127);
  int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  int nul = open("/dev/null", O_RDONLY);
  if (log < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(log, 1) < 0 ||
      dup2(log, 2) < 0)
    _exit(127);
  /* Do not leak the test's sockets (curl connections) into the server. */
  close_range(3, ~0U, 0);
  if (cwd && chdir(cwd) != 0)
    _exit(127);
  execve(argv[0], (char *const *)argv, env);
  dprintf(2, "it: execve %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

/* Waits up to `timeout_ms` for the child; returns its waitpid status, or -1
 * if it is still running. */
static int wait_exit(pid_t pid, int timeout_ms) {
  int64_t deadline = it_now_ms() + timeout_ms;
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0 && errno != EINTR)
      return -1;
    if (it_now_ms() >= deadline)
      return -1;
    it_sleep_ms(10);
  }
}

static int kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return status;
}

int it_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0, "bind: %s",
               strerror(errno));
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

static bool running(struct it_server *s) {
  if (s->pid == 0)
    return false;
  int status;
  if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
    s->pid = 0;
    s->ended_badly = true;
    print_log(s, WIFSIGNALED(status) ? "the server died of a signal"
                                     : "the server exited");
    return false;
  }
  return true;
}

/* ---- Servers ------------------------------------------------------------ */

enum start_outcome { STARTED, EXITED, HUNG };

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Whether the attempt that just ended failed on its port (another process
 * took it between it_free_port and the server's bind): the server's log
 * since the attempt began says "cannot listen". */
static bool lost_its_port(const struct it_server *s) {
  size_t len = 0;
  char *log = read_file(s->log_path, &len);
  bool lost = log && (long)len >= s->log_offset &&
              strstr(log + s->log_offset, "cannot listen");
  free(log);
  return lost;
}

/* The first half of an attempt: a fresh port, spawn. */
static void spawn_server(struct it_server *s) {
  s->port = it_free_port();
  snprintf(s->base_url, sizeof s->base_url, "http://127.0.0.1:%d", s->port);
  s->log_offset = file_size(s->log_path);

  char listen[64], db[320], queue[160], hold[64], amax[64], asec[64],
      threads[64], admin[128];
  const char *vars[32];
  size_t n = 0;
  snprintf(listen, sizeof listen, "BOXOFFICE_LISTEN=127.0.0.1:%d", s->port);
  snprintf(db, sizeof db, "BOXOFFICE_DB=%s", s->store->db_url);
  snprintf(queue, sizeof queue, "BOXOFFICE_QUEUE=%s", s->store->queue_url);
  vars[n++] = listen;
  vars[n++] = db;
  vars[n++] = queue;
  if (s->opts.hold_seconds) {
    snprintf(hold, sizeof hold, "BOXOFFICE_HOLD_SECONDS=%lld",
             (long long)s->opts.hold_seconds);
    vars[n++] = hold;
  }
  if (s->opts.active_max) {
    snprintf(amax, sizeof amax, "BOXOFFICE_ACTIVE_MAX=%lld",
             (long long)s->opts.active_max);
    vars[n++] = amax;
  }
  if (s->opts.active_seconds) {
    snprintf(asec, sizeof asec, "BOXOFFICE_ACTIVE_SECONDS=%lld",
             (long long)s->opts.active_seconds);
    vars[n++] = asec;
  }
  if (s->opts.threads) {
    snprintf(threads, sizeof threads, "BOXOFFICE_THREADS=%lld",
             (long long)s->opts.threads);
    vars[n++] = threads;
  }
  if (!s->opts.no_admin) {
    snprintf(admin, sizeof admin, "BOXOFFICE_ADMIN_TOKEN=%s", IT_ADMIN_SECRET);
    vars[n++] = admin;
  }
  for (size_t i = 0; s->opts.env && s->opts.env[i]; i++) {
    cr_assert_lt(n, sizeof vars / sizeof vars[0] - 1, "too many opts.env");
    vars[n++] = s->opts.env[i];
  }
  vars[n] = NULL;

  const char *argv[] = {binary(), "serve", s->opts.demo ? "--demo" : NULL,
                        NULL};
  char **env = child_env(vars);
  s->pid = spawn(argv, env, s->log_path, s->dir);
  free(env);
}

/* The second half: poll /healthz until 200, the process exits, or the
 * start-up deadline passes (then it is killed). */
static enum start_outcome await_server(struct it_server *s) {
  /* A client of its own: a fresh connection cache for a fresh server. */
  struct it_client *c = it_client_new();
  struct it_response r = {0};
  enum start_outcome outcome = HUNG;
  int64_t deadline = it_now_ms() + IT_START_TIMEOUT_MS;
  while (it_now_ms() < deadline) {
    int status;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
      s->pid = 0;
      outcome = EXITED;
      break;
    }
    /* A short timeout: a server that accepts but never answers must not
     * outlast the start-up deadline. */
    it_request_on(
        c, s, &(struct it_request){.path = "/healthz", .timeout_ms = 2000}, &r);
    if (r.status == 200) {
      /* Make sure it was our server that answered, not another test's
       * that got the same port: ours would have exited on the bind. */
      it_sleep_ms(20);
      outcome = waitpid(s->pid, &status, WNOHANG) == 0 ? STARTED : EXITED;
      if (outcome == EXITED)
        s->pid = 0;
      break;
    }
    it_sleep_ms(r.status == 0 ? 20 : 100);
  }
  it_response_free(&r);
  it_client_free(c);
  if (outcome == HUNG) {
    kill_and_reap(s->pid);
    s->pid = 0;
  }
  return outcome;
}

/* The end of a file of the store's (its Redis log, say), if it has one. */
static void print_store_file(const char *dir, const char *name) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t len = 0;
  char *text = read_file(path, &len);
  if (!text)
    return;
  const size_t tail = 3072;
  fprintf(stderr, "---- %s ----\n%s\n---- end of %s ----\n", path,
          len > tail ? text + len - tail : text, name);
  free(text);
}

static void fail_start(struct it_server *s, enum start_outcome outcome) {
  print_log(s, outcome == HUNG ? "no /healthz 200 within the start-up time"
                               : "it exited during start-up");
  fprintf(stderr, "it: BOXOFFICE_DB=%s BOXOFFICE_QUEUE=%s\n", s->store->db_url,
          s->store->queue_url);
  if (s->store->redis_dir[0])
    print_store_file(s->store->redis_dir, "redis.log");
  if (s->store->pg_dir[0])
    print_store_file(s->store->pg_dir, "server.log");
  cr_assert_fail("boxoffice did not start on %s (%s); its log is above",
                 it_backend_name(),
                 outcome == HUNG ? "no /healthz 200" : "it exited");
}

/* Attempts until one starts or fails for another reason than its port. */
static void start(struct it_server *s) {
  enum start_outcome outcome = EXITED;
  for (int attempt = 0; attempt < 3; attempt++) {
    spawn_server(s);
    outcome = await_server(s);
    if (outcome != EXITED || !lost_its_port(s))
      break;
  }
  if (outcome != STARTED)
    fail_start(s, outcome);
}

static struct it_server *new_server(struct it_store *st,
                                    const struct it_server_opts *opts) {
  cr_assert_lt(server_count, IT_MAX_SERVERS, "too many servers in one test");
  struct it_server *s = calloc(1, sizeof *s);
  cr_assert_not_null(s);
  if (opts)
    s->opts = *opts;
  s->store = st;
  it_make_scratch_dir(s->dir);
  snprintf(s->db_url, sizeof s->db_url, "%s", st->db_url);
  snprintf(s->log_path, sizeof s->log_path, "%s/server.log", s->dir);
  servers[server_count++] = s;
  return s;
}

struct it_server *it_server_start_on(struct it_store *st,
                                     const struct it_server_opts *opts) {
  struct it_server *s = new_server(st, opts);
  start(s);
  return s;
}

struct it_server *it_server_start(const struct it_server_opts *opts) {
  return it_server_start_on(it_store_new(), opts);
}

void it_servers_start_on(struct it_store *st, const struct it_server_opts *opts,
                         size_t n, struct it_server **out) {
  for (size_t i = 0; i < n; i++) {
    out[i] = new_server(st, opts);
    spawn_server(out[i]);
  }
  for (size_t i = 0; i < n; i++) {
    enum start_outcome outcome = await_server(out[i]);
    if (outcome == EXITED && lost_its_port(out[i]))
      start(out[i]);
    else if (outcome != STARTED)
      fail_start(out[i], outcome);
  }
}

int it_server_stop(struct it_server *s) {
  if (!running(s))
    return -1;
  kill(s->pid, SIGTERM);
  int status = wait_exit(s->pid, IT_STOP_TIMEOUT_MS);
  if (status == -1) {
    print_log(s, "SIGTERM did not stop it within 10 s");
    status = kill_and_reap(s->pid);
  }
  s->pid = 0;
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    s->ended_badly = true;
  return status;
}

void it_server_kill9(struct it_server *s) {
  cr_assert(running(s), "the server was not running before kill -9");
  kill_and_reap(s->pid);
  s->pid = 0;
}

void it_server_restart(struct it_server *s) {
  cr_assert_eq(s->pid, 0, "restart of a running server");
  start(s);
}

void it_assert_running(struct it_server *s) {
  cr_assert(running(s), "the server is no longer running (log above)");
}

void it_assert_alive(struct it_server *s) {
  cr_assert(running(s), "the server is no longer running (log above)");
  struct it_response r = {0};
  it_send(s, &(struct it_request){.path = "/healthz"}, &r);
  it_assert_status(&r, 200);
  it_response_free(&r);
}

/* ---- One-off runs (CLI) ------------------------------------------------- */

int it_run(const char *const *argv, const char *const *env, int timeout_ms,
           char **output, char dir_out[256]) {
  char dir[256], out_path[300];
  it_make_scratch_dir(dir);
  snprintf(out_path, sizeof out_path, "%s/output.txt", dir);

  size_t argc = 0;
  while (argv[argc])
    argc++;
  const char **full = calloc(argc + 2, sizeof *full);
  cr_assert_not_null(full);
  full[0] = binary();
  for (size_t i = 0; i < argc; i++)
    full[i + 1] = argv[i];
  char **envp = child_env(env);
  pid_t pid = spawn(full, envp, out_path, dir);
  free(envp);
  free(full);

  int status = wait_exit(pid, timeout_ms);
  int code;
  if (status == -1) {
    kill_and_reap(pid);
    code = -1;
  } else if (WIFEXITED(status)) {
    code = WEXITSTATUS(status);
  } else {
    code = 128 + WTERMSIG(status);
  }
  char *text = read_file(out_path, NULL);
  *output = text ? text : strdup("");
  if (dir_out)
    memcpy(dir_out, dir, sizeof dir);
  return code;
}

/* ---- Fixtures ----------------------------------------------------------- */

/* Criterion 2.4.1's runner process sometimes leaks a little of its own
 * bookkeeping when it runs tests in parallel (--jobs 2), and under ASan
 * LeakSanitizer then fails the whole binary after every test passed. The
 * runner runs no test code: each test is a process of its own, which
 * BoxFort marks with BXFI_MAP. So leaks are ignored in the runner only, and
 * those of the tests and of this harness are still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
  return getenv("BXFI_MAP") ? "" : "leak:libcriterion.so\n";
}

void it_setup(void) {
  /* Writing to a connection the server closed must be an error, not death. */
  signal(SIGPIPE, SIG_IGN);
  cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  it_guard_start();
}

/* A sanitizer's report in the server's log (all its starts): a data race,
 * a memory error, a leak, undefined behaviour. */
static const char *sanitizer_report(const struct it_server *s) {
  static const char *const marks[] = {"ThreadSanitizer", "AddressSanitizer",
                                      "LeakSanitizer", "runtime error:"};
  char *log = read_file(s->log_path, NULL);
  const char *found = NULL;
  for (size_t i = 0; log && !found && i < sizeof marks / sizeof *marks; i++)
    if (strstr(log, marks[i]))
      found = marks[i];
  free(log);
  return found;
}

void it_teardown(void) {
  size_t bad = 0;
  for (size_t i = 0; i < server_count; i++) {
    struct it_server *s = servers[i];
    int status = it_server_stop(s);
    /* A server must end cleanly on SIGTERM; anything else (a crash, a
     * sanitizer report, a hang) fails the test, even if it passed. */
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      print_log(s, "it did not exit 0 on SIGTERM");
    const char *report = sanitizer_report(s);
    if (report && !s->ended_badly)
      print_log(s, report);
    if (report || s->ended_badly) {
      fprintf(stderr, "it: FAILED: the server in %s %s%s (its log is above)\n",
              s->dir, s->ended_badly ? "ended badly" : "",
              report ? (s->ended_badly ? " and reported an error"
                                       : "reported an error")
                     : "");
      bad++;
    }
    free(s);
  }
  server_count = 0;
  /* The servers are gone: now their databases and Redis servers. */
  it_guard_finish();
  it_stores_free();
  bool keep = getenv("BOXOFFICE_IT_KEEP") != NULL;
  for (size_t i = 0; i < scratch_count; i++) {
    if (keep)
      fprintf(stderr, "it: kept %s\n", scratch_dirs[i]);
    else
      it_remove_tree(scratch_dirs[i]);
    free(scratch_dirs[i]);
  }
  scratch_count = 0;
  it_thread_done();
  curl_global_cleanup();
  if (bad > 0) {
    fprintf(stderr,
            "it: %zu server(s) ended badly or logged a sanitizer "
            "report; failing this test binary (Criterion ignores "
            "a teardown's assertions, not its crash)\n",
            bad);
    abort();
  }
}
