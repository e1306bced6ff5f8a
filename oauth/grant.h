/*
 * grant: the body of a token request for each way an account gets tokens:
 * a stored refresh token; client_credentials with a client secret, or with
 * a certificate and an RS256 client assertion (Microsoft app-only); and a
 * Google service account's JWT bearer grant (domain-wide delegation). The
 * credential files are read each time a body is built: they are small, a
 * token is asked for about once an hour, and a new key needs no restart.
 */
#ifndef OAUTH_GRANT_H
#define OAUTH_GRANT_H

#include <stddef.h>
#include <time.h>

#include "oauth/jwt.h"
#include "oauth/oauth.h"

/* Largest credential file read (certificate, key, service account key). */
#define GRANT_FILE_MAX		JWT_TEXT_MAX
/* Lifetime of a client assertion and of a service account JWT, in s. */
#define GRANT_ASSERTION_LIFE	600
#define GRANT_SA_LIFE		3600
/* Random bytes of a client assertion's jti. */
#define GRANT_JTI_BYTES		16
/* Default scopes of the grants that need one. */
#define GRANT_CC_SCOPE		"https://outlook.office365.com/.default"
#define GRANT_SA_SCOPE		"https://mail.google.com/"

/* The grant's name as written in the config. */
const char	*grant_name(enum oauth_grant);
/*
 * The form body (application/x-www-form-urlencoded) of a token request for
 * cfg at time now. refresh_token is the stored refresh token: required for
 * OAUTH_GRANT_REFRESH_TOKEN, unused for the others. Returns a malloc'd
 * string (a secret: wipe it), or NULL with a reason in err (no secret in
 * it) that names the file or setting that is wrong.
 */
char		*grant_body(const struct oauth_account_cfg *cfg,
		    const char *refresh_token, time_t now, char *err,
		    size_t errsize);

#endif
