/*
 * account: a provider account at run time, long-lived across reloads: its
 * token cache entry, the pool of its provider connections, where they go
 * and what it relayed. A reload that leaves the account's credentials and
 * provider endpoint as they were keeps this object, so its cached token
 * and idle connections survive (no token request); otherwise the old one
 * is retired (idle connections closed, busy ones closed when handed back)
 * and a new one starts. Generations hold references; the last frees it.
 */
#ifndef PROXY_ACCOUNT_H
#define PROXY_ACCOUNT_H

#include <ev.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "io/workq.h"
#include "oauth/oauth.h"
#include "proxy/config.h"
#include "proxy/sendlimit.h"
#include "proxy/stats.h"
#include "upstream/pool.h"
#include "upstream/upstream.h"

/*
 * What a provider's EHLO offered when last seen, shared by the accounts
 * that relay to the same host and port (sessions without an account yet
 * offer what every provider in use offers).
 */
struct provider_seen {
	char			*where;		/* "host:port" */
	unsigned		 caps;		/* 0: not seen yet */
	unsigned long long	 size;
	unsigned		 refs;
	struct provider_seen	*next;
};

struct relay_account {
	char			*name;
	unsigned char		 ident[SHA256_DIGEST_LENGTH];	/* of what
						   a reload must not change
						   for it to be kept */
	struct upstream_target	 target;	/* strings below, owned */
	char			*host, *port, *email, *helo;
	struct oauth_account	*oauth;
	struct pool		*pool;
	struct provider_seen	*seen;
	struct provider_seen	**seen_list;
	struct stats_account	 stats;		/* since start */
	struct sendwin		 win;		/* what it sent, for its
						   sending limits */
	unsigned		 refs;
	unsigned long		 mark;		/* last generation using it */
	int			 retired;
};

/* The long-lived things accounts are made with. */
struct account_env {
	struct ev_loop		*loop;
	struct workq		*resolver;
	struct oauth		*oauth;
	struct provider_seen	**seen;		/* the shared list */
};

/*
 * A new account for a (its provider resolved) in cfg, relaying with the
 * provider's client context ctx (referenced, not taken). One reference,
 * the caller's. NULL when out of memory or refused by the token manager.
 */
struct relay_account *account_new(const struct account_env *,
		    const struct config *cfg, const struct cfg_account *a,
		    SSL_CTX *ctx);
/* 1 if a reload may keep ra for a: same credentials, same endpoint. */
int		 account_matches(const struct relay_account *ra,
		    const struct cfg_account *a);
/*
 * A reload keeps ra for a in cfg: it takes the new limits, EHLO name,
 * timeout and provider context. -1 when out of memory (nothing changed).
 */
int		 account_apply(struct relay_account *ra,
		    const struct config *cfg, const struct cfg_account *a,
		    SSL_CTX *ctx);
/* No generation will use ra again: close its idle connections, keep no
   more, stop renewing its token. */
void		 account_retire(struct relay_account *ra);
void		 account_ref(struct relay_account *);
/* Drop a reference; the last frees it. NULL does nothing. */
void		 account_unref(struct relay_account *);

#endif
