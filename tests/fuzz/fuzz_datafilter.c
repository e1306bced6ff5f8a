/*
 * fuzz_datafilter: libFuzzer harness for proxy/datafilter. The first two
 * bytes choose the output room per call and seed the input cuts; the rest
 * is the DATA stream. Checks that no call writes past its room or stalls,
 * that any cut and any room give the same result as one call, that the end
 * is found exactly where "\r\n" + input first holds CRLF "." CRLF, and that
 * the output has only CRLF line ends and no "\r\n.\r\n" before its end.
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *	-D_GNU_SOURCE -I. -o build/fuzz_datafilter \
 *	tests/fuzz/fuzz_datafilter.c proxy/datafilter.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/datafilter.h"

/* Output room per call: DATAFILTER_EXPANSION up to this much more. */
#define FUZZ_ROOM_SPAN	64
/* Longest input cut. */
#define FUZZ_CUT_MAX	32
/* Worst-case output per input byte, and the final ".\r\n". */
#define FUZZ_OUT_PER_IN	4
#define FUZZ_OUT_EXTRA	8

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

struct fuzz_result {
	char			*out;
	size_t			 outlen;
	size_t			 used;
	int			 end;
	unsigned long long	 content;
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
 * Filter in[0..n) in cuts chosen by seed (seed 0: one call), with room
 * bytes of output per call, into r->out (FUZZ_OUT_PER_IN * n +
 * FUZZ_OUT_EXTRA bytes).
 */
static void
fuzz_run(const char *in, size_t n, uint32_t seed, size_t room,
    struct fuzz_result *r)
{
	struct datafilter df;
	size_t a = 0, cut, used, produced;
	char *out;

	FUZZ_CHECK((out = malloc(room)) != NULL);
	datafilter_init(&df);
	r->outlen = 0;
	r->end = 0;
	while (a < n && !r->end) {
		cut = n - a;
		if (seed != 0 && cut > 1)
			cut = 1 + fuzz_rand(&seed) % (cut < FUZZ_CUT_MAX ?
			    cut : FUZZ_CUT_MAX);
		r->end = datafilter_run(&df, in + a, cut, &used, out, room,
		    &produced);
		FUZZ_CHECK(used <= cut);
		FUZZ_CHECK(produced <= room);
		FUZZ_CHECK(used > 0 || r->end);
		FUZZ_CHECK(r->outlen + produced <= FUZZ_OUT_PER_IN * n +
		    FUZZ_OUT_EXTRA);
		memcpy(r->out + r->outlen, out, produced);
		r->outlen += produced;
		a += used;
	}
	r->used = a;
	r->content = df.content;
	free(out);
}

/* CRLF line ends only, and no end of message but the last bytes. */
static void
fuzz_check_output(const struct fuzz_result *r)
{
	size_t i;

	for (i = 0; i < r->outlen; i++) {
		if (r->out[i] == '\r')
			FUZZ_CHECK(i + 1 < r->outlen && r->out[i + 1] == '\n');
		if (r->out[i] == '\n')
			FUZZ_CHECK(i > 0 && r->out[i - 1] == '\r');
	}
	/* The DATA command's CRLF comes before the first byte. */
	if (r->outlen >= 3 && memcmp(r->out, ".\r\n", 3) == 0)
		FUZZ_CHECK(r->end && r->outlen == 3);
	for (i = 0; i + 5 <= r->outlen; i++)
		if (memcmp(r->out + i, "\r\n.\r\n", 5) == 0)
			FUZZ_CHECK(r->end && i + 5 == r->outlen);
	if (r->end)
		FUZZ_CHECK(r->outlen >= 3 &&
		    memcmp(r->out + r->outlen - 3, ".\r\n", 3) == 0);
	/* Stuffing dots and the terminator are the only bytes not counted. */
	FUZZ_CHECK(r->content <= r->outlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_result one, cut;
	const char *in, *end;
	char *crlfin;
	size_t n, room, outmax;
	uint32_t seed;

	if (size < 2)
		return 0;
	room = DATAFILTER_EXPANSION + data[0] % FUZZ_ROOM_SPAN;
	seed = (uint32_t)data[1] << 8 | data[0] | 1;
	in = (const char *)data + 2;
	n = size - 2;
	outmax = FUZZ_OUT_PER_IN * n + FUZZ_OUT_EXTRA;

	FUZZ_CHECK((one.out = malloc(outmax)) != NULL);
	FUZZ_CHECK((cut.out = malloc(outmax)) != NULL);
	FUZZ_CHECK((crlfin = malloc(n + 2)) != NULL);

	fuzz_run(in, n, 0, outmax, &one);
	fuzz_check_output(&one);

	/* The end is the first CRLF "." CRLF, counting DATA's CRLF. */
	memcpy(crlfin, "\r\n", 2);
	memcpy(crlfin + 2, in, n);
	end = memmem(crlfin, n + 2, "\r\n.\r\n", 5);
	FUZZ_CHECK(one.end == (end != NULL));
	if (end != NULL)
		FUZZ_CHECK(one.used == (size_t)(end - crlfin) + 3);
	else
		FUZZ_CHECK(one.used == n);

	fuzz_run(in, n, seed, room, &cut);
	FUZZ_CHECK(cut.end == one.end);
	FUZZ_CHECK(cut.used == one.used);
	FUZZ_CHECK(cut.content == one.content);
	FUZZ_CHECK(cut.outlen == one.outlen);
	FUZZ_CHECK(memcmp(cut.out, one.out, one.outlen) == 0);

	free(crlfin);
	free(cut.out);
	free(one.out);
	return 0;
}
