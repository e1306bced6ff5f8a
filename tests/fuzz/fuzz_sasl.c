/*
 * fuzz_sasl: libFuzzer harness for proxy/sasl, the decoders of the
 * client's AUTH PLAIN and AUTH LOGIN responses (io/b64 under them). The
 * first byte chooses the output buffer sizes (the real ones, or small
 * ones); the rest is used twice: as the base64 a client sent, and as a
 * decoded message that the harness encodes first, so that the field
 * splitting is reached by every input. Checks no crash, leak or UB (the
 * buffers are malloc'd to their exact size, so ASan sees any write past
 * them); that what is accepted fits its buffer and the limits, is at most
 * as long as the input decodes to, and encodes back to a response that
 * decodes to the same; that a refusal leaves the buffers wiped; and that
 * an encoded message is accepted exactly when a plain reading of RFC 4616
 * (authzid NUL authcid NUL passwd, authzid empty or equal to authcid) and
 * of the limits says so, with the same user and password.
 *
 *   make build/fuzz_sasl && build/fuzz_sasl tests/fuzz/corpus/sasl
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/b64.h"
#include "proxy/sasl.h"

/* Longest decoded message the decoders take: authzid NUL authcid NUL
   passwd, and one LOGIN value. */
#define FUZZ_PLAIN_MAX	(SASL_USER_MAX + 1 + SASL_USER_MAX + 1 + SASL_PASS_MAX)
#define FUZZ_LOGIN_MAX	(SASL_USER_MAX > SASL_PASS_MAX ? SASL_USER_MAX : \
			    SASL_PASS_MAX)
/* Longest message the harness encodes. */
#define FUZZ_MSG_MAX	2048

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* Output buffers of exactly the chosen sizes. */
struct fuzz_out {
	char	*user, *pass, *login;
	size_t	 usersize, passsize, loginsize;
};

static int
fuzz_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != '\0')
			return 0;
	return 1;
}

/* base64 of n bytes, malloc'd; its length in *len. */
static char *
fuzz_encode(const void *p, size_t n, size_t *len)
{
	char *enc;
	ssize_t r;

	FUZZ_CHECK((enc = malloc(B64_ENCODED_SIZE(n))) != NULL);
	r = b64_encode(p, n, enc, B64_ENCODED_SIZE(n));
	FUZZ_CHECK(r >= 0 && (size_t)r == B64_ENCODED_SIZE(n) - 1);
	*len = (size_t)r;
	return enc;
}

/* What the client sent, as it came. */
static void
fuzz_wire(const char *s, size_t n, struct fuzz_out *o)
{
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	char msg[2 + SASL_USER_MAX + SASL_PASS_MAX], *enc;
	size_t ulen, plen, enclen;

	if (sasl_plain_decode(s, n, o->user, o->usersize, o->pass,
	    o->passsize) == 0) {
		ulen = strlen(o->user);
		plen = strlen(o->pass);
		FUZZ_CHECK(ulen > 0 && ulen <= SASL_USER_MAX &&
		    ulen < o->usersize);
		FUZZ_CHECK(plen <= SASL_PASS_MAX && plen < o->passsize);
		FUZZ_CHECK(n % 4 == 0 && 2 + ulen + plen <=
		    B64_DECODED_MAX(n));
		/* The same user and password, without an authzid. */
		msg[0] = '\0';
		memcpy(msg + 1, o->user, ulen + 1);
		memcpy(msg + 2 + ulen, o->pass, plen);
		enc = fuzz_encode(msg, 2 + ulen + plen, &enclen);
		FUZZ_CHECK(sasl_plain_decode(enc, enclen, user, sizeof(user),
		    pass, sizeof(pass)) == 0);
		FUZZ_CHECK(strcmp(user, o->user) == 0 &&
		    strcmp(pass, o->pass) == 0);
		free(enc);
	} else
		FUZZ_CHECK(fuzz_zero(o->user, o->usersize) &&
		    fuzz_zero(o->pass, o->passsize));

	if (sasl_login_decode(s, n, o->login, o->loginsize) == 0) {
		ulen = strlen(o->login);
		FUZZ_CHECK(ulen <= FUZZ_LOGIN_MAX && ulen < o->loginsize);
		FUZZ_CHECK(n % 4 == 0 && ulen <= B64_DECODED_MAX(n));
		enc = fuzz_encode(o->login, ulen, &enclen);
		FUZZ_CHECK(sasl_login_decode(enc, enclen, user,
		    sizeof(user)) == 0 && strcmp(user, o->login) == 0);
		free(enc);
	} else
		FUZZ_CHECK(fuzz_zero(o->login, o->loginsize));
}

/* m as the decoded message: encoded, then decoded, against RFC 4616. */
static void
fuzz_message(const char *m, size_t n, struct fuzz_out *o)
{
	const char *nul1 = NULL, *nul2 = NULL;
	size_t zlen = 0, clen = 0, plen = 0, enclen;
	char *enc;
	int ok;

	if (n > FUZZ_MSG_MAX)
		return;
	enc = fuzz_encode(m, n, &enclen);

	ok = n <= FUZZ_PLAIN_MAX && (nul1 = memchr(m, '\0', n)) != NULL &&
	    (nul2 = memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - m))) !=
	    NULL && memchr(nul2 + 1, '\0', n - (size_t)(nul2 + 1 - m)) ==
	    NULL;
	if (ok) {
		zlen = (size_t)(nul1 - m);
		clen = (size_t)(nul2 - nul1 - 1);
		plen = n - (size_t)(nul2 + 1 - m);
		ok = clen > 0 && clen <= SASL_USER_MAX &&
		    clen < o->usersize && plen <= SASL_PASS_MAX &&
		    plen < o->passsize && (zlen == 0 || (zlen == clen &&
		    memcmp(m, nul1 + 1, clen) == 0));
	}
	FUZZ_CHECK((sasl_plain_decode(enc, enclen, o->user, o->usersize,
	    o->pass, o->passsize) == 0) == ok);
	if (ok)
		FUZZ_CHECK(strlen(o->user) == clen &&
		    memcmp(o->user, nul1 + 1, clen) == 0 &&
		    strlen(o->pass) == plen &&
		    memcmp(o->pass, nul2 + 1, plen) == 0);

	ok = n <= FUZZ_LOGIN_MAX && n < o->loginsize &&
	    memchr(m, '\0', n) == NULL;
	FUZZ_CHECK((sasl_login_decode(enc, enclen, o->login,
	    o->loginsize) == 0) == ok);
	if (ok)
		FUZZ_CHECK(strlen(o->login) == n &&
		    memcmp(o->login, m, n) == 0);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_out o;
	const char *s;
	size_t n;

	if (size < 1)
		return 0;
	/* High bit: small buffers, to reach "does not fit". */
	if (data[0] & 0x80) {
		o.usersize = 1 + (data[0] & 0x0f);
		o.passsize = 1 + (data[0] >> 4 & 0x07) * 3;
		o.loginsize = o.usersize + o.passsize;
	} else {
		o.usersize = SASL_USER_MAX + 1;
		o.passsize = SASL_PASS_MAX + 1;
		o.loginsize = FUZZ_LOGIN_MAX + 1;
	}
	FUZZ_CHECK((o.user = malloc(o.usersize)) != NULL);
	FUZZ_CHECK((o.pass = malloc(o.passsize)) != NULL);
	FUZZ_CHECK((o.login = malloc(o.loginsize)) != NULL);
	s = (const char *)data + 1;
	n = size - 1;

	fuzz_wire(s, n, &o);
	fuzz_message(s, n, &o);

	free(o.user);
	free(o.pass);
	free(o.login);
	return 0;
}
