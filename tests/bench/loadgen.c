/*
 * loadgen: the load generator of the benchmarks (tests/bench/run.sh). It
 * plays many devices at once against the gateway: connect, TLS (implicit
 * or STARTTLS, the server checked against --ca), EHLO, AUTH PLAIN, then
 * MAIL / RCPT / DATA for each message, QUIT. Every reply code is checked;
 * a failure ends its session and counts, and any failure makes the exit
 * status non-zero. One summary line of key=value on stdout.
 *
 * One thread per concurrent session, blocking sockets with SO_RCVTIMEO /
 * SO_SNDTIMEO: every wait is bounded by --timeout, the whole run by
 * --max-time. Message bodies are generated on the fly from one shared
 * block of lines, so --size may be large without holding the message.
 *
 * usage: loadgen --port PORT (--tls | --starttls) --ca FILE --user U
 *            --pass P [--host 127.0.0.1] [--messages N] [--size BYTES]
 *            [--concurrency C] [--sessions S] [--pipelining]
 *            [--expect-data CODE] [--timeout S] [--max-time S]
 *        loadgen ... --idle K [--idle-auth yes|no] [--hold S]
 *            [--ready-file FILE] [--concurrency C]
 *
 * Relay mode prints: mode sessions messages failures elapsed_s msgs_per_s
 * mib_per_s session_p50_ms session_p99_ms auth_p50_ms auth_p99_ms cpu_s.
 * A session is connect to the QUIT reply; auth is AUTH sent to its 235
 * (local password check plus the provider connection and XOAUTH2).
 *
 * Idle mode opens K sessions (TLS, EHLO, and AUTH with --idle-auth yes),
 * writes --ready-file once all are open, holds them --hold seconds, then
 * sends QUIT on each.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Limits. */
#define LG_RBUF_SIZE		4096		/* per-connection read buffer */
#define LG_LINE_MAX		1024		/* one reply line */
#define LG_REPLY_LINES_MAX	64		/* lines of one reply */
#define LG_CHUNK		(64 * 1024)	/* one DATA write */
#define LG_LINE_LEN		78		/* body line, CRLF included */
#define LG_BLOCK_LINES		840		/* lines in the shared block */
#define LG_SIZE_MIN		256		/* smallest --size */
#define LG_SIZE_MAX		(4LL << 30)	/* largest --size */
#define LG_SESSIONS_MAX		1000000
#define LG_CONC_MAX		4096
#define LG_ERRORS_SHOWN		5		/* failure details on stderr */
#define LG_THREAD_STACK		(256 * 1024)

enum lg_tls { LG_IMPLICIT, LG_STARTTLS };

static struct {
	const char	*host;
	int		 port;
	enum lg_tls	 tls;
	int		 tls_set;
	const char	*ca;
	const char	*verify_name;
	const char	*user;
	const char	*pass;
	long		 messages;
	long long	 size;
	long		 concurrency;
	long		 sessions;
	int		 pipelining;
	int		 expect_data;
	double		 timeout;
	double		 max_time;
	long		 idle;
	int		 idle_auth;
	double		 hold;
	const char	*ready_file;
	const char	*from;
	const char	*rcpt;
} opt = {
	.host = "127.0.0.1",
	.messages = 1,
	.size = 10240,
	.concurrency = 1,
	.sessions = -1,
	.expect_data = 250,
	.timeout = 30,
	.max_time = 600,
	.hold = 5,
	.from = "bench@example.com",
	.rcpt = "sink@example.net",
};

/* One client connection. */
struct lconn {
	int	 fd;
	SSL	*ssl;
	char	 rbuf[LG_RBUF_SIZE];
	size_t	 rpos, rlen;
	char	 first[LG_LINE_MAX];	/* first line of the last reply */
};

/* The generated message: header, the block repeated, a tail line. */
static struct {
	char		 header[512];
	size_t		 hlen;
	char		*block;		/* LG_BLOCK_LINES whole lines */
	size_t		 blen;
	unsigned long long body;	/* bytes from the repeated block */
	char		 tail[LG_LINE_LEN * 2];
	size_t		 tlen;
	unsigned long long total;	/* header + body + tail + ".\r\n" */
} msg;

static SSL_CTX		*ctx;
static struct sockaddr_in addr;
static char		 auth_plain[1024];	/* "AUTH PLAIN <b64>" */
static double		 t_start, t_deadline;

/* Per session, by index. */
static double		*sess_ms, *auth_ms;
static struct lconn	**idle_conns;

static atomic_long	 next_session;
static atomic_long	 n_sessions_ok;
static atomic_long	 n_messages_ok;
static atomic_long	 n_failures;
static atomic_long	 n_authed;
static atomic_long	 n_shown;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen --port PORT (--tls | --starttls) --ca FILE "
	    "--user U --pass P\n"
	    "           [--host ADDR] [--verify-name NAME] [--messages N] "
	    "[--size BYTES]\n"
	    "           [--concurrency C] [--sessions S] [--pipelining] "
	    "[--expect-data CODE]\n"
	    "           [--timeout S] [--max-time S]\n"
	    "       loadgen ... --idle K [--idle-auth yes|no] [--hold S] "
	    "[--ready-file FILE]\n");
	exit(2);
}

static long long
num_arg(const char *name, const char *s, long long lo, long long hi)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "loadgen: --%s: want an integer in %lld..%lld\n",
		    name, lo, hi);
		exit(2);
	}
	return v;
}

static double
sec_arg(const char *name, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > 86400) {
		fprintf(stderr, "loadgen: --%s: want seconds in 0..86400\n",
		    name);
		exit(2);
	}
	return v;
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host",	 required_argument, NULL, 'h' },
		{ "port",	 required_argument, NULL, 'p' },
		{ "tls",	 no_argument,	    NULL, 'T' },
		{ "starttls",	 no_argument,	    NULL, 'S' },
		{ "ca",		 required_argument, NULL, 'a' },
		{ "verify-name", required_argument, NULL, 'V' },
		{ "user",	 required_argument, NULL, 'u' },
		{ "pass",	 required_argument, NULL, 'P' },
		{ "messages",	 required_argument, NULL, 'n' },
		{ "size",	 required_argument, NULL, 'z' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "sessions",	 required_argument, NULL, 's' },
		{ "pipelining",	 no_argument,	    NULL, 'L' },
		{ "expect-data", required_argument, NULL, 'e' },
		{ "timeout",	 required_argument, NULL, 't' },
		{ "max-time",	 required_argument, NULL, 'm' },
		{ "idle",	 required_argument, NULL, 'i' },
		{ "idle-auth",	 required_argument, NULL, 'A' },
		{ "hold",	 required_argument, NULL, 'H' },
		{ "ready-file",	 required_argument, NULL, 'r' },
		{ "from",	 required_argument, NULL, 'f' },
		{ "rcpt",	 required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h': opt.host = optarg; break;
		case 'p': opt.port = (int)num_arg("port", optarg, 1, 65535);
			break;
		case 'T': opt.tls = LG_IMPLICIT; opt.tls_set = 1; break;
		case 'S': opt.tls = LG_STARTTLS; opt.tls_set = 1; break;
		case 'a': opt.ca = optarg; break;
		case 'V': opt.verify_name = optarg; break;
		case 'u': opt.user = optarg; break;
		case 'P': opt.pass = optarg; break;
		case 'n': opt.messages = (long)num_arg("messages", optarg, 0,
		    1000000); break;
		case 'z': opt.size = num_arg("size", optarg, LG_SIZE_MIN,
		    LG_SIZE_MAX); break;
		case 'c': opt.concurrency = (long)num_arg("concurrency",
		    optarg, 1, LG_CONC_MAX); break;
		case 's': opt.sessions = (long)num_arg("sessions", optarg, 1,
		    LG_SESSIONS_MAX); break;
		case 'L': opt.pipelining = 1; break;
		case 'e': opt.expect_data = (int)num_arg("expect-data", optarg,
		    200, 599); break;
		case 't': opt.timeout = sec_arg("timeout", optarg); break;
		case 'm': opt.max_time = sec_arg("max-time", optarg); break;
		case 'i': opt.idle = (long)num_arg("idle", optarg, 1,
		    LG_SESSIONS_MAX); break;
		case 'A':
			if (strcmp(optarg, "yes") == 0)
				opt.idle_auth = 1;
			else if (strcmp(optarg, "no") == 0)
				opt.idle_auth = 0;
			else
				usage();
			break;
		case 'H': opt.hold = sec_arg("hold", optarg); break;
		case 'r': opt.ready_file = optarg; break;
		case 'f': opt.from = optarg; break;
		case 'R': opt.rcpt = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || opt.port == 0 || !opt.tls_set ||
	    opt.ca == NULL || opt.user == NULL || opt.pass == NULL ||
	    opt.timeout < 0.1)
		usage();
	if (opt.sessions == -1)
		opt.sessions = opt.idle > 0 ? opt.idle : opt.concurrency;
	if (opt.idle > 0)
		opt.sessions = opt.idle;
	if (opt.concurrency > opt.sessions)
		opt.concurrency = opt.sessions;
	if (opt.verify_name == NULL)
		opt.verify_name = opt.host;
}

/* Print the first few failures in detail; count them all. */
static void
fail(long sid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(long sid, const char *fmt, ...)
{
	va_list ap;
	char text[LG_LINE_MAX + 128];

	atomic_fetch_add(&n_failures, 1);
	if (atomic_fetch_add(&n_shown, 1) >= LG_ERRORS_SHOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "loadgen: session %ld: %s\n", sid, text);
}

/*
 * The message: a header, then LG_LINE_LEN-byte lines of printable text (no
 * line starts with '.'), exactly opt.size bytes before the final ".\r\n".
 */
static int
msg_init(void)
{
	unsigned long long rest, lines, pad;
	size_t i, j;
	char *p;
	int n;

	n = snprintf(msg.header, sizeof(msg.header),
	    "From: <%s>\r\nTo: <%s>\r\nSubject: authrelay bench\r\n"
	    "Message-ID: <bench.%ld@loadgen.invalid>\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
	    opt.from, opt.rcpt, (long)getpid());
	/* Room for at least the tail line's CRLF. */
	if (n < 0 || (size_t)n >= sizeof(msg.header) ||
	    (unsigned long long)n + 2 > (unsigned long long)opt.size)
		return -1;
	msg.hlen = (size_t)n;
	msg.blen = (size_t)LG_LINE_LEN * LG_BLOCK_LINES;
	if ((msg.block = malloc(msg.blen)) == NULL)
		return -1;
	for (i = 0, p = msg.block; i < LG_BLOCK_LINES; i++) {
		for (j = 0; j < LG_LINE_LEN - 2; j++)
			*p++ = (char)('A' + (i + j) % 58);	/* 'A'..'z' */
		*p++ = '\r';
		*p++ = '\n';
	}
	/* Whole block lines, then one tail line of 2..LG_LINE_LEN+1 bytes. */
	rest = (unsigned long long)opt.size - msg.hlen;
	lines = rest / LG_LINE_LEN;
	pad = rest % LG_LINE_LEN;
	if (pad < 2) {
		lines--;
		pad += LG_LINE_LEN;
	}
	msg.body = lines * LG_LINE_LEN;
	memset(msg.tail, 'z', (size_t)pad - 2);
	msg.tail[pad - 2] = '\r';
	msg.tail[pad - 1] = '\n';
	memcpy(msg.tail + pad, ".\r\n", 3);
	msg.tlen = (size_t)pad + 3;
	msg.total = msg.hlen + msg.body + msg.tlen;
	return 0;
}

/* Copy message bytes [off, off+n) (terminator included) into dst. */
static void
msg_copy(unsigned long long off, char *dst, size_t n)
{
	size_t k;

	while (n > 0) {
		if (off < msg.hlen) {
			k = msg.hlen - (size_t)off;
			k = k < n ? k : n;
			memcpy(dst, msg.header + off, k);
		} else if (off < msg.hlen + msg.body) {
			unsigned long long b = off - msg.hlen;
			size_t boff = (size_t)(b % msg.blen);

			k = msg.blen - boff;
			if (k > msg.body - b)
				k = (size_t)(msg.body - b);
			k = k < n ? k : n;
			memcpy(dst, msg.block + boff, k);
		} else {
			size_t toff = (size_t)(off - msg.hlen - msg.body);

			k = msg.tlen - toff;
			k = k < n ? k : n;
			memcpy(dst, msg.tail + toff, k);
		}
		dst += k;
		off += k;
		n -= k;
	}
}

/*
 * Connections.
 */

static void
lconn_free(struct lconn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

/* Write all of p. 0 / -1. */
static int
lconn_write(struct lconn *c, const void *p, size_t n)
{
	const char *s = p;
	ssize_t r;

	while (n > 0) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_write(c->ssl, s, n > INT_MAX ? INT_MAX : (int)n);
			if (r <= 0)
				return -1;
		} else {
			r = send(c->fd, s, n, MSG_NOSIGNAL);
			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
		}
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Refill the read buffer. 0 / -1 on EOF, error or timeout. */
static int
lconn_fill(struct lconn *c)
{
	ssize_t r;

	c->rpos = c->rlen = 0;
	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_read(c->ssl, c->rbuf, sizeof(c->rbuf));
		} else {
			r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
			if (r == -1 && errno == EINTR)
				continue;
		}
		if (r <= 0)
			return -1;
		c->rlen = (size_t)r;
		return 0;
	}
}

/* One line without its CRLF into line (LG_LINE_MAX). 0 / -1. */
static int
lconn_line(struct lconn *c, char *line)
{
	size_t n = 0;
	char ch;

	for (;;) {
		if (c->rpos == c->rlen && lconn_fill(c) == -1)
			return -1;
		ch = c->rbuf[c->rpos++];
		if (ch == '\n')
			break;
		if (n == LG_LINE_MAX - 1)
			return -1;
		line[n++] = ch;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return 0;
}

/*
 * Read one reply (all its lines). Its code, or -1 on EOF, timeout or a
 * malformed reply. The first line is kept in c->first for messages.
 */
static int
lconn_reply(struct lconn *c)
{
	char line[LG_LINE_MAX];
	int code = -1, i;

	c->first[0] = '\0';
	for (i = 0; i < LG_REPLY_LINES_MAX; i++) {
		if (lconn_line(c, line) == -1) {
			if (c->first[0] == '\0')
				snprintf(c->first, sizeof(c->first),
				    "(no reply: %s)", errno == EAGAIN ?
				    "timeout" : "connection closed");
			return -1;
		}
		if (i == 0)
			snprintf(c->first, sizeof(c->first), "%s", line);
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (line[3] != '\0' && line[3] != ' ' &&
		    line[3] != '-'))
			return -1;
		if (code == -1)
			code = atoi(line);	/* three digits */
		else if (atoi(line) != code)
			return -1;
		if (line[3] != '-')
			return code;
	}
	return -1;
}

/* Read a reply and check its code; a failure is reported. 0 / -1. */
static int
expect(struct lconn *c, long sid, const char *what, int want)
{
	int code = lconn_reply(c);

	if (code == want)
		return 0;
	fail(sid, "%s: want %d, got \"%s\"", what, want, c->first);
	return -1;
}

/* Send a line (CRLF added) and check the reply's code. 0 / -1. */
static int
command(struct lconn *c, long sid, const char *line, int want)
{
	char buf[LG_LINE_MAX + 2];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    lconn_write(c, buf, (size_t)n) == -1) {
		fail(sid, "%.4s: cannot send", line);
		return -1;
	}
	return expect(c, sid, line[0] == 'A' ? "AUTH" : line, want);
}

static int
tls_handshake(struct lconn *c, long sid)
{
	X509_VERIFY_PARAM *vp;
	struct in_addr a4;
	char err[256];

	ERR_clear_error();
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		goto fail;
	vp = SSL_get0_param(c->ssl);
	if (inet_pton(AF_INET, opt.verify_name, &a4) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, opt.verify_name) != 1)
			goto fail;
	} else if (SSL_set_tlsext_host_name(c->ssl, opt.verify_name) != 1 ||
	    SSL_set1_host(c->ssl, opt.verify_name) != 1)
		goto fail;
	if (SSL_connect(c->ssl) != 1)
		goto fail;
	return 0;
fail:
	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	fail(sid, "TLS handshake failed: %s (verify: %s)", err,
	    c->ssl != NULL ? X509_verify_cert_error_string(
	    SSL_get_verify_result(c->ssl)) : "-");
	return -1;
}

/*
 * Connect and get to "authenticated" (auth != 0) or to "EHLO done" (auth
 * 0). *auth_t gets the AUTH round trip in ms. NULL on failure (counted).
 */
static struct lconn *
session_open(long sid, int auth, double *auth_t)
{
	struct timeval tv;
	struct lconn *c;
	double t;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fail(sid, "out of memory");
		return NULL;
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		fail(sid, "socket: %s", strerror(errno));
		goto fail;
	}
	tv.tv_sec = (time_t)opt.timeout;
	tv.tv_usec = (suseconds_t)((opt.timeout - (double)tv.tv_sec) * 1e6);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
		fail(sid, "connect: %s", strerror(errno));
		goto fail;
	}
	if (opt.tls == LG_IMPLICIT) {
		if (tls_handshake(c, sid) == -1 ||
		    expect(c, sid, "greeting", 220) == -1 ||
		    command(c, sid, "EHLO loadgen.invalid", 250) == -1)
			goto fail;
	} else {
		if (expect(c, sid, "greeting", 220) == -1 ||
		    command(c, sid, "EHLO loadgen.invalid", 250) == -1 ||
		    command(c, sid, "STARTTLS", 220) == -1)
			goto fail;
		if (c->rpos != c->rlen) {
			fail(sid, "bytes after the STARTTLS reply");
			goto fail;
		}
		if (tls_handshake(c, sid) == -1 ||
		    command(c, sid, "EHLO loadgen.invalid", 250) == -1)
			goto fail;
	}
	if (auth) {
		t = now();
		if (command(c, sid, auth_plain, 235) == -1)
			goto fail;
		*auth_t = (now() - t) * 1e3;
		atomic_fetch_add(&n_authed, 1);
	}
	return c;
fail:
	lconn_free(c);
	return NULL;
}

/* MAIL, RCPT, DATA, the message, its reply. 0 / -1 (counted). */
static int
send_message(struct lconn *c, long sid, char *chunk)
{
	char cmds[3 * LG_LINE_MAX];
	unsigned long long off;
	size_t k;
	int n;

	if (opt.pipelining) {
		n = snprintf(cmds, sizeof(cmds), "MAIL FROM:<%s>\r\n"
		    "RCPT TO:<%s>\r\nDATA\r\n", opt.from, opt.rcpt);
		if (n < 0 || (size_t)n >= sizeof(cmds) ||
		    lconn_write(c, cmds, (size_t)n) == -1) {
			fail(sid, "MAIL: cannot send");
			return -1;
		}
		if (expect(c, sid, "MAIL", 250) == -1 ||
		    expect(c, sid, "RCPT", 250) == -1 ||
		    expect(c, sid, "DATA", 354) == -1)
			return -1;
	} else {
		snprintf(cmds, sizeof(cmds), "MAIL FROM:<%s>", opt.from);
		if (command(c, sid, cmds, 250) == -1)
			return -1;
		snprintf(cmds, sizeof(cmds), "RCPT TO:<%s>", opt.rcpt);
		if (command(c, sid, cmds, 250) == -1 ||
		    command(c, sid, "DATA", 354) == -1)
			return -1;
	}
	for (off = 0; off < msg.total; off += k) {
		k = msg.total - off > LG_CHUNK ? LG_CHUNK :
		    (size_t)(msg.total - off);
		msg_copy(off, chunk, k);
		if (lconn_write(c, chunk, k) == -1) {
			fail(sid, "message: write failed after %llu bytes", off);
			return -1;
		}
	}
	return expect(c, sid, "end of data", opt.expect_data);
}

/* One whole relay session. Fills sess_ms[sid] and auth_ms[sid] on success. */
static void
relay_session(long sid, char *chunk)
{
	struct lconn *c;
	double t0 = now(), at = 0;
	long m;

	if ((c = session_open(sid, 1, &at)) == NULL)
		return;
	for (m = 0; m < opt.messages; m++) {
		if (now() > t_deadline) {
			fail(sid, "--max-time reached");
			goto done;
		}
		if (send_message(c, sid, chunk) == -1)
			goto done;
		atomic_fetch_add(&n_messages_ok, 1);
	}
	if (command(c, sid, "QUIT", 221) == -1)
		goto done;
	sess_ms[sid] = (now() - t0) * 1e3;
	auth_ms[sid] = at;
	atomic_fetch_add(&n_sessions_ok, 1);
done:
	lconn_free(c);
}

static void *
relay_thread(void *arg)
{
	char *chunk;
	long sid;

	(void)arg;
	if ((chunk = malloc(LG_CHUNK)) == NULL) {
		fail(-1, "out of memory");
		return NULL;
	}
	while ((sid = atomic_fetch_add(&next_session, 1)) < opt.sessions) {
		if (now() > t_deadline) {
			fail(sid, "--max-time reached before the session");
			continue;
		}
		relay_session(sid, chunk);
	}
	free(chunk);
	return NULL;
}

/* Idle mode, phase 1: open sessions and keep them. */
static void *
idle_open_thread(void *arg)
{
	double at = 0;
	long sid;

	(void)arg;
	while ((sid = atomic_fetch_add(&next_session, 1)) < opt.sessions) {
		if (now() > t_deadline) {
			fail(sid, "--max-time reached before the session");
			continue;
		}
		idle_conns[sid] = session_open(sid, opt.idle_auth, &at);
		if (idle_conns[sid] != NULL) {
			auth_ms[sid] = at;
			atomic_fetch_add(&n_sessions_ok, 1);
		}
	}
	return NULL;
}

/* Idle mode, phase 2: QUIT each session still open. */
static void *
idle_quit_thread(void *arg)
{
	long sid;

	(void)arg;
	while ((sid = atomic_fetch_add(&next_session, 1)) < opt.sessions) {
		if (idle_conns[sid] == NULL)
			continue;
		(void)command(idle_conns[sid], sid, "QUIT", 221);
		lconn_free(idle_conns[sid]);
		idle_conns[sid] = NULL;
	}
	return NULL;
}

/* Run fn on opt.concurrency threads over the sessions and wait. 0 / -1. */
static int
run_threads(void *(*fn)(void *))
{
	pthread_t *tids;
	pthread_attr_t attr;
	long i, started = 0;

	atomic_store(&next_session, 0);
	if ((tids = calloc((size_t)opt.concurrency, sizeof(*tids))) == NULL)
		return -1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, LG_THREAD_STACK);
	for (i = 0; i < opt.concurrency; i++) {
		if ((errno = pthread_create(&tids[i], &attr, fn, NULL)) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n",
			    strerror(errno));
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_attr_destroy(&attr);
	free(tids);
	return started > 0 ? 0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of the n > 0 values of v, nearest rank; v sorted. */
static double
percentile(double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/* The values of src at the indexes of completed sessions, sorted. */
static size_t
collect(const double *src, double *dst, int need_positive)
{
	size_t n = 0;
	long i;

	for (i = 0; i < opt.sessions; i++)
		if (!need_positive || src[i] > 0)
			dst[n++] = src[i];
	qsort(dst, n, sizeof(*dst), cmp_double);
	return n;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
setup(void)
{
	char plain[600], b64[804];
	size_t ul = strlen(opt.user), pl = strlen(opt.pass);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) {
		fprintf(stderr, "loadgen: --host: want an IPv4 address\n");
		return -1;
	}
	/* AUTH PLAIN: base64("" NUL user NUL pass). */
	if (ul + pl + 2 > sizeof(plain)) {
		fprintf(stderr, "loadgen: --user/--pass too long\n");
		return -1;
	}
	plain[0] = '\0';
	memcpy(plain + 1, opt.user, ul);
	plain[ul + 1] = '\0';
	memcpy(plain + ul + 2, opt.pass, pl);
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)plain,
	    (int)(ul + pl + 2));
	snprintf(auth_plain, sizeof(auth_plain), "AUTH PLAIN %s", b64);
	OPENSSL_cleanse(plain, sizeof(plain));

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, opt.ca, NULL) != 1) {
		fprintf(stderr, "loadgen: TLS setup failed (CA file %s)\n",
		    opt.ca);
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Every session a new device: full handshakes, no resumption. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* Small idle connections on our side too. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	sess_ms = calloc((size_t)opt.sessions, sizeof(double));
	auth_ms = calloc((size_t)opt.sessions, sizeof(double));
	if (sess_ms == NULL || auth_ms == NULL)
		return -1;
	if (opt.idle == 0 && msg_init() == -1) {
		fprintf(stderr, "loadgen: --size too small for the header\n");
		return -1;
	}
	return 0;
}

static int
run_relay(void)
{
	double elapsed, *v, mib;
	size_t ns, na;
	long msgs, fails;

	t_start = now();
	t_deadline = t_start + opt.max_time;
	if (run_threads(relay_thread) == -1)
		return 1;
	elapsed = now() - t_start;
	if ((v = malloc((size_t)opt.sessions * sizeof(double))) == NULL)
		return 1;
	msgs = atomic_load(&n_messages_ok);
	fails = atomic_load(&n_failures);
	mib = (double)msgs * (double)opt.size / (1024.0 * 1024.0);
	ns = collect(sess_ms, v, 1);
	printf("mode=relay sessions=%ld messages=%ld failures=%ld "
	    "elapsed_s=%.3f msgs_per_s=%.1f mib_per_s=%.2f "
	    "session_p50_ms=%.2f session_p99_ms=%.2f",
	    atomic_load(&n_sessions_ok), msgs, fails, elapsed,
	    elapsed > 0 ? msgs / elapsed : 0, elapsed > 0 ? mib / elapsed : 0,
	    percentile(v, ns, 50), percentile(v, ns, 99));
	na = collect(auth_ms, v, 1);
	printf(" auth_p50_ms=%.2f auth_p99_ms=%.2f cpu_s=%.2f\n",
	    percentile(v, na, 50), percentile(v, na, 99), cpu_seconds());
	free(v);
	return fails == 0 && msgs == opt.sessions * opt.messages &&
	    atomic_load(&n_sessions_ok) == opt.sessions ? 0 : 1;
}

static int
run_idle(void)
{
	struct timespec ts;
	double t_open, t_hold, *v;
	size_t na;
	long open;
	FILE *f;

	if ((idle_conns = calloc((size_t)opt.sessions,
	    sizeof(*idle_conns))) == NULL)
		return 1;
	t_start = now();
	t_deadline = t_start + opt.max_time;
	if (run_threads(idle_open_thread) == -1)
		return 1;
	t_open = now() - t_start;
	open = atomic_load(&n_sessions_ok);
	if (opt.ready_file != NULL) {
		if ((f = fopen(opt.ready_file, "w")) == NULL) {
			fprintf(stderr, "loadgen: cannot write %s\n",
			    opt.ready_file);
		} else {
			fprintf(f, "sessions=%ld\n", open);
			fclose(f);
		}
	}
	t_hold = now();
	ts.tv_sec = (time_t)opt.hold;
	ts.tv_nsec = (long)((opt.hold - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	t_hold = now() - t_hold;
	if (run_threads(idle_quit_thread) == -1)
		return 1;
	if ((v = malloc((size_t)opt.sessions * sizeof(double))) == NULL)
		return 1;
	na = collect(auth_ms, v, 1);
	printf("mode=idle sessions=%ld authenticated=%ld failures=%ld "
	    "open_s=%.3f hold_s=%.3f auth_p50_ms=%.2f auth_p99_ms=%.2f "
	    "cpu_s=%.2f\n", open, atomic_load(&n_authed),
	    atomic_load(&n_failures), t_open, t_hold, percentile(v, na, 50),
	    percentile(v, na, 99), cpu_seconds());
	free(v);
	return atomic_load(&n_failures) == 0 && open == opt.sessions ? 0 : 1;
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup() == -1)
		return 1;
	return opt.idle > 0 ? run_idle() : run_relay();
}
