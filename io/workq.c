/*
 * workq: worker threads whose results come back through ev_async. See
 * workq.h.
 */
#include <pthread.h>
#include <stdlib.h>

#include "io/workq.h"

struct workq_item {
	workq_fn		*fn;
	workq_done		*done;
	void			*job;
	struct workq_item	*next;
};

struct workq {
	struct ev_loop		*loop;
	ev_async		 async;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct workq_item	*todo, **todo_tail;	/* FIFO */
	struct workq_item	*finished;		/* any order */
	size_t			 njobs, maxjobs;
	int			 stopping;
	int			 nthreads;
	pthread_t		*threads;
};

static void *
workq_main(void *arg)
{
	struct workq *q = arg;
	struct workq_item *it;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->todo == NULL && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->stopping)
			break;
		it = q->todo;
		if ((q->todo = it->next) == NULL)
			q->todo_tail = &q->todo;
		pthread_mutex_unlock(&q->lock);
		it->fn(it->job);
		pthread_mutex_lock(&q->lock);
		it->next = q->finished;
		q->finished = it;
		ev_async_send(q->loop, &q->async);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Call done for every finished job; on the loop thread. */
static void
workq_reap(struct workq *q)
{
	struct workq_item *it, *next;

	pthread_mutex_lock(&q->lock);
	it = q->finished;
	q->finished = NULL;
	pthread_mutex_unlock(&q->lock);
	for (; it != NULL; it = next) {
		next = it->next;
		pthread_mutex_lock(&q->lock);
		q->njobs--;
		pthread_mutex_unlock(&q->lock);
		it->done(it->job);
		free(it);
	}
}

static void
workq_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	workq_reap(w->data);
}

/*
 * Start nthreads workers; at most maxjobs may wait or run at once. Returns
 * NULL on failure.
 */
struct workq *
workq_new(struct ev_loop *loop, int nthreads, size_t maxjobs)
{
	struct workq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((q->threads = calloc((size_t)nthreads, sizeof(pthread_t))) ==
	    NULL) {
		free(q);
		return NULL;
	}
	q->loop = loop;
	q->maxjobs = maxjobs;
	q->todo_tail = &q->todo;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	ev_async_init(&q->async, workq_async_cb);
	q->async.data = q;
	ev_async_start(loop, &q->async);
	ev_unref(loop);		/* an idle pool does not keep the loop alive */
	for (; q->nthreads < nthreads; q->nthreads++)
		if (pthread_create(&q->threads[q->nthreads], NULL, workq_main,
		    q) != 0) {
			workq_free(q);
			return NULL;
		}
	return q;
}

/*
 * Queue job. Returns 0, or -1 when maxjobs are already queued (the caller
 * answers "busy") or on allocation failure.
 */
int
workq_submit(struct workq *q, workq_fn *fn, workq_done *done, void *job)
{
	struct workq_item *it;

	pthread_mutex_lock(&q->lock);
	if (q->njobs >= q->maxjobs) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	q->njobs++;
	pthread_mutex_unlock(&q->lock);
	if ((it = calloc(1, sizeof(*it))) == NULL) {
		pthread_mutex_lock(&q->lock);
		q->njobs--;
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	it->fn = fn;
	it->done = done;
	it->job = job;
	pthread_mutex_lock(&q->lock);
	*q->todo_tail = it;
	q->todo_tail = &it->next;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/*
 * Stop the workers (waiting for running jobs), call done for every job
 * that finished or never ran, and free the pool. NULL does nothing.
 */
void
workq_free(struct workq *q)
{
	struct workq_item *it, *next;
	int i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	workq_reap(q);
	for (it = q->todo; it != NULL; it = next) {
		next = it->next;
		it->done(it->job);
		free(it);
	}
	ev_ref(q->loop);
	ev_async_stop(q->loop, &q->async);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q->threads);
	free(q);
}
