/* Demo data for `serve --demo`: a few concerts with future dates of 50 seats
 * (the last with a line of its own whose pre-queue is drawn two minutes
 * after loading) and a few users with points, loaded only into an empty
 * database so a restart never duplicates it. */
#ifndef BO_BOOKING_DEMO_H
#define BO_BOOKING_DEMO_H

#include "app.h"
#include "errors.h"

#include <stdbool.h>

/* `loaded` says whether anything was added (false: the db had concerts). */
enum bo_error bo_demo_load(struct bo_app *app, bool *loaded);

#endif
