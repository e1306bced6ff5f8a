/*
 * mock-provider main: the command line, the TLS context, the two loopback
 * listeners (HTTPS token endpoint, SMTP), one thread per connection, and
 * SIGTERM / SIGINT, which end the process at once with status 0.
 *
 * usage: mock-provider --dir DIR --cert PEM --key PEM --http ADDR:PORT
 *            --smtp ADDR:PORT [--smtp-mode tls|starttls]
 *            [--refresh-token RT] [--client-id ID] [--client-secret S]
 *            [--token-ttl SECONDS] [--reject-tokens] [-q | --quiet]
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

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
	    "[--reject-tokens] [-q | --quiet]\n");
	exit(2);
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
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int ch;

	mock_opts.smtp_mode = MOCK_SMTP_TLS;
	mock_opts.refresh_token = DEFAULT_REFRESH_TOKEN;
	mock_opts.token_ttl = DEFAULT_TOKEN_TTL;
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
			errno = 0;
			mock_opts.token_ttl = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    mock_opts.token_ttl < 0 ||
			    mock_opts.token_ttl > INT_MAX)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || mock_opts.dir == NULL ||
	    mock_opts.cert == NULL || mock_opts.key == NULL ||
	    mock_opts.http_addr == NULL || mock_opts.smtp_addr == NULL)
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
	int fd;

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
	if ((tls_ctx = tls_ctx_new()) == NULL || mock_files_init() == -1)
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
	mock_log("ready http=127.0.0.1:%u smtp=127.0.0.1:%u smtp-mode=%s "
	    "dir=%s", ls[0].port, ls[1].port,
	    mock_opts.smtp_mode == MOCK_SMTP_TLS ? "tls" : "starttls",
	    mock_opts.dir);

	while (sigwait(&set, &sig) != 0)
		;
	mock_log("exiting on signal %d", sig);
	/* Connection threads may be mid-TLS: skip atexit cleanups. */
	_exit(0);
}
