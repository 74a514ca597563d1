/* Picks the queue driver named by BOXOFFICE_QUEUE: "memory" (the
 * in-process line) or redis://HOST:PORT[/DB] (the shared line, redis*.c).
 * No message repeats the URL: it may carry a password. */
#include "queue/queue.h"

#include "queue/memory_internal.h"
#include "queue/redis_internal.h"

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
      bo_queue_has_prefix(url, "rediss://"))
    return bo_redisq_open(url, settings, error, error_size);
  /* Name only the scheme: the rest may carry a password. */
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
