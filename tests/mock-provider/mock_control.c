/*
 * mock_control: run-time failure injection, so one mock can serve a whole
 * test. The mock reads DIR/control, if it exists, before each token request
 * (POST /token, any grant), each AUTH XOAUTH2 attempt and each DATA.
 *
 * Format: one directive a line, words separated by spaces or tabs. Blank
 * lines and lines starting with '#' are ignored (and kept). N is a count
 * from 0 to 1000000000; SECONDS a decimal number, fraction allowed (0.25).
 *
 *   fail N 500              the next N token requests get HTTP 500 with a
 *                           JSON error body {"error":"server_error",...}
 *   fail N 429 SECONDS      ... HTTP 429, "Retry-After: SECONDS" (whole
 *                           seconds) and {"error":"temporarily_unavailable"}
 *   fail N invalid_grant    ... HTTP 400 {"error":"invalid_grant",
 *                           "error_description":"AADSTS70000: ..."} with
 *                           "error_codes":[70000] (microsoft) or
 *                           "Token has been expired or revoked." (google)
 *   fail N invalid_client   ... HTTP 401 {"error":"invalid_client",...}
 *   fail N drop             ... the request is read, then the connection is
 *                           closed with no response at all
 *   delay SECONDS           every token request sleeps SECONDS before it is
 *                           answered, as long as the line is there
 *   delay SECONDS N         only the next N token requests sleep
 *   smtp-reject N           the next N AUTH XOAUTH2 attempts (well-formed
 *                           ones) are rejected even with a valid token, in
 *                           the --style's shape (google: 334 JSON challenge
 *                           then 535 5.7.8; microsoft: 535 5.7.3 at once)
 *   smtp-421 N              the next N MAIL commands get "421 4.7.0 ..."
 *                           and the connection is closed (a provider
 *                           shutting down or throttling)
 *   smtp-432 N              the next N MAIL commands get Exchange's
 *                           "432 4.3.2 STOREDRV.ClientSubmit; sender thread
 *                           limit exceeded" (the connection stays open)
 *   smtp-drop-data N        the next N DATA transfers are cut: after 354
 *                           the mock reads one line of data and closes the
 *                           connection (no close_notify, no reply); nothing
 *                           is stored
 *
 * Lines are used in file order: a token request takes the first "delay"
 * line and the first "fail" line whose count is not 0 (delay first, then
 * the failure); with "fail 1 500" above "fail 2 429 7", the next request
 * gets a 500 and the two after it a 429. A fail line changes what the
 * request gets whatever its grant and parameters; DIR/token-requests counts
 * it as usual.
 *
 * Each use counts N down and rewrites DIR/control atomically (temporary +
 * rename) in canonical form; a line whose count reaches 0 is removed, other
 * lines are copied as they were; a file with nothing left is left empty.
 * Read, count-down and rewrite happen under a mutex and an exclusive
 * flock(2) on DIR/control.lock, so no unit is used twice. Tests must
 * replace DIR/control atomically (write a temporary file in DIR, then mv),
 * and if the mock may be using it at the same moment, hold the lock while
 * they do: flock DIR/control.lock mv DIR/control.new DIR/control.
 * A line that does not parse is kept, ignored and logged each time.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/mock-provider/mock.h"

#define CONTROL_FILE		"control"
#define CONTROL_LOCK		"control.lock"
#define CONTROL_MAX		(64 * 1024)	/* bytes of DIR/control */
#define CONTROL_LINES_MAX	256
#define CONTROL_WORDS_MAX	5
#define CONTROL_COUNT_MAX	1000000000L
#define CONTROL_SECONDS_MAX	3600.0

enum ctl_kind {
	CTL_IGNORED,		/* blank, comment or unparsable */
	CTL_FAIL,
	CTL_DELAY,
	CTL_SMTP_REJECT,
	CTL_SMTP_421,
	CTL_SMTP_432,
	CTL_SMTP_DROP_DATA
};

struct ctl_line {
	enum ctl_kind	 kind;
	const char	*raw;		/* into the file's text */
	size_t		 rawlen;	/* without the LF */
	long		 n;		/* count; -1: delay without one */
	enum mock_fail	 fail;
	long		 retry_after;
	double		 seconds;	/* delay */
	int		 used;		/* n went down: rewrite the line */
};

static pthread_mutex_t control_lock = PTHREAD_MUTEX_INITIALIZER;

/* Parse a count: digits only, at most CONTROL_COUNT_MAX. 0 / -1. */
static int
parse_count(const char *s, long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out > CONTROL_COUNT_MAX)
		return (-1);
	return (0);
}

/* Parse SECONDS: a non-negative decimal, at most an hour. 0 / -1. */
static int
parse_seconds(const char *s, double *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || *end != '\0' || *out > CONTROL_SECONDS_MAX)
		return (-1);
	return (0);
}

/* Parse "fail N ..." words into l. 0 / -1. */
static int
parse_fail(struct ctl_line *l, char **w, int nw)
{
	static const struct {
		const char	*word;
		enum mock_fail	 fail;
	} outcomes[] = {
		{ "500",		MOCK_FAIL_500 },
		{ "429",		MOCK_FAIL_429 },
		{ "invalid_grant",	MOCK_FAIL_INVALID_GRANT },
		{ "invalid_client",	MOCK_FAIL_INVALID_CLIENT },
		{ "drop",		MOCK_FAIL_DROP },
	};
	size_t i;

	if (nw < 3 || parse_count(w[1], &l->n) == -1)
		return (-1);
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (strcmp(w[2], outcomes[i].word) == 0)
			break;
	if (i == sizeof(outcomes) / sizeof(outcomes[0]))
		return (-1);
	l->fail = outcomes[i].fail;
	if (l->fail == MOCK_FAIL_429)
		return (nw == 4 && parse_count(w[3], &l->retry_after) == 0 ?
		    0 : -1);
	return (nw == 3 ? 0 : -1);
}

/* Parse one line (NUL-terminated copy in buf, modified) into l. */
static void
parse_line(struct ctl_line *l, char *buf)
{
	char *w[CONTROL_WORDS_MAX + 1], *p, *save = NULL;
	int nw = 0, ok = -1;

	l->kind = CTL_IGNORED;
	for (p = strtok_r(buf, " \t\r", &save); p != NULL;
	    p = strtok_r(NULL, " \t\r", &save)) {
		if (nw == CONTROL_WORDS_MAX + 1)
			goto bad;
		w[nw++] = p;
	}
	if (nw == 0 || w[0][0] == '#')
		return;
	if (strcmp(w[0], "fail") == 0) {
		l->kind = CTL_FAIL;
		ok = parse_fail(l, w, nw);
	} else if (strcmp(w[0], "delay") == 0) {
		l->kind = CTL_DELAY;
		l->n = -1;
		ok = (nw == 2 || nw == 3) &&
		    parse_seconds(w[1], &l->seconds) == 0 &&
		    (nw == 2 || parse_count(w[2], &l->n) == 0) ? 0 : -1;
	} else if (strcmp(w[0], "smtp-reject") == 0) {
		l->kind = CTL_SMTP_REJECT;
		ok = nw == 2 && parse_count(w[1], &l->n) == 0 ? 0 : -1;
	} else if (strcmp(w[0], "smtp-421") == 0) {
		l->kind = CTL_SMTP_421;
		ok = nw == 2 && parse_count(w[1], &l->n) == 0 ? 0 : -1;
	} else if (strcmp(w[0], "smtp-432") == 0) {
		l->kind = CTL_SMTP_432;
		ok = nw == 2 && parse_count(w[1], &l->n) == 0 ? 0 : -1;
	} else if (strcmp(w[0], "smtp-drop-data") == 0) {
		l->kind = CTL_SMTP_DROP_DATA;
		ok = nw == 2 && parse_count(w[1], &l->n) == 0 ? 0 : -1;
	}
	if (ok == 0)
		return;
bad:
	l->kind = CTL_IGNORED;
	mock_warn("control: ignoring line \"%.*s\"", (int)l->rawlen, l->raw);
}

/*
 * Read DIR/control into text and split it into lines. The number of
 * lines, 0 when the file is absent, -1 on error (logged).
 */
static int
control_read(struct mock_dbuf *text, struct ctl_line *lines)
{
	char path[PATH_MAX], buf[4096], *copy;
	const char *p, *end, *lf;
	ssize_t r;
	int fd, n = 0;

	snprintf(path, sizeof(path), "%s/" CONTROL_FILE, mock_opts.dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return (0);
		mock_warn("control: cannot open %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 || text->len + (size_t)r > CONTROL_MAX ||
		    mock_dbuf_add(text, buf, (size_t)r) == -1) {
			mock_warn("control: cannot read %s (or over %d bytes)",
			    path, CONTROL_MAX);
			close(fd);
			return (-1);
		}
	}
	close(fd);
	if (text->p == NULL)
		return (0);

	for (p = text->p, end = p + text->len; p < end; p = lf + 1) {
		if ((lf = memchr(p, '\n', (size_t)(end - p))) == NULL)
			lf = end;
		if (n == CONTROL_LINES_MAX) {
			mock_warn("control: over %d lines, the rest ignored",
			    CONTROL_LINES_MAX);
			break;
		}
		memset(&lines[n], 0, sizeof(lines[n]));
		lines[n].raw = p;
		lines[n].rawlen = (size_t)(lf - p);
		if ((copy = strndup(p, (size_t)(lf - p))) == NULL)
			return (-1);
		parse_line(&lines[n], copy);
		free(copy);
		n++;
	}
	return (n);
}

/* Rewrite DIR/control with the used lines counted down. 0 / -1. */
static int
control_write(const struct ctl_line *lines, int n)
{
	static const char *fail_words[] = {
		[MOCK_FAIL_500] = "500",
		[MOCK_FAIL_429] = "429",
		[MOCK_FAIL_INVALID_GRANT] = "invalid_grant",
		[MOCK_FAIL_INVALID_CLIENT] = "invalid_client",
		[MOCK_FAIL_DROP] = "drop",
	};
	struct mock_dbuf out = { NULL, 0, 0 };
	const struct ctl_line *l;
	char buf[128];
	int i, k, rc = -1;

	if (mock_dbuf_add(&out, "", 0) == -1)
		goto done;
	for (i = 0; i < n; i++) {
		l = &lines[i];
		if (!l->used) {
			if (mock_dbuf_add(&out, l->raw, l->rawlen) == -1 ||
			    mock_dbuf_add(&out, "\n", 1) == -1)
				goto done;
			continue;
		}
		if (l->n == 0)
			continue;
		switch (l->kind) {
		case CTL_FAIL:
			k = snprintf(buf, sizeof(buf), "fail %ld %s", l->n,
			    fail_words[l->fail]);
			if (l->fail == MOCK_FAIL_429)
				k += snprintf(buf + k, sizeof(buf) - (size_t)k,
				    " %ld", l->retry_after);
			break;
		case CTL_DELAY:
			k = snprintf(buf, sizeof(buf), "delay %g %ld",
			    l->seconds, l->n);
			break;
		case CTL_SMTP_REJECT:
			k = snprintf(buf, sizeof(buf), "smtp-reject %ld", l->n);
			break;
		case CTL_SMTP_421:
			k = snprintf(buf, sizeof(buf), "smtp-421 %ld", l->n);
			break;
		case CTL_SMTP_432:
			k = snprintf(buf, sizeof(buf), "smtp-432 %ld", l->n);
			break;
		case CTL_SMTP_DROP_DATA:
			k = snprintf(buf, sizeof(buf), "smtp-drop-data %ld",
			    l->n);
			break;
		default:
			k = 0;
			break;
		}
		if (mock_dbuf_add(&out, buf, (size_t)k) == -1 ||
		    mock_dbuf_add(&out, "\n", 1) == -1)
			goto done;
	}
	rc = mock_file_write(CONTROL_FILE, out.p, out.len);

done:
	mock_dbuf_free(&out);
	return (rc);
}

/*
 * Run fn over DIR/control's lines with both locks held, and rewrite the
 * file if fn used a line (returned non-zero).
 */
static void
control_apply(int (*fn)(struct ctl_line *, int, void *), void *arg)
{
	static struct ctl_line lines[CONTROL_LINES_MAX];	/* under lock */
	struct mock_dbuf text = { NULL, 0, 0 };
	char path[PATH_MAX];
	struct stat st;
	int fd, n;

	/* The common case, no control file, takes no lock. */
	snprintf(path, sizeof(path), "%s/" CONTROL_FILE, mock_opts.dir);
	if (stat(path, &st) == -1 && errno == ENOENT)
		return;

	snprintf(path, sizeof(path), "%s/" CONTROL_LOCK, mock_opts.dir);
	pthread_mutex_lock(&control_lock);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		mock_warn("control: cannot open %s: %s", path,
		    strerror(errno));
		goto done;
	}
	while (flock(fd, LOCK_EX) == -1 && errno == EINTR)
		;
	if ((n = control_read(&text, lines)) > 0 && fn(lines, n, arg))
		(void)control_write(lines, n);
	close(fd);		/* releases the flock */

done:
	pthread_mutex_unlock(&control_lock);
	mock_dbuf_free(&text);
}

/* Count a line down once. */
static void
use_line(struct ctl_line *l)
{

	l->n--;
	l->used = 1;
}

static int
take_token(struct ctl_line *lines, int n, void *arg)
{
	struct mock_token_ctl *ctl = arg;
	int i, have_delay = 0, have_fail = 0, used = 0;

	for (i = 0; i < n; i++) {
		if (lines[i].kind == CTL_DELAY && !have_delay &&
		    lines[i].n != 0) {
			have_delay = 1;
			ctl->delay_ms = (long)(lines[i].seconds * 1000.0);
			if (lines[i].n > 0) {
				use_line(&lines[i]);
				used = 1;
			}
		} else if (lines[i].kind == CTL_FAIL && !have_fail &&
		    lines[i].n > 0) {
			have_fail = 1;
			ctl->fail = lines[i].fail;
			ctl->retry_after = lines[i].retry_after;
			use_line(&lines[i]);
			used = 1;
		}
	}
	return (used);
}

/*
 * Take the injections for one token request from DIR/control: the first
 * "delay" line and the first "fail" line with a count left, each counted
 * down and the file rewritten. *ctl is all zero when there is nothing.
 */
void
mock_control_token(struct mock_token_ctl *ctl)
{

	memset(ctl, 0, sizeof(*ctl));
	control_apply(take_token, ctl);
}

struct smtp_take {
	enum ctl_kind	 kind;
	int		 taken;
};

static int
take_smtp(struct ctl_line *lines, int n, void *arg)
{
	struct smtp_take *t = arg;
	int i;

	for (i = 0; i < n; i++)
		if (lines[i].kind == t->kind && lines[i].n > 0) {
			use_line(&lines[i]);
			t->taken = 1;
			return (1);
		}
	return (0);
}

/* Take one unit of an SMTP injection: 1 if one was there, else 0. */
int
mock_control_smtp(enum mock_smtp_ctl which)
{
	struct smtp_take t;

	t.kind = which == MOCK_CTL_SMTP_REJECT ? CTL_SMTP_REJECT :
	    which == MOCK_CTL_SMTP_421 ? CTL_SMTP_421 :
	    which == MOCK_CTL_SMTP_432 ? CTL_SMTP_432 : CTL_SMTP_DROP_DATA;
	t.taken = 0;
	control_apply(take_smtp, &t);
	return (t.taken);
}
