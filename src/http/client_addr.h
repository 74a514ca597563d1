/* Which client a request comes from, for per-address limits.
 *
 * Without trusted proxies it is the peer of the TCP connection. Behind a
 * load balancer that peer is the balancer, so every client would share one
 * limit; the balancer names the client in X-Forwarded-For instead. That
 * header is believed only from peers in BOXOFFICE_TRUSTED_PROXIES, and only
 * as far as the chain of trusted hops reaches: entries are read from the
 * right (each proxy appends the address it saw), and the first one that is
 * not itself a trusted proxy is the client. Anything to its left was
 * written by the client and could be made up. An entry that is not an
 * address ends the walk at the hop that sent it. */
#ifndef BO_HTTP_CLIENT_ADDR_H
#define BO_HTTP_CLIENT_ADDR_H

#include "util/netaddr.h"

#include <stddef.h>

/* `forwarded` holds the X-Forwarded-For header values in the order they
 * arrived (a proxy that appends a header line of its own, as haproxy does,
 * puts it last). `out` receives the client's address. */
void bo_client_addr_resolve(const struct bo_netaddr *peer,
                            const char *const *forwarded, size_t n,
                            const struct bo_netrange *trusted,
                            int trusted_count, struct bo_netaddr *out);

#endif
