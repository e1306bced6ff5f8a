/*
 * grant: token request bodies for the refresh_token, client_credentials and
 * service account grants. See grant.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "io/errf.h"
#include "oauth/grant.h"
#include "oauth/jwt.h"
#include "oauth/oauth.h"

/* Most key=value pairs in one body. */
#define GRANT_PAIRS_MAX		6
/* The grant_type values and the client assertion type. */
#define GRANT_TYPE_REFRESH	"refresh_token"
#define GRANT_TYPE_CC		"client_credentials"
#define GRANT_TYPE_JWT_BEARER	\
	"urn:ietf:params:oauth:grant-type:jwt-bearer"
#define GRANT_ASSERTION_TYPE	\
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct grant_pair {
	const char	*key;
	const char	*value;		/* NULL: left out */
};


static void
grant_wipe_free(char *s, size_t len)
{
	if (s != NULL) {
		explicit_bzero(s, len);
		free(s);
	}
}

/* The grant's name as written in the config. */
const char *
grant_name(enum oauth_grant g)
{
	switch (g) {
	case OAUTH_GRANT_REFRESH_TOKEN:
		return "refresh_token";
	case OAUTH_GRANT_CLIENT_CREDENTIALS:
		return "client_credentials";
	case OAUTH_GRANT_SERVICE_ACCOUNT:
		return "service_account";
	}
	return "unknown";
}

/* "k1=v1&k2=v2..." with each value url-encoded; a secret: wipe it. */
static char *
grant_form(const struct grant_pair *p, size_t n)
{
	char *esc[GRANT_PAIRS_MAX] = { NULL };
	char *body = NULL, *s;
	size_t len = 0, i;

	if (n > GRANT_PAIRS_MAX)
		return NULL;
	for (i = 0; i < n; i++) {
		if (p[i].value == NULL)
			continue;
		if ((esc[i] = curl_easy_escape(NULL, p[i].value, 0)) == NULL)
			goto done;
		len += strlen(p[i].key) + 1 + strlen(esc[i]) + 1;
	}
	if ((body = malloc(len + 1)) == NULL)
		goto done;
	s = body;
	*s = '\0';
	for (i = 0; i < n; i++) {
		if (esc[i] == NULL)
			continue;
		if (s != body)
			s = stpcpy(s, "&");
		s = stpcpy(s, p[i].key);
		s = stpcpy(s, "=");
		s = stpcpy(s, esc[i]);
	}
done:
	for (i = 0; i < n; i++)
		if (esc[i] != NULL) {
			explicit_bzero(esc[i], strlen(esc[i]));
			curl_free(esc[i]);
		}
	return body;
}

/*
 * Read the file at path (what names it in errors) into a malloc'd,
 * NUL-terminated buffer of at most GRANT_FILE_MAX bytes. A secret: the
 * caller wipes it (*lenp bytes).
 */
static char *
grant_read_file(const char *what, const char *path, size_t *lenp, char *err,
    size_t errsize)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO planted there must not hang the daemon. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		errf(err, errsize, "cannot open %s %s: %s", what, path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > GRANT_FILE_MAX) {
		errf(err, errsize, "%s %s is not a regular file of at "
		    "most %d bytes", what, path, GRANT_FILE_MAX);
		goto fail;
	}
	if ((buf = malloc(GRANT_FILE_MAX + 1)) == NULL) {
		errf(err, errsize, "out of memory");
		goto fail;
	}
	while (len < GRANT_FILE_MAX + 1) {
		n = read(fd, buf + len, GRANT_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errf(err, errsize, "cannot read %s %s: %s", what,
			    path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > GRANT_FILE_MAX) {
		errf(err, errsize, "%s %s is larger than %d bytes", what,
		    path, GRANT_FILE_MAX);
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	*lenp = len;
	return buf;
fail:
	grant_wipe_free(buf, GRANT_FILE_MAX + 1);
	close(fd);
	return NULL;
}

static char *
grant_refresh(const struct oauth_account_cfg *cfg, const char *refresh,
    char *err, size_t errsize)
{
	const struct grant_pair p[] = {
		{ "grant_type", GRANT_TYPE_REFRESH },
		{ "refresh_token", refresh },
		{ "client_id", cfg->client_id },
		{ "client_secret", cfg->client_secret },
		{ "scope", cfg->scope },
	};
	char *body;

	if (refresh == NULL) {
		errf(err, errsize, "no refresh token");
		return NULL;
	}
	if ((body = grant_form(p, sizeof(p) / sizeof(p[0]))) == NULL)
		errf(err, errsize, "out of memory");
	return body;
}

/*
 * Load the client certificate and its key, and check that they belong
 * together. Returns 0, or -1 with a reason.
 */
static int
grant_load_cert(const struct oauth_account_cfg *cfg, X509 **certp,
    EVP_PKEY **keyp, char *err, size_t errsize)
{
	char why[256];
	char *text;
	size_t len;

	*certp = NULL;
	*keyp = NULL;
	if ((text = grant_read_file("client_cert_file", cfg->client_cert_file,
	    &len, err, errsize)) == NULL)
		return -1;
	*certp = jwt_cert_from_pem(text, len, why, sizeof(why));
	grant_wipe_free(text, len);
	if (*certp == NULL) {
		errf(err, errsize, "client_cert_file %s: %s",
		    cfg->client_cert_file, why);
		return -1;
	}
	if ((text = grant_read_file("client_key_file", cfg->client_key_file,
	    &len, err, errsize)) == NULL)
		goto fail;
	*keyp = jwt_key_from_pem(text, len, why, sizeof(why));
	grant_wipe_free(text, len);
	if (*keyp == NULL) {
		errf(err, errsize, "client_key_file %s: %s",
		    cfg->client_key_file, why);
		goto fail;
	}
	ERR_clear_error();
	if (X509_check_private_key(*certp, *keyp) != 1) {
		ERR_clear_error();
		errf(err, errsize, "client_key_file %s is not the key of "
		    "client_cert_file %s", cfg->client_key_file,
		    cfg->client_cert_file);
		goto fail;
	}
	return 0;
fail:
	X509_free(*certp);
	EVP_PKEY_free(*keyp);
	*certp = NULL;
	*keyp = NULL;
	return -1;
}

/* An RS256 client assertion (RFC 7523 2.2) for cfg; a secret. */
static char *
grant_client_assertion(const struct oauth_account_cfg *cfg, time_t now,
    char *err, size_t errsize)
{
	unsigned char rnd[GRANT_JTI_BYTES];
	char jti[JWT_B64URL_SIZE(GRANT_JTI_BYTES)];
	char x5t[JWT_X5T_SIZE], x5t256[JWT_X5T_S256_SIZE];
	struct jwt_header h = { NULL, x5t, x5t256 };
	struct jwt_claims c = {
		.iss = cfg->client_id, .sub = cfg->client_id,
		.aud = cfg->token_url, .jti = jti, .iat = (long long)now,
		.nbf = (long long)now,
		.exp = (long long)now + GRANT_ASSERTION_LIFE,
	};
	EVP_PKEY *key;
	X509 *cert;
	char *input = NULL, *jwt = NULL;

	if (grant_load_cert(cfg, &cert, &key, err, errsize) == -1)
		return NULL;
	if (jwt_thumbprints(cert, x5t, x5t256) == -1 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    jwt_b64url(rnd, sizeof(rnd), jti, sizeof(jti)) == -1 ||
	    (input = jwt_signing_input(&h, &c)) == NULL) {
		errf(err, errsize, "cannot build the client assertion");
		goto done;
	}
	jwt = jwt_sign(input, key, err, errsize);
done:
	free(input);
	X509_free(cert);
	EVP_PKEY_free(key);
	return jwt;
}

static char *
grant_client_credentials(const struct oauth_account_cfg *cfg, time_t now,
    char *err, size_t errsize)
{
	const char *scope = cfg->scope != NULL ? cfg->scope : GRANT_CC_SCOPE;
	char *assertion = NULL, *body;

	if (cfg->client_cert_file != NULL || cfg->client_key_file != NULL) {
		if (cfg->client_cert_file == NULL ||
		    cfg->client_key_file == NULL) {
			errf(err, errsize, "client_credentials with a "
			    "certificate needs both client_cert_file and "
			    "client_key_file");
			return NULL;
		}
		if ((assertion = grant_client_assertion(cfg, now, err,
		    errsize)) == NULL)
			return NULL;
	} else if (cfg->client_secret == NULL) {
		errf(err, errsize, "client_credentials needs client_secret"
		    ", or client_cert_file and client_key_file");
		return NULL;
	}
	{
		const struct grant_pair p[] = {
			{ "grant_type", GRANT_TYPE_CC },
			{ "client_id", cfg->client_id },
			{ "scope", scope },
			{ "client_secret", assertion == NULL ?
			    cfg->client_secret : NULL },
			{ "client_assertion_type", assertion != NULL ?
			    GRANT_ASSERTION_TYPE : NULL },
			{ "client_assertion", assertion },
		};

		if ((body = grant_form(p, sizeof(p) / sizeof(p[0]))) == NULL)
			errf(err, errsize, "out of memory");
	}
	if (assertion != NULL)
		grant_wipe_free(assertion, strlen(assertion));
	return body;
}

/* The signed JWT of a Google service account for cfg; a secret. */
static char *
grant_sa_assertion(const struct oauth_account_cfg *cfg, time_t now,
    char *err, size_t errsize)
{
	struct jwt_service_account sa;
	struct jwt_header h = { NULL, NULL, NULL };
	struct jwt_claims c = { 0 };
	EVP_PKEY *key = NULL;
	char *text, *input = NULL, *jwt = NULL;
	char why[256];
	size_t len;

	if ((text = grant_read_file("service_account_file",
	    cfg->service_account_file, &len, err, errsize)) == NULL)
		return NULL;
	if (jwt_service_account_parse(text, len, &sa, why, sizeof(why)) ==
	    -1) {
		grant_wipe_free(text, len);
		errf(err, errsize, "service_account_file %s: %s",
		    cfg->service_account_file, why);
		return NULL;
	}
	grant_wipe_free(text, len);
	if ((key = jwt_key_from_pem(sa.private_key, strlen(sa.private_key),
	    why, sizeof(why))) == NULL) {
		errf(err, errsize, "service_account_file %s: "
		    "private_key: %s", cfg->service_account_file, why);
		goto done;
	}
	h.kid = sa.private_key_id;
	c.iss = sa.client_email;
	c.sub = cfg->email;
	c.scope = cfg->scope != NULL ? cfg->scope : GRANT_SA_SCOPE;
	c.aud = cfg->token_url;
	c.iat = (long long)now;
	c.exp = (long long)now + GRANT_SA_LIFE;
	if ((input = jwt_signing_input(&h, &c)) == NULL) {
		errf(err, errsize, "cannot build the service account JWT");
		goto done;
	}
	jwt = jwt_sign(input, key, err, errsize);
done:
	free(input);
	EVP_PKEY_free(key);
	jwt_service_account_clear(&sa);
	return jwt;
}

static char *
grant_service_account(const struct oauth_account_cfg *cfg, time_t now,
    char *err, size_t errsize)
{
	char *assertion, *body;

	if (cfg->service_account_file == NULL) {
		errf(err, errsize, "service_account needs "
		    "service_account_file");
		return NULL;
	}
	if (cfg->email == NULL || cfg->email[0] == '\0') {
		errf(err, errsize, "service_account needs the account's "
		    "email (the mailbox it acts for)");
		return NULL;
	}
	if ((assertion = grant_sa_assertion(cfg, now, err, errsize)) == NULL)
		return NULL;
	{
		const struct grant_pair p[] = {
			{ "grant_type", GRANT_TYPE_JWT_BEARER },
			{ "assertion", assertion },
		};

		if ((body = grant_form(p, sizeof(p) / sizeof(p[0]))) == NULL)
			errf(err, errsize, "out of memory");
	}
	grant_wipe_free(assertion, strlen(assertion));
	return body;
}

/*
 * The form body (application/x-www-form-urlencoded) of a token request for
 * cfg at time now. refresh_token is the stored refresh token: required for
 * OAUTH_GRANT_REFRESH_TOKEN, unused for the others. Returns a malloc'd
 * string (a secret: wipe it), or NULL with a reason in err (no secret in
 * it) that names the file or setting that is wrong.
 */
char *
grant_body(const struct oauth_account_cfg *cfg, const char *refresh_token,
    time_t now, char *err, size_t errsize)
{
	if (cfg->token_url == NULL || (cfg->client_id == NULL &&
	    cfg->grant != OAUTH_GRANT_SERVICE_ACCOUNT)) {
		errf(err, errsize, "no token_url or client_id");
		return NULL;
	}
	switch (cfg->grant) {
	case OAUTH_GRANT_REFRESH_TOKEN:
		return grant_refresh(cfg, refresh_token, err, errsize);
	case OAUTH_GRANT_CLIENT_CREDENTIALS:
		return grant_client_credentials(cfg, now, err, errsize);
	case OAUTH_GRANT_SERVICE_ACCOUNT:
		return grant_service_account(cfg, now, err, errsize);
	}
	errf(err, errsize, "unknown grant");
	return NULL;
}
