/*
 * addrtab: a bounded table of client addresses, the way defences count
 * them: an IPv4 address whole, an IPv6 address by its /64 (one host's
 * usual share). Intrusive: callers embed a struct addrnode in their own
 * entries and own their memory. Buckets are chosen by a hash keyed with a
 * random seed, so that addresses cannot be picked to pile into one bucket.
 * Entries are kept in least-recently-used order, for eviction.
 */
#ifndef PROXY_ADDRTAB_H
#define PROXY_ADDRTAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDRKEY_LEN	16

/* An address as the table counts it. */
struct addrkey {
	unsigned char	 b[ADDRKEY_LEN];
};

struct addrnode {
	struct addrkey	 key;
	struct addrnode	*hnext;			/* bucket chain */
	struct addrnode	*older, *newer;		/* use order */
};

struct addrtab {
	struct addrnode	**buckets;
	size_t		 nbuckets;		/* a power of two */
	size_t		 n, max;
	struct addrnode	*oldest, *newest;
	uint64_t	 seed;
};

/*
 * The key of sa: IPv4 (and IPv4-mapped IPv6) whole, other IPv6 by /64.
 * Returns 0, or -1 for another family (then the key is all zero).
 */
int		 addrkey_from(struct addrkey *, const struct sockaddr *sa);
/* A table for at most max entries. -1 when out of memory. */
int		 addrtab_init(struct addrtab *, size_t max);
/* Release the buckets (the entries are the caller's). */
void		 addrtab_free(struct addrtab *);
struct addrnode	*addrtab_find(const struct addrtab *, const struct addrkey *);
/* Add node (its key set; not in the table; the table below max). */
void		 addrtab_insert(struct addrtab *, struct addrnode *);
void		 addrtab_remove(struct addrtab *, struct addrnode *);
/* node was used now: it becomes the newest. */
void		 addrtab_touch(struct addrtab *, struct addrnode *);
/* The key as text, "192.0.2.1" or "2001:db8::/64", for logs. */
void		 addrkey_text(const struct addrkey *, char *buf, size_t size);

#endif
