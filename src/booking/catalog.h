/* The catalog: concerts, their dates (schedules) and the seats of a date. */
#ifndef BO_BOOKING_CATALOG_H
#define BO_BOOKING_CATALOG_H

#include "app.h"
#include "errors.h"

#include <stddef.h>

#define BO_CONCERT_NAME_MAX_CHARS 200
#define BO_SEAT_COUNT_MAX 1000
#define BO_PRICE_MAX 100000000

struct bo_new_schedule {
  int64_t starts_at_ms;
  int32_t seat_count;
  int64_t price;
  int64_t schedule_id; /* filled in */
};

/* A concert's own waiting line, made with it (booking/lines.h). */
struct bo_new_line {
  int64_t active_max;       /* 0: the process's BOXOFFICE_ACTIVE_MAX */
  int64_t admit_per_minute; /* 0: no rate limit */
  int64_t on_sale_at_ms;    /* 0: no pre-queue */
  int32_t inventory_factor_pct;
  uint8_t seed[BO_LINE_SEED_BYTES]; /* filled in: the draw's secret seed */
};

enum bo_error bo_catalog_concerts(struct bo_app *app,
                                  struct bo_concert_list *out);

/* Future schedules with at least one seat available. 404 for an unknown
 * concert. */
enum bo_error bo_catalog_bookable_schedules(struct bo_app *app,
                                            int64_t concert_id,
                                            struct bo_schedule_list *out);

/* Future schedules, sold out or not, without their seat counts
 * (available_seats -1): the cheap half of the above, for callers that know
 * the counts from elsewhere (api/concerts.c, from seat map snapshots). 404
 * for an unknown concert. */
enum bo_error bo_catalog_upcoming_schedules(struct bo_app *app,
                                            int64_t concert_id,
                                            struct bo_schedule_list *out);

/* Every seat of every upcoming date of the concert, dates in the order of
 * bo_catalog_upcoming_schedules(), then by number: all of its seat maps
 * at once. */
enum bo_error bo_catalog_upcoming_seats(struct bo_app *app, int64_t concert_id,
                                        struct bo_seat_list *out);

/* Every seat of the schedule with its status now. 404 for an unknown
 * schedule. */
enum bo_error bo_catalog_seats(struct bo_app *app, int64_t schedule_id,
                               struct bo_seat_list *out);

/* Every date of the concert, past ones too, soonest first, with its seat
 * counts as of *as_of_ms (filled in: the time they were read at, for
 * telling past dates). 404 for an unknown concert. The caller frees
 * out->items. */
enum bo_error bo_catalog_schedule_counts(struct bo_app *app, int64_t concert_id,
                                         struct bo_schedule_count_list *out,
                                         int64_t *as_of_ms);

/* Creates a concert, its schedules (and their seats) and, when `line` is
 * not NULL, its own waiting line, in one transaction. Inputs are already
 * validated by the caller. */
enum bo_error bo_catalog_create_concert(struct bo_app *app, const char *name,
                                        struct bo_new_schedule *schedules,
                                        size_t schedule_count,
                                        struct bo_new_line *line,
                                        int64_t *concert_id);

#endif
