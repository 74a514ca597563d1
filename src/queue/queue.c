/* Picks the queue driver named by BOXOFFICE_QUEUE. Only the in-process
 * line exists so far; a Redis URL is recognised so that a deployment
 * configured for it fails at start-up with a message that says why,
 * instead of "unknown scheme". */
#include "queue/queue.h"

#include "queue/memory_internal.h"

#include <stdio.h>
#include <string.h>

static int bo_queue_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

struct bo_queue *bo_queue_open(const char *url,
                               const struct bo_queue_settings *settings,
                               char *error, size_t error_size) {
  char scratch[1];
  if (error == NULL || error_size == 0) { /* callers may not care why */
    error = scratch;
    error_size = sizeof scratch;
  }
  error[0] = '\0';
  if (url == NULL || settings == NULL) {
    snprintf(error, error_size, "queue: no queue URL or settings given");
    return NULL;
  }
  if (strcmp(url, "memory") == 0)
    return bo_memq_open(settings, error, error_size);
  if (bo_queue_has_prefix(url, "redis://") ||
      bo_queue_has_prefix(url, "rediss://")) {
    /* The URL itself is not echoed: it may carry a password. */
    snprintf(error, error_size,
             "queue: redis queue driver not built yet; set BOXOFFICE_QUEUE "
             "to \"memory\"");
    return NULL;
  }
  /* Name only the scheme, for the same reason. */
  snprintf(error, error_size,
           "queue: unknown queue driver \"%.*s\" in BOXOFFICE_QUEUE "
           "(expected \"memory\" or redis://host:port)",
           (int)strcspn(url, ":/@"), url);
  return NULL;
}

void bo_queue_close(struct bo_queue *queue) {
  if (queue != NULL)
    queue->driver->close(queue);
}
