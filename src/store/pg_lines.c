/* The waiting lines' stored settings (table queue_line): what an operator
 * set for each line, and each line's draw seed, kept across restarts.
 *
 * Parameters and results travel as text (pg_exec.c), so the seed goes both
 * ways as hex digits, encoded and decoded by the statements themselves. */
#include "store/pg_internal.h"

#include <string.h>

/* The schema CHECKs this length and makes line 0 with 32 zero bytes
 * (pg_sql.c); a new length needs a migration. */
_Static_assert(BO_LINE_SEED_BYTES == 32, "queue_line.seed is 32 bytes");

#define SEED_HEX_CHARS (2 * BO_LINE_SEED_BYTES)

static void seed_to_hex(const uint8_t *seed, char hex[SEED_HEX_CHARS + 1]) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < BO_LINE_SEED_BYTES; i++) {
    hex[2 * i] = digits[seed[i] >> 4];
    hex[2 * i + 1] = digits[seed[i] & 0x0f];
  }
  hex[SEED_HEX_CHARS] = '\0';
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1; /* encode() writes lower case only */
}

/* False unless the text is exactly a seed's hex digits. */
static bool seed_from_hex(const char *hex, size_t length, uint8_t *seed) {
  if (length != SEED_HEX_CHARS)
    return false;
  for (size_t i = 0; i < BO_LINE_SEED_BYTES; i++) {
    int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0)
      return false;
    seed[i] = (uint8_t)(high << 4 | low);
  }
  return true;
}

static bool read_line(const PGresult *res, int row, void *item) {
  struct bo_line_row *l = item;
  l->line_id = bo_pg_int64(res, row, 0);
  l->active_max = bo_pg_int64(res, row, 1);
  l->admit_per_minute = bo_pg_int64(res, row, 2);
  l->on_sale_at_ms = bo_pg_int64(res, row, 3);
  l->inventory_factor_pct = bo_pg_int32(res, row, 4);
  l->paused = bo_pg_int32(res, row, 5) != 0;
  l->created_at_ms = bo_pg_int64(res, row, 7);
  return seed_from_hex(PQgetvalue(res, row, 6),
                       (size_t)PQgetlength(res, row, 6), l->seed);
}

enum bo_store_status bo_pg_line_insert(struct bo_store_tx *tx,
                                       const struct bo_line_row *row,
                                       int64_t now_ms) {
  struct bo_pg_conn *conn = bo_pg_tx(tx)->conn;
  struct bo_pg_params p = {0};
  char seed[SEED_HEX_CHARS + 1];
  int64_t inserted = 0;
  seed_to_hex(row->seed, seed);
  bo_pg_param_int(&p, row->line_id);
  bo_pg_param_int(&p, row->active_max);
  bo_pg_param_int(&p, row->admit_per_minute);
  bo_pg_param_int(&p, row->on_sale_at_ms);
  bo_pg_param_int(&p, row->inventory_factor_pct);
  bo_pg_param_int(&p, row->paused ? 1 : 0);
  bo_pg_param_text(&p, seed);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_command(conn, BO_PG_LINE_INSERT, &p, &inserted);
  if (status == BO_STORE_OK && inserted == 0) {
    /* The line exists (CONFLICT), or its concert does not (NOT_FOUND). */
    p.count = 1;
    status = bo_pg_missing_or_conflict(conn, BO_PG_LINE_EXISTS, &p);
  }
  return status;
}

enum bo_store_status bo_pg_line_get(struct bo_store_tx *tx, int64_t line_id,
                                    struct bo_line_row *out) {
  struct bo_pg_params p = {0};
  PGresult *res = NULL;
  bo_pg_param_int(&p, line_id);
  enum bo_store_status status =
      bo_pg_row(bo_pg_tx(tx)->conn, BO_PG_LINE_GET, &p, &res);
  if (status == BO_STORE_OK && !read_line(res, 0, out))
    status = BO_STORE_FAILED;
  PQclear(res);
  return status;
}

enum bo_store_status bo_pg_line_update(struct bo_store_tx *tx, int64_t line_id,
                                       const struct bo_line_change *change,
                                       int64_t now_ms) {
  struct bo_pg_params p = {0};
  int64_t changed = 0;
  /* The global line has a row only once an operator changed it, so its
   * first change makes it; a concert's line is made with the concert, so
   * a missing one is missing. */
  enum bo_pg_stmt_id id =
      line_id == 0 ? BO_PG_LINE_UPSERT_GLOBAL : BO_PG_LINE_UPDATE;
  bo_pg_param_int(&p, line_id);
  bo_pg_param_int(&p, change->active_max);
  bo_pg_param_int(&p, change->admit_per_minute);
  bo_pg_param_int(&p, change->inventory_factor_pct);
  bo_pg_param_int(&p, change->paused ? 1 : 0);
  bo_pg_param_int(&p, now_ms);
  enum bo_store_status status =
      bo_pg_command(bo_pg_tx(tx)->conn, id, &p, &changed);
  if (status == BO_STORE_OK && changed == 0)
    status = BO_STORE_NOT_FOUND;
  return status;
}

enum bo_store_status bo_pg_line_list(struct bo_store_tx *tx,
                                     struct bo_line_row_list *out) {
  void *items = NULL;
  size_t count = 0;
  enum bo_store_status status =
      bo_pg_list(bo_pg_tx(tx)->conn, BO_PG_LINE_LIST, NULL, sizeof *out->items,
                 read_line, &items, &count);
  *out = (struct bo_line_row_list){.items = items, .count = count};
  return status;
}
