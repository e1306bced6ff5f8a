/*
 * upstream: the SMTP client towards the provider, for one client session.
 * A state machine where entering a state sends its command: resolve (off
 * the loop), connect, TLS (implicit or STARTTLS; certificate and host name
 * verified), EHLO, access token, AUTH XOAUTH2. Then it relays: one command
 * at a time, or a message body streamed into its output buffer. Knows
 * nothing of the client side: the owner is told what happened through one
 * callback and reads the provider's reply verbatim.
 */
#ifndef UPSTREAM_UPSTREAM_H
#define UPSTREAM_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "io/buf.h"
#include "io/workq.h"
#include "oauth/oauth.h"

/* Limits. */
#define UPSTREAM_IN_MAX		8192	/* provider bytes buffered */
#define UPSTREAM_OUT_MAX	65536	/* bytes queued to the provider: the
					   DATA window */
#define UPSTREAM_REPLY_MAX	16384	/* bytes of one provider reply */
#define UPSTREAM_CMD_MAX	1024	/* a relayed command line */
#define UPSTREAM_PIPELINE_MAX	100	/* commands awaiting replies */

/* Where and as whom to connect; the strings must outlive the upstream. */
struct upstream_target {
	const char		*host;
	const char		*port;
	int			 tls;		/* 1 implicit, 0 STARTTLS */
	SSL_CTX			*ssl_ctx;	/* client context (CA set) */
	const char		*email;		/* XOAUTH2 user= */
	struct oauth_account	*oauth;
	const char		*helo;		/* our EHLO name */
	long			 timeout;	/* seconds in any state */
	unsigned		*caps_seen;	/* NULL, or where the provider's
					   EHLO extensions (under TLS) are
					   recorded for later sessions */
	unsigned long long	*size_seen;	/* ... and its SIZE */
};

enum upstream_event {
	UPSTREAM_READY,		/* authenticated: commands may be sent */
	UPSTREAM_FAILED,	/* could not get ready: upstream_reason() */
	UPSTREAM_REPLY,		/* a reply to the last command is complete */
	UPSTREAM_WRITABLE,	/* DATA: room in the output window again */
	UPSTREAM_LOST,		/* the connection died after READY */
};

struct upstream;

/*
 * Told of each event. The owner may free the upstream inside the call;
 * otherwise it calls upstream_update() before returning to the loop.
 */
typedef void upstream_cb(void *arg, enum upstream_event);

/*
 * Start connecting for session sid. Events follow through cb, never from
 * inside this call. Returns NULL on allocation failure or a full resolver
 * queue.
 */
struct upstream	*upstream_new(struct ev_loop *, struct workq *resolver,
		    const struct upstream_target *, uint64_t sid,
		    upstream_cb *, void *arg);
/* Close the connection, cancel pending work and free; NULL does nothing. */
void		 upstream_free(struct upstream *);
/* Why it failed or was lost, for logs and replies (no secrets). */
const char	*upstream_reason(const struct upstream *);
/*
 * Send one command line (without CRLF) once READY, or while replies are
 * awaited if the provider offered PIPELINING (RFC 2920). One reply event
 * follows per command, in order. Returns 0, or -1 if not allowed now or the
 * line is over UPSTREAM_CMD_MAX.
 */
int		 upstream_command(struct upstream *, const char *, size_t);
/* The last complete reply, all lines with CRLF, and its code. */
const char	*upstream_reply(const struct upstream *, size_t *len);
int		 upstream_reply_code(const struct upstream *);
/*
 * The provider answered DATA with 354: body bytes (already dot-stuffed,
 * CRLF) now go into upstream_data_buf(); upstream_data_end() once the final
 * ".\r\n" is in, after which the reply event follows.
 */
void		 upstream_data_begin(struct upstream *);
struct buf	*upstream_data_buf(struct upstream *);
void		 upstream_data_end(struct upstream *);
/* Recompute the watchers; call after writing to the data buffer. */
void		 upstream_update(struct upstream *);
enum upstream_trace {
	UPSTREAM_TRACE_SENT,
	UPSTREAM_TRACE_RECEIVED,
	UPSTREAM_TRACE_INFO,	/* e.g. TLS established */
};
typedef void upstream_trace_fn(void *arg, enum upstream_trace,
    const char *line, size_t len);
/*
 * Show every line sent and received to fn (for `authrelay test`); the
 * XOAUTH2 line is shown with the token withheld.
 */
void		 upstream_set_trace(struct upstream *, upstream_trace_fn *,
		    void *arg);
/* The provider's SIZE limit from EHLO, 0 if it gave none. */
unsigned long long upstream_size_limit(const struct upstream *);
/*
 * Ownership moves (upstream/pool.c): events now go to cb with arg, and log
 * lines carry sid.
 */
void		 upstream_set_owner(struct upstream *, uint64_t sid,
		    upstream_cb *, void *arg);
/*
 * Hand a READY upstream to a new owner (cb, arg) and send RSET; a reply
 * event follows. Returns 0, or -1 if it is not READY (nothing changed).
 */
int		 upstream_reset(struct upstream *, upstream_cb *, void *arg);
/*
 * Mark an upstream as idle (1) or in use (0). An idle upstream that the
 * provider closes is logged at debug level only: losing it is expected.
 */
void		 upstream_set_idle(struct upstream *, int);
/*
 * 1 if the upstream is READY and nothing has come from the provider since
 * (no byte, no EOF, no error): a connection that can be handed out; else 0.
 */
int		 upstream_usable(struct upstream *);

/* ESMTP extensions the provider offered, as a bit mask. */
#define UPSTREAM_CAP_SIZE	0x01
#define UPSTREAM_CAP_8BITMIME	0x02
#define UPSTREAM_CAP_SMTPUTF8	0x04
#define UPSTREAM_CAP_DSN	0x08
#define UPSTREAM_CAP_PIPELINING	0x10
#define UPSTREAM_CAP_ENHANCED	0x20
/* The ESMTP extensions the provider offered in its last EHLO. */
unsigned	 upstream_caps(const struct upstream *);

#endif
