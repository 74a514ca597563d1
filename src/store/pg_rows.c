/* Small helpers every PostgreSQL op uses to read rows. Results come back as
 * text: integers are parsed here, and text columns are copied into the
 * caller's fixed-size buffers. */
#include "store/pg_internal.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

enum bo_store_status
bo_pg_missing_or_conflict(struct bo_pg_conn *conn, enum bo_pg_stmt_id exists,
                          const struct bo_pg_params *params) {
  PGresult *res = NULL;
  enum bo_store_status status = bo_pg_row(conn, exists, params, &res);
  PQclear(res);
  return status == BO_STORE_OK ? BO_STORE_CONFLICT : status;
}

int64_t bo_pg_int64(const PGresult *res, int row, int col) {
  /* A NULL reads "", hence 0; the server only sends well-formed digits. */
  return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int32_t bo_pg_int32(const PGresult *res, int row, int col) {
  return (int32_t)strtol(PQgetvalue(res, row, col), NULL, 10);
}

void bo_pg_text(const PGresult *res, int row, int col, char *dst, size_t size) {
  const char *text = PQgetvalue(res, row, col);
  size_t n = (size_t)PQgetlength(res, row, col);
  if (size == 0)
    return;
  if (n >= size) {
    n = size - 1;
    /* Do not leave half a UTF-8 character at the end. */
    while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
      n--;
  }
  if (n > 0)
    memcpy(dst, text, n);
  dst[n] = '\0';
}

enum bo_store_status bo_pg_list(struct bo_pg_conn *conn, enum bo_pg_stmt_id id,
                                const struct bo_pg_params *params,
                                size_t item_size, bo_pg_row_fn read,
                                void **items, size_t *count) {
  PGresult *res = NULL;
  unsigned char *all = NULL;
  size_t n = 0;
  enum bo_store_status status = bo_pg_exec(conn, id, params, &res);
  if (status != BO_STORE_OK)
    goto done;
  n = (size_t)PQntuples(res);
  if (n == 0)
    goto done;
  all = malloc(n * item_size);
  if (!all) {
    bo_log_error("event=pg_out_of_memory rows=%zu", n);
    status = BO_STORE_FAILED;
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    if (!read(res, (int)i, all + i * item_size)) {
      bo_log_error("event=pg_bad_row statement=%d", (int)id);
      status = BO_STORE_FAILED;
      goto done;
    }
  }
done:
  PQclear(res);
  if (status != BO_STORE_OK) {
    free(all);
    all = NULL;
    n = 0;
  }
  *items = all;
  *count = n;
  return status;
}

/* Finds the column's text among the names that name_of gives for
 * 0..count-1. */
static bool parse_name(const PGresult *res, int row, int col,
                       const char *(*name_of)(int), int count, int *out) {
  const char *text =
      PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
  for (int i = 0; text && i < count; i++) {
    if (strcmp(text, name_of(i)) == 0) {
      *out = i;
      return true;
    }
  }
  return false;
}

static const char *seat_status_name(int v) {
  return bo_seat_status_name((enum bo_seat_status)v);
}

static const char *reservation_status_name(int v) {
  return bo_reservation_status_name((enum bo_reservation_status)v);
}

static const char *point_type_name(int v) {
  return bo_point_type_name((enum bo_point_type)v);
}

bool bo_pg_parse_seat_status(const PGresult *res, int row, int col,
                             enum bo_seat_status *out) {
  int v;
  if (!parse_name(res, row, col, seat_status_name, BO_SEAT_SOLD + 1, &v))
    return false;
  *out = (enum bo_seat_status)v;
  return true;
}

bool bo_pg_parse_reservation_status(const PGresult *res, int row, int col,
                                    enum bo_reservation_status *out) {
  int v;
  if (!parse_name(res, row, col, reservation_status_name,
                  BO_RESERVATION_CANCELLED + 1, &v))
    return false;
  *out = (enum bo_reservation_status)v;
  return true;
}

bool bo_pg_parse_point_type(const PGresult *res, int row, int col,
                            enum bo_point_type *out) {
  int v;
  if (!parse_name(res, row, col, point_type_name, BO_POINT_REFUND + 1, &v))
    return false;
  *out = (enum bo_point_type)v;
  return true;
}
