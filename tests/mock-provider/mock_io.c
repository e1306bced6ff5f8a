/*
 * mock_io: blocking connection I/O for the mock provider (plaintext or TLS
 * behind the same calls, buffered line reads) and a growable byte buffer.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tests/mock-provider/mock.h"

#define MOCK_PRINTF_MAX		8192	/* one formatted reply */

/* Wrap an accepted socket; NULL on error (the socket is then closed). */
struct mock_conn *
mock_conn_new(int fd, unsigned long id)
{
	struct mock_conn *c;
	struct timeval tv = { .tv_sec = MOCK_IO_TIMEOUT, .tv_usec = 0 };

	/* A stuck peer must not hold a thread forever. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->fd = fd;
	c->id = id;
	return (c);

fail:
	close(fd);
	return (NULL);
}

/*
 * Shut TLS down if up (not if c->abort: then the peer sees the connection
 * cut), close the socket, free. NULL does nothing.
 */
void
mock_conn_free(struct mock_conn *c)
{

	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		ERR_clear_error();
		if (!c->abort)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c);
}

/* Start server-side TLS on the connection with ctx. 0 / -1. */
int
mock_conn_starttls(struct mock_conn *c, SSL_CTX *ctx)
{
	SSL *ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(ctx)) == NULL)
		goto fail;
	SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_set_fd(ssl, c->fd) != 1)
		goto fail1;
	if (SSL_accept(ssl) != 1)
		goto fail1;
	c->ssl = ssl;
	return (0);

fail1:
	SSL_free(ssl);
fail:
	ERR_clear_error();
	return (-1);
}

/* Drop anything buffered but not yet read (STARTTLS injection). */
void
mock_conn_discard(struct mock_conn *c)
{

	c->rpos = c->rlen = 0;
}

/* One read from the socket or TLS. n > 0 / 0 on EOF / -1 on error. */
static ssize_t
raw_read(struct mock_conn *c, void *buf, size_t n)
{
	ssize_t r;
	int len, e;

	if (c->ssl == NULL) {
		do {
			r = recv(c->fd, buf, n, 0);
		} while (r == -1 && errno == EINTR);
		if (r > 0)
			c->nreads++;
		return (r);
	}
	len = n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
	ERR_clear_error();
	if ((r = SSL_read(c->ssl, buf, len)) > 0) {
		c->nreads++;
		return (r);
	}
	e = SSL_get_error(c->ssl, (int)r);
	ERR_clear_error();
	/* A peer that closes without close_notify is an EOF here too. */
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && r == 0))
		return (0);
	return (-1);
}

/* Read up to n bytes, buffered first. n > 0 / 0 on EOF / -1 on error. */
ssize_t
mock_conn_read(struct mock_conn *c, void *buf, size_t n)
{
	size_t k;

	if (c->rpos < c->rlen) {
		k = c->rlen - c->rpos;
		if (k > n)
			k = n;
		memcpy(buf, c->rbuf + c->rpos, k);
		c->rpos += k;
		return ((ssize_t)k);
	}
	return (raw_read(c, buf, n));
}

/*
 * Read one line, up to and including its LF, into line (replacing its
 * contents). At most max bytes are kept; the rest of a longer line is read
 * and dropped and *overflow set. 0 when a whole line was read, -1 on EOF
 * (also mid-line) or error.
 */
int
mock_conn_getline(struct mock_conn *c, struct mock_dbuf *line, size_t max,
    int *overflow)
{
	const char *lf;
	size_t avail, take, keep;
	ssize_t r;

	mock_dbuf_reset(line);
	*overflow = 0;
	for (;;) {
		if (c->rpos == c->rlen) {
			c->rpos = c->rlen = 0;
			if ((r = raw_read(c, c->rbuf, sizeof(c->rbuf))) <= 0)
				return (-1);
			c->rlen = (size_t)r;
		}
		avail = c->rlen - c->rpos;
		lf = memchr(c->rbuf + c->rpos, '\n', avail);
		take = lf != NULL ? (size_t)(lf - (c->rbuf + c->rpos)) + 1 :
		    avail;
		keep = take;
		if (line->len + keep > max) {
			keep = max - line->len;
			*overflow = 1;
		}
		if (mock_dbuf_add(line, c->rbuf + c->rpos, keep) == -1)
			return (-1);
		c->rpos += take;
		if (lf != NULL)
			return (0);
	}
}

/* Write all n bytes. 0 / -1. */
int
mock_conn_write(struct mock_conn *c, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t r;
	int len;

	while (n > 0) {
		if (c->ssl != NULL) {
			len = n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
			ERR_clear_error();
			if ((r = SSL_write(c->ssl, p, len)) <= 0) {
				ERR_clear_error();
				return (-1);
			}
		} else {
			r = send(c->fd, p, n, MSG_NOSIGNAL);
			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				return (-1);
		}
		p += r;
		n -= (size_t)r;
	}
	return (0);
}

/* printf to the connection. 0 / -1. */
int
mock_conn_printf(struct mock_conn *c, const char *fmt, ...)
{
	char buf[MOCK_PRINTF_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return (-1);
	return (mock_conn_write(c, buf, (size_t)n));
}

/* Make buf empty; it keeps its memory. */
void
mock_dbuf_reset(struct mock_dbuf *b)
{

	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* Append n bytes. 0 / -1 on out of memory. */
int
mock_dbuf_add(struct mock_dbuf *b, const void *data, size_t n)
{
	size_t ncap;
	char *np;

	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n + 1) {
			if (ncap > SIZE_MAX / 2)
				return (-1);
			ncap *= 2;
		}
		if ((np = realloc(b->p, ncap)) == NULL)
			return (-1);
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

/* Release the memory; the buffer is then empty and reusable. */
void
mock_dbuf_free(struct mock_dbuf *b)
{

	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
