/*
 * fromrewrite: rewrites the From: header of a message while it streams,
 * for sender_policy = rewrite with rewrite_from_header = yes. It sits
 * between the DATA filter's output and the provider's window, and sees the
 * message content (no terminator).
 *
 * The header section (up to and including the first empty line) is held,
 * at most FROMREWRITE_HEADER_MAX bytes. Once it is complete, every From:
 * field (a folded one with all its continuation lines, which start with a
 * space or a tab) becomes "From: ADDR"; when the message has no Reply-To:
 * field, the first From's original value moves to a new "Reply-To:" field
 * right after it, folding and all. Field names match case-insensitively,
 * with optional white space before the colon. Nothing else changes, and
 * the body passes through untouched, so a "From:" line in the body stays.
 * A header section longer than the limit passes through unchanged (see
 * overflow). CRLF and bare LF line ends are both understood; a new From
 * line ends like the one it replaces.
 */
#ifndef PROXY_FROMREWRITE_H
#define PROXY_FROMREWRITE_H

#include <stddef.h>

/* Limits. */
#define FROMREWRITE_HEADER_MAX	65536	/* header section held */
#define FROMREWRITE_ADDR_MAX	256	/* the new From address */

struct fromrewrite {
	int		 phase;		/* private */
	char		*buf;		/* private: header section, then
					   what is left to write of it */
	size_t		 len, off;	/* private */
	size_t		 line;		/* private: start of the last line */
	char		 addr[FROMREWRITE_ADDR_MAX + 1];
	/* What happened, for the log. */
	int		 overflow;	/* header section over the limit (or
					   no memory): passed unchanged */
	unsigned	 rewritten;	/* From fields rewritten */
	int		 reply_to;	/* a Reply-To field was added */
};

/*
 * Start a message whose From fields become addr. Returns 0, or -1 if addr
 * is empty or longer than FROMREWRITE_ADDR_MAX or holds a control byte,
 * or when out of memory.
 */
int	fromrewrite_init(struct fromrewrite *, const char *addr);
/* Release what init allocated; a zeroed or freed one does nothing. */
void	fromrewrite_free(struct fromrewrite *);
/*
 * Take content from in[0..inlen) and write to out, which has outsize
 * bytes of room; sets *used and *produced. Held output is written first.
 * While the header section is being collected all input is taken (up to
 * the limit) and nothing may come out; afterwards input is copied as room
 * allows. Call with inlen 0 to drain held output.
 */
void	fromrewrite_run(struct fromrewrite *, const char *in, size_t inlen,
	    size_t *used, char *out, size_t outsize, size_t *produced);
/*
 * The message content is over: whatever is held is the whole header
 * section (a message without an empty line). Drain it with
 * fromrewrite_run until fromrewrite_pending says 0.
 */
void	fromrewrite_finish(struct fromrewrite *);
/* 1 while output is held that fromrewrite_run has yet to write. */
int	fromrewrite_pending(const struct fromrewrite *);

#endif
