/*
 * reply: assembles an SMTP server reply from its lines (RFC 5321 4.2):
 * "250-first", "250-more", "250 last". Pure, no I/O.
 */
#ifndef UPSTREAM_REPLY_H
#define UPSTREAM_REPLY_H

#include <stddef.h>

/* Limits on a provider reply: longer ones are a protocol error. */
#define REPLY_LINE_MAX	2048	/* bytes in one line, without CRLF */
#define REPLY_LINES_MAX	100	/* lines in one reply */

struct reply {
	int	code;		/* 3-digit code of the first line, 0 before */
	int	nlines;		/* lines seen so far */
	int	done;		/* the last line has been seen */
};

/* Forget the previous reply. */
void	reply_reset(struct reply *);

/*
 * Feed one line, without its CRLF. Returns 1 when that line completed the
 * reply, 0 when more lines follow, -1 when the line is malformed (not three
 * digits 2xx-5xx followed by '-', ' ' or the end; a code that differs from
 * the first line's; a control character; over REPLY_LINE_MAX or
 * REPLY_LINES_MAX). Feeding after done starts a new reply.
 */
int	reply_feed(struct reply *, const char *line, size_t len);

/*
 * Text of a line after "NNN-" / "NNN " ("" for a bare "NNN"), for EHLO
 * keyword matching. line must have passed reply_feed.
 */
const char *reply_text(const char *line, size_t len, size_t *textlen);

#endif
