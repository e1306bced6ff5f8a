/*
 * runtime: a generation, everything one configuration means at run time,
 * built whole from it and never changed after: its listeners (each with
 * the TLS context made from the certificate as it was on disk then), its
 * accounts, its users (in its config). A session holds a reference to the
 * generation it started in and reads only from it, so a reload never
 * changes a session's rules under it. Long-lived things (listening
 * sockets, accounts with their token caches and connection pools) live
 * outside generations and are shared by the ones that use them.
 */
#ifndef PROXY_RUNTIME_H
#define PROXY_RUNTIME_H

#include <time.h>

#include <openssl/ssl.h>

#include "proxy/account.h"
#include "proxy/config.h"
#include "proxy/listener.h"

/* A listener as a generation sees it. */
struct gen_listener {
	struct listener		*sock;		/* shared socket */
	const struct cfg_listen	*cfg;
	const char		*name;		/* its [listener] name or its
						   address, for logs */
	SSL_CTX			*tls_ctx;	/* NULL on a plain listener */
};

/* An account as a generation sees it. */
struct gen_account {
	const struct cfg_account *cfg;
	struct relay_account	*ra;		/* shared account */
};

struct runtime {
	unsigned		 refs;
	unsigned long		 id;		/* 1, 2, ... */
	struct config		*cfg;
	struct gen_listener	*listeners;
	size_t			 nlisteners;
	struct gen_account	*accounts;	/* parallel to cfg->accounts */
	SSL_CTX			**provider_ctx;	/* parallel to cfg->providers;
						   NULL where unused */
	struct provider_seen	**seen;		/* providers in use */
	size_t			 nseen;
};

/* The long-lived things a generation is built from and shares. */
struct runtime_env {
	struct account_env	 acct;
	struct listener		**listeners;	/* every open listener */
	listener_accept_cb	*accept;
	void			*accept_arg;
};

/*
 * Build a generation from cfg (taken: freed with the generation, or here
 * on failure), keeping what it can of prev (NULL at start): the sockets of
 * addresses both have, the accounts whose credentials and endpoint did
 * not change. Certificates and keys are read from disk now. Returns it
 * with one reference, or NULL with *errors (malloc'd, one line per
 * problem, "PATH:LINE: ..."); nothing of prev changed either way.
 */
struct runtime	*runtime_build(const struct runtime_env *, struct config *cfg,
		    const struct runtime *prev, unsigned long id,
		    char **errors);
/*
 * The files that hold secrets are closed to others (io/secretfile.h): the
 * config itself, tls_key, each account's client_key and
 * service_account_file. 0, or -1 with one line per problem in *errors.
 */
int		 runtime_check_secrets(const struct config *, char **errors);
/*
 * The certificate and key load and match, as the user we run as: each
 * problem once, at the key's line, rather than once per listener. 0, or
 * -1 with a line in *errors. Nothing to load without a TLS listener.
 */
int		 runtime_check_tls(const struct config *, char **errors);
/*
 * next takes over from prev (NULL at start): accounts kept take next's
 * limits, listeners and accounts only prev used are stopped and retired.
 * -1 when out of memory, with some kept accounts not yet updated.
 */
int		 runtime_activate(struct runtime *next, struct runtime *prev);
struct runtime	*runtime_ref(struct runtime *);
/* Drop a reference; the last frees it. NULL does nothing. */
void		 runtime_unref(struct runtime *);
/* The account user u maps to in rt (u is one of rt's users). */
const struct gen_account *runtime_account(const struct runtime *rt,
		    const struct cfg_user *u);
/* The generation's view of listener l; NULL if it does not use l. */
const struct gen_listener *runtime_listener(const struct runtime *rt,
		    const struct listener *l);
/*
 * The ESMTP extensions every provider in use offered in its last EHLO,
 * and the smallest SIZE among them, for sessions that have no account
 * yet. 0 when one has not been seen yet.
 */
unsigned	 runtime_provider_caps(const struct runtime *,
		    unsigned long long *size);

#endif
