/*
 * auth: checks a device's local password against its crypt(3) hash on the
 * worker pool, so the loop never runs the deliberately slow hash, and makes
 * new hashes for `authrelay hash-password`.
 */
#ifndef PROXY_AUTH_H
#define PROXY_AUTH_H

#include <stddef.h>

#include "io/workq.h"

/* Room for any hash crypt(3) makes. */
#define AUTH_HASH_MAX	512

/* Called on the loop with the verdict (1 match, 0 no match or error). */
typedef void auth_cb(void *arg, int ok);

struct auth_job;

/*
 * Check password against hash on q. Copies both (and wipes its copy of the
 * password when done). cb runs on the loop unless the job is cancelled.
 * Returns NULL when the queue is full or memory is short.
 */
struct auth_job	*auth_check(struct workq *q, const char *hash,
		    const char *password, auth_cb *cb, void *arg);
/* The asker is going away: cb will not run. */
void		 auth_cancel(struct auth_job *);
/*
 * Hash password with a fresh salt for prefix ("$y$" yescrypt by default).
 * Returns 0, or -1.
 */
int		 auth_hash_password(const char *password, const char *prefix,
		    char *out, size_t outsize);
/*
 * A hash of a random password, made once at start-up: checking an unknown
 * user against it costs the same time as checking a known one.
 */
int		 auth_dummy_hash(char *out, size_t outsize);

#endif
