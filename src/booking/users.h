/* Users: a name and a point balance that starts at 0. */
#ifndef BO_BOOKING_USERS_H
#define BO_BOOKING_USERS_H

#include "app.h"
#include "errors.h"

#define BO_USER_NAME_MAX_CHARS 64

enum bo_error bo_users_create(struct bo_app *app, const char *name,
                              struct bo_user *out);

#endif
