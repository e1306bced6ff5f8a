/*
 * buf: fixed-capacity byte buffers. See buf.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/buf.h"

/* Note how far writes reached (extra: bytes written past the data). */
static void
buf_mark(struct buf *b, size_t extra)
{
	size_t end = b->off + b->len + extra;

	if (end > b->cap)
		end = b->cap;
	if (end > b->hw)
		b->hw = end;
}

/* Allocate cap bytes. Returns 0, or -1 on allocation failure. */
int
buf_init(struct buf *b, size_t cap)
{
	b->off = b->len = b->hw = 0;
	b->cap = cap;
	if ((b->data = malloc(cap)) == NULL) {
		b->cap = 0;
		return -1;
	}
	return 0;
}

/* Wipe and release the storage; safe on a zeroed or freed buf. */
void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->hw);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

/* Free space: cap minus unread data. Cheap; moves nothing. */
size_t
buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

/*
 * Where to write the next byte; valid for buf_room() bytes. Unread data is
 * moved to the front here, only when a writer is about to use the room.
 */
char *
buf_tail(struct buf *b)
{
	if (b->off > 0) {
		if (b->len > 0)
			memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	return b->data + b->len;
}

/* Mark n bytes written at buf_tail() as data. */
void
buf_produce(struct buf *b, size_t n)
{
	b->len += n;
	buf_mark(b, 0);
}

/* Drop n bytes from the head. */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

/* Drop everything (wiping it: the buffer may have held a password). */
void
buf_reset(struct buf *b)
{
	/* Only what was ever written: wiping the whole capacity touched
	   every page of every buffer, and the pages stayed resident. */
	if (b->data != NULL)
		explicit_bzero(b->data, b->hw);
	b->off = b->len = b->hw = 0;
}

/* Append n bytes. Returns 0, or -1 (nothing written) if they do not fit. */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n)
		return -1;
	if (b->cap - b->off - b->len < n) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	buf_mark(b, 0);
	return 0;
}

/* Append formatted text. Returns 0, or -1 (nothing written) if too long. */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (b->cap - b->len == 0)
		return -1;
	if (b->cap - b->off - b->len < b->cap - b->len) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	room = b->cap - b->off - b->len;
	va_start(ap, fmt);
	n = vsnprintf(buf_tail(b), room, fmt, ap);
	va_end(ap);
	/* vsnprintf wants room for its NUL: an exact fit counts as too long. */
	if (n < 0 || (size_t)n >= room) {
		/* vsnprintf may have written part of it: leave no copy. */
		explicit_bzero(buf_tail(b), room);
		return -1;
	}
	b->len += (size_t)n;
	buf_mark(b, 1);		/* vsnprintf's NUL */
	return 0;
}

/*
 * Length of the first complete line including its LF, or 0 if the data holds
 * no LF yet.
 */
size_t
buf_line(const struct buf *b)
{
	const char *lf;

	/* A zeroed buf has no data pointer to search. */
	if (b->len == 0)
		return 0;
	lf = memchr(buf_head(b), '\n', b->len);
	return lf == NULL ? 0 : (size_t)(lf - buf_head(b)) + 1;
}
