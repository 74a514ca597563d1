/* The last seat map served for each schedule, kept as the bytes that were
 * sent, so that a busy schedule's map is read from the database and
 * rendered a few times a second instead of once per request.
 *
 * How stale a map may be:
 *  - changes made through this instance (a hold, a cancel, a payment) are
 *    published here (bo_seat_snapshots_changed) and the next reader
 *    rebuilds: a user never sees a map older than their own change;
 *  - a hold running out is known in advance: a snapshot is not served past
 *    the first hold in it that runs out (API.md: AVAILABLE at once);
 *  - changes made through other instances behind the same database are
 *    seen within BOXOFFICE_SEATMAP_MAX_AGE_MS (default 500, at most 1000).
 * A stale map costs a user a 409 on a seat that looked free, never a
 * double sale: holds are decided in the database.
 *
 * Thread-safe. Snapshots live in stripes, each behind its own mutex, with a
 * change counter per stripe: a reader notes the counter before it reads the
 * database, and a snapshot built from a read that a change overtook is
 * dropped rather than stored. Only schedules that exist get a snapshot (one
 * is stored only after a successful read), so memory is bounded by the
 * catalog, not by what clients ask for. */
#ifndef BO_BOOKING_SEAT_SNAPSHOTS_H
#define BO_BOOKING_SEAT_SNAPSHOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bo_seat_snapshots;

/* `max_age_ms` 0 turns snapshots off (every get misses). NULL when out of
 * memory. */
struct bo_seat_snapshots *bo_seat_snapshots_new(int64_t max_age_ms);
void bo_seat_snapshots_free(struct bo_seat_snapshots *snapshots);

/* A fresh snapshot of `schedule_id` at `now_ms`: true with its count of
 * available seats in *available and, unless `text` is NULL, a malloc'd
 * copy of the map in *text (the caller frees it) and its length. False on
 * a miss, with *version set for the bo_seat_snapshots_put() of the map the
 * caller then builds. `snapshots` may be NULL (off). */
bool bo_seat_snapshots_get(struct bo_seat_snapshots *snapshots,
                           int64_t schedule_id, int64_t now_ms, char **text,
                           size_t *len, int32_t *available, uint64_t *version);

/* Stores the map built from a read that began at `version`, unless a
 * change was published since. `changes_at_ms` is when the map changes by
 * itself (its first hold runs out), 0 for never. Copies `text`; a failed
 * allocation just stores nothing. */
void bo_seat_snapshots_put(struct bo_seat_snapshots *snapshots,
                           int64_t schedule_id, uint64_t version,
                           int64_t now_ms, int64_t changes_at_ms,
                           int32_t available, const char *text, size_t len);

/* A seat of `schedule_id` changed: its snapshot is dropped. */
void bo_seat_snapshots_changed(struct bo_seat_snapshots *snapshots,
                               int64_t schedule_id);

#endif
