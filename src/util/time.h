/* RFC 3339 times in and out. The API speaks whole-second UTC strings
 * ("2026-12-24T19:00:00Z"); inside, times are milliseconds since the epoch. */
#ifndef BO_UTIL_TIME_H
#define BO_UTIL_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* The last instant a four-digit year can write: 9999-12-31T23:59:59Z. */
#define BO_TIME_MAX_SECONDS 253402300799LL

/* "YYYY-MM-DDTHH:MM:SSZ" plus the terminating NUL. */
#define BO_TIME_TEXT_SIZE 21

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" plus the terminating NUL (log lines). */
#define BO_TIME_MS_TEXT_SIZE 25

/* Writes `ms` as UTC, seconds truncated toward the past. Years 0..9999
 * only: callers keep times within BO_TIME_MAX_SECONDS. */
void bo_time_format(int64_t ms, char out[BO_TIME_TEXT_SIZE]);

/* The same with milliseconds. */
void bo_time_format_ms(int64_t ms, char out[BO_TIME_MS_TEXT_SIZE]);

/* Parses a full RFC 3339 date-time: "T" or "t" separator, optional fraction
 * of a second, "Z" or a numeric offset. Rejects anything else, including
 * out-of-range fields (month 13, Feb 30) and years outside 1970..9999. */
bool bo_time_parse(const char *text, int64_t *out_ms);

#endif
