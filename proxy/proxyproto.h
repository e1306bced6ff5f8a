/*
 * proxyproto: parses the HAProxy PROXY protocol header (v1 text, v2 binary)
 * that a load balancer puts at the start of a connection to say who the
 * client is. Pure function, no I/O: the caller buffers what it received
 * and asks again after each read. Strict, as HAProxy is: anything that is
 * not exactly a header is an error, and as soon as the first bytes cannot
 * start one (a client that speaks SMTP or TLS first is refused at once).
 */
#ifndef PROXY_PROXYPROTO_H
#define PROXY_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Limits. A v1 line is at most 107 bytes with its CRLF (the spec's worst
 * case: "PROXY UNKNOWN" with two full IPv6 addresses and ports). A v2
 * header is the 16-byte fixed part and the length it announces; it is
 * accepted up to 536 bytes, the smallest TCP segment every host must take
 * (576 - 40), which the spec designed both formats to fit: room for the
 * largest address block (AF_UNIX, 216 bytes) and 304 bytes of TLVs. A
 * balancer that sends more (a client certificate TLV) is refused, not
 * buffered. PROXYPROTO_MAX is the buffer the caller needs: the parser says
 * NEED_MORE only while fewer bytes than that have come.
 */
#define PROXYPROTO_V1_MAX	107
#define PROXYPROTO_V2_HDR	16
#define PROXYPROTO_V2_MAX	536
#define PROXYPROTO_MAX		PROXYPROTO_V2_MAX
#define PROXYPROTO_ERR_MAX	64	/* room for any reason in err */

enum proxyproto_result {
	PROXYPROTO_NEED_MORE,
	PROXYPROTO_DONE,
	PROXYPROTO_ERROR,
};

struct proxyproto_hdr {
	int			version;	/* 1 or 2 */
	int			local;		/* 1: keep the socket's own
						   addresses (v1 UNKNOWN,
						   v2 LOCAL, v2 UNSPEC,
						   AF_UNIX or UDP) */
	struct sockaddr_storage	src;		/* the client, when !local: */
	struct sockaddr_storage	dst;		/* AF_INET or AF_INET6 with
						   the port; else zeroed */
};

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
enum proxyproto_result	proxyproto_parse(const unsigned char *buf,
			    size_t len, struct proxyproto_hdr *out,
			    size_t *consumed, char *err, size_t errsize);

#endif
