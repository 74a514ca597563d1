#include "support/redis_server.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* This process's server: one test's. */
static struct {
  char dir[64];
  char url[128];
  int port;
  char source[1000]; /* the source tree's top folder */
  char script[1024]; /* <source>/tests/services.sh */
} server;

static void find_services_script(void) {
  const char *source = getenv("BOXOFFICE_SOURCE_DIR");
  if (source != NULL && source[0] != '\0') {
    snprintf(server.source, sizeof server.source, "%s", source);
  } else {
    /* __FILE__ is <source>/tests/unit/support/redis_server.c */
    snprintf(server.source, sizeof server.source, "%s", __FILE__);
    for (int up = 0; up < 4; up++) {
      char *slash = strrchr(server.source, '/');
      cr_assert_not_null(slash, "set BOXOFFICE_SOURCE_DIR");
      *slash = '\0';
    }
  }
  snprintf(server.script, sizeof server.script, "%s/tests/services.sh",
           server.source);
}

/* Runs `services.sh VERB DIR`; the first line it prints goes to `out`. */
static int services(const char *verb, char *out, size_t out_size) {
  char command[sizeof server.script + 256];
  snprintf(command, sizeof command, "'%s' %s '%s'", server.script, verb,
           server.dir);
  FILE *pipe = popen(command, "r");
  cr_assert_not_null(pipe, "popen %s", command);
  char line[256] = "";
  if (fgets(line, sizeof line, pipe) == NULL)
    line[0] = '\0';
  line[strcspn(line, "\n")] = '\0';
  int rc = pclose(pipe);
  if (out != NULL)
    snprintf(out, out_size, "%s", line);
  return rc;
}

void redis_server_start(void) {
  char url[sizeof server.url];
  cr_assert_eq(services("start-redis", url, sizeof url), 0,
               "tests/services.sh start-redis failed");
  cr_assert(strncmp(url, "redis://", 8) == 0, "start-redis printed %s", url);
  const char *colon = strrchr(url, ':');
  cr_assert_not_null(colon);
  int port = atoi(colon + 1);
  cr_assert(server.port == 0 || server.port == port,
            "restarted on port %d, not %d", port, server.port);
  server.port = port;
  snprintf(server.url, sizeof server.url, "%s", url);
}

void redis_server_stop(void) {
  services("stop-redis", NULL, 0);
}

pid_t redis_server_pid(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/redis.pid", server.dir);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "no %s", path);
  long pid = 0;
  cr_assert_eq(fscanf(f, "%ld", &pid), 1);
  fclose(f);
  return (pid_t)pid;
}

void redis_server_setup(void) {
  signal(SIGPIPE, SIG_IGN);
  find_services_script();
  snprintf(server.dir, sizeof server.dir, "/tmp/bo-redisq-XXXXXX");
  cr_assert_not_null(mkdtemp(server.dir));
  redis_server_start();
}

/* The pid of this test's redis-server if it still runs, else 0. */
static pid_t running_pid(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/redis.pid", server.dir);
  FILE *f = fopen(path, "r");
  long pid = 0;
  if (f == NULL)
    return 0;
  if (fscanf(f, "%ld", &pid) != 1)
    pid = 0;
  fclose(f);
  if (pid <= 0 || kill((pid_t)pid, 0) != 0)
    return 0;
  /* Only ours: redis-server runs in its --dir. */
  char proc[64], cwd[sizeof server.dir + 1];
  snprintf(proc, sizeof proc, "/proc/%ld/cwd", pid);
  ssize_t n = readlink(proc, cwd, sizeof cwd - 1);
  if (n <= 0)
    return 0;
  cwd[n] = '\0';
  return strcmp(cwd, server.dir) == 0 ? (pid_t)pid : 0;
}

void redis_server_teardown(void) {
  if (server.dir[0] == '\0')
    return;
  /* A test may have failed while the server was stopped (SIGSTOP). */
  pid_t pid = running_pid();
  if (pid != 0)
    kill(pid, SIGCONT);
  redis_server_stop();
  /* stop-redis shuts down with redis-cli, which a password (set by a
   * test) refuses: then SIGTERM, which Redis also takes as SHUTDOWN. */
  for (int i = 0; i < 100 && (pid = running_pid()) != 0; i++) {
    kill(pid, i < 50 ? SIGTERM : SIGKILL);
    usleep(100 * 1000);
  }
  char command[128];
  snprintf(command, sizeof command, "rm -rf '%s'", server.dir);
  if (system(command) != 0)
    fprintf(stderr, "could not remove %s\n", server.dir);
}

const char *redis_server_url(void) {
  return server.url;
}

int redis_server_port(void) {
  return server.port;
}

const char *redis_server_source_dir(void) {
  return server.source;
}

redisContext *redis_server_connect(void) {
  redisContext *ctx = redisConnect("127.0.0.1", server.port);
  cr_assert(ctx != NULL && !ctx->err, "connect to the test's Redis");
  return ctx;
}

/* A reply that must be there and must not be an error. */
static redisReply *checked(redisReply *reply, const char *format) {
  cr_assert_not_null(reply);
  cr_assert_neq(reply->type, REDIS_REPLY_ERROR, "%s: %s", format, reply->str);
  return reply;
}

redisReply *direct_reply(redisContext *ctx, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  redisReply *reply = redisvCommand(ctx, format, ap);
  va_end(ap);
  return checked(reply, format);
}

void direct_ok(redisContext *ctx, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  redisReply *reply = redisvCommand(ctx, format, ap);
  va_end(ap);
  freeReplyObject(checked(reply, format));
}

long long direct_int(redisContext *ctx, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  redisReply *reply = redisvCommand(ctx, format, ap);
  va_end(ap);
  cr_assert_not_null(reply);
  cr_assert_eq(reply->type, REDIS_REPLY_INTEGER, "%s: type %d %s", format,
               reply->type, reply->type == REDIS_REPLY_ERROR ? reply->str : "");
  long long value = reply->integer;
  freeReplyObject(reply);
  return value;
}
