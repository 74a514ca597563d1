/* Reading the few fields a workload needs from a JSON response body.
 * Only the workloads that need a field parse a body at all. */
#ifndef BO_LOAD_BODY_H
#define BO_LOAD_BODY_H

#include "loop.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The body as a JSON object (the caller json_decref()s it), or NULL. */
json_t *bo_load_body_json(const struct bo_load_response *r);
bool bo_load_json_int(const json_t *object, const char *key, int64_t *out);
/* Copies a string field; false when absent, not a string, or too long. */
bool bo_load_json_text(const json_t *object, const char *key, char *out,
                       size_t cap);

#endif
