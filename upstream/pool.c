/*
 * pool: one account's provider connections. See pool.h.
 *
 * Slots: busy (with a session) + parked (being RSET, or idle) never exceed
 * max. A freed slot or a connection gone idle wakes the head of the FIFO
 * from a zero timer, never from inside the call that freed it, so a
 * session is never re-entered from another session's teardown.
 */
#include <stdlib.h>

#include "io/log.h"
#include "upstream/pool.h"

/* A handed-back connection: being reset, then idle until its timer. */
struct pool_idle {
	struct pool		*p;
	struct upstream		*u;
	struct pool_idle	*prev, *next;
	ev_timer		 timer;
	int			 resetting;	/* RSET sent, no 250 yet */
};

struct pool {
	struct ev_loop			*loop;
	struct workq			*resolver;
	const struct upstream_target	*t;
	const char			*name;
	struct pool_limits		 lim;
	long				 busy;		/* with sessions */
	long				 parked;	/* resetting or idle */
	struct pool_idle		*idle;		/* newest first */
	struct pool_wait		*head, *tail;	/* the FIFO */
	long				 nwait;
	ev_timer			 kick;		/* wakes waiters */
	int				 stopping;
};

static int
pool_slot_free(const struct pool *p)
{
	return p->busy + p->parked < p->lim.max;
}

/* An idle connection that may be taken now, if any. */
static struct pool_idle *
pool_takeable(const struct pool *p)
{
	struct pool_idle *e;

	for (e = p->idle; e != NULL; e = e->next)
		if (!e->resetting)
			return e;
	return NULL;
}

/*
 * Someone may be served now: an idle connection is there, or a slot is
 * free and no connection is being reset (one soon idle is worth waiting
 * for: an RSET costs a round trip, a new connection several and a login).
 */
static int
pool_can_serve(const struct pool *p)
{
	const struct pool_idle *e;

	if (pool_takeable(p) != NULL)
		return 1;
	for (e = p->idle; e != NULL; e = e->next)
		if (e->resetting)
			return 0;
	return pool_slot_free(p);
}

/* Wake waiters from the loop, soon, if one can be served. */
static void
pool_kick(struct pool *p)
{
	if (p->head != NULL && pool_can_serve(p))
		ev_timer_start(p->loop, &p->kick);
}

static void
pool_unlink_idle(struct pool_idle *e)
{
	struct pool *p = e->p;

	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		p->idle = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	ev_timer_stop(p->loop, &e->timer);
	p->parked--;
}

/* Close a parked connection (QUIT if it is READY) and free its slot. */
static void
pool_close_idle(struct pool_idle *e)
{
	struct pool *p = e->p;

	pool_unlink_idle(e);
	upstream_free(e->u);
	free(e);
	pool_kick(p);
}

static void
pool_idle_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pool_idle *e = w->data;

	(void)loop;
	(void)revents;
	log_debug(0, "pool account=%s idle connection expired", e->p->name);
	pool_close_idle(e);
}

/* Events of a parked upstream: the RSET's reply, or its end. */
static void
pool_upstream_cb(void *arg, enum upstream_event ev)
{
	struct pool_idle *e = arg;
	struct pool *p = e->p;

	switch (ev) {
	case UPSTREAM_REPLY:
		if (e->resetting && upstream_reply_code(e->u) == 250) {
			e->resetting = 0;
			ev_timer_set(&e->timer, p->lim.idle_timeout, 0.);
			ev_timer_start(p->loop, &e->timer);
			upstream_update(e->u);
			log_debug(0, "pool account=%s connection idle used=%ld "
			    "idle=%ld", p->name, pool_used(p), pool_idle(p));
			pool_kick(p);
			return;
		}
		log_info(0, "pool account=%s provider answered RSET with %d: "
		    "connection closed", p->name, upstream_reply_code(e->u));
		break;
	case UPSTREAM_READY:
	case UPSTREAM_WRITABLE:
		upstream_update(e->u);
		return;
	case UPSTREAM_FAILED:
	case UPSTREAM_LOST:
		break;
	}
	pool_close_idle(e);
}

/*
 * Close the idle connections the provider closed (or spoke on) just now,
 * before the loop has told us: they are replaced, never handed out.
 */
static void
pool_purge(struct pool *p)
{
	struct pool_idle *e, *next;

	for (e = p->idle; e != NULL; e = next) {
		next = e->next;
		if (e->resetting || upstream_usable(e->u))
			continue;
		log_debug(0, "pool account=%s idle connection gone, not used",
		    p->name);
		pool_unlink_idle(e);
		upstream_free(e->u);
		free(e);
	}
}

/* Take a slot for sid and give it an upstream; the queue is not asked. */
static enum pool_result
pool_take(struct pool *p, uint64_t sid, upstream_cb *cb, void *arg,
    struct upstream **up)
{
	struct pool_idle *e;

	*up = NULL;
	pool_purge(p);
	if ((e = pool_takeable(p)) != NULL) {
		pool_unlink_idle(e);
		*up = e->u;
		free(e);
		p->busy++;
		upstream_set_idle(*up, 0);
		upstream_set_owner(*up, sid, cb, arg);
		log_info(sid, "pool account=%s reusing an authenticated "
		    "connection used=%ld idle=%ld", p->name, pool_used(p),
		    pool_idle(p));
		return POOL_READY;
	}
	if (!pool_can_serve(p))
		return POOL_QUEUED;
	if ((*up = upstream_new(p->loop, p->resolver, p->t, sid, cb,
	    arg)) == NULL)
		return POOL_ERROR;
	p->busy++;
	return POOL_NEW;
}

static void
pool_unlink_wait(struct pool_wait *w)
{
	struct pool *p = w->p;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		p->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		p->tail = w->prev;
	ev_timer_stop(p->loop, &w->timer);
	p->nwait--;
	w->p = NULL;
	w->prev = w->next = NULL;
}

static void
pool_kick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pool *p = t->data;
	struct pool_wait *w;
	struct upstream *u;
	enum pool_result r;

	(void)loop;
	(void)revents;
	/* Each grant may free or queue sessions: look again every time. */
	for (;;) {
		pool_purge(p);
		if ((w = p->head) == NULL || !pool_can_serve(p))
			break;
		pool_unlink_wait(w);
		r = pool_take(p, w->sid, w->cb, w->arg, &u);
		if (r == POOL_QUEUED)
			r = POOL_ERROR;		/* cannot happen */
		w->grant(w->arg, r, u);
	}
}

static void
pool_wait_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pool_wait *w = t->data;
	struct pool *p = w->p;

	(void)loop;
	(void)revents;
	log_info(w->sid, "pool account=%s no connection free after %g s "
	    "max=%ld waiting=%ld", p->name, p->lim.queue_timeout, p->lim.max,
	    p->nwait);
	pool_unlink_wait(w);
	w->grant(w->arg, POOL_TIMEOUT, NULL);
}

/*
 * A pool for account name (for logs) connecting to t; the strings must
 * outlive it. Returns NULL when out of memory.
 */
struct pool *
pool_new(struct ev_loop *loop, struct workq *resolver,
    const struct upstream_target *t, const char *name,
    const struct pool_limits *lim)
{
	struct pool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->loop = loop;
	p->resolver = resolver;
	p->t = t;
	p->name = name;
	p->lim = *lim;
	ev_timer_init(&p->kick, pool_kick_cb, 0., 0.);
	p->kick.data = p;
	return p;
}

/* Free the idle connections (QUIT, best effort) and the pool; NULL does
   nothing. No upstream may be out and no one queued. */
void
pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	pool_shutdown(p);
	while (p->head != NULL)
		pool_unlink_wait(p->head);
	ev_timer_stop(p->loop, &p->kick);
	free(p);
}

/*
 * An upstream for session sid, whose events go to cb with arg. Returns
 * POOL_READY (*up: an idle authenticated one, taken), POOL_NEW (*up:
 * connecting), POOL_QUEUED (w is in the FIFO; grant with arg follows), or
 * POOL_TIMEOUT / POOL_ERROR (no upstream). Someone already queued goes
 * first.
 */
enum pool_result
pool_get(struct pool *p, struct pool_wait *w, uint64_t sid, upstream_cb *cb,
    void *arg, pool_grant_cb *grant, struct upstream **up)
{
	enum pool_result r;

	*up = NULL;
	if (p->head == NULL &&
	    (r = pool_take(p, sid, cb, arg, up)) != POOL_QUEUED)
		return r;
	if (p->nwait >= POOL_QUEUE_MAX) {
		log_warn(sid, "pool account=%s queue full waiting=%ld",
		    p->name, p->nwait);
		return POOL_TIMEOUT;
	}
	w->p = p;
	w->sid = sid;
	w->cb = cb;
	w->arg = arg;
	w->grant = grant;
	w->next = NULL;
	if ((w->prev = p->tail) != NULL)
		p->tail->next = w;
	else
		p->head = w;
	p->tail = w;
	p->nwait++;
	ev_timer_init(&w->timer, pool_wait_timeout_cb, p->lim.queue_timeout,
	    0.);
	w->timer.data = w;
	ev_timer_start(p->loop, &w->timer);
	log_info(sid, "pool account=%s all %ld connections in use, queued "
	    "waiting=%ld", p->name, p->lim.max, p->nwait);
	pool_kick(p);		/* a connection may be idle but being reset */
	return POOL_QUEUED;
}

/* Leave the queue; a wait not queued is left alone. */
void
pool_cancel(struct pool_wait *w)
{
	if (w->p != NULL)
		pool_unlink_wait(w);
}

/*
 * Hand back an upstream whose session ended cleanly: if it is READY and
 * reuse is on it gets RSET and, on 250, waits idle; otherwise it is freed.
 * Either way its slot is the pool's again.
 */
void
pool_put(struct pool *p, struct upstream *u)
{
	struct pool_idle *e;

	if (u == NULL)
		return;
	if (p->stopping || p->lim.idle_timeout <= 0. ||
	    (e = calloc(1, sizeof(*e))) == NULL) {
		pool_drop(p, u);
		return;
	}
	e->p = p;
	e->u = u;
	if (upstream_reset(u, pool_upstream_cb, e) == -1) {
		free(e);
		pool_drop(p, u);
		return;
	}
	upstream_set_idle(u, 1);
	e->resetting = 1;
	ev_init(&e->timer, pool_idle_timeout_cb);
	e->timer.data = e;
	if ((e->next = p->idle) != NULL)
		e->next->prev = e;
	p->idle = e;
	p->busy--;
	p->parked++;
}

/* Free an upstream from this pool and release its slot; NULL does nothing. */
void
pool_drop(struct pool *p, struct upstream *u)
{
	if (u == NULL)
		return;
	upstream_free(u);
	p->busy--;
	pool_kick(p);
}

/*
 * New limits (a reload): idle connections over the new max are closed,
 * busy ones stay until handed back; waiters already queued keep their
 * deadlines; a larger max serves waiters at once.
 */
void
pool_set_limits(struct pool *p, const struct pool_limits *lim)
{
	struct pool_idle *e, *prev, *next;

	p->lim = *lim;
	/* Oldest first: the list is newest first. */
	for (e = p->idle; e != NULL && e->next != NULL; e = e->next)
		;
	for (; e != NULL && p->busy + p->parked > p->lim.max; e = prev) {
		prev = e->prev;
		if (!e->resetting)
			pool_close_idle(e);
	}
	if (p->lim.idle_timeout <= 0.)
		for (e = p->idle; e != NULL; e = next) {
			next = e->next;
			if (!e->resetting)
				pool_close_idle(e);
		}
	pool_kick(p);
}

/* The server is stopping: free the idle connections, keep no more. */
void
pool_shutdown(struct pool *p)
{
	p->stopping = 1;
	while (p->idle != NULL)
		pool_close_idle(p->idle);
}

/* Connections counted now (busy and idle), and idle ones, for logs and
   tests. */
long
pool_used(const struct pool *p)
{
	return p->busy + p->parked;
}

long
pool_idle(const struct pool *p)
{
	return p->parked;
}

long
pool_waiting(const struct pool *p)
{
	return p->nwait;
}
