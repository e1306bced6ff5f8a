/*
 * server: the running daemon. See server.h.
 */
#include <sys/resource.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "io/errf.h"
#include "io/log.h"
#include "proxy/metrics.h"
#include "proxy/privs.h"
#include "proxy/sendsave.h"
#include "proxy/server.h"
#include "proxy/status.h"

/* Refuse a client over max_connections: one reply, no session. */
static void
server_refuse(int fd)
{
	static const char msg[] = "421 4.7.0 Error: too many connections\r\n";

	(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* A connection on listener l: a session of the current generation. */
static void
server_accept(void *arg, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t len)
{
	struct server *srv = arg;
	const struct gen_listener *gl = runtime_listener(srv->rt, l);

	if (gl == NULL) {
		/* Cannot happen: a listener the generation dropped is
		   stopped at the swap. */
		close(fd);
		return;
	}
	if (srv->sessions.n >= srv->rt->cfg->max_connections) {
		log_warn(0, "refused: max_connections=%ld reached",
		    srv->rt->cfg->max_connections);
		l->stats.refused[REFUSED_MAX_CONNECTIONS]++;
		server_refuse(fd);
		return;
	}
	if (session_new(&srv->sessions, srv->rt, gl, fd, sa, len) == -1)
		close(fd);
}

/* Log each line of text (one reload report) at level lv. */
static void
server_log_lines(enum log_level lv, const char *what, const char *text)
{
	const char *p;
	size_t n;

	for (p = text; p != NULL && *p != '\0'; p += n + (p[n] != '\0')) {
		n = strcspn(p, "\n");
		log_msg(lv, 0, "%s: %.*s", what, (int)n, p);
	}
}

/* What a reload ended with, kept for status output. */
static void
server_reload_done(struct server *srv, int ok, char *report)
{
	srv->reload.at = time(NULL);
	srv->reload.ok = ok;
	free(srv->reload.report);
	srv->reload.report = report != NULL ? strdup(report) : NULL;
}

/*
 * Re-read the config file and, if it is valid and can be set up, make it
 * the current generation (see runtime.h). Returns 1 when applied, 0 when
 * refused (the running configuration stays). *report (malloc'd, NULL if
 * empty) gets one line per error, or per key kept until a restart; each
 * is logged too.
 */
int
server_reload(struct server *srv, char **report)
{
	struct config *cfg;
	struct runtime *rt, *old = srv->rt;
	char *errors = NULL;

	*report = NULL;
	notify_reloading(&srv->notify);
	log_info(0, "reload: reading %s", srv->config_path);
	if ((cfg = config_load(srv->config_path, &errors)) == NULL)
		goto refused;
	if (config_keep_restart(cfg, old->cfg, report) == -1) {
		config_free(cfg);
		goto refused;
	}
	server_log_lines(LOG_WARN, "reload", *report);
	if ((rt = runtime_build(&srv->env, cfg, old, srv->last_id + 1,
	    &errors)) == NULL)
		goto refused;
	srv->last_id = rt->id;
	if (runtime_activate(rt, old) == -1)
		log_warn(0, "reload: out of memory: some kept accounts keep "
		    "their old limits");
	srv->rt = rt;
	runtime_unref(old);
	log_set_level((enum log_level)rt->cfg->log_level);
	log_info(0, "reload applied generation=%lu listeners=%zu accounts=%zu "
	    "users=%zu", rt->id, rt->nlisteners, rt->cfg->naccounts,
	    rt->cfg->nusers);
	server_reload_done(srv, 1, *report);
	srv->sessions.stats.reloads[1]++;
	notify_ready(&srv->notify);
	return 1;

refused:
	if (errors == NULL)
		errors = strdup("out of memory\n");
	server_log_lines(LOG_ERR, "reload refused", errors);
	log_err(0, "reload refused: the running configuration stays "
	    "(generation %lu)", old->id);
	free(*report);
	*report = errors;
	server_reload_done(srv, 0, errors);
	srv->sessions.stats.reloads[0]++;
	notify_ready(&srv->notify);
	return 0;
}

static void
server_stop_listening(struct server *srv)
{
	struct listener *l;

	for (l = srv->listeners; l != NULL; l = l->next)
		listener_stop(l);
}

static void
server_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *srv = w->data;

	(void)revents;
	log_warn(0, "shutdown grace period over: closing %ld sessions",
	    srv->sessions.n);
	session_close_all(&srv->sessions);
	ev_break(loop, EVBREAK_ALL);
}

static void
server_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *srv = w->data;
	size_t i;

	(void)loop;
	(void)revents;
	if (srv->sessions.stopping)
		return;
	log_info(0, "signal %d: stopping, %ld sessions open", w->signum,
	    srv->sessions.n);
	notify_stopping(&srv->notify);
	srv->sessions.stopping = 1;
	server_stop_listening(srv);
	control_free(srv->control);
	srv->control = NULL;
	httpd_stop(srv->httpd);
	srv->httpd = NULL;
	/* Idle provider connections would keep the loop running. Older
	   generations' accounts are either these or retired already. */
	for (i = 0; i < srv->rt->cfg->naccounts; i++)
		pool_shutdown(srv->rt->accounts[i].ra->pool);
	session_shutdown_all(&srv->sessions);
	ev_timer_start(srv->loop, &srv->grace);
	/* Idle watchers no longer keep the loop: it ends with the last
	   session. */
	ev_signal_stop(srv->loop, &srv->sigterm);
	ev_signal_stop(srv->loop, &srv->sigint);
	ev_signal_stop(srv->loop, &srv->sighup);
	ev_unref(srv->loop);	/* the grace timer alone does not keep it */
}

static void
server_sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *srv = w->data;
	char *report;

	(void)loop;
	(void)revents;
	log_info(0, "signal %d: reloading", w->signum);
	(void)server_reload(srv, &report);
	free(report);
}

/* The control socket's requests: status, or a reload and its result. */
static char *
server_control(void *arg, const char *request)
{
	struct server *srv = arg;
	char *report;
	int ok;

	if (strcmp(request, "status") == 0)
		return status_json(srv);
	log_info(0, "control: reload requested");
	ok = server_reload(srv, &report);
	return status_reload_json(srv, ok, report);
}

/* GET on the metrics address. */
static int
server_http(void *arg, const char *path, struct httpd_reply *reply)
{
	struct server *srv = arg;

	if (srv->rt == NULL) {
		reply->status = 503;
		reply->type = "text/plain";
		reply->len = strlen("starting\n");
		return (reply->body = strdup("starting\n")) == NULL ? -1 : 0;
	}
	return metrics_http(srv, path, reply);
}

/* Who may scrape: metrics_networks of the running configuration. */
static int
server_http_policy(void *arg, const struct sockaddr *sa)
{
	struct server *srv = arg;

	return srv->rt != NULL &&
	    cidr_list_match(&srv->rt->cfg->metrics_networks, sa);
}

/* systemd's STATUS= line. */
static void
server_status_line(void *arg, char *buf, size_t size)
{
	status_line(arg, buf, size);
}

/* Listening sockets and the control socket, before privileges go. */
static int
server_open(struct server *srv, const struct config *cfg,
    const struct privs *pv)
{
	char err[ERRF_LINE_MAX];
	size_t i;

	for (i = 0; i < cfg->nlistens; i++) {
		const struct cfg_listen *cl = &cfg->listens[i];

		if (listener_find(srv->listeners, cl) != NULL)
			continue;
		if (listener_open(srv->loop, &srv->listeners, cl,
		    server_accept, srv, err, sizeof(err)) == NULL) {
			fprintf(stderr, "authrelay: %s:%d: %s\n", cfg->path,
			    cl->line, err);
			return -1;
		}
	}
	if (cfg->metrics.addrlen != 0 && (srv->httpd = httpd_start(srv->loop,
	    (const struct sockaddr *)&cfg->metrics.addr, cfg->metrics.addrlen,
	    server_http, server_http_policy, srv, err, sizeof(err))) == NULL) {
		fprintf(stderr, "authrelay: %s:%d: [server] metrics: %s: %s\n",
		    cfg->path, cfg->metrics.line, cfg->metrics.text, err);
		return -1;
	}
	if ((srv->control = control_open(srv->loop, cfg->control_socket,
	    pv->uid, pv->gid, server_control, srv, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "authrelay: %s: [server] control_socket: %s\n",
		    cfg->path, err);
		return -1;
	}
	return 0;
}

/* The token manager and the worker pools, as the user we run as. */
static int
server_workers(struct server *srv, const struct config *cfg)
{
	struct oauth_opts oo;
	char err[ERRF_LINE_MAX];

	config_oauth_opts(cfg, cfg->token_key_file != NULL ? srv->seal_key :
	    NULL, &oo);
	if (oauth_check(&oo, err, sizeof(err)) == -1) {
		fprintf(stderr, "authrelay: %s\n", err);
		return -1;
	}
	srv->authq = workq_new(srv->loop, (int)cfg->auth_threads,
	    SESSION_AUTH_QUEUE_MAX);
	srv->resolveq = workq_new(srv->loop, SERVER_RESOLVE_THREADS,
	    SERVER_RESOLVE_QUEUE_MAX);
	if (srv->authq == NULL || srv->resolveq == NULL) {
		fprintf(stderr, "authrelay: cannot start worker threads\n");
		return -1;
	}
	if ((srv->oauth = oauth_new(srv->loop, &oo)) == NULL) {
		fprintf(stderr, "authrelay: cannot set up token handling\n");
		return -1;
	}
	if ((srv->sessions.penalty = penalty_new(srv->loop)) == NULL ||
	    (srv->sessions.ipcount = ipcount_new()) == NULL) {
		fprintf(stderr, "authrelay: out of memory\n");
		return -1;
	}
	return 0;
}

/* The first generation, on the sockets server_open made. */
static int
server_first_generation(struct server *srv, struct config *cfg)
{
	struct listener *l, *next;
	char *errors = NULL;

	srv->env = (struct runtime_env){
		.acct = {
			.loop = srv->loop,
			.resolver = srv->resolveq,
			.oauth = srv->oauth,
			.seen = &srv->seen,
		},
		.listeners = &srv->listeners,
		.accept = server_accept,
		.accept_arg = srv,
	};
	srv->rt = runtime_build(&srv->env, cfg, NULL, ++srv->last_id, &errors);
	/* The generation holds the sockets now: drop server_open's refs. */
	for (l = srv->listeners; l != NULL; l = next) {
		next = l->next;
		listener_unref(l);
	}
	if (srv->rt == NULL) {
		fprintf(stderr, "%s", errors != NULL ? errors :
		    "authrelay: out of memory\n");
		free(errors);
		return -1;
	}
	(void)runtime_activate(srv->rt, NULL);
	sendsave_load(srv);
	sendsave_start(srv);
	return 0;
}

/*
 * Raise the soft limit on open descriptors to the hard one and return it;
 * *need gets what max_connections sessions want at most. A caller warns
 * when the limit is below.
 */
long
server_fd_limit(long max_connections, long *need)
{
	struct rlimit rl;

	*need = max_connections * SERVER_FDS_PER_SESSION + SERVER_FDS_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > LONG_MAX ?
	    LONG_MAX : (long)rl.rlim_cur;
}

/*
 * Set up everything cfg (taken) describes on loop, dropping privileges on
 * the way (see above). Returns 0, or -1 after printing why to stderr.
 */
int
server_init(struct server *srv, struct ev_loop *loop, struct config *cfg)
{
	char err[ERRF_LINE_MAX];
	struct privs pv;
	long fds, need;

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->started = time(NULL);
	notify_init(&srv->notify, loop, server_status_line, srv);
	signal(SIGPIPE, SIG_IGN);
	srv->sessions.loop = loop;
	srv->sessions.dummy_hash = srv->dummy_hash;
	if (RAND_bytes((unsigned char *)&srv->sessions.next_id,
	    sizeof(srv->sessions.next_id)) != 1)
		srv->sessions.next_id = (uint64_t)getpid() << 32;
	srv->sessions.next_id |= 1;
	if ((srv->config_path = strdup(cfg->path)) == NULL)
		goto fail;
	if (auth_dummy_hash(srv->dummy_hash, sizeof(srv->dummy_hash)) == -1) {
		fprintf(stderr, "authrelay: crypt(3) cannot make a yescrypt "
		    "hash\n");
		goto fail;
	}
	if ((fds = server_fd_limit(cfg->max_connections, &need)) != -1 &&
	    fds < need)
		log_warn(0, "max_connections=%ld may need %ld descriptors, the "
		    "limit is %ld: raise it (LimitNOFILE=, ulimit -n) or lower "
		    "max_connections", cfg->max_connections, need, fds);
	if (privs_resolve(cfg, &pv, err, sizeof(err)) == -1) {
		fprintf(stderr, "authrelay: %s\n", err);
		goto fail;
	}
	/* As started (root, for ports below 1024): the key, the sockets. */
	if (cfg->token_key_file != NULL && store_load_key(cfg->token_key_file,
	    srv->seal_key, err, sizeof(err)) == -1) {
		fprintf(stderr, "authrelay: %s: token_key_file: %s\n",
		    cfg->path, err);
		goto fail;
	}
	if (server_open(srv, cfg, &pv) == -1)
		goto fail;
	if (privs_drop(&pv, err, sizeof(err)) == -1) {
		fprintf(stderr, "authrelay: %s: [server] user: %s\n", cfg->path,
		    err);
		goto fail;
	}
	/* As the user we run as from now on. */
	if (server_workers(srv, cfg) == -1)
		goto fail;
	srv->sessions.authq = srv->authq;
	if (server_first_generation(srv, cfg) == -1)
		return -1;	/* cfg is gone with the failed build */
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
fail:
	config_free(cfg);
	return -1;
}

/* Run until SIGTERM/SIGINT and the graceful stop that follows. */
void
server_run(struct server *srv)
{
	notify_ready(&srv->notify);
	ev_run(srv->loop, 0);
	if (srv->sessions.n > 0)
		session_close_all(&srv->sessions);
	log_info(0, "stopped");
}

/* Release everything server_init made; safe after a failed init. */
void
server_free(struct server *srv)
{
	struct listener *l, *next;

	session_close_all(&srv->sessions);
	/* Before the worker pools go: it may wait for a write on one. */
	sendsave_stop(srv);
	httpd_stop(srv->httpd);
	stats_free(&srv->sessions.stats);
	penalty_free(srv->sessions.penalty);
	ipcount_free(srv->sessions.ipcount);
	control_free(srv->control);
	notify_stop(&srv->notify);
	/* Before the resolver and the token manager its accounts use. */
	runtime_unref(srv->rt);
	/* Sockets server_open made that no generation took. */
	for (l = srv->listeners; l != NULL; l = next) {
		next = l->next;
		listener_unref(l);
	}
	workq_free(srv->authq);
	workq_free(srv->resolveq);
	if (srv->oauth != NULL)
		oauth_free(srv->oauth);
	explicit_bzero(srv->seal_key, sizeof(srv->seal_key));
	free(srv->config_path);
	free(srv->reload.report);
	if (ev_is_active(&srv->grace))
		ev_ref(srv->loop);
	if (srv->loop != NULL)
		ev_timer_stop(srv->loop, &srv->grace);
	memset(srv, 0, sizeof(*srv));
}
