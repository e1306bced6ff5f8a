/*
 * sasl: decoding of the client's AUTH PLAIN and AUTH LOGIN responses
 * (RFC 4616, draft-murchison-sasl-login). Every decoded byte passes through
 * a stack buffer that is wiped before return. See sasl.h.
 */
#include <string.h>

#include "io/b64.h"
#include "proxy/sasl.h"

/* Longest decoded PLAIN message: authzid NUL authcid NUL passwd. */
#define SASL_PLAIN_MAX	(SASL_USER_MAX + 1 + SASL_USER_MAX + 1 + SASL_PASS_MAX)
/* Longest decoded LOGIN value: a user name or a password. */
#define SASL_LOGIN_MAX	(SASL_USER_MAX > SASL_PASS_MAX ? SASL_USER_MAX : \
			    SASL_PASS_MAX)

/* Copy n bytes to dst as a string. Returns 0, or -1 if they do not fit. */
static int
sasl_copy(char *dst, size_t dstsize, const char *src, size_t n, size_t max)
{
	if (n > max || n >= dstsize)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/*
 * Decode a base64 PLAIN response "authzid NUL authcid NUL passwd" into user
 * (the authcid) and pass, both NUL-terminated. An authzid, if present, must
 * equal the authcid. Returns 0, or -1 on bad base64, a wrong number of
 * fields, an empty authcid, a NUL in the password, or a field that does not
 * fit.
 */
int
sasl_plain_decode(const char *b64, size_t n, char *user, size_t usersize,
    char *pass, size_t passsize)
{
	char msg[SASL_PLAIN_MAX];
	const char *authzid, *authcid, *passwd, *nul;
	size_t zlen, clen, plen;
	ssize_t len;

	if ((len = b64_decode(b64, n, msg, sizeof(msg))) == -1)
		goto fail;

	authzid = msg;
	if ((nul = memchr(authzid, '\0', (size_t)len)) == NULL)
		goto fail;
	zlen = (size_t)(nul - authzid);
	authcid = nul + 1;
	if ((nul = memchr(authcid, '\0', (size_t)len - zlen - 1)) == NULL)
		goto fail;
	clen = (size_t)(nul - authcid);
	passwd = nul + 1;
	plen = (size_t)len - zlen - 1 - clen - 1;
	if (memchr(passwd, '\0', plen) != NULL)
		goto fail;

	if (clen == 0)
		goto fail;
	if (zlen > 0 && (zlen != clen || memcmp(authzid, authcid, clen) != 0))
		goto fail;
	if (sasl_copy(user, usersize, authcid, clen, SASL_USER_MAX) == -1 ||
	    sasl_copy(pass, passsize, passwd, plen, SASL_PASS_MAX) == -1)
		goto fail;

	explicit_bzero(msg, sizeof(msg));
	return 0;

fail:
	explicit_bzero(msg, sizeof(msg));
	if (usersize > 0)
		explicit_bzero(user, usersize);
	if (passsize > 0)
		explicit_bzero(pass, passsize);
	return -1;
}

/*
 * Decode one base64 LOGIN response (a user name or a password) into out,
 * NUL-terminated. Returns 0, or -1 on bad base64, an embedded NUL, or a
 * value that does not fit.
 */
int
sasl_login_decode(const char *b64, size_t n, char *out, size_t outsize)
{
	char val[SASL_LOGIN_MAX];
	ssize_t len;

	if ((len = b64_decode(b64, n, val, sizeof(val))) == -1)
		goto fail;
	if (memchr(val, '\0', (size_t)len) != NULL)
		goto fail;
	if (sasl_copy(out, outsize, val, (size_t)len, SASL_LOGIN_MAX) == -1)
		goto fail;

	explicit_bzero(val, sizeof(val));
	return 0;

fail:
	explicit_bzero(val, sizeof(val));
	if (outsize > 0)
		explicit_bzero(out, outsize);
	return -1;
}
