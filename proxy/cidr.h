/*
 * cidr: lists of IPv4 and IPv6 networks written "ADDR/PREFIX" (or a bare
 * address, a single host), and the test whether a client address is in
 * one. Pure functions: config parses the lists, server and session match
 * client addresses against them.
 */
#ifndef PROXY_CIDR_H
#define PROXY_CIDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Limits. */
#define CIDR_TEXT_MAX	64	/* one "ADDR/PREFIX" */
#define CIDR_LIST_MAX	1024	/* networks in one list */

struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network order; 4 bytes for v4 */
	unsigned	 prefix;	/* 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr	*v;
	size_t		 n;
	size_t		 cap;
};

/*
 * Parse one network: a dotted IPv4 or an IPv6 address (inet_pton forms),
 * optionally "/PREFIX" in decimal (0..32, 0..128); without it a single
 * host. The address must have no bits set after the prefix. Returns 0, or
 * -1 with a reason (no secret: text from the caller) in err.
 */
int	cidr_parse(const char *s, struct cidr *out, char *err, size_t errsize);
/*
 * Parse networks separated by commas and/or white space and append them to
 * l. Returns 0, or -1 with the first bad one named in err (l then holds
 * the networks before it). An empty text is an error.
 */
int	cidr_list_add(struct cidr_list *l, const char *s, char *err,
	    size_t errsize);
/* Release the list's storage and empty it; an empty list does nothing. */
void	cidr_list_free(struct cidr_list *);
/*
 * 1 if sa (AF_INET, or AF_INET6 including v4-mapped ::ffff:a.b.c.d, which
 * matches as the IPv4 address) is in network c, else 0.
 */
int	cidr_match(const struct cidr *c, const struct sockaddr *sa);
/* 1 if sa is in some network of l, else 0 (also for an empty list). */
int	cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa);
/* 1 if networks a and b share an address (one contains the other). */
int	cidr_overlap(const struct cidr *a, const struct cidr *b);
/* Write c as "ADDR/PREFIX" into buf (CIDR_TEXT_MAX bytes is enough). */
void	cidr_format(const struct cidr *c, char *buf, size_t size);

#endif
