/* A TCP proxy for the degradation tests: it sits between boxoffice and
 * PostgreSQL or Redis and makes that server look slow or frozen, without
 * touching the server itself.
 *
 * It runs as one thread of the test process, listens on 127.0.0.1 on a port
 * of its own and forwards every connection to 127.0.0.1:<target>. Two
 * faults, changeable at any time:
 *  - a delay: every chunk the target sends (an answer) is held back that
 *    long before it is passed on, as with a server that takes that long to
 *    answer each query; what the client sends passes at once;
 *  - a stall: nothing is read or forwarded in either direction, while new
 *    connections are still accepted, as with a server that was frozen
 *    (SIGSTOP, a full disk, a dead NFS mount): the kernel completes the
 *    handshake and then nothing ever comes back.
 * Data held back meanwhile is forwarded in order once the fault is lifted.
 *
 * Plain functions only (no Criterion assertions): they may be called from
 * any thread; failures are reported by return values. */
#ifndef IT_LATENCY_PROXY_H
#define IT_LATENCY_PROXY_H

#include <stdbool.h>
#include <stddef.h>

struct it_proxy;

/* Starts a proxy to 127.0.0.1:target_port, passing everything through.
 * NULL on failure (with a message on stderr). */
struct it_proxy *it_proxy_start(int target_port);
/* The port it listens on (127.0.0.1). */
int it_proxy_port(const struct it_proxy *p);
/* Holds every answer back `delay_ms` (0: none) from now on. */
void it_proxy_set_delay(struct it_proxy *p, int delay_ms);
/* Forwards nothing at all while `stalled`. */
void it_proxy_set_stall(struct it_proxy *p, bool stalled);
/* Closes every connection and the listening socket, ends the thread and
 * frees the proxy. NULL is ignored. */
void it_proxy_stop(struct it_proxy *p);

/* `url` ("scheme://[user@]127.0.0.1:PORT[/...]") with its port replaced by
 * `port`, into out; false when it has no "127.0.0.1:" port to replace. The
 * target port, when `old_port` is not NULL. */
bool it_proxy_url(const char *url, int port, char *out, size_t out_size,
                  int *old_port);

#endif
