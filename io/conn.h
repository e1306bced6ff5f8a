/*
 * conn: one non-blocking socket with an input and an output buffer, plain or
 * TLS behind one ops table, driven by libev. The owner never asks which
 * transport it has: STARTTLS swaps the ops. After every event the owner
 * calls conn_update(), which arms the watchers from the buffers: read only
 * while there is room and the owner has not paused, write only while there
 * is data. That single rule is the backpressure.
 */
#ifndef IO_CONN_H
#define IO_CONN_H

#include <sys/socket.h>
#include <sys/types.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "io/buf.h"

/* Results of the ops below besides n > 0 (data) and 0 (peer closed). */
#define CONN_ERR	 (-1)
#define CONN_WANT_READ	 (-2)
#define CONN_WANT_WRITE	 (-3)

/* Events reported to the owner, as a bit mask. */
#define CONN_EV_READ		0x01	/* new bytes in c->in */
#define CONN_EV_WRITTEN		0x02	/* bytes left c->out */
#define CONN_EV_EOF		0x04	/* the peer closed its side */
#define CONN_EV_ERROR		0x08	/* see c->errtext; the conn is dead */
#define CONN_EV_CONNECTED	0x10	/* conn_connect completed */
#define CONN_EV_TLS_DONE	0x20	/* the TLS handshake completed */

struct conn;

struct conn_ops {
	ssize_t	(*recv)(struct conn *, void *, size_t);
	ssize_t	(*send)(struct conn *, const void *, size_t);
};

/*
 * Called after I/O with what happened. The conn does not touch itself after
 * the call, so the owner may free it; otherwise the owner ends by calling
 * conn_update().
 */
typedef void conn_cb(void *arg, struct conn *, int events);

struct conn {
	struct ev_loop		*loop;
	int			 fd;
	SSL			*ssl;
	const struct conn_ops	*ops;
	ev_io			 rio;
	ev_io			 wio;
	struct buf		 in;
	struct buf		 out;
	unsigned		 flags;		/* private CONN_F_* */
	SSL_CTX			*tls_ctx;	/* for a pending STARTTLS */
	char			*tls_host;	/* name to verify (client) */
	conn_cb			*cb;
	void			*arg;
	char			 errtext[160];	/* why CONN_EV_ERROR */
};

/*
 * Set up c around a connected or accepted non-blocking fd (or -1 before
 * conn_connect), with buffers of the given sizes. Returns 0, or -1.
 */
int	conn_init(struct conn *, struct ev_loop *, int fd, size_t incap,
	    size_t outcap, conn_cb *, void *arg);
/* Stop the watchers, shut TLS down (best effort), close, free buffers. */
void	conn_close(struct conn *);
/*
 * Start a non-blocking connect to addr; CONN_EV_CONNECTED or CONN_EV_ERROR
 * follows. Returns 0, or -1 with errtext set when it failed at once.
 */
int	conn_connect(struct conn *, const struct sockaddr *, socklen_t);
/*
 * Begin TLS as server (host NULL) or as client verifying host (a name or an
 * IP literal). Unread input is discarded first (RFC 3207 and CVE-2011-0411:
 * nothing sent in clear before the handshake is used after it). If output
 * is still queued, the handshake starts once it is written. Returns 0, or -1.
 */
int	conn_starttls(struct conn *, SSL_CTX *, const char *host);
/* Stop (1) or resume (0) reading; reading also stops when c->in is full. */
void	conn_pause(struct conn *, int paused);
/* Recompute which watchers run; call after every change to the buffers. */
void	conn_update(struct conn *);
/* 1 when TLS is up (handshake done). */
int	conn_is_tls(const struct conn *);
/* Queue bytes for output. Returns 0, or -1 (nothing queued) if no room. */
int	conn_write(struct conn *, const void *, size_t);

/* The cipher list of a server context below TLS 1.2 without its own. */
#define CONN_TLS_LEGACY_CIPHERS	"DEFAULT:@SECLEVEL=0"
/* How conn_tls_server_ctx's reason starts when the certificate is at
   fault (otherwise the key is, or the listener's settings). */
#define CONN_TLS_CERT_ERROR	"cannot load certificate"

/*
 * TLS contexts: TLS 1.2 minimum, partial writes, released buffers. The
 * server one loads cert and key, and takes min_version (OpenSSL's
 * TLS1_VERSION ... TLS1_3_VERSION; 0: TLS 1.2) and ciphers (a TLS <= 1.2
 * cipher list; NULL: OpenSSL's default). Below TLS 1.2 it runs at OpenSSL
 * security level 0 (SHA-1, old ciphers), with CONN_TLS_LEGACY_CIPHERS
 * unless ciphers says otherwise. The client one verifies peers against
 * ca_file (NULL: the system store). NULL with a reason in err on failure.
 */
SSL_CTX	*conn_tls_server_ctx(const char *cert, const char *key,
	    int min_version, const char *ciphers, char *err, size_t errsize);
SSL_CTX	*conn_tls_client_ctx(const char *ca_file, char *err, size_t errsize);

#endif
