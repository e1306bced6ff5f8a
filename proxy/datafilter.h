/*
 * datafilter: turns the bytes a client sends after DATA into the bytes sent
 * to the provider, streaming, with no line buffer (so no line length limit
 * and no hidden copy of the message).
 *
 * - The message ends only on CRLF "." CRLF, where the CRLF before the dot
 *   is a real CR LF (the DATA command's own line end counts as one).
 * - Every line end goes out as CRLF: a bare LF is a line end; a bare CR (one
 *   not followed by LF) becomes a space.
 * - Dot-stuffing is undone and done again: a client line ".x..." loses its
 *   first dot, and any line whose content starts with "." goes out with one
 *   more. A line that is a single "." but is not the end (its line end or
 *   the previous one was a bare LF: the smuggling shapes) is content "." and
 *   goes out as "..".
 * - At the end the filter writes the terminating "." CRLF itself, so the
 *   output is exactly what goes on the wire.
 */
#ifndef PROXY_DATAFILTER_H
#define PROXY_DATAFILTER_H

#include <stddef.h>

struct datafilter {
	int		state;		/* private */
	unsigned long long content;	/* message bytes seen, for SIZE */
};

/* Most bytes of output one input byte can produce (a held "." plus CRLF,
   or the final ".\r\n" after a line end). */
#define DATAFILTER_EXPANSION	5

/* Start a new message. */
void	datafilter_init(struct datafilter *);

/*
 * Filter in[0..inlen) into out, which has outsize bytes of room. Stops when
 * the input is used up, when the output could overflow (it never writes more
 * than outsize), or at the end of the message. Sets *used to the input bytes
 * consumed and *produced to the output bytes written. Returns 1 if the end
 * of the message was reached (the terminator included in *used and the
 * final ".\r\n" in out), else 0. Bytes after the terminator are not
 * consumed: they are the client's next command.
 */
int	datafilter_run(struct datafilter *, const char *in, size_t inlen,
	    size_t *used, char *out, size_t outsize, size_t *produced);

#endif
