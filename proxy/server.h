/*
 * server: the running daemon: listeners, the accounts with their upstream
 * targets, token caches and connection pools, the worker pools, the list
 * of sessions, and signal handling. One libev loop drives all of it.
 */
#ifndef PROXY_SERVER_H
#define PROXY_SERVER_H

#include <stdint.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "io/workq.h"
#include "oauth/oauth.h"
#include "proxy/auth.h"
#include "proxy/config.h"
#include "upstream/pool.h"
#include "upstream/upstream.h"

/* Limits. */
#define SERVER_AUTH_QUEUE_MAX	1024	/* password checks waiting */
#define SERVER_RESOLVE_THREADS	2
#define SERVER_RESOLVE_QUEUE_MAX 1024	/* name look-ups waiting */
#define SERVER_SHUTDOWN_GRACE	30	/* s for DATA to finish on SIGTERM */

/*
 * An account at run time: its config, token cache, where it relays, and
 * the pool of its provider connections.
 */
struct relay_account {
	struct cfg_account	*cfg;
	struct oauth_account	*oauth;
	struct upstream_target	 target;
	struct pool		*pool;
};

struct listener {
	struct server		*srv;
	const struct cfg_listen	*cfg;
	const char		*name;		/* for logs: its [listener]
						   name or its address */
	SSL_CTX			*tls_ctx;	/* NULL on a plain listener */
	int			 fd;
	ev_io			 io;
};

struct session;

struct server {
	struct ev_loop		*loop;
	struct config		*cfg;
	SSL_CTX			**provider_ctx;	/* one per cfg provider */
	unsigned		*provider_caps;	/* per provider: the ESMTP
						   extensions its last EHLO
						   offered; 0 until seen */
	unsigned long long	*provider_size;	/* ... and its SIZE */
	unsigned char		*provider_used;	/* some account relays to it */
	struct relay_account	*accounts;	/* parallel to cfg->accounts */
	struct listener		*listeners;
	size_t			 nlisteners;
	struct workq		*authq;
	struct workq		*resolveq;
	struct oauth		*oauth;
	struct session		*sessions;	/* all live sessions */
	long			 nsessions;
	uint64_t		 next_id;
	int			 stopping;
	ev_signal		 sigterm, sigint, sighup;
	ev_timer		 grace;
	char			 dummy_hash[AUTH_HASH_MAX];
};

/*
 * Set up everything cfg describes on loop: TLS contexts, accounts, pools,
 * listening sockets. Returns 0, or -1 after printing why to stderr.
 */
int	server_init(struct server *, struct ev_loop *, struct config *);
/* Run until SIGTERM/SIGINT and the graceful stop that follows. */
void	server_run(struct server *);
/* Release everything server_init made (not the config). */
void	server_free(struct server *);
/*
 * The ESMTP extensions every provider offered in its last EHLO, and the
 * smallest SIZE among them, for sessions that have no provider connection
 * yet (and so no account). 0 when some provider has not been seen yet.
 */
unsigned	 server_provider_caps(const struct server *,
		    unsigned long long *size);
/* The relay account a user maps to. */
struct relay_account *server_account(struct server *, const struct cfg_user *);

#endif
