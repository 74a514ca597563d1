/* When an event stream is checked, when it sends, and when it sends a
 * heartbeat: the stream hub's decisions for one stream, kept apart from
 * threads and sockets so that tests can drive them with a made-up clock.
 *
 * The rules:
 *  - a check at most every recheck_ms (the check says; one second by
 *    default), at least BO_STREAM_RECHECK_MIN_MS apart;
 *  - an event only when the state differs from the last one sent, and
 *    never less than BO_STREAM_EVENT_GAP_MS after the previous event: a
 *    change seen sooner waits, and the check is asked again as soon as an
 *    event would be allowed (by then the state may have changed once more,
 *    and only the latest matters);
 *  - a heartbeat after BO_STREAM_HEARTBEAT_MS without anything sent.
 * Times are milliseconds of a monotonic clock. Not thread-safe: one
 * stream's timing belongs to the hub's thread. */
#ifndef BO_HTTP_STREAM_TIMING_H
#define BO_HTTP_STREAM_TIMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BO_STREAM_EVENT_GAP_MS 1000
#define BO_STREAM_HEARTBEAT_MS 15000
#define BO_STREAM_RECHECK_DEFAULT_MS 1000
#define BO_STREAM_RECHECK_MIN_MS 100
#define BO_STREAM_RECHECK_MAX_MS 60000

struct bo_stream_timing {
  int64_t next_check_ms;
  int64_t last_event_ms; /* the last state event */
  int64_t last_write_ms; /* the last bytes of any kind, heartbeats included */
  uint64_t last_hash;    /* of the last state event's data */
};

/* A fingerprint of an event's data (64-bit FNV-1a): two states are told
 * apart by it, so a change is missed only by a 2^-64 chance, and a stream
 * keeps 8 bytes instead of its last body. */
uint64_t bo_stream_hash(const char *data, size_t len);

/* The stream opened at `now_ms` and sent its first state (hash
 * `first_hash`); the first check is recheck_ms later (0: the default). */
void bo_stream_timing_start(struct bo_stream_timing *t, int64_t now_ms,
                            uint64_t first_hash, int64_t recheck_ms);

/* Whether anything is due at now_ms: a check or a heartbeat. */
bool bo_stream_timing_due(const struct bo_stream_timing *t, int64_t now_ms);
bool bo_stream_timing_check_due(const struct bo_stream_timing *t,
                                int64_t now_ms);

/* A check at now_ms found the state with `hash`. True when it is to be
 * sent now (and it is noted as sent); schedules the next check. */
bool bo_stream_timing_state(struct bo_stream_timing *t, int64_t now_ms,
                            uint64_t hash, int64_t recheck_ms);

/* The state bo_stream_timing_state() said to send could not be sent after
 * all: the next check sends whatever it finds, changed or not. */
void bo_stream_timing_forget(struct bo_stream_timing *t);

/* A check at now_ms could not tell: the next one is recheck_ms later. */
void bo_stream_timing_unknown(struct bo_stream_timing *t, int64_t now_ms,
                              int64_t recheck_ms);

/* True when a heartbeat is to be sent at now_ms (and notes it as sent). */
bool bo_stream_timing_heartbeat(struct bo_stream_timing *t, int64_t now_ms);

#endif
