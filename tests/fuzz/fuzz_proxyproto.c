/*
 * fuzz_proxyproto: libFuzzer harness for proxy/proxyproto, the PROXY
 * protocol header parser. Parses every prefix of the input (each copied to
 * a buffer of its exact size, so ASan sees any read past len) and checks
 * the promises of the header: NEED_MORE only below PROXYPROTO_MAX bytes
 * and with nothing set; once a prefix gives DONE or ERROR, every longer
 * one gives the same answer, consumed, header and reason (so byte-by-byte
 * feeding equals all at once, and the client's bytes after the header are
 * never looked at); DONE consumes a whole v1 line or v2 header and no
 * more; an accepted address written back as a v1 line and as a v2 header
 * parses to the same thing.
 *
 * make build/fuzz_proxyproto builds it; it needs only proxy/proxyproto.c:
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *	-D_GNU_SOURCE -I. -o build/fuzz_proxyproto \
 *	tests/fuzz/fuzz_proxyproto.c proxy/proxyproto.c
 *   build/fuzz_proxyproto -max_total_time=60 tests/fuzz/corpus/proxyproto
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/proxyproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

#define FUZZ_V2SIG	"\r\n\r\n\0\r\nQUIT\n"
#define FUZZ_V2SIGLEN	12

struct fuzz_answer {
	enum proxyproto_result	r;
	struct proxyproto_hdr	h;
	size_t			consumed;
	char			err[PROXYPROTO_ERR_MAX];
};

static void
fuzz_parse(const unsigned char *data, size_t len, struct fuzz_answer *a)
{
	unsigned char *copy = malloc(len > 0 ? len : 1);

	FUZZ_CHECK(copy != NULL);
	if (len > 0)
		memcpy(copy, data, len);
	memset(a, 0x5a, sizeof(*a));
	a->r = proxyproto_parse(copy, len, &a->h, &a->consumed, a->err,
	    sizeof(a->err));
	free(copy);
}

static int
fuzz_same(const struct fuzz_answer *a, const struct fuzz_answer *b)
{
	return a->r == b->r && a->consumed == b->consumed &&
	    memcmp(&a->h, &b->h, sizeof(a->h)) == 0 &&
	    strcmp(a->err, b->err) == 0;
}

static int
fuzz_zero(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != 0)
			return 0;
	return 1;
}

/* The address as text and the port, host order. */
static unsigned
fuzz_sa(const struct sockaddr_storage *ss, char *text, unsigned char *raw)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		FUZZ_CHECK(inet_ntop(AF_INET, &a4->sin_addr, text,
		    INET6_ADDRSTRLEN) != NULL);
		memcpy(raw, &a4->sin_addr, 4);
		return ntohs(a4->sin_port);
	}
	FUZZ_CHECK(inet_ntop(AF_INET6, &a6->sin6_addr, text,
	    INET6_ADDRSTRLEN) != NULL);
	memcpy(raw, &a6->sin6_addr, 16);
	return ntohs(a6->sin6_port);
}

/*
 * h written back as a v1 line and a v2 header parses to h. A v1 TCP4 line
 * has one spelling (no leading zeros), so it is the line that came in;
 * a TCP6 one at least ends with the same ports.
 */
static void
fuzz_roundtrip(const struct proxyproto_hdr *h, const unsigned char *data,
    size_t consumed)
{
	char tail[sizeof(" 65535 65535\r\n")];
	size_t tlen;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	unsigned char sraw[16], draw[16], v2[PROXYPROTO_V2_HDR + 36];
	char v1[PROXYPROTO_V1_MAX + 1];
	struct fuzz_answer a;
	unsigned sport, dport;
	size_t alen, n;
	int six = h->src.ss_family == AF_INET6;

	sport = fuzz_sa(&h->src, s, sraw);
	dport = fuzz_sa(&h->dst, d, draw);
	alen = six ? 16 : 4;

	n = (size_t)snprintf(v1, sizeof(v1), "PROXY %s %s %s %u %u\r\n",
	    six ? "TCP6" : "TCP4", s, d, sport, dport);
	/* v4-mapped IPv6 text can run past the v1 limit; then skip it. */
	if (n < sizeof(v1)) {
		fuzz_parse((const unsigned char *)v1, n, &a);
		FUZZ_CHECK(a.r == PROXYPROTO_DONE && a.consumed == n);
		FUZZ_CHECK(a.h.version == 1);
		FUZZ_CHECK(memcmp(&a.h.src, &h->src, sizeof(h->src)) == 0);
		FUZZ_CHECK(memcmp(&a.h.dst, &h->dst, sizeof(h->dst)) == 0);
	}
	if (h->version == 1 && !six)
		FUZZ_CHECK(n == consumed && memcmp(data, v1, n) == 0);
	if (h->version == 1) {
		tlen = (size_t)snprintf(tail, sizeof(tail), " %u %u\r\n",
		    sport, dport);
		FUZZ_CHECK(tlen < sizeof(tail) && consumed > tlen &&
		    memcmp(data + consumed - tlen, tail, tlen) == 0);
	}

	memcpy(v2, FUZZ_V2SIG, FUZZ_V2SIGLEN);
	v2[12] = 0x21;
	v2[13] = six ? 0x21 : 0x11;
	v2[14] = 0;
	v2[15] = (unsigned char)(2 * alen + 4);
	memcpy(v2 + 16, sraw, alen);
	memcpy(v2 + 16 + alen, draw, alen);
	v2[16 + 2 * alen] = (unsigned char)(sport >> 8);
	v2[17 + 2 * alen] = (unsigned char)sport;
	v2[18 + 2 * alen] = (unsigned char)(dport >> 8);
	v2[19 + 2 * alen] = (unsigned char)dport;
	n = PROXYPROTO_V2_HDR + 2 * alen + 4;
	fuzz_parse(v2, n, &a);
	FUZZ_CHECK(a.r == PROXYPROTO_DONE && a.consumed == n);
	FUZZ_CHECK(a.h.version == 2);
	FUZZ_CHECK(memcmp(&a.h.src, &h->src, sizeof(h->src)) == 0);
	FUZZ_CHECK(memcmp(&a.h.dst, &h->dst, sizeof(h->dst)) == 0);
}

/* What one answer promises on its own. */
static void
fuzz_answer_ok(const unsigned char *data, size_t len,
    const struct fuzz_answer *a)
{
	const struct proxyproto_hdr *h = &a->h;

	FUZZ_CHECK(memchr(a->err, '\0', sizeof(a->err)) != NULL);
	switch (a->r) {
	case PROXYPROTO_NEED_MORE:
		FUZZ_CHECK(len < PROXYPROTO_MAX);
		/* FALLTHROUGH */
	case PROXYPROTO_ERROR:
		FUZZ_CHECK(a->consumed == 0 && fuzz_zero(h, sizeof(*h)));
		FUZZ_CHECK((a->r == PROXYPROTO_ERROR) == (a->err[0] != '\0'));
		return;
	case PROXYPROTO_DONE:
		break;
	default:
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(a->err[0] == '\0');
	FUZZ_CHECK(a->consumed > 0 && a->consumed <= len &&
	    a->consumed <= PROXYPROTO_MAX);
	if (h->version == 1) {
		FUZZ_CHECK(a->consumed <= PROXYPROTO_V1_MAX);
		FUZZ_CHECK(memcmp(data, "PROXY ", 6) == 0);
		FUZZ_CHECK(memcmp(data + a->consumed - 2, "\r\n", 2) == 0);
		FUZZ_CHECK(memchr(data, '\n', a->consumed - 1) == NULL);
		FUZZ_CHECK(memchr(data, '\r', a->consumed - 2) == NULL);
	} else {
		FUZZ_CHECK(h->version == 2);
		FUZZ_CHECK(a->consumed >= PROXYPROTO_V2_HDR);
		FUZZ_CHECK(memcmp(data, FUZZ_V2SIG, FUZZ_V2SIGLEN) == 0);
		FUZZ_CHECK(a->consumed == PROXYPROTO_V2_HDR +
		    ((size_t)data[14] << 8 | data[15]));
	}
	if (h->local) {
		FUZZ_CHECK(h->local == 1);
		FUZZ_CHECK(fuzz_zero(&h->src, sizeof(h->src)));
		FUZZ_CHECK(fuzz_zero(&h->dst, sizeof(h->dst)));
		return;
	}
	FUZZ_CHECK(h->src.ss_family == AF_INET ||
	    h->src.ss_family == AF_INET6);
	FUZZ_CHECK(h->dst.ss_family == h->src.ss_family);
	fuzz_roundtrip(h, data, a->consumed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_answer a, first, full;
	size_t k, top = size < PROXYPROTO_MAX ? size : PROXYPROTO_MAX;
	int decided = 0;

	/* Nothing past PROXYPROTO_MAX bytes changes the answer. */
	fuzz_parse(data, size, &full);
	fuzz_answer_ok(data, size, &full);

	for (k = 0; k <= top; k++) {
		fuzz_parse(data, k, &a);
		fuzz_answer_ok(data, k, &a);
		if (decided) {
			/* Once DONE or ERROR, always the same answer. */
			FUZZ_CHECK(fuzz_same(&a, &first));
			continue;
		}
		if (a.r == PROXYPROTO_NEED_MORE)
			continue;
		decided = 1;
		first = a;
		/* DONE on the very last byte of the header, not later. */
		if (a.r == PROXYPROTO_DONE)
			FUZZ_CHECK(a.consumed == k);
	}
	if (decided)
		FUZZ_CHECK(fuzz_same(&full, &first));
	else
		FUZZ_CHECK(full.r == PROXYPROTO_NEED_MORE &&
		    size < PROXYPROTO_MAX);
	return 0;
}
