/* Client addresses, for per-address limits and the trusted-proxy list.
 *
 * Every address is kept as 16 bytes, an IPv4 address in its IPv4-mapped
 * IPv6 form (::ffff:a.b.c.d), so that one key shape and one comparison
 * serve both families and "127.0.0.1" and "::ffff:127.0.0.1" (what a
 * dual-stack socket reports) are the same client. */
#ifndef BO_UTIL_NETADDR_H
#define BO_UTIL_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BO_NETADDR_BYTES 16
/* Longest text form, with its NUL (INET6_ADDRSTRLEN). */
#define BO_NETADDR_TEXT_SIZE 46
/* At most this many entries in a trusted-proxy list. */
#define BO_NETRANGE_LIST_MAX 16

struct bo_netaddr {
  uint8_t bytes[BO_NETADDR_BYTES]; /* all zero: unknown */
};

/* An address block: `base` with the first `prefix` bits significant (an
 * IPv4 /24 is stored as a /120 of the mapped form). */
struct bo_netrange {
  struct bo_netaddr base;
  int prefix; /* 0..128 */
};

/* An IPv4 or IPv6 literal of exactly `len` characters (no brackets, no
 * port), as inet_pton reads it. False for anything else. */
bool bo_netaddr_parse(const char *text, size_t len, struct bo_netaddr *out);

/* From a struct sockaddr of family AF_INET or AF_INET6 (`sa` is a
 * `const struct sockaddr *`; void here so this header needs no socket
 * headers). False for other families. */
bool bo_netaddr_from_sockaddr(const void *sa, struct bo_netaddr *out);

/* The address as text ("203.0.113.9", "2001:db8::1"). */
void bo_netaddr_format(const struct bo_netaddr *addr,
                       char out[BO_NETADDR_TEXT_SIZE]);

bool bo_netaddr_is_ipv4(const struct bo_netaddr *addr);

/* The part of an address that stands for one client, for per-client
 * limits: an IPv4 address as it is, an IPv6 address cut to its /64 (one
 * host is usually given a whole /64 to pick addresses from). */
struct bo_netaddr bo_netaddr_client_key(const struct bo_netaddr *addr);

/* "ADDRESS" or "ADDRESS/PREFIX" (PREFIX 0-32 for IPv4, 0-128 for IPv6). Bits
 * past the prefix must be zero: "10.1.2.3/8" is more likely a typo than a
 * block, so it is refused. */
bool bo_netrange_parse(const char *text, size_t len, struct bo_netrange *out);

bool bo_netrange_contains(const struct bo_netrange *range,
                          const struct bo_netaddr *addr);

/* A comma-separated list of ranges (spaces around entries allowed; an empty
 * text is an empty list). Writes up to `max` entries to `out` and returns
 * how many, or -1 when an entry is malformed or there are more than `max`.
 * `out` may be NULL to only check the text. */
int bo_netrange_parse_list(const char *text, struct bo_netrange *out, int max);

#endif
