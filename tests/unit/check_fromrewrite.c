/*
 * check_fromrewrite: proxy/fromrewrite, the streaming From: header
 * rewriter. Table-driven vectors (input -> exact output, fields rewritten,
 * Reply-To added): simple, folded and multiple From fields, no From, an
 * existing Reply-To before or after, From lines in the body, CRLF and LF
 * and mixed line ends, messages without an empty line. Each vector is run
 * whole, byte by byte, cut at every point, and with the output room down
 * to one byte; and the header section limit is checked at its edge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/fromrewrite.h"
#include "tests/unit/suites.h"

#define T_ADDR		"sales@example.com"
#define T_OUT_MAX	(2 * FROMREWRITE_HEADER_MAX + 4096)
#define T_PAD_LINE	"X-Pad: 0123456789abcdef0123456789abcdef0123456789\r\n"

/*
 * An assertion for the hot loops: Check's ck_assert records every passing
 * check too, which makes the split tests crawl under valgrind.
 */
#define T_REQUIRE(cond) do {						\
	if (!(cond))							\
		ck_abort_msg("%s (vector %d, cut %zu, room %zu)",	\
		    #cond, t_vec, t_cut, t_room);			\
} while (0)

static int	t_vec;
static size_t	t_cut, t_room;

static const struct {
	const char	*in;
	const char	*out;
	unsigned	 rewritten;
	int		 reply_to;
} vec[] = {
	/* 0: the usual message. */
	{ "From: Scanner <scanner@dev.local>\r\nTo: a@b\r\nSubject: x\r\n"
	  "\r\nbody\r\n",
	  "From: sales@example.com\r\nReply-To: Scanner <scanner@dev.local>"
	  "\r\nTo: a@b\r\nSubject: x\r\n\r\nbody\r\n", 1, 1 },
	/* 1: folded From: the whole value, folding and all, moves. */
	{ "Subject: s\r\nFrom: \"A Very Long Name\"\r\n <scanner@dev.local>"
	  "\r\nTo: a@b\r\n\r\nbody\r\n",
	  "Subject: s\r\nFrom: sales@example.com\r\nReply-To: \"A Very Long "
	  "Name\"\r\n <scanner@dev.local>\r\nTo: a@b\r\n\r\nbody\r\n", 1, 1 },
	/* 2: folded with tabs, over three lines. */
	{ "From:\tx@y\r\n\t(the\r\n\t scanner)\r\nTo: b\r\n\r\n",
	  "From: sales@example.com\r\nReply-To:\tx@y\r\n\t(the\r\n\t scanner)"
	  "\r\nTo: b\r\n\r\n", 1, 1 },
	/* 3: no From: nothing changes. */
	{ "To: a@b\r\nSubject: no from\r\n\r\nbody\r\n",
	  "To: a@b\r\nSubject: no from\r\n\r\nbody\r\n", 0, 0 },
	/* 4: a Reply-To before the From: kept, the old From is dropped. */
	{ "Reply-To: r@x\r\nFrom: s@x\r\n\r\nb\r\n",
	  "Reply-To: r@x\r\nFrom: sales@example.com\r\n\r\nb\r\n", 1, 0 },
	/* 5: ... after a folded From, in another case and spacing. */
	{ "From: s@x\r\n more\r\nreply-to : r@x\r\n\r\n",
	  "From: sales@example.com\r\nreply-to : r@x\r\n\r\n", 1, 0 },
	/* 6: From in the body only: untouched. */
	{ "Subject: x\r\n\r\nFrom: body@x\r\n",
	  "Subject: x\r\n\r\nFrom: body@x\r\n", 0, 0 },
	/* 7: From in the header and in the body: only the header's. */
	{ "From: a@x\r\n\r\nFrom: b@x\r\nReply-To: c@x\r\n",
	  "From: sales@example.com\r\nReply-To: a@x\r\n\r\nFrom: b@x\r\n"
	  "Reply-To: c@x\r\n", 1, 1 },
	/* 8: LF line ends stay LF. */
	{ "From: a@x\nTo: b\n\nbody\nFrom: c\n",
	  "From: sales@example.com\nReply-To: a@x\nTo: b\n\nbody\nFrom: c\n",
	  1, 1 },
	/* 9: LF, folded. */
	{ "To: b\nFrom: Name\n <a@x>\n\n.\n",
	  "To: b\nFrom: sales@example.com\nReply-To: Name\n <a@x>\n\n.\n",
	  1, 1 },
	/* 10: the name in any case; white space before the colon. */
	{ "FROM: a@x\r\n\r\n",
	  "From: sales@example.com\r\nReply-To: a@x\r\n\r\n", 1, 1 },
	{ "from  :a@x\r\n\r\n",
	  "From: sales@example.com\r\nReply-To:a@x\r\n\r\n", 1, 1 },
	/* 12: names that only look like From, and an mbox "From " line. */
	{ "From x@y Mon Jan  1 00:00:00 2024\r\nFrom-Name: x\r\n"
	  "Resent-From: y\r\nX-From: z\r\nFromage: q\r\n\r\n",
	  "From x@y Mon Jan  1 00:00:00 2024\r\nFrom-Name: x\r\n"
	  "Resent-From: y\r\nX-From: z\r\nFromage: q\r\n\r\n", 0, 0 },
	/* 13: two From fields: both rewritten, the first one's value moves. */
	{ "From: a@x\r\nTo: t\r\nFrom: b@x\r\n\r\n",
	  "From: sales@example.com\r\nReply-To: a@x\r\nTo: t\r\n"
	  "From: sales@example.com\r\n\r\n", 2, 1 },
	/* 14: an empty From: no empty Reply-To. */
	{ "From:\r\nTo: t\r\n\r\n", "From: sales@example.com\r\nTo: t\r\n\r\n",
	  1, 0 },
	{ "From: \r\n \r\n\r\n", "From: sales@example.com\r\n\r\n", 1, 0 },
	/* 16: no empty line: the whole message is the header section. */
	{ "From: a@x\r\nSubject: s\r\n",
	  "From: sales@example.com\r\nReply-To: a@x\r\nSubject: s\r\n", 1, 1 },
	/* 17: ... and its last field has no line end. */
	{ "Subject: s\r\nFrom: a@x",
	  "Subject: s\r\nFrom: sales@example.com\r\nReply-To: a@x", 1, 1 },
	/* 18: an empty header section: the From after it is body. */
	{ "\r\nFrom: a@x\r\n", "\r\nFrom: a@x\r\n", 0, 0 },
	{ "\nFrom: a@x\n", "\nFrom: a@x\n", 0, 0 },
	/* 20: mixed line ends: the new From line ends like the old one. */
	{ "To: t\r\nFrom: a@x\nCc: c\r\n\r\n",
	  "To: t\r\nFrom: sales@example.com\nReply-To: a@x\nCc: c\r\n\r\n",
	  1, 1 },
	/* 21: a continuation line before any field is left as it is. */
	{ " stray\r\nFrom: a@x\r\n\r\n",
	  " stray\r\nFrom: sales@example.com\r\nReply-To: a@x\r\n\r\n", 1, 1 },
	/* 22: a line of white space is not the empty line. */
	{ "To: t\r\n \r\nFrom: a@x\r\n\r\n",
	  "To: t\r\n \r\nFrom: sales@example.com\r\nReply-To: a@x\r\n\r\n",
	  1, 1 },
	/* 23: a bare CR inside a line is content. */
	{ "From: a\rb@x\r\n\r\nbody\r",
	  "From: sales@example.com\r\nReply-To: a\rb@x\r\n\r\nbody\r", 1, 1 },
	/* 24: nothing at all. */
	{ "", "", 0, 0 },
};
#define N_VEC	(sizeof(vec) / sizeof(vec[0]))

/*
 * Feed in through a rewriter in pieces: the first cut bytes, then chunk
 * bytes at a time, with room bytes of output per call; then finish and
 * drain. Returns the output length in out; the rewriter's flags in *res.
 */
static size_t
t_drive(const char *in, size_t inlen, size_t cut, size_t chunk, size_t room,
    char *out, struct fromrewrite *res)
{
	struct fromrewrite h;
	size_t i = 0, o = 0, n, used, produced, give;

	T_REQUIRE(fromrewrite_init(&h, T_ADDR) == 0);
	while (i < inlen) {
		n = i < cut ? cut - i : chunk;
		if (n > inlen - i)
			n = inlen - i;
		give = room < T_OUT_MAX - o ? room : T_OUT_MAX - o;
		fromrewrite_run(&h, in + i, n, &used, out + o, give, &produced);
		T_REQUIRE(used <= n);
		T_REQUIRE(produced <= give);
		T_REQUIRE(used > 0 || produced > 0);	/* no stall */
		i += used;
		o += produced;
	}
	fromrewrite_finish(&h);
	fromrewrite_finish(&h);		/* twice is once */
	while (fromrewrite_pending(&h)) {
		give = room < T_OUT_MAX - o ? room : T_OUT_MAX - o;
		fromrewrite_run(&h, in + i, 0, &used, out + o, give, &produced);
		T_REQUIRE(used == 0);
		T_REQUIRE(produced > 0);
		o += produced;
	}
	/* Drained: nothing more comes out. */
	fromrewrite_run(&h, in + i, 0, &used, out + o, 16, &produced);
	T_REQUIRE(produced == 0);
	*res = h;
	fromrewrite_free(&h);
	fromrewrite_free(&h);
	return o;
}

static char	t_out[T_OUT_MAX];

static void
t_check(size_t cut, size_t chunk, size_t room)
{
	struct fromrewrite res;
	size_t inlen = strlen(vec[t_vec].in), n;

	t_cut = cut;
	t_room = room;
	n = t_drive(vec[t_vec].in, inlen, cut, chunk, room, t_out, &res);
	if (n != strlen(vec[t_vec].out) ||
	    memcmp(t_out, vec[t_vec].out, n) != 0)
		ck_abort_msg("vector %d (cut %zu chunk %zu room %zu): got "
		    "\"%.*s\"", t_vec, cut, chunk, room, (int)n, t_out);
	T_REQUIRE(res.rewritten == vec[t_vec].rewritten);
	T_REQUIRE(res.reply_to == vec[t_vec].reply_to);
	T_REQUIRE(res.overflow == 0);
}

START_TEST(test_fromrewrite_vectors)
{
	size_t len = strlen(vec[_i].in), cut, room;

	t_vec = _i;
	t_check(0, len + 1, T_OUT_MAX);		/* whole */
	t_check(0, 1, T_OUT_MAX);		/* byte by byte */
	t_check(0, 1, 1);			/* ... one byte out at a time */
	for (cut = 0; cut <= len; cut++)	/* every cut, two pieces */
		for (room = 1; room <= 8; room += 7)
			t_check(cut, len + 1, room);
}
END_TEST

START_TEST(test_fromrewrite_init)
{
	struct fromrewrite h;
	char big[FROMREWRITE_ADDR_MAX + 2];

	ck_assert_int_eq(fromrewrite_init(&h, ""), -1);
	ck_assert_int_eq(fromrewrite_init(&h, "a b@x"), -1);
	ck_assert_int_eq(fromrewrite_init(&h, "a@x\r\nBcc: v@x"), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(fromrewrite_init(&h, big), -1);
	big[FROMREWRITE_ADDR_MAX] = '\0';
	ck_assert_int_eq(fromrewrite_init(&h, big), 0);
	fromrewrite_free(&h);
}
END_TEST

/* How t_big_header's message ends, and what the rewriter makes of it. */
#define T_SENT_TAIL	"From: a@x\r\n\r\nbody\r\n"
#define T_WANT_TAIL	"From: " T_ADDR "\r\nReply-To: a@x\r\n\r\nbody\r\n"

/*
 * A header section of exactly size bytes (padding lines, a From near the
 * end, the empty line), then a body.
 */
static char *
t_big_header(size_t size, size_t *len)
{
	static const char from[] = "From: a@x\r\n\r\n";
	static const char body[] = "body\r\n";
	size_t pad = size - (sizeof(from) - 1), n = 0;
	char *m = malloc(size + sizeof(body));

	ck_assert_ptr_nonnull(m);
	while (pad - n > 2 * (sizeof(T_PAD_LINE) - 1)) {
		memcpy(m + n, T_PAD_LINE, sizeof(T_PAD_LINE) - 1);
		n += sizeof(T_PAD_LINE) - 1;
	}
	/* One last padding field of the exact length left. */
	memcpy(m + n, "X-Fill: ", 8);
	memset(m + n + 8, 'f', pad - n - 10);
	memcpy(m + pad - 2, "\r\n", 2);
	memcpy(m + pad, from, sizeof(from) - 1);
	memcpy(m + size, body, sizeof(body) - 1);
	*len = size + sizeof(body) - 1;
	return m;
}

START_TEST(test_fromrewrite_limit)
{
	struct fromrewrite res;
	size_t len, n, chunk;
	char *m, *out = malloc(T_OUT_MAX);

	ck_assert_ptr_nonnull(out);
	t_vec = -1;
	for (chunk = 1000; chunk <= 100000; chunk *= 100) {
		/* At the limit: rewritten. */
		m = t_big_header(FROMREWRITE_HEADER_MAX, &len);
		n = t_drive(m, len, 0, chunk, 4096, out, &res);
		ck_assert_int_eq(res.overflow, 0);
		ck_assert_uint_eq(res.rewritten, 1);
		ck_assert_uint_eq(n, len + strlen(T_WANT_TAIL) -
		    strlen(T_SENT_TAIL));
		ck_assert(memcmp(out, m, len - strlen(T_SENT_TAIL)) == 0);
		ck_assert(memcmp(out + len - strlen(T_SENT_TAIL), T_WANT_TAIL,
		    strlen(T_WANT_TAIL)) == 0);
		free(m);
		/* One byte over: out unchanged. */
		m = t_big_header(FROMREWRITE_HEADER_MAX + 1, &len);
		n = t_drive(m, len, 0, chunk, 4096, out, &res);
		ck_assert_int_eq(res.overflow, 1);
		ck_assert_uint_eq(res.rewritten, 0);
		ck_assert_uint_eq(n, len);
		ck_assert(memcmp(out, m, len) == 0);
		free(m);
	}
	free(out);
}
END_TEST

Suite *
fromrewrite_suite(void)
{
	Suite *s = suite_create("fromrewrite");
	TCase *tc = tcase_create("fromrewrite");

	tcase_add_loop_test(tc, test_fromrewrite_vectors, 0, N_VEC);
	tcase_add_test(tc, test_fromrewrite_init);
	tcase_add_test(tc, test_fromrewrite_limit);
	suite_add_tcase(s, tc);
	return s;
}
