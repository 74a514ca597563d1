/* bo_load: the benchmark load driver. Reads the flags, makes sure the
 * server answers at all, and hands over to the workload, which prints the
 * one JSON report on stdout. Diagnostics go to stderr only. */
#include "options.h"
#include "target.h"
#include "workloads.h"

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

/* Ten thousand connections need ten thousand descriptors; the soft limit
 * is often 1024 while the hard one allows far more. */
static void raise_descriptor_limit(size_t wanted) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
    getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted + 64)
    fprintf(stderr,
            "bo_load: warning: %zu connections but only %llu descriptors "
            "(ulimit -n)\n",
            wanted, (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv) {
  struct bo_load_options o;
  switch (bo_load_options_parse(argc, argv, &o)) {
  case BO_LOAD_PARSE_HELP:
    bo_load_options_usage(stdout);
    return 0;
  case BO_LOAD_PARSE_NOTHING:
    bo_load_options_usage(stdout);
    return 2;
  case BO_LOAD_PARSE_BAD:
    return 2;
  case BO_LOAD_PARSE_OK:
    break;
  }
  struct bo_load_target target;
  if (!bo_load_target_parse(o.url, &target))
    return 2;
  /* A write to a connection the server closed must fail, not kill us. */
  signal(SIGPIPE, SIG_IGN);
  raise_descriptor_limit((size_t)o.connections);
  if (!bo_load_target_reachable(&target, 3000)) {
    fprintf(stderr, "bo_load: cannot connect to %s\n", o.url);
    return 1;
  }
  switch (o.workload) {
  case BO_LOAD_TOKENS:
    return bo_load_tokens(&o, &target);
  case BO_LOAD_RUSH:
    return bo_load_rush(&o, &target);
  case BO_LOAD_PURCHASE:
    return bo_load_purchase(&o, &target);
  case BO_LOAD_CROWD:
    return bo_load_crowd(&o, &target);
  case BO_LOAD_STREAMS:
    return bo_load_streams(&o, &target);
  case BO_LOAD_WORKLOADS:
    break;
  }
  return 2;
}
