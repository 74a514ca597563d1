/* Open connections per client address, for BOXOFFICE_MAX_CONNECTIONS_PER_IP.
 *
 * libmicrohttpd has a per-address cap of its own, but it caps every
 * address, and the addresses that most need to be left alone are the ones
 * that carry many clients: a load balancer, and on one host everything
 * local (tests, a same-host haproxy). A slowloris from one remote host is
 * what the cap is for; capping the balancer, or the local client that a
 * test runs beside a local slowloris, would turn the defence into the
 * outage. So this cap exempts the trusted proxies
 * (BOXOFFICE_TRUSTED_PROXIES, by default 127.0.0.1 and ::1), and counts an
 * IPv6 client per /64.
 *
 * The server asks admits() when a connection is accepted and reports
 * opened() and closed() as MHD sets it up and tears it down. Between the
 * question and the count another worker thread may admit the same address,
 * so a burst can pass the cap by at most one connection per worker thread:
 * a soft cap, never a leak (only connections counted in are counted out).
 * Thread-safe. */
#ifndef BO_HTTP_CONN_LIMIT_H
#define BO_HTTP_CONN_LIMIT_H

#include "util/netaddr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bo_conn_limit;

/* At most `per_address` open connections per client (1 or more) except
 * from the `exempt_count` ranges (copied). `expected` is how many
 * addresses may be open at once (max_connections), to size the table.
 * NULL when memory runs out. */
struct bo_conn_limit *bo_conn_limit_create(int64_t per_address,
                                           const struct bo_netrange *exempt,
                                           int exempt_count, size_t expected);
void bo_conn_limit_destroy(struct bo_conn_limit *limit);

/* Whether a new connection from `addr` is let in. */
bool bo_conn_limit_admits(struct bo_conn_limit *limit,
                          const struct bo_netaddr *addr);

/* A connection from `addr` is open: counted unless exempt. True when it
 * was counted, and only then must closed() be called for it. False also
 * when memory ran out (the connection is then simply not counted). */
bool bo_conn_limit_opened(struct bo_conn_limit *limit,
                          const struct bo_netaddr *addr);
void bo_conn_limit_closed(struct bo_conn_limit *limit,
                          const struct bo_netaddr *addr);

/* Addresses with open counted connections (for tests). */
size_t bo_conn_limit_addresses(struct bo_conn_limit *limit);

#endif
