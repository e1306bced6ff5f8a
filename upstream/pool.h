/*
 * pool: the provider connections of one account. It counts them against
 * the account's max_upstream_connections, keeps the sessions that want one
 * while none is free in a FIFO (each with its queue timeout), and keeps
 * authenticated connections that sessions handed back (after RSET) idle
 * for a while, to be taken instead of connecting and authenticating again.
 * An idle connection counts as one in use; one the provider closes while
 * idle is dropped without a word.
 */
#ifndef UPSTREAM_POOL_H
#define UPSTREAM_POOL_H

#include <stdint.h>

#include <ev.h>

#include "io/workq.h"
#include "upstream/upstream.h"

/* Limits. */
#define POOL_QUEUE_MAX		4096	/* sessions waiting for one account */

struct pool_limits {
	long		 max;		/* connections: busy + idle */
	double		 queue_timeout;	/* s a waiter waits for a slot */
	double		 idle_timeout;	/* s an idle connection is kept; 0:
					   connections are never kept */
};

enum pool_result {
	POOL_ERROR,	/* out of memory or resolver queue full: no upstream */
	POOL_NEW,	/* a new upstream: READY or FAILED follows */
	POOL_READY,	/* an idle, authenticated upstream: use it now */
	POOL_QUEUED,	/* no slot: the grant callback comes later */
	POOL_TIMEOUT,	/* no slot within queue_timeout (or queue full) */
};

/*
 * A queued request's answer: POOL_NEW or POOL_READY with the upstream,
 * POOL_TIMEOUT or POOL_ERROR with NULL. Never called from inside pool_get.
 */
typedef void pool_grant_cb(void *arg, enum pool_result, struct upstream *);

/* A place in the queue, kept by the one who waits (e.g. in a session). */
struct pool_wait {
	struct pool		*p;		/* NULL when not queued */
	struct pool_wait	*prev, *next;
	ev_timer		 timer;
	uint64_t		 sid;
	upstream_cb		*cb;
	void			*arg;
	pool_grant_cb		*grant;
};

struct pool;

/*
 * A pool for account name (for logs) connecting to t; the strings must
 * outlive it. Returns NULL when out of memory.
 */
struct pool	*pool_new(struct ev_loop *, struct workq *resolver,
		    const struct upstream_target *t, const char *name,
		    const struct pool_limits *);
/* Free the idle connections (QUIT, best effort) and the pool; NULL does
   nothing. No upstream may be out and no one queued. */
void		 pool_free(struct pool *);
/*
 * An upstream for session sid, whose events go to cb with arg. Returns
 * POOL_READY (*up: an idle authenticated one, taken), POOL_NEW (*up:
 * connecting), POOL_QUEUED (w is in the FIFO; grant with arg follows), or
 * POOL_TIMEOUT / POOL_ERROR (no upstream). Someone already queued goes
 * first.
 */
enum pool_result pool_get(struct pool *, struct pool_wait *w, uint64_t sid,
		    upstream_cb *cb, void *arg, pool_grant_cb *grant,
		    struct upstream **up);
/* Leave the queue; a wait not queued is left alone. */
void		 pool_cancel(struct pool_wait *);
/*
 * Hand back an upstream whose session ended cleanly: if it is READY and
 * reuse is on it gets RSET and, on 250, waits idle; otherwise it is freed.
 * Either way its slot is the pool's again.
 */
void		 pool_put(struct pool *, struct upstream *);
/* Free an upstream from this pool and release its slot; NULL does nothing. */
void		 pool_drop(struct pool *, struct upstream *);
/*
 * New limits (a reload): idle connections over the new max are closed,
 * busy ones stay until handed back; waiters already queued keep their
 * deadlines; a larger max serves waiters at once.
 */
void		 pool_set_limits(struct pool *, const struct pool_limits *);
/* The server is stopping: free the idle connections, keep no more. */
void		 pool_shutdown(struct pool *);
/* Connections counted now (busy and idle), and idle ones, for logs and
   tests. */
long		 pool_used(const struct pool *);
long		 pool_idle(const struct pool *);
/* Sessions waiting in the queue. */
long		 pool_waiting(const struct pool *);

#endif
