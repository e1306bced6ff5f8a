/*
 * jwt: RS256 JSON Web Tokens for client assertions and service accounts,
 * service account key files, PEM keys and certificates. See jwt.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "io/errf.h"
#include "io/b64.h"
#include "oauth/jwt.h"
#include "oauth/wipe.h"

/* The only algorithm written. */
#define JWT_ALG			"RS256"
/* Largest RSA signature (16384-bit keys). */
#define JWT_SIG_MAX		2048
/* Bytes of a SHA-1 and a SHA-256 digest. */
#define JWT_SHA1_LEN		20
#define JWT_SHA256_LEN		32
/* What "type" says in a service account key file. */
#define JWT_SA_TYPE		"service_account"


/*
 * base64url (RFC 4648 section 5) of n bytes into dst, without padding,
 * NUL-terminated. Returns the length, or -1 if dstsize is too small.
 */
ssize_t
jwt_b64url(const void *src, size_t n, char *dst, size_t dstsize)
{
	ssize_t len, i;

	if ((len = b64_encode(src, n, dst, dstsize)) == -1)
		return -1;
	while (len > 0 && dst[len - 1] == '=')
		dst[--len] = '\0';
	for (i = 0; i < len; i++) {
		if (dst[i] == '+')
			dst[i] = '-';
		else if (dst[i] == '/')
			dst[i] = '_';
	}
	return len;
}

/* Add the string member key unless value is NULL. */
static int
jwt_set_str(json_t *o, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	if (strlen(value) > JWT_VALUE_MAX)
		return -1;
	return json_object_set_new(o, key, json_string(value));
}

/* Add the integer member key unless value is 0. */
static int
jwt_set_int(json_t *o, const char *key, long long value)
{
	if (value == 0)
		return 0;
	return json_object_set_new(o, key, json_integer((json_int_t)value));
}

/* base64url of o's compact JSON, malloc'd; NULL on failure. */
static char *
jwt_encode_json(json_t *o)
{
	const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
	char *json = NULL, *out = NULL;
	size_t n, size;

	if (o == NULL || (n = json_dumpb(o, NULL, 0, flags)) == 0 ||
	    (json = malloc(n)) == NULL || json_dumpb(o, json, n, flags) != n)
		goto done;
	size = JWT_B64URL_SIZE(n);
	if ((out = malloc(size)) == NULL)
		goto done;
	if (jwt_b64url(json, n, out, size) == -1) {
		free(out);
		out = NULL;
	}
done:
	free(json);
	return out;
}

/*
 * The signing input base64url(header) "." base64url(claims), the JSON
 * compact and in the order of the structs. Returns a malloc'd string, or
 * NULL when out of memory or a value is longer than JWT_VALUE_MAX.
 */
char *
jwt_signing_input(const struct jwt_header *h, const struct jwt_claims *c)
{
	json_t *ho = NULL, *co = NULL;
	char *hs = NULL, *cs = NULL, *out = NULL;
	size_t n;

	wipe_json_init();
	if ((ho = json_object()) == NULL || (co = json_object()) == NULL)
		goto done;
	if (jwt_set_str(ho, "alg", JWT_ALG) || jwt_set_str(ho, "typ", "JWT") ||
	    jwt_set_str(ho, "kid", h->kid) || jwt_set_str(ho, "x5t", h->x5t) ||
	    jwt_set_str(ho, "x5t#S256", h->x5t_s256))
		goto done;
	if (jwt_set_str(co, "iss", c->iss) || jwt_set_str(co, "sub", c->sub) ||
	    jwt_set_str(co, "aud", c->aud) ||
	    jwt_set_str(co, "scope", c->scope) ||
	    jwt_set_str(co, "jti", c->jti) || jwt_set_int(co, "iat", c->iat) ||
	    jwt_set_int(co, "nbf", c->nbf) || jwt_set_int(co, "exp", c->exp))
		goto done;
	if ((hs = jwt_encode_json(ho)) == NULL ||
	    (cs = jwt_encode_json(co)) == NULL)
		goto done;
	n = strlen(hs) + 1 + strlen(cs) + 1;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s.%s", hs, cs);
done:
	free(hs);
	free(cs);
	json_decref(ho);
	json_decref(co);
	return out;
}

/*
 * Sign input with the RSA key: returns the malloc'd compact JWT
 * input "." base64url(signature) (a credential: wipe it), or NULL with a
 * reason in err when the key is not RSA or OpenSSL fails.
 */
char *
jwt_sign(const char *input, EVP_PKEY *key, char *err, size_t errsize)
{
	unsigned char sig[JWT_SIG_MAX];
	char sig64[JWT_B64URL_SIZE(JWT_SIG_MAX)];
	EVP_MD_CTX *md = NULL;
	size_t siglen = sizeof(sig), n;
	char *out = NULL;

	if (key == NULL || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		errf(err, errsize, "the key is not an RSA key (RS256 needs "
		    "one)");
		return NULL;
	}
	if (EVP_PKEY_get_size(key) > JWT_SIG_MAX) {
		errf(err, errsize, "the RSA key is larger than %d bits",
		    JWT_SIG_MAX * 8);
		return NULL;
	}
	ERR_clear_error();
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1 ||
	    jwt_b64url(sig, siglen, sig64, sizeof(sig64)) == -1) {
		errf(err, errsize, "cannot sign the JWT with the key");
		goto done;
	}
	n = strlen(input) + 1 + strlen(sig64) + 1;
	if ((out = malloc(n)) == NULL) {
		errf(err, errsize, "out of memory");
		goto done;
	}
	snprintf(out, n, "%s.%s", input, sig64);
done:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return out;
}

/*
 * Thumbprints of cert: base64url of the SHA-1 (x5t) and of the SHA-256
 * (x5t#S256) of its DER encoding. Returns 0, or -1.
 */
int
jwt_thumbprints(X509 *cert, char x5t[JWT_X5T_SIZE],
    char x5t_s256[JWT_X5T_S256_SIZE])
{
	unsigned char d1[JWT_SHA1_LEN], d256[JWT_SHA256_LEN];
	unsigned int n1 = sizeof(d1), n256 = sizeof(d256);

	if (cert == NULL || X509_digest(cert, EVP_sha1(), d1, &n1) != 1 ||
	    X509_digest(cert, EVP_sha256(), d256, &n256) != 1 ||
	    n1 != sizeof(d1) || n256 != sizeof(d256))
		return -1;
	if (jwt_b64url(d1, n1, x5t, JWT_X5T_SIZE) == -1 ||
	    jwt_b64url(d256, n256, x5t_s256, JWT_X5T_S256_SIZE) == -1)
		return -1;
	return 0;
}

/* OpenSSL asks for a passphrase: there is none, and nobody to prompt. */
static int
jwt_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * A private key from PEM text (len bytes; not encrypted: nothing prompts).
 * Returns it, or NULL with a reason in err.
 */
EVP_PKEY *
jwt_key_from_pem(const char *pem, size_t len, char *err, size_t errsize)
{
	EVP_PKEY *key = NULL;
	BIO *bio;

	if (len > JWT_TEXT_MAX) {
		errf(err, errsize, "private key longer than %d bytes",
		    JWT_TEXT_MAX);
		return NULL;
	}
	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		key = PEM_read_bio_PrivateKey(bio, NULL, jwt_no_passphrase,
		    NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (key == NULL)
		errf(err, errsize, "no private key in it (PEM, not "
		    "encrypted)");
	return key;
}

/* The first certificate in PEM text (len bytes), or NULL with a reason. */
X509 *
jwt_cert_from_pem(const char *pem, size_t len, char *err, size_t errsize)
{
	X509 *cert = NULL;
	BIO *bio;

	if (len > JWT_TEXT_MAX) {
		errf(err, errsize, "certificate longer than %d bytes",
		    JWT_TEXT_MAX);
		return NULL;
	}
	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		cert = PEM_read_bio_X509(bio, NULL, jwt_no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (cert == NULL)
		errf(err, errsize, "no certificate in it (PEM)");
	return cert;
}

/* Copy the string member key of o into *dst; required or not. */
static int
jwt_sa_string(json_t *o, const char *key, int required, char **dst,
    char *err, size_t errsize)
{
	json_t *v;

	*dst = NULL;
	if ((v = json_object_get(o, key)) == NULL || json_is_null(v)) {
		if (required)
			errf(err, errsize, "no %s in it", key);
		return required ? -1 : 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > JWT_TEXT_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		errf(err, errsize, "%s is not a string of 1 to %d bytes",
		    key, JWT_TEXT_MAX);
		return -1;
	}
	if ((*dst = strdup(json_string_value(v))) == NULL) {
		errf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Parse a service account JSON key (len bytes): "type" must be
 * "service_account" if present, client_email and private_key are required.
 * Returns 0 and fills *sa (free with jwt_service_account_clear), or -1 with
 * a reason in err that never quotes the file.
 */
int
jwt_service_account_parse(const char *text, size_t len,
    struct jwt_service_account *sa, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *o, *v;

	memset(sa, 0, sizeof(*sa));
	wipe_json_init();
	/* Only the position: jansson's text would quote the private key. */
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		errf(err, errsize, "not valid JSON (line %d column %d)",
		    jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(o)) {
		errf(err, errsize, "not a JSON object");
		goto fail;
	}
	if ((v = json_object_get(o, "type")) != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), JWT_SA_TYPE) != 0)) {
		errf(err, errsize, "type is not \"%s\"", JWT_SA_TYPE);
		goto fail;
	}
	if (jwt_sa_string(o, "client_email", 1, &sa->client_email, err,
	    errsize) == -1 ||
	    jwt_sa_string(o, "private_key", 1, &sa->private_key, err,
	    errsize) == -1 ||
	    jwt_sa_string(o, "private_key_id", 0, &sa->private_key_id, err,
	    errsize) == -1 ||
	    jwt_sa_string(o, "token_uri", 0, &sa->token_uri, err,
	    errsize) == -1)
		goto fail;
	json_decref(o);
	return 0;
fail:
	json_decref(o);
	jwt_service_account_clear(sa);
	return -1;
}

/* Wipe and free the strings of sa; safe on a zeroed struct. */
void
jwt_service_account_clear(struct jwt_service_account *sa)
{
	wipe_str(&sa->client_email);
	wipe_str(&sa->private_key);
	wipe_str(&sa->private_key_id);
	wipe_str(&sa->token_uri);
}
