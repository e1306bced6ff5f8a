/*
 * sasl: decoding of the client's AUTH PLAIN and AUTH LOGIN responses
 * (RFC 4616, draft-murchison-sasl-login). Pure functions.
 */
#ifndef PROXY_SASL_H
#define PROXY_SASL_H

#include <stddef.h>

/* Limits on what a client may send (names and passwords, decoded). */
#define SASL_USER_MAX	256
#define SASL_PASS_MAX	256

/*
 * Decode a base64 PLAIN response "authzid NUL authcid NUL passwd" into user
 * (the authcid) and pass, both NUL-terminated. An authzid, if present, must
 * equal the authcid. Returns 0, or -1 on bad base64, a wrong number of
 * fields, an empty authcid, a NUL in the password, or a field that does not
 * fit.
 */
int	sasl_plain_decode(const char *b64, size_t n, char *user,
	    size_t usersize, char *pass, size_t passsize);

/*
 * Decode one base64 LOGIN response (a user name or a password) into out,
 * NUL-terminated. Returns 0, or -1 on bad base64, an embedded NUL, or a
 * value that does not fit.
 */
int	sasl_login_decode(const char *b64, size_t n, char *out, size_t outsize);

#endif
