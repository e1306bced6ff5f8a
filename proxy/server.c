/*
 * server: the running daemon. See server.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/rand.h>

#include "io/conn.h"
#include "io/log.h"
#include "oauth/store.h"
#include "proxy/server.h"
#include "proxy/session.h"

/*
 * The token sealing key read from token_key_file: it must outlive the token
 * manager, and there is one server per process. Wiped by server_free.
 */
static unsigned char	server_seal_key[STORE_KEY_LEN];

/* Connections taken from one listener per loop iteration. */
#define SERVER_ACCEPT_BURST	64
#define SERVER_LISTEN_BACKLOG	511

/* Refuse a client over max_connections: one reply, no session. */
static void
server_refuse(int fd)
{
	static const char msg[] = "421 4.7.0 Error: too many connections\r\n";

	(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void
server_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct server *srv = l->srv;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i, one = 1;

	(void)loop;
	(void)revents;
	for (i = 0; i < SERVER_ACCEPT_BURST; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn(0, "accept listener=%s: %s",
				    l->name, strerror(errno));
			return;
		}
		if (srv->nsessions >= srv->cfg->max_connections) {
			log_warn(0, "refused: max_connections=%ld reached",
			    srv->cfg->max_connections);
			server_refuse(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (session_new(l, fd, (struct sockaddr *)&ss, len) == -1)
			close(fd);
	}
}

static const char *
server_mode_name(enum listen_mode m)
{
	switch (m) {
	case LISTEN_TLS:
		return "tls";
	case LISTEN_PLAIN:
		return "plain";
	default:
		return "starttls";
	}
}

static const char *
server_tls_name(int version)
{
	switch (version) {
	case TLS1_VERSION:
		return "TLSv1";
	case TLS1_1_VERSION:
		return "TLSv1.1";
	case TLS1_3_VERSION:
		return "TLSv1.3";
	default:
		return "TLSv1.2";
	}
}

/* The listener's own TLS context: its minimum version and ciphers. */
static int
server_listener_tls(struct server *srv, struct listener *l)
{
	const struct cfg_listen *cl = l->cfg;
	char err[256];

	if (cl->mode == LISTEN_PLAIN)
		return 0;
	l->tls_ctx = conn_tls_server_ctx(srv->cfg->tls_cert,
	    srv->cfg->tls_key, cl->tls_min_version, cl->ciphers, err,
	    sizeof(err));
	if (l->tls_ctx == NULL) {
		fprintf(stderr, "authrelay: %s:%d: listener %s: %s\n",
		    srv->cfg->path, cl->line, l->name, err);
		return -1;
	}
	return 0;
}

static int
server_listen(struct server *srv, struct listener *l,
    const struct cfg_listen *cl)
{
	int one = 1;

	l->srv = srv;
	l->cfg = cl;
	l->name = cl->name != NULL ? cl->name : cl->text;
	if (server_listener_tls(srv, l) == -1)
		return -1;
	l->fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (l->fd == -1)
		goto fail;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (cl->addr.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (const struct sockaddr *)&cl->addr, cl->addrlen) == -1 ||
	    listen(l->fd, SERVER_LISTEN_BACKLOG) == -1)
		goto fail;
	ev_io_init(&l->io, server_accept_cb, l->fd, EV_READ);
	l->io.data = l;
	ev_io_start(srv->loop, &l->io);
	log_info(0, "listening on %s listener=%s mode=%s%s%s networks=%zu "
	    "plaintext_auth=%s", cl->text, l->name, server_mode_name(cl->mode),
	    cl->mode != LISTEN_PLAIN ? " tls_min=" : "",
	    cl->mode != LISTEN_PLAIN ? server_tls_name(cl->tls_min_version) :
	    "", cl->networks.n, cl->allow_plaintext_auth ? "yes" : "no");
	return 0;
fail:
	fprintf(stderr, "authrelay: %s:%d: cannot listen on %s: %s\n",
	    srv->cfg->path, cl->line, cl->text, strerror(errno));
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	return -1;
}

static void
server_stop_listening(struct server *srv)
{
	size_t i;

	for (i = 0; i < srv->nlisteners; i++) {
		if (srv->listeners[i].fd == -1)
			continue;
		ev_io_stop(srv->loop, &srv->listeners[i].io);
		close(srv->listeners[i].fd);
		srv->listeners[i].fd = -1;
	}
}

static void
server_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;

	(void)revents;
	log_warn(0, "shutdown grace period over: closing %ld sessions",
	    srv->nsessions);
	session_close_all(srv);
	ev_break(loop, EVBREAK_ALL);
}

static void
server_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *srv = w->data;
	size_t i;

	(void)loop;
	(void)revents;
	if (srv->stopping)
		return;
	log_info(0, "signal %d: stopping, %ld sessions open", w->signum,
	    srv->nsessions);
	srv->stopping = 1;
	server_stop_listening(srv);
	/* Idle provider connections would keep the loop running. */
	for (i = 0; i < srv->cfg->naccounts; i++)
		pool_shutdown(srv->accounts[i].pool);
	session_shutdown_all(srv);
	ev_timer_start(srv->loop, &srv->grace);
	/* Idle watchers no longer keep the loop: it ends with the last
	   session. */
	ev_signal_stop(srv->loop, &srv->sigterm);
	ev_signal_stop(srv->loop, &srv->sigint);
	ev_signal_stop(srv->loop, &srv->sighup);
	ev_unref(srv->loop);	/* the grace timer alone does not keep it */
}

/*
 * SIGHUP would end the process by default (a `kill -HUP` meant as
 * "reload"); there is no reload yet, so say so and keep running.
 */
static void
server_sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	log_warn(0, "SIGHUP: configuration reload is not supported yet; "
	    "restart authrelay to apply changes");
}

/* TLS contexts for each provider (each listener makes its own). */
static int
server_tls(struct server *srv)
{
	struct config *cfg = srv->cfg;
	char err[256];
	size_t i;

	srv->provider_ctx = calloc(cfg->nproviders, sizeof(SSL_CTX *));
	srv->provider_caps = calloc(cfg->nproviders, sizeof(unsigned));
	srv->provider_size = calloc(cfg->nproviders,
	    sizeof(unsigned long long));
	srv->provider_used = calloc(cfg->nproviders, 1);
	if (srv->provider_ctx == NULL || srv->provider_caps == NULL ||
	    srv->provider_size == NULL || srv->provider_used == NULL)
		return -1;
	for (i = 0; i < cfg->nproviders; i++) {
		srv->provider_ctx[i] = conn_tls_client_ctx(
		    cfg->providers[i].ca_file, err, sizeof(err));
		if (srv->provider_ctx[i] == NULL) {
			fprintf(stderr, "authrelay: provider %s: %s\n",
			    cfg->providers[i].name, err);
			return -1;
		}
	}
	return 0;
}

static int
server_accounts(struct server *srv)
{
	struct config *cfg = srv->cfg;
	struct pool_limits lim;
	size_t i;

	srv->accounts = calloc(cfg->naccounts, sizeof(*srv->accounts));
	if (cfg->naccounts > 0 && srv->accounts == NULL)
		return -1;
	for (i = 0; i < cfg->naccounts; i++) {
		struct cfg_account *a = &cfg->accounts[i];
		struct cfg_provider *p = a->provider;
		struct relay_account *ra = &srv->accounts[i];
		struct oauth_account_cfg oc;

		config_oauth_account(a, &oc);
		ra->cfg = a;
		srv->provider_used[p - cfg->providers] = 1;
		if ((ra->oauth = oauth_account_add(srv->oauth, &oc)) == NULL)
			return -1;
		ra->target = (struct upstream_target){
			.host = p->smtp_host,
			.port = p->smtp_port,
			.tls = p->smtp_tls,
			.ssl_ctx = srv->provider_ctx[p - cfg->providers],
			.caps_seen = &srv->provider_caps[p - cfg->providers],
			.size_seen = &srv->provider_size[p - cfg->providers],
			.email = a->email,
			.oauth = ra->oauth,
			.helo = cfg->hostname,
			.timeout = cfg->upstream_timeout,
		};
		lim = (struct pool_limits){
			.max = a->max_upstream_connections,
			.queue_timeout = (double)cfg->upstream_queue_timeout,
			.idle_timeout = (double)cfg->upstream_idle_timeout,
		};
		ra->pool = pool_new(srv->loop, srv->resolveq, &ra->target,
		    a->name, &lim);
		if (ra->pool == NULL)
			return -1;
	}
	return 0;
}

/*
 * Set up everything cfg describes on loop: TLS contexts, accounts, pools,
 * listening sockets. Returns 0, or -1 after printing why to stderr.
 */
int
server_init(struct server *srv, struct ev_loop *loop, struct config *cfg)
{
	struct oauth_opts oo;
	char err[512];
	size_t i;

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->cfg = cfg;
	signal(SIGPIPE, SIG_IGN);
	if (RAND_bytes((unsigned char *)&srv->next_id,
	    sizeof(srv->next_id)) != 1)
		srv->next_id = (uint64_t)getpid() << 32;
	srv->next_id |= 1;
	if (auth_dummy_hash(srv->dummy_hash, sizeof(srv->dummy_hash)) == -1) {
		fprintf(stderr, "authrelay: crypt(3) cannot make a yescrypt "
		    "hash\n");
		return -1;
	}
	if (server_tls(srv) == -1)
		return -1;
	if (cfg->token_key_file != NULL && store_load_key(cfg->token_key_file,
	    server_seal_key, err, sizeof(err)) == -1) {
		fprintf(stderr, "authrelay: %s: token_key_file: %s\n",
		    cfg->path, err);
		return -1;
	}
	config_oauth_opts(cfg, cfg->token_key_file != NULL ? server_seal_key :
	    NULL, &oo);
	if (oauth_check(&oo, err, sizeof(err)) == -1) {
		fprintf(stderr, "authrelay: %s\n", err);
		return -1;
	}
	srv->authq = workq_new(loop, (int)cfg->auth_threads,
	    SERVER_AUTH_QUEUE_MAX);
	srv->resolveq = workq_new(loop, SERVER_RESOLVE_THREADS,
	    SERVER_RESOLVE_QUEUE_MAX);
	if (srv->authq == NULL || srv->resolveq == NULL) {
		fprintf(stderr, "authrelay: cannot start worker threads\n");
		return -1;
	}
	if ((srv->oauth = oauth_new(loop, &oo)) == NULL ||
	    server_accounts(srv) == -1) {
		fprintf(stderr, "authrelay: cannot set up token handling\n");
		return -1;
	}
	srv->listeners = calloc(cfg->nlistens, sizeof(*srv->listeners));
	if (srv->listeners == NULL)
		return -1;
	for (i = 0; i < cfg->nlistens; i++)
		srv->listeners[i].fd = -1;
	srv->nlisteners = cfg->nlistens;
	for (i = 0; i < cfg->nlistens; i++)
		if (server_listen(srv, &srv->listeners[i],
		    &cfg->listens[i]) == -1)
			return -1;
	ev_signal_init(&srv->sigterm, server_signal_cb, SIGTERM);
	ev_signal_init(&srv->sigint, server_signal_cb, SIGINT);
	ev_signal_init(&srv->sighup, server_sighup_cb, SIGHUP);
	srv->sigterm.data = srv->sigint.data = srv->sighup.data = srv;
	ev_signal_start(loop, &srv->sigterm);
	ev_signal_start(loop, &srv->sigint);
	ev_signal_start(loop, &srv->sighup);
	ev_timer_init(&srv->grace, server_grace_cb, SERVER_SHUTDOWN_GRACE, 0.);
	srv->grace.data = srv;
	return 0;
}

/* Run until SIGTERM/SIGINT and the graceful stop that follows. */
void
server_run(struct server *srv)
{
	ev_run(srv->loop, 0);
	if (srv->nsessions > 0)
		session_close_all(srv);
	log_info(0, "stopped");
}

/* Release everything server_init made (not the config). */
void
server_free(struct server *srv)
{
	size_t i;

	if (srv->sessions != NULL)
		session_close_all(srv);
	server_stop_listening(srv);
	/* Only now: sessions still doing STARTTLS use their listener's. */
	for (i = 0; i < srv->nlisteners; i++)
		SSL_CTX_free(srv->listeners[i].tls_ctx);
	free(srv->listeners);
	/* Before the resolver and the token manager their upstreams use. */
	if (srv->accounts != NULL)
		for (i = 0; i < srv->cfg->naccounts; i++)
			pool_free(srv->accounts[i].pool);
	workq_free(srv->authq);
	workq_free(srv->resolveq);
	if (srv->oauth != NULL)
		oauth_free(srv->oauth);
	explicit_bzero(server_seal_key, sizeof(server_seal_key));
	free(srv->accounts);
	if (srv->provider_ctx != NULL)
		for (i = 0; i < srv->cfg->nproviders; i++)
			SSL_CTX_free(srv->provider_ctx[i]);
	free(srv->provider_ctx);
	free(srv->provider_caps);
	free(srv->provider_size);
	free(srv->provider_used);
	if (ev_is_active(&srv->grace))
		ev_ref(srv->loop);
	ev_timer_stop(srv->loop, &srv->grace);
	memset(srv, 0, sizeof(*srv));
}

/*
 * The ESMTP extensions every provider offered in its last EHLO, and the
 * smallest SIZE among them, for sessions that have no provider connection
 * yet (and so no account). 0 when some provider has not been seen yet.
 */
unsigned
server_provider_caps(const struct server *srv, unsigned long long *size)
{
	unsigned caps = ~0u;
	size_t p;
	int any = 0;

	/* Per provider, not per account: this runs at every EHLO. */
	*size = 0;
	for (p = 0; p < srv->cfg->nproviders; p++) {
		if (!srv->provider_used[p])
			continue;
		if (srv->provider_caps[p] == 0)
			return 0;
		caps &= srv->provider_caps[p];
		if (srv->provider_size[p] > 0 && (*size == 0 ||
		    srv->provider_size[p] < *size))
			*size = srv->provider_size[p];
		any = 1;
	}
	return any ? caps : 0;
}

/* The relay account a user maps to. */
struct relay_account *
server_account(struct server *srv, const struct cfg_user *u)
{
	return &srv->accounts[u->account - srv->cfg->accounts];
}
