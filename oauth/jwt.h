/*
 * jwt: RS256 JSON Web Tokens (RFC 7519, RFC 7515 compact form) for the two
 * grants that sign one: a client assertion (RFC 7523; Microsoft certificate
 * credentials) and a Google service account's JWT bearer grant. The header
 * and claims are written in a fixed order, so the signing input of given
 * values is byte-exact; the signature is RSA PKCS#1 v1.5 with SHA-256
 * through EVP_DigestSign. Also reads a service account's JSON key and PEM
 * keys and certificates from memory. No file I/O.
 */
#ifndef OAUTH_JWT_H
#define OAUTH_JWT_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "io/b64.h"

/* Size of the base64url of n bytes, NUL included, at most. */
#define JWT_B64URL_SIZE(n)	B64_ENCODED_SIZE(n)
/* Size of an x5t (SHA-1) and an x5t#S256 (SHA-256) thumbprint, NUL in. */
#define JWT_X5T_SIZE		JWT_B64URL_SIZE(20)
#define JWT_X5T_S256_SIZE	JWT_B64URL_SIZE(32)
/* Largest JSON key or PEM text taken. */
#define JWT_TEXT_MAX		65536
/* Longest string claim or header value. */
#define JWT_VALUE_MAX		2048

/* Header: {"alg":"RS256","typ":"JWT"[,"kid"][,"x5t"][,"x5t#S256"]}. */
struct jwt_header {
	const char	*kid;		/* NULL: absent */
	const char	*x5t;		/* NULL: absent */
	const char	*x5t_s256;	/* NULL: absent */
};

/* Claims, in this order; NULL strings and 0 times are left out. */
struct jwt_claims {
	const char	*iss;
	const char	*sub;
	const char	*aud;
	const char	*scope;
	const char	*jti;
	long long	 iat;
	long long	 nbf;
	long long	 exp;
};

/* A Google service account's JSON key file: the members we use. */
struct jwt_service_account {
	char	*client_email;
	char	*private_key;		/* PEM; secret */
	char	*private_key_id;	/* NULL if absent */
	char	*token_uri;		/* NULL if absent */
};

/*
 * base64url (RFC 4648 section 5) of n bytes into dst, without padding,
 * NUL-terminated. Returns the length, or -1 if dstsize is too small.
 */
ssize_t	jwt_b64url(const void *src, size_t n, char *dst, size_t dstsize);
/*
 * The signing input base64url(header) "." base64url(claims), the JSON
 * compact and in the order of the structs. Returns a malloc'd string, or
 * NULL when out of memory or a value is longer than JWT_VALUE_MAX.
 */
char	*jwt_signing_input(const struct jwt_header *,
	    const struct jwt_claims *);
/*
 * Sign input with the RSA key: returns the malloc'd compact JWT
 * input "." base64url(signature) (a credential: wipe it), or NULL with a
 * reason in err when the key is not RSA or OpenSSL fails.
 */
char	*jwt_sign(const char *input, EVP_PKEY *key, char *err,
	    size_t errsize);
/*
 * Thumbprints of cert: base64url of the SHA-1 (x5t) and of the SHA-256
 * (x5t#S256) of its DER encoding. Returns 0, or -1.
 */
int	jwt_thumbprints(X509 *cert, char x5t[JWT_X5T_SIZE],
	    char x5t_s256[JWT_X5T_S256_SIZE]);
/*
 * A private key from PEM text (len bytes; not encrypted: nothing prompts).
 * Returns it, or NULL with a reason in err.
 */
EVP_PKEY *jwt_key_from_pem(const char *pem, size_t len, char *err,
	    size_t errsize);
/* The first certificate in PEM text (len bytes), or NULL with a reason. */
X509	*jwt_cert_from_pem(const char *pem, size_t len, char *err,
	    size_t errsize);
/*
 * Parse a service account JSON key (len bytes): "type" must be
 * "service_account" if present, client_email and private_key are required.
 * Returns 0 and fills *sa (free with jwt_service_account_clear), or -1 with
 * a reason in err that never quotes the file.
 */
int	jwt_service_account_parse(const char *text, size_t len,
	    struct jwt_service_account *sa, char *err, size_t errsize);
/* Wipe and free the strings of sa; safe on a zeroed struct. */
void	jwt_service_account_clear(struct jwt_service_account *sa);

#endif
