/*
 * session: one client connection: client-side SMTP (greeting, EHLO,
 * STARTTLS, AUTH PLAIN/LOGIN), the listener's and the user's networks, the
 * local password check, the mapping of auth = none devices by address at
 * MAIL, the sender policy, and the relay of MAIL/RCPT/DATA/RSET/NOOP
 * through its upstream (the From: header rewritten on the way when the
 * policy says so), which it gets from its account's pool and hands back
 * there at the end. One state enum, one function that changes state and
 * logs it, one command table.
 */
#ifndef PROXY_SESSION_H
#define PROXY_SESSION_H

#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>

#include "io/workq.h"
#include "proxy/ipcount.h"
#include "proxy/penalty.h"
#include "proxy/runtime.h"
#include "proxy/stats.h"

/* Limits. */
#define SESSION_IN_MAX		16384	/* client bytes buffered */
#define SESSION_OUT_MAX		32768	/* reply bytes queued to the client */
#define SESSION_STAGE_MAX	4096	/* filtered DATA bytes waiting for
					   the From rewriter */
#define SMTP_LINE_MAX		512	/* a command line, with CRLF
					   (RFC 5321 4.5.3.1.4) */
#define SMTP_AUTH_LINE_MAX	12288	/* a SASL response line (Postfix's
					   smtpd_sasl_response_limit) */
#define SESSION_PIPELINE_MAX	100	/* RCPTs batched to the provider
					   ahead of their replies */
#define SESSION_ERRORS_MAX	20	/* bad commands and failed AUTHs */
#define SESSION_CLOSE_TIMEOUT	10	/* s to flush the last reply */
#define SESSION_PROXY_TIMEOUT	10	/* s for a PROXY header to arrive */
/* Extensions offered before any provider connection has told the real
   ones: those Gmail and Microsoft 365 both have. */
#define SESSION_CAPS_DEFAULT	(UPSTREAM_CAP_8BITMIME | UPSTREAM_CAP_ENHANCED)
#define AUTH_FAIL_FLOOR_MS	500	/* a failed AUTH's reply comes this
					   long after its check began ... */
#define AUTH_FAIL_DELAY_MS	1000	/* ... plus [0, this) */
#define SESSION_AUTH_QUEUE_MAX	1024	/* password checks waiting for a
					   worker; beyond, 454 4.7.0 */
#define AUTH_PENALTY_LOG_MIN	0.05	/* s of penalty wait worth a line */

struct session;

/*
 * The sessions of a server and what they need from it; the server owns it
 * and it outlives every session. Sessions take their configuration from
 * their generation, never from here.
 */
struct session_env {
	struct ev_loop		*loop;
	struct workq		*authq;		/* password checks */
	const char		*dummy_hash;	/* for unknown users */
	int			 stopping;	/* idle sessions end */
	struct penalty		*penalty;	/* failed logins per address */
	struct ipcount		*ipcount;	/* connections per address */
	struct stats		 stats;		/* the daemon's counters */
	int			 send_dirty;	/* sending windows changed since
						   they were saved */
	uint64_t		 next_id;
	struct session		*head;		/* every open session */
	long			 n;
};

/*
 * Take over an accepted, non-blocking socket from listener gl of
 * generation rt (referenced for the session's life), in env. Returns 0,
 * or -1 (the caller closes fd).
 */
int	session_new(struct session_env *, struct runtime *rt,
	    const struct gen_listener *gl, int fd, const struct sockaddr *,
	    socklen_t);
/*
 * The server is stopping (env->stopping is set): idle sessions get 421
 * and close now, sessions in DATA once their message is done.
 */
void	session_shutdown_all(struct session_env *);
/* Close and free every session at once (end of the grace period). */
void	session_close_all(struct session_env *);

#endif
