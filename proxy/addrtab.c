/*
 * addrtab: bounded tables of client addresses. See addrtab.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "proxy/addrtab.h"

/* Buckets: one per entry allowed, up to this many (chains grow past). */
#define ADDRTAB_BUCKETS_MAX	65536

/*
 * The key of sa: IPv4 (and IPv4-mapped IPv6) whole, other IPv6 by /64.
 * Returns 0, or -1 for another family (then the key is all zero).
 */
int
addrkey_from(struct addrkey *k, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	const struct sockaddr_in6 *a6 = (const void *)sa;
	const struct sockaddr_in *a4 = (const void *)sa;

	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		memcpy(k->b, mapped, sizeof(mapped));
		memcpy(k->b + 12, &a4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	if (memcmp(&a6->sin6_addr, mapped, sizeof(mapped)) == 0)
		memcpy(k->b, &a6->sin6_addr, 16);
	else
		memcpy(k->b, &a6->sin6_addr, 8);
	return 0;
}

/* The key as text, "192.0.2.1" or "2001:db8::/64", for logs. */
void
addrkey_text(const struct addrkey *k, char *buf, size_t size)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	char t[INET6_ADDRSTRLEN];

	if (memcmp(k->b, mapped, sizeof(mapped)) == 0) {
		inet_ntop(AF_INET, k->b + 12, t, sizeof(t));
		snprintf(buf, size, "%s", t);
	} else {
		inet_ntop(AF_INET6, k->b, t, sizeof(t));
		snprintf(buf, size, "%s/64", t);
	}
}

/* FNV-1a over the key, started from the table's random seed. */
static size_t
addrtab_bucket(const struct addrtab *t, const struct addrkey *k)
{
	uint64_t h = t->seed ^ 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < ADDRKEY_LEN; i++) {
		h ^= k->b[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	return (size_t)h & (t->nbuckets - 1);
}

/* A table for at most max entries. -1 when out of memory. */
int
addrtab_init(struct addrtab *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->nbuckets = 16;
	while (t->nbuckets < max && t->nbuckets < ADDRTAB_BUCKETS_MAX)
		t->nbuckets <<= 1;
	if (RAND_bytes((unsigned char *)&t->seed, sizeof(t->seed)) != 1)
		t->seed = (uint64_t)(uintptr_t)t;
	if ((t->buckets = calloc(t->nbuckets, sizeof(*t->buckets))) == NULL)
		return -1;
	return 0;
}

/* Release the buckets (the entries are the caller's). */
void
addrtab_free(struct addrtab *t)
{
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct addrnode *
addrtab_find(const struct addrtab *t, const struct addrkey *k)
{
	struct addrnode *n;

	for (n = t->buckets[addrtab_bucket(t, k)]; n != NULL; n = n->hnext)
		if (memcmp(n->key.b, k->b, ADDRKEY_LEN) == 0)
			return n;
	return NULL;
}

static void
lru_unlink(struct addrtab *t, struct addrnode *n)
{
	if (n->older != NULL)
		n->older->newer = n->newer;
	else
		t->oldest = n->newer;
	if (n->newer != NULL)
		n->newer->older = n->older;
	else
		t->newest = n->older;
	n->older = n->newer = NULL;
}

static void
lru_push(struct addrtab *t, struct addrnode *n)
{
	n->newer = NULL;
	if ((n->older = t->newest) != NULL)
		t->newest->newer = n;
	else
		t->oldest = n;
	t->newest = n;
}

/* Add node (its key set; not in the table; the table below max). */
void
addrtab_insert(struct addrtab *t, struct addrnode *n)
{
	size_t b = addrtab_bucket(t, &n->key);

	n->hnext = t->buckets[b];
	t->buckets[b] = n;
	lru_push(t, n);
	t->n++;
}

void
addrtab_remove(struct addrtab *t, struct addrnode *n)
{
	struct addrnode **pp;

	for (pp = &t->buckets[addrtab_bucket(t, &n->key)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	lru_unlink(t, n);
	t->n--;
}

/* node was used now: it becomes the newest. */
void
addrtab_touch(struct addrtab *t, struct addrnode *n)
{
	lru_unlink(t, n);
	lru_push(t, n);
}
