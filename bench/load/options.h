/* The command line: a subcommand (the workload) and its flags, read from
 * one table that also writes the usage text. */
#ifndef BO_LOAD_OPTIONS_H
#define BO_LOAD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum bo_load_workload {
  BO_LOAD_TOKENS,
  BO_LOAD_RUSH,
  BO_LOAD_PURCHASE,
  BO_LOAD_CROWD,
  BO_LOAD_STREAMS,
  BO_LOAD_WORKLOADS
};

struct bo_load_options {
  enum bo_load_workload workload;
  const char *url;
  int64_t connections;
  int64_t threads;
  double duration_seconds;
  double ramp_seconds;
  double timeout_seconds;
  uint64_t seed;
  int64_t users_first; /* --users FIRST:COUNT */
  int64_t users_count;
  const char *out_path;
  const char *tokens_path;
  int64_t schedules_first; /* --schedules A:B */
  int64_t schedules_last;
  int64_t seats;
  int64_t concert_id;
  int64_t poll_ms;
  int64_t interval_ms;
  bool forwarded_for;
};

enum bo_load_parse {
  BO_LOAD_PARSE_OK,
  BO_LOAD_PARSE_HELP,    /* usage asked for: print it, exit 0 */
  BO_LOAD_PARSE_BAD,     /* a message went to stderr: exit 2 */
  BO_LOAD_PARSE_NOTHING, /* no arguments: print the usage, exit 2 */
};

/* argv as main() got it. The options point into argv. */
enum bo_load_parse bo_load_options_parse(int argc, char **argv,
                                         struct bo_load_options *out);
void bo_load_options_usage(FILE *to);
const char *bo_load_workload_name(enum bo_load_workload w);

#endif
