/*
 * auth: local password checks off the loop. See auth.h.
 */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "proxy/auth.h"

struct auth_job {
	auth_cb		*cb;		/* NULL once cancelled */
	void		*arg;
	char		*hash;
	char		*password;
	int		 ok;
};

static void
auth_work(void *arg)
{
	struct auth_job *j = arg;
	struct crypt_data *cd;
	const char *r;
	size_t hl = strlen(j->hash);

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return;
	r = crypt_rn(j->password, j->hash, cd, sizeof(*cd));
	/* crypt_rn gives "*..." on failure, which never matches a hash. */
	j->ok = r != NULL && strlen(r) == hl && hl > 0 && j->hash[0] != '*' &&
	    CRYPTO_memcmp(r, j->hash, hl) == 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	explicit_bzero(j->password, strlen(j->password));
}

static void
auth_job_free(struct auth_job *j)
{
	explicit_bzero(j->password, strlen(j->password));
	free(j->password);
	free(j->hash);
	free(j);
}

static void
auth_done(void *arg)
{
	struct auth_job *j = arg;

	if (j->cb != NULL)
		j->cb(j->arg, j->ok);
	auth_job_free(j);
}

/*
 * Check password against hash on q. Copies both (and wipes its copy of the
 * password when done). cb runs on the loop unless the job is cancelled.
 * Returns NULL when the queue is full or memory is short.
 */
struct auth_job *
auth_check(struct workq *q, const char *hash, const char *password,
    auth_cb *cb, void *arg)
{
	struct auth_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->cb = cb;
	j->arg = arg;
	j->hash = strdup(hash);
	j->password = strdup(password);
	if (j->hash == NULL || j->password == NULL)
		goto fail;
	if (workq_submit(q, auth_work, auth_done, j) == -1)
		goto fail;
	return j;
fail:
	if (j->password != NULL)
		auth_job_free(j);
	else {
		free(j->hash);
		free(j);
	}
	return NULL;
}

/* The asker is going away: cb will not run. */
void
auth_cancel(struct auth_job *j)
{
	if (j != NULL)
		j->cb = NULL;
}

/*
 * Hash password with a fresh salt for prefix ("$y$" yescrypt by default).
 * Returns 0, or -1.
 */
int
auth_hash_password(const char *password, const char *prefix, char *out,
    size_t outsize)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *r;
	int ret = -1;

	if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return -1;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	r = crypt_rn(password, salt, cd, sizeof(*cd));
	if (r != NULL && r[0] != '*' && strlen(r) < outsize) {
		strcpy(out, r);
		ret = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

/*
 * A hash of a random password, made once at start-up: checking an unknown
 * user against it costs the same time as checking a known one.
 */
int
auth_dummy_hash(char *out, size_t outsize)
{
	unsigned char rnd[16];
	char pw[sizeof(rnd) * 2 + 1];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		pw[2 * i] = 'a' + (rnd[i] & 15), pw[2 * i + 1] = 'a' + (rnd[i] >> 4);
	pw[sizeof(pw) - 1] = '\0';
	return auth_hash_password(pw, "$y$", out, outsize);
}
