/*
 * mock_jwt: verification of the RS256 JWTs the token endpoint accepts:
 * Microsoft-style client assertions (signed with the key of --client-cert)
 * and Google service account assertions (signed with the key whose public
 * half is --sa-public-key). Compact serialisation only, base64url without
 * padding, signatures checked with OpenSSL's EVP_DigestVerify. The keys are
 * loaded once by main() before any thread starts and only read after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/mock-provider/mock.h"

#define JWT_MAX			16384	/* bytes of one compact JWT */
#define JWT_SKEW		60	/* seconds of clock skew allowed */
#define JWT_SA_LIFETIME_MAX	3600	/* Google: exp - iat at most 1 h */
#define JWT_ALG			"RS256"

static EVP_PKEY	*client_key;		/* --client-cert's public key */
static char	*client_x5t;		/* base64url SHA-1 of its DER */
static char	*client_x5t_s256;	/* base64url SHA-256 of its DER */
static EVP_PKEY	*sa_key;		/* --sa-public-key */

/* base64url of a digest of the certificate's DER. NULL on error. */
static char *
cert_thumbprint(X509 *cert, const EVP_MD *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int len;

	if (X509_digest(cert, md, d, &len) != 1)
		return (NULL);
	return (mock_b64url_encode(d, len));
}

/* Load the client certificate: its key and both thumbprints. 0 / -1. */
static int
load_client_cert(const char *path)
{
	X509 *cert = NULL;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL)
		return (-1);
	client_key = X509_get_pubkey(cert);
	client_x5t = cert_thumbprint(cert, EVP_sha1());
	client_x5t_s256 = cert_thumbprint(cert, EVP_sha256());
	X509_free(cert);
	if (client_key == NULL || client_x5t == NULL ||
	    client_x5t_s256 == NULL ||
	    EVP_PKEY_get_base_id(client_key) != EVP_PKEY_RSA)
		return (-1);
	return (0);
}

/* Load a PEM public key (or the key of a PEM certificate). 0 / -1. */
static int
load_public_key(const char *path, EVP_PKEY **key)
{
	X509 *cert;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	if ((*key = PEM_read_PUBKEY(f, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		rewind(f);
		if ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
			*key = X509_get_pubkey(cert);
			X509_free(cert);
		}
	}
	fclose(f);
	if (*key == NULL || EVP_PKEY_get_base_id(*key) != EVP_PKEY_RSA)
		return (-1);
	return (0);
}

/* Load --client-cert and --sa-public-key if given. 0 / -1 (logged). */
int
mock_jwt_keys_load(void)
{

	if (mock_opts.client_cert != NULL &&
	    load_client_cert(mock_opts.client_cert) == -1) {
		mock_warn("cannot load an RSA certificate from --client-cert "
		    "%s", mock_opts.client_cert);
		return (-1);
	}
	if (mock_opts.sa_public_key != NULL &&
	    load_public_key(mock_opts.sa_public_key, &sa_key) == -1) {
		mock_warn("cannot load an RSA public key from "
		    "--sa-public-key %s", mock_opts.sa_public_key);
		return (-1);
	}
	ERR_clear_error();
	return (0);
}

/* Decode one base64url JWT part as a JSON object. NULL on error. */
static json_t *
part_json(const char *s, size_t n)
{
	unsigned char *dec;
	json_t *j;
	size_t len;

	if ((dec = mock_b64url_decode(s, n, &len)) == NULL)
		return (NULL);
	j = json_loadb((const char *)dec, len, JSON_REJECT_DUPLICATES, NULL);
	free(dec);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return (NULL);
	}
	return (j);
}

/*
 * Split a compact JWT, check its form and alg, and verify its RS256
 * signature with key. 0 with *hdr and *claims (new references), or -1 with
 * *why set.
 */
static int
jwt_verify(const char *jwt, EVP_PKEY *key, json_t **hdr, json_t **claims,
    const char **why)
{
	const char *d1, *d2, *alg;
	unsigned char *sig = NULL;
	EVP_MD_CTX *md = NULL;
	size_t n, siglen;
	int ok = 0;

	*hdr = *claims = NULL;
	n = strnlen(jwt, JWT_MAX + 1);
	if (n > JWT_MAX || (d1 = strchr(jwt, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL) {
		*why = "malformed JWT (want three base64url parts)";
		return (-1);
	}
	if ((*hdr = part_json(jwt, (size_t)(d1 - jwt))) == NULL ||
	    (*claims = part_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL ||
	    (sig = mock_b64url_decode(d2 + 1, strlen(d2 + 1), &siglen)) ==
	    NULL) {
		*why = "malformed JWT (bad base64url or JSON)";
		goto fail;
	}
	if ((alg = json_string_value(json_object_get(*hdr, "alg"))) == NULL ||
	    strcmp(alg, JWT_ALG) != 0) {
		*why = "JWT alg is not RS256";
		goto fail;
	}
	ERR_clear_error();
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt,
	    (size_t)(d2 - jwt)) == 1)
		ok = 1;
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	free(sig);
	sig = NULL;
	if (!ok) {
		*why = "Invalid JWT Signature.";
		goto fail;
	}
	return (0);

fail:
	free(sig);
	json_decref(*hdr);
	json_decref(*claims);
	*hdr = *claims = NULL;
	return (-1);
}

/* A string claim equal to want (any string if want is NULL). */
static int
claim_is(json_t *claims, const char *name, const char *want)
{
	const char *v;

	if ((v = json_string_value(json_object_get(claims, name))) == NULL ||
	    *v == '\0')
		return (0);
	return (want == NULL || strcmp(v, want) == 0);
}

/* Whether aud (a string, or an array of strings) names this endpoint. */
static int
aud_ok(json_t *claims, const char *path)
{
	json_t *aud, *v;
	size_t i;

	aud = json_object_get(claims, "aud");
	if (json_is_string(aud))
		return (mock_http_self_url(json_string_value(aud), path));
	if (json_is_array(aud))
		json_array_foreach(aud, i, v)
			if (json_is_string(v) &&
			    mock_http_self_url(json_string_value(v), path))
				return (1);
	return (0);
}

/* A NumericDate claim: 0 with *t, or -1 if absent or not a number. */
static int
claim_time(json_t *claims, const char *name, double *t)
{
	json_t *v = json_object_get(claims, name);

	if (!json_is_number(v))
		return (-1);
	*t = json_number_value(v);
	return (0);
}

/*
 * Verify a client assertion (RFC 7523, Microsoft's certificate
 * credential): RS256 signed by --client-cert's key, header x5t or
 * x5t#S256 = the certificate's thumbprint, iss = sub = client_id,
 * aud = this token endpoint (path), exp in the future, nbf not in the
 * future, jti present. 0, or -1 with *why a short reason.
 */
int
mock_jwt_client_assertion(const char *jwt, const char *path,
    const char *client_id, const char **why)
{
	json_t *hdr, *claims;
	const char *x5t, *x5t256, *iss;
	double now = (double)time(NULL), exp, nbf;
	int rc = -1;

	if (client_key == NULL) {
		*why = "no certificate registered (--client-cert)";
		return (-1);
	}
	if (jwt_verify(jwt, client_key, &hdr, &claims, why) == -1)
		return (-1);
	x5t = json_string_value(json_object_get(hdr, "x5t"));
	x5t256 = json_string_value(json_object_get(hdr, "x5t#S256"));
	iss = json_string_value(json_object_get(claims, "iss"));
	if ((x5t == NULL || strcmp(x5t, client_x5t) != 0) &&
	    (x5t256 == NULL || strcmp(x5t256, client_x5t_s256) != 0))
		*why = "header x5t / x5t#S256 is not the certificate's "
		    "thumbprint";
	else if (iss == NULL || *iss == '\0' ||
	    (client_id != NULL && strcmp(iss, client_id) != 0))
		*why = "iss is not the client_id";
	else if (!claim_is(claims, "sub", iss))
		*why = "sub is not the client_id";
	else if (!aud_ok(claims, path))
		*why = "aud is not this token endpoint";
	else if (claim_time(claims, "exp", &exp) == -1 || exp <= now)
		*why = "exp missing or in the past";
	else if (claim_time(claims, "nbf", &nbf) == 0 && nbf > now + JWT_SKEW)
		*why = "nbf in the future";
	else if (!claim_is(claims, "jti", NULL))
		*why = "jti missing";
	else
		rc = 0;
	json_decref(hdr);
	json_decref(claims);
	return (rc);
}

/*
 * Verify a Google service account assertion: RS256 signed by
 * --sa-public-key, iss = --sa-email, sub and scope present, aud = this
 * token endpoint (path), iat not in the future, exp after now and at most
 * an hour after iat. On success *sub and *scope are new strings. 0, or -1
 * with *why a short reason.
 */
int
mock_jwt_sa_assertion(const char *jwt, const char *path, char **sub,
    char **scope, const char **why)
{
	json_t *hdr, *claims;
	double now = (double)time(NULL), iat, exp;
	int rc = -1;

	*sub = *scope = NULL;
	if (sa_key == NULL) {
		*why = "no service account registered (--sa-public-key)";
		return (-1);
	}
	if (jwt_verify(jwt, sa_key, &hdr, &claims, why) == -1)
		return (-1);
	if (!claim_is(claims, "iss", mock_opts.sa_email))
		*why = "Invalid JWT: iss is not the service account";
	else if (!claim_is(claims, "sub", NULL))
		*why = "Invalid JWT: sub missing";
	else if (!claim_is(claims, "scope", NULL))
		*why = "Invalid JWT: scope missing";
	else if (!aud_ok(claims, path))
		*why = "Invalid JWT: aud is not this token endpoint";
	else if (claim_time(claims, "iat", &iat) == -1 ||
	    claim_time(claims, "exp", &exp) == -1 || iat > now + JWT_SKEW ||
	    exp <= now || exp <= iat || exp - iat > JWT_SA_LIFETIME_MAX)
		*why = "Invalid JWT: Token must be a short-lived token (60 "
		    "minutes) and in a reasonable timeframe. Check your iat "
		    "and exp values in the JWT claim.";
	else if ((*sub = strdup(json_string_value(json_object_get(claims,
	    "sub")))) == NULL || (*scope = strdup(json_string_value(
	    json_object_get(claims, "scope")))) == NULL)
		*why = "out of memory";
	else
		rc = 0;
	if (rc == -1) {
		free(*sub);
		*sub = NULL;
	}
	json_decref(hdr);
	json_decref(claims);
	return (rc);
}
