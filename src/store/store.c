/* Picks the driver named by a BOXOFFICE_DB value, and the text names that
 * every driver's schema uses for the enums of store.h. */
#include "store/store.h"

#include "store/pg_internal.h"
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <string.h>

static bool has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

struct bo_store *bo_store_open(const char *url, char *error,
                               size_t error_size) {
  char unused[1];
  if (!error || error_size == 0) {
    error = unused;
    error_size = sizeof unused;
  }
  if (!url) {
    snprintf(error, error_size, "no database URL given");
    return NULL;
  }
  if (has_prefix(url, "sqlite:"))
    return bo_sqlite_open(url + strlen("sqlite:"), error, error_size);
  if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
    return bo_pg_open(url, error, error_size);
  snprintf(error, error_size,
           "unknown database URL \"%.64s\": expected sqlite:PATH or "
           "postgres://...",
           url);
  return NULL;
}

void bo_store_close(struct bo_store *store) {
  if (store)
    store->driver->close(store);
}

/* Out-of-range values get a name no schema accepts, so a bad enum fails at
 * the database's CHECK instead of being written as something valid. */
#define BO_NAME_OF(table, value)                                               \
  ((unsigned)(value) < sizeof(table) / sizeof(table)[0] ? (table)[value]       \
                                                        : "INVALID")

const char *bo_seat_status_name(enum bo_seat_status status) {
  static const char *const names[] = {
      [BO_SEAT_AVAILABLE] = "AVAILABLE",
      [BO_SEAT_HELD] = "HELD",
      [BO_SEAT_SOLD] = "SOLD",
  };
  return BO_NAME_OF(names, status);
}

const char *bo_reservation_status_name(enum bo_reservation_status status) {
  static const char *const names[] = {
      [BO_RESERVATION_HELD] = "HELD",
      [BO_RESERVATION_CONFIRMED] = "CONFIRMED",
      [BO_RESERVATION_EXPIRED] = "EXPIRED",
      [BO_RESERVATION_CANCELLED] = "CANCELLED",
  };
  return BO_NAME_OF(names, status);
}

const char *bo_point_type_name(enum bo_point_type type) {
  static const char *const names[] = {
      [BO_POINT_CHARGE] = "CHARGE",
      [BO_POINT_USE] = "USE",
      [BO_POINT_REFUND] = "REFUND",
  };
  return BO_NAME_OF(names, type);
}

const char *bo_idempotency_scope_name(enum bo_idempotency_scope scope) {
  static const char *const names[] = {
      [BO_IDEMPOTENCY_CHARGE] = "CHARGE",
      [BO_IDEMPOTENCY_PAYMENT] = "PAYMENT",
  };
  return BO_NAME_OF(names, scope);
}
