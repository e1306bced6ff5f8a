/*
 * fuzz_fromrewrite: libFuzzer harness for proxy/fromrewrite. The first two
 * bytes choose the output room per call and seed the input cuts; the rest
 * is message content (what the DATA filter hands on). Checks that no call
 * writes past its room or stalls, that any cut and any room give the same
 * result as one call, that the body after the first empty line comes out
 * byte for byte, that a message without a From field (or an oversized
 * header section) comes out unchanged, and that CRLF-only input gives
 * CRLF-only output.
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *	-D_GNU_SOURCE -I. -o build/fuzz_fromrewrite \
 *	tests/fuzz/fuzz_fromrewrite.c proxy/fromrewrite.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/fromrewrite.h"

#define FUZZ_ADDR	"sales@example.com"
/* Output room per call: 1 up to this. */
#define FUZZ_ROOM_SPAN	64
/* Longest input cut. */
#define FUZZ_CUT_MAX	32
/* Most the output can grow: each From line at most this longer. */
#define FUZZ_GROWTH	(sizeof("From: " FUZZ_ADDR "\r\nReply-To:") + 2)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

struct fuzz_result {
	char		*out;
	size_t		 outlen;
	unsigned	 rewritten;
	int		 overflow;
};

/* xorshift32: cut lengths that follow from the seed. */
static uint32_t
fuzz_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Rewrite in[0..n) in cuts chosen by seed (seed 0: one call), with room
 * bytes of output per call, into r->out (cap bytes).
 */
static void
fuzz_run(const char *in, size_t n, uint32_t seed, size_t room, size_t cap,
    struct fuzz_result *r)
{
	struct fromrewrite h;
	size_t a = 0, cut, used, produced;
	char *out;

	FUZZ_CHECK((out = malloc(room)) != NULL);
	FUZZ_CHECK(fromrewrite_init(&h, FUZZ_ADDR) == 0);
	r->outlen = 0;
	for (;;) {
		if (a == n) {
			fromrewrite_finish(&h);
			if (!fromrewrite_pending(&h))
				break;
		}
		cut = n - a;
		if (seed != 0 && cut > 1)
			cut = 1 + fuzz_rand(&seed) % (cut < FUZZ_CUT_MAX ?
			    cut : FUZZ_CUT_MAX);
		fromrewrite_run(&h, in + a, cut, &used, out, room, &produced);
		FUZZ_CHECK(used <= cut);
		FUZZ_CHECK(produced <= room);
		FUZZ_CHECK(used > 0 || produced > 0);
		FUZZ_CHECK(r->outlen + produced <= cap);
		memcpy(r->out + r->outlen, out, produced);
		r->outlen += produced;
		a += used;
	}
	r->rewritten = h.rewritten;
	r->overflow = h.overflow;
	fromrewrite_free(&h);
	free(out);
}

/* Where the body starts: after the first empty line; n if there is none. */
static size_t
fuzz_body(const char *in, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (in[i] != '\n')
			continue;
		if (i == start || (i == start + 1 && in[start] == '\r'))
			return i + 1;
		start = i + 1;
	}
	return n;
}

/* Every LF is preceded by a CR. */
static int
fuzz_crlf_only(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_result one, cut;
	const char *in;
	size_t n, cap, body;

	if (size < 2)
		return 0;
	in = (const char *)data + 2;
	n = size - 2;
	/* Each line can hold a From field: bound the growth by lines. */
	cap = n + (n / 2 + 1) * FUZZ_GROWTH + 8;
	FUZZ_CHECK((one.out = malloc(cap)) != NULL);
	FUZZ_CHECK((cut.out = malloc(cap)) != NULL);
	fuzz_run(in, n, 0, cap, cap, &one);
	fuzz_run(in, n, data[1] | 1u, 1 + data[0] % FUZZ_ROOM_SPAN, cap, &cut);
	FUZZ_CHECK(one.outlen == cut.outlen);
	FUZZ_CHECK(memcmp(one.out, cut.out, one.outlen) == 0);
	FUZZ_CHECK(one.rewritten == cut.rewritten);

	body = fuzz_body(in, n);
	FUZZ_CHECK(one.outlen >= n - body);
	FUZZ_CHECK(memcmp(one.out + one.outlen - (n - body), in + body,
	    n - body) == 0);
	if (one.rewritten == 0 || one.overflow) {
		FUZZ_CHECK(one.outlen == n);
		FUZZ_CHECK(memcmp(one.out, in, n) == 0);
	}
	if (fuzz_crlf_only(in, n))
		FUZZ_CHECK(fuzz_crlf_only(one.out, one.outlen));
	free(one.out);
	free(cut.out);
	return 0;
}
