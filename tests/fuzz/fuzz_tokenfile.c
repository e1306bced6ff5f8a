/*
 * fuzz_tokenfile: libFuzzer harness for the files the daemon and the
 * command line read besides the config: a token file (oauth/store
 * store_read, plain or sealed), a sealed envelope (oauth/seal seal_unwrap
 * with a fixed test key), a Google service account key
 * (jwt_service_account_parse) and a PEM private key or certificate
 * (jwt_key_from_pem, jwt_cert_from_pem). The input is written as the token
 * file of account "fuzz", mode 0600, in a private directory (under
 * /dev/shm when there is one: store_write's fsyncs cost nothing there),
 * removed at exit. Checks no crash, leak or UB, and:
 * - a token file read has a non-empty refresh_token, an expires_at >= 0
 *   and none without an access_token;
 * - reading with a key gives what reading without one gives, for any file
 *   that is not sealed;
 * - the input sealed with the key (seal_wrap) opens to exactly the input,
 *   does not open under another account's name or without a key, and read
 *   as a token file gives what the plain file gives;
 * - a token file read, written back (store_write, plain and sealed) and
 *   read again gives the same tokens.
 *
 *   make build/fuzz_tokenfile && build/fuzz_tokenfile \
 *	tests/fuzz/corpus/tokenfile
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "oauth/jwt.h"
#include "oauth/seal.h"
#include "oauth/store.h"

#define FUZZ_ACCOUNT	"fuzz"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* A fixed test key: 32 bytes 0x00..0x1f. */
static unsigned char fuzz_key[STORE_KEY_LEN];
static char fuzz_dir[PATH_MAX];
static char fuzz_file[PATH_MAX];

static void
fuzz_cleanup(void)
{
	unlink(fuzz_file);
	rmdir(fuzz_dir);
}

/* The private directory and the key, once per process. */
static void
fuzz_setup(void)
{
	const char *base;
	size_t i;

	if (fuzz_dir[0] != '\0')
		return;
	for (i = 0; i < sizeof(fuzz_key); i++)
		fuzz_key[i] = (unsigned char)i;
	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (base == NULL)
		base = "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/authrelay-fuzz-XXXXXX",
	    base);
	FUZZ_CHECK(mkdtemp(fuzz_dir) != NULL);
	FUZZ_CHECK(store_path(fuzz_dir, FUZZ_ACCOUNT, fuzz_file,
	    sizeof(fuzz_file)) == 0);
	atexit(fuzz_cleanup);
}

/* The token file holds exactly these n bytes, mode 0600. */
static void
fuzz_write(const void *p, size_t n)
{
	int fd;

	FUZZ_CHECK((fd = open(fuzz_file, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) != -1);
	FUZZ_CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
	FUZZ_CHECK(close(fd) == 0);
}

static int
fuzz_streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
fuzz_same(int ra, const struct stored_token *a, int rb,
    const struct stored_token *b)
{
	FUZZ_CHECK(ra == rb);
	if (ra != 0)
		return;
	FUZZ_CHECK(fuzz_streq(a->refresh_token, b->refresh_token) &&
	    fuzz_streq(a->access_token, b->access_token) &&
	    fuzz_streq(a->scope, b->scope) && a->expires_at == b->expires_at);
}

/* Read the token file, with or without the key, and check what it gave. */
static int
fuzz_read(const unsigned char *key, struct stored_token *t)
{
	char err[512];
	int r;

	err[0] = 'x';
	r = store_read(fuzz_dir, key, FUZZ_ACCOUNT, t, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -1);
	if (r == 0) {
		FUZZ_CHECK(t->refresh_token != NULL &&
		    t->refresh_token[0] != '\0');
		FUZZ_CHECK(t->expires_at >= 0);
		FUZZ_CHECK(t->access_token != NULL || t->expires_at == 0);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL &&
		    err[0] != '\0');
		FUZZ_CHECK(t->refresh_token == NULL &&
		    t->access_token == NULL && t->scope == NULL);
	}
	return r;
}

/* The input as a sealed envelope of its own. */
static void
fuzz_unwrap(const char *s, size_t n)
{
	char err[256], *out;
	ssize_t r;

	FUZZ_CHECK((out = malloc(n + 1)) != NULL);
	r = seal_unwrap(fuzz_key, FUZZ_ACCOUNT, s, n, out, n + 1, err,
	    sizeof(err));
	FUZZ_CHECK(r == -1 || (r >= 0 && (size_t)r < n + 1));
	if (r == -1)
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL &&
		    err[0] != '\0');
	(void)seal_is_sealed(s, n);
	free(out);
}

/*
 * The input sealed by us: it opens to itself, only under its account and
 * key; as a token file it reads as the plain one did (plain_r, plain).
 */
static void
fuzz_sealed(const char *s, size_t n, int plain_r,
    const struct stored_token *plain)
{
	struct stored_token t;
	char err[256], *sealed, *out;
	size_t size = SEAL_SEALED_SIZE(n);
	ssize_t len, r;

	FUZZ_CHECK((sealed = malloc(size)) != NULL);
	FUZZ_CHECK((out = malloc(n + 1)) != NULL);
	len = seal_wrap(fuzz_key, FUZZ_ACCOUNT, s, n, sealed, size);
	FUZZ_CHECK(len > 0 && (size_t)len < size);
	FUZZ_CHECK(seal_is_sealed(sealed, (size_t)len));
	r = seal_unwrap(fuzz_key, FUZZ_ACCOUNT, sealed, (size_t)len, out,
	    n + 1, err, sizeof(err));
	FUZZ_CHECK(r == (ssize_t)n && memcmp(out, s, n) == 0);
	FUZZ_CHECK(seal_unwrap(fuzz_key, FUZZ_ACCOUNT "2", sealed,
	    (size_t)len, out, n + 1, err, sizeof(err)) == -1);

	if ((size_t)len <= STORE_FILE_MAX) {
		fuzz_write(sealed, (size_t)len);
		FUZZ_CHECK(fuzz_read(NULL, &t) == -1);
		/* A plain file that looks sealed is refused unopened. */
		if (!seal_is_sealed(s, n))
			fuzz_same(plain_r, plain, fuzz_read(fuzz_key, &t), &t);
		store_token_clear(&t);
	}
	free(out);
	free(sealed);
}

/* What was read, written back plain and sealed, reads the same. */
static void
fuzz_rewrite(const struct stored_token *t0)
{
	const unsigned char *keys[] = { NULL, fuzz_key };
	struct stored_token t;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		FUZZ_CHECK(store_write(fuzz_dir, keys[i], FUZZ_ACCOUNT, t0,
		    err, sizeof(err)) == 0);
		fuzz_same(0, t0, fuzz_read(fuzz_key, &t), &t);
		store_token_clear(&t);
	}
}

static void
fuzz_jwt(const char *s, size_t n)
{
	struct jwt_service_account sa;
	char err[256];
	EVP_PKEY *key;
	X509 *cert;

	if (jwt_service_account_parse(s, n, &sa, err, sizeof(err)) == 0)
		FUZZ_CHECK(sa.client_email != NULL &&
		    sa.client_email[0] != '\0' && sa.private_key != NULL &&
		    sa.private_key[0] != '\0');
	else
		FUZZ_CHECK(sa.client_email == NULL && sa.private_key == NULL &&
		    sa.private_key_id == NULL && sa.token_uri == NULL);
	jwt_service_account_clear(&sa);
	/* OpenSSL's decoders cost a millisecond a try: only PEM-looking
	   input is worth it (anything else has no BEGIN line to find). */
	if (memmem(s, n, "-----BEGIN ", strlen("-----BEGIN ")) == NULL)
		return;
	if ((key = jwt_key_from_pem(s, n, err, sizeof(err))) != NULL)
		EVP_PKEY_free(key);
	if ((cert = jwt_cert_from_pem(s, n, err, sizeof(err))) != NULL)
		X509_free(cert);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stored_token plain, keyed;
	const char *s = (const char *)data;
	int r;

	memset(&keyed, 0, sizeof(keyed));
	fuzz_setup();
	fuzz_unwrap(s, size);
	fuzz_jwt(s, size);

	fuzz_write(s, size);
	r = fuzz_read(NULL, &plain);
	if (size > STORE_FILE_MAX)
		FUZZ_CHECK(r == -1);
	if (!seal_is_sealed(s, size))
		fuzz_same(r, &plain, fuzz_read(fuzz_key, &keyed), &keyed);
	else
		FUZZ_CHECK(r == -1);
	store_token_clear(&keyed);
	fuzz_sealed(s, size, r, &plain);
	if (r == 0)
		fuzz_rewrite(&plain);
	store_token_clear(&plain);
	return 0;
}
