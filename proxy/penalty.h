/*
 * penalty: the brute-force brake, in the manner of Dovecot's auth_penalty.
 * Per client address (addrtab.h: IPv4 /32, IPv6 /64) it counts failed
 * logins; after n failures the address's next attempt waits
 * min(2^(n-1), auth_penalty_max) s before its password is checked, and a
 * success forgets the failures. It paces the address, not the connection:
 * once it has failed, one check at a time per address, whatever the
 * number of connections, each started only once the penalty in force has
 * passed; the others wait in a FIFO. An address with no failure has
 * PENALTY_PARALLEL_MAX checks at once (a fleet behind one NAT address).
 * auth_penalty_max = 0 leaves only that pacing. The table is bounded (PENALTY_TABLE_MAX); the address used
 * least recently is forgotten first, never one with a check or a waiter.
 */
#ifndef PROXY_PENALTY_H
#define PROXY_PENALTY_H

#include <sys/socket.h>
#include <time.h>

#include <ev.h>

#include "proxy/addrtab.h"

/* Limits. */
#define PENALTY_TABLE_MAX	65536	/* addresses remembered */
#define PENALTY_FORGET		3600	/* s after its last failure an
					   address starts afresh */
#define PENALTY_WAITERS_MAX	1024	/* attempts queued per address */
#define PENALTY_FAILURES_MAX	1000000	/* failures counted per address */
#define PENALTY_PARALLEL_MAX	4	/* checks at once from an address
					   with no failure */

struct penalty;
struct penalty_entry;

/* Your turn: check the password now, then call penalty_done. */
typedef void penalty_cb(void *arg);

/* One attempt, kept by the session that makes it. */
struct penalty_wait {
	struct penalty_entry	*e;	/* NULL: not in the table */
	int			 holding;	/* its check is the one on */
	struct penalty_wait	*prev, *next;
	penalty_cb		*cb;
	void			*arg;
};

enum penalty_result {
	PENALTY_GO,	/* check now (the caller holds the address's turn) */
	PENALTY_WAIT,	/* queued: cb comes once the penalty has passed */
	PENALTY_FULL,	/* no room in the table or the queue: refuse */
};

struct penalty	*penalty_new(struct ev_loop *);
/* Free the table; no attempt may be queued or holding. NULL: nothing. */
void		 penalty_free(struct penalty *);
/*
 * An attempt from sa wants its password checked. *delay gets the seconds
 * it will wait (0 for PENALTY_GO) and *failures the address's count, for
 * the log. cb is never called from inside this call.
 */
enum penalty_result penalty_enter(struct penalty *, const struct sockaddr *sa,
		    struct penalty_wait *w, penalty_cb *cb, void *arg,
		    long max, double *delay, unsigned *failures);
/*
 * The check of the attempt holding the turn ended: ok forgets the
 * address's failures, a failure adds one; max (auth_penalty_max) caps the
 * next penalty. The next waiter, if any, gets its turn when the penalty
 * has passed.
 */
void		 penalty_done(struct penalty *, struct penalty_wait *w, int ok,
		    long max);
/* The attempt is abandoned (its session ends): leave the queue, or give
   the turn back without counting anything. A wait not in it is left
   alone. */
void		 penalty_cancel(struct penalty *, struct penalty_wait *w);
/* For metrics and status: addresses remembered, those with a penalty in
   force now, and how many were forgotten to make room. */
size_t		 penalty_entries(const struct penalty *);
size_t		 penalty_in_force(const struct penalty *);
unsigned long long penalty_evictions(const struct penalty *);

#endif
