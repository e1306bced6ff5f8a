/*
 * buf: a fixed-capacity byte buffer. Capacity is set once at buf_init and
 * never grows: every producer must check buf_room() and stop, which is the
 * backpressure the whole daemon relies on.
 */
#ifndef IO_BUF_H
#define IO_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct buf {
	char	*data;
	size_t	 cap;	/* fixed at init */
	size_t	 off;	/* start of unread data */
	size_t	 len;	/* bytes of unread data */
	size_t	 hw;	/* bytes ever written from data[0]: what a wipe
			   must cover */
};

/* Allocate cap bytes. Returns 0, or -1 on allocation failure. */
int	 buf_init(struct buf *, size_t cap);
/* Wipe and release the storage; safe on a zeroed or freed buf. */
void	 buf_free(struct buf *);
/* Unread data starts here; buf_len() bytes long. */
static inline char *buf_head(const struct buf *b) { return b->data + b->off; }
static inline size_t buf_len(const struct buf *b) { return b->len; }
/* Free space: cap minus unread data. Cheap; moves nothing. */
size_t	 buf_room(const struct buf *);
/*
 * Where to write the next byte; valid for buf_room() bytes. Unread data is
 * moved to the front here, only when a writer is about to use the room.
 */
char	*buf_tail(struct buf *);
/* Mark n bytes written at buf_tail() as data. */
void	 buf_produce(struct buf *, size_t n);
/* Drop n bytes from the head. */
void	 buf_consume(struct buf *, size_t n);
/* Drop everything (wiping it: the buffer may have held a password). */
void	 buf_reset(struct buf *);
/* Append n bytes. Returns 0, or -1 (nothing written) if they do not fit. */
int	 buf_append(struct buf *, const void *, size_t n);
/* Append formatted text. Returns 0, or -1 (nothing written) if too long. */
int	 buf_printf(struct buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Length of the first complete line including its LF, or 0 if the data holds
 * no LF yet.
 */
size_t	 buf_line(const struct buf *);

#endif
