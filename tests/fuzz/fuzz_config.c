/* fuzz_config: bo_config_load with an argv and an environment made from the
 * input, its help and error text written to memory streams.
 *
 * Input: byte 0 modulo 16 is the number of arguments after argv[0]; then
 * NUL-separated strings: that many arguments, then environment entries
 * "NAME=VALUE" (an entry without '=' is ignored; the first of a name wins,
 * as getenv does).
 *
 * Checked beyond "no crash":
 *  - RUN: nothing was printed and every setting is within its documented
 *    shape and bounds;
 *  - EXIT_OK: only `out` was written; EXIT_ERROR: only `err`, as exactly one
 *    line of printable ASCII (a value cannot forge a second log line);
 *  - the admin secret is never echoed: the same argv and environment with
 *    every secret value's characters shifted (same length, same character
 *    classes, so exactly as valid) must print exactly the same text. */
#include "config.h"
#include "fuzz_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX 16
#define ENV_MAX 32
#define SECRET_VAR "BOXOFFICE_ADMIN_TOKEN"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The environment of the current run; bo_config_load's callback takes no
 * context, so it lives here, set and cleared around each call. */
static const char *env_names[ENV_MAX];
static const char *env_values[ENV_MAX];
static int env_count;

static const char *fake_env(const char *name) {
  for (int i = 0; i < env_count; i++)
    if (strcmp(env_names[i], name) == 0)
      return env_values[i];
  return NULL;
}

/* Flags that take a value, as the table in src/config.c has them. */
static bool takes_value(const char *arg, size_t len) {
  static const char *const flags[] = {"--listen",       "--db",
                                      "--queue",        "--hold-seconds",
                                      "--active-max",   "--active-seconds",
                                      "--idle-seconds", "--admin-token",
                                      "--threads",      "--max-connections"};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    if (strlen(flags[i]) == len && strncmp(flags[i], arg, len) == 0)
      return true;
  return false;
}

/* Shifts each visible non-space ASCII character to the next one in that
 * range (wrapping), leaving every other byte alone: the result is exactly
 * as valid a secret as the original, and differs wherever it could show. */
static void shift_secret(char *s) {
  for (unsigned char *p = (unsigned char *)s; *p; p++)
    if (*p >= 0x21 && *p <= 0x7e)
      *p = *p == 0x7e ? 0x21 : (unsigned char)(*p + 1);
}

/* Shifts the admin secret wherever argv carries it, walking argv as the
 * scanner does (a flag's value is the next argument unless written with
 * '='; --help, --version or an unknown flag end the scan). */
static void shift_argv_secrets(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 ||
        strcmp(arg, "--version") == 0)
      return;
    if (arg[0] != '-')
      continue;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    bool secret = len == 13 && strncmp(arg, "--admin-token", 13) == 0;
    if (strncmp(arg, "--demo", len) == 0 && len == 6)
      continue;
    if (!takes_value(arg, len))
      return;
    if (eq) {
      if (secret)
        shift_secret(argv[i] + (eq - arg) + 1);
    } else if (i + 1 < argc) {
      i++;
      if (secret)
        shift_secret(argv[i]);
    }
  }
}

struct run {
  enum bo_config_outcome outcome;
  struct bo_settings settings;
  char *out, *err;
  size_t out_len, err_len;
};

static void load(int argc, char **argv, struct run *r) {
  FILE *out = open_memstream(&r->out, &r->out_len);
  FILE *err = open_memstream(&r->err, &r->err_len);
  if (!out || !err)
    fuzz_fail("open_memstream");
  r->outcome = bo_config_load(argc, argv, fake_env, &r->settings, out, err);
  fclose(out);
  fclose(err);
}

static bool in_range(int64_t v, int64_t min, int64_t max) {
  return v >= min && v <= max;
}

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool terminated(const char *s, size_t size) {
  return memchr(s, '\0', size) != NULL;
}

static void check_settings(const struct bo_settings *s) {
  if (!terminated(s->listen_host, sizeof s->listen_host) ||
      !terminated(s->db_url, sizeof s->db_url) ||
      !terminated(s->queue_url, sizeof s->queue_url) ||
      !terminated(s->admin_token, sizeof s->admin_token))
    fuzz_fail("a setting's text is not terminated");
  if (s->listen_host[0] == '\0')
    fuzz_fail("empty listen host accepted");
  if (!(starts_with(s->db_url, "sqlite:") && s->db_url[7] != '\0') &&
      !starts_with(s->db_url, "postgres://") &&
      !starts_with(s->db_url, "postgresql://"))
    fuzz_fail("db '%s' accepted", s->db_url);
  if (strcmp(s->queue_url, "memory") != 0 &&
      !(starts_with(s->queue_url, "redis://") && s->queue_url[8] != '\0'))
    fuzz_fail("queue '%s' accepted", s->queue_url);
  if (!in_range(s->hold_seconds, 1, 86400) ||
      !in_range(s->active_max, 1, 10000000) ||
      !in_range(s->active_seconds, 1, 86400) ||
      !in_range(s->idle_seconds, 1, 86400) || !in_range(s->threads, 1, 256) ||
      !in_range(s->max_connections, 1, 1000000))
    fuzz_fail("a number outside its bounds was accepted");
  size_t secret_len = strlen(s->admin_token);
  for (size_t i = 0; i < secret_len; i++)
    if ((unsigned char)s->admin_token[i] <= 0x20 ||
        (unsigned char)s->admin_token[i] >= 0x7f)
      fuzz_fail("admin secret with an invisible character accepted");
  if (s->demo && s->command != BO_COMMAND_SERVE)
    fuzz_fail("--demo accepted for migrate");
}

static void check_run(const struct run *r) {
  switch (r->outcome) {
  case BO_CONFIG_RUN:
    if (r->out_len || r->err_len)
      fuzz_fail("RUN, yet something was printed");
    check_settings(&r->settings);
    break;
  case BO_CONFIG_EXIT_OK:
    if (r->out_len == 0 || r->err_len)
      fuzz_fail("EXIT_OK should print to out only");
    break;
  case BO_CONFIG_EXIT_ERROR:
    if (r->out_len || r->err_len == 0)
      fuzz_fail("EXIT_ERROR should print to err only");
    for (size_t i = 0; i + 1 < r->err_len; i++)
      if (r->err[i] < 0x20 || r->err[i] > 0x7e)
        fuzz_fail("error text has byte 0x%02x at %zu: %s",
                  (unsigned char)r->err[i], i, r->err);
    if (r->err[r->err_len - 1] != '\n')
      fuzz_fail("error text is not one whole line: %s", r->err);
    break;
  default:
    fuzz_fail("outcome %d", r->outcome);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  int wanted_args = data[0] % ARGS_MAX;
  char *text = fuzz_strndup(data + 1, size - 1);
  const char *end = text + (size - 1);

  /* Two copies of every string: the second gets its secrets shifted. */
  char *items[2][ARGS_MAX + ENV_MAX];
  int item_count = 0;
  for (const char *p = text; p <= end && item_count < ARGS_MAX + ENV_MAX;
       p += strlen(p) + 1) {
    items[0][item_count] = fuzz_strndup((const uint8_t *)p, strlen(p));
    items[1][item_count] = fuzz_strndup((const uint8_t *)p, strlen(p));
    item_count++;
  }
  int argc = 1 + (wanted_args < item_count ? wanted_args : item_count);

  struct run runs[2];
  for (int copy = 0; copy < 2; copy++) {
    char *argv[ARGS_MAX + 2];
    argv[0] = "boxoffice";
    for (int i = 1; i < argc; i++)
      argv[i] = items[copy][i - 1];
    argv[argc] = NULL;
    env_count = 0;
    for (int i = argc - 1; i < item_count && env_count < ENV_MAX; i++) {
      char *eq = strchr(items[copy][i], '=');
      if (!eq)
        continue;
      *eq = '\0'; /* split in place; the value follows */
      env_names[env_count] = items[copy][i];
      env_values[env_count] = eq + 1;
      env_count++;
    }
    if (copy == 1) {
      shift_argv_secrets(argc, argv);
      for (int i = 0; i < env_count; i++)
        if (strcmp(env_names[i], SECRET_VAR) == 0)
          shift_secret((char *)env_values[i]);
    }
    load(argc, argv, &runs[copy]);
    env_count = 0;
  }

  check_run(&runs[0]);
  if (runs[0].outcome != runs[1].outcome ||
      runs[0].err_len != runs[1].err_len ||
      memcmp(runs[0].err, runs[1].err, runs[0].err_len) != 0)
    fuzz_fail("the output depends on the admin secret's characters:\n"
              "%s---\n%s",
              runs[0].err, runs[1].err);

  for (int copy = 0; copy < 2; copy++) {
    free(runs[copy].out);
    free(runs[copy].err);
    for (int i = 0; i < item_count; i++)
      free(items[copy][i]);
  }
  free(text);
  return 0;
}
