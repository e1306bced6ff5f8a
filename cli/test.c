/*
 * test: `authrelay test ACCOUNT`: one provider login as the daemon would do
 * it (token, connect, TLS, EHLO, AUTH XOAUTH2, QUIT), with the transcript
 * printed and the token withheld.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/conn.h"
#include "io/log.h"
#include "io/workq.h"
#include "oauth/oauth.h"
#include "upstream/upstream.h"

/* Seconds the whole login may take. */
#define PROBE_TIMEOUT	60

struct probe {
	struct ev_loop		*loop;
	struct upstream		*up;
	int			 done;
	int			 ok;
	int			 quitting;
};

static void
probe_trace(void *arg, enum upstream_trace dir, const char *line, size_t len)
{
	(void)arg;
	printf("%s %.*s\n", dir == UPSTREAM_TRACE_SENT ? "->" :
	    dir == UPSTREAM_TRACE_RECEIVED ? "<-" : "==", (int)len, line);
	fflush(stdout);
}

static void
probe_cb(void *arg, enum upstream_event ev)
{
	struct probe *p = arg;

	switch (ev) {
	case UPSTREAM_READY:
		p->ok = 1;
		if (upstream_command(p->up, "QUIT", 4) == 0) {
			p->quitting = 1;
			upstream_update(p->up);
			return;
		}
		break;
	case UPSTREAM_FAILED:
	case UPSTREAM_LOST:
		if (!p->quitting)
			fprintf(stderr, "authrelay: %s\n",
			    upstream_reason(p->up));
		break;
	default:
		break;
	}
	p->done = 1;
	ev_break(p->loop, EVBREAK_ALL);
}

static void
probe_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	fprintf(stderr, "authrelay: no answer within %d s\n", PROBE_TIMEOUT);
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Log in to the provider of account and quit, printing each line to
 * stdout. seal_key: NULL or the token_key_file's key. Returns 0 when the
 * provider accepted the login, else 1 after saying why on stderr.
 */
static int
probe_account(const struct config *cfg, const unsigned char *seal_key,
    const char *account)
{
	const struct cfg_account *a = config_account(cfg, account);
	struct probe p = { 0 };
	struct oauth_account_cfg oc;
	struct oauth_opts oo;
	struct upstream_target t;
	struct oauth *o = NULL;
	struct workq *q = NULL;
	SSL_CTX *ctx = NULL;
	ev_timer timer;
	char err[256];

	if (a == NULL) {
		fprintf(stderr, "authrelay: %s: no [account %s]\n", cfg->path,
		    account);
		return 1;
	}
	p.loop = ev_loop_new(EVFLAG_AUTO);
	config_oauth_opts(cfg, seal_key, &oo);
	config_oauth_account(a, &oc);
	if (p.loop == NULL || (o = oauth_new(p.loop, &oo)) == NULL ||
	    (q = workq_new(p.loop, 1, 1)) == NULL)
		goto fail;
	if ((ctx = conn_tls_client_ctx(a->provider->ca_file, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "authrelay: %s\n", err);
		goto fail;
	}
	t = (struct upstream_target){
		.host = a->provider->smtp_host,
		.port = a->provider->smtp_port,
		.tls = a->provider->smtp_tls,
		.ssl_ctx = ctx,
		.email = a->email,
		.oauth = oauth_account_add(o, &oc),
		.helo = cfg->hostname,
		.timeout = cfg->upstream_timeout,
	};
	if (t.oauth == NULL)
		goto fail;
	printf("== connecting to %s:%s (%s) as %s\n", t.host, t.port,
	    t.tls ? "implicit TLS" : "STARTTLS", t.email);
	if ((p.up = upstream_new(p.loop, q, &t, 0, probe_cb, &p)) == NULL)
		goto fail;
	upstream_set_trace(p.up, probe_trace, &p);
	ev_timer_init(&timer, probe_timeout_cb, PROBE_TIMEOUT, 0.);
	ev_timer_start(p.loop, &timer);
	ev_run(p.loop, 0);
	ev_timer_stop(p.loop, &timer);
fail:
	upstream_free(p.up);
	workq_free(q);
	if (o != NULL)
		oauth_free(o);
	SSL_CTX_free(ctx);
	if (p.loop != NULL)
		ev_loop_destroy(p.loop);
	if (p.ok)
		printf("== ok: %s:%s accepted XOAUTH2 for %s\n",
		    a->provider->smtp_host, a->provider->smtp_port, a->email);
	return p.ok ? 0 : 1;
}

int
cli_test(const struct config *cfg, const unsigned char *key,
    const char *account)
{
	if (cli_account(cfg, account) == NULL)
		return CLI_FAIL;
	log_set_level((enum log_level)cfg->log_level);
	return probe_account(cfg, key, account);
}
