/*
 * fuzz_reply: libFuzzer harness for upstream/reply, the provider reply
 * parser, fed the way upstream.c's us_read_lines feeds it: the provider's
 * bytes arrive in reads of any size into an io/buf of UPSTREAM_IN_MAX
 * bytes, each complete line (LF, a CR before it dropped) goes to
 * reply_feed, and a partial line over REPLY_LINE_MAX + 2 bytes is an
 * error. The first two bytes seed the read sizes; the rest is the stream.
 * Checks no crash, leak or UB; the promises of reply.h on every line taken
 * (code 200-599, at most REPLY_LINES_MAX lines, done when it says so, the
 * text inside the line and free of control characters); and that the
 * replies completed, their codes and line counts, and where the stream is
 * refused are the same for reads of any size, for reads as large as the
 * buffer takes, and for a plain split of the whole stream at LF.
 *
 *   make build/fuzz_reply && build/fuzz_reply tests/fuzz/corpus/reply
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/buf.h"
#include "upstream/reply.h"
#include "upstream/upstream.h"

/* Longest read. */
#define FUZZ_CUT_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* What a conversation came to. */
struct fuzz_run {
	struct reply	 rp;
	int		*codes;		/* of each completed reply */
	int		*lines;		/* its number of lines */
	size_t		 nreplies, cap;
	int		 failed;
};

/* xorshift32: read sizes that follow from the seed. */
static uint32_t
fuzz_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int
fuzz_clean(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static void
fuzz_run_init(struct fuzz_run *run, size_t maxlines)
{
	memset(run, 0, sizeof(*run));
	reply_reset(&run->rp);
	run->cap = maxlines;
	FUZZ_CHECK((run->codes = calloc(maxlines, sizeof(int))) != NULL);
	FUZZ_CHECK((run->lines = calloc(maxlines, sizeof(int))) != NULL);
}

static void
fuzz_run_free(struct fuzz_run *run)
{
	free(run->codes);
	free(run->lines);
}

/* One line with its LF (n bytes), as us_read_lines takes it. */
static void
fuzz_line(struct fuzz_run *run, const char *line, size_t n)
{
	const char *text;
	size_t len = n - 1, textlen;
	int r, before;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	before = run->rp.done ? 0 : run->rp.nlines;
	if ((r = reply_feed(&run->rp, line, len)) == -1) {
		run->failed = 1;
		return;
	}
	FUZZ_CHECK(r == 0 || r == 1);
	FUZZ_CHECK(run->rp.code >= 200 && run->rp.code <= 599);
	FUZZ_CHECK(run->rp.nlines == before + 1);
	FUZZ_CHECK(run->rp.nlines <= REPLY_LINES_MAX);
	FUZZ_CHECK(run->rp.done == r);
	FUZZ_CHECK(len >= 3 && len <= REPLY_LINE_MAX);
	FUZZ_CHECK((line[0] - '0') * 100 + (line[1] - '0') * 10 +
	    (line[2] - '0') == run->rp.code);
	text = reply_text(line, len, &textlen);
	FUZZ_CHECK(textlen == (len > 4 ? len - 4 : 0));
	FUZZ_CHECK(textlen == 0 || text == line + 4);
	FUZZ_CHECK(fuzz_clean(text, textlen));
	if (r == 1) {
		FUZZ_CHECK(run->nreplies < run->cap);
		run->codes[run->nreplies] = run->rp.code;
		run->lines[run->nreplies] = run->rp.nlines;
		run->nreplies++;
	}
}

/*
 * The stream s[0..n) read in sizes chosen by seed (seed 0: as much as the
 * buffer takes) into an io/buf, lines taken as us_read_lines takes them.
 */
static void
fuzz_buffered(const char *s, size_t n, uint32_t seed, struct fuzz_run *run)
{
	struct buf in;
	size_t a = 0, cut, len;

	FUZZ_CHECK(buf_init(&in, UPSTREAM_IN_MAX) == 0);
	while (a < n && !run->failed) {
		cut = buf_room(&in);
		if (seed != 0 && cut > 1)
			cut = 1 + fuzz_rand(&seed) % (cut < FUZZ_CUT_MAX ?
			    cut : FUZZ_CUT_MAX);
		if (cut > n - a)
			cut = n - a;
		FUZZ_CHECK(cut > 0);
		memcpy(buf_tail(&in), s + a, cut);
		buf_produce(&in, cut);
		a += cut;
		while (!run->failed && (len = buf_line(&in)) > 0) {
			FUZZ_CHECK(len <= buf_len(&in));
			fuzz_line(run, buf_head(&in), len);
			buf_consume(&in, len);
		}
		if (buf_len(&in) > REPLY_LINE_MAX + 2)
			run->failed = 1;
	}
	buf_free(&in);
}

/* The same stream split at LF in one piece, without io/buf. */
static void
fuzz_split(const char *s, size_t n, struct fuzz_run *run)
{
	const char *line, *lf;

	for (line = s; line < s + n && !run->failed; line = lf + 1) {
		if ((lf = memchr(line, '\n', (size_t)(s + n - line))) ==
		    NULL) {
			if ((size_t)(s + n - line) > REPLY_LINE_MAX + 2)
				run->failed = 1;
			break;
		}
		fuzz_line(run, line, (size_t)(lf - line) + 1);
	}
}

static void
fuzz_same(const struct fuzz_run *a, const struct fuzz_run *b)
{
	FUZZ_CHECK(a->failed == b->failed);
	FUZZ_CHECK(a->nreplies == b->nreplies);
	FUZZ_CHECK(memcmp(a->codes, b->codes, a->nreplies *
	    sizeof(int)) == 0);
	FUZZ_CHECK(memcmp(a->lines, b->lines, a->nreplies *
	    sizeof(int)) == 0);
	/* A refused line may or may not have reset a finished reply. */
	if (!a->failed)
		FUZZ_CHECK(a->rp.code == b->rp.code &&
		    a->rp.nlines == b->rp.nlines && a->rp.done == b->rp.done);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run split, whole, cuts;
	const char *s;
	size_t i, n, maxlines;

	if (size < 2)
		return 0;
	s = (const char *)data + 2;
	n = size - 2;
	/* Every completed reply ends a line: at most one per LF. */
	maxlines = 1;
	for (i = 0; i < n; i++)
		maxlines += s[i] == '\n';

	fuzz_run_init(&split, maxlines);
	fuzz_run_init(&whole, maxlines);
	fuzz_run_init(&cuts, maxlines);
	fuzz_split(s, n, &split);
	fuzz_buffered(s, n, 0, &whole);
	fuzz_buffered(s, n, (uint32_t)data[1] << 8 | data[0] | 1, &cuts);
	fuzz_same(&split, &whole);
	fuzz_same(&split, &cuts);
	fuzz_run_free(&split);
	fuzz_run_free(&whole);
	fuzz_run_free(&cuts);
	return 0;
}
