/*
 * ipcount: open connections per client address (addrtab.h: IPv4 /32,
 * IPv6 /64), for max_connections_per_ip. An address has an entry only
 * while it has connections, so the table never holds more than the
 * connections open.
 */
#ifndef PROXY_IPCOUNT_H
#define PROXY_IPCOUNT_H

#include <sys/socket.h>

#include "proxy/addrtab.h"

struct ipcount;

struct ipcount	*ipcount_new(void);
/* NULL does nothing; every connection must have been removed. */
void		 ipcount_free(struct ipcount *);
/*
 * One more connection from sa, unless it has max already. Returns 0, or
 * -1 (not counted) when over max or out of memory. *n gets the address's
 * count (after the addition).
 */
int		 ipcount_add(struct ipcount *, const struct sockaddr *sa,
		    long max, long *n);
/* A connection ipcount_add counted ended. */
void		 ipcount_del(struct ipcount *, const struct sockaddr *sa);

#endif
