/* A whole struct bo_app for rule tests: a real SQLite store in a fresh
 * temporary folder, the in-process queue, and a clock the test moves by
 * hand, so expiry is tested without sleeping. */
#ifndef BO_TEST_APP_FIXTURE_H
#define BO_TEST_APP_FIXTURE_H

#include "app.h"

#include <stdint.h>

struct app_fixture {
  struct bo_app app;
  int64_t now_ms; /* what the fake clock answers */
  char dir[64];
};

/* Fills settings with small, test-friendly values (hold 300 s, active_max
 * as given, active 600 s), opens everything, migrates. Aborts the test on
 * failure. */
void app_fixture_open(struct app_fixture *fx, int64_t active_max);
void app_fixture_close(struct app_fixture *fx);
void app_fixture_advance(struct app_fixture *fx, int64_t ms);

/* Conveniences that assert success. */
int64_t fixture_user(struct app_fixture *fx, const char *name, int64_t points);
/* A concert with one schedule starting `starts_in_ms` from now. */
int64_t fixture_schedule(struct app_fixture *fx, int64_t starts_in_ms,
                         int32_t seats, int64_t price);
/* A token for the user, which must come back ACTIVE. */
struct bo_token_info fixture_active_token(struct app_fixture *fx,
                                          int64_t user_id);

#endif
