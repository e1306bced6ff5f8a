/*
 * check_datafilter: proxy/datafilter, the DATA stream filter and SMTP
 * smuggling defence. Table-driven vectors (input -> exact output, end flag,
 * bytes consumed, content count), the same vectors fed in every split and
 * with the smallest output room, and an exhaustive comparison with a
 * line-based model of the rules over every short string of CR, LF, "." and
 * a letter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/datafilter.h"
#include "tests/unit/suites.h"

/* Room for the output of any vector (at most 4 bytes out per byte in). */
#define T_DF_OUT	256
/* Exhaustive test: every string up to this long over T_DF_ALPHABET. */
#define T_DF_EXH_LEN	7
#define T_DF_ALPHABET	"\r\n.a"
/* Room for an exhaustive input plus terminator and a trailing command. */
#define T_DF_EXH_IN	(T_DF_EXH_LEN + 8)
#define T_DF_EXH_OUT	(4 * T_DF_EXH_IN + 8)
/* A line far longer than any line buffer. */
#define T_DF_LONG	100000

#define T_ALL	((size_t)-1)	/* used: the whole input */

/*
 * An assertion for the hot loops: Check's ck_assert records every passing
 * check too, which makes the exhaustive test crawl under valgrind.
 */
#define T_REQUIRE(cond) do {						\
	if (!(cond))							\
		ck_abort_msg("%s (input \"%s\")", #cond, t_esc);	\
} while (0)

/* The input under test, escaped, for failure messages. */
static char	t_esc[4 * 64 + 1];

static const struct {
	const char	*in;
	size_t		 inlen;		/* 0: strlen(in) */
	const char	*out;
	size_t		 outlen;	/* 0: strlen(out) */
	int		 end;
	size_t		 used;		/* T_ALL: inlen */
	unsigned long long content;
} df_vectors[] = {
	/* 0: a plain message. */
	{ "Subject: hi\r\n\r\nbody\r\n.\r\n", 0,
	    "Subject: hi\r\n\r\nbody\r\n.\r\n", 0, 1, T_ALL, 21 },
	/* 1: the empty message: DATA's line end counts as the CRLF. */
	{ ".\r\n", 0, ".\r\n", 0, 1, T_ALL, 0 },
	/* 2: an empty line, then the end. */
	{ "\r\n.\r\n", 0, "\r\n.\r\n", 0, 1, T_ALL, 2 },
	/* 3: no end yet. */
	{ "abc\r\n", 0, "abc\r\n", 0, 0, T_ALL, 5 },
	{ "", 0, "", 0, 0, T_ALL, 0 },
	/* 5: dot-stuffing undone and redone. */
	{ "..\r\n.\r\n", 0, "..\r\n.\r\n", 0, 1, T_ALL, 3 },
	{ "..x\r\n.\r\n", 0, "..x\r\n.\r\n", 0, 1, T_ALL, 4 },
	{ "...\r\n.\r\n", 0, "...\r\n.\r\n", 0, 1, T_ALL, 4 },
	/* 8: a client that forgot to stuff: ".x" is taken as stuffed. */
	{ ".x\r\n.\r\n", 0, "x\r\n.\r\n", 0, 1, T_ALL, 3 },
	{ ". \r\n.\r\n", 0, " \r\n.\r\n", 0, 1, T_ALL, 3 },
	/* 10: a dot inside a line is not stuffing. */
	{ "x.\r\nx..\r\n.\r\n", 0, "x.\r\nx..\r\n.\r\n", 0, 1, T_ALL, 9 },
	/* 11: bytes after the end are the next command: not consumed. */
	{ "a\r\n.\r\nMAIL FROM:<x@y>\r\n", 0, "a\r\n.\r\n", 0, 1, 6, 3 },
	{ ".\r\nQUIT\r\n", 0, ".\r\n", 0, 1, 3, 0 },
	{ "a\r\n.\r\n.\r\n", 0, "a\r\n.\r\n", 0, 1, 6, 3 },
	/* 14: smuggling shapes: never the end, the dot is content. */
	{ "\n.\n", 0, "\r\n..\r\n", 0, 0, T_ALL, 5 },
	{ "\r\n.\n", 0, "\r\n..\r\n", 0, 0, T_ALL, 5 },
	{ "\n.\r\n", 0, "\r\n..\r\n", 0, 0, T_ALL, 5 },
	{ "\r.\r\n", 0, " .\r\n", 0, 0, T_ALL, 4 },
	{ "a\r.\r\n", 0, "a .\r\n", 0, 0, T_ALL, 5 },
	{ "a\r\n.\r", 0, "a\r\n", 0, 0, T_ALL, 3 },
	{ ".\n", 0, "..\r\n", 0, 0, T_ALL, 3 },
	{ ".\r.\r\n", 0, " .\r\n", 0, 0, T_ALL, 4 },
	/* 22: ... and what follows them. */
	{ "a\n.\nb\r\n.\r\n", 0, "a\r\n..\r\nb\r\n.\r\n", 0, 1, T_ALL, 9 },
	{ "a\n.\r\n.\r\n", 0, "a\r\n..\r\n.\r\n", 0, 1, T_ALL, 6 },
	{ "a\r\n.\nX\r\n.\r\n", 0, "a\r\n..\r\nX\r\n.\r\n", 0, 1, T_ALL, 9 },
	{ ".\n.\r\n.\r\n", 0, "..\r\n..\r\n.\r\n", 0, 1, T_ALL, 6 },
	{ "a\n\n.\r\n", 0, "a\r\n\r\n..\r\n", 0, 0, T_ALL, 8 },
	{ "a\r\n\n.\r\n", 0, "a\r\n\r\n..\r\n", 0, 0, T_ALL, 8 },
	{ "a\n..\n", 0, "a\r\n..\r\n", 0, 0, T_ALL, 6 },
	{ "a\r\n\r.\r\n.\r\n", 0, "a\r\n .\r\n.\r\n", 0, 1, T_ALL, 7 },
	/* 30: bare CR is a space. */
	{ "a\rb\r\n", 0, "a b\r\n", 0, 0, T_ALL, 5 },
	{ "a\r\r\n", 0, "a \r\n", 0, 0, T_ALL, 4 },
	{ "a\r\r\rb", 0, "a   b", 0, 0, T_ALL, 5 },
	{ "\r\r\n.\r\n", 0, " \r\n.\r\n", 0, 1, T_ALL, 3 },
	{ ".\rx\r\n.\r\n", 0, " x\r\n.\r\n", 0, 1, T_ALL, 4 },
	{ ".\r\r\n.\r\n", 0, " \r\n.\r\n", 0, 1, T_ALL, 3 },
	{ "a\r", 0, "a", 0, 0, T_ALL, 1 },
	/* 37: bare LF is a line end. */
	{ "a\nb\n", 0, "a\r\nb\r\n", 0, 0, T_ALL, 6 },
	{ "\n\n", 0, "\r\n\r\n", 0, 0, T_ALL, 4 },
	{ "a\nb\r\n.\r\n", 0, "a\r\nb\r\n.\r\n", 0, 1, T_ALL, 6 },
	/* 40: NUL and 8-bit bytes pass. */
	{ "a\0b\r\n.\r\n", 8, "a\0b\r\n.\r\n", 8, 1, T_ALL, 5 },
	{ "\xff\x80\r\n.\r\n", 0, "\xff\x80\r\n.\r\n", 0, 1, T_ALL, 4 },
	{ "\0.\r\n", 4, "\0.\r\n", 4, 0, T_ALL, 4 },
	/* 43: a held dot or CR at the end of the input is not yet output. */
	{ "a\r\n.", 0, "a\r\n", 0, 0, T_ALL, 3 },
	{ "a\r\n..", 0, "a\r\n..", 0, 0, T_ALL, 4 },
};
#define N_DF_VECTORS	(sizeof(df_vectors) / sizeof(df_vectors[0]))

/* Set t_esc to in, C-escaped. */
static void
t_escape(const char *in, size_t inlen)
{
	size_t i, n = 0;

	for (i = 0; i < inlen && n + 4 < sizeof(t_esc); i++) {
		if (in[i] == '\r')
			n += (size_t)snprintf(t_esc + n, sizeof(t_esc) - n, "\\r");
		else if (in[i] == '\n')
			n += (size_t)snprintf(t_esc + n, sizeof(t_esc) - n, "\\n");
		else
			t_esc[n++] = in[i];
	}
	t_esc[n] = '\0';
}

struct t_run {
	char		 out[T_DF_EXH_OUT > T_DF_OUT ? T_DF_EXH_OUT : T_DF_OUT];
	size_t		 outlen;
	size_t		 used;
	int		 end;
	unsigned long long content;
};

/*
 * Feed in[0..inlen) cut at cuts[0..ncuts) (ascending), giving each call at
 * most room bytes of output in a buffer of exactly that size, and collect
 * the result. Fails the test if a call overflows or makes no progress.
 */
static void
t_feed(const char *in, size_t inlen, const size_t *cuts, size_t ncuts,
    size_t room, struct t_run *r)
{
	struct datafilter df;
	size_t a, b, c, used, produced;
	char *out;

	t_escape(in, inlen);
	datafilter_init(&df);
	memset(r, 0, sizeof(*r));
	/* Heap-allocated to the byte, so ASan/valgrind see any overrun. */
	out = malloc(room);
	T_REQUIRE(out != NULL);
	for (a = 0, c = 0; c <= ncuts && !r->end; c++) {
		b = c < ncuts ? cuts[c] : inlen;
		while (a < b && !r->end) {
			r->end = datafilter_run(&df, in + a, b - a, &used, out,
			    room, &produced);
			T_REQUIRE(used <= b - a);
			T_REQUIRE(produced <= room);
			T_REQUIRE(r->outlen + produced <= sizeof(r->out));
			/* Never stuck with room and input left. */
			T_REQUIRE(used > 0 || r->end);
			memcpy(r->out + r->outlen, out, produced);
			r->outlen += produced;
			a += used;
		}
	}
	r->used = a;
	r->content = df.content;
	free(out);
}

static void
t_check_vector(int i, const struct t_run *r)
{
	size_t inlen = df_vectors[i].inlen ? df_vectors[i].inlen :
	    strlen(df_vectors[i].in);
	size_t outlen = df_vectors[i].outlen ? df_vectors[i].outlen :
	    strlen(df_vectors[i].out);

	ck_assert_int_eq(r->end, df_vectors[i].end);
	ck_assert_uint_eq(r->used, df_vectors[i].used == T_ALL ? inlen :
	    df_vectors[i].used);
	ck_assert_uint_eq(r->outlen, outlen);
	ck_assert_mem_eq(r->out, df_vectors[i].out, outlen);
	ck_assert_uint_eq(r->content, df_vectors[i].content);
}

static size_t
t_inlen(int i)
{
	return df_vectors[i].inlen ? df_vectors[i].inlen :
	    strlen(df_vectors[i].in);
}

/* The whole input in one call. */
START_TEST(test_df_vectors)
{
	struct t_run r;

	t_feed(df_vectors[_i].in, t_inlen(_i), NULL, 0, T_DF_OUT, &r);
	t_check_vector(_i, &r);
}
END_TEST

/* One byte per call. */
START_TEST(test_df_bytewise)
{
	size_t cuts[T_DF_OUT], n = t_inlen(_i), k;
	struct t_run r;

	for (k = 1; k < n; k++)
		cuts[k - 1] = k;
	t_feed(df_vectors[_i].in, n, cuts, n > 0 ? n - 1 : 0, T_DF_OUT, &r);
	t_check_vector(_i, &r);
}
END_TEST

/* Every cut into two calls. */
START_TEST(test_df_splits)
{
	size_t n = t_inlen(_i), k;
	struct t_run r;

	for (k = 0; k <= n; k++) {
		t_feed(df_vectors[_i].in, n, &k, 1, T_DF_OUT, &r);
		t_check_vector(_i, &r);
	}
}
END_TEST

/* The least output room that makes progress, whole input and bytewise. */
START_TEST(test_df_small_room)
{
	size_t cuts[T_DF_OUT], n = t_inlen(_i), k;
	struct t_run r;

	t_feed(df_vectors[_i].in, n, NULL, 0, DATAFILTER_EXPANSION, &r);
	t_check_vector(_i, &r);
	t_feed(df_vectors[_i].in, n, NULL, 0, DATAFILTER_EXPANSION + 1, &r);
	t_check_vector(_i, &r);
	for (k = 1; k < n; k++)
		cuts[k - 1] = k;
	t_feed(df_vectors[_i].in, n, cuts, n > 0 ? n - 1 : 0,
	    DATAFILTER_EXPANSION, &r);
	t_check_vector(_i, &r);
}
END_TEST

/* Less room than DATAFILTER_EXPANSION: nothing consumed, nothing written. */
START_TEST(test_df_no_room)
{
	struct datafilter df;
	char out[DATAFILTER_EXPANSION + 4];
	size_t used, produced, room, i;

	for (room = 0; room < DATAFILTER_EXPANSION; room++) {
		datafilter_init(&df);
		memset(out, 'Z', sizeof(out));
		used = produced = 99;
		ck_assert_int_eq(datafilter_run(&df, "abc\r\n", 5, &used, out,
		    room, &produced), 0);
		ck_assert_uint_eq(used, 0);
		ck_assert_uint_eq(produced, 0);
		for (i = 0; i < sizeof(out); i++)
			ck_assert_int_eq(out[i], 'Z');
	}

	/* Exactly DATAFILTER_EXPANSION: a byte at a time. */
	datafilter_init(&df);
	memset(out, 'Z', sizeof(out));
	ck_assert_int_eq(datafilter_run(&df, "abc\r\n", 5, &used, out,
	    DATAFILTER_EXPANSION, &produced), 0);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(produced, 1);
	ck_assert_int_eq(out[0], 'a');
	for (i = DATAFILTER_EXPANSION; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 'Z');

	/* Empty input: nothing to do. */
	ck_assert_int_eq(datafilter_run(&df, "", 0, &used, out, sizeof(out),
	    &produced), 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(produced, 0);
}
END_TEST

/* After the end nothing more is consumed, until datafilter_init. */
START_TEST(test_df_after_end)
{
	struct datafilter df;
	char out[T_DF_OUT];
	size_t used, produced;

	datafilter_init(&df);
	ck_assert_int_eq(datafilter_run(&df, "x\r\n.\r\nQUIT\r\n", 12, &used,
	    out, sizeof(out), &produced), 1);
	ck_assert_uint_eq(used, 6);
	ck_assert_uint_eq(produced, 6);
	ck_assert_int_eq(datafilter_run(&df, "QUIT\r\n", 6, &used, out,
	    sizeof(out), &produced), 1);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(produced, 0);

	/* A new message starts after a real CRLF again. */
	datafilter_init(&df);
	ck_assert_uint_eq(df.content, 0);
	ck_assert_int_eq(datafilter_run(&df, ".\r\n", 3, &used, out,
	    sizeof(out), &produced), 1);
	ck_assert_uint_eq(used, 3);
	ck_assert_mem_eq(out, ".\r\n", 3);
}
END_TEST

/* No line length limit: a 100 kB line streams through a small buffer. */
START_TEST(test_df_long_line)
{
	char *in = malloc(T_DF_LONG + 5);
	struct datafilter df;
	char out[64];
	size_t a, used, produced, total = 0;
	int end = 0;

	ck_assert_ptr_nonnull(in);
	t_escape("a...", 4);
	memset(in, 'a', T_DF_LONG);
	memcpy(in + T_DF_LONG, "\r\n.\r\n", 5);
	datafilter_init(&df);
	for (a = 0; a < T_DF_LONG + 5 && !end; a += used) {
		end = datafilter_run(&df, in + a, T_DF_LONG + 5 - a, &used, out,
		    sizeof(out), &produced);
		T_REQUIRE(produced <= sizeof(out));
		T_REQUIRE(used > 0);
		total += produced;
	}
	ck_assert_int_eq(end, 1);
	ck_assert_uint_eq(a, T_DF_LONG + 5);
	ck_assert_uint_eq(total, T_DF_LONG + 5);
	ck_assert_uint_eq(df.content, T_DF_LONG + 2);
	free(in);
}
END_TEST

/*
 * The rules as a line-based model, for inputs that end: cut "\r\n" + in at
 * the first "\r\n.\r\n"; split what is before into lines at LF, a CR just
 * before the LF being part of the line end; other CRs become spaces; a line
 * "." followed by more loses its dot; a line starting with "." gains one.
 */
static void
t_model(const char *in, size_t inlen, struct t_run *r)
{
	char s[T_DF_EXH_IN + 2], line[T_DF_EXH_IN];
	const char *t;
	size_t body, start, i, j, len;

	memset(r, 0, sizeof(*r));
	memcpy(s, "\r\n", 2);
	memcpy(s + 2, in, inlen);
	t = memmem(s, inlen + 2, "\r\n.\r\n", 5);
	T_REQUIRE(t != NULL);
	/* in[0..body) is the body: empty, or ending in CRLF. */
	body = (size_t)(t - s);
	r->end = 1;
	r->used = body + 3;
	for (start = 0; start < body; start = i + 1) {
		for (i = start; in[i] != '\n'; i++)
			;
		len = i - start;
		if (len > 0 && in[i - 1] == '\r')
			len--;
		memcpy(line, in + start, len);
		for (j = 0; j < len; j++)
			if (line[j] == '\r')
				line[j] = ' ';
		if (len > 1 && line[0] == '.') {
			memmove(line, line + 1, len - 1);
			len--;
		}
		if (len > 0 && line[0] == '.')
			r->out[r->outlen++] = '.';
		memcpy(r->out + r->outlen, line, len);
		r->outlen += len;
		memcpy(r->out + r->outlen, "\r\n", 2);
		r->outlen += 2;
		r->content += len + 2;
	}
	memcpy(r->out + r->outlen, ".\r\n", 3);
	r->outlen += 3;
}

/* What must hold of any output: CRLF only, and no end but the last. */
static void
t_check_output(const struct t_run *r)
{
	size_t i;

	for (i = 0; i < r->outlen; i++) {
		if (r->out[i] == '\r')
			T_REQUIRE(i + 1 < r->outlen && r->out[i + 1] == '\n');
		if (r->out[i] == '\n')
			T_REQUIRE(i > 0 && r->out[i - 1] == '\r');
	}
	/* DATA's CRLF precedes the output. */
	if (r->outlen >= 3 && memcmp(r->out, ".\r\n", 3) == 0)
		T_REQUIRE(r->end && r->outlen == 3);
	for (i = 0; i + 5 <= r->outlen; i++)
		if (memcmp(r->out + i, "\r\n.\r\n", 5) == 0)
			T_REQUIRE(r->end && i + 5 == r->outlen);
	if (r->end)
		T_REQUIRE(r->outlen >= 3 &&
		    memcmp(r->out + r->outlen - 3, ".\r\n", 3) == 0);
}

static void
t_exhaustive(const char *in, size_t inlen)
{
	char s[T_DF_EXH_IN + 2];
	size_t cuts[T_DF_EXH_IN], k;
	struct t_run whole, r, model;
	int ends;

	/* It ends iff "\r\n" + in holds CRLF "." CRLF. */
	memcpy(s, "\r\n", 2);
	memcpy(s + 2, in, inlen);
	ends = memmem(s, inlen + 2, "\r\n.\r\n", 5) != NULL;

	t_feed(in, inlen, NULL, 0, T_DF_EXH_OUT, &whole);
	t_check_output(&whole);
	T_REQUIRE(whole.end == ends);
	if (ends) {
		t_model(in, inlen, &model);
		T_REQUIRE(whole.used == model.used);
		T_REQUIRE(whole.outlen == model.outlen &&
		    memcmp(whole.out, model.out, model.outlen) == 0);
		T_REQUIRE(whole.content == model.content);
	}

	for (k = 1; k < inlen; k++)
		cuts[k - 1] = k;
	t_feed(in, inlen, cuts, inlen > 0 ? inlen - 1 : 0,
	    DATAFILTER_EXPANSION, &r);
	T_REQUIRE(r.end == whole.end);
	T_REQUIRE(r.used == whole.used);
	T_REQUIRE(r.outlen == whole.outlen &&
	    memcmp(r.out, whole.out, whole.outlen) == 0);
	T_REQUIRE(r.content == whole.content);
}

/*
 * Every string of up to T_DF_EXH_LEN bytes from T_DF_ALPHABET: alone (the
 * invariants), and followed by a terminator and a command (against the
 * model, whole and bytewise).
 */
START_TEST(test_df_exhaustive)
{
	static const char alpha[] = T_DF_ALPHABET;
	char in[T_DF_EXH_IN];
	size_t len, i, digits[T_DF_EXH_LEN];

	for (len = 0; len <= T_DF_EXH_LEN; len++) {
		memset(digits, 0, sizeof(digits));
		for (;;) {
			for (i = 0; i < len; i++)
				in[i] = alpha[digits[i]];
			t_exhaustive(in, len);
			memcpy(in + len, "\r\n.\r\nQ", 6);
			t_exhaustive(in, len + 6);
			for (i = 0; i < len; i++) {
				if (++digits[i] < sizeof(alpha) - 1)
					break;
				digits[i] = 0;
			}
			if (i == len)
				break;
		}
	}
}
END_TEST

Suite *
datafilter_suite(void)
{
	Suite *s = suite_create("datafilter");
	TCase *tc = tcase_create("datafilter");

	tcase_add_loop_test(tc, test_df_vectors, 0, N_DF_VECTORS);
	tcase_add_loop_test(tc, test_df_bytewise, 0, N_DF_VECTORS);
	tcase_add_loop_test(tc, test_df_splits, 0, N_DF_VECTORS);
	tcase_add_loop_test(tc, test_df_small_room, 0, N_DF_VECTORS);
	tcase_add_test(tc, test_df_no_room);
	tcase_add_test(tc, test_df_after_end);
	tcase_add_test(tc, test_df_long_line);
	tcase_add_test(tc, test_df_exhaustive);
	suite_add_tcase(s, tc);
	return s;
}
