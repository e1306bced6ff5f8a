/*
 * server: the running daemon. It owns the current generation (runtime.h)
 * and swaps it on reload; the long-lived things generations share
 * (listening sockets, accounts with their token caches and pools, what
 * each provider offered); the worker pools; the token manager; the list of
 * sessions; the control socket; signals and systemd notifications. One
 * libev loop drives all of it.
 *
 * Start-up: the token sealing key, the listening sockets and the control
 * socket are opened first, as whoever started us (root, for ports 465 and
 * 587); then privileges are dropped to [server] user for good; only then
 * are the state directory, the certificates and the token files read and
 * the worker threads started, as the user that will run from now on.
 */
#ifndef PROXY_SERVER_H
#define PROXY_SERVER_H

#include <stdint.h>
#include <time.h>

#include <ev.h>

#include "io/workq.h"
#include "oauth/oauth.h"
#include "oauth/store.h"
#include "proxy/auth.h"
#include "proxy/config.h"
#include "proxy/control.h"
#include "proxy/httpd.h"
#include "proxy/listener.h"
#include "proxy/notify.h"
#include "proxy/runtime.h"
#include "proxy/session.h"

/* Limits. */
#define SERVER_RESOLVE_THREADS	2
#define SERVER_RESOLVE_QUEUE_MAX 1024	/* name look-ups waiting */
#define SERVER_SHUTDOWN_GRACE	30	/* s for DATA to finish on SIGTERM */
#define SERVER_FDS_PER_SESSION	2	/* the client's and the provider's */
#define SERVER_FDS_RESERVE	64	/* listeners, control, token requests,
					   idle provider connections' slack */

/* The last reload, for status output. */
struct server_reload {
	time_t			 at;		/* 0: none yet */
	int			 ok;
	char			*report;	/* its errors, or the keys that
						   need a restart; NULL: none */
};

struct server {
	struct ev_loop		*loop;
	char			*config_path;
	struct runtime		*rt;		/* the current generation */
	unsigned long		 last_id;	/* of the newest generation */
	struct runtime_env	 env;		/* what generations share */
	struct listener		*listeners;	/* every open listener */
	struct provider_seen	*seen;		/* what providers offered */
	struct workq		*authq;
	struct workq		*resolveq;
	struct oauth		*oauth;
	struct session_env	 sessions;
	struct control		*control;
	struct httpd		*httpd;		/* metrics; NULL: off */
	struct notify		 notify;
	time_t			 started;
	struct server_reload	 reload;
	ev_timer		 sendsave_timer;	/* sendsave.h */
	int			 sendsave_busy;	/* a write on a worker */
	ev_signal		 sigterm, sigint, sighup;
	ev_timer		 grace;
	unsigned char		 seal_key[STORE_KEY_LEN];	/* secret */
	char			 dummy_hash[AUTH_HASH_MAX];
};

/*
 * Set up everything cfg (taken) describes on loop, dropping privileges on
 * the way (see above). Returns 0, or -1 after printing why to stderr.
 */
int	server_init(struct server *, struct ev_loop *, struct config *cfg);
/*
 * Raise the soft limit on open descriptors to the hard one and return it;
 * *need gets what max_connections sessions want at most. A caller warns
 * when the limit is below.
 */
long	server_fd_limit(long max_connections, long *need);
/* Run until SIGTERM/SIGINT and the graceful stop that follows. */
void	server_run(struct server *);
/* Release everything server_init made; safe after a failed init. */
void	server_free(struct server *);
/*
 * Re-read the config file and, if it is valid and can be set up, make it
 * the current generation (see runtime.h). Returns 1 when applied, 0 when
 * refused (the running configuration stays). *report (malloc'd, NULL if
 * empty) gets one line per error, or per key kept until a restart; each
 * is logged too.
 */
int	server_reload(struct server *, char **report);

#endif
