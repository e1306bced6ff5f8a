/*
 * upstream: SMTP client towards the provider. See upstream.h.
 *
 * Like OpenSMTPD's smtp_client.c, entering a state sends its command, every
 * reply line is validated and size-capped (reply.c), and the XOAUTH2 line is
 * wiped from memory once sent.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "io/conn.h"
#include "io/log.h"
#include "upstream/reply.h"
#include "upstream/upstream.h"
#include "upstream/xoauth2.h"

enum us_state {
	US_RESOLVE, US_CONNECT, US_TLS, US_GREETING, US_EHLO, US_STARTTLS,
	US_STARTTLS_HS, US_TOKEN, US_AUTH, US_AUTH_CHALLENGE, US_READY,
	US_REPLY_WAIT, US_DATA, US_DEAD,
};

static const char *us_names[] = {
	"resolve", "connect", "tls", "greeting", "ehlo", "starttls",
	"starttls-handshake", "token", "auth", "auth-challenge", "ready",
	"reply-wait", "data", "dead",
};

/* A name resolution on the resolver pool; detached when u goes away. */
struct us_resolve {
	struct upstream	*u;		/* NULL once u is freed */
	char		*host, *port;
	struct addrinfo	*res;
	int		 err;
};

struct upstream {
	struct ev_loop			*loop;
	const struct upstream_target	*t;
	uint64_t			 sid;
	enum us_state			 state;
	struct conn			 conn;
	int				 conn_open;
	ev_timer			 timer;
	struct us_resolve		*resolve;
	struct addrinfo			*addrs, *next_addr;
	struct oauth_wait		*wait;
	char				*token;		/* the one sent */
	struct reply			 rp;
	struct buf			 reply;
	int				 ehlo_starttls, ehlo_xoauth2;
	int				 auth_retried;	/* one retry with a
							   fresh token */
	int				 idle;		/* pooled, unused */
	unsigned long long		 size_limit;
	unsigned			 caps;		/* UPSTREAM_CAP_* */
	int				 pending;	/* replies awaited */
	ev_timer			 drain;		/* more replies are
							   already buffered */
	upstream_cb			*cb;
	void				*arg;
	upstream_trace_fn		*trace;
	void				*trace_arg;
	char				 reason[256];
};

static void	us_conn_cb(void *, struct conn *, int);
static void	us_next_addr(struct upstream *);

static void
us_enter(struct upstream *u, enum us_state st)
{
	log_debug(u->sid, "upstream %s -> %s", us_names[u->state],
	    us_names[st]);
	u->state = st;
	/* Idle between commands is the client's time, not the provider's:
	   a provider that hangs up meanwhile is seen as EOF. */
	if (st == US_DEAD || st == US_READY)
		ev_timer_stop(u->loop, &u->timer);
	else {
		u->timer.repeat = (ev_tstamp)u->t->timeout;
		ev_timer_again(u->loop, &u->timer);
	}
}

/* Tell the owner; the last thing any path does, as u may be gone after. */
static void
us_emit(struct upstream *u, enum upstream_event ev)
{
	u->cb(u->arg, ev);
}

static int
us_fail(struct upstream *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Record why, stop all I/O, and tell the owner (FAILED or LOST). Returns 1:
 * an event was emitted and u may be gone.
 */
static int
us_fail(struct upstream *u, const char *fmt, ...)
{
	int was_ready = u->state >= US_READY;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->reason, sizeof(u->reason), fmt, ap);
	va_end(ap);
	if (u->idle)
		log_debug(u->sid, "idle upstream %s:%s closed reason=\"%s\"",
		    u->t->host, u->t->port, u->reason);
	else
		log_warn(u->sid, "upstream %s:%s failed state=%s "
		    "reason=\"%s\"", u->t->host, u->t->port,
		    us_names[u->state], u->reason);
	us_enter(u, US_DEAD);
	if (u->conn_open) {
		conn_close(&u->conn);
		u->conn_open = 0;
	}
	us_emit(u, was_ready ? UPSTREAM_LOST : UPSTREAM_FAILED);
	return 1;
}

static void
us_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct upstream *u = w->data;

	(void)loop;
	(void)revents;
	us_fail(u, "provider timed out in state %s", us_names[u->state]);
}

static void
us_trace(struct upstream *u, enum upstream_trace dir, const char *line,
    size_t len)
{
	if (u->trace != NULL)
		u->trace(u->trace_arg, dir, line, len);
}

static int
us_sendf(struct upstream *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queue one command line (CRLF added) and show it to the tracer. */
static int
us_sendf(struct upstream *u, const char *fmt, ...)
{
	char line[UPSTREAM_CMD_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    buf_printf(&u->conn.out, "%s\r\n", line) == -1)
		return -1;
	us_trace(u, UPSTREAM_TRACE_SENT, line, (size_t)n);
	return 0;
}

static void
us_resolve_work(void *arg)
{
	struct us_resolve *r = arg;
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	r->err = getaddrinfo(r->host, r->port, &hints, &r->res);
}

static void
us_resolve_free(struct us_resolve *r)
{
	if (r->res != NULL)
		freeaddrinfo(r->res);
	free(r->host);
	free(r->port);
	free(r);
}

static void
us_resolve_done(void *arg)
{
	struct us_resolve *r = arg;
	struct upstream *u = r->u;

	if (u == NULL) {		/* the session went away meanwhile */
		us_resolve_free(r);
		return;
	}
	u->resolve = NULL;
	if (r->err != 0 || r->res == NULL) {
		const char *why = r->err != 0 ? gai_strerror(r->err) :
		    "no address";

		us_resolve_free(r);
		us_fail(u, "cannot resolve %s: %s", u->t->host, why);
		return;
	}
	u->addrs = u->next_addr = r->res;
	r->res = NULL;
	us_resolve_free(r);
	us_enter(u, US_CONNECT);
	us_next_addr(u);
}

/* Connect to the next address, or fail when none is left. */
static void
us_next_addr(struct upstream *u)
{
	char err[160] = "no address";

	while (u->next_addr != NULL) {
		struct addrinfo *ai = u->next_addr;

		u->next_addr = ai->ai_next;
		if (u->conn_open)
			conn_close(&u->conn);
		u->conn_open = 0;
		if (conn_init(&u->conn, u->loop, -1, UPSTREAM_IN_MAX,
		    UPSTREAM_OUT_MAX, us_conn_cb, u) == -1) {
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		u->conn_open = 1;
		if (conn_connect(&u->conn, ai->ai_addr, ai->ai_addrlen) == 0)
			return;
		snprintf(err, sizeof(err), "%s", u->conn.errtext);
	}
	us_fail(u, "cannot connect to %s:%s: %s", u->t->host, u->t->port, err);
}

/* Length of the reply's first line, for "%.*s" in messages. */
static int
us_first_line(const struct upstream *u)
{
	const char *p = buf_head(&u->reply);
	const char *e = memchr(p, '\r', buf_len(&u->reply));

	return e == NULL ? (int)buf_len(&u->reply) : (int)(e - p);
}

/* Parse the EHLO keywords we act on. */
static void
us_ehlo_line(struct upstream *u, const char *line, size_t len)
{
	size_t tl;
	const char *t = reply_text(line, len, &tl);

	if (u->rp.nlines == 1)
		return;		/* the greeting line of EHLO */
	if (tl == 8 && strncasecmp(t, "STARTTLS", 8) == 0)
		u->ehlo_starttls = 1;
	else if (tl > 5 && strncasecmp(t, "AUTH ", 5) == 0) {
		const char *p;

		for (p = t + 5; p + 7 <= t + tl; p++)
			if (strncasecmp(p, "XOAUTH2", 7) == 0 &&
			    (p[-1] == ' ') && (p + 7 == t + tl || p[7] == ' '))
				u->ehlo_xoauth2 = 1;
	} else if (tl > 5 && strncasecmp(t, "SIZE ", 5) == 0) {
		u->size_limit = strtoull(t + 5, NULL, 10);
		u->caps |= UPSTREAM_CAP_SIZE;
	} else {
		static const struct {
			const char	*kw;
			unsigned	 cap;
		} kws[] = {
			{ "SIZE", UPSTREAM_CAP_SIZE },
			{ "8BITMIME", UPSTREAM_CAP_8BITMIME },
			{ "SMTPUTF8", UPSTREAM_CAP_SMTPUTF8 },
			{ "DSN", UPSTREAM_CAP_DSN },
			{ "PIPELINING", UPSTREAM_CAP_PIPELINING },
			{ "ENHANCEDSTATUSCODES", UPSTREAM_CAP_ENHANCED },
		};
		size_t i;

		for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
			if (tl == strlen(kws[i].kw) &&
			    strncasecmp(t, kws[i].kw, tl) == 0)
				u->caps |= kws[i].cap;
	}
}

static void
us_wipe_token(struct upstream *u)
{
	if (u->token != NULL) {
		explicit_bzero(u->token, strlen(u->token));
		free(u->token);
		u->token = NULL;
	}
}

/*
 * Send AUTH XOAUTH2 with token; the line is wiped once written. Returns 1 if
 * an event was emitted (u may be gone), else 0.
 */
static int
us_auth(struct upstream *u, const char *token)
{
	char b64[XOAUTH2_MAX];
	ssize_t n;
	int r;

	us_wipe_token(u);
	if ((u->token = strdup(token)) == NULL)
		return us_fail(u, "out of memory");
	n = xoauth2_encode(u->t->email, token, b64, sizeof(b64));
	r = n < 0 ? -1 : buf_printf(&u->conn.out, "AUTH XOAUTH2 %s\r\n", b64);
	explicit_bzero(b64, sizeof(b64));
	if (r == -1)
		return us_fail(u, "access token too long for XOAUTH2");
	us_trace(u, UPSTREAM_TRACE_SENT, "AUTH XOAUTH2 <token withheld>", 29);
	us_enter(u, US_AUTH);
	conn_update(&u->conn);
	return 0;
}

static void
us_token_cb(void *arg, const char *token, const char *reason)
{
	struct upstream *u = arg;

	u->wait = NULL;
	if (token == NULL) {
		us_fail(u, "cannot get access token: %s", reason);
		return;
	}
	us_auth(u, token);
}

/* Returns 1 if an event was emitted (u may be gone), else 0. */
static int
us_get_token(struct upstream *u)
{
	const char *token;
	int r;

	us_enter(u, US_TOKEN);
	r = oauth_token_get(u->t->oauth, us_token_cb, u, &u->wait, &token);
	if (r == 1)
		return us_auth(u, token);
	if (r == -1)
		return us_fail(u, "cannot get access token");
	return 0;
}

/* Send EHLO (again after STARTTLS). Returns like us_fail when it fails. */
static int
us_ehlo(struct upstream *u)
{
	u->ehlo_starttls = u->ehlo_xoauth2 = 0;
	u->size_limit = 0;
	u->caps = 0;
	if (us_sendf(u, "EHLO %s", u->t->helo) == -1)
		return us_fail(u, "EHLO name too long");
	us_enter(u, US_EHLO);
	return 0;
}

/*
 * The reply in u->reply is complete: act on it by state. Returns 1 if an
 * event was emitted (u may be gone), else 0.
 */
static int
us_reply(struct upstream *u)
{
	int code = u->rp.code;

	switch (u->state) {
	case US_GREETING:
		if (code != 220)
			return us_fail(u, "provider greeting was %d", code);
		return us_ehlo(u);
	case US_EHLO:
		if (code != 250)
			return us_fail(u, "provider refused EHLO with %d", code);
		if (!conn_is_tls(&u->conn)) {
			if (!u->ehlo_starttls)
				return us_fail(u, "provider does not offer STARTTLS");
			us_sendf(u, "STARTTLS");
			us_enter(u, US_STARTTLS);
			return 0;
		}
		if (u->t->caps_seen != NULL)
			*u->t->caps_seen = u->caps;
		if (u->t->size_seen != NULL)
			*u->t->size_seen = u->size_limit;
		if (!u->ehlo_xoauth2)
			return us_fail(u, "provider does not offer AUTH XOAUTH2");
		return us_get_token(u);
	case US_STARTTLS:
		if (code != 220)
			return us_fail(u, "provider refused STARTTLS with %d", code);
		if (conn_starttls(&u->conn, u->t->ssl_ctx, u->t->host) == -1)
			return us_fail(u, "TLS setup failed");
		us_enter(u, US_STARTTLS_HS);
		return 0;
	case US_AUTH:
		if (code == 235) {
			us_wipe_token(u);
			us_enter(u, US_READY);
			log_info(u->sid, "upstream %s:%s authenticated user=%s",
			    u->t->host, u->t->port, u->t->email);
			us_emit(u, UPSTREAM_READY);
			return 1;
		}
		if (code == 334) {
			/* Google's JSON challenge: answer empty, get 535. */
			us_sendf(u, "%s", "");
			us_enter(u, US_AUTH_CHALLENGE);
			return 0;
		}
		/* A temporary refusal (Microsoft's 432 4.3.2 thread limit)
		   says nothing about the token: keep it. */
		if (code / 100 == 4)
			return us_fail(u, "provider refused AUTH: %.*s",
			    us_first_line(u), buf_head(&u->reply));
		/* FALLTHROUGH */
	case US_AUTH_CHALLENGE:
		/* Revoked or expired early: drop it from the cache so the
		   next get refreshes, and try once more with a fresh one. */
		if (u->token != NULL)
			oauth_token_invalidate(u->t->oauth, u->token);
		us_wipe_token(u);
		if (!u->auth_retried) {
			u->auth_retried = 1;
			log_info(u->sid, "upstream rejected the access token, "
			    "refreshing and retrying once: %.*s",
			    us_first_line(u), buf_head(&u->reply));
			return us_get_token(u);
		}
		return us_fail(u, "provider rejected the access token: %.*s",
		    us_first_line(u),
		    buf_head(&u->reply));
	case US_REPLY_WAIT:
		if (--u->pending > 0)
			us_enter(u, US_REPLY_WAIT);	/* pipelined: more */
		else
			us_enter(u, US_READY);
		/* Replies to pipelined commands may already be buffered; the
		   owner may free u inside the emit, which stops this timer. */
		if (buf_line(&u->conn.in) > 0)
			ev_timer_start(u->loop, &u->drain);
		us_emit(u, UPSTREAM_REPLY);
		return 1;
	default:
		return us_fail(u, "provider sent an unexpected reply %d in state %s",
		    code, us_names[u->state]);
	}
}

/*
 * Take complete lines from the input. Returns 1 if an event was emitted
 * (u may be gone), else 0.
 */
static int
us_read_lines(struct upstream *u)
{
	size_t n, len;
	const char *line;
	int r;

	while (u->state != US_DEAD && (n = buf_line(&u->conn.in)) > 0) {
		line = buf_head(&u->conn.in);
		len = n - 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (u->rp.done) {
			reply_reset(&u->rp);
			buf_reset(&u->reply);
		}
		r = reply_feed(&u->rp, line, len);
		if (r == -1 || buf_len(&u->reply) + len + 2 > u->reply.cap) {
			us_fail(u, "malformed or oversized reply from provider");
			return 1;
		}
		us_trace(u, UPSTREAM_TRACE_RECEIVED, line, len);
		if (u->state == US_EHLO)
			us_ehlo_line(u, line, len);
		buf_append(&u->reply, line, len);
		buf_append(&u->reply, "\r\n", 2);
		buf_consume(&u->conn.in, n);
		if (r == 1) {
			if (u->state == US_DATA || u->state == US_READY) {
				us_fail(u, "provider said during %s: %.*s",
				    us_names[u->state],
				    us_first_line(u),
				    buf_head(&u->reply));
				return 1;
			}
			if (us_reply(u))
				return 1;
		}
	}
	if (buf_len(&u->conn.in) > REPLY_LINE_MAX + 2) {
		us_fail(u, "reply line from provider too long");
		return 1;
	}
	return 0;
}

/* Replies that arrived together with the last one. */
static void
us_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct upstream *u = w->data;

	(void)loop;
	(void)revents;
	if (us_read_lines(u) == 0)
		conn_update(&u->conn);
}

static void
us_conn_cb(void *arg, struct conn *c, int ev)
{
	struct upstream *u = arg;

	(void)c;
	if (ev & CONN_EV_ERROR) {
		if (u->state == US_CONNECT && u->next_addr != NULL) {
			us_next_addr(u);
			return;
		}
		us_fail(u, "%s", u->conn.errtext);
		return;
	}
	if (ev & CONN_EV_CONNECTED) {
		if (u->t->tls) {
			if (conn_starttls(&u->conn, u->t->ssl_ctx,
			    u->t->host) == -1) {
				us_fail(u, "TLS setup failed");
				return;
			}
			us_enter(u, US_TLS);
		} else
			us_enter(u, US_GREETING);
	}
	if (ev & CONN_EV_TLS_DONE) {
		char info[128];
		int n = snprintf(info, sizeof(info), "TLS %s %s, certificate "
		    "verified for %s", SSL_get_version(u->conn.ssl),
		    SSL_get_cipher_name(u->conn.ssl), u->t->host);

		us_trace(u, UPSTREAM_TRACE_INFO, info, n > 0 &&
		    (size_t)n < sizeof(info) ? (size_t)n : 0);
		if (u->state == US_TLS)
			us_enter(u, US_GREETING);
		else if (u->state == US_STARTTLS_HS) {
			if (us_ehlo(u))
				return;
		}
	}
	if ((ev & CONN_EV_READ) && u->state != US_DEAD) {
		ev_timer_again(u->loop, &u->timer);
		if (us_read_lines(u))
			return;
	}
	if (ev & CONN_EV_EOF) {
		us_fail(u, "provider closed the connection");
		return;
	}
	if ((ev & CONN_EV_WRITTEN) && u->state == US_DATA) {
		ev_timer_again(u->loop, &u->timer);
		us_emit(u, UPSTREAM_WRITABLE);
		return;
	}
	conn_update(&u->conn);
}

/*
 * Start connecting for session sid. Events follow through cb, never from
 * inside this call. Returns NULL on allocation failure or a full resolver
 * queue.
 */
struct upstream *
upstream_new(struct ev_loop *loop, struct workq *resolver,
    const struct upstream_target *t, uint64_t sid, upstream_cb *cb, void *arg)
{
	struct upstream *u;
	struct us_resolve *r;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->loop = loop;
	u->t = t;
	u->sid = sid;
	u->cb = cb;
	u->arg = arg;
	u->rp.done = 1;
	ev_init(&u->timer, us_timeout_cb);
	u->timer.data = u;
	ev_timer_init(&u->drain, us_drain_cb, 0., 0.);
	u->drain.data = u;
	if (buf_init(&u->reply, UPSTREAM_REPLY_MAX) == -1)
		goto fail;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto fail;
	r->u = u;
	r->host = strdup(t->host);
	r->port = strdup(t->port);
	if (r->host == NULL || r->port == NULL ||
	    workq_submit(resolver, us_resolve_work, us_resolve_done, r) == -1) {
		us_resolve_free(r);
		goto fail;
	}
	u->resolve = r;
	us_enter(u, US_RESOLVE);
	return u;
fail:
	buf_free(&u->reply);
	free(u);
	return NULL;
}

/* Close the connection, cancel pending work and free; NULL does nothing. */
void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	ev_timer_stop(u->loop, &u->timer);
	ev_timer_stop(u->loop, &u->drain);
	if (u->resolve != NULL)
		u->resolve->u = NULL;	/* its done function frees it */
	if (u->wait != NULL)
		oauth_wait_cancel(u->wait);
	if (u->conn_open) {
		if (u->state == US_READY) {
			/* Polite, best effort: one write, no waiting. */
			if (buf_len(&u->conn.out) == 0)
				(void)u->conn.ops->send(&u->conn, "QUIT\r\n", 6);
		}
		conn_close(&u->conn);
	}
	if (u->addrs != NULL)
		freeaddrinfo(u->addrs);
	us_wipe_token(u);
	buf_free(&u->reply);
	free(u);
}

/* Why it failed or was lost, for logs and replies (no secrets). */
const char *
upstream_reason(const struct upstream *u)
{
	return u->reason[0] != '\0' ? u->reason : "unknown";
}

/*
 * Send one command line (without CRLF) once READY, or while replies are
 * awaited if the provider offered PIPELINING (RFC 2920). One reply event
 * follows per command, in order. Returns 0, or -1 if not allowed now or the
 * line is over UPSTREAM_CMD_MAX.
 */
int
upstream_command(struct upstream *u, const char *line, size_t len)
{
	if (!(u->state == US_READY || (u->state == US_REPLY_WAIT &&
	    (u->caps & UPSTREAM_CAP_PIPELINING) &&
	    u->pending < UPSTREAM_PIPELINE_MAX)) ||
	    len > UPSTREAM_CMD_MAX || buf_room(&u->conn.out) < len + 2)
		return -1;
	u->pending++;
	buf_append(&u->conn.out, line, len);
	buf_append(&u->conn.out, "\r\n", 2);
	us_trace(u, UPSTREAM_TRACE_SENT, line, len);
	us_enter(u, US_REPLY_WAIT);
	return 0;
}

/* The last complete reply, all lines with CRLF, and its code. */
const char *
upstream_reply(const struct upstream *u, size_t *len)
{
	*len = buf_len(&u->reply);
	return buf_head(&u->reply);
}

int
upstream_reply_code(const struct upstream *u)
{
	return u->rp.code;
}

/*
 * The provider answered DATA with 354: body bytes (already dot-stuffed,
 * CRLF) now go into upstream_data_buf(); upstream_data_end() once the final
 * ".\r\n" is in, after which the reply event follows.
 */
void
upstream_data_begin(struct upstream *u)
{
	us_enter(u, US_DATA);
}

struct buf *
upstream_data_buf(struct upstream *u)
{
	return &u->conn.out;
}

void
upstream_data_end(struct upstream *u)
{
	u->pending = 1;
	us_enter(u, US_REPLY_WAIT);
}

/* Recompute the watchers; call after writing to the data buffer. */
void
upstream_update(struct upstream *u)
{
	if (u->conn_open && u->state != US_DEAD)
		conn_update(&u->conn);
}

/*
 * Show every line sent and received to fn (for `authrelay test`); the
 * XOAUTH2 line is shown with the token withheld.
 */
void
upstream_set_trace(struct upstream *u, upstream_trace_fn *fn, void *arg)
{
	u->trace = fn;
	u->trace_arg = arg;
}

/* The provider's SIZE limit from EHLO, 0 if it gave none. */
unsigned long long
upstream_size_limit(const struct upstream *u)
{
	return u->size_limit;
}

/* The ESMTP extensions the provider offered in its last EHLO. */
unsigned
upstream_caps(const struct upstream *u)
{
	return u->caps;
}

/*
 * Ownership moves (upstream/pool.c): events now go to cb with arg, and log
 * lines carry sid.
 */
void
upstream_set_owner(struct upstream *u, uint64_t sid, upstream_cb *cb,
    void *arg)
{
	u->sid = sid;
	u->cb = cb;
	u->arg = arg;
}

/*
 * Hand a READY upstream to a new owner (cb, arg) and send RSET; a reply
 * event follows. Returns 0, or -1 if it is not READY (nothing changed).
 */
int
upstream_reset(struct upstream *u, upstream_cb *cb, void *arg)
{
	if (u->state != US_READY || upstream_command(u, "RSET", 4) == -1)
		return -1;
	u->cb = cb;
	u->arg = arg;
	conn_update(&u->conn);
	return 0;
}

/*
 * Mark an upstream as idle (1) or in use (0). An idle upstream that the
 * provider closes is logged at debug level only: losing it is expected.
 */
void
upstream_set_idle(struct upstream *u, int idle)
{
	u->idle = idle;
}

/*
 * 1 if the upstream is READY and nothing has come from the provider since
 * (no byte, no EOF, no error): a connection that can be handed out; else 0.
 */
int
upstream_usable(struct upstream *u)
{
	char c;
	ssize_t n;

	if (u->state != US_READY || !u->conn_open ||
	    buf_len(&u->conn.in) > 0 ||
	    (u->conn.ssl != NULL && SSL_pending(u->conn.ssl) > 0))
		return 0;
	/* A FIN or a TLS alert the loop has not read yet. */
	n = recv(u->conn.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
