/* A throwaway redis-server for the Redis queue driver's tests: started by
 * tests/services.sh start-redis on a port of its own in a fresh temporary
 * folder, stopped and removed at the end. Criterion runs each test in a
 * process of its own, so the one server per process is one per test:
 *
 *   TestSuite(name, .init = redis_server_setup,
 *             .fini = redis_server_teardown);
 *
 * Also a connection of the test's own to that server, to look at (or
 * change) what the driver wrote, bypassing the driver. */
#ifndef BO_TEST_REDIS_SERVER_H
#define BO_TEST_REDIS_SERVER_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <sys/types.h>

/* Ignores SIGPIPE (a write to a connection Redis closed must be an error,
 * as in the server), makes the folder and starts the server there. */
void redis_server_setup(void);
/* Stops the server even when a test left it stopped (SIGSTOP) or behind a
 * password, and removes the folder. */
void redis_server_teardown(void);

/* Starts it again in the same folder; the test fails unless it comes back
 * on the same port. */
void redis_server_start(void);
void redis_server_stop(void);
/* The pid redis-server wrote; the test fails when there is none. */
pid_t redis_server_pid(void);

/* "redis://127.0.0.1:<port>" as start-redis printed it. */
const char *redis_server_url(void);
int redis_server_port(void);
/* The source tree's top folder (where tests/services.sh is). */
const char *redis_server_source_dir(void);

/* The test's own connection; the caller redisFree()s it. */
redisContext *redis_server_connect(void);
/* Runs a command that must not fail; the caller frees the reply. */
redisReply *direct_reply(redisContext *ctx, const char *format, ...);
/* Runs a command that must not fail and drops the reply. */
void direct_ok(redisContext *ctx, const char *format, ...);
/* Runs a command that must answer an integer, and returns it. */
long long direct_int(redisContext *ctx, const char *format, ...);

#endif
