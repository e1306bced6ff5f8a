/*
 * runtime: generations. See runtime.h.
 *
 * Building touches nothing that is running: new sockets are bound and new
 * accounts made, kept ones only referenced. What changes shared objects
 * (kept accounts' limits, stopping what the new generation dropped) waits
 * for runtime_activate, once the build has succeeded.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/conn.h"
#include "io/errf.h"
#include "io/log.h"
#include "io/secretfile.h"
#include "proxy/runtime.h"

static void
runtime_free(struct runtime *rt)
{
	size_t i;

	for (i = 0; i < rt->nlisteners; i++) {
		SSL_CTX_free(rt->listeners[i].tls_ctx);
		listener_unref(rt->listeners[i].sock);
	}
	free(rt->listeners);
	if (rt->accounts != NULL)
		for (i = 0; i < rt->cfg->naccounts; i++)
			account_unref(rt->accounts[i].ra);
	free(rt->accounts);
	if (rt->provider_ctx != NULL)
		for (i = 0; i < rt->cfg->nproviders; i++)
			SSL_CTX_free(rt->provider_ctx[i]);
	free(rt->provider_ctx);
	free(rt->seen);
	config_free(rt->cfg);
	free(rt);
}

/* A client TLS context for each provider some account relays to. */
static int
build_providers(struct runtime *rt, char **errors)
{
	struct config *cfg = rt->cfg;
	char err[ERRF_LINE_MAX];
	size_t i, p;

	if ((rt->provider_ctx = calloc(cfg->nproviders,
	    sizeof(SSL_CTX *))) == NULL)
		return -1;
	for (i = 0; i < cfg->naccounts; i++) {
		p = (size_t)(cfg->accounts[i].provider - cfg->providers);
		if (rt->provider_ctx[p] != NULL)
			continue;
		rt->provider_ctx[p] = conn_tls_client_ctx(
		    cfg->providers[p].ca_file, err, sizeof(err));
		if (rt->provider_ctx[p] == NULL) {
			errf_append(errors, "%s:%d: [provider %s]: %s",
			    cfg->path, cfg->providers[p].line,
			    cfg->providers[p].name, err);
			return -1;
		}
	}
	return 0;
}

/*
 * The certificate and key load and match, as the user we run as: each
 * problem once, at the key's line, rather than once per listener. 0, or
 * -1 with a line in *errors. Nothing to load without a TLS listener.
 */
int
runtime_check_tls(const struct config *cfg, char **errors)
{
	const char *key = "tls_key";
	char err[ERRF_LINE_MAX];
	SSL_CTX *ctx;
	size_t i;

	for (i = 0; i < cfg->nlistens; i++)
		if (cfg->listens[i].mode != LISTEN_PLAIN)
			break;
	if (i == cfg->nlistens)
		return 0;
	if ((ctx = conn_tls_server_ctx(cfg->tls_cert, cfg->tls_key, 0, NULL,
	    err, sizeof(err))) != NULL) {
		SSL_CTX_free(ctx);
		return 0;
	}
	if (strncmp(err, CONN_TLS_CERT_ERROR, strlen(CONN_TLS_CERT_ERROR)) ==
	    0)
		key = "tls_cert";
	errf_append(errors, "%s:%d: [server] %s: %s", cfg->path,
	    config_server_line(cfg, key), key, err);
	return -1;
}

/*
 * The files that hold secrets are closed to others (io/secretfile.h): the
 * config itself, tls_key, each account's client_key and
 * service_account_file. 0, or -1 with one line per problem in *errors.
 */
int
runtime_check_secrets(const struct config *cfg, char **errors)
{
	char err[ERRF_LINE_MAX];
	size_t i;
	int r = 0;

	if (secretfile_check(cfg->path, err, sizeof(err)) == -1) {
		errf_append(errors, "%s: %s", cfg->path, err);
		r = -1;
	}
	if (secretfile_check(cfg->tls_key, err, sizeof(err)) == -1) {
		errf_append(errors, "%s:%d: [server] tls_key: %s", cfg->path,
		    config_server_line(cfg, "tls_key"), err);
		r = -1;
	}
	for (i = 0; i < cfg->naccounts; i++) {
		const struct cfg_account *a = &cfg->accounts[i];

		if (secretfile_check(a->client_key, err, sizeof(err)) == -1 ||
		    secretfile_check(a->service_account_file, err,
		    sizeof(err)) == -1) {
			errf_append(errors, "%s:%d: [account %s]: %s",
			    cfg->path, a->line, a->name, err);
			r = -1;
		}
	}
	return r;
}

/* Each listener: its TLS context from the files as they are now, and the
   socket of its address (kept, or bound now). */
static int
build_listeners(struct runtime *rt, const struct runtime_env *env,
    char **errors)
{
	struct config *cfg = rt->cfg;
	char err[ERRF_LINE_MAX];
	size_t i;

	if (runtime_check_secrets(cfg, errors) == -1 ||
	    runtime_check_tls(cfg, errors) == -1)
		return -1;
	if (cfg->nlistens > 0 && (rt->listeners = calloc(cfg->nlistens,
	    sizeof(*rt->listeners))) == NULL)
		return -1;
	for (i = 0; i < cfg->nlistens; i++) {
		const struct cfg_listen *cl = &cfg->listens[i];
		struct gen_listener *gl = &rt->listeners[i];

		gl->cfg = cl;
		gl->name = cl->name != NULL ? cl->name : cl->text;
		rt->nlisteners++;
		if (cl->mode != LISTEN_PLAIN && (gl->tls_ctx =
		    conn_tls_server_ctx(cfg->tls_cert, cfg->tls_key,
		    cl->tls_min_version, cl->ciphers, err,
		    sizeof(err))) == NULL) {
			errf_append(errors, "%s:%d: listener %s: %s",
			    cfg->path, cl->line, gl->name, err);
			return -1;
		}
		if ((gl->sock = listener_find(*env->listeners, cl)) != NULL) {
			listener_ref(gl->sock);
			continue;
		}
		if ((gl->sock = listener_open(env->acct.loop, env->listeners,
		    cl, env->accept, env->accept_arg, err,
		    sizeof(err))) == NULL) {
			errf_append(errors, "%s:%d: listener %s: %s",
			    cfg->path, cl->line, gl->name, err);
			return -1;
		}
	}
	return 0;
}

static int
account_name_cmp(const void *a, const void *b)
{
	const struct gen_account *x = *(const struct gen_account *const *)a;
	const struct gen_account *y = *(const struct gen_account *const *)b;

	return strcmp(x->cfg->name, y->cfg->name);
}

static int
account_key_cmp(const void *key, const void *elt)
{
	const struct gen_account *y = *(const struct gen_account *const *)elt;

	return strcmp(key, y->cfg->name);
}

/* prev's accounts sorted by name, for keeping them; NULL: none or OOM. */
static const struct gen_account **
prev_index(const struct runtime *prev)
{
	const struct gen_account **idx;
	size_t i, n;

	if (prev == NULL || (n = prev->cfg->naccounts) == 0 ||
	    (idx = calloc(n, sizeof(*idx))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		idx[i] = &prev->accounts[i];
	qsort(idx, n, sizeof(*idx), account_name_cmp);
	return idx;
}

/* Each account: prev's shared one if it may be kept, else a new one. */
static int
build_accounts(struct runtime *rt, const struct runtime_env *env,
    const struct runtime *prev, char **errors)
{
	struct config *cfg = rt->cfg;
	const struct gen_account **idx, **found;
	size_t i, p;
	int r = -1;

	if (cfg->naccounts > 0 && (rt->accounts = calloc(cfg->naccounts,
	    sizeof(*rt->accounts))) == NULL)
		return -1;
	idx = prev_index(prev);
	for (i = 0; i < cfg->naccounts; i++) {
		const struct cfg_account *a = &cfg->accounts[i];
		struct gen_account *ga = &rt->accounts[i];

		ga->cfg = a;
		found = idx == NULL ? NULL : bsearch(a->name, idx,
		    prev->cfg->naccounts, sizeof(*idx), account_key_cmp);
		if (found != NULL && account_matches((*found)->ra, a)) {
			ga->ra = (*found)->ra;
			account_ref(ga->ra);
			continue;
		}
		p = (size_t)(a->provider - cfg->providers);
		if ((ga->ra = account_new(&env->acct, cfg, a,
		    rt->provider_ctx[p])) == NULL) {
			errf_append(errors, "%s:%d: [account %s]: cannot set "
			    "up its token handling", cfg->path, a->line,
			    a->name);
			goto done;
		}
		/* New credentials, same mailbox: what it sent still counts
		   against the provider's limits, and its counters go on. */
		if (found != NULL && strcasecmp((*found)->cfg->email,
		    a->email) == 0) {
			ga->ra->win = (*found)->ra->win;
			ga->ra->stats = (*found)->ra->stats;
		}
	}
	r = 0;
done:
	free(idx);
	return r;
}

/* The providers in use, once each, for runtime_provider_caps. */
static int
build_seen(struct runtime *rt)
{
	size_t i, j, n = rt->cfg->naccounts;

	if (n > 0 && (rt->seen = calloc(n, sizeof(*rt->seen))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		struct provider_seen *ps = rt->accounts[i].ra->seen;

		for (j = 0; j < rt->nseen && rt->seen[j] != ps; j++)
			;
		if (j == rt->nseen)
			rt->seen[rt->nseen++] = ps;
	}
	return 0;
}

/*
 * Build a generation from cfg (taken: freed with the generation, or here
 * on failure), keeping what it can of prev (NULL at start): the sockets of
 * addresses both have, the accounts whose credentials and endpoint did
 * not change. Certificates and keys are read from disk now. Returns it
 * with one reference, or NULL with *errors (malloc'd, one line per
 * problem, "PATH:LINE: ..."); nothing of prev changed either way.
 */
struct runtime *
runtime_build(const struct runtime_env *env, struct config *cfg,
    const struct runtime *prev, unsigned long id, char **errors)
{
	struct runtime *rt;

	*errors = NULL;
	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		errf_append(errors, "%s: out of memory", cfg->path);
		config_free(cfg);
		return NULL;
	}
	rt->refs = 1;
	rt->id = id;
	rt->cfg = cfg;
	if (build_providers(rt, errors) == -1 ||
	    build_listeners(rt, env, errors) == -1 ||
	    build_accounts(rt, env, prev, errors) == -1 ||
	    build_seen(rt) == -1) {
		if (*errors == NULL)
			errf_append(errors, "%s: out of memory", cfg->path);
		runtime_free(rt);
		return NULL;
	}
	return rt;
}

static void
log_listening(const struct gen_listener *gl)
{
	const struct cfg_listen *cl = gl->cfg;

	log_info(0, "listening on %s listener=%s mode=%s%s%s networks=%zu "
	    "plaintext_auth=%s", cl->text, gl->name,
	    config_mode_name(cl->mode),
	    cl->mode != LISTEN_PLAIN ? " tls_min=" : "",
	    cl->mode != LISTEN_PLAIN ?
	    config_tls_name(cl->tls_min_version) : "",
	    cl->networks.n, cl->allow_plaintext_auth ? "yes" : "no");
}

/*
 * next takes over from prev (NULL at start): accounts kept take next's
 * limits, listeners and accounts only prev used are stopped and retired.
 * -1 when out of memory, with some kept accounts not yet updated.
 */
int
runtime_activate(struct runtime *next, struct runtime *prev)
{
	unsigned long was = prev != NULL ? prev->id : 0;
	size_t i;
	int r = 0;

	for (i = 0; i < next->nlisteners; i++) {
		struct gen_listener *gl = &next->listeners[i];

		if (was == 0 || gl->sock->mark != was)
			log_listening(gl);
		gl->sock->mark = next->id;
	}
	for (i = 0; i < next->cfg->naccounts; i++) {
		struct gen_account *ga = &next->accounts[i];
		size_t p = (size_t)(ga->cfg->provider - next->cfg->providers);

		if (was != 0 && ga->ra->mark == was &&
		    account_apply(ga->ra, next->cfg, ga->cfg,
		    next->provider_ctx[p]) == -1)
			r = -1;
		ga->ra->mark = next->id;
	}
	if (prev == NULL)
		return r;
	for (i = 0; i < prev->nlisteners; i++)
		if (prev->listeners[i].sock->mark != next->id &&
		    prev->listeners[i].sock->fd != -1) {
			log_info(0, "stopped listening on %s listener=%s",
			    prev->listeners[i].sock->text,
			    prev->listeners[i].name);
			listener_stop(prev->listeners[i].sock);
		}
	for (i = 0; i < prev->cfg->naccounts; i++)
		if (prev->accounts[i].ra->mark != next->id)
			account_retire(prev->accounts[i].ra);
	return r;
}

struct runtime *
runtime_ref(struct runtime *rt)
{
	rt->refs++;
	return rt;
}

/* Drop a reference; the last frees it. NULL does nothing. */
void
runtime_unref(struct runtime *rt)
{
	if (rt == NULL || --rt->refs > 0)
		return;
	runtime_free(rt);
}

/* The account user u maps to in rt (u is one of rt's users). */
const struct gen_account *
runtime_account(const struct runtime *rt, const struct cfg_user *u)
{
	return &rt->accounts[u->account - rt->cfg->accounts];
}

/* The generation's view of listener l; NULL if it does not use l. */
const struct gen_listener *
runtime_listener(const struct runtime *rt, const struct listener *l)
{
	size_t i;

	for (i = 0; i < rt->nlisteners; i++)
		if (rt->listeners[i].sock == l)
			return &rt->listeners[i];
	return NULL;
}

/*
 * The ESMTP extensions every provider in use offered in its last EHLO,
 * and the smallest SIZE among them, for sessions that have no account
 * yet. 0 when one has not been seen yet.
 */
unsigned
runtime_provider_caps(const struct runtime *rt, unsigned long long *size)
{
	unsigned caps = ~0u;
	size_t i;

	*size = 0;
	if (rt->nseen == 0)
		return 0;
	for (i = 0; i < rt->nseen; i++) {
		if (rt->seen[i]->caps == 0)
			return 0;
		caps &= rt->seen[i]->caps;
		if (rt->seen[i]->size > 0 && (*size == 0 ||
		    rt->seen[i]->size < *size))
			*size = rt->seen[i]->size;
	}
	return caps;
}
