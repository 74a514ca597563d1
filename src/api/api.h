/* The API layer: one file per resource. Each handler parses its input spec,
 * calls the booking rules and renders the answer; none of them touches SQL
 * or the queue's insides. routes.c is the one table that maps paths to
 * them. */
#ifndef BO_API_API_H
#define BO_API_API_H

#include "http/router.h"

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
/* ops.c */
void bo_api_ops_health(struct bo_app *, const struct bo_request *,
                       struct bo_reply *);
void bo_api_ops_metrics(struct bo_app *, const struct bo_request *,
                        struct bo_reply *);

#endif
