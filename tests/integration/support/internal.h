/* What harness.c (servers, folders) and services.c (stores, the guard)
 * share; the tests themselves use harness.h only. */
#ifndef IT_INTERNAL_H
#define IT_INTERNAL_H

#include <stdbool.h>

/* A new mkdtemp folder under the scratch base, removed by teardown. */
void it_make_scratch_dir(char dir[256]);
/* Removes a folder and everything in it (errors ignored). */
void it_remove_tree(const char *dir);

/* The guard: a process that outlives the test process and undoes what the
 * test started (databases, Redis and PostgreSQL servers, folders) if the
 * test dies before its teardown. it_guard_start runs in it_setup;
 * it_guard_note tells it about one more thing to undo ("db NAME URL",
 * "redis DIR", "pg DIR", "dir DIR"); it_guard_finish, in teardown, lets it
 * undo the services now and waits until it has. */
void it_guard_start(void);
__attribute__((format(printf, 1, 2))) void it_guard_note(const char *fmt, ...);
void it_guard_finish(void);

/* Frees the stores (after the guard has dropped and stopped their
 * services). */
void it_stores_free(void);

#endif
