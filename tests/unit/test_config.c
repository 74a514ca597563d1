/* Settings: defaults, environment, flags, bounds and the messages a person
 * sees when a value is wrong. The environment is a fake (a small table per
 * test) so that tests never depend on, or change, the real one; out and err
 * are memory streams so the text can be checked. */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Criterion runs each test in its own process, so this file-level state is
 * never shared between tests. */
enum { FAKE_ENV_MAX = 16 };
static struct {
  const char *name;
  const char *value;
} fake_env[FAKE_ENV_MAX];

static const char *fake_getenv(const char *name) {
  for (size_t i = 0; i < FAKE_ENV_MAX && fake_env[i].name; i++)
    if (strcmp(fake_env[i].name, name) == 0)
      return fake_env[i].value;
  return NULL;
}

static void set_env(const char *name, const char *value) {
  for (size_t i = 0; i < FAKE_ENV_MAX; i++) {
    if (!fake_env[i].name || strcmp(fake_env[i].name, name) == 0) {
      fake_env[i].name = name;
      fake_env[i].value = value;
      return;
    }
  }
  cr_assert_fail("fake environment full");
}

struct run {
  enum bo_config_outcome outcome;
  struct bo_settings s;
  char *out;
  char *err;
};

static struct run r;

static void reset(void) {
  free(r.out);
  free(r.err);
  memset(&r, 0, sizeof r);
}

static void clear_env(void) {
  memset(fake_env, 0, sizeof fake_env);
}

static void setup(void) {
  clear_env();
  memset(&r, 0, sizeof r);
}

TestSuite(config, .init = setup, .fini = reset);

/* `args` is NULL-terminated and starts after argv[0]. Each call replaces the
 * previous result, so a test can run several command lines in a row. */
static void load_with(const char *(*env)(const char *), const char **args) {
  char *argv[64] = {"boxoffice"};
  int argc = 1;
  for (; args[argc - 1]; argc++) {
    cr_assert_lt(argc, 63, "too many arguments for the test helper");
    argv[argc] = (char *)args[argc - 1];
  }
  reset();
  size_t out_len = 0, err_len = 0;
  FILE *out = open_memstream(&r.out, &out_len);
  FILE *err = open_memstream(&r.err, &err_len);
  cr_assert(out && err);
  r.outcome = bo_config_load(argc, argv, env, &r.s, out, err);
  fclose(out);
  fclose(err);
}

#define LOAD(...) load_with(fake_getenv, (const char *[]){__VA_ARGS__, NULL})

static void expect_ok(const char *what) {
  cr_expect_eq(r.outcome, BO_CONFIG_RUN, "%s: expected RUN, err: %s", what,
               r.err);
  cr_expect_str_empty(r.err, "%s", what);
  cr_expect_str_empty(r.out, "%s", what);
}

/* The error names the setting's variable and flag, and nothing goes to out. */
static void expect_error(const char *what, const char *env, const char *flag) {
  cr_expect_eq(r.outcome, BO_CONFIG_EXIT_ERROR, "%s: expected an error", what);
  cr_expect_str_empty(r.out, "%s", what);
  cr_expect(strncmp(r.err, "boxoffice: ", 11) == 0, "%s: err: %s", what, r.err);
  if (env)
    cr_expect(strstr(r.err, env), "%s: err does not name %s: %s", what, env,
              r.err);
  if (flag)
    cr_expect(strstr(r.err, flag), "%s: err does not name %s: %s", what, flag,
              r.err);
  size_t len = strlen(r.err);
  cr_expect(len > 0 && r.err[len - 1] == '\n', "%s: one finished line", what);
}

/* ---- defaults, environment, flags ---- */

Test(config, defaults) {
  LOAD(NULL);
  expect_ok("no arguments");
  cr_expect_eq(r.s.command, BO_COMMAND_SERVE);
  cr_expect_str_eq(r.s.listen_host, "127.0.0.1");
  cr_expect_eq(r.s.listen_port, 8080);
  cr_expect_str_eq(r.s.db_url, "sqlite:boxoffice.db");
  cr_expect_str_eq(r.s.queue_url, "memory");
  cr_expect_eq(r.s.hold_seconds, 300);
  cr_expect_eq(r.s.active_max, 1000);
  cr_expect_eq(r.s.active_seconds, 600);
  cr_expect_str_empty(r.s.admin_token);
  cr_expect_eq(r.s.threads, 8);
  cr_expect_eq(r.s.max_connections, 20000);
  cr_expect_not(r.s.demo);
}

Test(config, argc_zero_is_defaults) {
  char *argv[] = {NULL};
  struct bo_settings s;
  cr_expect_eq(bo_config_load(0, argv, fake_getenv, &s, stdout, stderr),
               BO_CONFIG_RUN);
  cr_expect_eq(s.command, BO_COMMAND_SERVE);
  cr_expect_eq(s.threads, 8);
}

Test(config, environment_sets_every_setting) {
  set_env("BOXOFFICE_LISTEN", "0.0.0.0:9000");
  set_env("BOXOFFICE_DB", "postgres://bo@db/boxoffice");
  set_env("BOXOFFICE_QUEUE", "redis://127.0.0.1:6379/2");
  set_env("BOXOFFICE_HOLD_SECONDS", "60");
  set_env("BOXOFFICE_ACTIVE_MAX", "5");
  set_env("BOXOFFICE_ACTIVE_SECONDS", "120");
  set_env("BOXOFFICE_ADMIN_TOKEN", "s3cret-s3cret-s3cret");
  set_env("BOXOFFICE_THREADS", "2");
  set_env("BOXOFFICE_MAX_CONNECTIONS", "50");
  LOAD(NULL);
  expect_ok("environment");
  cr_expect_str_eq(r.s.listen_host, "0.0.0.0");
  cr_expect_eq(r.s.listen_port, 9000);
  cr_expect_str_eq(r.s.db_url, "postgres://bo@db/boxoffice");
  cr_expect_str_eq(r.s.queue_url, "redis://127.0.0.1:6379/2");
  cr_expect_eq(r.s.hold_seconds, 60);
  cr_expect_eq(r.s.active_max, 5);
  cr_expect_eq(r.s.active_seconds, 120);
  cr_expect_str_eq(r.s.admin_token, "s3cret-s3cret-s3cret");
  cr_expect_eq(r.s.threads, 2);
  cr_expect_eq(r.s.max_connections, 50);
}

Test(config, empty_environment_value_counts_as_unset) {
  set_env("BOXOFFICE_HOLD_SECONDS", "");
  set_env("BOXOFFICE_LISTEN", "");
  set_env("BOXOFFICE_ADMIN_TOKEN", "");
  LOAD(NULL);
  expect_ok("empty variables");
  cr_expect_eq(r.s.hold_seconds, 300);
  cr_expect_eq(r.s.listen_port, 8080);
  cr_expect_str_empty(r.s.admin_token);
}

Test(config, null_env_reads_the_process_environment) {
  /* Safe: this test runs in its own process. */
  setenv("BOXOFFICE_THREADS", "12", 1);
  load_with(NULL, (const char *[]){NULL});
  expect_ok("getenv");
  cr_expect_eq(r.s.threads, 12);
}

Test(config, flags_set_every_setting) {
  LOAD("serve", "--listen", "[::1]:0", "--db", "sqlite:/tmp/x.db", "--queue",
       "redis://cache:6379", "--hold-seconds", "1", "--active-max", "7",
       "--active-seconds", "86400", "--admin-token", "0123456789abcdef",
       "--threads", "256", "--max-connections", "1000000", "--demo");
  expect_ok("flags");
  cr_expect_str_eq(r.s.listen_host, "::1");
  cr_expect_eq(r.s.listen_port, 0);
  cr_expect_str_eq(r.s.db_url, "sqlite:/tmp/x.db");
  cr_expect_str_eq(r.s.queue_url, "redis://cache:6379");
  cr_expect_eq(r.s.hold_seconds, 1);
  cr_expect_eq(r.s.active_max, 7);
  cr_expect_eq(r.s.active_seconds, 86400);
  cr_expect_str_eq(r.s.admin_token, "0123456789abcdef");
  cr_expect_eq(r.s.threads, 256);
  cr_expect_eq(r.s.max_connections, 1000000);
  cr_expect(r.s.demo);
}

Test(config, equals_form) {
  LOAD("--listen=10.0.0.1:81", "--hold-seconds=42", "--db=postgresql://h/d",
       "--admin-token=abc=def");
  expect_ok("--name=value");
  cr_expect_str_eq(r.s.listen_host, "10.0.0.1");
  cr_expect_eq(r.s.listen_port, 81);
  cr_expect_eq(r.s.hold_seconds, 42);
  cr_expect_str_eq(r.s.db_url, "postgresql://h/d");
  /* Only the first '=' separates: the value may contain more. */
  cr_expect_str_eq(r.s.admin_token, "abc=def");
}

Test(config, flag_beats_environment) {
  set_env("BOXOFFICE_HOLD_SECONDS", "60");
  set_env("BOXOFFICE_LISTEN", "0.0.0.0:1");
  set_env("BOXOFFICE_ADMIN_TOKEN", "from-the-environment");
  LOAD("--hold-seconds", "90", "--listen=127.0.0.1:2", "--admin-token",
       "from-the-flag");
  expect_ok("flag over env");
  cr_expect_eq(r.s.hold_seconds, 90);
  cr_expect_eq(r.s.listen_port, 2);
  cr_expect_str_eq(r.s.admin_token, "from-the-flag");
}

Test(config, good_flag_overrides_bad_environment) {
  /* The environment is only read when no flag is given, so a stale bad
   * variable does not block a corrected command line. */
  set_env("BOXOFFICE_THREADS", "lots");
  LOAD("--threads", "3");
  expect_ok("flag hides bad env");
  cr_expect_eq(r.s.threads, 3);
}

Test(config, bad_environment_value_is_an_error) {
  set_env("BOXOFFICE_ACTIVE_MAX", "0");
  LOAD(NULL);
  expect_error("env out of range", "BOXOFFICE_ACTIVE_MAX", "--active-max");
}

Test(config, last_repeated_flag_wins) {
  LOAD("--threads", "3", "--threads=5");
  expect_ok("repeated");
  cr_expect_eq(r.s.threads, 5);
}

/* ---- integers ---- */

struct int_row {
  const char *env;
  const char *flag;
  size_t offset;
  int64_t min, max;
};

static const struct int_row int_rows[] = {
    {"BOXOFFICE_HOLD_SECONDS", "--hold-seconds",
     offsetof(struct bo_settings, hold_seconds), 1, 86400},
    {"BOXOFFICE_ACTIVE_MAX", "--active-max",
     offsetof(struct bo_settings, active_max), 1, 10000000},
    {"BOXOFFICE_ACTIVE_SECONDS", "--active-seconds",
     offsetof(struct bo_settings, active_seconds), 1, 86400},
    {"BOXOFFICE_THREADS", "--threads", offsetof(struct bo_settings, threads), 1,
     256},
    {"BOXOFFICE_MAX_CONNECTIONS", "--max-connections",
     offsetof(struct bo_settings, max_connections), 1, 1000000},
};

static int64_t member(const struct int_row *row) {
  int64_t v;
  memcpy(&v, (const char *)&r.s + row->offset, sizeof v);
  return v;
}

Test(config, every_integer_bound_by_flag_and_environment) {
  for (size_t i = 0; i < sizeof int_rows / sizeof int_rows[0]; i++) {
    const struct int_row *row = &int_rows[i];
    const int64_t inside[] = {row->min, row->max};
    const int64_t outside[] = {row->min - 1, row->max + 1};
    char text[32];
    for (int j = 0; j < 2; j++) {
      snprintf(text, sizeof text, "%" PRId64, inside[j]);
      LOAD(row->flag, text);
      expect_ok(row->flag);
      cr_expect_eq(member(row), inside[j], "%s %s", row->flag, text);

      clear_env();
      set_env(row->env, text);
      LOAD(NULL);
      expect_ok(row->env);
      cr_expect_eq(member(row), inside[j], "%s=%s", row->env, text);

      snprintf(text, sizeof text, "%" PRId64, outside[j]);
      LOAD(row->flag, text);
      expect_error(text, row->env, row->flag);
      char rule[96];
      snprintf(rule, sizeof rule,
               "must be an integer from %" PRId64 " to %" PRId64, row->min,
               row->max);
      cr_expect(strstr(r.err, rule), "%s: %s", text, r.err);

      clear_env();
      set_env(row->env, text);
      LOAD(NULL);
      expect_error(text, row->env, row->flag);
      clear_env();
    }
  }
}

Test(config, integer_junk_is_refused) {
  const char *junk[] = {"12x",
                        "",
                        "-1",
                        "99999999999999999999",
                        " 12",
                        "12 ",
                        "+12",
                        "0x10",
                        "1e3",
                        "1.5",
                        "-",
                        "abc",
                        "12\n",
                        "--12",
                        "9223372036854775808"};
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
    LOAD("--hold-seconds", junk[i]);
    expect_error(junk[i], "BOXOFFICE_HOLD_SECONDS", "--hold-seconds");
    cr_expect(strstr(r.err, "must be an integer from 1 to 86400"), "%s", r.err);
  }
}

Test(config, leading_zeros_are_decimal) {
  LOAD("--hold-seconds", "0010");
  expect_ok("0010");
  cr_expect_eq(r.s.hold_seconds, 10);
}

Test(config, message_has_the_documented_shape) {
  LOAD("--hold-seconds", "abc");
  cr_expect_eq(r.outcome, BO_CONFIG_EXIT_ERROR);
  cr_expect_str_eq(r.err, "boxoffice: invalid BOXOFFICE_HOLD_SECONDS "
                          "(--hold-seconds) \"abc\": must be an integer "
                          "from 1 to 86400\n");
}

Test(config, message_escapes_control_characters) {
  LOAD("--threads", "1\n\x1b[2J\"");
  expect_error("escape", "BOXOFFICE_THREADS", "--threads");
  cr_expect(strstr(r.err, "\"1\\x0a\\x1b[2J\\\"\""), "%s", r.err);
  cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);
}

/* ---- listen ---- */

Test(config, listen_accepts_hosts_and_ports) {
  const struct {
    const char *text, *host;
    int port;
  } good[] = {
      {"127.0.0.1:8080", "127.0.0.1", 8080},
      {"0.0.0.0:0", "0.0.0.0", 0},
      {"localhost:65535", "localhost", 65535},
      {"[::1]:8080", "::1", 8080},
      {"[::]:1", "::", 1},
      {"[2001:db8::42]:443", "2001:db8::42", 443},
      {"[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    LOAD("--listen", good[i].text);
    expect_ok(good[i].text);
    cr_expect_str_eq(r.s.listen_host, good[i].host, "%s", good[i].text);
    cr_expect_eq(r.s.listen_port, good[i].port, "%s", good[i].text);
  }
}

Test(config, listen_refuses_bad_addresses) {
  const char *bad[] = {"127.0.0.1",
                       "127.0.0.1:",
                       "127.0.0.1:65536",
                       "127.0.0.1:-1",
                       "127.0.0.1:99999999999999999999",
                       "127.0.0.1:80x",
                       "127.0.0.1: 80",
                       ":8080",
                       "::1:8080",
                       "[::1]",
                       "[::1]:",
                       "[::1]8080",
                       "[]:80",
                       "[not-an-ip]:80",
                       "[127.0.0.1]:80",
                       "host name:80",
                       "8080",
                       ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    LOAD("--listen", bad[i]);
    expect_error(bad[i], "BOXOFFICE_LISTEN", "--listen");
    cr_expect(strstr(r.err, "HOST:PORT"), "%s", r.err);
  }
}

Test(config, listen_host_too_long) {
  char text[300];
  memset(text, 'a', 260);
  strcpy(text + 260, ":80");
  LOAD("--listen", text);
  expect_error("long host", "BOXOFFICE_LISTEN", "--listen");
}

/* ---- db, queue, admin token ---- */

Test(config, db_urls) {
  const char *good[] = {"sqlite:boxoffice.db", "sqlite:/var/lib/bo.db",
                        "sqlite::memory:", "postgres://bo@localhost/bo",
                        "postgresql://localhost:5432/bo?sslmode=disable"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    LOAD("--db", good[i]);
    expect_ok(good[i]);
    cr_expect_str_eq(r.s.db_url, good[i]);
  }
  const char *bad[] = {"sqlite:",  "boxoffice.db", "mysql://x",
                       "SQLITE:x", "postgres:/x",  ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    LOAD("--db", bad[i]);
    expect_error(bad[i], "BOXOFFICE_DB", "--db");
  }
}

Test(config, db_url_length_limit) {
  static char text[1100];
  strcpy(text, "sqlite:");
  memset(text + 7, 'x', 1023 - 7);
  text[1023] = '\0';
  LOAD("--db", text);
  expect_ok("1023 characters");
  cr_expect_eq(strlen(r.s.db_url), 1023);
  text[1023] = 'x';
  text[1024] = '\0';
  LOAD("--db", text);
  expect_error("1024 characters", "BOXOFFICE_DB", "--db");
}

Test(config, queue_urls) {
  const char *good[] = {"memory", "redis://127.0.0.1:6379",
                        "redis://cache:6379/3"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    LOAD("--queue", good[i]);
    expect_ok(good[i]);
    cr_expect_str_eq(r.s.queue_url, good[i]);
  }
  const char *bad[] = {"redis://", "Memory", "memory ", "kafka://x", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    LOAD("--queue", bad[i]);
    expect_error(bad[i], "BOXOFFICE_QUEUE", "--queue");
  }
}

Test(config, admin_token_bounds_and_secrecy) {
  char text[300];
  memset(text, 'k', 255);
  text[255] = '\0';
  LOAD("--admin-token", text);
  expect_ok("255 characters");
  cr_expect_str_eq(r.s.admin_token, text);

  LOAD("--admin-token", "x");
  expect_ok("1 character");

  text[255] = 'k';
  text[256] = '\0';
  LOAD("--admin-token", text);
  expect_error("256 characters", "BOXOFFICE_ADMIN_TOKEN", "--admin-token");

  const char *bad[] = {"", "has space", "tab\there", "caf\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    LOAD("--admin-token", bad[i]);
    expect_error(bad[i], "BOXOFFICE_ADMIN_TOKEN", "--admin-token");
  }

  /* stderr ends up in logs: a rejected secret must not be echoed there. */
  LOAD("--admin-token", "my secret");
  cr_expect_null(strstr(r.err, "my secret"), "%s", r.err);
  cr_expect(strstr(r.err, "hidden"), "%s", r.err);
}

/* ---- commands and flags ---- */

Test(config, commands) {
  LOAD("migrate");
  expect_ok("migrate");
  cr_expect_eq(r.s.command, BO_COMMAND_MIGRATE);

  LOAD("serve");
  expect_ok("serve");
  cr_expect_eq(r.s.command, BO_COMMAND_SERVE);

  LOAD("--threads", "4", "migrate", "--db=sqlite:m.db");
  expect_ok("flags around the command");
  cr_expect_eq(r.s.command, BO_COMMAND_MIGRATE);
  cr_expect_eq(r.s.threads, 4);
  cr_expect_str_eq(r.s.db_url, "sqlite:m.db");
}

Test(config, unknown_command) {
  LOAD("frobnicate");
  expect_error("unknown command", "\"frobnicate\"", NULL);
  cr_expect(strstr(r.err, "serve or migrate"), "%s", r.err);
}

Test(config, second_command_is_an_error) {
  LOAD("serve", "migrate");
  expect_error("two commands", "\"migrate\"", NULL);
}

Test(config, unknown_flags) {
  const char *bad[] = {"--bogus", "--bogus=1", "-x",        "-",
                       "--",      "--LISTEN",  "--listen-", "-listen"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    LOAD(bad[i], "127.0.0.1:1");
    expect_error(bad[i], bad[i], NULL);
    cr_expect(strstr(r.err, "unknown flag"), "%s", r.err);
  }
}

Test(config, flag_without_value) {
  LOAD("--listen");
  expect_error("missing value", "--listen", NULL);
  cr_expect(strstr(r.err, "needs a value"), "%s", r.err);
}

Test(config, empty_flag_value_is_an_error) {
  LOAD("--listen=");
  expect_error("--listen=", "BOXOFFICE_LISTEN", "--listen");
  LOAD("--threads", "");
  expect_error("--threads ''", "BOXOFFICE_THREADS", "--threads");
}

Test(config, demo) {
  LOAD("--demo");
  expect_ok("--demo");
  cr_expect(r.s.demo);
  cr_expect_eq(r.s.command, BO_COMMAND_SERVE);

  LOAD("migrate", "--demo");
  expect_error("migrate --demo", "--demo", NULL);

  LOAD("--demo=yes");
  expect_error("--demo=yes", "--demo", NULL);
  cr_expect(strstr(r.err, "takes no value"), "%s", r.err);
}

/* ---- help and version ---- */

Test(config, help_names_every_setting) {
  const char *names[] = {
      "serve",
      "migrate",
      "--listen",
      "BOXOFFICE_LISTEN",
      "127.0.0.1:8080",
      "--db",
      "BOXOFFICE_DB",
      "sqlite:boxoffice.db",
      "--queue",
      "BOXOFFICE_QUEUE",
      "memory",
      "--hold-seconds",
      "BOXOFFICE_HOLD_SECONDS",
      "default 300, from 1 to 86400",
      "--active-max",
      "BOXOFFICE_ACTIVE_MAX",
      "default 1000, from 1 to 10000000",
      "--active-seconds",
      "BOXOFFICE_ACTIVE_SECONDS",
      "default 600, from 1 to 86400",
      "--admin-token",
      "BOXOFFICE_ADMIN_TOKEN",
      "long and random",
      "--threads",
      "BOXOFFICE_THREADS",
      "default 8, from 1 to 256",
      "--max-connections",
      "BOXOFFICE_MAX_CONNECTIONS",
      "default 20000, from 1 to 1000000",
      "--demo",
      "--help",
      "--version",
      "example: ",
  };
  const char *forms[][4] = {{"--help", NULL, NULL},
                            {"-h", NULL, NULL},
                            {"migrate", "--help", NULL},
                            /* Help wins over values not yet checked. */
                            {"--threads", "lots", "--help"}};
  for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
    load_with(fake_getenv, forms[f]);
    cr_expect_eq(r.outcome, BO_CONFIG_EXIT_OK, "form %zu", f);
    cr_expect_str_empty(r.err);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
      cr_expect(strstr(r.out, names[i]), "help lacks \"%s\"", names[i]);
  }
}

Test(config, version) {
  LOAD("--version");
  cr_expect_eq(r.outcome, BO_CONFIG_EXIT_OK);
  cr_expect_str_empty(r.err);
  cr_expect(strncmp(r.out, "boxoffice ", 10) == 0, "%s", r.out);
  cr_expect(r.out[10] >= '0' && r.out[10] <= '9', "%s", r.out);
  cr_expect_eq(strchr(r.out, '\n'), r.out + strlen(r.out) - 1, "one line: %s",
               r.out);
}
