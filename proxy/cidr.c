/*
 * cidr: network lists and address matching. See cidr.h.
 *
 * Addresses are parsed with inet_pton only (no names, no "10/8" short
 * forms: the forms inet_pton takes are the forms the config takes), kept as
 * network-order bytes, and compared bit by bit up to the prefix. A client
 * that comes in over IPv6 with a v4-mapped address matches the IPv4
 * networks, so a [::] listener without IPV6_V6ONLY would still be judged
 * by its IPv4 rules.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/cidr.h"

#define CIDR_V4_BITS	32
#define CIDR_V6_BITS	128
#define CIDR_LIST_MIN	4	/* first allocation of a list */
#define CIDR_SEPS	", \t"

/* The leading bits of a and b, bits long, are equal. */
static int
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* No bit of a is set after the first bits ones (of len bytes). */
static int
host_bits_clear(const unsigned char *a, size_t len, unsigned bits)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned lo = (unsigned)i * 8;
		unsigned char keep;

		if (bits >= lo + 8)
			continue;
		keep = bits <= lo ? 0 :
		    (unsigned char)(0xff << (8 - (bits - lo)));
		if (a[i] & (unsigned char)~keep)
			return 0;
	}
	return 1;
}

/*
 * Parse one network: a dotted IPv4 or an IPv6 address (inet_pton forms),
 * optionally "/PREFIX" in decimal (0..32, 0..128); without it a single
 * host. The address must have no bits set after the prefix. Returns 0, or
 * -1 with a reason (no secret: text from the caller) in err.
 */
int
cidr_parse(const char *s, struct cidr *out, char *err, size_t errsize)
{
	char addr[CIDR_TEXT_MAX];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned max, prefix;
	const char *p;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(err, errsize, "\"%.*s\" is not an address",
		    CIDR_TEXT_MAX, s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = CIDR_V4_BITS;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = CIDR_V6_BITS;
	} else {
		snprintf(err, errsize, "\"%s\" is not an IPv4 or IPv6 address",
		    addr);
		return -1;
	}
	prefix = max;
	if (slash != NULL) {
		p = slash + 1;
		/* Decimal digits only: no sign, leading zero, overflow. */
		if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
		    strlen(p) > 3 || (p[0] == '0' && p[1] != '\0') ||
		    (prefix = (unsigned)atoi(p)) > max) {
			snprintf(err, errsize, "\"%.*s\": the prefix length "
			    "must be 0..%u", CIDR_TEXT_MAX, s, max);
			return -1;
		}
	}
	if (!host_bits_clear(out->addr, max / 8, prefix)) {
		snprintf(err, errsize, "\"%.*s\" has bits set after the /%u "
		    "prefix", CIDR_TEXT_MAX, s, prefix);
		return -1;
	}
	out->prefix = prefix;
	return 0;
}

/*
 * Parse networks separated by commas and/or white space and append them to
 * l. Returns 0, or -1 with the first bad one named in err (l then holds
 * the networks before it). An empty text is an error.
 */
int
cidr_list_add(struct cidr_list *l, const char *s, char *err, size_t errsize)
{
	char one[CIDR_TEXT_MAX];
	struct cidr c, *nv;
	size_t n, ncap, added = 0;

	for (;;) {
		s += strspn(s, CIDR_SEPS);
		if (*s == '\0')
			break;
		n = strcspn(s, CIDR_SEPS);
		if (n >= sizeof(one)) {
			snprintf(err, errsize, "\"%.*s...\" is too long for a "
			    "network", CIDR_TEXT_MAX / 2, s);
			return -1;
		}
		memcpy(one, s, n);
		one[n] = '\0';
		s += n;
		if (cidr_parse(one, &c, err, errsize) == -1)
			return -1;
		if (l->n >= CIDR_LIST_MAX) {
			snprintf(err, errsize, "more than %d networks",
			    CIDR_LIST_MAX);
			return -1;
		}
		if (l->n == l->cap) {
			ncap = l->cap == 0 ? CIDR_LIST_MIN : l->cap * 2;
			if ((nv = reallocarray(l->v, ncap, sizeof(*nv))) ==
			    NULL) {
				snprintf(err, errsize, "out of memory");
				return -1;
			}
			l->v = nv;
			l->cap = ncap;
		}
		l->v[l->n++] = c;
		added++;
	}
	if (added == 0) {
		snprintf(err, errsize, "no network given");
		return -1;
	}
	return 0;
}

/* Release the list's storage and empty it; an empty list does nothing. */
void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/*
 * 1 if sa (AF_INET, or AF_INET6 including v4-mapped ::ffff:a.b.c.d, which
 * matches as the IPv4 address) is in network c, else 0.
 */
int
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const unsigned char *a;
	int family = sa->sa_family;

	if (family == AF_INET) {
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		a = (const unsigned char *)a6;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			a += 12;
		}
	} else
		return 0;
	if (family != c->family)
		return 0;
	return prefix_eq(a, c->addr, c->prefix);
}

/* 1 if sa is in some network of l, else 0 (also for an empty list). */
int
cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], sa))
			return 1;
	return 0;
}

/* 1 if networks a and b share an address (one contains the other). */
int
cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	if (a->family != b->family)
		return 0;
	return prefix_eq(a->addr, b->addr,
	    a->prefix < b->prefix ? a->prefix : b->prefix);
}

/* Write c as "ADDR/PREFIX" into buf (CIDR_TEXT_MAX bytes is enough). */
void
cidr_format(const struct cidr *c, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(c->family, c->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, size, "%s/%u", a, c->prefix);
}
