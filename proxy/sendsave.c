/*
 * sendsave: sending windows across restarts. See sendsave.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "io/atomicfile.h"
#include "io/errf.h"
#include "io/log.h"
#include "proxy/sendsave.h"

#define SENDSAVE_VERSION	1
#define SENDSAVE_MODE		0600
#define SENDSAVE_ERR_MAX	512
#define SENDSAVE_DRAIN_MAX	100	/* loop turns to wait for a write */

/* One write, handed to a worker. */
struct sendsave_job {
	struct server	*srv;
	char		*dir;
	char		*text;
	size_t		 len;
	int		 r;
	char		 err[SENDSAVE_ERR_MAX];
};

/* The hours of win that are in the last day, as [[hour, msgs, rcpts]]. */
static json_t *
win_json(const struct sendwin *w, time_t now)
{
	time_t h = now / SENDWIN_HOUR;
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < SENDWIN_DAY_SLOTS; i++)
		if (w->hour[i] > h - SENDWIN_DAY_SLOTS && w->hour[i] <= h &&
		    (w->hour_msgs[i] > 0 || w->hour_rcpts[i] > 0))
			json_array_append_new(a, json_pack("[I,I,I]",
			    (json_int_t)w->hour[i],
			    (json_int_t)w->hour_msgs[i],
			    (json_int_t)w->hour_rcpts[i]));
	return a;
}

/* The file's text; NULL out of memory. */
static char *
sendsave_text(const struct server *srv, size_t *len)
{
	const struct runtime *rt = srv->rt;
	const struct stats *st = &srv->sessions.stats;
	const struct stats_user *u;
	json_t *o, *acc, *usr;
	time_t now = time(NULL);
	size_t i;
	char *t;

	acc = json_object();
	usr = json_object();
	o = json_pack("{s:i, s:I, s:o, s:o}", "version", SENDSAVE_VERSION,
	    "saved", (json_int_t)now, "accounts", acc, "users", usr);
	if (o == NULL)
		return NULL;
	for (i = 0; i < rt->cfg->naccounts; i++)
		json_object_set_new(acc, rt->accounts[i].cfg->name,
		    win_json(&rt->accounts[i].ra->win, now));
	for (i = 0; i < STATS_USER_BUCKETS; i++)
		for (u = st->users[i]; u != NULL; u = u->next)
			if (u->win != NULL)
				json_object_set_new(usr, u->name,
				    win_json(u->win, now));
	t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (t != NULL)
		*len = strlen(t);
	return t;
}

static void
job_run(void *arg)
{
	struct sendsave_job *j = arg;

	j->r = atomicfile_write(j->dir, SENDSAVE_FILE, j->text, j->len,
	    SENDSAVE_MODE, j->err, sizeof(j->err));
}

static void
job_done(void *arg)
{
	struct sendsave_job *j = arg;

	if (j->r == -1)
		log_err(0, "sending counts not saved: %s", j->err);
	j->srv->sendsave_busy = 0;
	free(j->dir);
	free(j->text);
	free(j);
}

/* Write the windows now, on a worker. */
static void
sendsave_write(struct server *srv)
{
	struct sendsave_job *j;

	if (srv->sendsave_busy || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->srv = srv;
	if ((j->dir = strdup(srv->rt->cfg->state_dir)) == NULL ||
	    (j->text = sendsave_text(srv, &j->len)) == NULL ||
	    workq_submit(srv->resolveq, job_run, job_done, j) == -1) {
		free(j->dir);
		free(j->text);
		free(j);
		return;		/* dirty still: the next tick tries again */
	}
	srv->sendsave_busy = 1;
	srv->sessions.send_dirty = 0;
}

static void
sendsave_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;

	(void)loop;
	(void)revents;
	if (srv->sessions.send_dirty)
		sendsave_write(srv);
}

/* Start the periodic writes on the server's loop (a background timer). */
void
sendsave_start(struct server *srv)
{
	ev_timer_init(&srv->sendsave_timer, sendsave_tick, SENDSAVE_EVERY,
	    SENDSAVE_EVERY);
	srv->sendsave_timer.data = srv;
	ev_timer_start(srv->loop, &srv->sendsave_timer);
	ev_unref(srv->loop);
}

/* Stop them, and write now if anything changed (blocking: at exit). */
void
sendsave_stop(struct server *srv)
{
	char err[SENDSAVE_ERR_MAX], *t;
	size_t len;
	int n;

	if (ev_is_active(&srv->sendsave_timer)) {
		ev_ref(srv->loop);
		ev_timer_stop(srv->loop, &srv->sendsave_timer);
	}
	/* A write on a worker must not land after this one. */
	for (n = 0; srv->sendsave_busy && n < SENDSAVE_DRAIN_MAX; n++)
		ev_run(srv->loop, EVRUN_ONCE);
	if (!srv->sessions.send_dirty || srv->rt == NULL ||
	    (t = sendsave_text(srv, &len)) == NULL)
		return;
	if (atomicfile_write(srv->rt->cfg->state_dir, SENDSAVE_FILE, t, len,
	    SENDSAVE_MODE, err, sizeof(err)) == -1)
		log_err(0, "sending counts not saved: %s", err);
	srv->sessions.send_dirty = 0;
	free(t);
}

/* Put one saved window back into w. */
static void
win_load(struct sendwin *w, json_t *a, time_t now)
{
	json_int_t h, m, r;
	json_t *slot;
	size_t i;

	json_array_foreach(a, i, slot)
		if (json_unpack(slot, "[I,I,I]", &h, &m, &r) == 0 && h >= 0 &&
		    m >= 0 && r >= 0)
			sendwin_restore(w, now, (time_t)h, (unsigned long)m,
			    (unsigned long)r);
}

/* Load the file into the current generation's accounts and the users.
   A missing file is no error; a bad one is logged and ignored. */
void
sendsave_load(struct server *srv)
{
	const struct runtime *rt = srv->rt;
	char path[ATOMICFILE_PATH_MAX];
	struct stats_user *su;
	json_error_t jerr;
	json_t *o, *acc, *usr, *v;
	const char *name;
	time_t now = time(NULL);
	struct stat sb;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", rt->cfg->state_dir,
	    SENDSAVE_FILE);
	if (stat(path, &sb) == 0 && sb.st_size > SENDSAVE_FILE_MAX) {
		log_warn(0, "%s: over %d bytes: sending counts start from "
		    "zero", path, SENDSAVE_FILE_MAX);
		return;
	}
	if ((o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		if (errno != ENOENT && strstr(jerr.text, "unable to open") ==
		    NULL)
			log_warn(0, "%s: %s (line %d): sending counts start "
			    "from zero", path, jerr.text, jerr.line);
		return;
	}
	if (json_unpack(o, "{s:o, s:o}", "accounts", &acc, "users", &usr) !=
	    0 || !json_is_object(acc) || !json_is_object(usr)) {
		log_warn(0, "%s: not a sending counts file: they start from "
		    "zero", path);
		json_decref(o);
		return;
	}
	for (i = 0; i < rt->cfg->naccounts; i++)
		if ((v = json_object_get(acc, rt->accounts[i].cfg->name)) !=
		    NULL)
			win_load(&rt->accounts[i].ra->win, v, now);
	json_object_foreach(usr, name, v)
		if ((su = stats_user(&srv->sessions.stats, name)) != NULL &&
		    (su->win != NULL || (su->win = calloc(1,
		    sizeof(*su->win))) != NULL))
			win_load(su->win, v, now);
	json_decref(o);
}
