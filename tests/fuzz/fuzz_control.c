/*
 * fuzz_control: libFuzzer harness for the control socket's request line,
 * proxy/control control_request_parse. The first byte seeds the cuts in
 * which the rest arrives (as client_read sees successive reads). Checks no
 * crash, leak or UB; that the answer equals the one of the code it
 * replaced (strchr on the NUL-terminated buffer, CR stripped, strcmp with
 * "status" and "reload"); that only "status" and "reload" are ever
 * accepted; and that reading in cuts, stopping at the first answer that is
 * not MORE, gives the answer for all the bytes at once.
 *
 *   make build/fuzz_control && build/fuzz_control tests/fuzz/corpus/control
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/control.h"

/* Longest cut. */
#define FUZZ_CUT_MAX	16

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

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
 * The request check as client_read did it before control_request_parse:
 * at most CONTROL_REQUEST_MAX bytes, NUL-terminated, strchr for the LF.
 */
static int
fuzz_reference(const char *buf, size_t len, char *verb, size_t versize)
{
	char in[CONTROL_REQUEST_MAX + 1], *nl;

	if (len > CONTROL_REQUEST_MAX)
		len = CONTROL_REQUEST_MAX;
	memcpy(in, buf, len);
	in[len] = '\0';
	if ((nl = strchr(in, '\n')) == NULL)
		return len == CONTROL_REQUEST_MAX ? CONTROL_REQUEST_LONG :
		    CONTROL_REQUEST_MORE;
	*nl = '\0';
	if (nl > in && nl[-1] == '\r')
		nl[-1] = '\0';
	if (strcmp(in, "status") != 0 && strcmp(in, "reload") != 0)
		return CONTROL_REQUEST_UNKNOWN;
	FUZZ_CHECK(strlen(in) < versize);
	strcpy(verb, in);
	return CONTROL_REQUEST_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char verb[CONTROL_REQUEST_MAX], refverb[CONTROL_REQUEST_MAX];
	char cutverb[CONTROL_REQUEST_MAX];
	char *buf;
	size_t n, have, cut;
	uint32_t seed;
	int r, ref, c;

	if (size < 1)
		return 0;
	seed = (uint32_t)data[0] << 8 | 1;
	n = size - 1;
	/* Exactly n bytes: ASan sees a read past them. */
	FUZZ_CHECK((buf = malloc(n > 0 ? n : 1)) != NULL);
	memcpy(buf, data + 1, n);

	r = control_request_parse(buf, n, verb, sizeof(verb));
	ref = fuzz_reference(buf, n, refverb, sizeof(refverb));
	FUZZ_CHECK(r == ref);
	if (r == CONTROL_REQUEST_OK) {
		FUZZ_CHECK(strcmp(verb, refverb) == 0);
		FUZZ_CHECK(strcmp(verb, "status") == 0 ||
		    strcmp(verb, "reload") == 0);
	}
	if (r == CONTROL_REQUEST_MORE)
		FUZZ_CHECK(n < CONTROL_REQUEST_MAX);

	/* A verb buffer too small for the verb refuses, never overflows. */
	if (r == CONTROL_REQUEST_OK)
		FUZZ_CHECK(control_request_parse(buf, n, verb,
		    strlen(refverb)) == CONTROL_REQUEST_UNKNOWN);

	/* Successive reads, as client_read: the first answer that is not
	   MORE, or MORE when the bytes run out. */
	have = 0;
	c = CONTROL_REQUEST_MORE;
	while (have < n && c == CONTROL_REQUEST_MORE) {
		cut = 1 + fuzz_rand(&seed) % FUZZ_CUT_MAX;
		if (cut > n - have)
			cut = n - have;
		/* client_read never reads past CONTROL_REQUEST_MAX. */
		if (have + cut > CONTROL_REQUEST_MAX)
			cut = CONTROL_REQUEST_MAX - have;
		have += cut;
		c = control_request_parse(buf, have, cutverb,
		    sizeof(cutverb));
	}
	FUZZ_CHECK(c == r);
	if (c == CONTROL_REQUEST_OK)
		FUZZ_CHECK(strcmp(cutverb, verb) == 0);
	free(buf);
	return 0;
}
