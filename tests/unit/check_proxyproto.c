/*
 * check_proxyproto: proxy/proxyproto, the PROXY protocol header a load
 * balancer sends first. Table-driven: v1 and v2 headers that parse (and
 * what they say), every prefix of them (NEED_MORE, never a wrong DONE),
 * the client's bytes after them (not consumed), byte-by-byte feeding,
 * malformed headers (ERROR, the reason, and how early it is given), and
 * the v1 and v2 length limits at their edges.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "proxy/proxyproto.h"
#include "tests/unit/suites.h"

/* A literal and its length (v2 headers hold NUL bytes). */
#define T_LIT(s)	s, sizeof(s) - 1
/* The v2 signature, then version/command and family bytes. */
#define T_SIG		"\r\n\r\n\0\r\nQUIT\n"
/* What a client sends after the header. */
#define T_AFTER		"EHLO client.example\r\n"
#define T_BUF_MAX	(PROXYPROTO_MAX + 64)
#define T_TLS_HELLO	"\x16\x03\x01\x02\x00\x01"

static const struct {
	const char	*in;
	size_t		 len;
	int		 version;
	int		 local;
	int		 family;	/* AF_UNSPEC when local */
	const char	*src;
	unsigned	 sport;
	const char	*dst;
	unsigned	 dport;
} good[] = {
	/* v1 */
	{ T_LIT("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), 1, 0,
	    AF_INET, "192.168.0.1", 56324, "192.168.0.11", 443 },
	{ T_LIT("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"),
	    1, 0, AF_INET, "255.255.255.255", 65535, "255.255.255.255",
	    65535 },
	{ T_LIT("PROXY TCP4 0.0.0.0 10.0.0.1 0 25\r\n"), 1, 0, AF_INET,
	    "0.0.0.0", 0, "10.0.0.1", 25 },
	{ T_LIT("PROXY TCP6 2001:db8::1 2001:db8::25 40000 587\r\n"), 1, 0,
	    AF_INET6, "2001:db8::1", 40000, "2001:db8::25", 587 },
	{ T_LIT("PROXY TCP6 2001:DB8::A ::1 1 2\r\n"), 1, 0, AF_INET6,
	    "2001:db8::a", 1, "::1", 2 },
	{ T_LIT("PROXY TCP6 ::ffff:192.0.2.1 :: 465 465\r\n"), 1, 0,
	    AF_INET6, "::ffff:192.0.2.1", 465, "::", 465 },
	/* The spec's longest TCP6 line: 104 bytes. */
	{ T_LIT("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"), 1, 0,
	    AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535 },
	{ T_LIT("PROXY UNKNOWN\r\n"), 1, 1, AF_UNSPEC, NULL, 0, NULL, 0 },
	{ T_LIT("PROXY UNKNOWN 192.168.0.1 192.168.0.11 56324 443\r\n"), 1, 1,
	    AF_UNSPEC, NULL, 0, NULL, 0 },
	{ T_LIT("PROXY UNKNOWN anything\0at\tall\r\n"), 1, 1, AF_UNSPEC, NULL,
	    0, NULL, 0 },
	/* The spec's worst case: exactly PROXYPROTO_V1_MAX bytes. */
	{ T_LIT("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"), 1, 1,
	    AF_UNSPEC, NULL, 0, NULL, 0 },
	/* v2 PROXY, TCP over IPv4, no TLV. */
	{ T_LIT(T_SIG "\x21\x11\x00\x0c" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xd2\x04" "\x01\xbb"), 2, 0, AF_INET, "192.0.2.1", 53764,
	    "198.51.100.7", 443 },
	/* With TLVs: NOOP, AUTHORITY, an empty custom one. */
	{ T_LIT(T_SIG "\x21\x11\x00\x23" "\x0a\x01\x02\x03" "\x0a\x00\x00\x01"
	    "\x00\x50" "\x02\x4b" "\x04\x00\x03" "abc" "\x02\x00\x0b"
	    "example.com" "\xe0\x00\x00"), 2, 0, AF_INET, "10.1.2.3", 80,
	    "10.0.0.1", 587 },
	/* With a CRC32C TLV that matches. */
	{ T_LIT(T_SIG "\x21\x11\x00\x13" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xd2\x04" "\x01\xbb" "\x03\x00\x04" "\x05\x74\xdf\xe0"), 2, 0,
	    AF_INET, "192.0.2.1", 53764, "198.51.100.7", 443 },
	/* v2 PROXY, TCP over IPv6, without and with TLVs. */
	{ T_LIT(T_SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x25"
	    "\x9c\x40" "\x02\x4b"), 2, 0, AF_INET6, "2001:db8::1", 40000,
	    "2001:db8::25", 587 },
	{ T_LIT(T_SIG "\x21\x21\x00\x30"
	    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x25"
	    "\x9c\x40" "\x02\x4b" "\x03\x00\x04" "\xd0\xb2\x82\xd2"
	    "\x04\x00\x02" "zz"), 2, 0, AF_INET6, "2001:db8::1", 40000,
	    "2001:db8::25", 587 },
	/* v2 LOCAL (health checks): nothing, or bytes that are skipped. */
	{ T_LIT(T_SIG "\x20\x00\x00\x00"), 2, 1, AF_UNSPEC, NULL, 0, NULL,
	    0 },
	{ T_LIT(T_SIG "\x20\x11\x00\x0c" "\x7f\x00\x00\x01" "\x7f\x00\x00\x01"
	    "\x00\x01" "\x00\x02"), 2, 1, AF_UNSPEC, NULL, 0, NULL, 0 },
	{ T_LIT(T_SIG "\x20\xff\x00\x02" "\xff\xff"), 2, 1, AF_UNSPEC, NULL,
	    0, NULL, 0 },
	/* v2 PROXY, UNSPEC and UDP: the socket's addresses stand. */
	{ T_LIT(T_SIG "\x21\x00\x00\x00"), 2, 1, AF_UNSPEC, NULL, 0, NULL,
	    0 },
	{ T_LIT(T_SIG "\x21\x12\x00\x0c" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xd2\x04" "\x01\xbb"), 2, 1, AF_UNSPEC, NULL, 0, NULL, 0 },
};
#define N_GOOD	(sizeof(good) / sizeof(good[0]))

/* Parse with out and err filled with junk first, to see them set. */
static enum proxyproto_result
t_parse(const void *in, size_t len, struct proxyproto_hdr *out,
    size_t *consumed, char *err, size_t errsize)
{
	memset(out, 0xa5, sizeof(*out));
	*consumed = (size_t)-1;
	if (errsize > 0)
		memset(err, 'x', errsize);
	return proxyproto_parse(in, len, out, consumed, err, errsize);
}

static void
t_assert_zero(const struct proxyproto_hdr *h)
{
	static const struct proxyproto_hdr zero;

	ck_assert(memcmp(h, &zero, sizeof(zero)) == 0);
}

/* sa holds family, address text and port. */
static void
t_assert_sa(const struct sockaddr_storage *ss, int family, const char *addr,
    unsigned port)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
	char text[INET6_ADDRSTRLEN];

	ck_assert_int_eq(ss->ss_family, family);
	if (family == AF_INET) {
		ck_assert_ptr_nonnull(inet_ntop(AF_INET, &a4->sin_addr, text,
		    sizeof(text)));
		ck_assert_uint_eq(ntohs(a4->sin_port), port);
	} else {
		ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &a6->sin6_addr, text,
		    sizeof(text)));
		ck_assert_uint_eq(ntohs(a6->sin6_port), port);
		ck_assert_uint_eq(a6->sin6_flowinfo, 0);
		ck_assert_uint_eq(a6->sin6_scope_id, 0);
	}
	ck_assert_str_eq(text, addr);
}

static void
t_assert_good(size_t i, const struct proxyproto_hdr *h)
{
	static const struct sockaddr_storage zero;

	ck_assert_int_eq(h->version, good[i].version);
	ck_assert_int_eq(h->local, good[i].local);
	if (good[i].local) {
		ck_assert(memcmp(&h->src, &zero, sizeof(zero)) == 0);
		ck_assert(memcmp(&h->dst, &zero, sizeof(zero)) == 0);
		return;
	}
	t_assert_sa(&h->src, good[i].family, good[i].src, good[i].sport);
	t_assert_sa(&h->dst, good[i].family, good[i].dst, good[i].dport);
}

START_TEST(test_proxyproto_good)
{
	struct proxyproto_hdr h;
	char err[PROXYPROTO_ERR_MAX];
	size_t consumed;

	ck_assert_msg(t_parse(good[_i].in, good[_i].len, &h, &consumed, err,
	    sizeof(err)) == PROXYPROTO_DONE, "good[%zu]: %s", (size_t)_i,
	    err);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(consumed, good[_i].len);
	ck_assert_uint_le(consumed, PROXYPROTO_MAX);
	t_assert_good(_i, &h);
}
END_TEST

/* Every prefix is NEED_MORE, with nothing set. */
START_TEST(test_proxyproto_prefixes)
{
	struct proxyproto_hdr h;
	char err[PROXYPROTO_ERR_MAX];
	size_t n, consumed;

	for (n = 0; n < good[_i].len; n++) {
		ck_assert_msg(t_parse(good[_i].in, n, &h, &consumed, err,
		    sizeof(err)) == PROXYPROTO_NEED_MORE, "good[%zu] at %zu: %s",
		    (size_t)_i, n, err);
		ck_assert_uint_eq(consumed, 0);
		ck_assert_str_eq(err, "");
		t_assert_zero(&h);
	}
}
END_TEST

/* The client's bytes after the header are left alone, whatever they are. */
START_TEST(test_proxyproto_after)
{
	static const struct {
		const char	*s;
		size_t		 len;
	} after[] = {
		{ T_LIT(T_AFTER) }, { T_LIT(T_TLS_HELLO) }, { T_LIT("\r\n") },
		{ T_LIT("PROXY TCP4 6.6.6.6 6.6.6.6 6 6\r\n") },
		{ T_LIT(T_SIG "\x21\x11\x00\x0c") },
	};
	unsigned char buf[T_BUF_MAX];
	struct proxyproto_hdr h;
	char err[PROXYPROTO_ERR_MAX];
	size_t a, consumed;

	for (a = 0; a < sizeof(after) / sizeof(after[0]); a++) {
		memcpy(buf, good[_i].in, good[_i].len);
		memcpy(buf + good[_i].len, after[a].s, after[a].len);
		ck_assert_int_eq(t_parse(buf, good[_i].len + after[a].len, &h,
		    &consumed, err, sizeof(err)), PROXYPROTO_DONE);
		ck_assert_uint_eq(consumed, good[_i].len);
		t_assert_good(_i, &h);
	}
	/* All the room a caller has: still only the header. */
	memcpy(buf, good[_i].in, good[_i].len);
	memset(buf + good[_i].len, 'A', sizeof(buf) - good[_i].len);
	ck_assert_int_eq(t_parse(buf, sizeof(buf), &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_DONE);
	ck_assert_uint_eq(consumed, good[_i].len);
}
END_TEST

/*
 * As a caller does it: one byte per read, parse after each, until not
 * NEED_MORE; the answer equals the one for all bytes at once.
 */
START_TEST(test_proxyproto_bytewise)
{
	unsigned char buf[T_BUF_MAX];
	struct proxyproto_hdr h, once;
	char err[PROXYPROTO_ERR_MAX];
	size_t n, total, consumed, consumed_once;
	enum proxyproto_result r;

	total = good[_i].len + sizeof(T_AFTER) - 1;
	memcpy(buf, good[_i].in, good[_i].len);
	memcpy(buf + good[_i].len, T_AFTER, sizeof(T_AFTER) - 1);
	ck_assert_int_eq(t_parse(buf, total, &once, &consumed_once, err,
	    sizeof(err)), PROXYPROTO_DONE);

	r = PROXYPROTO_NEED_MORE;
	for (n = 1; n <= total && r == PROXYPROTO_NEED_MORE; n++)
		r = t_parse(buf, n, &h, &consumed, err, sizeof(err));
	ck_assert_int_eq(r, PROXYPROTO_DONE);
	ck_assert_uint_eq(n - 1, good[_i].len);
	ck_assert_uint_eq(consumed, consumed_once);
	ck_assert(memcmp(&h, &once, sizeof(h)) == 0);
}
END_TEST

static const struct {
	const char	*in;
	size_t		 len;
	const char	*why;		/* part of err */
	size_t		 at;		/* ERROR from this many bytes on, and
					   NEED_MORE before; 0: not checked */
} bad[] = {
	/* Not a PROXY header at all: refused on the first byte. */
	{ T_LIT("EHLO client.example\r\n"), "not a PROXY", 1 },
	{ T_LIT("ehlo\r\n"), "not a PROXY", 1 },
	{ T_LIT(T_TLS_HELLO), "not a PROXY", 1 },
	{ T_LIT("\0"), "not a PROXY", 1 },
	{ T_LIT(" PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "not a PROXY", 1 },
	{ T_LIT("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "not a PROXY", 1 },
	/* v1 signature and protocol. */
	{ T_LIT("PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "bad v1 signature", 5 },
	{ T_LIT("POST / HTTP/1.0\r\n"), "bad v1 signature", 2 },
	{ T_LIT("PROXY\r\n"), "bad v1 signature", 6 },
	{ T_LIT("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "bad v1 protocol", 7 },
	{ T_LIT("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), "bad v1 protocol", 10 },
	{ T_LIT("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), "bad v1 protocol", 7 },
	{ T_LIT("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), "bad v1 protocol", 8 },
	{ T_LIT("PROXY TCP4\r\n"), "bad v1 protocol", 11 },
	{ T_LIT("PROXY TCP41.2.3.4 5.6.7.8 1 2\r\n"), "bad v1 protocol", 11 },
	{ T_LIT("PROXY UNKNOWNX\r\n"), "bad v1 protocol", 14 },
	{ T_LIT("PROXY UNKNOWN\n"), "bad v1 protocol", 14 },
	{ T_LIT("PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "bad v1 signature", 6 },
	/* v1 line ends: CRLF only, within 107 bytes. */
	{ T_LIT("PROXY UNKNOWN \n"), "bad v1 line end", 15 },
	{ T_LIT("PROXY UNKNOWN\r\r\n"), "bad v1 line end", 15 },
	{ T_LIT("PROXY UNKNOWN\rx"), "bad v1 line end", 15 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "bad v1 line end", 31 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n"), "bad v1 line end",
	    32 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rEHLO"), "bad v1 line end",
	    32 },
	{ T_LIT("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n"), "bad v1 line end",
	    19 },
	/* 106 bytes before the CRLF: 108 in all. */
	{ T_LIT("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655355\r\n"),
	    "without CRLF in 107 bytes", 107 },
	{ T_LIT("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535 \r\n"),
	    "without CRLF in 107 bytes", 107 },
	/* Fields: count and single spaces. */
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), "ends early", 29 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8\r\n"), "ends early", 27 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), "extra fields", 31 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), "extra fields", 31 },
	{ T_LIT("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), "source address",
	    12 },
	{ T_LIT("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"),
	    "destination address", 20 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n"), "source port", 28 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n"), "destination port",
	    30 },
	{ T_LIT("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"), "source address",
	    19 },
	/* IPv4 addresses. */
	{ T_LIT("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), "source address", 17 },
	{ T_LIT("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), "source address",
	    19 },
	{ T_LIT("PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n"), "source address",
	    14 },
	{ T_LIT("PROXY TCP4 1.2.3.1000 5.6.7.8 1 2\r\n"), "source address",
	    21 },
	{ T_LIT("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), "source address",
	    13 },
	{ T_LIT("PROXY TCP4 1.2.3.00 5.6.7.8 1 2\r\n"), "source address",
	    19 },
	{ T_LIT("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n"), "source address", 14 },
	{ T_LIT("PROXY TCP4 .1.2.3 5.6.7.8 1 2\r\n"), "source address", 12 },
	{ T_LIT("PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n"), "source address",
	    19 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.x 1 2\r\n"), "destination address",
	    26 },
	{ T_LIT("PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n"), "source address",
	    13 },
	{ T_LIT("PROXY TCP4 ::1 ::1 1 2\r\n"), "source address", 12 },
	{ T_LIT("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), "source address",
	    12 },
	/* IPv6 addresses. */
	{ T_LIT("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), "source address", 19 },
	{ T_LIT("PROXY TCP6 2001:db8:::1 ::1 1 2\r\n"), "source address", 0 },
	{ T_LIT("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n"), "source address",
	    0 },
	{ T_LIT("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), "source address",
	    19 },
	{ T_LIT("PROXY TCP6 [::1] ::1 1 2\r\n"), "source address", 12 },
	{ T_LIT("PROXY TCP6 ::1 ::g 1 2\r\n"), "destination address", 18 },
	{ T_LIT("PROXY TCP6 ::1 : 1 2\r\n"), "destination address", 0 },
	/* Ports. */
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), "source port", 32 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n"), "source port", 32 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n"), "source port",
	    33 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 025 2\r\n"), "source port", 29 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n"), "source port", 29 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 +25 2\r\n"), "source port", 28 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), "source port", 28 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 0x19 2\r\n"), "source port", 29 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"), "destination port",
	    34 },
	{ T_LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2a\r\n"), "destination port",
	    31 },
	/* v2 signature, version, command, family. */
	{ T_LIT("\r\n\r\n\r\n"), "bad v2 signature", 5 },
	{ T_LIT("\r\r"), "bad v2 signature", 2 },
	{ T_LIT("\r\n\r\n\0\r\nQUIT\r\x21\x11\x00\x00"), "bad v2 signature",
	    12 },
	{ T_LIT(T_SIG "\x11\x11\x00\x0c" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"), "version is not 2", 13 },
	{ T_LIT(T_SIG "\x31\x11\x00\x0c" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"), "version is not 2", 13 },
	{ T_LIT(T_SIG "\x01\x11\x00\x00"), "version is not 2", 13 },
	{ T_LIT(T_SIG "\x22\x11\x00\x0c" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"), "bad v2 command", 13 },
	{ T_LIT(T_SIG "\x2f\x00\x00\x00"), "bad v2 command", 13 },
	{ T_LIT(T_SIG "\x21\x13\x00\x0c" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"), "bad v2 family", 14 },
	{ T_LIT(T_SIG "\x21\x41\x00\x0c" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"), "bad v2 family", 14 },
	{ T_LIT(T_SIG "\x21\x10\x00\x0c" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"), "bad v2 family", 14 },
	{ T_LIT(T_SIG "\x21\x01\x00\x00"), "bad v2 family", 14 },
	/* v2 lengths. */
	{ T_LIT(T_SIG "\x21\x11\xff\xff"), "over 536 bytes", 16 },
	{ T_LIT(T_SIG "\x20\x00\x02\x09"), "over 536 bytes", 16 },
	{ T_LIT(T_SIG "\x21\x11\x00\x0b" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00"), "address block too short",
	    16 },
	{ T_LIT(T_SIG "\x21\x11\x00\x00"), "address block too short", 16 },
	{ T_LIT(T_SIG "\x21\x21\x00\x0c" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"),
	    "address block too short", 16 },
	{ T_LIT(T_SIG "\x21\x31\x00\x24"), "address block too short", 16 },
	/* v2 TLVs: must frame the rest; a CRC32C must match. */
	{ T_LIT(T_SIG "\x21\x11\x00\x0e" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02" "\x04\x00"),
	    "TLV overruns", 30 },
	{ T_LIT(T_SIG "\x21\x11\x00\x10" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02" "\x04\x00\x02" "z"),
	    "TLV overruns", 32 },
	{ T_LIT(T_SIG "\x21\x11\x00\x13" "\x7f\x00\x00\x01"
	    "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02" "\x04\x00\x00"
	    "\x04\xff\xff" "z"), "TLV overruns", 35 },
	{ T_LIT(T_SIG "\x21\x11\x00\x13" "\xc0\x00\x02\x02" "\xc6\x33\x64\x07"
	    "\xd2\x04" "\x01\xbb" "\x03\x00\x04" "\x05\x74\xdf\xe0"),
	    "CRC32C mismatch", 35 },
	{ T_LIT(T_SIG "\x21\x11\x00\x13" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xd2\x04" "\x01\xbb" "\x03\x00\x04" "\x05\x74\xdf\xe1"),
	    "CRC32C mismatch", 35 },
	{ T_LIT(T_SIG "\x21\x11\x00\x12" "\xc0\x00\x02\x01" "\xc6\x33\x64\x07"
	    "\xd2\x04" "\x01\xbb" "\x03\x00\x03" "\x05\x74\xdf"),
	    "bad v2 CRC32C TLV", 34 },
};
#define N_BAD	(sizeof(bad) / sizeof(bad[0]))

START_TEST(test_proxyproto_bad)
{
	unsigned char buf[T_BUF_MAX];
	struct proxyproto_hdr h;
	char err[PROXYPROTO_ERR_MAX];
	size_t n, consumed;

	ck_assert_int_eq(t_parse(bad[_i].in, bad[_i].len, &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_ERROR);
	ck_assert_msg(strstr(err, bad[_i].why) != NULL, "bad[%zu]: \"%s\"",
	    (size_t)_i, err);
	ck_assert_uint_eq(consumed, 0);
	t_assert_zero(&h);

	/* More bytes do not make it right. */
	memcpy(buf, bad[_i].in, bad[_i].len);
	memcpy(buf + bad[_i].len, T_AFTER, sizeof(T_AFTER) - 1);
	ck_assert_int_eq(t_parse(buf, bad[_i].len + sizeof(T_AFTER) - 1, &h,
	    &consumed, err, sizeof(err)), PROXYPROTO_ERROR);
	ck_assert(strstr(err, bad[_i].why) != NULL);

	/* Refused as soon as the bytes show it, not later. */
	if (bad[_i].at == 0)
		return;
	for (n = 0; n < bad[_i].at; n++)
		ck_assert_msg(t_parse(bad[_i].in, n, &h, &consumed, err,
		    sizeof(err)) == PROXYPROTO_NEED_MORE, "bad[%zu] at %zu: %s",
		    (size_t)_i, n, err);
	for (; n <= bad[_i].len; n++)
		ck_assert_msg(t_parse(bad[_i].in, n, &h, &consumed, err,
		    sizeof(err)) == PROXYPROTO_ERROR, "bad[%zu] at %zu",
		    (size_t)_i, n);
}
END_TEST

/* A v1 line without CRLF: waited on up to 106 bytes, refused at 107. */
START_TEST(test_proxyproto_v1_long)
{
	unsigned char buf[T_BUF_MAX];
	struct proxyproto_hdr h;
	char err[PROXYPROTO_ERR_MAX];
	size_t consumed;

	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(t_parse(buf, PROXYPROTO_V1_MAX - 1, &h, &consumed,
	    err, sizeof(err)), PROXYPROTO_NEED_MORE);
	ck_assert_int_eq(t_parse(buf, PROXYPROTO_V1_MAX, &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_ERROR);
	ck_assert_int_eq(t_parse(buf, sizeof(buf), &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_ERROR);
	/* The CRLF just fits, then just does not. */
	memcpy(buf + PROXYPROTO_V1_MAX - 2, "\r\n", 2);
	ck_assert_int_eq(t_parse(buf, sizeof(buf), &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_DONE);
	ck_assert_uint_eq(consumed, PROXYPROTO_V1_MAX);
	memset(buf + PROXYPROTO_V1_MAX - 2, 'a', 2);
	memcpy(buf + PROXYPROTO_V1_MAX - 1, "\r\n", 2);
	ck_assert_int_eq(t_parse(buf, sizeof(buf), &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_ERROR);
	ck_assert_str_eq(err, "v1 line without CRLF in 107 bytes");
}
END_TEST

/* A v2 TCP4 header padded with one NOOP TLV to total bytes. */
static size_t
t_v2_padded(unsigned char *buf, size_t total)
{
	static const unsigned char head[] = T_SIG "\x21\x11\x00\x00"
	    "\xc0\x00\x02\x01" "\xc6\x33\x64\x07" "\xd2\x04" "\x01\xbb"
	    "\x04\x00\x00";
	size_t hlen = sizeof(head) - 1;

	memcpy(buf, head, hlen);
	buf[14] = (unsigned char)((total - PROXYPROTO_V2_HDR) >> 8);
	buf[15] = (unsigned char)(total - PROXYPROTO_V2_HDR);
	buf[hlen - 2] = (unsigned char)((total - hlen) >> 8);
	buf[hlen - 1] = (unsigned char)(total - hlen);
	memset(buf + hlen, 'p', total - hlen);
	return total;
}

/* v2 up to PROXYPROTO_V2_MAX bytes, not one more; UNIX fits. */
START_TEST(test_proxyproto_v2_long)
{
	unsigned char buf[T_BUF_MAX];
	struct proxyproto_hdr h;
	char err[PROXYPROTO_ERR_MAX];
	size_t n, consumed;

	n = t_v2_padded(buf, PROXYPROTO_V2_MAX);
	ck_assert_int_eq(t_parse(buf, n - 1, &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_NEED_MORE);
	ck_assert_int_eq(t_parse(buf, n, &h, &consumed, err, sizeof(err)),
	    PROXYPROTO_DONE);
	ck_assert_uint_eq(consumed, PROXYPROTO_V2_MAX);
	ck_assert_int_eq(h.src.ss_family, AF_INET);

	n = t_v2_padded(buf, PROXYPROTO_V2_MAX + 1);
	ck_assert_int_eq(t_parse(buf, PROXYPROTO_V2_HDR, &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_ERROR);
	ck_assert_str_eq(err, "v2 header over 536 bytes");
	ck_assert_int_eq(t_parse(buf, n, &h, &consumed, err, sizeof(err)),
	    PROXYPROTO_ERROR);

	/* UNIX stream: 216 address bytes, the socket's addresses stand. */
	memcpy(buf, T_SIG "\x21\x31\x00\xd8", PROXYPROTO_V2_HDR);
	memset(buf + PROXYPROTO_V2_HDR, '/', 216);
	ck_assert_int_eq(t_parse(buf, PROXYPROTO_V2_HDR + 215, &h, &consumed,
	    err, sizeof(err)), PROXYPROTO_NEED_MORE);
	ck_assert_int_eq(t_parse(buf, PROXYPROTO_V2_HDR + 216, &h, &consumed,
	    err, sizeof(err)), PROXYPROTO_DONE);
	ck_assert_int_eq(h.local, 1);
	ck_assert_int_eq(h.src.ss_family, AF_UNSPEC);
	ck_assert_uint_eq(consumed, PROXYPROTO_V2_HDR + 216);
	buf[15] = 215;
	ck_assert_int_eq(t_parse(buf, PROXYPROTO_V2_HDR + 216, &h, &consumed,
	    err, sizeof(err)), PROXYPROTO_ERROR);
	ck_assert_str_eq(err, "v2 address block too short");
}
END_TEST

/* err: NULL with size 0, cut to its size, "" unless ERROR. */
START_TEST(test_proxyproto_err)
{
	struct proxyproto_hdr h;
	char err[4];
	size_t consumed;

	ck_assert_int_eq(proxyproto_parse((const unsigned char *)"EHLO", 4,
	    &h, &consumed, NULL, 0), PROXYPROTO_ERROR);
	ck_assert_int_eq(proxyproto_parse((const unsigned char *)"PROXY ", 6,
	    &h, &consumed, NULL, 0), PROXYPROTO_NEED_MORE);
	ck_assert_int_eq(t_parse("EHLO", 4, &h, &consumed, err, sizeof(err)),
	    PROXYPROTO_ERROR);
	ck_assert_str_eq(err, "not");
	ck_assert_int_eq(t_parse(good[0].in, good[0].len, &h, &consumed, err,
	    sizeof(err)), PROXYPROTO_DONE);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(t_parse("", 0, &h, &consumed, err, sizeof(err)),
	    PROXYPROTO_NEED_MORE);
	ck_assert_str_eq(err, "");
	t_assert_zero(&h);
}
END_TEST

Suite *
proxyproto_suite(void)
{
	Suite *s = suite_create("proxyproto");
	TCase *tc = tcase_create("proxyproto");

	tcase_add_loop_test(tc, test_proxyproto_good, 0, N_GOOD);
	tcase_add_loop_test(tc, test_proxyproto_prefixes, 0, N_GOOD);
	tcase_add_loop_test(tc, test_proxyproto_after, 0, N_GOOD);
	tcase_add_loop_test(tc, test_proxyproto_bytewise, 0, N_GOOD);
	tcase_add_loop_test(tc, test_proxyproto_bad, 0, N_BAD);
	tcase_add_test(tc, test_proxyproto_v1_long);
	tcase_add_test(tc, test_proxyproto_v2_long);
	tcase_add_test(tc, test_proxyproto_err);
	suite_add_tcase(s, tc);
	return s;
}
