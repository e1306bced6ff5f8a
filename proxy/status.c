/*
 * status: the daemon's view of itself. See status.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "oauth/grant.h"
#include "proxy/status.h"

#ifndef AUTHRELAY_VERSION
#error "AUTHRELAY_VERSION comes from the file VERSION, through the Makefile"
#endif

/* An account's credential, in one word, and whether it is a problem. */
enum cred_state { CRED_VALID, CRED_IDLE, CRED_FAILING, CRED_REAUTH };

static const char *const cred_names[] = {
	"valid", "idle", "failing", "needs-authorize",
};

static enum cred_state
cred_state(const struct oauth_status *st)
{
	if (st->needs_authorize)
		return CRED_REAUTH;
	if (st->valid)
		return CRED_VALID;
	if (st->last_at != 0 && !st->last_ok)
		return CRED_FAILING;
	/* No token cached, none needed yet (fetched at first use). */
	return CRED_IDLE;
}

/* The lines of text as a JSON array. */
static json_t *
lines_json(const char *text)
{
	json_t *a = json_array();
	const char *p;
	size_t n;

	for (p = text; a != NULL && p != NULL && *p != '\0';
	    p += n + (p[n] != '\0')) {
		n = strcspn(p, "\n");
		json_array_append_new(a, json_stringn(p, n));
	}
	return a;
}

static json_t *
account_json(const struct gen_account *ga, int *degraded)
{
	struct relay_account *ra = ga->ra;
	struct oauth_status st;
	enum cred_state cs;
	long used, idle;
	time_t now;

	oauth_account_status(ra->oauth, &st);
	cs = cred_state(&st);
	now = time(NULL);
	if (cs == CRED_FAILING || cs == CRED_REAUTH)
		*degraded = 1;
	used = pool_used(ra->pool);
	idle = pool_idle(ra->pool);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:I, s:I, s:s, s:s, "
	    "s:b, s:b}, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I, "
	    "s:I, s:{s:I, s:I, s:I, s:I}}}",
	    "name", ga->cfg->name,
	    "email", ga->cfg->email,
	    "provider", ga->cfg->provider->name,
	    "grant", grant_name(ga->cfg->grant),
	    "credential",
	    "state", cred_names[cs],
	    "expires", (json_int_t)st.expires_at,
	    "last_refresh", (json_int_t)st.last_at,
	    "last_result", st.last_result,
	    "reason", st.reason,
	    "refreshing", st.refreshing,
	    "unsaved", st.unsaved,
	    "connections",
	    "busy", (json_int_t)(used - idle),
	    "idle", (json_int_t)idle,
	    "waiting", (json_int_t)pool_waiting(ra->pool),
	    "max", (json_int_t)ga->cfg->max_upstream_connections,
	    "messages",
	    "relayed", (json_int_t)ra->stats.messages[MSG_RELAYED],
	    "failed", (json_int_t)(ra->stats.messages[MSG_REJECTED] +
	    ra->stats.messages[MSG_FAILED]),
	    "sending",
	    "messages_last_minute", (json_int_t)sendwin_minute(&ra->win, now),
	    "messages_last_day", (json_int_t)sendwin_day_msgs(&ra->win, now),
	    "recipients_last_day", (json_int_t)sendwin_day_rcpts(&ra->win,
	    now),
	    "limits",
	    "max_messages_per_minute", (json_int_t)ga->cfg->limits.msgs_minute,
	    "max_messages_per_day", (json_int_t)ga->cfg->limits.msgs_day,
	    "max_recipients_per_day", (json_int_t)ga->cfg->limits.rcpts_day,
	    "max_recipients_per_message",
	    (json_int_t)ga->cfg->limits.rcpts_msg);
}

static json_t *
listener_json(const struct gen_listener *gl)
{
	return json_pack("{s:s, s:s, s:s, s:I}",
	    "name", gl->name,
	    "address", gl->cfg->text,
	    "mode", config_mode_name(gl->cfg->mode),
	    "sessions", (json_int_t)gl->sock->nsessions);
}

static json_t *
reload_json(const struct server_reload *r)
{
	if (r->at == 0)
		return json_pack("{s:n, s:n, s:[]}", "at", "result", "report");
	return json_pack("{s:I, s:s, s:o}", "at", (json_int_t)r->at,
	    "result", r->ok ? "applied" : "refused",
	    "report", lines_json(r->report));
}

static char *
dump(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* The status as one JSON object (malloc'd text); NULL if out of memory. */
char *
status_json(const struct server *srv)
{
	const struct runtime *rt = srv->rt;
	json_t *o, *accounts, *listeners;
	int degraded = 0;
	size_t i;

	if ((accounts = json_array()) == NULL ||
	    (listeners = json_array()) == NULL) {
		json_decref(accounts);
		return NULL;
	}
	for (i = 0; i < rt->cfg->naccounts; i++)
		json_array_append_new(accounts,
		    account_json(&rt->accounts[i], &degraded));
	for (i = 0; i < rt->nlisteners; i++)
		json_array_append_new(listeners,
		    listener_json(&rt->listeners[i]));
	o = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:b, s:o, s:o, "
	    "s:o}",
	    "version", AUTHRELAY_VERSION,
	    "pid", (json_int_t)getpid(),
	    "config", srv->config_path,
	    "started", (json_int_t)srv->started,
	    "uptime", (json_int_t)(time(NULL) - srv->started),
	    "generation", (json_int_t)rt->id,
	    "sessions", (json_int_t)srv->sessions.n,
	    "healthy", !degraded,
	    "last_reload", reload_json(&srv->reload),
	    "listeners", listeners,
	    "accounts", accounts);
	return dump(o);
}

/* A reload's answer: applied or refused, with its report's lines. */
char *
status_reload_json(const struct server *srv, int applied, char *report)
{
	json_t *o;

	o = json_pack("{s:s, s:I, s:o}",
	    "result", applied ? "applied" : "refused",
	    "generation", (json_int_t)srv->rt->id,
	    "report", lines_json(report));
	free(report);
	return dump(o);
}

/*
 * Ready to serve: listening, and every account able to get a credential.
 * 1, or 0 with the first reason in why.
 */
int
status_ready(const struct server *srv, char *why, size_t size)
{
	const struct runtime *rt = srv->rt;
	struct oauth_status st;
	size_t i;

	if (rt == NULL || srv->sessions.stopping) {
		snprintf(why, size, "%s", rt == NULL ? "starting" :
		    "stopping");
		return 0;
	}
	for (i = 0; i < rt->cfg->naccounts; i++) {
		oauth_account_status(rt->accounts[i].ra->oauth, &st);
		switch (cred_state(&st)) {
		case CRED_REAUTH:
			snprintf(why, size, "account %s needs authorize",
			    rt->accounts[i].cfg->name);
			return 0;
		case CRED_FAILING:
			snprintf(why, size, "account %s cannot get a token: "
			    "%s", rt->accounts[i].cfg->name, st.last_result);
			return 0;
		default:
			break;
		}
	}
	return 1;
}

/* An account's credential: 1 when it can get a token (valid, or not
   asked for yet), 0 when its refresh fails or it needs authorize. */
int
status_credential_ok(const struct oauth_status *st)
{
	enum cred_state cs = cred_state(st);

	return cs == CRED_VALID || cs == CRED_IDLE;
}

/* One line for systemd: sessions, accounts ready, accounts needing
   authorize. */
void
status_line(const struct server *srv, char *buf, size_t size)
{
	const struct runtime *rt = srv->rt;
	struct oauth_status st;
	size_t i, ready = 0, reauth = 0, failing = 0;
	const char *first = NULL;

	if (rt == NULL) {
		snprintf(buf, size, "starting");
		return;
	}
	for (i = 0; i < rt->cfg->naccounts; i++) {
		oauth_account_status(rt->accounts[i].ra->oauth, &st);
		switch (cred_state(&st)) {
		case CRED_REAUTH:
			if (reauth++ == 0)
				first = rt->accounts[i].cfg->name;
			break;
		case CRED_FAILING:
			failing++;
			break;
		default:
			ready++;
		}
	}
	snprintf(buf, size, "%ld sessions; accounts: %zu ready, %zu failing, "
	    "%zu need authorize%s%s%s", srv->sessions.n, ready, failing,
	    reauth, first != NULL ? " (" : "", first != NULL ? first : "",
	    first != NULL ? reauth > 1 ? ", ...)" : ")" : "");
}
