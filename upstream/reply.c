/*
 * reply: assembles an SMTP server reply from its lines (RFC 5321 4.2):
 * "250-first", "250-more", "250 last". Pure, no I/O. See reply.h.
 */
#include <string.h>

#include "upstream/reply.h"

/* "NNN" and the separator after it. */
#define REPLY_CODE_LEN	3
#define REPLY_PREFIX_LEN	4

/* Forget the previous reply. */
void
reply_reset(struct reply *r)
{
	memset(r, 0, sizeof(*r));
}

/* The 3-digit code at the start of line, or -1 if it is not 200-599. */
static int
reply_code(const char *line)
{
	int i, code = 0;

	if (line[0] < '2' || line[0] > '5')
		return -1;
	for (i = 0; i < REPLY_CODE_LEN; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		code = code * 10 + (line[i] - '0');
	}
	return code;
}

/*
 * Feed one line, without its CRLF. Returns 1 when that line completed the
 * reply, 0 when more lines follow, -1 when the line is malformed (not three
 * digits 2xx-5xx followed by '-', ' ' or the end; a code that differs from
 * the first line's; a control character; over REPLY_LINE_MAX or
 * REPLY_LINES_MAX). Feeding after done starts a new reply.
 */
int
reply_feed(struct reply *r, const char *line, size_t len)
{
	size_t i;
	int code, last;

	if (r->done)
		reply_reset(r);

	if (len < REPLY_CODE_LEN || len > REPLY_LINE_MAX)
		return -1;
	if ((code = reply_code(line)) == -1)
		return -1;
	if (len == REPLY_CODE_LEN)
		last = 1;
	else if (line[REPLY_CODE_LEN] == ' ')
		last = 1;
	else if (line[REPLY_CODE_LEN] == '-')
		last = 0;
	else
		return -1;
	/* Tab too: the text is relayed to clients and logged. */
	for (i = REPLY_PREFIX_LEN; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return -1;

	if (r->nlines > 0 && code != r->code)
		return -1;
	if (r->nlines >= REPLY_LINES_MAX)
		return -1;
	r->code = code;
	r->nlines++;
	r->done = last;
	return last;
}

/*
 * Text of a line after "NNN-" / "NNN " ("" for a bare "NNN"), for EHLO
 * keyword matching. line must have passed reply_feed.
 */
const char *
reply_text(const char *line, size_t len, size_t *textlen)
{
	if (len <= REPLY_PREFIX_LEN) {
		*textlen = 0;
		return "";
	}
	*textlen = len - REPLY_PREFIX_LEN;
	return line + REPLY_PREFIX_LEN;
}
