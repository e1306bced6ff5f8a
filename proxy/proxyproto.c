/*
 * proxyproto: parses the HAProxy PROXY protocol header (v1 text, v2 binary)
 * that a load balancer puts at the start of a connection. See proxyproto.h
 * and HAProxy's doc/proxy-protocol.txt.
 *
 * No state is kept between calls: every call parses the whole buffer again
 * (at most PROXYPROTO_MAX bytes), so the answer depends only on the bytes.
 * An error is given only on evidence that no longer input could make
 * valid, which keeps the answers consistent as the buffer grows: once
 * ERROR, always ERROR; a prefix of a header is always NEED_MORE.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxy/proxyproto.h"

#define PROXYPROTO_STR_(x)	#x
#define PROXYPROTO_STR(x)	PROXYPROTO_STR_(x)

/* v1: "PROXY ", then the protocol. */
#define PROXYPROTO_V1_SIG	"PROXY "
#define PROXYPROTO_V1_SIGLEN	6
/* Longest address inet_pton takes: INET6_ADDRSTRLEN without its NUL. */
#define PROXYPROTO_V1_ADDR_MAX	45
#define PROXYPROTO_V1_PORT_MAX	5	/* digits in "65535" */
#define PROXYPROTO_PORT_LIMIT	65535
#define PROXYPROTO_V1_FIELDS	4	/* src, dst, sport, dport */

/* v2: signature, version and command, family and protocol, length. */
#define PROXYPROTO_V2_SIGLEN	12
#define PROXYPROTO_V2_VERSION	0x2
#define PROXYPROTO_V2_LOCAL	0x0
#define PROXYPROTO_V2_PROXY	0x1
#define PROXYPROTO_TLV_HDR	3	/* type, length high, length low */
#define PROXYPROTO_TLV_CRC32C	0x03
#define PROXYPROTO_CRC32C_LEN	4
#define PROXYPROTO_CRC32C_POLY	0x82f63b78u	/* Castagnoli, reflected */

static const unsigned char proxyproto_v2sig[PROXYPROTO_V2_SIGLEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/*
 * The family and protocol bytes the spec lists; any other is invalid. Only
 * TCP over IPv4 and IPv6 give addresses; the others keep the socket's
 * (the spec's fallback to UNSPEC), but their address block must be there.
 */
static const struct {
	unsigned char	 fam;
	size_t		 addrlen;
	int		 family;	/* AF_UNSPEC: keep the socket's */
} proxyproto_v2fams[] = {
	{ 0x00, 0, AF_UNSPEC },		/* UNSPEC */
	{ 0x11, 12, AF_INET },		/* TCP over IPv4 */
	{ 0x12, 12, AF_UNSPEC },	/* UDP over IPv4 */
	{ 0x21, 36, AF_INET6 },		/* TCP over IPv6 */
	{ 0x22, 36, AF_UNSPEC },	/* UDP over IPv6 */
	{ 0x31, 216, AF_UNSPEC },	/* UNIX stream */
	{ 0x32, 216, AF_UNSPEC },	/* UNIX datagram */
};
#define PROXYPROTO_NV2FAMS \
	(sizeof(proxyproto_v2fams) / sizeof(proxyproto_v2fams[0]))

enum proxyproto_field {
	PROXYPROTO_F_ADDR4,
	PROXYPROTO_F_ADDR6,
	PROXYPROTO_F_PORT,
};

static const char *const proxyproto_v1why[PROXYPROTO_V1_FIELDS] = {
	"bad v1 source address", "bad v1 destination address",
	"bad v1 source port", "bad v1 destination port",
};

/* The first bytes of buf[p, n) agree with lit (all of them, or all of lit). */
static int
proxyproto_starts(const unsigned char *buf, size_t n, size_t p,
    const char *lit)
{
	size_t l = strlen(lit);

	if (n - p < l)
		l = n - p;
	return memcmp(buf + p, lit, l) == 0;
}

/* The v1 line ran out at the end of the bytes: wait, or too long. */
static enum proxyproto_result
proxyproto_v1_short(size_t len, const char **why)
{
	if (len < PROXYPROTO_V1_MAX)
		return PROXYPROTO_NEED_MORE;
	*why = "v1 line without CRLF in " PROXYPROTO_STR(PROXYPROTO_V1_MAX)
	    " bytes";
	return PROXYPROTO_ERROR;
}

/*
 * Dotted IPv4, possibly cut short: digits and dots only, at most four
 * parts, each 1..3 digits, 0..255, no leading zero. 0, or -1.
 */
static int
proxyproto_v4_prefix(const unsigned char *s, size_t n)
{
	size_t i, digits = 0, dots = 0;
	unsigned v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return -1;
			digits = 0;
			v = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && v == 0)
				return -1;
			v = v * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || v > 255)
				return -1;
		} else
			return -1;
	}
	return 0;
}

static int
proxyproto_ishex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * Check one v1 field, possibly cut short (complete 0); when complete, an
 * address goes into addr (network order), a port into *port. 0, or -1.
 */
static int
proxyproto_v1_field(enum proxyproto_field kind, const unsigned char *s,
    size_t n, int complete, unsigned char *addr, unsigned *port)
{
	char text[PROXYPROTO_V1_ADDR_MAX + 1];
	size_t i, dots = 0;
	unsigned v = 0;

	switch (kind) {
	case PROXYPROTO_F_ADDR4:
		if (proxyproto_v4_prefix(s, n) == -1)
			return -1;
		for (i = 0; i < n; i++)
			dots += s[i] == '.';
		if (!complete)
			return 0;
		/* The prefix check leaves n <= 15; inet_pton has the say. */
		if (dots != 3 || s[n - 1] == '.')
			return -1;
		memcpy(text, s, n);
		text[n] = '\0';
		return inet_pton(AF_INET, text, addr) == 1 ? 0 : -1;
	case PROXYPROTO_F_ADDR6:
		if (n > PROXYPROTO_V1_ADDR_MAX)
			return -1;
		for (i = 0; i < n; i++)
			if (!proxyproto_ishex(s[i]) && s[i] != ':' &&
			    s[i] != '.')
				return -1;
		if (!complete)
			return 0;
		memcpy(text, s, n);
		text[n] = '\0';
		return inet_pton(AF_INET6, text, addr) == 1 ? 0 : -1;
	case PROXYPROTO_F_PORT:
		if (n > PROXYPROTO_V1_PORT_MAX || (n > 1 && s[0] == '0'))
			return -1;
		for (i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			v = v * 10 + (unsigned)(s[i] - '0');
		}
		if (v > PROXYPROTO_PORT_LIMIT)
			return -1;
		if (!complete)
			return 0;
		if (n == 0)
			return -1;
		*port = v;
		return 0;
	}
	return -1;
}

/* "PROXY UNKNOWN" then CRLF, or a space and anything but CR, LF to CRLF. */
static enum proxyproto_result
proxyproto_v1_unknown(const unsigned char *buf, size_t n, size_t len,
    size_t p, struct proxyproto_hdr *out, size_t *consumed, const char **why)
{
	if (p >= n)
		return proxyproto_v1_short(len, why);
	if (buf[p] != '\r' && buf[p] != ' ') {
		*why = "bad v1 protocol";
		return PROXYPROTO_ERROR;
	}
	for (; p < n && buf[p] != '\r'; p++)
		if (buf[p] == '\n') {
			*why = "bad v1 line end";
			return PROXYPROTO_ERROR;
		}
	if (p + 1 >= n)
		return proxyproto_v1_short(len, why);
	if (buf[p + 1] != '\n') {
		*why = "bad v1 line end";
		return PROXYPROTO_ERROR;
	}
	out->version = 1;
	out->local = 1;
	*consumed = p + 2;
	return PROXYPROTO_DONE;
}

/* Fill src and dst from network-order addresses and host-order ports. */
static void
proxyproto_set(struct proxyproto_hdr *out, int family,
    const unsigned char *saddr, const unsigned char *daddr, unsigned sport,
    unsigned dport)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->src;
	struct sockaddr_in *d4 = (struct sockaddr_in *)&out->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&out->dst;

	out->local = 0;
	if (family == AF_INET) {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, saddr, sizeof(s4->sin_addr));
		memcpy(&d4->sin_addr, daddr, sizeof(d4->sin_addr));
		s4->sin_port = htons((uint16_t)sport);
		d4->sin_port = htons((uint16_t)dport);
	} else {
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, saddr, sizeof(s6->sin6_addr));
		memcpy(&d6->sin6_addr, daddr, sizeof(d6->sin6_addr));
		s6->sin6_port = htons((uint16_t)sport);
		d6->sin6_port = htons((uint16_t)dport);
	}
}

/* A v1 line: buf starts with 'P'. */
static enum proxyproto_result
proxyproto_v1(const unsigned char *buf, size_t len,
    struct proxyproto_hdr *out, size_t *consumed, const char **why)
{
	/* Nothing past the 107th byte can belong to the line. */
	size_t n = len < PROXYPROTO_V1_MAX ? len : PROXYPROTO_V1_MAX;
	unsigned char addr[2][sizeof(struct in6_addr)];
	unsigned port[2] = { 0, 0 };
	enum proxyproto_field kind;
	size_t p, start;
	int family, i;

	if (!proxyproto_starts(buf, n, 0, PROXYPROTO_V1_SIG)) {
		*why = "bad v1 signature";
		return PROXYPROTO_ERROR;
	}
	p = PROXYPROTO_V1_SIGLEN;
	if (n < p)
		return proxyproto_v1_short(len, why);
	if (proxyproto_starts(buf, n, p, "TCP4 "))
		family = AF_INET;
	else if (proxyproto_starts(buf, n, p, "TCP6 "))
		family = AF_INET6;
	else if (proxyproto_starts(buf, n, p, "UNKNOWN"))
		return proxyproto_v1_unknown(buf, n, len, p + strlen("UNKNOWN"),
		    out, consumed, why);
	else {
		*why = "bad v1 protocol";
		return PROXYPROTO_ERROR;
	}
	p += strlen("TCP4 ");
	if (n < p)
		return proxyproto_v1_short(len, why);

	for (i = 0; i < PROXYPROTO_V1_FIELDS; i++) {
		if (i >= 2)
			kind = PROXYPROTO_F_PORT;
		else
			kind = family == AF_INET ? PROXYPROTO_F_ADDR4 :
			    PROXYPROTO_F_ADDR6;
		for (start = p; p < n && buf[p] != ' ' && buf[p] != '\r' &&
		    buf[p] != '\n'; p++)
			;
		if (proxyproto_v1_field(kind, buf + start, p - start, p < n,
		    i < 2 ? addr[i] : NULL, i >= 2 ? &port[i - 2] : NULL)
		    == -1) {
			*why = proxyproto_v1why[i];
			return PROXYPROTO_ERROR;
		}
		if (p == n)
			return proxyproto_v1_short(len, why);
		if (buf[p] == '\n') {
			*why = "bad v1 line end";
			return PROXYPROTO_ERROR;
		}
		if (i < PROXYPROTO_V1_FIELDS - 1 && buf[p] != ' ') {
			*why = "v1 line ends early";
			return PROXYPROTO_ERROR;
		}
		if (i == PROXYPROTO_V1_FIELDS - 1 && buf[p] != '\r') {
			*why = "v1 line has extra fields";
			return PROXYPROTO_ERROR;
		}
		p++;
	}
	if (p == n)
		return proxyproto_v1_short(len, why);
	if (buf[p] != '\n') {
		*why = "bad v1 line end";
		return PROXYPROTO_ERROR;
	}
	out->version = 1;
	proxyproto_set(out, family, addr[0], addr[1], port[0], port[1]);
	*consumed = p + 1;
	return PROXYPROTO_DONE;
}

/* CRC32C of buf[0, len) with the 4 bytes at zero_at read as zeros. */
static uint32_t
proxyproto_crc32c(const unsigned char *buf, size_t len, size_t zero_at)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		if (i < zero_at || i >= zero_at + PROXYPROTO_CRC32C_LEN)
			crc ^= buf[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (PROXYPROTO_CRC32C_POLY & -(crc & 1));
	}
	return crc ^ 0xffffffffu;
}

/*
 * The TLVs in buf[p, total) must frame it exactly; a CRC32C one must be 4
 * bytes and match the header. Values are not otherwise looked at. 0, or -1.
 */
static int
proxyproto_v2_tlvs(const unsigned char *buf, size_t p, size_t total,
    const char **why)
{
	size_t vlen;
	uint32_t want;

	while (p < total) {
		if (total - p < PROXYPROTO_TLV_HDR) {
			*why = "v2 TLV overruns the header";
			return -1;
		}
		vlen = (size_t)buf[p + 1] << 8 | buf[p + 2];
		if (total - p - PROXYPROTO_TLV_HDR < vlen) {
			*why = "v2 TLV overruns the header";
			return -1;
		}
		if (buf[p] == PROXYPROTO_TLV_CRC32C) {
			if (vlen != PROXYPROTO_CRC32C_LEN) {
				*why = "bad v2 CRC32C TLV";
				return -1;
			}
			want = (uint32_t)buf[p + 3] << 24 |
			    (uint32_t)buf[p + 4] << 16 |
			    (uint32_t)buf[p + 5] << 8 | buf[p + 6];
			if (proxyproto_crc32c(buf, total, p + 3) != want) {
				*why = "v2 CRC32C mismatch";
				return -1;
			}
		}
		p += PROXYPROTO_TLV_HDR + vlen;
	}
	return 0;
}

/* A v2 header: buf starts with CR. */
static enum proxyproto_result
proxyproto_v2(const unsigned char *buf, size_t len,
    struct proxyproto_hdr *out, size_t *consumed, const char **why)
{
	size_t f = 0, total, off;
	unsigned cmd;

	if (memcmp(buf, proxyproto_v2sig, len < PROXYPROTO_V2_SIGLEN ? len :
	    PROXYPROTO_V2_SIGLEN) != 0) {
		*why = "bad v2 signature";
		return PROXYPROTO_ERROR;
	}
	if (len < PROXYPROTO_V2_SIGLEN + 1)
		return PROXYPROTO_NEED_MORE;
	if (buf[12] >> 4 != PROXYPROTO_V2_VERSION) {
		*why = "v2 version is not 2";
		return PROXYPROTO_ERROR;
	}
	cmd = buf[12] & 0x0f;
	if (cmd != PROXYPROTO_V2_LOCAL && cmd != PROXYPROTO_V2_PROXY) {
		*why = "bad v2 command";
		return PROXYPROTO_ERROR;
	}
	if (len < PROXYPROTO_V2_SIGLEN + 2)
		return PROXYPROTO_NEED_MORE;
	/* LOCAL: the family is ignored, like everything after the length. */
	if (cmd == PROXYPROTO_V2_PROXY) {
		for (f = 0; f < PROXYPROTO_NV2FAMS; f++)
			if (proxyproto_v2fams[f].fam == buf[13])
				break;
		if (f == PROXYPROTO_NV2FAMS) {
			*why = "bad v2 family";
			return PROXYPROTO_ERROR;
		}
	}
	if (len < PROXYPROTO_V2_HDR)
		return PROXYPROTO_NEED_MORE;
	total = PROXYPROTO_V2_HDR + ((size_t)buf[14] << 8 | buf[15]);
	if (total > PROXYPROTO_V2_MAX) {
		*why = "v2 header over " PROXYPROTO_STR(PROXYPROTO_V2_MAX)
		    " bytes";
		return PROXYPROTO_ERROR;
	}
	if (cmd == PROXYPROTO_V2_PROXY &&
	    total - PROXYPROTO_V2_HDR < proxyproto_v2fams[f].addrlen) {
		*why = "v2 address block too short";
		return PROXYPROTO_ERROR;
	}
	if (len < total)
		return PROXYPROTO_NEED_MORE;

	out->version = 2;
	out->local = 1;
	if (cmd == PROXYPROTO_V2_LOCAL) {
		*consumed = total;
		return PROXYPROTO_DONE;
	}
	off = PROXYPROTO_V2_HDR;
	if (proxyproto_v2_tlvs(buf, off + proxyproto_v2fams[f].addrlen, total,
	    why) == -1)
		return PROXYPROTO_ERROR;
	/* Addresses, then ports, all in network order. */
	if (proxyproto_v2fams[f].family == AF_INET)
		proxyproto_set(out, AF_INET, buf + off, buf + off + 4,
		    (unsigned)buf[off + 8] << 8 | buf[off + 9],
		    (unsigned)buf[off + 10] << 8 | buf[off + 11]);
	else if (proxyproto_v2fams[f].family == AF_INET6)
		proxyproto_set(out, AF_INET6, buf + off, buf + off + 16,
		    (unsigned)buf[off + 32] << 8 | buf[off + 33],
		    (unsigned)buf[off + 34] << 8 | buf[off + 35]);
	*consumed = total;
	return PROXYPROTO_DONE;
}

/*
 * Parse the header at the start of buf, which holds the len bytes received
 * so far on the connection. Returns PROXYPROTO_NEED_MORE while buf is a
 * valid beginning of a header (never once len reaches PROXYPROTO_MAX);
 * PROXYPROTO_DONE with the header in *out and its length in *consumed (the
 * bytes after it are the client's and are not looked at); or
 * PROXYPROTO_ERROR with a short reason in err (errsize bytes,
 * PROXYPROTO_ERR_MAX is enough; err may be NULL if errsize is 0) for
 * anything else. On every call *out is zeroed and *consumed set to 0 before
 * parsing, and err to "" unless ERROR. The result for a buffer depends only
 * on its bytes: feeding a header byte by byte gives NEED_MORE up to the
 * last byte and the same DONE as all at once. v1: exactly "PROXY TCP4 " or
 * "PROXY TCP6 " then source and destination address (inet_pton forms of
 * the family, IPv4 without leading zeros) and source and destination port
 * (0..65535, decimal, no sign or leading zero), single spaces, CRLF; or
 * "PROXY UNKNOWN" then CRLF or a space and anything but CR or LF up to
 * CRLF. v2: the 12-byte signature, version 2, command LOCAL (all after the
 * fixed part is skipped unread) or PROXY with family and protocol one of
 * UNSPEC, TCP or UDP over IPv4 or IPv6, or UNIX stream or datagram, an
 * address block at least as long as the family needs, then TLVs that must
 * frame the rest exactly; their values are skipped except a CRC32C one,
 * which must match the header.
 */
enum proxyproto_result
proxyproto_parse(const unsigned char *buf, size_t len,
    struct proxyproto_hdr *out, size_t *consumed, char *err, size_t errsize)
{
	enum proxyproto_result r;
	const char *why = "";

	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if (len == 0)
		r = PROXYPROTO_NEED_MORE;
	else if (buf[0] == PROXYPROTO_V1_SIG[0])
		r = proxyproto_v1(buf, len, out, consumed, &why);
	else if (buf[0] == proxyproto_v2sig[0])
		r = proxyproto_v2(buf, len, out, consumed, &why);
	else {
		why = "not a PROXY protocol header";
		r = PROXYPROTO_ERROR;
	}
	if (r != PROXYPROTO_DONE) {
		memset(out, 0, sizeof(*out));
		*consumed = 0;
	}
	if (r != PROXYPROTO_ERROR)
		why = "";
	if (errsize > 0)
		snprintf(err, errsize, "%s", why);
	return r;
}
