/* Picks the queue backend named by BOXOFFICE_QUEUE: "memory" (in-process
 * lines, memory*.c) or redis://HOST:PORT[/DB] (shared lines, redis*.c), and
 * opens lines on it. No message repeats the URL: it may carry a password. */
#include "queue/queue.h"

#include "queue/memory_internal.h"
#include "queue/redis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bo_queue_backend {
  /* NULL: memory lines, which share nothing. */
  struct bo_redisq_backend *redis;
};

static int bo_queue_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

struct bo_queue_backend *bo_queue_backend_open(const char *url, char *error,
                                               size_t error_size) {
  char scratch[1];
  if (error == NULL || error_size == 0) { /* callers may not care why */
    error = scratch;
    error_size = sizeof scratch;
  }
  error[0] = '\0';
  if (url == NULL) {
    snprintf(error, error_size, "queue: no queue URL given");
    return NULL;
  }
  struct bo_queue_backend *backend = calloc(1, sizeof *backend);
  if (backend == NULL) {
    snprintf(error, error_size, "queue: out of memory");
    return NULL;
  }
  if (strcmp(url, "memory") == 0)
    return backend;
  if (bo_queue_has_prefix(url, "redis://") ||
      bo_queue_has_prefix(url, "rediss://")) {
    backend->redis = bo_redisq_backend_open(url, error, error_size);
    if (backend->redis != NULL)
      return backend;
    free(backend);
    return NULL;
  }
  free(backend);
  /* Name only the scheme: the rest may carry a password. */
  snprintf(error, error_size,
           "queue: unknown queue driver \"%.*s\" in BOXOFFICE_QUEUE "
           "(expected \"memory\" or redis://host:port)",
           (int)strcspn(url, ":/@"), url);
  return NULL;
}

void bo_queue_backend_close(struct bo_queue_backend *backend) {
  if (backend == NULL)
    return;
  if (backend->redis != NULL)
    bo_redisq_backend_close(backend->redis);
  free(backend);
}

struct bo_queue *bo_queue_open_line(struct bo_queue_backend *backend,
                                    int64_t line_id,
                                    const struct bo_queue_settings *settings,
                                    char *error, size_t error_size) {
  char scratch[1];
  if (error == NULL || error_size == 0) {
    error = scratch;
    error_size = sizeof scratch;
  }
  error[0] = '\0';
  if (backend == NULL || settings == NULL || line_id < 0) {
    snprintf(error, error_size, "queue: no backend, settings or line id");
    return NULL;
  }
  if (backend->redis != NULL)
    return bo_redisq_open_line(backend->redis, line_id, settings, error,
                               error_size);
  return bo_memq_open(settings, error, error_size);
}

struct bo_queue *bo_queue_open(const char *url,
                               const struct bo_queue_settings *settings,
                               char *error, size_t error_size) {
  struct bo_queue_backend *backend =
      bo_queue_backend_open(url, error, error_size);
  if (backend == NULL)
    return NULL;
  struct bo_queue *queue =
      bo_queue_open_line(backend, 0, settings, error, error_size);
  if (queue == NULL) {
    bo_queue_backend_close(backend);
    return NULL;
  }
  queue->owned_backend = backend;
  return queue;
}

void bo_queue_close(struct bo_queue *queue) {
  if (queue == NULL)
    return;
  struct bo_queue_backend *owned = queue->owned_backend;
  queue->driver->close(queue); /* frees `queue` */
  bo_queue_backend_close(owned);
}
