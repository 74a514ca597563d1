/* The API layer: one file per resource. Each handler parses its input spec,
 * calls the booking rules and renders the answer; none of them touches SQL
 * or the queue's insides. routes.c is the one table that maps paths to
 * them. */
#ifndef BO_API_API_H
#define BO_API_API_H

#include "http/router.h"

#include <stdbool.h>
#include <stddef.h>

extern const struct bo_route bo_api_routes[];
extern const size_t bo_api_route_count;

/* users.c */
void bo_api_users_create(struct bo_app *, const struct bo_request *,
                         struct bo_reply *);
/* queue.c */
void bo_api_queue_issue(struct bo_app *, const struct bo_request *,
                        struct bo_reply *);
/* Server-Sent Events of one token's status (api/queue_stream.c). */
void bo_api_queue_stream(struct bo_app *app, const struct bo_request *req,
                         struct bo_reply *reply);
void bo_api_queue_status(struct bo_app *, const struct bo_request *,
                         struct bo_reply *);
/* concerts.c */
void bo_api_concerts_list(struct bo_app *, const struct bo_request *,
                          struct bo_reply *);
void bo_api_concerts_schedules(struct bo_app *, const struct bo_request *,
                               struct bo_reply *);
void bo_api_schedules_seats(struct bo_app *, const struct bo_request *,
                            struct bo_reply *);
/* reservations.c */
void bo_api_reservations_create(struct bo_app *, const struct bo_request *,
                                struct bo_reply *);
void bo_api_reservations_get(struct bo_app *, const struct bo_request *,
                             struct bo_reply *);
void bo_api_reservations_cancel(struct bo_app *, const struct bo_request *,
                                struct bo_reply *);
void bo_api_reservations_of_user(struct bo_app *, const struct bo_request *,
                                 struct bo_reply *);
/* points.c */
void bo_api_points_balance(struct bo_app *, const struct bo_request *,
                           struct bo_reply *);
void bo_api_points_charge(struct bo_app *, const struct bo_request *,
                          struct bo_reply *);
void bo_api_points_history(struct bo_app *, const struct bo_request *,
                           struct bo_reply *);
/* payments.c */
void bo_api_payments_create(struct bo_app *, const struct bo_request *,
                            struct bo_reply *);
/* admin.c */
void bo_api_admin_create_concert(struct bo_app *, const struct bo_request *,
                                 struct bo_reply *);
/* lines.c: a concert line's public view and its draw */
void bo_api_lines_get(struct bo_app *, const struct bo_request *,
                      struct bo_reply *);
void bo_api_lines_draw(struct bo_app *, const struct bo_request *,
                       struct bo_reply *);
/* admin_lines.c: the operator's view and changes of the lines */
void bo_api_admin_lines_list(struct bo_app *, const struct bo_request *,
                             struct bo_reply *);
void bo_api_admin_queue_get(struct bo_app *, const struct bo_request *,
                            struct bo_reply *);
void bo_api_admin_queue_patch(struct bo_app *, const struct bo_request *,
                              struct bo_reply *);
void bo_api_admin_line_get(struct bo_app *, const struct bo_request *,
                           struct bo_reply *);
void bo_api_admin_line_patch(struct bo_app *, const struct bo_request *,
                             struct bo_reply *);
void bo_api_admin_token_end(struct bo_app *, const struct bo_request *,
                            struct bo_reply *);
/* admin_schedules.c: every date of a concert with its seat counts */
void bo_api_admin_schedules_list(struct bo_app *, const struct bo_request *,
                                 struct bo_reply *);
/* ops.c */
void bo_api_ops_health(struct bo_app *, const struct bo_request *,
                       struct bo_reply *);
void bo_api_ops_metrics(struct bo_app *, const struct bo_request *,
                        struct bo_reply *);
/* web.c: the web front, GET (and HEAD) of "/" and of each file of web/ */
void bo_api_web_file(struct bo_app *, const struct bo_request *,
                     struct bo_reply *);

/* The files of web/, embedded at build time by cmake/embed_web.cmake,
 * which also writes BO_WEB_FILE_COUNT and BO_WEB_PATHS (web_paths.h). */
struct bo_web_file {
  const char *path; /* as in a URL: "/index.html", "/assets/logo.svg" */
  const char *data; /* `len` bytes, any of them */
  size_t len;
  const char *etag; /* "\"<32 hex digits>\"": a strong tag, made at build */
};
extern const struct bo_web_file bo_web_files[]; /* then one with NULL path */

/* How a file of the front is served, by its name's extension. */
struct bo_web_type {
  const char *content_type;
  /* An HTML page: revalidated on every load, sent with the security
   * headers (Content-Security-Policy, Referrer-Policy). */
  bool page;
};
/* By the extension of the last segment of `path`, in any letter case;
 * application/octet-stream when unknown. Never NULL. */
const struct bo_web_type *bo_web_type_of(const char *path);

#endif
