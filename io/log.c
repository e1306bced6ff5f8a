/*
 * log: one line per event on stderr. See log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "io/log.h"

/* Longest log line; longer ones are cut (never split over two lines). */
#define LOG_LINE_MAX	1024
/* Longest line once its bytes are escaped (each may become "\xHH"). */
#define LOG_OUT_MAX	(4 * LOG_LINE_MAX)

static enum log_level	 log_level = LOG_INFO;
static int		 log_timestamps = 1;
static const char	*log_names[] = { "debug", "info", "warning", "error" };

/* Lines below this level are dropped (default LOG_INFO). */
void
log_set_level(enum log_level level)
{
	log_level = level;
}

/* Prefix every line with a UTC timestamp (default on; off under journald). */
void
log_set_timestamps(int on)
{
	log_timestamps = on;
}

/*
 * line (n bytes) into out, every byte outside printable ASCII as \xHH:
 * client-chosen text (user names, EHLO names) can hold neither a newline
 * that would forge a line, nor a terminal escape, nor bytes that make
 * journald store the line as a blob. Returns the length written.
 */
static size_t
log_escape(const char *line, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)line[i];
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 0xf];
	}
	return o;
}

/* Log one line for session sid (0: not about a session). */
void
log_msg(enum log_level level, uint64_t sid, const char *fmt, ...)
{
	char line[LOG_LINE_MAX], out[LOG_OUT_MAX];
	size_t n = 0;
	va_list ap;
	int r;

	if (level < log_level)
		return;
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(line + n, sizeof(line) - n, ".%03ldZ ",
		    ts.tv_nsec / 1000000);
		n += r > 0 ? (size_t)r : 0;
	}
	if (sid != 0)
		r = snprintf(line + n, sizeof(line) - n, "%s: %016llx ",
		    log_names[level], (unsigned long long)sid);
	else
		r = snprintf(line + n, sizeof(line) - n, "%s: ",
		    log_names[level]);
	n += r > 0 ? (size_t)r : 0;
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	n = log_escape(line, n, out);
	out[n++] = '\n';
	fwrite(out, 1, n, stderr);
}
