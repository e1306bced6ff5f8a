/*
 * fromrewrite: the From: header rewriter. See fromrewrite.h.
 *
 * Three phases: HEAD collects the header section into one buffer (bounded
 * by FROMREWRITE_HEADER_MAX), DRAIN writes the rewritten section out as
 * room allows, BODY copies the rest straight through. The rewrite itself
 * runs once, on the whole section, so a field folded over many lines, a
 * Reply-To that comes after the From, and input cut anywhere all look the
 * same to it. Holding the whole section costs at most the limit per
 * message in DATA, and only for users with rewrite_from_header.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/fromrewrite.h"

enum fr_phase { FR_HEAD, FR_DRAIN, FR_BODY };

#define FR_FROM		"From"
#define FR_REPLY_TO	"Reply-To"
#define FR_FROM_LEN	(sizeof(FR_FROM ": ") - 1)
#define FR_REPLY_TO_LEN	(sizeof(FR_REPLY_TO ":") - 1)

/* A field of the header section: [start, end), value after the colon. */
struct fr_field {
	size_t	 start, end;
	size_t	 value;		/* offset of the value; 0: not a field */
	int	 from, reply_to;
};

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* End of the line that starts at i (after its LF), or len. */
static size_t
line_end(const char *b, size_t len, size_t i)
{
	const char *nl = memchr(b + i, '\n', len - i);

	return nl != NULL ? (size_t)(nl - b) + 1 : len;
}

/* The line [s, e) is empty: only its line end. */
static int
empty_line(const char *b, size_t s, size_t e)
{
	return (e - s == 1 && b[s] == '\n') ||
	    (e - s == 2 && b[s] == '\r' && b[s + 1] == '\n');
}

/*
 * If the field [s, e) is named name (any case, optional white space before
 * the colon), the offset of its value; else 0.
 */
static size_t
field_value(const char *b, size_t s, size_t e, const char *name)
{
	size_t n = strlen(name), j;

	if (e - s <= n || strncasecmp(b + s, name, n) != 0)
		return 0;
	for (j = s + n; j < e && is_wsp(b[j]); j++)
		;
	return j < e && b[j] == ':' ? j + 1 : 0;
}

/*
 * The field starting at i in the section [0, len), which ends at hend (the
 * empty line or len): its continuation lines and name.
 */
static void
next_field(const char *b, size_t hend, size_t i, struct fr_field *f)
{
	size_t e = line_end(b, hend, i);

	while (e < hend && is_wsp(b[e]))
		e = line_end(b, hend, e);
	f->start = i;
	f->end = e;
	f->value = 0;
	f->from = f->reply_to = 0;
	if (is_wsp(b[i]))
		return;		/* a stray continuation: left alone */
	if ((f->value = field_value(b, i, e, FR_FROM)) != 0)
		f->from = 1;
	else if ((f->value = field_value(b, i, e, FR_REPLY_TO)) != 0)
		f->reply_to = 1;
}

/* Where the header section's fields end: at its empty line, or len. */
static size_t
header_end(const char *b, size_t len)
{
	size_t i, e;

	for (i = 0; i < len; i = e) {
		e = line_end(b, len, i);
		if (empty_line(b, i, e))
			return i;
	}
	return len;
}

/* The line end a From field ends with: its own, CRLF if it has none. */
static const char *
field_eol(const char *b, const struct fr_field *f)
{
	if (f->end > f->start && b[f->end - 1] == '\n')
		return f->end - f->start >= 2 && b[f->end - 2] == '\r' ?
		    "\r\n" : "\n";
	return "\r\n";
}

/* The value holds something besides white space and line ends. */
static int
value_nonblank(const char *b, size_t s, size_t e)
{
	for (; s < e; s++)
		if (!is_wsp(b[s]) && b[s] != '\r' && b[s] != '\n')
			return 1;
	return 0;
}

/*
 * Write the rewritten form of the field f to o (NULL: only count). Returns
 * its length.
 */
static size_t
emit_from(struct fromrewrite *h, const struct fr_field *f, int move,
    char *o)
{
	const char *eol = field_eol(h->buf, f);
	size_t alen = strlen(h->addr), elen = strlen(eol), vlen, n;

	if (o != NULL) {
		memcpy(o, FR_FROM ": ", FR_FROM_LEN);
		memcpy(o + FR_FROM_LEN, h->addr, alen);
		memcpy(o + FR_FROM_LEN + alen, eol, elen);
	}
	n = FR_FROM_LEN + alen + elen;
	if (!move)
		return n;
	/* The original value, folding and line end as they were. */
	vlen = f->end - f->value;
	if (o != NULL) {
		memcpy(o + n, FR_REPLY_TO ":", FR_REPLY_TO_LEN);
		memcpy(o + n + FR_REPLY_TO_LEN, h->buf + f->value, vlen);
	}
	return n + FR_REPLY_TO_LEN + vlen;
}

/* Build the output of the section into o (NULL: count). Returns its size. */
static size_t
build(struct fromrewrite *h, int add_reply_to, char *o)
{
	size_t hend = header_end(h->buf, h->len), i, n = 0, k;
	struct fr_field f;
	int moved = 0;

	for (i = 0; i < hend; i = f.end) {
		next_field(h->buf, hend, i, &f);
		if (!f.from) {
			if (o != NULL)
				memcpy(o + n, h->buf + f.start,
				    f.end - f.start);
			n += f.end - f.start;
			continue;
		}
		k = emit_from(h, &f, add_reply_to && !moved,
		    o != NULL ? o + n : NULL);
		if (o != NULL) {
			h->rewritten++;
			if (add_reply_to && !moved)
				h->reply_to = 1;
		}
		moved = 1;
		n += k;
	}
	/* The empty line, and anything after it (never, in HEAD). */
	if (o != NULL)
		memcpy(o + n, h->buf + hend, h->len - hend);
	return n + h->len - hend;
}

/* The header section is complete in buf: rewrite it and start draining. */
static void
rewrite(struct fromrewrite *h)
{
	size_t hend = header_end(h->buf, h->len), i, n;
	struct fr_field f;
	int has_reply_to = 0, first_from_ok = 0, seen_from = 0;
	char *nb;

	for (i = 0; i < hend; i = f.end) {
		next_field(h->buf, hend, i, &f);
		if (f.reply_to)
			has_reply_to = 1;
		if (f.from && !seen_from) {
			seen_from = 1;
			first_from_ok = value_nonblank(h->buf, f.value, f.end);
		}
	}
	h->phase = FR_DRAIN;
	h->off = 0;
	if (!seen_from)
		return;
	n = build(h, !has_reply_to && first_from_ok, NULL);
	if ((nb = malloc(n)) == NULL) {
		h->overflow = 1;	/* passed unchanged */
		return;
	}
	build(h, !has_reply_to && first_from_ok, nb);
	free(h->buf);
	h->buf = nb;
	h->len = n;
}

/*
 * Start a message whose From fields become addr. Returns 0, or -1 if addr
 * is empty or longer than FROMREWRITE_ADDR_MAX or holds a control byte,
 * or when out of memory.
 */
int
fromrewrite_init(struct fromrewrite *h, const char *addr)
{
	size_t i, n = strlen(addr);

	memset(h, 0, sizeof(*h));
	if (n == 0 || n > FROMREWRITE_ADDR_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)addr[i] <= 0x20 || addr[i] == 0x7f)
			return -1;
	memcpy(h->addr, addr, n + 1);
	if ((h->buf = malloc(FROMREWRITE_HEADER_MAX)) == NULL)
		return -1;
	h->phase = FR_HEAD;
	return 0;
}

/* Release what init allocated; a zeroed or freed one does nothing. */
void
fromrewrite_free(struct fromrewrite *h)
{
	free(h->buf);
	h->buf = NULL;
	h->len = h->off = 0;
}

/* Collect header bytes from in; returns how many were taken. */
static size_t
collect(struct fromrewrite *h, const char *in, size_t inlen)
{
	size_t i = 0, avail, take;
	const char *nl;

	while (h->phase == FR_HEAD && i < inlen) {
		if ((avail = FROMREWRITE_HEADER_MAX - h->len) == 0) {
			h->overflow = 1;	/* out as it came */
			h->phase = FR_DRAIN;
			h->off = 0;
			break;
		}
		if (avail > inlen - i)
			avail = inlen - i;
		nl = memchr(in + i, '\n', avail);
		take = nl != NULL ? (size_t)(nl - (in + i)) + 1 : avail;
		memcpy(h->buf + h->len, in + i, take);
		h->len += take;
		i += take;
		if (nl == NULL)
			continue;
		if (empty_line(h->buf, h->line, h->len))
			rewrite(h);
		else
			h->line = h->len;
	}
	return i;
}

/*
 * Take content from in[0..inlen) and write to out, which has outsize
 * bytes of room; sets *used and *produced. Held output is written first.
 * While the header section is being collected all input is taken (up to
 * the limit) and nothing may come out; afterwards input is copied as room
 * allows. Call with inlen 0 to drain held output.
 */
void
fromrewrite_run(struct fromrewrite *h, const char *in, size_t inlen,
    size_t *used, char *out, size_t outsize, size_t *produced)
{
	size_t i = 0, o = 0, n;

	for (;;) {
		switch (h->phase) {
		case FR_HEAD:
			i += collect(h, in + i, inlen - i);
			if (h->phase == FR_HEAD)
				goto done;	/* all input taken */
			break;
		case FR_DRAIN:
			n = h->len - h->off;
			if (n > outsize - o)
				n = outsize - o;
			if (n > 0)
				memcpy(out + o, h->buf + h->off, n);
			h->off += n;
			o += n;
			if (h->off < h->len)
				goto done;	/* out of room */
			free(h->buf);
			h->buf = NULL;
			h->len = h->off = 0;
			h->phase = FR_BODY;
			break;
		case FR_BODY:
			n = inlen - i;
			if (n > outsize - o)
				n = outsize - o;
			if (n > 0)
				memcpy(out + o, in + i, n);
			i += n;
			o += n;
			goto done;
		}
	}
done:
	*used = i;
	*produced = o;
}

/*
 * The message content is over: whatever is held is the whole header
 * section (a message without an empty line). Drain it with
 * fromrewrite_run until fromrewrite_pending says 0.
 */
void
fromrewrite_finish(struct fromrewrite *h)
{
	if (h->phase == FR_HEAD)
		rewrite(h);
}

/* 1 while output is held that fromrewrite_run has yet to write. */
int
fromrewrite_pending(const struct fromrewrite *h)
{
	return h->phase == FR_DRAIN && h->off < h->len;
}
