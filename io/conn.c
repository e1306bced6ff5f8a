/*
 * conn: non-blocking plain/TLS connections on libev. See conn.h.
 *
 * The TLS side follows redis' tls.c: clear the OpenSSL error queue before
 * each call, remember a read that wants a write (and the reverse), and do
 * not forget data OpenSSL already holds (SSL_pending) when the socket
 * itself has nothing more to say.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "io/conn.h"

#define CONN_F_EOF		0x001	/* peer closed: no more reads */
#define CONN_F_ERROR		0x002	/* dead: no more I/O */
#define CONN_F_PAUSED		0x004	/* owner paused reading */
#define CONN_F_CONNECTING	0x008	/* non-blocking connect under way */
#define CONN_F_TLS_PENDING	0x010	/* STARTTLS once output is written */
#define CONN_F_HANDSHAKE	0x020	/* TLS handshake under way */
#define CONN_F_HS_WANT_WRITE	0x040	/* ... and it waits to write */
#define CONN_F_READ_WANT_WRITE	0x080	/* SSL_read needs the fd writable */
#define CONN_F_WRITE_WANT_READ	0x100	/* SSL_write needs the fd readable */

static ssize_t	plain_recv(struct conn *, void *, size_t);
static ssize_t	plain_send(struct conn *, const void *, size_t);
static ssize_t	tls_recv(struct conn *, void *, size_t);
static ssize_t	tls_send(struct conn *, const void *, size_t);

static const struct conn_ops plain_ops = { plain_recv, plain_send };
static const struct conn_ops tls_ops = { tls_recv, tls_send };

static void
conn_fail(struct conn *c, const char *what)
{
	unsigned long e = ERR_peek_last_error();

	c->flags |= CONN_F_ERROR;
	if (e != 0)
		snprintf(c->errtext, sizeof(c->errtext), "%s: %s", what,
		    ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
		    "TLS error");
	else if (errno != 0)
		snprintf(c->errtext, sizeof(c->errtext), "%s: %s", what,
		    strerror(errno));
	else
		snprintf(c->errtext, sizeof(c->errtext), "%s", what);
	ERR_clear_error();
}

static ssize_t
plain_recv(struct conn *c, void *p, size_t len)
{
	ssize_t n = recv(c->fd, p, len, 0);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_WANT_READ;
	return CONN_ERR;
}

static ssize_t
plain_send(struct conn *c, const void *p, size_t len)
{
	ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_WANT_WRITE;
	return CONN_ERR;
}

/* Map an SSL_read/SSL_write/SSL_do_handshake result to CONN_*. */
static ssize_t
tls_result(struct conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return CONN_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return CONN_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			return 0;	/* EOF without close_notify */
		return CONN_ERR;
	default:
		return CONN_ERR;
	}
}

static ssize_t
tls_recv(struct conn *c, void *p, size_t len)
{
	int n;

	ERR_clear_error();
	errno = 0;
	n = SSL_read(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
	return n > 0 ? n : tls_result(c, n);
}

static ssize_t
tls_send(struct conn *c, const void *p, size_t len)
{
	int n;

	ERR_clear_error();
	errno = 0;
	n = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
	return n > 0 ? n : tls_result(c, n);
}

static void	conn_io_cb(struct ev_loop *, ev_io *, int);

/*
 * Set up c around a connected or accepted non-blocking fd (or -1 before
 * conn_connect), with buffers of the given sizes. Returns 0, or -1.
 */
int
conn_init(struct conn *c, struct ev_loop *loop, int fd, size_t incap,
    size_t outcap, conn_cb *cb, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->fd = fd;
	c->ops = &plain_ops;
	c->cb = cb;
	c->arg = arg;
	if (buf_init(&c->in, incap) == -1 || buf_init(&c->out, outcap) == -1) {
		buf_free(&c->in);
		return -1;
	}
	ev_io_init(&c->rio, conn_io_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_io_cb, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	return 0;
}

/* Stop the watchers, shut TLS down (best effort), close, free buffers. */
void
conn_close(struct conn *c)
{
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	ev_clear_pending(c->loop, &c->rio);
	ev_clear_pending(c->loop, &c->wio);
	if (c->ssl != NULL) {
		if (!(c->flags & (CONN_F_ERROR | CONN_F_HANDSHAKE))) {
			ERR_clear_error();
			SSL_shutdown(c->ssl);	/* one try, never waits */
		}
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	ERR_clear_error();
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->tls_host);
	c->tls_host = NULL;
	buf_free(&c->in);
	buf_free(&c->out);
}

static void
conn_set_fd(struct conn *c, int fd)
{
	c->fd = fd;
	ev_io_set(&c->rio, fd, EV_READ);
	ev_io_set(&c->wio, fd, EV_WRITE);
}

/*
 * Start a non-blocking connect to addr; CONN_EV_CONNECTED or CONN_EV_ERROR
 * follows. Returns 0, or -1 with errtext set when it failed at once.
 */
int
conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t len)
{
	int fd, one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		conn_fail(c, "socket");
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, sa, len) == -1 && errno != EINPROGRESS) {
		conn_fail(c, "connect");
		close(fd);
		return -1;
	}
	c->flags &= ~(CONN_F_ERROR | CONN_F_EOF);
	c->flags |= CONN_F_CONNECTING;
	conn_set_fd(c, fd);
	conn_update(c);
	return 0;
}

static int
conn_tls_begin(struct conn *c)
{
	c->flags &= ~CONN_F_TLS_PENDING;
	ERR_clear_error();
	if ((c->ssl = SSL_new(c->tls_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		goto fail;
	if (c->tls_host == NULL)
		SSL_set_accept_state(c->ssl);
	else {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
		struct in6_addr a6;
		struct in_addr a4;

		if (inet_pton(AF_INET, c->tls_host, &a4) == 1 ||
		    inet_pton(AF_INET6, c->tls_host, &a6) == 1) {
			if (X509_VERIFY_PARAM_set1_ip_asc(vp, c->tls_host) != 1)
				goto fail;
		} else if (SSL_set_tlsext_host_name(c->ssl, c->tls_host) != 1 ||
		    SSL_set1_host(c->ssl, c->tls_host) != 1)
			goto fail;
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		SSL_set_connect_state(c->ssl);
		/* The client speaks first: its first step waits to write. */
		c->flags |= CONN_F_HS_WANT_WRITE;
	}
	c->flags |= CONN_F_HANDSHAKE;
	return 0;
fail:
	conn_fail(c, "TLS setup");
	return -1;
}

/*
 * Begin TLS as server (host NULL) or as client verifying host (a name or an
 * IP literal). Unread input is discarded first (RFC 3207 and CVE-2011-0411:
 * nothing sent in clear before the handshake is used after it). If output
 * is still queued, the handshake starts once it is written. Returns 0, or -1.
 */
int
conn_starttls(struct conn *c, SSL_CTX *ctx, const char *host)
{
	buf_reset(&c->in);
	c->tls_ctx = ctx;
	if (host != NULL && (c->tls_host = strdup(host)) == NULL)
		return -1;
	c->flags |= CONN_F_TLS_PENDING;
	if (buf_len(&c->out) == 0 && !(c->flags & CONN_F_CONNECTING))
		return conn_tls_begin(c);
	return 0;
}

/* One handshake step; returns the CONN_EV_* it produced. */
static int
conn_handshake(struct conn *c)
{
	int r;
	ssize_t res;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->flags &= ~(CONN_F_HANDSHAKE | CONN_F_HS_WANT_WRITE);
		c->ops = &tls_ops;
		return CONN_EV_TLS_DONE;
	}
	res = tls_result(c, r);
	if (res == CONN_WANT_READ) {
		c->flags &= ~CONN_F_HS_WANT_WRITE;
		return 0;
	}
	if (res == CONN_WANT_WRITE) {
		c->flags |= CONN_F_HS_WANT_WRITE;
		return 0;
	}
	if (c->tls_host != NULL &&
	    SSL_get_verify_result(c->ssl) != X509_V_OK) {
		c->flags |= CONN_F_ERROR;
		snprintf(c->errtext, sizeof(c->errtext),
		    "TLS handshake: certificate verify failed: %s",
		    X509_verify_cert_error_string(
		    SSL_get_verify_result(c->ssl)));
		ERR_clear_error();
	} else
		conn_fail(c, res == 0 ? "TLS handshake: peer closed" :
		    "TLS handshake");
	return CONN_EV_ERROR;
}

static int
conn_can_read(struct conn *c)
{
	return !(c->flags & (CONN_F_EOF | CONN_F_ERROR | CONN_F_PAUSED |
	    CONN_F_CONNECTING | CONN_F_TLS_PENDING | CONN_F_HANDSHAKE)) &&
	    buf_room(&c->in) > 0;
}

/* Write what c->out holds; returns the CONN_EV_* it produced. */
static int
conn_flush(struct conn *c)
{
	int ev = 0;
	ssize_t n;

	while (buf_len(&c->out) > 0) {
		errno = 0;
		n = c->ops->send(c, buf_head(&c->out), buf_len(&c->out));
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			ev |= CONN_EV_WRITTEN;
			continue;
		}
		if (n == CONN_WANT_WRITE)
			c->flags &= ~CONN_F_WRITE_WANT_READ;
		else if (n == CONN_WANT_READ)
			c->flags |= CONN_F_WRITE_WANT_READ;
		else {
			conn_fail(c, "write");
			ev |= CONN_EV_ERROR;
		}
		break;
	}
	return ev;
}

/* Read while there is room; returns the CONN_EV_* it produced. */
static int
conn_fill(struct conn *c)
{
	int ev = 0;
	ssize_t n;

	while (conn_can_read(c)) {
		errno = 0;
		n = c->ops->recv(c, buf_tail(&c->in), buf_room(&c->in));
		if (n > 0) {
			buf_produce(&c->in, (size_t)n);
			ev |= CONN_EV_READ;
			continue;
		}
		if (n == 0) {
			c->flags |= CONN_F_EOF;
			ev |= CONN_EV_EOF;
		} else if (n == CONN_WANT_READ)
			c->flags &= ~CONN_F_READ_WANT_WRITE;
		else if (n == CONN_WANT_WRITE)
			c->flags |= CONN_F_READ_WANT_WRITE;
		else {
			conn_fail(c, "read");
			ev |= CONN_EV_ERROR;
		}
		break;
	}
	return ev;
}

static void
conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	int ev = 0, err;
	socklen_t len = sizeof(err);

	(void)loop;
	(void)revents;
	if (c->flags & CONN_F_ERROR)
		return;
	if (c->flags & CONN_F_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err == EINPROGRESS || err == EALREADY)
			goto out;
		c->flags &= ~CONN_F_CONNECTING;
		if (err != 0) {
			errno = err;
			conn_fail(c, "connect");
			ev = CONN_EV_ERROR;
			goto out;
		}
		ev |= CONN_EV_CONNECTED;
	}
	if (!(c->flags & CONN_F_HANDSHAKE))
		ev |= conn_flush(c);
	if ((c->flags & CONN_F_TLS_PENDING) && buf_len(&c->out) == 0 &&
	    !(ev & CONN_EV_ERROR) && conn_tls_begin(c) == -1)
		ev |= CONN_EV_ERROR;
	if ((c->flags & CONN_F_HANDSHAKE) && !(ev & CONN_EV_ERROR))
		ev |= conn_handshake(c);
	if (!(ev & CONN_EV_ERROR) && !(c->flags & CONN_F_HANDSHAKE))
		ev |= conn_fill(c);
out:
	if (ev != 0)
		c->cb(c->arg, c, ev);	/* may free c */
	else
		conn_update(c);
}

/* Stop (1) or resume (0) reading; reading also stops when c->in is full. */
void
conn_pause(struct conn *c, int paused)
{
	if (paused)
		c->flags |= CONN_F_PAUSED;
	else
		c->flags &= ~CONN_F_PAUSED;
}

static void
conn_watch(struct conn *c, ev_io *w, int on)
{
	if (on && !ev_is_active(w))
		ev_io_start(c->loop, w);
	else if (!on && ev_is_active(w))
		ev_io_stop(c->loop, w);
}

/* Recompute which watchers run; call after every change to the buffers. */
void
conn_update(struct conn *c)
{
	int r = 0, w = 0;

	if (c->fd == -1 || (c->flags & CONN_F_ERROR)) {
		conn_watch(c, &c->rio, 0);
		conn_watch(c, &c->wio, 0);
		return;
	}
	if (c->flags & CONN_F_CONNECTING)
		w = 1;
	else if (c->flags & CONN_F_HANDSHAKE) {
		if (c->flags & CONN_F_HS_WANT_WRITE)
			w = 1;
		else
			r = 1;
	} else {
		if (conn_can_read(c)) {
			if (c->flags & CONN_F_READ_WANT_WRITE)
				w = 1;
			else
				r = 1;
			/*
			 * Decrypted bytes OpenSSL holds will not be signalled
			 * by the socket. SSL_pending, not SSL_has_pending:
			 * the latter is also true for half a record, and
			 * feeding then would spin until the rest arrives
			 * (without read-ahead, later records stay in the
			 * kernel, which the watcher does signal).
			 */
			if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
				ev_feed_event(c->loop, &c->rio, EV_READ);
		}
		if (buf_len(&c->out) > 0) {
			if (c->flags & CONN_F_WRITE_WANT_READ)
				r = 1;
			else
				w = 1;
		}
	}
	conn_watch(c, &c->rio, r);
	conn_watch(c, &c->wio, w);
}

/* 1 when TLS is up (handshake done). */
int
conn_is_tls(const struct conn *c)
{
	return c->ops == &tls_ops;
}

/* Queue bytes for output. Returns 0, or -1 (nothing queued) if no room. */
int
conn_write(struct conn *c, const void *p, size_t len)
{
	return buf_append(&c->out, p, len);
}

static SSL_CTX *
tls_ctx_new(const SSL_METHOD *m, char *err, size_t errsize)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(m)) == NULL) {
		snprintf(err, errsize, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;
}

static void
tls_err(char *err, size_t errsize, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();

	snprintf(err, errsize, "%s %s: %s", what, file,
	    e != 0 && ERR_reason_error_string(e) != NULL ?
	    ERR_reason_error_string(e) : "failed");
	ERR_clear_error();
}

/*
 * TLS contexts: TLS 1.2 minimum, partial writes, released buffers. The
 * server one loads cert and key, and takes min_version (OpenSSL's
 * TLS1_VERSION ... TLS1_3_VERSION; 0: TLS 1.2) and ciphers (a TLS <= 1.2
 * cipher list; NULL: OpenSSL's default). Below TLS 1.2 it runs at OpenSSL
 * security level 0 (SHA-1, old ciphers), with CONN_TLS_LEGACY_CIPHERS
 * unless ciphers says otherwise. The client one verifies peers against
 * ca_file (NULL: the system store). NULL with a reason in err on failure.
 */
SSL_CTX *
conn_tls_server_ctx(const char *cert, const char *key, int min_version,
    const char *ciphers, char *err, size_t errsize)
{
	SSL_CTX *ctx;
	int legacy = min_version != 0 && min_version < TLS1_2_VERSION;

	if ((ctx = tls_ctx_new(TLS_server_method(), err, errsize)) == NULL)
		return NULL;
	if (min_version != 0 &&
	    SSL_CTX_set_min_proto_version(ctx, min_version) != 1) {
		tls_err(err, errsize, "cannot set the minimum TLS version",
		    "for the listener");
		goto fail;
	}
	if (legacy && ciphers == NULL)
		ciphers = CONN_TLS_LEGACY_CIPHERS;
	if (ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		tls_err(err, errsize, "no usable cipher in", ciphers);
		goto fail;
	}
	/* OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 signatures) above level 0;
	   the level is this context's only, never the whole process's. */
	if (legacy)
		SSL_CTX_set_security_level(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_err(err, errsize, CONN_TLS_CERT_ERROR, cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errsize, "cannot load key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errsize, "key does not match certificate", key);
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
conn_tls_client_ctx(const char *ca_file, char *err, size_t errsize)
{
	SSL_CTX *ctx;
	int ok;

	if ((ctx = tls_ctx_new(TLS_client_method(), err, errsize)) == NULL)
		return NULL;
	ok = ca_file != NULL ?
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) :
	    SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		tls_err(err, errsize, "cannot load CA file",
		    ca_file != NULL ? ca_file : "(system store)");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}
