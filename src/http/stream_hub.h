/* The stream hub: every open event stream of the process, and the one
 * thread that asks their checks and queues their events, heartbeats and
 * ends (see http/stream.h for what a stream sends). Private to the HTTP
 * layer: the server starts and stops it, the connection code hands it the
 * replies that are streams. */
#ifndef BO_HTTP_STREAM_HUB_H
#define BO_HTTP_STREAM_HUB_H

#include "http/stream.h"

#include <microhttpd.h>
#include <stddef.h>

struct bo_stream_hub;

/* Starts the hub's thread. NULL (logged) when it cannot. */
struct bo_stream_hub *bo_stream_hub_start(void);

/* The response for a reply's stream on `connection`: takes `spec` (freed,
 * also on failure). Queue it like any response; the stream lives until
 * MHD destroys it. NULL when memory ran out. */
struct MHD_Response *bo_stream_hub_respond(struct bo_stream_hub *hub,
                                           struct MHD_Connection *connection,
                                           struct bo_stream_spec *spec);

/* Shutdown, before the daemon stops: every open stream gets an end event
 * saying so and ends once the client has it; a stream opened after this
 * ends right after its first event. Stops the hub's thread. Afterwards no
 * connection is parked, so MHD_stop_daemon() may run. */
void bo_stream_hub_close(struct bo_stream_hub *hub);

/* After the daemon stopped (every stream is gone): frees the hub. */
void bo_stream_hub_free(struct bo_stream_hub *hub);

/* Streams open now. */
size_t bo_stream_hub_count(struct bo_stream_hub *hub);

#endif
