/*
 * mock_token: the access tokens the mock provider has issued and when each
 * expires, and the set of valid refresh tokens. An access token is
 * "ya29.mock-<n>-<32 hex>"; n indexes the table, so a lookup is one
 * comparison. A rotated (microsoft style) refresh token is
 * "mock-rt-<n>-<32 hex>". The refresh token set is mirrored in
 * DIR/refresh-tokens, one a line, oldest first, newest last, rewritten
 * atomically under the set's lock on every change. Thread-safe.
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
#define RT_PREFIX		"mock-rt-"
#define RT_FILE			"refresh-tokens"
#define RT_MAX			10000	/* valid refresh tokens kept; beyond,
					   the oldest is dropped */

struct issued {
	char		 token[MOCK_TOKEN_MAX];
	int64_t		 expires_ms;	/* mock_now_ms() time */
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct issued *table;		/* table[n - 1] is token n */
static size_t table_len, table_cap;

/* The valid refresh tokens, oldest first; rts[i] is malloc'ed. */
static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static char *rts[RT_MAX];
static size_t rt_len;
static unsigned long rt_issued;

/* Monotonic clock in milliseconds. */
int64_t
mock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A new random token "<prefix><n>-<32 hex>" into out; 0 / -1. */
int
mock_random_token(char *out, size_t outsize, const char *prefix,
    unsigned long num)
{
	unsigned char rnd[TOKEN_RANDOM_BYTES];
	char hex[2 * TOKEN_RANDOM_BYTES + 1];
	size_t i;
	int n;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return (-1);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	n = snprintf(out, outsize, "%s%lu-%s", prefix, num, hex);
	if (n < 0 || (size_t)n >= outsize)
		return (-1);
	return (0);
}

/* Issue a new access token into out (MOCK_TOKEN_MAX). 0 / -1. */
int
mock_token_issue(char *out, size_t outsize, long ttl)
{
	struct issued *t;
	size_t ncap;

	pthread_mutex_lock(&table_lock);
	if (table_len == table_cap) {
		ncap = table_cap ? table_cap * 2 : TOKEN_TABLE_INIT;
		if ((t = realloc(table, ncap * sizeof(*t))) == NULL)
			goto fail;
		table = t;
		table_cap = ncap;
	}
	t = &table[table_len];
	if (mock_random_token(t->token, sizeof(t->token), TOKEN_PREFIX,
	    (unsigned long)table_len + 1) == -1 ||
	    strlen(t->token) >= outsize)
		goto fail;
	t->expires_ms = mock_now_ms() + (int64_t)ttl * 1000;
	memcpy(out, t->token, strlen(t->token) + 1);
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

/* Rewrite DIR/refresh-tokens from the set. Called with rt_lock held. */
static int
rt_write(void)
{
	struct mock_dbuf b = { NULL, 0, 0 };
	size_t i;
	int rc = -1;

	/* An empty set is an empty file, not a file with one blank line. */
	if (mock_dbuf_add(&b, "", 0) == -1)
		goto done;
	for (i = 0; i < rt_len; i++)
		if (mock_dbuf_add(&b, rts[i], strlen(rts[i])) == -1 ||
		    mock_dbuf_add(&b, "\n", 1) == -1)
			goto done;
	rc = mock_file_write(RT_FILE, b.p, b.len);

done:
	mock_dbuf_free(&b);
	return (rc);
}

/* Write DIR/refresh-tokens for the first time. 0 / -1. */
int
mock_rt_init(void)
{
	int rc;

	pthread_mutex_lock(&rt_lock);
	if (rt_len == 0 &&
	    (rts[0] = strdup(mock_opts.refresh_token)) != NULL)
		rt_len = 1;
	rc = rt_len == 1 ? rt_write() : -1;
	pthread_mutex_unlock(&rt_lock);
	return (rc);
}

/* Whether rt is a valid refresh token. */
int
mock_rt_valid(const char *rt)
{
	size_t i;
	int ok = 0;

	pthread_mutex_lock(&rt_lock);
	for (i = 0; i < rt_len && !ok; i++)
		ok = strcmp(rts[i], rt) == 0;
	pthread_mutex_unlock(&rt_lock);
	return (ok);
}

/*
 * The refresh token to hand out with a new grant, into out
 * (MOCK_TOKEN_MAX): google style the configured one, microsoft style a new
 * one added to the set. If used is not NULL it is the token the client
 * redeemed, removed from the set when --revoke-old. 0 / -1.
 */
int
mock_rt_grant(char *out, size_t outsize, const char *used)
{
	char *rt = NULL;
	size_t i;
	int rc = -1;

	if (mock_opts.style == MOCK_STYLE_GOOGLE) {
		if (strlen(mock_opts.refresh_token) >= outsize)
			return (-1);
		memcpy(out, mock_opts.refresh_token,
		    strlen(mock_opts.refresh_token) + 1);
		return (0);
	}
	if ((rt = malloc(MOCK_TOKEN_MAX)) == NULL)
		return (-1);
	pthread_mutex_lock(&rt_lock);
	if (mock_random_token(rt, MOCK_TOKEN_MAX, RT_PREFIX,
	    ++rt_issued) == -1 || strlen(rt) >= outsize)
		goto done;
	if (used != NULL && mock_opts.revoke_old) {
		for (i = 0; i < rt_len; i++)
			if (strcmp(rts[i], used) == 0)
				break;
		if (i < rt_len) {
			free(rts[i]);
			memmove(&rts[i], &rts[i + 1],
			    (rt_len - i - 1) * sizeof(rts[0]));
			rt_len--;
		}
	}
	if (rt_len == RT_MAX) {
		free(rts[0]);
		memmove(&rts[0], &rts[1], (rt_len - 1) * sizeof(rts[0]));
		rt_len--;
	}
	memcpy(out, rt, strlen(rt) + 1);
	rts[rt_len++] = rt;
	rt = NULL;
	/* The file is the tests' view: it must say what was granted. */
	rc = rt_write();

done:
	pthread_mutex_unlock(&rt_lock);
	free(rt);
	return (rc);
}
