/*
 * workq: a small pool of threads for work that would block the event loop
 * (password hashing, name resolution). A job runs on a worker; its done
 * function runs later on the loop thread. Jobs carry ids, never pointers to
 * objects that may be freed meanwhile.
 */
#ifndef IO_WORKQ_H
#define IO_WORKQ_H

#include <stddef.h>

#include <ev.h>

/* Runs on a worker thread. */
typedef void workq_fn(void *job);
/* Runs on the loop thread after fn, and also for jobs dropped at free. */
typedef void workq_done(void *job);

struct workq;

/*
 * Start nthreads workers; at most maxjobs may wait or run at once. Returns
 * NULL on failure.
 */
struct workq	*workq_new(struct ev_loop *, int nthreads, size_t maxjobs);
/*
 * Queue job. Returns 0, or -1 when maxjobs are already queued (the caller
 * answers "busy") or on allocation failure.
 */
int		 workq_submit(struct workq *, workq_fn *, workq_done *,
		    void *job);
/*
 * Stop the workers (waiting for running jobs), call done for every job
 * that finished or never ran, and free the pool. NULL does nothing.
 */
void		 workq_free(struct workq *);

#endif
