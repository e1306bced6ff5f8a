/*
 * account: provider accounts at run time. See account.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "io/log.h"
#include "proxy/account.h"

/* The shared record of what host:port offered; one reference taken. */
static struct provider_seen *
seen_get(struct provider_seen **list, const char *host, const char *port)
{
	struct provider_seen *ps;
	char where[CONFIG_PATH_MAX + 2 * 256];

	snprintf(where, sizeof(where), "%s:%s", host, port);
	for (ps = *list; ps != NULL; ps = ps->next)
		if (strcmp(ps->where, where) == 0) {
			ps->refs++;
			return ps;
		}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->where = strdup(where)) == NULL) {
		free(ps);
		return NULL;
	}
	ps->refs = 1;
	ps->next = *list;
	*list = ps;
	return ps;
}

static void
seen_put(struct provider_seen **list, struct provider_seen *ps)
{
	struct provider_seen **pp;

	if (ps == NULL || --ps->refs > 0)
		return;
	for (pp = list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ps) {
			*pp = ps->next;
			break;
		}
	free(ps->where);
	free(ps);
}

static void
ident_add(EVP_MD_CTX *md, const char *s)
{
	/* NUL-terminated, so "ab","c" and "a","bc" differ; NULL too. */
	if (s == NULL)
		EVP_DigestUpdate(md, "\377", 1);
	else
		EVP_DigestUpdate(md, s, strlen(s) + 1);
}

/* The digest of what a reload must not change for a to be kept. */
static int
account_ident(const struct cfg_account *a, unsigned char *out)
{
	struct oauth_account_cfg oc;
	EVP_MD_CTX *md;
	char grant = (char)('0' + a->grant), tls = (char)('0' +
	    a->provider->smtp_tls);
	int r = -1;

	config_oauth_account(a, &oc);
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto done;
	ident_add(md, oc.name);
	ident_add(md, oc.token_url);
	ident_add(md, oc.client_id);
	ident_add(md, oc.client_secret);
	ident_add(md, oc.ca_file);
	EVP_DigestUpdate(md, &grant, 1);
	ident_add(md, oc.scope);
	ident_add(md, oc.email);
	ident_add(md, oc.client_cert_file);
	ident_add(md, oc.client_key_file);
	ident_add(md, oc.service_account_file);
	ident_add(md, a->provider->smtp_host);
	ident_add(md, a->provider->smtp_port);
	EVP_DigestUpdate(md, &tls, 1);
	if (EVP_DigestFinal_ex(md, out, NULL) == 1)
		r = 0;
done:
	EVP_MD_CTX_free(md);
	return r;
}

static void
account_limits(const struct config *cfg, const struct cfg_account *a,
    struct pool_limits *lim)
{
	*lim = (struct pool_limits){
		.max = a->max_upstream_connections,
		.queue_timeout = (double)cfg->upstream_queue_timeout,
		.idle_timeout = (double)cfg->upstream_idle_timeout,
	};
}

static void
account_free(struct relay_account *ra)
{
	/* The pool before the token entry its connections use. */
	pool_free(ra->pool);
	oauth_account_remove(ra->oauth);
	SSL_CTX_free(ra->target.ssl_ctx);
	seen_put(ra->seen_list, ra->seen);
	free(ra->name);
	free(ra->host);
	free(ra->port);
	free(ra->email);
	free(ra->helo);
	free(ra);
}

/*
 * A new account for a (its provider resolved) in cfg, relaying with the
 * provider's client context ctx (referenced, not taken). One reference,
 * the caller's. NULL when out of memory or refused by the token manager.
 */
struct relay_account *
account_new(const struct account_env *env, const struct config *cfg,
    const struct cfg_account *a, SSL_CTX *ctx)
{
	const struct cfg_provider *p = a->provider;
	struct oauth_account_cfg oc;
	struct pool_limits lim;
	struct relay_account *ra;

	if ((ra = calloc(1, sizeof(*ra))) == NULL)
		return NULL;
	ra->refs = 1;
	ra->seen_list = env->seen;
	if ((ra->name = strdup(a->name)) == NULL ||
	    (ra->host = strdup(p->smtp_host)) == NULL ||
	    (ra->port = strdup(p->smtp_port)) == NULL ||
	    (ra->email = strdup(a->email)) == NULL ||
	    (ra->helo = strdup(cfg->hostname)) == NULL ||
	    account_ident(a, ra->ident) == -1 ||
	    (ra->seen = seen_get(env->seen, p->smtp_host,
	    p->smtp_port)) == NULL)
		goto fail;
	SSL_CTX_up_ref(ctx);
	ra->target = (struct upstream_target){
		.host = ra->host,
		.port = ra->port,
		.tls = p->smtp_tls,
		.ssl_ctx = ctx,
		.email = ra->email,
		.helo = ra->helo,
		.timeout = cfg->upstream_timeout,
		.caps_seen = &ra->seen->caps,
		.size_seen = &ra->seen->size,
	};
	config_oauth_account(a, &oc);
	if ((ra->oauth = oauth_account_add(env->oauth, &oc)) == NULL)
		goto fail;
	ra->target.oauth = ra->oauth;
	account_limits(cfg, a, &lim);
	if ((ra->pool = pool_new(env->loop, env->resolver, &ra->target,
	    ra->name, &lim)) == NULL)
		goto fail;
	return ra;
fail:
	account_free(ra);
	return NULL;
}

/* 1 if a reload may keep ra for a: same credentials, same endpoint. */
int
account_matches(const struct relay_account *ra, const struct cfg_account *a)
{
	unsigned char id[SHA256_DIGEST_LENGTH];

	return !ra->retired && account_ident(a, id) == 0 &&
	    CRYPTO_memcmp(id, ra->ident, sizeof(id)) == 0;
}

/*
 * A reload keeps ra for a in cfg: it takes the new limits, EHLO name,
 * timeout and provider context. -1 when out of memory (nothing changed).
 */
int
account_apply(struct relay_account *ra, const struct config *cfg,
    const struct cfg_account *a, SSL_CTX *ctx)
{
	struct pool_limits lim;
	char *helo;

	/* Connections read these when they send, never keep them. */
	if ((helo = strdup(cfg->hostname)) == NULL)
		return -1;
	free(ra->helo);
	ra->helo = helo;
	ra->target.helo = helo;
	ra->target.timeout = cfg->upstream_timeout;
	SSL_CTX_up_ref(ctx);
	SSL_CTX_free(ra->target.ssl_ctx);
	ra->target.ssl_ctx = ctx;
	account_limits(cfg, a, &lim);
	pool_set_limits(ra->pool, &lim);
	return 0;
}

/* No generation will use ra again: close its idle connections, keep no
   more, stop renewing its token. */
void
account_retire(struct relay_account *ra)
{
	if (ra->retired)
		return;
	ra->retired = 1;
	log_info(0, "account=%s retired: its connections close as their "
	    "sessions end", ra->name);
	pool_shutdown(ra->pool);
	oauth_account_quiet(ra->oauth);
}

void
account_ref(struct relay_account *ra)
{
	ra->refs++;
}

/* Drop a reference; the last frees it. NULL does nothing. */
void
account_unref(struct relay_account *ra)
{
	if (ra == NULL || --ra->refs > 0)
		return;
	account_free(ra);
}
