/*
 * datafilter: the DATA byte stream from the client to the provider, one
 * byte at a time (runs of plain bytes inside a line are copied at once),
 * with no line buffer: the SMTP-smuggling defence. All that
 * is held between bytes (a "." at the start of a line, a CR that may or may
 * not be followed by LF) is implied by the state, so a message may be split
 * anywhere across calls. See datafilter.h.
 *
 * content counts the message as the provider's SIZE sees it (RFC 1870):
 * every byte written except the dots added by stuffing and the final
 * ".\r\n". So a line end counts 2 (a bare LF too, since it goes out as
 * CRLF), a bare CR counts 1 (its space), a client's stuffing dot counts 0.
 */
#include <string.h>

#include "proxy/datafilter.h"

enum df_state {
	DF_BOL_REAL = 0,	/* line start after a real CRLF (or DATA's) */
	DF_BOL_BARE,		/* line start after a bare LF */
	DF_MID,			/* inside a line, nothing held */
	DF_CR,			/* inside a line, a CR held */
	DF_DOT_REAL,		/* "." held at a DF_BOL_REAL line start */
	DF_DOT_BARE,		/* "." held at a DF_BOL_BARE line start */
	DF_DOT_CR_REAL,		/* "." CR held at a DF_BOL_REAL line start */
	DF_DOT_CR_BARE,		/* "." CR held at a DF_BOL_BARE line start */
	DF_END			/* terminator seen */
};

/* Write n bytes of message content. */
static size_t
df_put(struct datafilter *df, char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	df->content += n;
	return n;
}

/* A line whose content is exactly ".": stuffed, so one dot is not counted. */
static size_t
df_put_dotline(struct datafilter *df, char *o)
{
	memcpy(o, "..\r\n", 4);
	df->content += 3;
	return 4;
}

/* A byte inside a line (the line already has content, or c starts it). */
static size_t
df_mid(struct datafilter *df, unsigned char c, char *o)
{
	switch (c) {
	case '\r':
		df->state = DF_CR;
		return 0;
	case '\n':
		df->state = DF_BOL_BARE;
		return df_put(df, o, "\r\n", 2);
	default:
		df->state = DF_MID;
		return df_put(df, o, (const char *)&c, 1);
	}
}

/* A byte at a line start; bare says the line end before was a bare LF. */
static size_t
df_bol(struct datafilter *df, unsigned char c, char *o, int bare)
{
	if (c == '.') {
		df->state = bare ? DF_DOT_BARE : DF_DOT_REAL;
		return 0;
	}
	return df_mid(df, c, o);
}

/* A byte after a held "." at a line start. */
static size_t
df_dot(struct datafilter *df, unsigned char c, char *o, int bare)
{
	size_t n;

	switch (c) {
	case '\r':
		df->state = bare ? DF_DOT_CR_BARE : DF_DOT_CR_REAL;
		return 0;
	case '\n':
		/* "." ended by a bare LF: content, never the end. */
		df->state = DF_BOL_BARE;
		return df_put_dotline(df, o);
	case '.':
		/* The client's stuffing dot goes; the content dot is stuffed. */
		o[0] = '.';
		n = 1 + df_put(df, o + 1, ".", 1);
		df->state = DF_MID;
		return n;
	default:
		/* The client's stuffing dot goes. */
		return df_mid(df, c, o);
	}
}

/* A byte after a held "." CR at a line start. Returns 1 at the end. */
static int
df_dot_cr(struct datafilter *df, unsigned char c, char *o, int bare,
    size_t *n)
{
	if (c == '\n' && !bare) {
		memcpy(o, ".\r\n", 3);
		*n = 3;
		df->state = DF_END;
		return 1;
	}
	if (c == '\n') {
		/* After a bare LF: content "." and a real line end. */
		*n = df_put_dotline(df, o);
		df->state = DF_BOL_REAL;
		return 0;
	}
	/* The CR was bare: a space. The line has content: the dot was stuffing. */
	*n = df_put(df, o, " ", 1);
	*n += df_mid(df, c, o + *n);
	return 0;
}

/* Filter one byte into o (DATAFILTER_EXPANSION bytes of room). */
static int
df_byte(struct datafilter *df, unsigned char c, char *o, size_t *n)
{
	*n = 0;
	switch (df->state) {
	case DF_BOL_REAL:
		*n = df_bol(df, c, o, 0);
		return 0;
	case DF_BOL_BARE:
		*n = df_bol(df, c, o, 1);
		return 0;
	case DF_MID:
		*n = df_mid(df, c, o);
		return 0;
	case DF_CR:
		if (c == '\n') {
			df->state = DF_BOL_REAL;
			*n = df_put(df, o, "\r\n", 2);
			return 0;
		}
		*n = df_put(df, o, " ", 1);
		*n += df_mid(df, c, o + *n);
		return 0;
	case DF_DOT_REAL:
		*n = df_dot(df, c, o, 0);
		return 0;
	case DF_DOT_BARE:
		*n = df_dot(df, c, o, 1);
		return 0;
	case DF_DOT_CR_REAL:
		return df_dot_cr(df, c, o, 0, n);
	case DF_DOT_CR_BARE:
		return df_dot_cr(df, c, o, 1, n);
	default:
		return 1;
	}
}

/* Start a new message. */
void
datafilter_init(struct datafilter *df)
{
	df->state = DF_BOL_REAL;
	df->content = 0;
}

/*
 * Filter in[0..inlen) into out, which has outsize bytes of room. Stops when
 * the input is used up, when the output could overflow (it never writes more
 * than outsize), or at the end of the message. Sets *used to the input bytes
 * consumed and *produced to the output bytes written. Returns 1 if the end
 * of the message was reached (the terminator included in *used and the
 * final ".\r\n" in out), else 0. Bytes after the terminator are not
 * consumed: they are the client's next command.
 */
int
datafilter_run(struct datafilter *df, const char *in, size_t inlen,
    size_t *used, char *out, size_t outsize, size_t *produced)
{
	size_t i, o, n;
	int end = df->state == DF_END;

	/* Once ended, nothing more is consumed until datafilter_init. */
	for (i = o = 0; !end && i < inlen; ) {
		if (outsize - o < DATAFILTER_EXPANSION)
			break;
		if (df->state == DF_MID) {
			/*
			 * Inside a line, bytes other than CR and LF go out as
			 * they are: copy the run at once. Bounded so that it
			 * stops where the byte loop would have stopped.
			 */
			size_t max = outsize - o - (DATAFILTER_EXPANSION - 1);
			size_t k = 0;

			if (max > inlen - i)
				max = inlen - i;
			while (k < max && in[i + k] != '\r' && in[i + k] != '\n')
				k++;
			if (k > 0) {
				o += df_put(df, out + o, in + i, k);
				i += k;
				continue;
			}
		}
		end = df_byte(df, (unsigned char)in[i], out + o, &n);
		o += n;
		i++;
	}
	*used = i;
	*produced = o;
	return end;
}
