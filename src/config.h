/* Settings: one table (config.c) of name, environment variable, flag,
 * default and bounds. Flags beat environment variables beat defaults. A bad
 * value stops start-up with a message that names the setting. */
#ifndef BO_CONFIG_H
#define BO_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum bo_command { BO_COMMAND_SERVE, BO_COMMAND_MIGRATE };

struct bo_settings {
  enum bo_command command;
  char listen_host[256];
  uint16_t listen_port;
  char db_url[1024];
  char queue_url[1024];
  int64_t hold_seconds;
  int64_t active_max;
  int64_t active_seconds;
  int64_t idle_seconds; /* WAITING tokens unpolled this long leave the line */
  /* Empty means unset: the admin API answers 403 ADMIN_DISABLED. */
  char admin_token[256];
  int64_t threads; /* HTTP worker threads */
  int64_t max_connections;
  /* Abuse limits (src/http/server.c, src/api/queue.c). A rate of 0 turns
   * its limit off, as does a per-address connection cap of 0. */
  int64_t max_connections_per_ip;
  int64_t client_timeout_seconds;  /* a connection silent this long closes */
  int64_t poll_rate, poll_burst;   /* GET /queue/status, per token */
  int64_t issue_rate, issue_burst; /* POST /queue/tokens, per address */
  /* How old a seat map served from its snapshot may be; 0: no snapshots
   * (booking/seat_snapshots.h). */
  int64_t seatmap_max_age_ms;
  /* Comma-separated addresses or CIDR blocks of proxies whose
   * X-Forwarded-For names the client and which the per-address connection
   * cap leaves alone; empty: none. */
  char trusted_proxies[1024];
  bool demo; /* serve --demo: load demo data into an empty db */
};

enum bo_config_outcome {
  BO_CONFIG_RUN,        /* settings are valid: go on */
  BO_CONFIG_EXIT_OK,    /* --help or --version was printed */
  BO_CONFIG_EXIT_ERROR, /* a message naming the bad setting was printed */
};

/* Reads argv and the environment (through `env`, so tests and fuzzers can
 * pass their own; NULL means getenv). Help and version go to `out`, errors
 * to `err`. */
enum bo_config_outcome bo_config_load(int argc, char **argv,
                                      const char *(*env)(const char *name),
                                      struct bo_settings *settings, FILE *out,
                                      FILE *err);

#endif
