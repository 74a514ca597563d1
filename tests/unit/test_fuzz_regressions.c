/* Every bug the libFuzzer harnesses (tests/fuzz) found, as a plain unit
 * test, so it stays fixed in the ordinary test run and not only when
 * someone fuzzes. The crashing inputs themselves are in
 * tests/fuzz/regressions/<harness>/, which scripts/fuzz.sh replays.
 *
 * A test for a bug not yet fixed is written as it should pass after the
 * fix and starts out disabled (.disabled = true, with the reason); enable
 * it in the commit that fixes the bug. */
#include "api/api.h"
#include "support/app_fixture.h"
#include "util/time.h"

#include <criterion/criterion.h>
#include <string.h>

/* ---- 1. times past 9999-12-31T23:59:59Z -------------------------------------
 * Found by fuzz_auth (tests/fuzz/regressions/fuzz_auth/time-past-9999*) and
 * fuzz_api (regressions/fuzz_api/admin-starts-at-past-9999).
 *
 * bo_time_parse checks the year as written (1970..9999) but not the
 * instant it ends up with: "9999-12-31T23:59:59-00:01" is accepted as
 * 10000-01-01T00:00:59Z, and the leap second "9999-12-31T23:59:60Z" (read
 * as the next second) as 10000-01-01T00:00:00Z. bo_time_format then needs 21
 * characters plus the NUL in a BO_TIME_TEXT_SIZE (21) buffer: strftime returns
 * 0 and, in glibc, leaves the 20 characters it wrote without a terminator, so
 * bo_api_time hands json_string() an unterminated stack buffer (a read past it
 * unless the next stack byte happens to be 0). In practice the admin API
 * answers 201 with "startsAt":"10000-01-01T00:00:59" (not RFC 3339: no "Z"),
 * and every later GET /concerts/{id}/schedules renders it the same way. */

Test(fuzz_regressions, time_past_year_9999_is_refused_or_round_trips) {
  static const char *const texts[] = {
      "9999-12-31T23:59:59-00:01", "9999-12-31T23:59:60Z",
      "9999-12-31T23:59:60.255-23:59", /* what fuzz_auth built */
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    int64_t ms = 0;
    if (!bo_time_parse(texts[i], &ms))
      continue; /* refused: the simplest fix */
    char out[BO_TIME_TEXT_SIZE + 8];
    memset(out, 'X', sizeof out);
    bo_time_format(ms, out);
    cr_assert_not_null(memchr(out, '\0', BO_TIME_TEXT_SIZE),
                       "'%s': bo_time_format left no NUL in its %d bytes",
                       texts[i], BO_TIME_TEXT_SIZE);
    int64_t again = -1;
    cr_assert(bo_time_parse(out, &again), "'%s' printed as '%s'", texts[i],
              out);
    cr_assert_eq(again, ms - ms % 1000);
  }
  /* The last instant that fits must still be accepted. */
  int64_t last = 0;
  cr_assert(bo_time_parse("9999-12-31T23:59:59.999Z", &last));
}

/* What a client sees: the admin API either refuses the time with 400 or
 * answers with a startsAt it would itself accept back. */
Test(fuzz_regressions, admin_concert_past_year_9999_is_refused_or_rfc3339) {
  struct app_fixture fx;
  app_fixture_open(&fx, 10);
  snprintf(fx.app.settings.admin_token, sizeof fx.app.settings.admin_token,
           "%s", "regression-secret");
  static const char body[] =
      "{\"name\":\"Y10K\",\"schedules\":[{\"startsAt\":"
      "\"9999-12-31T23:59:59-00:01\",\"seatCount\":1,\"price\":0}]}";
  struct bo_request req = {.method = "POST",
                           .path = "/api/v1/admin/concerts",
                           .content_type = "application/json",
                           .authorization = "Bearer regression-secret",
                           .body = body,
                           .body_len = sizeof body - 1};
  struct bo_reply reply = {0};
  bo_api_admin_create_concert(&fx.app, &req, &reply);
  if (reply.status != 400) {
    cr_assert_eq(reply.status, 201);
    json_t *schedule =
        json_array_get(json_object_get(reply.json, "schedules"), 0);
    const char *starts_at =
        json_string_value(json_object_get(schedule, "startsAt"));
    cr_assert_not_null(starts_at);
    int64_t ms;
    cr_assert(bo_time_parse(starts_at, &ms), "startsAt '%s' is not RFC 3339",
              starts_at);
  }
  bo_reply_clear(&reply);
  app_fixture_close(&fx);
}
