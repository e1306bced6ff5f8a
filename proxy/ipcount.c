/*
 * ipcount: open connections per client address. See ipcount.h.
 */
#include <stdlib.h>

#include "proxy/ipcount.h"

/* Entries at most: every open connection has a different address. */
#define IPCOUNT_TABLE_MAX	1000000

struct ip_entry {
	struct addrnode	 node;		/* first: the table's */
	long		 n;
};

struct ipcount {
	struct addrtab	 tab;
};

struct ipcount *
ipcount_new(void)
{
	struct ipcount *ic;

	if ((ic = calloc(1, sizeof(*ic))) == NULL)
		return NULL;
	if (addrtab_init(&ic->tab, IPCOUNT_TABLE_MAX) == -1) {
		free(ic);
		return NULL;
	}
	return ic;
}

/* NULL does nothing; every connection must have been removed. */
void
ipcount_free(struct ipcount *ic)
{
	struct addrnode *n;

	if (ic == NULL)
		return;
	while ((n = ic->tab.oldest) != NULL) {
		addrtab_remove(&ic->tab, n);
		free(n);
	}
	addrtab_free(&ic->tab);
	free(ic);
}

/*
 * One more connection from sa, unless it has max already. Returns 0, or
 * -1 (not counted) when over max or out of memory. *n gets the address's
 * count (after the addition).
 */
int
ipcount_add(struct ipcount *ic, const struct sockaddr *sa, long max, long *n)
{
	struct ip_entry *e;
	struct addrkey k;

	addrkey_from(&k, sa);
	e = (struct ip_entry *)(void *)addrtab_find(&ic->tab, &k);
	*n = e != NULL ? e->n : 0;
	if (*n >= max)
		return -1;
	if (e == NULL) {
		if (ic->tab.n >= ic->tab.max ||
		    (e = calloc(1, sizeof(*e))) == NULL)
			return -1;
		e->node.key = k;
		addrtab_insert(&ic->tab, &e->node);
	}
	*n = ++e->n;
	return 0;
}

/* A connection ipcount_add counted ended. */
void
ipcount_del(struct ipcount *ic, const struct sockaddr *sa)
{
	struct ip_entry *e;
	struct addrkey k;

	addrkey_from(&k, sa);
	e = (struct ip_entry *)(void *)addrtab_find(&ic->tab, &k);
	if (e == NULL || --e->n > 0)
		return;
	addrtab_remove(&ic->tab, &e->node);
	free(e);
}
