/*
 * penalty: the brute-force brake. See penalty.h.
 */
#include <stdlib.h>
#include <string.h>

#include "io/log.h"
#include "proxy/penalty.h"

struct penalty_entry {
	struct addrnode		 node;		/* first: the table's */
	struct penalty		*pt;
	unsigned		 failures;
	ev_tstamp		 last_failure;
	ev_tstamp		 next_at;	/* no check starts before */
	unsigned		 checks;	/* checks on now */
	struct penalty_wait	*head, *tail;
	size_t			 nwait;
	ev_timer		 timer;		/* the head's turn */
};

struct penalty {
	struct ev_loop		*loop;
	struct addrtab		 tab;
	unsigned long long	 evictions;
};

/* Checks an address may have on at once: a few while it has no failure
   (a fleet behind one NAT address logs in together), then one. */
static unsigned
entry_parallel(const struct penalty_entry *e)
{
	return e->failures == 0 ? PENALTY_PARALLEL_MAX : 1;
}

/* Seconds of penalty after n failures: 2^(n-1), at most max. */
static double
penalty_seconds(unsigned n, long max)
{
	double s = 1.;

	if (n == 0 || max <= 0)
		return 0.;
	while (--n > 0 && s < (double)max)
		s *= 2.;
	return s < (double)max ? s : (double)max;
}

struct penalty *
penalty_new(struct ev_loop *loop)
{
	struct penalty *pt;

	if ((pt = calloc(1, sizeof(*pt))) == NULL)
		return NULL;
	pt->loop = loop;
	if (addrtab_init(&pt->tab, PENALTY_TABLE_MAX) == -1) {
		free(pt);
		return NULL;
	}
	return pt;
}

static void
entry_free(struct penalty_entry *e)
{
	struct penalty *pt = e->pt;

	ev_timer_stop(pt->loop, &e->timer);
	addrtab_remove(&pt->tab, &e->node);
	free(e);
}

/* Free the table; no attempt may be queued or holding. NULL: nothing. */
void
penalty_free(struct penalty *pt)
{
	if (pt == NULL)
		return;
	while (pt->tab.oldest != NULL)
		entry_free((struct penalty_entry *)(void *)pt->tab.oldest);
	addrtab_free(&pt->tab);
	free(pt);
}

/* Nothing to remember: no failure in force, nothing on. */
static int
entry_idle(const struct penalty_entry *e, ev_tstamp now)
{
	return e->checks == 0 && e->head == NULL && (e->failures == 0 ||
	    now - e->last_failure >= PENALTY_FORGET);
}

/* Room for one more entry: forget the least recently used idle one, or
   else one whose failures are old; never one with a check or waiters. */
static int
penalty_room(struct penalty *pt, ev_tstamp now)
{
	struct addrnode *n;
	struct penalty_entry *e;

	if (pt->tab.n < pt->tab.max)
		return 0;
	for (n = pt->tab.oldest; n != NULL; n = n->newer) {
		e = (struct penalty_entry *)(void *)n;
		if (e->checks == 0 && e->head == NULL) {
			if (!entry_idle(e, now))
				pt->evictions++;
			entry_free(e);
			return 0;
		}
	}
	return -1;
}

static void	entry_timer_cb(struct ev_loop *, ev_timer *, int);

static struct penalty_entry *
entry_get(struct penalty *pt, const struct sockaddr *sa, ev_tstamp now)
{
	struct penalty_entry *e;
	struct addrkey k;

	addrkey_from(&k, sa);
	e = (struct penalty_entry *)(void *)addrtab_find(&pt->tab, &k);
	if (e != NULL) {
		if (e->failures > 0 && now - e->last_failure >= PENALTY_FORGET)
			e->failures = 0;
		addrtab_touch(&pt->tab, &e->node);
		return e;
	}
	if (penalty_room(pt, now) == -1 || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->node.key = k;
	e->pt = pt;
	ev_init(&e->timer, entry_timer_cb);
	e->timer.data = e;
	addrtab_insert(&pt->tab, &e->node);
	return e;
}

static void
wait_unlink(struct penalty_entry *e, struct penalty_wait *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		e->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		e->tail = w->prev;
	w->prev = w->next = NULL;
	e->nwait--;
}

/* The head may go when the penalty has passed: arm its timer (a zero
   one when it has: never call a waiter from inside another's call). */
static void
entry_kick(struct penalty_entry *e)
{
	ev_tstamp now = ev_now(e->pt->loop);

	if (e->checks >= entry_parallel(e) || e->head == NULL)
		return;
	ev_timer_stop(e->pt->loop, &e->timer);
	ev_timer_set(&e->timer, e->next_at > now ? e->next_at - now : 0., 0.);
	ev_timer_start(e->pt->loop, &e->timer);
}

static void
entry_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct penalty_entry *e = t->data;
	struct penalty_wait *w = e->head;

	(void)loop;
	(void)revents;
	if (e->checks >= entry_parallel(e) || w == NULL)
		return;
	wait_unlink(e, w);
	e->checks++;
	w->holding = 1;
	/* Room for another (no failure yet): its turn from the loop. */
	entry_kick(e);
	w->cb(w->arg);
}

/*
 * An attempt from sa wants its password checked. *delay gets the seconds
 * it will wait (0 for PENALTY_GO) and *failures the address's count, for
 * the log. cb is never called from inside this call.
 */
enum penalty_result
penalty_enter(struct penalty *pt, const struct sockaddr *sa,
    struct penalty_wait *w, penalty_cb *cb, void *arg, long max,
    double *delay, unsigned *failures)
{
	ev_tstamp now = ev_now(pt->loop);
	struct penalty_entry *e;

	memset(w, 0, sizeof(*w));
	*delay = 0.;
	*failures = 0;
	if ((e = entry_get(pt, sa, now)) == NULL)
		return PENALTY_FULL;
	*failures = e->failures;
	/* A lowered auth_penalty_max applies to penalties already set. */
	if (e->failures > 0 && e->next_at > e->last_failure +
	    penalty_seconds(e->failures, max))
		e->next_at = e->last_failure + penalty_seconds(e->failures,
		    max);
	w->e = e;
	w->cb = cb;
	w->arg = arg;
	if (e->checks < entry_parallel(e) && e->head == NULL &&
	    e->next_at <= now) {
		e->checks++;
		w->holding = 1;
		return PENALTY_GO;
	}
	if (e->nwait >= PENALTY_WAITERS_MAX) {
		w->e = NULL;
		return PENALTY_FULL;
	}
	w->prev = e->tail;
	if (e->tail != NULL)
		e->tail->next = w;
	else
		e->head = w;
	e->tail = w;
	e->nwait++;
	/* Roughly: the penalty, after the waiters ahead of this one. */
	*delay = (e->next_at > now ? e->next_at - now : 0.) +
	    (double)(e->nwait - 1) * penalty_seconds(e->failures, max);
	entry_kick(e);
	return PENALTY_WAIT;
}

/* The turn is given back: the next waiter's comes, or the entry goes. */
static void
entry_release(struct penalty_entry *e, struct penalty_wait *w)
{
	w->holding = 0;
	w->e = NULL;
	e->checks--;
	if (entry_idle(e, ev_now(e->pt->loop)))
		entry_free(e);
	else
		entry_kick(e);
}

/*
 * The check of the attempt holding the turn ended: ok forgets the
 * address's failures, a failure adds one; max (auth_penalty_max) caps the
 * next penalty. The next waiter, if any, gets its turn when the penalty
 * has passed.
 */
void
penalty_done(struct penalty *pt, struct penalty_wait *w, int ok, long max)
{
	struct penalty_entry *e = w->e;
	ev_tstamp now = ev_now(pt->loop);

	if (e == NULL || !w->holding)
		return;
	if (ok)
		e->failures = 0;
	else {
		if (e->failures < PENALTY_FAILURES_MAX)
			e->failures++;
		e->last_failure = now;
	}
	e->next_at = now + penalty_seconds(e->failures, max);
	entry_release(e, w);
}

/* The attempt is abandoned (its session ends): leave the queue, or give
   the turn back without counting anything. A wait not in it is left
   alone. */
void
penalty_cancel(struct penalty *pt, struct penalty_wait *w)
{
	struct penalty_entry *e = w->e;

	(void)pt;
	if (e == NULL)
		return;
	if (w->holding) {
		entry_release(e, w);
		return;
	}
	wait_unlink(e, w);
	w->e = NULL;
	if (entry_idle(e, ev_now(e->pt->loop)))
		entry_free(e);
}

size_t
penalty_entries(const struct penalty *pt)
{
	return pt->tab.n;
}

size_t
penalty_in_force(const struct penalty *pt)
{
	ev_tstamp now = ev_now(pt->loop);
	const struct addrnode *n;
	size_t c = 0;

	for (n = pt->tab.oldest; n != NULL; n = n->newer)
		if (((const struct penalty_entry *)(const void *)n)->next_at >
		    now)
			c++;
	return c;
}

unsigned long long
penalty_evictions(const struct penalty *pt)
{
	return pt->evictions;
}
