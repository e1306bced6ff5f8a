/*
 * mock_token: the access tokens the mock provider has issued and when each
 * expires. A token is "ya29.mock-<n>-<32 hex>"; n indexes the table, so a
 * lookup is one comparison. Thread-safe.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "tests/mock-provider/mock.h"

#define TOKEN_PREFIX		"ya29.mock-"
#define TOKEN_RANDOM_BYTES	16		/* 32 hex digits */
#define TOKEN_TABLE_INIT	64

struct issued {
	char		 token[MOCK_TOKEN_MAX];
	int64_t		 expires_ms;	/* mock_now_ms() time */
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct issued *table;		/* table[n - 1] is token n */
static size_t table_len, table_cap;

/* Monotonic clock in milliseconds. */
int64_t
mock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Issue a new access token into out (MOCK_TOKEN_MAX). 0 / -1. */
int
mock_token_issue(char *out, size_t outsize, long ttl)
{
	unsigned char rnd[TOKEN_RANDOM_BYTES];
	char hex[2 * TOKEN_RANDOM_BYTES + 1];
	struct issued *t;
	size_t i, ncap;
	int n;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return (-1);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);

	pthread_mutex_lock(&table_lock);
	if (table_len == table_cap) {
		ncap = table_cap ? table_cap * 2 : TOKEN_TABLE_INIT;
		if ((t = realloc(table, ncap * sizeof(*t))) == NULL)
			goto fail;
		table = t;
		table_cap = ncap;
	}
	t = &table[table_len];
	n = snprintf(t->token, sizeof(t->token), TOKEN_PREFIX "%zu-%s",
	    table_len + 1, hex);
	if (n < 0 || (size_t)n >= sizeof(t->token) || (size_t)n >= outsize)
		goto fail;
	t->expires_ms = mock_now_ms() + (int64_t)ttl * 1000;
	memcpy(out, t->token, (size_t)n + 1);
	table_len++;
	pthread_mutex_unlock(&table_lock);
	return (0);

fail:
	pthread_mutex_unlock(&table_lock);
	return (-1);
}

/* Whether token was issued here and has not expired. */
int
mock_token_valid(const char *token)
{
	const char *p;
	char *end;
	unsigned long long n;
	int ok = 0;

	if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
		return (0);
	p = token + strlen(TOKEN_PREFIX);
	if (*p < '1' || *p > '9')
		return (0);
	errno = 0;
	n = strtoull(p, &end, 10);
	if (errno != 0 || *end != '-')
		return (0);

	pthread_mutex_lock(&table_lock);
	if (n <= table_len && strcmp(table[n - 1].token, token) == 0 &&
	    mock_now_ms() < table[n - 1].expires_ms)
		ok = 1;
	pthread_mutex_unlock(&table_lock);
	return (ok);
}
