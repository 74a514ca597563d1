/* The housekeeping thread: several times a second it lets waiting users in
 * on every open line (booking/lines.h: also re-reads the lines' settings
 * and recounts their seats when due, and draws pre-queues at their
 * on-sale) and, once a second, writes down holds that ran out. Correctness
 * never depends on it being on time: an expired hold or active token already
 * reads as expired; this only tidies and admits. */
#ifndef BO_BOOKING_HOUSEKEEPING_H
#define BO_BOOKING_HOUSEKEEPING_H

#include "app.h"

struct bo_housekeeping;

/* NULL if the thread could not be started. */
struct bo_housekeeping *bo_housekeeping_start(struct bo_app *app);

/* Wakes the thread, waits for it to end, frees it. */
void bo_housekeeping_stop(struct bo_housekeeping *hk);

/* One pass of each job, as the thread does them; tests call it directly. */
void bo_housekeeping_admit(struct bo_app *app);
void bo_housekeeping_release_holds(struct bo_app *app);

#endif
