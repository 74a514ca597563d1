/* Group commit: the write transactions of this process that arrive while
 * one is being committed are committed together, with one fsync.
 *
 * Why. With synchronous=FULL every COMMIT waits for the WAL to reach the
 * disk, and SQLite has one writer at a time, so without grouping a rush of
 * holds is as fast as the disk flushes, one hold per flush
 * (docs/benchmarks.md). Grouping keeps every promise: a write's answer
 * still goes out only after the COMMIT that contains it is durable.
 *
 * How. A writer appends its job to a queue. If no thread is committing, it
 * becomes the leader: it takes every job queued so far (itself first, at
 * most GROUP_MAX), runs them one after another inside one BEGIN IMMEDIATE
 * ... COMMIT on its own connection, each inside a SAVEPOINT, and wakes the
 * others with their outcomes. A job that refuses (CONFLICT, NOT_FOUND) or
 * fails is rolled back to its savepoint, exactly as if it had run alone;
 * the ones before and after it are untouched. Jobs of one group see each
 * other's changes in queue order, which is a serial order, so the rules'
 * races (one winner per seat, no overdraft) are decided as before.
 *
 * Only this process's threads group; the busy timeout still arbitrates
 * with other processes on the file (boxoffice migrate, a sqlite3 shell).
 * Queueing on a mutex also ends a starvation that SQLite's own busy
 * handler shows with several writer threads: it waits by sleeping and
 * polling, so the thread that just committed takes the lock again while
 * another sleeps, for up to the whole 5 s timeout (bench/ceiling measured
 * it with 2..8 threads).
 *
 * When the group's transaction is lost as a whole (a failed COMMIT, or an
 * error that made SQLite roll everything back), every job that had
 * succeeded gets the COMMIT's outcome: TRANSIENT makes
 * bo_sqlite_transaction() run it again in a later group. */
#include "store/sqlite_internal.h"

/* Jobs per group at most: bounds how long the write lock is held. */
#define GROUP_MAX 64

void bo_sqlite_group_init(struct bo_sqlite_store *s) {
  pthread_mutex_init(&s->group_lock, NULL);
  pthread_cond_init(&s->group_done, NULL);
  s->queue_head = NULL;
  s->queue_tail = &s->queue_head;
  s->group_running = false;
}

void bo_sqlite_group_destroy(struct bo_sqlite_store *s) {
  pthread_cond_destroy(&s->group_done);
  pthread_mutex_destroy(&s->group_lock);
}

/* One job inside the open transaction; false when the transaction itself
 * is gone (SQLite rolled it back) or cannot go on. */
static bool run_job(struct bo_sqlite_conn *conn, struct bo_sqlite_write *job) {
  struct bo_sqlite_tx tx = {.base = {.driver = &bo_sqlite_driver},
                            .conn = conn};
  job->status = bo_sqlite_exec(conn, BO_SQLITE_SAVEPOINT);
  if (job->status != BO_STORE_OK)
    return false;
  job->status = job->fn(&tx.base, job->ctx);
  /* Some errors (a full disk, an I/O error) end the whole transaction. */
  if (sqlite3_get_autocommit(conn->db))
    return false;
  if (job->status != BO_STORE_OK &&
      bo_sqlite_exec(conn, BO_SQLITE_ROLLBACK_TO) != BO_STORE_OK)
    return false;
  return bo_sqlite_exec(conn, BO_SQLITE_RELEASE) == BO_STORE_OK;
}

/* Runs `jobs` (a list of at most GROUP_MAX) in one transaction on `conn`
 * and sets every job's status. */
static void run_group(struct bo_sqlite_conn *conn,
                      struct bo_sqlite_write *jobs) {
  enum bo_store_status begun = bo_sqlite_exec(conn, BO_SQLITE_BEGIN_IMMEDIATE);
  if (begun != BO_STORE_OK) {
    for (struct bo_sqlite_write *j = jobs; j; j = j->next)
      j->status = begun;
    return;
  }
  conn->in_tx = true;
  /* The first job that did not run: all of them on success. */
  struct bo_sqlite_write *unrun = NULL;
  bool intact = true;
  for (struct bo_sqlite_write *j = jobs; j && intact; j = j->next) {
    intact = run_job(conn, j);
    unrun = j->next;
  }
  /* What the whole group comes to: the COMMIT's outcome, or TRANSIENT for
   * a transaction that was lost before it (the jobs run again). */
  enum bo_store_status group =
      intact ? bo_sqlite_exec(conn, BO_SQLITE_COMMIT) : BO_STORE_TRANSIENT;
  if (group != BO_STORE_OK && !sqlite3_get_autocommit(conn->db) &&
      bo_sqlite_exec(conn, BO_SQLITE_ROLLBACK) != BO_STORE_OK)
    conn->broken = true;
  conn->in_tx = false;
  if (group == BO_STORE_OK)
    return;
  struct bo_sqlite_write *j = jobs;
  for (; j != unrun; j = j->next)
    if (j->status == BO_STORE_OK) /* its work was rolled back with the rest */
      j->status = group;
  for (; j; j = j->next)
    j->status = BO_STORE_TRANSIENT;
}

/* Takes up to GROUP_MAX jobs off the queue. Called with group_lock held. */
static struct bo_sqlite_write *take_group(struct bo_sqlite_store *s) {
  struct bo_sqlite_write *first = s->queue_head, *last = first;
  for (int n = 1; n < GROUP_MAX && last->next; n++)
    last = last->next;
  s->queue_head = last->next;
  if (s->queue_head == NULL)
    s->queue_tail = &s->queue_head;
  last->next = NULL;
  return first;
}

enum bo_store_status bo_sqlite_group_write(struct bo_sqlite_store *s,
                                           struct bo_sqlite_conn *conn,
                                           bo_store_tx_fn fn, void *ctx) {
  struct bo_sqlite_write job = {.fn = fn, .ctx = ctx};
  pthread_mutex_lock(&s->group_lock);
  *s->queue_tail = &job;
  s->queue_tail = &job.next;
  while (!job.done) {
    if (s->group_running) {
      pthread_cond_wait(&s->group_done, &s->group_lock);
      continue;
    }
    /* Lead: take the oldest jobs, ours among them unless more than
     * GROUP_MAX wait before it (then we lead again, or someone else
     * takes it). */
    s->group_running = true;
    struct bo_sqlite_write *group = take_group(s);
    pthread_mutex_unlock(&s->group_lock);
    run_group(conn, group);
    pthread_mutex_lock(&s->group_lock);
    for (struct bo_sqlite_write *j = group; j;) {
      struct bo_sqlite_write *next = j->next;
      j->done = true; /* after reading next: the owner may return now */
      j = next;
    }
    s->group_running = false;
    pthread_cond_broadcast(&s->group_done);
  }
  pthread_mutex_unlock(&s->group_lock);
  return job.status;
}
