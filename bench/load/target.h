/* The server under test: --url parsed once into a socket address and the
 * Host header, and a probe that tells "server down" (exit 1) apart from a
 * run that merely saw errors. */
#ifndef BO_LOAD_TARGET_H
#define BO_LOAD_TARGET_H

#include <netinet/in.h>
#include <stdbool.h>

struct bo_load_target {
  struct sockaddr_in addr;
  char host_header[300]; /* "HOST:PORT" as written in the URL */
};

/* Accepts http://HOST[:PORT][/], HOST an IPv4 literal or a name that
 * resolves to IPv4. False (with a message on stderr) otherwise. */
bool bo_load_target_parse(const char *url, struct bo_load_target *out);

/* Whether a TCP connection to the server opens within `timeout_ms`. */
bool bo_load_target_reachable(const struct bo_load_target *t, int timeout_ms);

#endif
