/*
 * metrics: Prometheus exposition, health and readiness. See metrics.h.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "proxy/metrics.h"
#include "proxy/penalty.h"
#include "proxy/status.h"

#ifndef AUTHRELAY_VERSION
#error "AUTHRELAY_VERSION comes from the file VERSION, through the Makefile"
#endif

/* First allocation of the exposition text; it doubles as needed. */
#define METRICS_TEXT_MIN	16384
/* Longest label value written (names are shorter by config). */
#define METRICS_LABEL_MAX	512
/* Longest line of /proc read. */
#define METRICS_PROC_LINE	512

/* A growing text. */
struct mbuf {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static void
mb_printf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *np;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		if ((np = realloc(b->p, b->cap * 2)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap *= 2;
	}
}

/* A label value with \, " and newline escaped, as the format wants. */
static const char *
lv(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	for (; *s != '\0' && o + 3 < size; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

static void
head(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series for label text lab ("account=\"x\""). */
static void
hist(struct mbuf *b, const char *name, const char *lab,
    const struct stats_hist *h)
{
	unsigned long long cum = 0;
	size_t i;

	for (i = 0; i < STATS_BUCKETS; i++) {
		cum += h->b[i];
		mb_printf(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, lab,
		    stats_bounds[i], cum);
	}
	mb_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, lab, h->count);
	mb_printf(b, "%s_sum{%s} %.6f\n", name, lab, h->sum);
	mb_printf(b, "%s_count{%s} %llu\n", name, lab, h->count);
}

static void
render_daemon(struct mbuf *b, const struct server *srv)
{
	const struct stats *st = &srv->sessions.stats;
	struct penalty *pt = srv->sessions.penalty;
	size_t m, a;

	head(b, "authrelay_build_info", "gauge", "Version of the daemon.");
	mb_printf(b, "authrelay_build_info{version=\"%s\"} 1\n",
	    AUTHRELAY_VERSION);
	head(b, "authrelay_config_generation", "gauge",
	    "Generation of the running configuration (1 at start, +1 per "
	    "reload applied).");
	mb_printf(b, "authrelay_config_generation %lu\n", srv->rt->id);
	head(b, "authrelay_reloads_total", "counter",
	    "Configuration reloads, by result.");
	mb_printf(b, "authrelay_reloads_total{result=\"applied\"} %llu\n",
	    st->reloads[1]);
	mb_printf(b, "authrelay_reloads_total{result=\"refused\"} %llu\n",
	    st->reloads[0]);
	head(b, "authrelay_auth_total", "counter",
	    "AUTH attempts, by mechanism and result.");
	for (m = 0; m < MECHS; m++)
		for (a = 0; a < AUTH_KINDS; a++)
			mb_printf(b, "authrelay_auth_total{mechanism=\"%s\","
			    "result=\"%s\"} %llu\n", stats_mech_names[m],
			    stats_auth_names[a], st->auth[m][a]);
	head(b, "authrelay_auth_penalty_addresses", "gauge",
	    "Client addresses with a login penalty in force.");
	mb_printf(b, "authrelay_auth_penalty_addresses %zu\n",
	    pt != NULL ? penalty_in_force(pt) : 0);
	head(b, "authrelay_auth_penalty_table_entries", "gauge",
	    "Client addresses the penalty table remembers.");
	mb_printf(b, "authrelay_auth_penalty_table_entries %zu\n",
	    pt != NULL ? penalty_entries(pt) : 0);
	head(b, "authrelay_auth_penalty_table_max", "gauge",
	    "Addresses the penalty table can remember.");
	mb_printf(b, "authrelay_auth_penalty_table_max %d\n",
	    PENALTY_TABLE_MAX);
	head(b, "authrelay_auth_penalty_evictions_total", "counter",
	    "Addresses with failures forgotten to make room.");
	mb_printf(b, "authrelay_auth_penalty_evictions_total %llu\n",
	    pt != NULL ? penalty_evictions(pt) : 0);
	head(b, "authrelay_sessions_open", "gauge",
	    "Client sessions open, all listeners.");
	mb_printf(b, "authrelay_sessions_open %ld\n", srv->sessions.n);
}

static void
render_listeners(struct mbuf *b, const struct runtime *rt)
{
	char n[METRICS_LABEL_MAX];
	size_t i, k;

	head(b, "authrelay_connections_total", "counter",
	    "Client connections accepted, by listener.");
	for (i = 0; i < rt->nlisteners; i++)
		mb_printf(b, "authrelay_connections_total{listener=\"%s\"} "
		    "%llu\n", lv(rt->listeners[i].name, n, sizeof(n)),
		    rt->listeners[i].sock->stats.connections);
	head(b, "authrelay_connections_refused_total", "counter",
	    "Client connections turned away before SMTP, by listener and "
	    "reason.");
	for (i = 0; i < rt->nlisteners; i++)
		for (k = 0; k < REFUSED_KINDS; k++)
			mb_printf(b, "authrelay_connections_refused_total{"
			    "listener=\"%s\",reason=\"%s\"} %llu\n",
			    lv(rt->listeners[i].name, n, sizeof(n)),
			    stats_refusal_names[k],
			    rt->listeners[i].sock->stats.refused[k]);
	head(b, "authrelay_sessions", "gauge",
	    "Client sessions open, by listener.");
	for (i = 0; i < rt->nlisteners; i++)
		mb_printf(b, "authrelay_sessions{listener=\"%s\"} %ld\n",
		    lv(rt->listeners[i].name, n, sizeof(n)),
		    rt->listeners[i].sock->nsessions);
	head(b, "authrelay_tls_handshake_failures_total", "counter",
	    "Client TLS handshakes that failed, by listener and reason.");
	for (i = 0; i < rt->nlisteners; i++)
		for (k = 0; k < TLSFAIL_KINDS; k++)
			mb_printf(b, "authrelay_tls_handshake_failures_total{"
			    "listener=\"%s\",reason=\"%s\"} %llu\n",
			    lv(rt->listeners[i].name, n, sizeof(n)),
			    stats_tls_failure_names[k],
			    rt->listeners[i].sock->stats.tls_failures[k]);
}

/* Series of every account, one metric family at a time. */
static void
render_account_counters(struct mbuf *b, const struct runtime *rt)
{
	static const char *const cls[] = { "other", "1xx", "2xx", "3xx",
	    "4xx", "5xx" };
	char n[METRICS_LABEL_MAX];
	size_t i, k;

	head(b, "authrelay_messages_total", "counter",
	    "Messages at the end of DATA, by account and result.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		for (k = 0; k < MSG_KINDS; k++)
			mb_printf(b, "authrelay_messages_total{account=\"%s\","
			    "result=\"%s\"} %llu\n", lv(rt->accounts[i].cfg->name,
			    n, sizeof(n)), stats_msg_names[k],
			    rt->accounts[i].ra->stats.messages[k]);
	head(b, "authrelay_recipients_total", "counter",
	    "Recipients of those messages, by account and result.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		for (k = 0; k < MSG_KINDS; k++)
			mb_printf(b, "authrelay_recipients_total{account=\"%s\","
			    "result=\"%s\"} %llu\n", lv(rt->accounts[i].cfg->name,
			    n, sizeof(n)), stats_msg_names[k],
			    rt->accounts[i].ra->stats.recipients[k]);
	head(b, "authrelay_message_bytes_total", "counter",
	    "Message content bytes, by account and result.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		for (k = 0; k < MSG_KINDS; k++)
			mb_printf(b, "authrelay_message_bytes_total{account="
			    "\"%s\",result=\"%s\"} %llu\n",
			    lv(rt->accounts[i].cfg->name, n, sizeof(n)),
			    stats_msg_names[k],
			    rt->accounts[i].ra->stats.bytes[k]);
	head(b, "authrelay_provider_replies_total", "counter",
	    "Provider replies relayed to clients, by account and class.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		for (k = 0; k < 6; k++)
			mb_printf(b, "authrelay_provider_replies_total{account="
			    "\"%s\",class=\"%s\"} %llu\n",
			    lv(rt->accounts[i].cfg->name, n, sizeof(n)),
			    cls[k], rt->accounts[i].ra->stats.replies[k]);
}

static void
render_account_tokens(struct mbuf *b, const struct runtime *rt,
    struct oauth_status *sts)
{
	static const char *const res[OAUTH_RESULTS] = { "success",
	    "transient", "permanent", "refused" };
	char n[METRICS_LABEL_MAX];
	time_t now = time(NULL);
	size_t i, k;

	head(b, "authrelay_token_refreshes_total", "counter",
	    "Token endpoint answers, by account and result.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		for (k = 0; k < OAUTH_RESULTS; k++)
			mb_printf(b, "authrelay_token_refreshes_total{account="
			    "\"%s\",result=\"%s\"} %llu\n",
			    lv(rt->accounts[i].cfg->name, n, sizeof(n)),
			    res[k], sts[i].results[k]);
	head(b, "authrelay_token_expiry_timestamp_seconds", "gauge",
	    "When the cached access token expires (0: none cached).");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_token_expiry_timestamp_seconds{account="
		    "\"%s\"} %lld\n", lv(rt->accounts[i].cfg->name, n,
		    sizeof(n)), (long long)sts[i].expires_at);
	head(b, "authrelay_refresh_token_age_seconds", "gauge",
	    "Age of the stored refresh token (accounts that have one and "
	    "know when it was issued).");
	for (i = 0; i < rt->cfg->naccounts; i++)
		if (sts[i].refresh_at != 0)
			mb_printf(b, "authrelay_refresh_token_age_seconds{"
			    "account=\"%s\"} %lld\n",
			    lv(rt->accounts[i].cfg->name, n, sizeof(n)),
			    (long long)(now - sts[i].refresh_at));
	head(b, "authrelay_token_unsaved", "gauge",
	    "1 while a rotated refresh token is only in memory: its file "
	    "could not be written (disk full, read-only); written again every "
	    "30 s.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_token_unsaved{account=\"%s\"} %d\n",
		    lv(rt->accounts[i].cfg->name, n, sizeof(n)),
		    sts[i].unsaved);
	head(b, "authrelay_token_save_failures_total", "counter",
	    "Token file writes refused, by account.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_token_save_failures_total{account="
		    "\"%s\"} %llu\n", lv(rt->accounts[i].cfg->name, n,
		    sizeof(n)), sts[i].save_failures);
	head(b, "authrelay_account_needs_authorize", "gauge",
	    "1 when the account's grant was refused: run authrelay "
	    "authorize.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_account_needs_authorize{account="
		    "\"%s\"} %d\n", lv(rt->accounts[i].cfg->name, n, sizeof(n)),
		    sts[i].needs_authorize);
	head(b, "authrelay_account_credential_ok", "gauge",
	    "1 when the account can get an access token, 0 when its refresh "
	    "fails or it needs authorize.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_account_credential_ok{account=\"%s\"} "
		    "%d\n", lv(rt->accounts[i].cfg->name, n, sizeof(n)),
		    status_credential_ok(&sts[i]));
}

static void
render_account_sending(struct mbuf *b, const struct runtime *rt)
{
	static const char *const scope[2] = { "account", "user" };
	char n[METRICS_LABEL_MAX];
	time_t now = time(NULL);
	size_t i, k, sc;
	long v;

	head(b, "authrelay_sending_messages_last_minute", "gauge",
	    "Messages the provider took in the last 60 s, by account.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_sending_messages_last_minute{account="
		    "\"%s\"} %lu\n", lv(rt->accounts[i].cfg->name, n,
		    sizeof(n)), sendwin_minute(&rt->accounts[i].ra->win, now));
	head(b, "authrelay_sending_messages_last_day", "gauge",
	    "Messages the provider took in the last 24 hours, by account.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_sending_messages_last_day{account="
		    "\"%s\"} %lu\n", lv(rt->accounts[i].cfg->name, n,
		    sizeof(n)), sendwin_day_msgs(&rt->accounts[i].ra->win,
		    now));
	head(b, "authrelay_sending_recipients_last_day", "gauge",
	    "Recipients of those messages, by account.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_sending_recipients_last_day{account="
		    "\"%s\"} %lu\n", lv(rt->accounts[i].cfg->name, n,
		    sizeof(n)), sendwin_day_rcpts(&rt->accounts[i].ra->win,
		    now));
	head(b, "authrelay_sending_limit", "gauge",
	    "The account's sending limits that are set, by limit.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		for (k = 0; k < LIMITS; k++)
			if ((v = sendlimit_value(&rt->accounts[i].cfg->limits,
			    (enum sendlimit)k)) > 0)
				mb_printf(b, "authrelay_sending_limit{account="
				    "\"%s\",limit=\"%s\"} %ld\n",
				    lv(rt->accounts[i].cfg->name, n,
				    sizeof(n)), sendlimit_names[k], v);
	head(b, "authrelay_sending_limit_reached_total", "counter",
	    "MAIL or RCPT refused by a sending limit, by account, limit and "
	    "whose limit (the account's or a user's).");
	for (i = 0; i < rt->cfg->naccounts; i++)
		for (sc = 0; sc < 2; sc++)
			for (k = 0; k < LIMITS; k++)
				mb_printf(b, "authrelay_sending_limit_reached_"
				    "total{account=\"%s\",limit=\"%s\","
				    "scope=\"%s\"} %llu\n",
				    lv(rt->accounts[i].cfg->name, n,
				    sizeof(n)), sendlimit_names[k], scope[sc],
				    rt->accounts[i].ra->stats.limit_hits[sc][k]);
}

static void
render_account_pools(struct mbuf *b, const struct runtime *rt)
{
	char n[METRICS_LABEL_MAX], lab[METRICS_LABEL_MAX + 16];
	size_t i;
	long used, idle;

	head(b, "authrelay_provider_connections", "gauge",
	    "Provider connections, by account and state.");
	for (i = 0; i < rt->cfg->naccounts; i++) {
		used = pool_used(rt->accounts[i].ra->pool);
		idle = pool_idle(rt->accounts[i].ra->pool);
		lv(rt->accounts[i].cfg->name, n, sizeof(n));
		mb_printf(b, "authrelay_provider_connections{account=\"%s\","
		    "state=\"busy\"} %ld\n", n, used - idle);
		mb_printf(b, "authrelay_provider_connections{account=\"%s\","
		    "state=\"idle\"} %ld\n", n, idle);
	}
	head(b, "authrelay_provider_connections_max", "gauge",
	    "max_upstream_connections, by account.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_provider_connections_max{account="
		    "\"%s\"} %ld\n", lv(rt->accounts[i].cfg->name, n,
		    sizeof(n)), rt->accounts[i].cfg->max_upstream_connections);
	head(b, "authrelay_provider_waiting", "gauge",
	    "Sessions waiting for a provider connection, by account.");
	for (i = 0; i < rt->cfg->naccounts; i++)
		mb_printf(b, "authrelay_provider_waiting{account=\"%s\"} %ld\n",
		    lv(rt->accounts[i].cfg->name, n, sizeof(n)),
		    pool_waiting(rt->accounts[i].ra->pool));
	head(b, "authrelay_provider_slot_wait_seconds", "histogram",
	    "Time a session waited for a provider connection.");
	for (i = 0; i < rt->cfg->naccounts; i++) {
		snprintf(lab, sizeof(lab), "account=\"%s\"",
		    lv(rt->accounts[i].cfg->name, n, sizeof(n)));
		hist(b, "authrelay_provider_slot_wait_seconds", lab,
		    &rt->accounts[i].ra->stats.slot_wait);
	}
	head(b, "authrelay_data_reply_seconds", "histogram",
	    "Time from the end of DATA to the provider's reply.");
	for (i = 0; i < rt->cfg->naccounts; i++) {
		snprintf(lab, sizeof(lab), "account=\"%s\"",
		    lv(rt->accounts[i].cfg->name, n, sizeof(n)));
		hist(b, "authrelay_data_reply_seconds", lab,
		    &rt->accounts[i].ra->stats.data_reply);
	}
}

static void
render_accounts(struct mbuf *b, const struct runtime *rt)
{
	struct oauth_status *sts;
	size_t i;

	render_account_counters(b, rt);
	render_account_pools(b, rt);
	render_account_sending(b, rt);
	if (rt->cfg->naccounts == 0)
		return;
	if ((sts = calloc(rt->cfg->naccounts, sizeof(*sts))) == NULL) {
		b->oom = 1;
		return;
	}
	for (i = 0; i < rt->cfg->naccounts; i++)
		oauth_account_status(rt->accounts[i].ra->oauth, &sts[i]);
	render_account_tokens(b, rt, sts);
	free(sts);
}

/* Per-user series, for the users of the running configuration (zeros for
   one that has done nothing yet: a scrape creates nothing). */
static void
render_users(struct mbuf *b, const struct server *srv)
{
	static const struct stats_user none;
	const struct runtime *rt = srv->rt;
	const struct stats_user *u;
	char n[METRICS_LABEL_MAX];
	size_t i, k;

	if (!rt->cfg->metrics_per_user)
		return;
	head(b, "authrelay_user_auth_total", "counter",
	    "Logins of a user, by result (metrics_per_user).");
	for (i = 0; i < rt->cfg->nusers; i++) {
		if ((u = stats_user_find(&srv->sessions.stats,
		    rt->cfg->users[i].name)) == NULL)
			u = &none;
		lv(rt->cfg->users[i].name, n, sizeof(n));
		mb_printf(b, "authrelay_user_auth_total{user=\"%s\",result="
		    "\"success\"} %llu\n", n, u->auth_ok);
		mb_printf(b, "authrelay_user_auth_total{user=\"%s\",result="
		    "\"failure\"} %llu\n", n, u->auth_failed);
	}
	head(b, "authrelay_user_messages_total", "counter",
	    "Messages of a user, by result (metrics_per_user).");
	for (i = 0; i < rt->cfg->nusers; i++) {
		if ((u = stats_user_find(&srv->sessions.stats,
		    rt->cfg->users[i].name)) == NULL)
			u = &none;
		lv(rt->cfg->users[i].name, n, sizeof(n));
		for (k = 0; k < MSG_KINDS; k++)
			mb_printf(b, "authrelay_user_messages_total{user=\"%s\","
			    "result=\"%s\"} %llu\n", n, stats_msg_names[k],
			    u->messages[k]);
	}
}

/* Fields 14, 15 (utime, stime) and 22 (starttime) of /proc/self/stat. */
static void
render_process(struct mbuf *b, const struct server *srv)
{
	char line[METRICS_PROC_LINE], *p;
	unsigned long long ut = 0, stime = 0;
	long tck = sysconf(_SC_CLK_TCK), rss_pages = 0, fds = 0;
	struct rlimit rl;
	struct dirent *de;
	FILE *f;
	DIR *d;

	if ((f = fopen("/proc/self/stat", "re")) != NULL) {
		/* After the command name, which may hold spaces. */
		if (fgets(line, sizeof(line), f) != NULL &&
		    (p = strrchr(line, ')')) != NULL)
			(void)sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
			    "%*u %*u %llu %llu", &ut, &stime);
		fclose(f);
	}
	if ((f = fopen("/proc/self/statm", "re")) != NULL) {
		if (fscanf(f, "%*d %ld", &rss_pages) != 1)
			rss_pages = 0;
		fclose(f);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				fds++;
		closedir(d);
		fds--;		/* the directory's own */
	}
	head(b, "process_cpu_seconds_total", "counter",
	    "User and system CPU time spent, in seconds.");
	mb_printf(b, "process_cpu_seconds_total %.2f\n",
	    tck > 0 ? (double)(ut + stime) / (double)tck : 0.);
	head(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory size, in bytes.");
	mb_printf(b, "process_resident_memory_bytes %lld\n",
	    (long long)rss_pages * sysconf(_SC_PAGESIZE));
	head(b, "process_open_fds", "gauge", "Open file descriptors.");
	mb_printf(b, "process_open_fds %ld\n", fds);
	head(b, "process_max_fds", "gauge",
	    "Limit on open file descriptors.");
	mb_printf(b, "process_max_fds %lld\n", getrlimit(RLIMIT_NOFILE,
	    &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ?
	    (long long)rl.rlim_cur : -1LL);
	head(b, "process_start_time_seconds", "gauge",
	    "Start time of the process, in seconds since the epoch.");
	mb_printf(b, "process_start_time_seconds %lld\n",
	    (long long)srv->started);
}

/* The exposition text (malloc'd) and its length; NULL out of memory. */
char *
metrics_render(const struct server *srv, size_t *len)
{
	struct mbuf b = { malloc(METRICS_TEXT_MIN), 0, METRICS_TEXT_MIN, 0 };

	if (b.p == NULL)
		return NULL;
	render_daemon(&b, srv);
	render_listeners(&b, srv->rt);
	render_accounts(&b, srv->rt);
	render_users(&b, srv);
	render_process(&b, srv);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

static int
reply_text(struct httpd_reply *r, unsigned status, const char *type,
    const char *text)
{
	r->status = status;
	r->type = type;
	r->len = strlen(text);
	return (r->body = strdup(text)) == NULL ? -1 : 0;
}

/* The HTTP answer for path: /metrics, /healthz, /readyz, else 404. */
int
metrics_http(const struct server *srv, const char *path,
    struct httpd_reply *r)
{
	char why[OAUTH_STATUS_TEXT_MAX + 64], *j;
	json_t *o;

	if (strcmp(path, "/metrics") == 0) {
		r->status = 200;
		r->type = "text/plain; version=0.0.4; charset=utf-8";
		return (r->body = metrics_render(srv, &r->len)) == NULL ? -1 :
		    0;
	}
	/* Answered from the loop: that it answers is the health. */
	if (strcmp(path, "/healthz") == 0)
		return reply_text(r, 200, "text/plain", "ok\n");
	if (strcmp(path, "/readyz") != 0)
		return reply_text(r, 404, "text/plain", "not found\n");
	if (status_ready(srv, why, sizeof(why)))
		return reply_text(r, 200, "text/plain", "ready\n");
	o = json_pack("{s:b, s:s}", "ready", 0, "reason", why);
	j = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (j == NULL)
		return -1;
	r->status = 503;
	r->type = "application/json";
	r->len = strlen(j);
	r->body = j;
	if (r->len > 0 && (r->body = realloc(j, r->len + 2)) != NULL) {
		r->body[r->len++] = '\n';
		r->body[r->len] = '\0';
	} else
		r->body = j;
	return 0;
}
