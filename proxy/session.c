/*
 * session: one client connection, from greeting to close. See session.h.
 *
 * Shaped after OpenSMTPD's smtp_session.c: every state change goes through
 * s_enter(), which logs old -> new; commands dispatch from a table indexed
 * by verb; waiting for something asynchronous (a password check, the
 * provider) parks the session with reads paused. Secrets never reach a log
 * line: AUTH lines are not logged and their copies are wiped.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/rand.h>

#include "io/conn.h"
#include "io/log.h"
#include "proxy/auth.h"
#include "proxy/cidr.h"
#include "proxy/ipcount.h"
#include "proxy/penalty.h"
#include "proxy/proxyproto.h"
#include "proxy/sendlimit.h"
#include "proxy/datafilter.h"
#include "proxy/fromrewrite.h"
#include "proxy/sasl.h"
#include "proxy/session.h"
#include "proxy/smtp_cmd.h"

#define SESSION_MAGIC	0x5e551011u

enum s_state {
	S_PROXY,		/* reading the PROXY protocol header */
	S_TLS,			/* handshake (implicit TLS or STARTTLS) */
	S_CMD,			/* waiting for a command */
	S_AUTH_PLAIN,		/* waiting for the PLAIN response */
	S_AUTH_LOGIN_USER,	/* waiting for the LOGIN user name */
	S_AUTH_LOGIN_PASS,	/* waiting for the LOGIN password */
	S_AUTH_PENALTY,		/* the address's turn and penalty */
	S_AUTH_CHECK,		/* password check on a worker */
	S_AUTH_UPSTREAM,	/* provider connect + XOAUTH2 */
	S_AUTH_FAILWAIT,	/* delaying the 535 */
	S_RECONNECT,		/* MAIL waits for a new provider connection */
	S_NOAUTH_UPSTREAM,	/* MAIL without AUTH from an auth = none
				   user's network waits for its provider */
	S_RELAY,		/* a command is with the provider */
	S_DATA_WAIT,		/* DATA is with the provider */
	S_DATA,			/* streaming the message */
	S_DATA_END,		/* the end of data is with the provider */
	S_CLOSING,		/* flushing the last reply */
};

static const char *s_names[] = {
	"proxy", "tls", "cmd", "auth-plain", "auth-login-user", "auth-login-pass",
	"auth-penalty", "auth-check", "auth-upstream", "auth-failwait", "reconnect",
	"noauth-upstream", "relay", "data-wait", "data", "data-end", "closing",
};
_Static_assert(sizeof(s_names) / sizeof(s_names[0]) == S_CLOSING + 1,
    "a name for every state");

struct session {
	uint32_t		 magic;
	uint64_t		 id;
	struct session_env	*env;
	struct runtime		*rt;		/* the generation it started
						   in: its only config */
	const struct gen_listener *gl;
	struct session		*prev, *next;
	enum s_state		 state;
	struct conn		 c;
	ev_timer		 timer;		/* the state's client timeout */
	ev_timer		 delay;		/* failed AUTH delay */
	ev_timer		 authdl;	/* auth_timeout from connect */
	ev_timer		 hold;		/* upstream_hold_timeout */
	int			 auth_late;	/* ... passed while we were busy */
	int			 line_done;	/* a command line was taken:
						   its timeout starts afresh */
	int			 ip_counted;	/* in max_connections_per_ip */
	ev_io			 proxy_io;	/* S_PROXY: the socket, read
						   here while conn is paused */
	unsigned char		*pp;		/* ... the header so far */
	size_t			 pplen;
	struct sockaddr_storage	 peer;		/* the client's address */
	char			 host[INET6_ADDRSTRLEN];
	int			 greeted;	/* the 220 was sent */
	int			 helo;		/* 0, 1 HELO, 2 EHLO */
	int			 discard_line;	/* skipping an overlong line */
	int			 errors;
	/* AUTH */
	const char		*mech;
	char			 user[SASL_USER_MAX];
	struct auth_job		*auth;
	struct penalty_wait	 pen;		/* the address's turn */
	char			 pass[SASL_PASS_MAX];	/* secret, while the
						   turn is awaited */
	ev_tstamp		 check_t0;	/* the password check began */
	long			 auth_failures;
	const struct cfg_user	*cu;
	const struct gen_account *ga;
	int			 authed;	/* by AUTH, or mapped by network
						   (auth = none) at MAIL */
	/* relay */
	struct upstream		*up;
	struct pool		*up_pool;	/* up's, or the one waited on */
	struct stats_account	*up_stats;	/* ... and its account's */
	struct pool_wait	 pw;		/* queued for a provider slot */
	int			 quit;		/* QUIT: a clean end */
	int			 up_lost;	/* the provider went away */
	char			 mail_line[UPSTREAM_CMD_MAX + 1];	/* the
						   MAIL waiting for a provider
						   connection */
	size_t			 mail_len;
	int			 swallow;	/* do not forward this reply */
	int			 rewrite_from;	/* this transaction's From:
						   header is rewritten */
	int			 txn;		/* MAIL accepted */
	enum smtp_verb		 relayed;	/* verb with the provider */
	int			 batched;	/* RCPTs sent after it, their
						   replies still due */
	struct datafilter	 df;
	int			 df_end;	/* the filter saw the end; its
						   ".\r\n" is still to write */
	struct fromrewrite	 fr;		/* with rewrite_from: the
						   filter's output goes to */
	struct buf		 stage;		/* ... here, then through fr */
	int			 fr_on;
	int			 data_discard;	/* swallow the rest of DATA */
	int			 data_too_big;
	int			 data_nul;	/* a NUL byte in the message */
	ev_tstamp		 data_t0;	/* the end of data went out */
	unsigned long		 txn_rcpts;	/* recipients the provider took */
	unsigned long		 txn_rcpt_sent;	/* RCPTs sent to it */
	ev_tstamp		 wait_t0;	/* began to wait for a slot */
	unsigned long		 nmsgs;
	const char		*close_reason;
};

static void	s_process(struct session *);
static void	s_update(struct session *);
static void	s_free(struct session *, const char *);
static void	s_upstream_cb(void *, enum upstream_event);
static void	s_pool_grant(void *, enum pool_result, struct upstream *);

/* The reply when the account's pool had no slot in upstream_queue_timeout. */
#define S_REPLY_POOL_FULL \
	"451 4.3.2 Too many connections to the provider, try again later"

/*
 * Ask account ra's pool for a provider connection (see pool_get): s->up is
 * set at once for POOL_READY and POOL_NEW, later by s_pool_grant.
 */
static enum pool_result
s_up_get(struct session *s, const struct gen_account *ga)
{
	enum pool_result r;

	s->up_pool = ga->ra->pool;
	s->up_stats = &ga->ra->stats;
	s->wait_t0 = ev_now(s->env->loop);
	r = pool_get(ga->ra->pool, &s->pw, s->id, s_upstream_cb, s,
	    s_pool_grant, &s->up);
	if (r != POOL_QUEUED)
		stats_hist_add(&s->up_stats->slot_wait, 0.);
	return r;
}

/*
 * Give the provider connection back to its pool: kept for the account's
 * next session if clean (it gets RSET first), else closed.
 */
static void
s_up_release(struct session *s, int clean)
{
	if (s->up == NULL)
		return;
	if (clean)
		pool_put(s->up_pool, s->up);
	else
		pool_drop(s->up_pool, s->up);
	s->up = NULL;
}

static void
s_enter(struct session *s, enum s_state st)
{
	log_debug(s->id, "smtp %s -> %s", s_names[s->state], s_names[st]);
	s->state = st;
}

/* An AUTH ended so: counted by mechanism (and by user, if counted). */
static void
s_stat_auth(struct session *s, enum stats_auth a)
{
	enum stats_mech m = s->mech != NULL && s->mech[0] == 'L' ?
	    MECH_LOGIN : MECH_PLAIN;
	struct stats_user *su;

	s->env->stats.auth[m][a]++;
	if (!s->rt->cfg->metrics_per_user || s->cu == NULL ||
	    (su = stats_user(&s->env->stats, s->cu->name)) == NULL)
		return;
	if (a == AUTH_OK)
		su->auth_ok++;
	else if (a == AUTH_BAD_PASSWORD || a == AUTH_NETWORK)
		su->auth_failed++;
}

/* The listener turned the client away (before any SMTP). */
static void
s_stat_refused(struct session *s, enum stats_refusal r)
{
	s->gl->sock->stats.refused[r]++;
}

static void
s_reply(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Queue one reply line. The caller has checked that SESSION_OUT_MAX leaves
 * room for a reply; should it not, the line is dropped and the session
 * closed, never sent in part.
 */
static void
s_reply(struct session *s, const char *fmt, ...)
{
	char line[SMTP_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	if (conn_write(&s->c, line, (size_t)n) == -1) {
		log_warn(s->id, "client is not reading its replies");
		s->close_reason = "output overflow";
		s_enter(s, S_CLOSING);
	}
}

/* Reply and close once it is written. */
static void
s_close_with(struct session *s, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_close_with(struct session *s, const char *reason, const char *fmt, ...)
{
	char line[SMTP_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s_reply(s, "%s", line);
	s->close_reason = reason;
	s_enter(s, S_CLOSING);
}

/* Count a protocol error; too many end the session. Returns 1 if closed. */
static int
s_error(struct session *s)
{
	if (++s->errors < SESSION_ERRORS_MAX)
		return 0;
	s_close_with(s, "too many errors",
	    "421 4.7.0 %s Error: too many errors", s->rt->cfg->hostname);
	return 1;
}

/* Back to reading commands, unless the server is stopping or the time
   to authenticate ran out while we were busy. */
static void
s_ready(struct session *s)
{
	if (!s->authed && s->auth_late) {
		s_close_with(s, "timeout before authentication",
		    "421 4.4.2 %s Error: timeout exceeded",
		    s->rt->cfg->hostname);
		return;
	}
	if (s->env->stopping) {
		s_close_with(s, "shutdown",
		    "421 4.3.2 %s Service shutting down",
		    s->rt->cfg->hostname);
		return;
	}
	s_enter(s, S_CMD);
}

/* Authenticated, by AUTH or by network: auth_timeout is over. */
static void
s_authed(struct session *s)
{
	s->authed = 1;
	ev_timer_stop(s->env->loop, &s->authdl);
}

/*
 * auth_timeout passed without a login: close now if the client is the one
 * to act, else once what we are busy with (a check, the provider) is done.
 */
static void
s_authdl_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;

	(void)loop;
	(void)revents;
	if (s->authed)
		return;
	switch (s->state) {
	case S_PROXY:
	case S_TLS:
	case S_CMD:
	case S_AUTH_PLAIN:
	case S_AUTH_LOGIN_USER:
	case S_AUTH_LOGIN_PASS:
	case S_AUTH_PENALTY:
	case S_AUTH_FAILWAIT:
		log_info(s->id, "timeout before authentication state=%s "
		    "auth_timeout=%ld", s_names[s->state],
		    s->rt->cfg->auth_timeout);
		if (s->state == S_TLS || s->state == S_PROXY) {
			s_free(s, "timeout before authentication");
			return;
		}
		penalty_cancel(s->env->penalty, &s->pen);
		explicit_bzero(s->pass, sizeof(s->pass));
		ev_timer_stop(s->env->loop, &s->delay);
		s_close_with(s, "timeout before authentication",
		    "421 4.4.2 %s Error: timeout exceeded",
		    s->rt->cfg->hostname);
		s_update(s);
		return;
	default:
		s->auth_late = 1;
	}
}

static void
s_wipe_user(struct session *s)
{
	explicit_bzero(s->user, sizeof(s->user));
}

/*
 * AUTH may be offered and taken now: under TLS, or in clear on a plain
 * listener that allows it (which config allows only with networks set).
 */
static int
s_auth_allowed(const struct session *s)
{
	const struct cfg_listen *cl = s->gl->cfg;

	return conn_is_tls(&s->c) ||
	    (cl->mode == LISTEN_PLAIN && cl->allow_plaintext_auth);
}

/*
 * Commands.
 */

/*
 * The ESMTP extensions offered to the client: the provider's, once this
 * session has a provider connection; before that (no account is known
 * yet) those every configured provider offered when last seen, or until
 * each has been seen, only the ones every supported provider has.
 */
static unsigned
s_caps(const struct session *s)
{
	unsigned long long size;
	unsigned caps;

	if (s->up != NULL)
		return upstream_caps(s->up);
	/* No account yet: what every provider offered when last seen. */
	if ((caps = runtime_provider_caps(s->rt, &size)) != 0)
		return caps;
	return SESSION_CAPS_DEFAULT;
}

/* The SIZE offered and enforced: max_message_size, or the provider's if
   smaller. */
static unsigned long long
s_size_limit(const struct session *s)
{
	unsigned long long max = (unsigned long long)
	    s->rt->cfg->max_message_size, p;

	if (s->up != NULL)
		p = upstream_size_limit(s->up);
	else
		(void)runtime_provider_caps(s->rt, &p);
	if (p > 0 && p < max)
		max = p;
	return max;
}

/*
 * ESMTP parameters of MAIL or RCPT: each must belong to an extension the
 * provider offered, else 555 5.5.4 (RFC 5321 4.1.1.11); a declared SIZE
 * over the limit gets 552 5.3.4. Returns 0, or -1 with the reply in why.
 */
static int
s_params_known(const struct session *s, const char *params, int mail,
    char *why, size_t whysize)
{
	unsigned caps = s_caps(s), need;
	const char *p = params, *v;
	size_t kl, tl;

	while (*p != '\0') {
		tl = strcspn(p, " ");
		kl = strcspn(p, "= ");
		v = p[kl] == '=' ? p + kl + 1 : NULL;
		need = ~0u;	/* unknown: never offered */
		if (mail && kl == 4 && strncasecmp(p, "SIZE", 4) == 0) {
			if (v != NULL && strtoull(v, NULL, 10) >
			    s_size_limit(s)) {
				snprintf(why, whysize, "552 5.3.4 Message size "
				    "exceeds fixed limit");
				return -1;
			}
			need = 0;
		} else if (mail && kl == 4 && strncasecmp(p, "BODY", 4) == 0 &&
		    v != NULL) {
			if (tl - 5 == 4 && strncasecmp(v, "7BIT", 4) == 0)
				need = 0;
			else if (tl - 5 == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
				need = UPSTREAM_CAP_8BITMIME;
		} else if (mail && kl == 8 && tl == 8 &&
		    strncasecmp(p, "SMTPUTF8", 8) == 0)
			need = UPSTREAM_CAP_SMTPUTF8;
		else if (mail && kl == 4 && strncasecmp(p, "AUTH", 4) == 0)
			need = 0;	/* RFC 4954 5: the provider has AUTH */
		else if ((mail && ((kl == 3 && strncasecmp(p, "RET", 3) == 0) ||
		    (kl == 5 && strncasecmp(p, "ENVID", 5) == 0))) ||
		    (!mail && ((kl == 6 && strncasecmp(p, "NOTIFY", 6) == 0) ||
		    (kl == 5 && strncasecmp(p, "ORCPT", 5) == 0))))
			need = UPSTREAM_CAP_DSN;
		if ((caps & need) != need) {
			snprintf(why, whysize, "555 5.5.4 Unsupported "
			    "parameter %.*s", (int)(kl > 64 ? 64 : kl), p);
			return -1;
		}
		p += tl;
		p += strspn(p, " ");
	}
	return 0;
}

/*
 * MAIL's parameters without AUTH=: the identity a client claims there
 * would reach the provider past sender_policy (RFC 4954 5 lets a server
 * drop it); we are the submitting server. The rest is copied into buf.
 */
static const char *
s_drop_auth_param(const char *params, char *buf, size_t size)
{
	const char *p = params;
	size_t n = 0, tl;

	while (*p != '\0') {
		tl = strcspn(p, " ");
		if (!(tl >= 5 && strncasecmp(p, "AUTH=", 5) == 0) &&
		    n + tl + 1 < size) {
			if (n > 0)
				buf[n++] = ' ';
			memcpy(buf + n, p, tl);
			n += tl;
		}
		p += tl;
		p += strspn(p, " ");
	}
	buf[n] = '\0';
	return buf;
}

/* s_params_known, answering the client when it says no. */
static int
s_params(struct session *s, const char *params, int mail)
{
	char why[128];

	if (s_params_known(s, params, mail, why, sizeof(why)) == 0)
		return 0;
	s_reply(s, "%s", why);
	if (why[0] == '5' && why[1] == '5' && why[2] == '5')
		s_error(s);
	return -1;
}

static void
cmd_helo(struct session *s, const char *args, enum smtp_verb verb)
{
	const char *name = s->rt->cfg->hostname;
	int tls = conn_is_tls(&s->c);
	int reset = s->txn && s->up != NULL && !s->up_lost;
	unsigned caps = s_caps(s);
	const char *ext[8];
	char size[32];
	size_t n = 0, i;

	if (*args == '\0') {
		s_reply(s, "501 5.5.4 Syntax: %s hostname",
		    smtp_verb_name(verb));
		s_error(s);
		return;
	}
	s->helo = verb == SMTP_EHLO ? 2 : 1;
	if (verb == SMTP_HELO)
		s_reply(s, "250 %s", name);
	else {
		snprintf(size, sizeof(size), "SIZE %llu", s_size_limit(s));
		ext[n++] = "PIPELINING";
		ext[n++] = size;
		if (!tls && s->gl->cfg->mode == LISTEN_STARTTLS)
			ext[n++] = "STARTTLS";
		if (s_auth_allowed(s) && !s->authed) {
			ext[n++] = "AUTH PLAIN LOGIN";
			/* The pre-RFC 2554 form very old clients look for. */
			ext[n++] = "AUTH=PLAIN LOGIN";
		}
		if (caps & UPSTREAM_CAP_ENHANCED)
			ext[n++] = "ENHANCEDSTATUSCODES";
		if (caps & UPSTREAM_CAP_8BITMIME)
			ext[n++] = "8BITMIME";
		if (caps & UPSTREAM_CAP_SMTPUTF8)
			ext[n++] = "SMTPUTF8";
		if (caps & UPSTREAM_CAP_DSN)
			ext[n++] = "DSN";
		s_reply(s, "250-%s", name);
		for (i = 0; i < n; i++)
			s_reply(s, "250%c%s", i + 1 < n ? '-' : ' ', ext[i]);
	}
	if (reset) {
		/* A new EHLO resets the transaction at the provider too; its
		   answer to that RSET is not the client's business. */
		s->txn = 0;
		if (upstream_command(s->up, "RSET", 4) == 0) {
			s->swallow = 1;
			s->relayed = SMTP_RSET;
			s_enter(s, S_RELAY);
		}
	}
}

static void
cmd_starttls(struct session *s, const char *args, enum smtp_verb verb)
{
	(void)verb;
	if (conn_is_tls(&s->c)) {
		s_reply(s, "554 5.5.1 Error: TLS already active");
		s_error(s);
		return;
	}
	if (s->gl->cfg->mode != LISTEN_STARTTLS) {
		s_reply(s, "502 5.5.1 Error: command not implemented");
		s_error(s);
		return;
	}
	if (*args != '\0') {
		s_reply(s, "501 5.5.4 Syntax: STARTTLS");
		s_error(s);
		return;
	}
	s_reply(s, "220 2.0.0 Ready to start TLS");
	/* Anything the client sent after STARTTLS is dropped: CVE-2011-0411. */
	if (conn_starttls(&s->c, s->gl->tls_ctx, NULL) == -1) {
		s_close_with(s, "TLS setup failed",
		    "454 4.7.0 TLS not available due to local problem");
		return;
	}
	s->helo = 0;
	s_enter(s, S_TLS);
}

static void	s_auth_verify(struct session *, const char *pass);

static void
cmd_auth(struct session *s, const char *args, enum smtp_verb verb)
{
	char mech[16], pass[SASL_PASS_MAX];
	const char *ir;
	size_t ml;

	(void)verb;
	if (s->authed) {
		s_reply(s, "503 5.5.1 Error: already authenticated");
		s_error(s);
		return;
	}
	if (!s_auth_allowed(s)) {
		if (s->gl->cfg->mode == LISTEN_STARTTLS)
			s_reply(s, "530 5.7.0 Must issue a STARTTLS command "
			    "first");
		else
			s_reply(s, "503 5.5.1 Error: authentication not "
			    "enabled");
		s_error(s);
		return;
	}
	if (!s->helo) {
		s_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		s_error(s);
		return;
	}
	ml = strcspn(args, " ");
	ir = args[ml] == ' ' ? args + ml + 1 : NULL;
	if (ml == 0 || ml >= sizeof(mech)) {
		s_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		s_error(s);
		return;
	}
	memcpy(mech, args, ml);
	mech[ml] = '\0';
	if (strcasecmp(mech, "PLAIN") == 0) {
		s->mech = "PLAIN";
		if (ir == NULL) {
			s_reply(s, "334 ");
			s_enter(s, S_AUTH_PLAIN);
			return;
		}
		if (sasl_plain_decode(ir, strlen(ir), s->user, sizeof(s->user),
		    pass, sizeof(pass)) == -1) {
			s_reply(s, "501 5.5.2 Error: cannot decode response");
			s_stat_auth(s, AUTH_ABORTED);
			s_error(s);
			return;
		}
		s_auth_verify(s, pass);
		explicit_bzero(pass, sizeof(pass));
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		s->mech = "LOGIN";
		if (ir == NULL) {
			s_reply(s, "334 VXNlcm5hbWU6");	/* "Username:" */
			s_enter(s, S_AUTH_LOGIN_USER);
			return;
		}
		if (sasl_login_decode(ir, strlen(ir), s->user,
		    sizeof(s->user)) == -1) {
			s_reply(s, "501 5.5.2 Error: cannot decode response");
			s_stat_auth(s, AUTH_ABORTED);
			s_error(s);
			return;
		}
		s_reply(s, "334 UGFzc3dvcmQ6");		/* "Password:" */
		s_enter(s, S_AUTH_LOGIN_PASS);
	} else {
		s_reply(s, "504 5.5.4 Unrecognized authentication type");
		s_error(s);
	}
}

/* A continuation line of AUTH PLAIN or LOGIN; the caller wipes line. */
static void
s_auth_response(struct session *s, const char *line, size_t len)
{
	char pass[SASL_PASS_MAX];
	int r;

	if (len == 1 && line[0] == '*') {
		s_wipe_user(s);
		s_reply(s, "501 5.7.0 Authentication aborted");
		s_stat_auth(s, AUTH_ABORTED);
		s_ready(s);
		s_error(s);
		return;
	}
	if (s->state == S_AUTH_LOGIN_USER) {
		if (sasl_login_decode(line, len, s->user, sizeof(s->user)) ==
		    0) {
			s_reply(s, "334 UGFzc3dvcmQ6");
			s_enter(s, S_AUTH_LOGIN_PASS);
			return;
		}
		r = -1;
	} else if (s->state == S_AUTH_LOGIN_PASS)
		r = sasl_login_decode(line, len, pass, sizeof(pass));
	else
		r = sasl_plain_decode(line, len, s->user, sizeof(s->user),
		    pass, sizeof(pass));
	if (r == -1) {
		s_wipe_user(s);
		s_reply(s, "501 5.5.2 Error: cannot decode response");
		s_stat_auth(s, AUTH_ABORTED);
		s_ready(s);
		s_error(s);
	} else
		s_auth_verify(s, pass);
	explicit_bzero(pass, sizeof(pass));
}

static void	s_auth_done(void *, int);
static void	s_up_ready(struct session *);
static void	s_up_unavailable(struct session *, const char *);

/*
 * Check the password on a worker; unknown users, and auth = none users
 * (who have no password), cost the same time and fail. Runs when the
 * address's turn has come (penalty.h).
 */
static void
s_auth_check(struct session *s)
{
	s->cu = config_user(s->rt->cfg, s->user);
	s->check_t0 = ev_now(s->env->loop);
	s->auth = auth_check(s->env->authq, s->cu != NULL &&
	    !s->cu->auth_none ? s->cu->password_hash : s->env->dummy_hash,
	    s->pass, s_auth_done, s);
	explicit_bzero(s->pass, sizeof(s->pass));
	if (s->auth == NULL) {
		/* Not this address's fault: its turn goes back uncounted. */
		penalty_cancel(s->env->penalty, &s->pen);
		s_stat_auth(s, AUTH_BUSY);
		log_warn(s->id, "auth queue full (%d checks waiting) user=%s",
		    SESSION_AUTH_QUEUE_MAX, s->user);
		s_reply(s, "454 4.7.0 Temporary authentication failure: server "
		    "busy, try again later");
		s_ready(s);
		return;
	}
	s_enter(s, S_AUTH_CHECK);
}

/* The address's turn came, its penalty passed. */
static void
s_penalty_go(void *arg)
{
	struct session *s = arg;

	if (s->magic != SESSION_MAGIC)
		abort();
	s_auth_check(s);
	if (s->state != S_AUTH_CHECK)
		s_process(s);
	s_update(s);
}

/*
 * A password to check: at once, or after the client address's penalty
 * (penalty.h), one attempt per address at a time.
 */
static void
s_auth_verify(struct session *s, const char *pass)
{
	double delay;
	unsigned failures;

	snprintf(s->pass, sizeof(s->pass), "%s", pass);
	switch (penalty_enter(s->env->penalty,
	    (const struct sockaddr *)&s->peer, &s->pen, s_penalty_go, s,
	    s->rt->cfg->auth_penalty_max, &delay, &failures)) {
	case PENALTY_GO:
		s_auth_check(s);
		return;
	case PENALTY_WAIT:
		/* Said when the penalty is what holds it back, not the
		   address's other checks. */
		if (failures > 0 && delay > AUTH_PENALTY_LOG_MIN)
			log_warn(s->id, "unknown[%s]: auth penalty %.0f s after "
			    "%u failures", s->host, ceil(delay), failures);
		s_enter(s, S_AUTH_PENALTY);
		return;
	case PENALTY_FULL:
		break;
	}
	explicit_bzero(s->pass, sizeof(s->pass));
	s_stat_auth(s, AUTH_BUSY);
	log_warn(s->id, "unknown[%s]: auth penalty table or queue full",
	    s->host);
	s_reply(s, "454 4.7.0 Temporary authentication failure: try again "
	    "later");
	s_ready(s);
}

static void
s_delay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;

	(void)loop;
	(void)revents;
	s_reply(s, "535 5.7.8 Error: authentication failed");
	if (++s->auth_failures >= s->rt->cfg->max_auth_failures) {
		log_warn(s->id, "unknown[%s]: too many failed AUTH attempts "
		    "(max_auth_failures=%ld)", s->host,
		    s->rt->cfg->max_auth_failures);
		s_close_with(s, "too many failed AUTH attempts",
		    "421 4.7.0 %s Error: too many failed authentication "
		    "attempts", s->rt->cfg->hostname);
		s_update(s);
		return;
	}
	s_ready(s);
	if (!s_error(s))
		s_process(s);
	s_update(s);
}

/*
 * Why a finished password check is a failed login, and its kind for the
 * metrics; NULL if it is not one.
 */
static const char *
s_auth_refusal(struct session *s, int ok, enum stats_auth *kind)
{
	*kind = AUTH_UNKNOWN_USER;
	if (s->cu == NULL)
		return "unknown user";
	if (s->cu->auth_none)
		return "user has auth = none";
	*kind = AUTH_BAD_PASSWORD;
	if (!ok)
		return "bad password";
	*kind = AUTH_NETWORK;
	if (s->cu->networks.n > 0 && !cidr_list_match(&s->cu->networks,
	    (const struct sockaddr *)&s->peer)) {
		log_warn(s->id, "user %s not allowed from %s", s->cu->name,
		    s->host);
		return "network not allowed";
	}
	return NULL;
}

static void
s_auth_done(void *arg, int ok)
{
	struct session *s = arg;
	enum stats_auth kind;
	const char *why;
	uint32_t r;
	double t;

	s->auth = NULL;
	why = s_auth_refusal(s, ok, &kind);
	penalty_done(s->env->penalty, &s->pen, why == NULL,
	    s->rt->cfg->auth_penalty_max);
	if (why != NULL) {
		s_stat_auth(s, kind);
		/* The shape fail2ban's postfix filter (mode=auth) matches. */
		log_warn(s->id, "unknown[%s]: SASL %s authentication failed: "
		    "authentication failure", s->host, s->mech);
		log_info(s->id, "auth failed user=%s mech=%s reason=\"%s\"",
		    s->user, s->mech, why);
		s->cu = NULL;
		s_wipe_user(s);
		/* From the start of the check, so that the reply's time tells
		   nothing of the hash (a cheap one, or the dummy of an unknown
		   user) while a check takes less than the floor. */
		RAND_bytes((unsigned char *)&r, sizeof(r));
		t = s->check_t0 + (AUTH_FAIL_FLOOR_MS + r %
		    AUTH_FAIL_DELAY_MS) / 1e3 - ev_now(s->env->loop);
		ev_timer_set(&s->delay, t > 0. ? t : 0., 0.);
		ev_timer_start(s->env->loop, &s->delay);
		s_enter(s, S_AUTH_FAILWAIT);
		s_update(s);
		return;
	}
	s->ga = runtime_account(s->rt, s->cu);
	log_info(s->id, "password ok user=%s mech=%s account=%s", s->user,
	    s->mech, s->ga->cfg->name);
	switch (s_up_get(s, s->ga)) {
	case POOL_READY:
		/* A warm pool: no provider round trip at all. */
		s_enter(s, S_AUTH_UPSTREAM);
		s_up_ready(s);
		s_process(s);
		break;
	case POOL_NEW:
	case POOL_QUEUED:
		s_enter(s, S_AUTH_UPSTREAM);
		break;
	case POOL_TIMEOUT:
		s_enter(s, S_AUTH_UPSTREAM);
		s_up_unavailable(s, NULL);
		s_process(s);
		break;
	case POOL_ERROR:
		s_reply(s, "454 4.7.0 Temporary authentication failure: "
		    "server busy");
		s_ready(s);
		s_process(s);
		break;
	}
	s_update(s);
}

/*
 * The envelope sender addr (size bytes of room) under user u's
 * sender_policy. Returns 0 to go on, addr replaced with the account's email
 * if the policy rewrote it; or -1 once it is refused with 553.
 */
static int
s_sender_policy(struct session *s, const struct cfg_user *u, char *addr,
    size_t size)
{
	const struct cfg_account *a = u->account;

	s->rewrite_from = 0;
	if (u->sender_policy == SENDER_PASS || config_sender_owned(a, addr))
		return 0;
	if (u->sender_policy == SENDER_REJECT) {
		log_info(s->id, "sender rejected user=%s from=<%s> account=%s",
		    u->name, addr, a->name);
		s_reply(s, "553 5.7.1 Sender address rejected: not owned by "
		    "user %s", u->name);
		return -1;
	}
	log_info(s->id, "sender rewritten user=%s from=<%s> to=<%s>%s",
	    u->name, addr, a->email, u->rewrite_from_header ?
	    " header=From" : "");
	snprintf(addr, size, "%s", a->email);
	s->rewrite_from = u->rewrite_from_header;
	return 0;
}

/* The user's sending window, made at its first use; NULL out of memory. */
static struct sendwin *
s_user_win(struct session *s, const struct cfg_user *u)
{
	struct stats_user *su = stats_user(&s->env->stats, u->name);

	if (su != NULL && su->win == NULL)
		su->win = calloc(1, sizeof(*su->win));
	return su != NULL ? su->win : NULL;
}

static int
s_has_limits(const struct cfg_limits *l)
{
	return l->msgs_minute > 0 || l->msgs_day > 0 || l->rcpts_day > 0 ||
	    l->rcpts_msg > 0;
}

/*
 * A sending limit (the account's, then the user's) a new message (rcpt 0)
 * or one more recipient (rcpt 1) would cross: its reply is queued and
 * -1 returned; 0 when none would be.
 */
static int
s_limit(struct session *s, const struct gen_account *ga,
    const struct cfg_user *u, int rcpt)
{
	const struct cfg_limits *lim[2] = { &ga->cfg->limits, &u->limits };
	const char *who[2] = { ga->cfg->name, u->name };
	struct sendwin *win[2] = { &ga->ra->win, NULL };
	time_t now = time(NULL);
	enum sendlimit l = LIMIT_NONE;
	int i;

	for (i = 0; i < 2 && l == LIMIT_NONE; i++) {
		if (!s_has_limits(lim[i]) ||
		    (win[i] == NULL && (win[i] = s_user_win(s, u)) == NULL))
			continue;
		l = rcpt ? sendlimit_rcpt(lim[i], win[i], now,
		    s->txn_rcpt_sent) : sendlimit_mail(lim[i], win[i], now);
	}
	if (l == LIMIT_NONE)
		return 0;
	i--;
	ga->ra->stats.limit_hits[i][l]++;
	log_info(s->id, "sending limit %s=%ld of %s %s reached",
	    sendlimit_names[l], sendlimit_value(lim[i], l),
	    i == 0 ? "account" : "user", who[i]);
	if (l == LIMIT_RCPTS_MSG)
		s_reply(s, "452 4.5.3 Too many recipients "
		    "(max_recipients_per_message=%ld)",
		    sendlimit_value(lim[i], l));
	else
		s_reply(s, "451 4.7.0 Sending limit reached: %s=%ld for %s "
		    "%.100s, try again later", sendlimit_names[l],
		    sendlimit_value(lim[i], l), i == 0 ? "account" : "user",
		    who[i]);
	return -1;
}

/* A message the provider accepted counts in its windows. */
static void
s_limit_count(struct session *s)
{
	struct sendwin *w;
	time_t now = time(NULL);

	sendwin_add(&s->ga->ra->win, now, s->txn_rcpts);
	if (s->cu != NULL && s_has_limits(&s->cu->limits) &&
	    (w = s_user_win(s, s->cu)) != NULL)
		sendwin_add(w, now, s->txn_rcpts);
	s->env->send_dirty = 1;
}

/*
 * No provider connection for this MAIL: the first MAIL of a session mapped
 * by network (user u, auth = none), or the first after the provider went
 * away. Get one from the account's pool as at AUTH: an idle one sends the
 * MAIL at once; otherwise the session parks while one is made (or a slot
 * frees) and the MAIL line waits in mail_line.
 */
static void
s_connect_for_mail(struct session *s, const struct cfg_user *u,
    const char *line, size_t len)
{
	const struct gen_account *ga = runtime_account(s->rt, u);
	enum pool_result r;

	memcpy(s->mail_line, line, len);
	s->mail_len = len;
	r = s_up_get(s, ga);
	if (r == POOL_ERROR) {
		s_reply(s, "451 4.3.0 Error: server busy, try again");
		return;
	}
	if (r == POOL_TIMEOUT) {
		s_reply(s, S_REPLY_POOL_FULL);
		return;
	}
	if (s->authed) {
		log_info(s->id, "reconnecting to the provider for a new "
		    "transaction");
		s_enter(s, S_RECONNECT);
	} else {
		s->cu = u;
		s->ga = ga;
		snprintf(s->user, sizeof(s->user), "%s", u->name);
		log_info(s->id, "no AUTH: client=%s mapped to user=%s "
		    "account=%s", s->host, u->name, ga->cfg->name);
		s_enter(s, S_NOAUTH_UPSTREAM);
	}
	if (r == POOL_READY)
		s_up_ready(s);
}

/*
 * MAIL and RCPT: check the syntax here, apply the sender policy, re-emit
 * in canonical form. MAIL without AUTH is taken only from the networks of
 * an auth = none user.
 */
static void
cmd_path(struct session *s, const char *args, enum smtp_verb verb)
{
	char addr[SMTP_PATH_MAX + 1], line[UPSTREAM_CMD_MAX + 1];
	char kept[SMTP_LINE_MAX];
	const struct cfg_user *u = s->cu;
	const char *params;
	int mail = verb == SMTP_MAIL, n;

	if (!s->helo) {
		s_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		s_error(s);
		return;
	}
	if (!s->authed && (!mail || (u = config_noauth_user(s->rt->cfg,
	    (const struct sockaddr *)&s->peer)) == NULL)) {
		s_reply(s, "530 5.7.0 Authentication required");
		s_error(s);
		return;
	}
	if (smtp_parse_path(args, strlen(args), mail ? "FROM" : "TO", mail,
	    addr, sizeof(addr), &params) == -1) {
		s_reply(s, "501 5.5.4 Syntax: %s", mail ? "MAIL FROM:<address>" :
		    "RCPT TO:<address>");
		s_error(s);
		return;
	}
	if (s_params(s, params, mail) == -1)
		return;
	if (mail) {
		if (s_sender_policy(s, u, addr, sizeof(addr)) == -1 ||
		    s_limit(s, s->ga != NULL ? s->ga : runtime_account(s->rt,
		    u), u, 0) == -1)
			return;
		params = s_drop_auth_param(params, kept, sizeof(kept));
		s->txn_rcpt_sent = 0;
	} else if (s->up != NULL && s_limit(s, s->ga, u, 1) == -1)
		return;
	n = snprintf(line, sizeof(line), "%s:<%s>%s%s", mail ? "MAIL FROM" :
	    "RCPT TO", addr, *params != '\0' ? " " : "", params);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		s_reply(s, "500 5.5.2 Error: command too long");
		s_error(s);
		return;
	}
	if (s->up == NULL) {
		if (mail)
			s_connect_for_mail(s, u, line, (size_t)n);
		else
			s_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (upstream_command(s->up, line, (size_t)n) == -1) {
		s_reply(s, "500 5.5.2 Error: command too long");
		s_error(s);
		return;
	}
	if (!mail)
		s->txn_rcpt_sent++;
	s->relayed = verb;
	s_enter(s, S_RELAY);
}

static void
cmd_data(struct session *s, const char *args, enum smtp_verb verb)
{
	(void)verb;
	if (!s->authed) {
		s_reply(s, "530 5.7.0 Authentication required");
		s_error(s);
		return;
	}
	if (*args != '\0') {
		s_reply(s, "501 5.5.4 Syntax: DATA");
		s_error(s);
		return;
	}
	if (upstream_command(s->up, "DATA", 4) == -1) {
		s_reply(s, "451 4.3.0 Error: provider not ready");
		return;
	}
	s->relayed = SMTP_DATA;
	s_enter(s, S_DATA_WAIT);
}

/* RSET and NOOP: the provider's answer once authenticated, ours before. */
static void
cmd_simple(struct session *s, const char *args, enum smtp_verb verb)
{
	const char *name = smtp_verb_name(verb);

	(void)args;
	if (s->authed && upstream_command(s->up, name, strlen(name)) == 0) {
		s->relayed = verb;
		s_enter(s, S_RELAY);
		return;
	}
	s_reply(s, "250 2.0.0 OK");
}

static void
cmd_quit(struct session *s, const char *args, enum smtp_verb verb)
{
	(void)args;
	(void)verb;
	s->quit = 1;
	s_close_with(s, "quit", "221 2.0.0 Bye");
}

static void
cmd_vrfy(struct session *s, const char *args, enum smtp_verb verb)
{
	(void)args;
	(void)verb;
	s_reply(s, "252 2.0.0 Cannot VRFY user, but will accept message "
	    "and attempt delivery");
}

static void
cmd_help(struct session *s, const char *args, enum smtp_verb verb)
{
	(void)args;
	(void)verb;
	s_reply(s, "214 2.0.0 See RFC 5321 and RFC 4954");
}

static void
cmd_notimpl(struct session *s, const char *args, enum smtp_verb verb)
{
	(void)args;
	(void)verb;
	s_reply(s, "502 5.5.1 Error: command not implemented");
	s_error(s);
}

/*
 * The provider connection died (it hung up while idle, or a message was
 * cut off there). The transaction died with it; a new MAIL gets a new
 * connection, made as at AUTH (cmd_path sees no upstream).
 */
static void
s_reconnect(struct session *s, const char *args, enum smtp_verb verb)
{
	switch (verb) {
	case SMTP_MAIL:
		cmd_path(s, args, verb);
		return;
	case SMTP_RSET:
	case SMTP_NOOP:
		s_reply(s, "250 2.0.0 OK");
		return;
	default:
		s_reply(s, "503 5.5.1 Error: need MAIL command");
		s_error(s);
		return;
	}
}

static const struct {
	void	(*fn)(struct session *, const char *, enum smtp_verb);
	int	  relay;	/* needs the provider once authenticated */
} commands[SMTP_NVERBS] = {
	[SMTP_HELO] = { cmd_helo, 0 },
	[SMTP_EHLO] = { cmd_helo, 0 },
	[SMTP_STARTTLS] = { cmd_starttls, 0 },
	[SMTP_AUTH] = { cmd_auth, 0 },
	[SMTP_MAIL] = { cmd_path, 1 },
	[SMTP_RCPT] = { cmd_path, 1 },
	[SMTP_DATA] = { cmd_data, 1 },
	[SMTP_RSET] = { cmd_simple, 1 },
	[SMTP_NOOP] = { cmd_simple, 1 },
	[SMTP_QUIT] = { cmd_quit, 0 },
	[SMTP_VRFY] = { cmd_vrfy, 0 },
	[SMTP_EXPN] = { cmd_notimpl, 0 },
	[SMTP_HELP] = { cmd_help, 0 },
	[SMTP_BDAT] = { cmd_notimpl, 0 },
};

static void
s_command(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	char args[SMTP_LINE_MAX];

	if (smtp_cmd_parse(line, len, &cmd) == -1) {
		s_reply(s, "500 5.5.2 Error: bad syntax");
		s_error(s);
		return;
	}
	log_debug(s->id, "smtp command %s", smtp_verb_name(cmd.verb));
	if (cmd.verb == SMTP_UNKNOWN || commands[cmd.verb].fn == NULL) {
		s_reply(s, "500 5.5.2 Error: command not recognized");
		s_error(s);
		return;
	}
	memcpy(args, cmd.args, cmd.argslen);
	args[cmd.argslen] = '\0';
	if (commands[cmd.verb].relay && s->authed && s->up_lost) {
		s_reconnect(s, args, cmd.verb);
		return;
	}
	commands[cmd.verb].fn(s, args, cmd.verb);
}

/*
 * Input.
 */

/* Would one more recipient cross a sending limit? (No reply, no count.) */
static int
s_limit_would(struct session *s)
{
	const struct cfg_limits *lim[2] = { &s->ga->cfg->limits,
	    s->cu != NULL ? &s->cu->limits : NULL };
	const struct stats_user *su;
	time_t now = time(NULL);

	if (s_has_limits(lim[0]) && sendlimit_rcpt(lim[0], &s->ga->ra->win,
	    now, s->txn_rcpt_sent) != LIMIT_NONE)
		return 1;
	if (lim[1] == NULL || !s_has_limits(lim[1]))
		return 0;
	su = stats_user_find(&s->env->stats, s->cu->name);
	return su == NULL || su->win == NULL || sendlimit_rcpt(lim[1],
	    su->win, now, s->txn_rcpt_sent) != LIMIT_NONE;
}

/*
 * RFC 2920 towards the provider: while the reply to a MAIL or RCPT is due,
 * RCPT lines the client already pipelined go to the provider at once, so a
 * message to 50 recipients costs one round trip, not 51. Only a RCPT that
 * will be relayed is taken (anything answered here must wait its turn, to
 * keep the replies in order). Returns 1 if one was sent.
 */
static int
s_batch_rcpt(struct session *s)
{
	char line[SMTP_LINE_MAX], addr[SMTP_PATH_MAX + 1];
	char out[UPSTREAM_CMD_MAX + 1], why[128];
	const char *params;
	struct smtp_cmd cmd;
	size_t n, len;
	int o;

	if (s->up == NULL || s->swallow || s->batched >= SESSION_PIPELINE_MAX ||
	    (s->relayed != SMTP_MAIL && s->relayed != SMTP_RCPT) ||
	    !(upstream_caps(s->up) & UPSTREAM_CAP_PIPELINING) ||
	    buf_room(&s->c.out) < UPSTREAM_REPLY_MAX ||
	    (n = buf_line(&s->c.in)) == 0 || n > SMTP_LINE_MAX ||
	    s->discard_line)
		return 0;
	len = n - 1;
	if (len > 0 && buf_head(&s->c.in)[len - 1] == '\r')
		len--;
	memcpy(line, buf_head(&s->c.in), len);
	line[len] = '\0';
	if (smtp_cmd_parse(line, len, &cmd) == -1 || cmd.verb != SMTP_RCPT ||
	    smtp_parse_path(cmd.args, cmd.argslen, "TO", 0, addr, sizeof(addr),
	    &params) == -1 ||
	    s_params_known(s, params, 0, why, sizeof(why)) == -1)
		return 0;
	/* A recipient limit would answer this one here: not batched, it
	   waits its turn. */
	if (s_limit_would(s))
		return 0;
	o = snprintf(out, sizeof(out), "RCPT TO:<%s>%s%s", addr,
	    *params != '\0' ? " " : "", params);
	if (o < 0 || (size_t)o >= sizeof(out) ||
	    upstream_command(s->up, out, (size_t)o) == -1)
		return 0;
	buf_consume(&s->c.in, n);
	s->batched++;
	s->txn_rcpt_sent++;
	return 1;
}

/* Take command lines while there is room for their replies. */
static void
s_lines(struct session *s)
{
	char line[SMTP_AUTH_LINE_MAX];
	size_t n, len, max;
	int auth;

	while (s->state == S_RELAY && s_batch_rcpt(s))
		;
	while (s->state == S_CMD || s->state == S_AUTH_PLAIN ||
	    s->state == S_AUTH_LOGIN_USER || s->state == S_AUTH_LOGIN_PASS) {
		/* Pipelining: answer in order, never past the output room. */
		if (buf_room(&s->c.out) < UPSTREAM_REPLY_MAX)
			return;
		auth = s->state != S_CMD;
		max = auth ? SMTP_AUTH_LINE_MAX : SMTP_LINE_MAX;
		n = buf_line(&s->c.in);
		if (n == 0) {
			if (buf_len(&s->c.in) >= max) {
				buf_reset(&s->c.in);
				if (!s->discard_line) {
					s->discard_line = 1;
					s_reply(s, "500 5.5.2 Error: line too long");
					if (auth)
						s_ready(s);
					s_error(s);
				}
			}
			return;
		}
		if (s->discard_line || n > max) {
			buf_consume(&s->c.in, n);
			if (!s->discard_line) {
				s_reply(s, "500 5.5.2 Error: line too long");
				if (auth)
					s_ready(s);
				if (s_error(s))
					return;
			}
			s->discard_line = 0;
			continue;
		}
		len = n - 1;			/* a bare LF ends a line too */
		if (len > 0 && buf_head(&s->c.in)[len - 1] == '\r')
			len--;
		memcpy(line, buf_head(&s->c.in), len);
		line[len] = '\0';
		buf_consume(&s->c.in, n);
		s->line_done = 1;
		if (auth) {
			s_auth_response(s, line, len);
			explicit_bzero(line, len);
		} else
			s_command(s, line, len);
	}
}

/* Start the From rewriter for this message (rewrite_from_header). */
static void
s_fr_start(struct session *s)
{
	if (!s->rewrite_from)
		return;
	if (fromrewrite_init(&s->fr, s->ga->cfg->email) == -1 ||
	    buf_init(&s->stage, SESSION_STAGE_MAX) == -1) {
		/* As for an oversized header section: sent unchanged. */
		log_warn(s->id, "cannot rewrite From: out of memory, message "
		    "sent with its From unchanged");
		fromrewrite_free(&s->fr);
		buf_free(&s->stage);
		return;
	}
	s->fr_on = 1;
}

/* Stop the From rewriter; log what it did if the message went out. */
static void
s_fr_stop(struct session *s, int sent)
{
	if (!s->fr_on)
		return;
	if (sent && s->fr.overflow)
		log_warn(s->id, "header section over %d bytes: message sent "
		    "with its From unchanged", FROMREWRITE_HEADER_MAX);
	else if (sent)
		log_info(s->id, "from header rewritten fields=%u reply_to=%s",
		    s->fr.rewritten, s->fr.reply_to ? "added" : "kept");
	fromrewrite_free(&s->fr);
	buf_free(&s->stage);
	s->fr_on = 0;
}

/*
 * Move staged message bytes through the From rewriter into the provider's
 * window ob. Returns 1 once nothing is left staged or held.
 */
static int
s_fr_flush(struct session *s, struct buf *ob)
{
	size_t used, produced;

	fromrewrite_run(&s->fr, buf_head(&s->stage), buf_len(&s->stage),
	    &used, buf_tail(ob), buf_room(ob), &produced);
	buf_consume(&s->stage, used);
	buf_produce(ob, produced);
	return buf_len(&s->stage) == 0 && !fromrewrite_pending(&s->fr);
}

/*
 * The end of the message is in: hand it to the provider; with the
 * rewriter, once all it holds is out and the terminator after it (while
 * the window is full, UPSTREAM_WRITABLE brings us back here).
 */
static void
s_data_end(struct session *s)
{
	struct buf *ob = upstream_data_buf(s->up);

	if (s->fr_on) {
		fromrewrite_finish(&s->fr);
		if (!s_fr_flush(s, ob) || buf_append(ob, ".\r\n", 3) == -1)
			return;
		s_fr_stop(s, 1);
	}
	s->df_end = 0;
	s->txn = 0;
	upstream_data_end(s->up);
	s->data_t0 = ev_now(s->env->loop);
	s_enter(s, S_DATA_END);
}

/* A message's end counts for its account (and its user, if counted). */
static void
s_count(struct session *s, enum stats_msg m)
{
	struct stats_account *sa = &s->ga->ra->stats;
	struct stats_user *su;

	sa->messages[m]++;
	sa->recipients[m] += s->txn_rcpts;
	sa->bytes[m] += s->df.content;
	if (s->rt->cfg->metrics_per_user && s->cu != NULL &&
	    (su = stats_user(&s->env->stats, s->cu->name)) != NULL)
		su->messages[m]++;
	s->txn_rcpts = 0;
}

/* The message was not relayed: say why, and take commands again. */
static void
s_data_dropped(struct session *s)
{
	s_count(s, s->data_nul || s->data_too_big ? MSG_REJECTED : MSG_FAILED);
	s_fr_stop(s, 0);
	s->df_end = 0;
	s->txn = 0;
	if (s->data_nul)
		s_reply(s, "554 5.6.0 Message contains NUL characters");
	else if (s->data_too_big)
		s_reply(s, "552 5.3.4 Message size exceeds fixed limit");
	else
		s_reply(s, "451 4.4.2 Error: connection to provider lost, "
		    "message not sent");
	log_info(s->id, "message not relayed size=%llu reason=%s",
	    s->df.content, s->data_nul ? "NUL byte" : s->data_too_big ?
	    "too big" : "provider lost");
	s_ready(s);
}

/*
 * Stream message bytes through the filter into the provider's window; with
 * rewrite_from, through the stage buffer and the From rewriter first.
 */
static void
s_data(struct session *s)
{
	char scratch[4096];
	struct buf *ob = NULL, *dst;
	size_t used, produced, room;
	char *out;
	int end;

	while (s->state == S_DATA) {
		if (s->data_discard && s->df_end) {
			s_data_dropped(s);
			return;
		}
		if (!s->data_discard) {
			ob = upstream_data_buf(s->up);
			if (s->fr_on && !s_fr_flush(s, ob))
				return;		/* UPSTREAM_WRITABLE resumes */
			if (s->df_end) {
				s_data_end(s);
				return;
			}
		}
		if (buf_len(&s->c.in) == 0)
			return;
		if (s->data_discard) {
			out = scratch;
			room = sizeof(scratch);
			dst = NULL;
		} else {
			dst = s->fr_on ? &s->stage : ob;
			if ((room = buf_room(dst)) < 2 * DATAFILTER_EXPANSION)
				return;		/* UPSTREAM_WRITABLE resumes */
			out = buf_tail(dst);
		}
		end = datafilter_run(&s->df, buf_head(&s->c.in),
		    buf_len(&s->c.in), &used, out, room, &produced);
		/* RFC 5322 has no NUL, and "CRLF NUL . CRLF" ends the data of
		   servers that drop NULs (smuggling): the message is refused,
		   cut off before its bytes leave (nothing is written to the
		   provider until the loop runs again). */
		if (!s->data_discard && memchr(buf_head(&s->c.in), '\0',
		    used) != NULL) {
			log_warn(s->id, "message holds a NUL byte: refused");
			s->data_nul = s->data_discard = 1;
			s_fr_stop(s, 0);
			s_up_release(s, 0);
			s->up_lost = 1;
			dst = NULL;
		}
		buf_consume(&s->c.in, used);
		/* The rewriter sees content only: the filter's final ".\r\n"
		   is written after all it holds (s_data_end). */
		if (dst != NULL)
			buf_produce(dst, end && s->fr_on ? produced - 3 :
			    produced);
		if (end)
			s->df_end = 1;
		if (!s->data_discard && s->df.content >
		    (unsigned long long)s->rt->cfg->max_message_size) {
			/* Closing the provider connection aborts the message
			   there: it never sees the end of data. */
			log_warn(s->id, "message over max_message_size=%ld",
			    s->rt->cfg->max_message_size);
			s->data_too_big = s->data_discard = 1;
			s_fr_stop(s, 0);
			s_up_release(s, 0);
			s->up_lost = 1;
		}
	}
}

static void
s_process(struct session *s)
{
	for (;;) {
		enum s_state before = s->state;

		if (s->state == S_DATA)
			s_data(s);
		else
			s_lines(s);
		if (s->state == before)
			return;
	}
}

/*
 * Upstream events.
 */

static void
s_upstream_reply(struct session *s)
{
	size_t len;
	const char *r = upstream_reply(s->up, &len);
	int code = upstream_reply_code(s->up);

	if (s->state == S_DATA_END)
		stats_hist_add(&s->ga->ra->stats.data_reply,
		    ev_now(s->env->loop) - s->data_t0);
	if (s->swallow) {
		s->swallow = 0;
		s_ready(s);
		return;
	}
	s->ga->ra->stats.replies[code >= 100 && code < 600 ? code / 100 : 0]++;
	if (conn_write(&s->c, r, len) == -1) {
		s_close_with(s, "output overflow",
		    "421 4.3.0 %s Error: reply too large",
		    s->rt->cfg->hostname);
		return;
	}
	if (s->state == S_DATA_END) {
		if (code / 100 == 2)
			s_limit_count(s);
		s_count(s, code / 100 == 2 ? MSG_RELAYED : code / 100 == 5 ?
		    MSG_REJECTED : MSG_FAILED);
	}
	if (code == 421) {
		s->close_reason = "provider closing";
		s_enter(s, S_CLOSING);
		return;
	}
	switch (s->state) {
	case S_DATA_WAIT:
		if (code == 354) {
			datafilter_init(&s->df);
			s->data_discard = s->data_too_big = s->df_end = 0;
			s->data_nul = 0;
			s_fr_start(s);
			upstream_data_begin(s->up);
			s_enter(s, S_DATA);
			return;
		}
		break;
	case S_DATA_END:
		if (code / 100 == 2)
			s->nmsgs++;
		log_info(s->id, "message %s size=%llu reply=\"%.*s\"",
		    code / 100 == 2 ? "relayed" : "not relayed",
		    s->df.content, (int)(len > 2 ? len - 2 : 0) > 200 ? 200 :
		    (int)(len > 2 ? len - 2 : 0), r);
		break;
	default:
		if (s->relayed == SMTP_MAIL && code / 100 == 2) {
			s->txn = 1;
			s->txn_rcpts = 0;
		} else if (s->relayed == SMTP_RCPT && code / 100 == 2)
			s->txn_rcpts++;
		else if (s->relayed == SMTP_RSET)
			s->txn = 0;
		if (s->batched > 0) {
			/* The next reply is a batched RCPT's. */
			s->batched--;
			s->relayed = SMTP_RCPT;
			return;
		}
		break;
	}
	s_ready(s);
}

/* The provider connection a MAIL waited for is ready: send that MAIL. */
static void
s_mail_ready(struct session *s)
{
	if (!s->authed) {
		s_authed(s);
		log_info(s->id, "authenticated by network user=%s account=%s "
		    "client=%s", s->user, s->ga->cfg->name, s->host);
	}
	s->up_lost = 0;
	if (upstream_command(s->up, s->mail_line, s->mail_len) == -1) {
		s_reply(s, "451 4.3.0 Error: provider not ready");
		s_ready(s);
		return;
	}
	s->relayed = SMTP_MAIL;
	s_enter(s, S_RELAY);
}

/* The provider connection the session waited for is READY (new or taken
   from the pool): answer the AUTH, or send the waiting MAIL. */
static void
s_up_ready(struct session *s)
{
	if (s->state == S_RECONNECT || s->state == S_NOAUTH_UPSTREAM) {
		s_mail_ready(s);
		return;
	}
	s_authed(s);
	s_stat_auth(s, AUTH_OK);
	log_info(s->id, "authenticated user=%s account=%s",
	    s->user, s->ga->cfg->name);
	s_reply(s, "235 2.7.0 Authentication successful");
	s_ready(s);
}

/*
 * No provider connection for the waiting AUTH or MAIL: it failed for
 * reason, or (reason NULL) no slot came free in upstream_queue_timeout.
 */
static void
s_up_unavailable(struct session *s, const char *reason)
{
	if (s->state == S_RECONNECT || s->state == S_NOAUTH_UPSTREAM) {
		log_warn(s->id, "%s failed user=%s reason=\"%s\"",
		    s->state == S_RECONNECT ? "reconnect" :
		    "provider connection", s->user, reason != NULL ? reason :
		    "too many connections to the provider");
		if (!s->authed) {
			s->cu = NULL;
			s->ga = NULL;
			s_wipe_user(s);
		}
		if (reason == NULL)
			s_reply(s, S_REPLY_POOL_FULL);
		else
			s_reply(s, "451 4.4.0 Error: provider unavailable: "
			    "%.200s", reason);
		s_ready(s);
		return;
	}
	s_stat_auth(s, AUTH_PROVIDER);
	log_warn(s->id, "relay unavailable user=%s account=%s reason=\"%s\"",
	    s->user, s->ga->cfg->name, reason != NULL ? reason :
	    "too many connections to the provider");
	if (reason == NULL)
		s_reply(s, S_REPLY_POOL_FULL);
	else
		s_reply(s, "454 4.7.0 Temporary authentication failure: "
		    "%.200s", reason);
	s_wipe_user(s);
	s_ready(s);
}

/* The account's pool answers a queued request (see pool_get). */
static void
s_pool_grant(void *arg, enum pool_result r, struct upstream *u)
{
	struct session *s = arg;

	if (s->magic != SESSION_MAGIC)
		abort();
	s->up = u;
	stats_hist_add(&s->up_stats->slot_wait, ev_now(s->env->loop) -
	    s->wait_t0);
	switch (r) {
	case POOL_READY:
		s_up_ready(s);
		break;
	case POOL_NEW:
	case POOL_QUEUED:
		break;			/* READY or FAILED follows */
	case POOL_TIMEOUT:
		s_up_unavailable(s, NULL);
		break;
	case POOL_ERROR:
		s_up_unavailable(s, "server busy");
		break;
	}
	if (s->state != S_CLOSING)
		s_process(s);
	s_update(s);
}

static void
s_upstream_cb(void *arg, enum upstream_event ev)
{
	struct session *s = arg;

	if (s->magic != SESSION_MAGIC)
		abort();
	switch (ev) {
	case UPSTREAM_READY:
		s_up_ready(s);
		break;
	case UPSTREAM_FAILED:
		s_up_unavailable(s, upstream_reason(s->up));
		s_up_release(s, 0);
		break;
	case UPSTREAM_REPLY:
		s_upstream_reply(s);
		break;
	case UPSTREAM_WRITABLE:
		break;
	case UPSTREAM_LOST:
		log_warn(s->id, "provider lost state=%s reason=\"%s\"",
		    s_names[s->state], upstream_reason(s->up));
		s_up_release(s, 0);
		s->up_lost = 1;
		s->txn = 0;
		if (s->state == S_DATA) {
			s->data_discard = 1;
			s_fr_stop(s, 0);
		} else if (s->state == S_DATA_END || s->state == S_DATA_WAIT) {
			if (s->state == S_DATA_END)
				s_count(s, MSG_FAILED);
			s_reply(s, "451 4.4.2 Error: connection to provider "
			    "lost, message not sent");
			s_ready(s);
		} else if (s->state == S_RELAY)
			s_close_with(s, "provider lost", "421 4.4.2 %s Error: "
			    "connection to provider lost",
			    s->rt->cfg->hostname);
		break;
	}
	if (s->state != S_CLOSING)
		s_process(s);
	s_update(s);
}

/*
 * Connection events, timers, watchers.
 */

/*
 * The greeting; or, for a client outside the listener's networks, 554 and
 * close (on an implicit-TLS listener after the handshake, so that the
 * client can read it).
 */
static void
s_greeting(struct session *s)
{
	const struct cfg_listen *cl = s->gl->cfg;

	s->greeted = 1;
	if (cl->networks.n > 0 && !cidr_list_match(&cl->networks,
	    (const struct sockaddr *)&s->peer)) {
		s_stat_refused(s, REFUSED_NETWORKS);
		log_warn(s->id, "unknown[%s]: access denied: not in the "
		    "networks of listener %s", s->host, s->gl->name);
		s_close_with(s, "network not allowed",
		    "554 5.7.1 %s Access denied", s->rt->cfg->hostname);
		return;
	}
	s_reply(s, "220 %s ESMTP authrelay", s->rt->cfg->hostname);
	s_enter(s, S_CMD);
}

static void
s_conn_cb(void *arg, struct conn *c, int ev)
{
	struct session *s = arg;

	(void)c;
	if (s->magic != SESSION_MAGIC)
		abort();
	if (ev & CONN_EV_ERROR) {
		if (s->state == S_TLS)
			s->gl->sock->stats.tls_failures[strstr(s->c.errtext,
			    "peer closed") != NULL ? TLSFAIL_CLOSED :
			    TLSFAIL_PROTOCOL]++;
		s_free(s, s->c.errtext);
		return;
	}
	if (ev & CONN_EV_TLS_DONE) {
		log_info(s->id, "tls version=%s cipher=%s",
		    SSL_get_version(s->c.ssl), SSL_get_cipher_name(s->c.ssl));
		if (!s->greeted)
			s_greeting(s);	/* implicit TLS: greet once it is up */
		else
			s_ready(s);
	}
	if (ev & (CONN_EV_READ | CONN_EV_WRITTEN)) {
		/* Message data may trickle; a command line has a deadline
		   that its bytes do not move (s_lines restarts it per line). */
		if ((ev & CONN_EV_READ) && s->state == S_DATA)
			ev_timer_again(s->env->loop, &s->timer);
		s_process(s);
	}
	if (ev & CONN_EV_EOF) {
		if (s->state == S_TLS)
			s->gl->sock->stats.tls_failures[TLSFAIL_CLOSED]++;
		/* Mid-DATA the provider must not get an end of data:
		   freeing the upstream closes it unterminated. */
		if (s->state != S_CLOSING || buf_len(&s->c.out) == 0) {
			s_free(s, s->state == S_DATA ?
			    "client disconnected during DATA" :
			    "client disconnected");
			return;
		}
	}
	s_update(s);
}

static void
s_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state == S_CLOSING) {
		s_free(s, s->close_reason);
		return;
	}
	if (s->state == S_TLS) {
		/* No reply can reach a client that has no TLS yet. */
		log_info(s->id, "timeout state=tls");
		s->gl->sock->stats.tls_failures[TLSFAIL_TIMEOUT]++;
		s_free(s, "TLS handshake timeout");
		return;
	}
	if (s->state == S_PROXY) {
		s_stat_refused(s, REFUSED_PROXY);
		log_info(s->id, "no PROXY header within %d s",
		    SESSION_PROXY_TIMEOUT);
		s_free(s, "timeout before the PROXY header");
		return;
	}
	log_info(s->id, "timeout state=%s", s_names[s->state]);
	s_close_with(s, "timeout", "421 4.4.2 %s Error: timeout exceeded",
	    s->rt->cfg->hostname);
	s_update(s);
}

/* The client timeout that applies in the current state; 0: none. */
static double
s_timeout(const struct session *s)
{
	const struct config *cfg = s->rt->cfg;

	switch (s->state) {
	case S_PROXY:
		return SESSION_PROXY_TIMEOUT;
	case S_TLS:
		return (double)cfg->tls_handshake_timeout;
	case S_DATA:
		return s->data_discard || buf_room(upstream_data_buf(s->up)) >
		    0 ? (double)cfg->data_timeout : 0.;
	case S_AUTH_PENALTY:		/* auth_timeout still runs */
	case S_AUTH_CHECK:
	case S_AUTH_UPSTREAM:
	case S_AUTH_FAILWAIT:
	case S_RECONNECT:
	case S_NOAUTH_UPSTREAM:
	case S_RELAY:
	case S_DATA_WAIT:
	case S_DATA_END:
		return 0.;	/* the provider's timeout runs */
	case S_CLOSING:
		return SESSION_CLOSE_TIMEOUT;
	default:
		return (double)cfg->command_timeout;
	}
}

/* Between transactions, holding a provider connection nobody uses. */
static int
s_holding_idle(const struct session *s)
{
	return s->state == S_CMD && s->authed && s->up != NULL &&
	    !s->up_lost && !s->txn && s->rt->cfg->upstream_hold_timeout > 0;
}

/*
 * upstream_hold_timeout passed with the session idle: its provider
 * connection goes back to the pool for the fleet's other devices; its next
 * MAIL takes one again (as after a lost connection).
 */
static void
s_hold_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;

	(void)loop;
	(void)revents;
	if (!s_holding_idle(s))
		return;
	log_debug(s->id, "idle for upstream_hold_timeout=%ld s: provider "
	    "connection handed back", s->rt->cfg->upstream_hold_timeout);
	s_up_release(s, 1);
	s->up_lost = 1;
}

/*
 * After every event: read only in states that take input and while the
 * provider's window has room; arm the timeout the state calls for; free
 * a closing session once its last reply is out.
 */
static void
s_update(struct session *s)
{
	int reading;
	double t;

	if (s->state == S_CLOSING && buf_len(&s->c.out) == 0) {
		s_free(s, s->close_reason);
		return;
	}
	switch (s->state) {
	case S_TLS:
	case S_CMD:
	case S_AUTH_PLAIN:
	case S_AUTH_LOGIN_USER:
	case S_AUTH_LOGIN_PASS:
		reading = buf_room(&s->c.out) >= UPSTREAM_REPLY_MAX;
		break;
	case S_DATA:
		reading = s->data_discard ||
		    buf_room(upstream_data_buf(s->up)) >=
		    2 * DATAFILTER_EXPANSION;
		break;
	default:
		reading = 0;
	}
	conn_pause(&s->c, !reading);
	conn_update(&s->c);
	if (s->up != NULL)
		upstream_update(s->up);
	t = s_timeout(s);
	if (t == 0.)
		ev_timer_stop(s->env->loop, &s->timer);
	else if (s->line_done || s->timer.repeat != t ||
	    !ev_is_active(&s->timer)) {
		s->timer.repeat = t;
		ev_timer_again(s->env->loop, &s->timer);
	}
	s->line_done = 0;
	if (!s_holding_idle(s))
		ev_timer_stop(s->env->loop, &s->hold);
	else if (!ev_is_active(&s->hold)) {
		ev_timer_set(&s->hold,
		    (double)s->rt->cfg->upstream_hold_timeout, 0.);
		ev_timer_start(s->env->loop, &s->hold);
	}
}

static void
s_free(struct session *s, const char *reason)
{
	struct session_env *env = s->env;

	log_info(s->id, "disconnect reason=\"%s\" messages=%lu",
	    reason != NULL ? reason : "unknown", s->nmsgs);
	ev_timer_stop(env->loop, &s->timer);
	ev_timer_stop(env->loop, &s->delay);
	ev_timer_stop(env->loop, &s->authdl);
	ev_timer_stop(env->loop, &s->hold);
	ev_io_stop(env->loop, &s->proxy_io);
	free(s->pp);
	auth_cancel(s->auth);
	penalty_cancel(env->penalty, &s->pen);
	explicit_bzero(s->pass, sizeof(s->pass));
	pool_cancel(&s->pw);
	if (s->ip_counted)
		ipcount_del(env->ipcount, (const struct sockaddr *)&s->peer);
	/* After QUIT, or a client gone while idle, the provider connection
	   is sound and may serve the account's next session. */
	s_up_release(s, !s->up_lost && (s->state == S_CMD ||
	    (s->state == S_CLOSING && s->quit)));
	s_fr_stop(s, 0);
	conn_close(&s->c);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		env->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	env->n--;
	s->gl->sock->nsessions--;
	/* Last: its provider connection went back to a pool of the
	   generation's accounts. */
	runtime_unref(s->rt);
	s_wipe_user(s);
	s->magic = 0;
	free(s);
}

/*
 * The client's address is known: count it against max_connections_per_ip.
 * Over the limit, the session ends with 421 (plain text: on an
 * implicit-TLS listener the connection just closes). Returns 0 to go on,
 * -1 once the session is ending (it may be freed).
 */
static int
s_client_known(struct session *s)
{
	const struct config *cfg = s->rt->cfg;
	long n;

	if (ipcount_add(s->env->ipcount, (const struct sockaddr *)&s->peer,
	    cfg->max_connections_per_ip, &n) == 0) {
		s->ip_counted = 1;
		return 0;
	}
	s_stat_refused(s, REFUSED_PER_IP);
	log_warn(s->id, "unknown[%s]: too many connections from this address "
	    "(max_connections_per_ip=%ld)", s->host,
	    cfg->max_connections_per_ip);
	if (s->gl->cfg->mode == LISTEN_TLS) {
		s_free(s, "too many connections from this address");
		return -1;
	}
	s_close_with(s, "too many connections from this address",
	    "421 4.7.0 %s Error: too many connections from your address",
	    cfg->hostname);
	s_update(s);
	return -1;
}

/* s->host from s->peer; returns the port. */
static unsigned
s_peer_text(struct session *s)
{
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer;

	s->host[0] = '\0';
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const void *)sa;

		inet_ntop(AF_INET6, &a6->sin6_addr, s->host, sizeof(s->host));
		return ntohs(a6->sin6_port);
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const void *)sa;

		inet_ntop(AF_INET, &a4->sin_addr, s->host, sizeof(s->host));
		return ntohs(a4->sin_port);
	}
	return 0;
}

/* The client is known (after its PROXY header, if any): its limits,
   then the TLS handshake or the greeting. */
static void
s_start(struct session *s)
{
	if (s_client_known(s) == -1)
		return;
	if (s->gl->cfg->mode == LISTEN_TLS) {
		if (conn_starttls(&s->c, s->gl->tls_ctx, NULL) == -1) {
			s_free(s, "TLS setup failed");
			return;
		}
		s_enter(s, S_TLS);
	} else
		s_greeting(s);
	s_update(s);
}

/*
 * The PROXY header arrives: bytes are peeked, and only those that are
 * surely the header's are taken from the socket (a prefix that still
 * needs more is all header), so that what follows (a TLS ClientHello, or
 * SMTP) stays in the socket for conn. Nothing is read twice: no busy loop.
 */
static void
s_proxy_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session *s = w->data;
	struct proxyproto_hdr h;
	char err[PROXYPROTO_ERR_MAX], via[INET6_ADDRSTRLEN];
	size_t consumed, take;
	enum proxyproto_result r;
	ssize_t n;
	unsigned port;

	(void)revents;
	if (s->magic != SESSION_MAGIC)
		abort();
	n = recv(s->c.fd, s->pp + s->pplen, PROXYPROTO_MAX - s->pplen,
	    MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		s_free(s, "client gone before its PROXY header");
		return;
	}
	r = proxyproto_parse(s->pp, s->pplen + (size_t)n, &h, &consumed, err,
	    sizeof(err));
	if (r == PROXYPROTO_ERROR) {
		s_stat_refused(s, REFUSED_PROXY);
		log_warn(s->id, "unknown[%s]: bad PROXY header: %s", s->host,
		    err);
		s_free(s, "bad PROXY header");
		return;
	}
	take = r == PROXYPROTO_DONE ? consumed - s->pplen : (size_t)n;
	if (recv(s->c.fd, s->pp + s->pplen, take, 0) != (ssize_t)take) {
		s_free(s, "PROXY header: read failed");
		return;
	}
	s->pplen += take;
	if (r == PROXYPROTO_NEED_MORE)
		return;
	ev_io_stop(loop, &s->proxy_io);
	free(s->pp);
	s->pp = NULL;
	ev_timer_stop(loop, &s->timer);
	snprintf(via, sizeof(via), "%s", s->host);
	if (h.local)
		log_info(s->id, "proxy v%d local connection via=%s: the "
		    "balancer's own address stands", h.version, via);
	else {
		memcpy(&s->peer, &h.src, sizeof(s->peer));
		port = s_peer_text(s);
		log_info(s->id, "proxy v%d client=%s port=%u via=%s", h.version,
		    s->host, port, via);
	}
	s_start(s);
}

/* A proxy_protocol listener: only its proxy_networks may speak, and they
   first send the header that names the client. */
static void
s_proxy_begin(struct session *s)
{
	const struct cfg_listen *cl = s->gl->cfg;

	if (!cidr_list_match(&cl->proxy_networks,
	    (const struct sockaddr *)&s->peer)) {
		s_stat_refused(s, REFUSED_PROXY);
		log_warn(s->id, "unknown[%s]: not in proxy_networks of listener "
		    "%s", s->host, s->gl->name);
		s_free(s, "PROXY header from outside proxy_networks");
		return;
	}
	if ((s->pp = malloc(PROXYPROTO_MAX)) == NULL) {
		s_free(s, "out of memory");
		return;
	}
	s_enter(s, S_PROXY);
	ev_io_init(&s->proxy_io, s_proxy_io_cb, s->c.fd, EV_READ);
	s->proxy_io.data = s;
	ev_io_start(s->env->loop, &s->proxy_io);
	s_update(s);
}

/*
 * Take over an accepted, non-blocking socket from listener gl of
 * generation rt (referenced for the session's life), in env. Returns 0,
 * or -1 (the caller closes fd).
 */
int
session_new(struct session_env *env, struct runtime *rt,
    const struct gen_listener *gl, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct session *s;
	unsigned port = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	if (conn_init(&s->c, env->loop, fd, SESSION_IN_MAX, SESSION_OUT_MAX,
	    s_conn_cb, s) == -1) {
		free(s);
		return -1;
	}
	s->magic = SESSION_MAGIC;
	s->id = env->next_id++;
	s->env = env;
	s->rt = runtime_ref(rt);
	s->gl = gl;
	if (salen > sizeof(s->peer))
		salen = sizeof(s->peer);
	memcpy(&s->peer, sa, salen);
	port = s_peer_text(s);
	ev_init(&s->timer, s_timeout_cb);
	s->timer.data = s;
	ev_init(&s->delay, s_delay_cb);
	s->delay.data = s;
	ev_timer_init(&s->authdl, s_authdl_cb, (double)rt->cfg->auth_timeout,
	    0.);
	s->authdl.data = s;
	ev_init(&s->hold, s_hold_cb);
	s->hold.data = s;
	ev_timer_start(env->loop, &s->authdl);
	if ((s->next = env->head) != NULL)
		s->next->prev = s;
	env->head = s;
	env->n++;
	gl->sock->nsessions++;
	log_info(s->id, "connect client=%s port=%u listener=%s", s->host,
	    port, gl->name);
	if (gl->cfg->proxy_protocol)
		s_proxy_begin(s);
	else
		s_start(s);
	return 0;
}

/*
 * The server is stopping (env->stopping is set): idle sessions get 421
 * and close now, sessions in DATA once their message is done.
 */
void
session_shutdown_all(struct session_env *env)
{
	struct session *s, *next;

	for (s = env->head; s != NULL; s = next) {
		next = s->next;
		switch (s->state) {
		case S_PROXY:
		case S_TLS:
			s_free(s, "shutdown");
			break;
		case S_CMD:
		case S_AUTH_PLAIN:
		case S_AUTH_LOGIN_USER:
		case S_AUTH_LOGIN_PASS:
		case S_AUTH_FAILWAIT:
			ev_timer_stop(env->loop, &s->delay);
			s_ready(s);	/* sees env->stopping: 421 */
			s_update(s);
			break;
		default:
			break;		/* s_ready() when its work is done */
		}
	}
}

/* Close and free every session at once (end of the grace period). */
void
session_close_all(struct session_env *env)
{
	while (env->head != NULL)
		s_free(env->head, "shutdown");
}
