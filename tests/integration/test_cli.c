/* The command line: --help, --version, settings that must stop start-up
 * with a message naming them, `migrate`, `serve --demo`, and a clean exit
 * on SIGTERM. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

TestSuite(cli, .init = it_setup, .fini = it_teardown);

static const char *const variables[] = {
    "BOXOFFICE_LISTEN",      "BOXOFFICE_DB",
    "BOXOFFICE_QUEUE",       "BOXOFFICE_HOLD_SECONDS",
    "BOXOFFICE_ACTIVE_MAX",  "BOXOFFICE_ACTIVE_SECONDS",
    "BOXOFFICE_ADMIN_TOKEN",
};

Test(cli, help_names_commands_and_settings, .timeout = 30) {
  char *out;
  int code =
      it_run((const char *const[]){"--help", NULL}, NULL, 5000, &out, NULL);
  cr_assert_eq(code, 0, "--help exited %d: %s", code, out);
  cr_assert_not_null(strstr(out, "serve"), "--help: no \"serve\": %s", out);
  cr_assert_not_null(strstr(out, "migrate"), "--help: no \"migrate\": %s", out);
  for (size_t i = 0; i < sizeof variables / sizeof *variables; i++)
    cr_assert_not_null(strstr(out, variables[i]), "--help does not mention %s",
                       variables[i]);
  free(out);
}

Test(cli, version_prints_a_version, .timeout = 30) {
  char *out;
  int code =
      it_run((const char *const[]){"--version", NULL}, NULL, 5000, &out, NULL);
  cr_assert_eq(code, 0, "--version exited %d: %s", code, out);
  /* Some "N.N" in the output; the number itself is the build's business. */
  bool dotted = false;
  for (const char *p = out; *p && !dotted; p++)
    dotted =
        p[0] >= '0' && p[0] <= '9' && p[1] == '.' && p[2] >= '0' && p[2] <= '9';
  cr_assert(dotted, "--version printed no version: «%s»", out);
  free(out);
}

/* `serve` with one bad setting must exit non-zero (not serve), and say
 * which setting: by its variable or its flag, case aside. */
static void expect_refused(const char *const *argv, const char *env_setting,
                           const char *variable, const char *flag) {
  char listen[64];
  snprintf(listen, sizeof listen, "BOXOFFICE_LISTEN=127.0.0.1:%d",
           it_free_port());
  /* The setting under test first: with a name twice, getenv takes the
   * first. */
  const char *env[] = {env_setting ? env_setting : listen, listen, NULL};
  char *out;
  int code = it_run(argv, env, 5000, &out, NULL);
  const char *what = env_setting ? env_setting : argv[1];
  cr_assert_neq(code, -1, "%s: still running after 5 s", what);
  cr_assert_neq(code, 0, "%s: exited 0", what);
  cr_assert_lt(code, 128, "%s: died of signal %d: %s", what, code - 128, out);
  cr_assert(strcasestr(out, variable) || strcasestr(out, flag),
            "%s: the message names neither %s nor %s: «%s»", what, variable,
            flag, out);
  free(out);
}

Test(cli, bad_settings_stop_startup, .timeout = 60) {
  const char *const serve[] = {"serve", NULL};
  expect_refused(serve, "BOXOFFICE_HOLD_SECONDS=abc", "BOXOFFICE_HOLD_SECONDS",
                 "hold-seconds");
  expect_refused(serve, "BOXOFFICE_HOLD_SECONDS=10abc",
                 "BOXOFFICE_HOLD_SECONDS", "hold-seconds");
  expect_refused(serve, "BOXOFFICE_HOLD_SECONDS=-5", "BOXOFFICE_HOLD_SECONDS",
                 "hold-seconds");
  expect_refused(serve, "BOXOFFICE_ACTIVE_MAX=99999999999999999999",
                 "BOXOFFICE_ACTIVE_MAX", "active-max");
  expect_refused(serve, "BOXOFFICE_ACTIVE_SECONDS=1.5",
                 "BOXOFFICE_ACTIVE_SECONDS", "active-seconds");
  expect_refused(serve, "BOXOFFICE_THREADS=0", "BOXOFFICE_THREADS", "threads");
  expect_refused(serve, "BOXOFFICE_QUEUE=carrier-pigeon", "BOXOFFICE_QUEUE",
                 "queue");
  expect_refused(serve, "BOXOFFICE_DB=mysql://localhost/x", "BOXOFFICE_DB",
                 "--db");
  expect_refused((const char *const[]){"serve", "--active-max=0", NULL}, NULL,
                 "BOXOFFICE_ACTIVE_MAX", "active-max");
  expect_refused((const char *const[]){"serve", "--hold-seconds=x", NULL}, NULL,
                 "BOXOFFICE_HOLD_SECONDS", "hold-seconds");
  /* A bad LISTEN is refused too, here with the env's valid one overridden
   * by a flag: flags beat variables. */
  expect_refused(
      (const char *const[]){"serve", "--listen=127.0.0.1:99999", NULL}, NULL,
      "BOXOFFICE_LISTEN", "listen");
}

Test(cli, unknown_commands_and_flags_fail, .timeout = 30) {
  const char *const *cases[] = {
      (const char *const[]){"frobnicate", NULL},
      (const char *const[]){"serve", "--frobnicate", NULL},
  };
  for (size_t i = 0; i < 2; i++) {
    char *out;
    int code = it_run(cases[i], NULL, 5000, &out, NULL);
    cr_assert(code > 0 && code < 128, "%s %s: exit %d, output «%s»",
              cases[i][0], cases[i][1] ? cases[i][1] : "", code, out);
    cr_assert_not_null(strcasestr(out, "frobnicate"),
                       "the message does not name what was wrong: «%s»", out);
    free(out);
  }
}

Test(cli, migrate_a_fresh_database, .timeout = 30) {
  char dir[256], db[300], *out;
  int code = it_run((const char *const[]){"migrate", NULL},
                    (const char *const[]){"BOXOFFICE_DB=sqlite:fresh.db", NULL},
                    10000, &out, dir);
  cr_assert_eq(code, 0, "migrate exited %d: %s", code, out);
  free(out);
  snprintf(db, sizeof db, "%s/fresh.db", dir);
  struct stat st;
  cr_assert_eq(stat(db, &st), 0, "migrate did not create %s", db);
  cr_assert_gt(st.st_size, 0);

  /* Migrating an up-to-date database again is a no-op, not an error. */
  char setting[320];
  snprintf(setting, sizeof setting, "BOXOFFICE_DB=sqlite:%s", db);
  code = it_run((const char *const[]){"migrate", NULL},
                (const char *const[]){setting, NULL}, 10000, &out, NULL);
  cr_assert_eq(code, 0, "second migrate exited %d: %s", code, out);
  free(out);
}

Test(cli, migrate_a_fresh_postgres_database, .timeout = 60) {
  if (!it_postgres_mode())
    cr_skip_test("needs PostgreSQL: this run is %s", it_backend_name());
  struct it_store *st = it_store_new();
  char setting[320], *out;
  snprintf(setting, sizeof setting, "BOXOFFICE_DB=%s", st->db_url);
  for (int round = 1; round <= 2; round++) {
    /* The second time the database is up to date: a no-op, not an error. */
    int code = it_run((const char *const[]){"migrate", NULL},
                      (const char *const[]){setting, NULL}, 30000, &out, NULL);
    cr_assert_eq(code, 0, "migrate #%d exited %d: %s", round, code, out);
    free(out);
  }
  /* And a server starts on what migrate made. */
  it_assert_alive(it_server_start_on(st, NULL));
}

static size_t concert_count(const struct it_server *s) {
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts");
  it_assert_status(&r, 200);
  size_t n = it_item_count(&r);
  for (size_t i = 0; i < n; i++) {
    cr_assert_gt(it_jint(it_item(&r, i), "concertId"), 0);
    cr_assert_gt(strlen(it_jstr(it_item(&r, i), "name")), 0);
  }
  it_response_free(&r);
  return n;
}

Test(cli, serve_demo_then_sigterm, .timeout = 60) {
  struct it_server *s = it_server_start(&(struct it_server_opts){.demo = true});
  size_t concerts = concert_count(s);
  cr_assert_gt(concerts, 0, "serve --demo loaded no concerts");

  /* The demo's first concert has bookable future dates of 50 seats. */
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts");
  json_int_t concert = it_jint(it_item(&r, 0), "concertId");
  char *token;
  it_new_booker(s, "visitor", &token);
  it_call(s, &r, "GET", token, NULL, "/api/v1/concerts/%lld/schedules",
          (long long)concert);
  it_assert_status(&r, 200);
  cr_assert_gt(it_item_count(&r), 0, "demo concert without bookable dates");
  json_t *first = it_item(&r, 0);
  cr_assert_eq(it_jint(first, "totalSeats"), 50);
  int64_t when;
  cr_assert(it_parse_time(it_jstr(first, "startsAt"), &when));
  cr_assert_gt(when, (int64_t)time(NULL));

  int status = it_server_stop(s);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM: %s %d",
            WIFEXITED(status) ? "exit" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));

  /* The database is no longer empty: a second --demo adds nothing. */
  it_server_restart(s);
  cr_assert_eq(concert_count(s), concerts);
  it_response_free(&r);
  free(token);
}

Test(cli, sigterm_exits_0, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  /* An open keep-alive connection must not keep the server from ending. */
  struct it_response r = {0};
  it_call(s, &r, "GET", NULL, NULL, "/api/v1/concerts");
  it_assert_status(&r, 200);
  int status = it_server_stop(s);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM: %s %d",
            WIFEXITED(status) ? "exit" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  it_response_free(&r);
}
