/* The workloads: each runs a whole benchmark from its options, prints its
 * report on stdout and returns the process's exit status (0 when the run
 * completed, errors or not; 1 when it could not run; 2 for bad input). */
#ifndef BO_LOAD_WORKLOADS_H
#define BO_LOAD_WORKLOADS_H

#include "options.h"
#include "target.h"

int bo_load_tokens(const struct bo_load_options *o,
                   const struct bo_load_target *target);
int bo_load_rush(const struct bo_load_options *o,
                 const struct bo_load_target *target);
int bo_load_purchase(const struct bo_load_options *o,
                     const struct bo_load_target *target);
int bo_load_crowd(const struct bo_load_options *o,
                  const struct bo_load_target *target);
int bo_load_streams(const struct bo_load_options *o,
                    const struct bo_load_target *target);

#endif
