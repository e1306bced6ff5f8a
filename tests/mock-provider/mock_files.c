/*
 * mock_files: everything the mock provider records under --dir: counter
 * files, the SMTP concurrency maximum, port files and stored messages.
 * Every file is written to a dot-named temporary in the same directory and
 * renamed into place, so a test polling for it never reads half a file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/mock-provider/mock.h"

#define MOCK_MSG_DIR		"messages"

static const char *counter_names[MOCK_CNT_MAX] = {
	[MOCK_CNT_TOKEN_REQUESTS] = "token-requests",
	[MOCK_CNT_SMTP_CONNECTIONS] = "smtp-connections",
	[MOCK_CNT_AUTH] = "auth-count",
	[MOCK_CNT_AUTH_FAILURES] = "auth-failures",
	[MOCK_CNT_DEVICE_POLLS] = "device-polls",
	[MOCK_CNT_MAIL] = "mail-commands",
};

#define MAX_CONCURRENT_FILE	"smtp-max-concurrent"

/* One lock per counter: the bump and its file write happen together. */
static struct {
	pthread_mutex_t	 lock;
	unsigned long	 value;
} counters[MOCK_CNT_MAX] = {
	[0 ... MOCK_CNT_MAX - 1] = { PTHREAD_MUTEX_INITIALIZER, 0 }
};

/* SMTP connections open now, and the most seen; the file follows max. */
static pthread_mutex_t conc_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long conc_now, conc_max;

static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long msg_count;
static atomic_ulong tmp_seq;

/* Write data to DIR/name atomically (tmp in the same directory + rename). */
int
mock_file_write(const char *name, const void *data, size_t n)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *base, *p = data;
	ssize_t r;
	int fd, len;

	if ((base = strrchr(name, '/')) != NULL)
		base++;
	else
		base = name;
	len = snprintf(path, sizeof(path), "%s/%s", mock_opts.dir, name);
	if (len < 0 || (size_t)len >= sizeof(path))
		goto fail;
	len = snprintf(tmp, sizeof(tmp), "%s/%.*s.%s.tmp.%ld.%lu",
	    mock_opts.dir, (int)(base - name), name, base, (long)getpid(),
	    (unsigned long)atomic_fetch_add(&tmp_seq, 1));
	if (len < 0 || (size_t)len >= sizeof(tmp))
		goto fail;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		goto fail;
	while (n > 0) {
		if ((r = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail1;
		}
		p += r;
		n -= (size_t)r;
	}
	if (close(fd) == -1)
		goto fail2;
	if (rename(tmp, path) == -1)
		goto fail2;
	return (0);

fail1:
	close(fd);
fail2:
	unlink(tmp);
fail:
	mock_warn("cannot write %s/%s: %s", mock_opts.dir, name,
	    strerror(errno));
	return (-1);
}

/* Write an unsigned decimal and a newline to DIR/name atomically. */
static int
write_decimal(const char *name, unsigned long v)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "%lu\n", v);
	return (mock_file_write(name, buf, (size_t)n));
}

/* Write a string and a newline to DIR/name atomically. 0 / -1. */
int
mock_file_write_line(const char *name, const char *s)
{
	struct mock_dbuf b = { NULL, 0, 0 };
	int rc = -1;

	if (mock_dbuf_add(&b, s, strlen(s)) == 0 &&
	    mock_dbuf_add(&b, "\n", 1) == 0)
		rc = mock_file_write(name, b.p, b.len);
	mock_dbuf_free(&b);
	return (rc);
}

/*
 * Create DIR/messages and write every counter file, and
 * DIR/smtp-max-concurrent, as 0. 0 / -1.
 */
int
mock_files_init(void)
{
	char path[PATH_MAX];
	int i, n;

	n = snprintf(path, sizeof(path), "%s/%s", mock_opts.dir, MOCK_MSG_DIR);
	if (n < 0 || (size_t)n >= sizeof(path))
		goto fail;
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		goto fail;
	for (i = 0; i < MOCK_CNT_MAX; i++)
		if (write_decimal(counter_names[i], 0) == -1)
			return (-1);
	return (write_decimal(MAX_CONCURRENT_FILE, 0));

fail:
	mock_warn("cannot create %s/%s: %s", mock_opts.dir, MOCK_MSG_DIR,
	    strerror(errno));
	return (-1);
}

/* Add one to a counter and rewrite its file before returning the value. */
unsigned long
mock_counter_bump(enum mock_counter which)
{
	unsigned long v;

	pthread_mutex_lock(&counters[which].lock);
	v = ++counters[which].value;
	(void)write_decimal(counter_names[which], v);
	pthread_mutex_unlock(&counters[which].lock);
	return (v);
}

/*
 * An SMTP connection opens: count it, and rewrite DIR/smtp-max-concurrent
 * if the number open now is a new maximum (under the lock, so the file
 * only ever grows).
 */
void
mock_concurrency_enter(void)
{

	pthread_mutex_lock(&conc_lock);
	if (++conc_now > conc_max) {
		conc_max = conc_now;
		(void)write_decimal(MAX_CONCURRENT_FILE, conc_max);
	}
	pthread_mutex_unlock(&conc_lock);
}

/* An SMTP connection closes. */
void
mock_concurrency_leave(void)
{

	pthread_mutex_lock(&conc_lock);
	conc_now--;
	pthread_mutex_unlock(&conc_lock);
}

/* Write the port number to DIR/name atomically. 0 / -1. */
int
mock_port_write(const char *name, unsigned int port)
{

	return (write_decimal(name, port));
}

/*
 * Store one message as DIR/messages/NNNNNN.eml (data) and then
 * NNNNNN.env (envelope text). Returns the message number, or 0 on error.
 */
unsigned long
mock_message_store(const struct mock_dbuf *data, const struct mock_dbuf *env)
{
	char name[64];
	unsigned long num;

	pthread_mutex_lock(&msg_lock);
	num = ++msg_count;
	pthread_mutex_unlock(&msg_lock);

	/* The .env is written last: a test that sees it sees the .eml. */
	snprintf(name, sizeof(name), MOCK_MSG_DIR "/%06lu.eml", num);
	if (mock_file_write(name, data->p, data->len) == -1)
		return (0);
	snprintf(name, sizeof(name), MOCK_MSG_DIR "/%06lu.env", num);
	if (mock_file_write(name, env->p, env->len) == -1)
		return (0);
	return (num);
}
