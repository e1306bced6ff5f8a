/*
 * stats: counters and histograms. See stats.h.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy/stats.h"

const double stats_bounds[STATS_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1., 2.5, 5., 10., 30.,
};

const char *const stats_refusal_names[REFUSED_KINDS] = {
	"max_connections", "max_connections_per_ip", "networks", "proxy",
};

const char *const stats_tls_failure_names[TLSFAIL_KINDS] = {
	"timeout", "closed", "protocol",
};

const char *const stats_auth_names[AUTH_KINDS] = {
	"ok", "bad_password", "unknown_user", "network", "busy", "provider",
	"aborted",
};

const char *const stats_mech_names[MECHS] = { "plain", "login" };

const char *const stats_msg_names[MSG_KINDS] = {
	"relayed", "rejected", "failed",
};

/* Add one observation of v seconds. */
void
stats_hist_add(struct stats_hist *h, double v)
{
	size_t i;

	for (i = 0; i < STATS_BUCKETS && v > stats_bounds[i]; i++)
		;
	if (i < STATS_BUCKETS)
		h->b[i]++;
	h->count++;
	h->sum += v;
}

static size_t
user_bucket(const char *name)
{
	size_t h = 5381;

	while (*name != '\0')
		h = h * 33 ^ (unsigned char)*name++;
	return h % STATS_USER_BUCKETS;
}

/* The counters of user name if it has any yet; NULL if not. */
const struct stats_user *
stats_user_find(const struct stats *st, const char *name)
{
	const struct stats_user *u;

	for (u = st->users[user_bucket(name)]; u != NULL; u = u->next)
		if (strcmp(u->name, name) == 0)
			return u;
	return NULL;
}

/* The counters of user name, made at first use; NULL beyond
   STATS_USERS_MAX or out of memory. */
struct stats_user *
stats_user(struct stats *st, const char *name)
{
	size_t b = user_bucket(name), len;
	struct stats_user *u;

	if ((u = (struct stats_user *)stats_user_find(st, name)) != NULL)
		return u;
	len = strlen(name);
	if (st->nusers >= STATS_USERS_MAX ||
	    (u = calloc(1, sizeof(*u) + len + 1)) == NULL)
		return NULL;
	memcpy(u->name, name, len + 1);
	u->next = st->users[b];
	st->users[b] = u;
	st->nusers++;
	return u;
}

/* Free the per-user counters. */
void
stats_free(struct stats *st)
{
	struct stats_user *u, *next;
	size_t b;

	for (b = 0; b < STATS_USER_BUCKETS; b++)
		for (u = st->users[b]; u != NULL; u = next) {
			next = u->next;
			free(u->win);
			free(u);
		}
	memset(st, 0, sizeof(*st));
}
