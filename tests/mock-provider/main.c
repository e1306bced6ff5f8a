/*
 * mock-provider main: the command line, the TLS context, the two loopback
 * listeners (HTTPS token endpoint, SMTP), one thread per connection, and
 * SIGTERM / SIGINT, which end the process at once with status 0.
 *
 * usage: mock-provider --dir DIR --cert PEM --key PEM --http ADDR:PORT
 *            --smtp ADDR:PORT [--smtp-mode tls|starttls]
 *            [--refresh-token RT] [--client-id ID] [--client-secret S]
 *            [--token-ttl SECONDS] [--reject-tokens] [-q | --quiet]
 *            [--style google|microsoft] [--revoke-old]
 *            [--device-interval SECONDS] [--device-pending K]
 *            [--device-slow-down] [--client-cert PEM]
 *            [--sa-public-key PEM --sa-email EMAIL]
 *
 *   --dir DIR            where everything is recorded (see mock.h and the
 *                        files' owners); created if missing
 *   --cert, --key        the TLS server certificate and key (both listeners)
 *   --http, --smtp       listen addresses, 127.x.x.x:PORT (PORT 0: any; the
 *                        port is written to DIR/http.port, DIR/smtp.port)
 *   --smtp-mode          tls (implicit, default) or starttls
 *   --refresh-token RT   the refresh token the mock accepts (default
 *                        mock-refresh-token)
 *   --client-id ID       the only client_id accepted (default: any)
 *   --client-secret S    the only client_secret accepted (default: any)
 *   --token-ttl SECONDS  access token lifetime, expires_in (default 3599)
 *   --reject-tokens      SMTP refuses every XOAUTH2 token
 *   -q, --quiet          no per-event log lines
 *   --style S            google (default): the refresh token never changes,
 *                        a bad XOAUTH2 token gets the 334 JSON challenge then
 *                        535 5.7.8. microsoft: every granted refresh token
 *                        is new (rotation; old ones stay valid), responses
 *                        add ext_expires_in, errors carry AADSTS codes, a
 *                        bad XOAUTH2 token gets "535 5.7.3 Authentication
 *                        unsuccessful [mock]" at once. Either way the valid
 *                        refresh tokens are in DIR/refresh-tokens, one a
 *                        line, newest last.
 *   --revoke-old         microsoft: a refresh token dies when redeemed
 *   --device-interval N  device flow polling interval, seconds (default 1)
 *   --device-pending K   authorization_pending answers before success
 *                        (default 2)
 *   --device-slow-down   then one slow_down (DIR/device-slow-down-ok says
 *                        whether the next poll waited interval + 5 s)
 *   --client-cert PEM    RSA certificate whose key signs client assertions
 *   --sa-public-key PEM  RSA public key of the Google service account ...
 *   --sa-email EMAIL     ... and its email, the assertions' iss (both or
 *                        neither)
 *
 * DIR/control injects failures at run time: see mock_control.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>

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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tests/mock-provider/mock.h"

#define MOCK_LOG_MAX		1024	/* one log line */
#define MOCK_ACCEPT_BACKOFF_NS	(10 * 1000 * 1000)	/* after EMFILE */
#define DEFAULT_REFRESH_TOKEN	"mock-refresh-token"
#define DEFAULT_TOKEN_TTL	3599
#define DEFAULT_DEVICE_INTERVAL	1
#define DEFAULT_DEVICE_PENDING	2
#define DEVICE_INTERVAL_MAX	3600
#define DEVICE_PENDING_MAX	1000000

/* getopt_long values of the options that have no short form. */
enum {
	OPT_STYLE = 256,
	OPT_REVOKE_OLD,
	OPT_DEVICE_INTERVAL,
	OPT_DEVICE_PENDING,
	OPT_DEVICE_SLOW_DOWN,
	OPT_CLIENT_CERT,
	OPT_SA_PUBLIC_KEY,
	OPT_SA_EMAIL
};

struct mock_opts mock_opts;

enum listener_kind {
	LISTEN_HTTP,
	LISTEN_SMTP
};

struct listener {
	enum listener_kind	 kind;
	const char		*name;		/* for logs */
	const char		*port_file;	/* DIR/<port_file> */
	int			 fd;
	unsigned int		 port;
};

struct conn_job {
	struct mock_conn	*c;
	enum listener_kind	 kind;
};

static SSL_CTX *tls_ctx;
static atomic_ulong conn_ids;

static void vlog(const char *, va_list) __attribute__((format(printf, 1, 0)));

static void
vlog(const char *fmt, va_list ap)
{
	char buf[MOCK_LOG_MAX];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One fprintf per line keeps lines from threads whole. */
	fprintf(stderr, "mock: %s\n", buf);
}

/* Log one line to stderr, prefixed "mock: ", unless --quiet. */
void
mock_log(const char *fmt, ...)
{
	va_list ap;

	if (mock_opts.quiet)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

/* Log one line to stderr even with --quiet. */
void
mock_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

static void
usage(void)
{

	fprintf(stderr, "usage: mock-provider --dir DIR --cert PEM --key PEM "
	    "--http ADDR:PORT --smtp ADDR:PORT\n"
	    "           [--smtp-mode tls|starttls] [--refresh-token RT] "
	    "[--client-id ID]\n"
	    "           [--client-secret S] [--token-ttl SECONDS] "
	    "[--reject-tokens] [-q | --quiet]\n"
	    "           [--style google|microsoft] [--revoke-old] "
	    "[--device-interval SECONDS]\n"
	    "           [--device-pending K] [--device-slow-down] "
	    "[--client-cert PEM]\n"
	    "           [--sa-public-key PEM --sa-email EMAIL]\n"
	    "  --style            google (default): fixed refresh token, bad "
	    "XOAUTH2 token ->\n"
	    "                     334 JSON then 535 5.7.8; microsoft: rotated "
	    "refresh tokens,\n"
	    "                     ext_expires_in, AADSTS errors, bad token -> "
	    "535 5.7.3 at once\n"
	    "  --revoke-old       microsoft: a redeemed refresh token stops "
	    "working\n"
	    "  --device-interval  device flow poll interval in seconds "
	    "(default 1)\n"
	    "  --device-pending   authorization_pending answers before "
	    "tokens (default 2)\n"
	    "  --device-slow-down then one slow_down; DIR/device-slow-down-ok "
	    "= 1 if the next\n"
	    "                     poll waited interval + 5 s, else 0\n"
	    "  --client-cert      RSA certificate (PEM) that verifies client "
	    "assertions\n"
	    "  --sa-public-key    RSA public key (PEM) that verifies service "
	    "account JWTs,\n"
	    "  --sa-email         whose iss must be EMAIL (give both or "
	    "neither)\n"
	    "Files in DIR: http.port smtp.port token-requests smtp-connections "
	    "auth-count\n"
	    "auth-failures device-polls smtp-max-concurrent refresh-tokens "
	    "messages/\n"
	    "device-slow-down-ok authorize-scope jwt-sub jwt-scope "
	    "mail-commands; "
	    "DIR/control (written by\n"
	    "tests) injects failures: see tests/mock-provider/"
	    "mock_control.c.\n");
	exit(2);
}

/* A decimal in [min, max] or a usage error. */
static long
num_arg(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		usage();
	return (v);
}

/* Parse the command line into mock_opts; exits on a usage error. */
static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir",		required_argument, NULL, 'd' },
		{ "cert",		required_argument, NULL, 'c' },
		{ "key",		required_argument, NULL, 'k' },
		{ "http",		required_argument, NULL, 'H' },
		{ "smtp",		required_argument, NULL, 'S' },
		{ "smtp-mode",		required_argument, NULL, 'm' },
		{ "refresh-token",	required_argument, NULL, 'r' },
		{ "client-id",		required_argument, NULL, 'i' },
		{ "client-secret",	required_argument, NULL, 's' },
		{ "token-ttl",		required_argument, NULL, 't' },
		{ "reject-tokens",	no_argument,	   NULL, 'R' },
		{ "quiet",		no_argument,	   NULL, 'q' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "style",		required_argument, NULL, OPT_STYLE },
		{ "revoke-old",		no_argument,	   NULL,
		    OPT_REVOKE_OLD },
		{ "device-interval",	required_argument, NULL,
		    OPT_DEVICE_INTERVAL },
		{ "device-pending",	required_argument, NULL,
		    OPT_DEVICE_PENDING },
		{ "device-slow-down",	no_argument,	   NULL,
		    OPT_DEVICE_SLOW_DOWN },
		{ "client-cert",	required_argument, NULL,
		    OPT_CLIENT_CERT },
		{ "sa-public-key",	required_argument, NULL,
		    OPT_SA_PUBLIC_KEY },
		{ "sa-email",		required_argument, NULL, OPT_SA_EMAIL },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	mock_opts.smtp_mode = MOCK_SMTP_TLS;
	mock_opts.refresh_token = DEFAULT_REFRESH_TOKEN;
	mock_opts.token_ttl = DEFAULT_TOKEN_TTL;
	mock_opts.style = MOCK_STYLE_GOOGLE;
	mock_opts.device_interval = DEFAULT_DEVICE_INTERVAL;
	mock_opts.device_pending = DEFAULT_DEVICE_PENDING;
	while ((ch = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': mock_opts.dir = optarg; break;
		case 'c': mock_opts.cert = optarg; break;
		case 'k': mock_opts.key = optarg; break;
		case 'H': mock_opts.http_addr = optarg; break;
		case 'S': mock_opts.smtp_addr = optarg; break;
		case 'r': mock_opts.refresh_token = optarg; break;
		case 'i': mock_opts.client_id = optarg; break;
		case 's': mock_opts.client_secret = optarg; break;
		case 'R': mock_opts.reject_tokens = 1; break;
		case 'q': mock_opts.quiet = 1; break;
		case 'm':
			if (strcmp(optarg, "tls") == 0)
				mock_opts.smtp_mode = MOCK_SMTP_TLS;
			else if (strcmp(optarg, "starttls") == 0)
				mock_opts.smtp_mode = MOCK_SMTP_STARTTLS;
			else
				usage();
			break;
		case 't':
			mock_opts.token_ttl = num_arg(optarg, 0, INT_MAX);
			break;
		case OPT_STYLE:
			if (strcmp(optarg, "google") == 0)
				mock_opts.style = MOCK_STYLE_GOOGLE;
			else if (strcmp(optarg, "microsoft") == 0)
				mock_opts.style = MOCK_STYLE_MICROSOFT;
			else
				usage();
			break;
		case OPT_REVOKE_OLD: mock_opts.revoke_old = 1; break;
		case OPT_DEVICE_INTERVAL:
			mock_opts.device_interval = num_arg(optarg, 1,
			    DEVICE_INTERVAL_MAX);
			break;
		case OPT_DEVICE_PENDING:
			mock_opts.device_pending = num_arg(optarg, 0,
			    DEVICE_PENDING_MAX);
			break;
		case OPT_DEVICE_SLOW_DOWN:
			mock_opts.device_slow_down = 1;
			break;
		case OPT_CLIENT_CERT: mock_opts.client_cert = optarg; break;
		case OPT_SA_PUBLIC_KEY: mock_opts.sa_public_key = optarg; break;
		case OPT_SA_EMAIL: mock_opts.sa_email = optarg; break;
		default:
			usage();
		}
	}
	if (optind != argc || mock_opts.dir == NULL ||
	    mock_opts.cert == NULL || mock_opts.key == NULL ||
	    mock_opts.http_addr == NULL || mock_opts.smtp_addr == NULL ||
	    (mock_opts.sa_public_key == NULL) != (mock_opts.sa_email == NULL) ||
	    strlen(mock_opts.refresh_token) >= MOCK_TOKEN_MAX ||
	    strchr(mock_opts.refresh_token, '\n') != NULL)
		usage();
}

/* One server TLS context for both listeners. NULL on error. */
static SSL_CTX *
tls_ctx_new(void)
{
	char err[256];
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto fail1;
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, mock_opts.cert) != 1)
		goto fail1;
	if (SSL_CTX_use_PrivateKey_file(ctx, mock_opts.key,
	    SSL_FILETYPE_PEM) != 1)
		goto fail1;
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto fail1;
	return (ctx);

fail1:
	SSL_CTX_free(ctx);
fail:
	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	mock_warn("tls: cannot load cert=%s key=%s: %s", mock_opts.cert,
	    mock_opts.key, err);
	return (NULL);
}

/*
 * Listen on ADDR:PORT (ADDR a 127.0.0.0/8 address; ":PORT" or "PORT" mean
 * 127.0.0.1). The chosen port goes into l->port. 0 / -1.
 */
static int
listener_open(struct listener *l, const char *spec)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	char host[64];
	const char *colon;
	char *end;
	unsigned long port;
	int one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if ((colon = strrchr(spec, ':')) == NULL)
		colon = spec - 1;
	if ((size_t)(colon - spec + 1) > sizeof(host))
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	if (host[0] == '\0')
		snprintf(host, sizeof(host), "127.0.0.1");
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535)
		goto bad;
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (ntohl(sin.sin_addr.s_addr) >> 24) != 127)
		goto bad;
	sin.sin_port = htons((uint16_t)port);

	if ((l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	(void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l->fd, MOCK_LISTEN_BACKLOG) == -1 ||
	    getsockname(l->fd, (struct sockaddr *)&sin, &slen) == -1)
		goto fail1;
	l->port = ntohs(sin.sin_port);
	if (l->kind == LISTEN_HTTP) {
		inet_ntop(AF_INET, &sin.sin_addr, mock_opts.http_host,
		    sizeof(mock_opts.http_host));
		mock_opts.http_port = l->port;
	}
	return (0);

fail1:
	close(l->fd);
fail:
	mock_warn("%s: cannot listen on %s: %s", l->name, spec,
	    strerror(errno));
	return (-1);
bad:
	mock_warn("%s: bad address %s (want 127.x.x.x:PORT)", l->name, spec);
	return (-1);
}

/* A connection's thread: serve it, which frees it. */
static void *
conn_thread(void *arg)
{
	struct conn_job job = *(struct conn_job *)arg;

	free(arg);
	if (job.kind == LISTEN_HTTP)
		mock_http_serve(job.c, tls_ctx);
	else
		mock_smtp_serve(job.c, tls_ctx);
	return (NULL);
}

/* An accept loop: one detached thread per connection. */
static void *
accept_thread(void *arg)
{
	struct listener *l = arg;
	struct timespec backoff = { 0, MOCK_ACCEPT_BACKOFF_NS };
	struct conn_job *job;
	pthread_attr_t attr;
	pthread_t tid;
	int fd, one = 1;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, MOCK_THREAD_STACK);
	for (;;) {
		if ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED) {
				mock_warn("%s: accept: %s", l->name,
				    strerror(errno));
				nanosleep(&backoff, NULL);
			}
			continue;
		}
		/* Small replies must not wait for the peer's delayed ACK. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((job = malloc(sizeof(*job))) == NULL) {
			close(fd);
			continue;
		}
		job->kind = l->kind;
		if ((job->c = mock_conn_new(fd,
		    atomic_fetch_add(&conn_ids, 1) + 1)) == NULL) {
			free(job);
			continue;
		}
		if ((errno = pthread_create(&tid, &attr, conn_thread,
		    job)) != 0) {
			mock_warn("%s: cannot start a thread: %s", l->name,
			    strerror(errno));
			mock_conn_free(job->c);
			free(job);
			nanosleep(&backoff, NULL);
		}
	}
	return (NULL);
}

/* Remove DIR/name if there, so a stale port file is never read as ready. */
static void
unlink_in_dir(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", mock_opts.dir, name);
	(void)unlink(path);
}

int
main(int argc, char **argv)
{
	static struct listener ls[2] = {
		{ LISTEN_HTTP, "http", "http.port", -1, 0 },
		{ LISTEN_SMTP, "smtp", "smtp.port", -1, 0 },
	};
	sigset_t set;
	pthread_t tid;
	size_t i;
	int sig;

	parse_args(argc, argv);
	setvbuf(stderr, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* Every thread inherits the mask; only sigwait() below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (i = 0; i < 2; i++)
		unlink_in_dir(ls[i].port_file);
	if (mkdir(mock_opts.dir, 0755) == -1 && errno != EEXIST) {
		mock_warn("cannot create %s: %s", mock_opts.dir,
		    strerror(errno));
		exit(1);
	}
	if ((tls_ctx = tls_ctx_new()) == NULL || mock_files_init() == -1 ||
	    mock_rt_init() == -1 || mock_jwt_keys_load() == -1)
		exit(1);
	if (listener_open(&ls[0], mock_opts.http_addr) == -1 ||
	    listener_open(&ls[1], mock_opts.smtp_addr) == -1)
		exit(1);
	for (i = 0; i < 2; i++) {
		if ((errno = pthread_create(&tid, NULL, accept_thread,
		    &ls[i])) != 0) {
			mock_warn("cannot start a thread: %s", strerror(errno));
			exit(1);
		}
		pthread_detach(tid);
	}
	/* The port files say "ready": written last, after listen(). */
	for (i = 0; i < 2; i++)
		if (mock_port_write(ls[i].port_file, ls[i].port) == -1)
			exit(1);
	mock_log("ready http=%s:%u smtp=127.0.0.1:%u smtp-mode=%s style=%s "
	    "dir=%s", mock_opts.http_host, ls[0].port, ls[1].port,
	    mock_opts.smtp_mode == MOCK_SMTP_TLS ? "tls" : "starttls",
	    mock_opts.style == MOCK_STYLE_GOOGLE ? "google" : "microsoft",
	    mock_opts.dir);

	while (sigwait(&set, &sig) != 0)
		;
	mock_log("exiting on signal %d", sig);
	/* Connection threads may be mid-TLS: skip atexit cleanups. */
	_exit(0);
}
