/*
 * check_pool: upstream/pool's slot counting and FIFO on a real loop. The
 * upstreams it makes point at a closed loopback port, so none ever gets
 * READY: the tests see slots taken, waiters queued and served in order
 * when a slot is freed, a cancelled waiter never served, and the queue
 * timeout.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "io/workq.h"
#include "upstream/pool.h"
#include "tests/unit/suites.h"

#define POOL_TEST_WAITERS	3
#define POOL_TEST_SPINS		2000	/* loop iterations before giving up */

struct grant {
	int			 n;		/* grants seen */
	enum pool_result	 r;
	struct upstream		*u;
	int			 order;		/* 1 + global grant count */
};

static int	grant_count;

static void
test_up_cb(void *arg, enum upstream_event ev)
{
	(void)arg;
	(void)ev;		/* connection refused: FAILED, ignored */
}

static void
test_grant_cb(void *arg, enum pool_result r, struct upstream *u)
{
	struct grant *g = arg;

	g->n++;
	g->r = r;
	g->u = u;
	g->order = ++grant_count;
}

/* Let the resolver's jobs come back before the pool goes. */
static void
drain(struct ev_loop *loop)
{
	int i;

	for (i = 0; i < POOL_TEST_SPINS / 20; i++) {
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
		usleep(1000);
	}
}

/* Run the loop until *flag is non-zero (bounded). */
static void
spin_until(struct ev_loop *loop, const int *flag)
{
	int i;

	for (i = 0; i < POOL_TEST_SPINS && *flag == 0; i++)
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
	if (*flag == 0) {
		/* The queue timeout needs real time to pass. */
		for (i = 0; i < POOL_TEST_SPINS && *flag == 0; i++)
			ev_run(loop, EVRUN_ONCE);
	}
}

START_TEST(test_pool_fifo)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct workq *wq = workq_new(loop, 1, 16);
	struct upstream_target t = { .host = "127.0.0.1", .port = "1",
	    .tls = 1, .email = "a@example.com", .helo = "test",
	    .timeout = 5 };
	struct pool_limits lim = { .max = 2, .queue_timeout = 30.,
	    .idle_timeout = 60. };
	struct pool_wait w[POOL_TEST_WAITERS], wa, wb;
	struct grant g[POOL_TEST_WAITERS];
	struct upstream *a, *b, *u;
	struct pool *p;

	memset(w, 0, sizeof(w));
	memset(g, 0, sizeof(g));
	memset(&wa, 0, sizeof(wa));
	memset(&wb, 0, sizeof(wb));
	grant_count = 0;
	ck_assert_ptr_nonnull(wq);
	p = pool_new(loop, wq, &t, "a", &lim);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(pool_get(p, &wa, 1, test_up_cb, NULL, test_grant_cb,
	    &a), POOL_NEW);
	ck_assert_int_eq(pool_get(p, &wb, 2, test_up_cb, NULL, test_grant_cb,
	    &b), POOL_NEW);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(pool_used(p), 2);
	ck_assert_int_eq(pool_get(p, &w[0], 3, test_up_cb, &g[0],
	    test_grant_cb, &u), POOL_QUEUED);
	ck_assert_ptr_null(u);
	ck_assert_int_eq(pool_get(p, &w[1], 4, test_up_cb, &g[1],
	    test_grant_cb, &u), POOL_QUEUED);
	ck_assert_int_eq(pool_get(p, &w[2], 5, test_up_cb, &g[2],
	    test_grant_cb, &u), POOL_QUEUED);
	/* Waiters are told later, never from inside pool_get. */
	ck_assert_int_eq(g[0].n + g[1].n + g[2].n, 0);

	/* Waiter 1 gives up; a freed slot goes to waiter 0, the next to 2. */
	pool_cancel(&w[1]);
	pool_cancel(&w[1]);		/* twice is harmless */
	pool_drop(p, a);
	ck_assert_int_eq(g[0].n, 0);	/* not from inside pool_drop */
	spin_until(loop, &g[0].n);
	ck_assert_int_eq(g[0].n, 1);
	ck_assert_int_eq(g[0].r, POOL_NEW);
	ck_assert_ptr_nonnull(g[0].u);
	ck_assert_int_eq(g[2].n, 0);
	ck_assert_int_eq(pool_used(p), 2);
	/* A not-READY upstream handed back is closed: the slot is free. */
	pool_put(p, b);
	spin_until(loop, &g[2].n);
	ck_assert_int_eq(g[2].r, POOL_NEW);
	ck_assert_int_eq(g[2].order, 2);
	ck_assert_int_eq(g[1].n, 0);
	ck_assert_int_eq(pool_idle(p), 0);

	pool_drop(p, g[0].u);
	pool_drop(p, g[2].u);
	pool_drop(p, NULL);
	ck_assert_int_eq(pool_used(p), 0);
	drain(loop);
	pool_free(p);
	workq_free(wq);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_pool_timeout)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct workq *wq = workq_new(loop, 1, 16);
	struct upstream_target t = { .host = "127.0.0.1", .port = "1",
	    .tls = 1, .email = "a@example.com", .helo = "test",
	    .timeout = 5 };
	struct pool_limits lim = { .max = 1, .queue_timeout = 0.05,
	    .idle_timeout = 0. };
	struct pool_wait wa, w;
	struct grant g;
	struct upstream *a, *u;
	struct pool *p;

	memset(&wa, 0, sizeof(wa));
	memset(&w, 0, sizeof(w));
	memset(&g, 0, sizeof(g));
	p = pool_new(loop, wq, &t, "a", &lim);
	ck_assert_int_eq(pool_get(p, &wa, 1, test_up_cb, NULL, test_grant_cb,
	    &a), POOL_NEW);
	ck_assert_int_eq(pool_get(p, &w, 2, test_up_cb, &g, test_grant_cb,
	    &u), POOL_QUEUED);
	spin_until(loop, &g.n);
	ck_assert_int_eq(g.n, 1);
	ck_assert_int_eq(g.r, POOL_TIMEOUT);
	ck_assert_ptr_null(g.u);
	ck_assert_ptr_null(w.p);	/* out of the queue */
	pool_drop(p, a);
	drain(loop);
	pool_free(p);
	workq_free(wq);
	ev_loop_destroy(loop);
}
END_TEST

Suite *
pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, test_pool_fifo);
	tcase_add_test(tc, test_pool_timeout);
	suite_add_tcase(s, tc);
	return s;
}
