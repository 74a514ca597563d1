/* Log lines on stderr, one per event, "key=value" pairs after a level, so
 * grep and log shippers both read them. Request lines carry the request id
 * and route; "our bug" (level=error) is kept apart from "client sent
 * nonsense" (level=info with the status). */
#ifndef BO_UTIL_LOG_H
#define BO_UTIL_LOG_H

void bo_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bo_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bo_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
