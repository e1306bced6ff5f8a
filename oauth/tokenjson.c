/*
 * tokenjson: parses a token endpoint response (RFC 6749 5.1 and 5.2) with
 * jansson. Pure, no I/O. See tokenjson.h.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "io/errf.h"
#include "oauth/oauth.h"
#include "oauth/tokenjson.h"
#include "oauth/wipe.h"

/* Longest token: the same limit the token cache uses. */
#define TOKENJSON_TOKEN_MAX	OAUTH_TOKEN_MAX
/* Longest scope, token_type and error code kept. */
#define TOKENJSON_FIELD_MAX	4096
/* Longest error_description kept; the rest is cut. */
#define TOKENJSON_DESC_MAX	1024
/* Largest expires_in taken (a year); more is an error. */
#define TOKENJSON_EXPIRES_MAX	(366L * 86400)
/* Longest numeric string accepted for expires_in. */
#define TOKENJSON_NUMSTR_MAX	20


/*
 * A token goes onto an SMTP line inside base64 and into an HTTP form: only
 * visible ASCII is accepted (RFC 6750 b64token is a subset of it).
 */
static int
tj_token_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

/* Copy the string member key of o into *dst (NULL if absent). */
static int
tj_string(json_t *o, const char *key, size_t max, int cut, char **dst,
    char *err, size_t errsize)
{
	json_t *v;
	size_t len;

	*dst = NULL;
	if ((v = json_object_get(o, key)) == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		errf(err, errsize, "%s is not a string", key);
		return -1;
	}
	len = json_string_length(v);
	if (len > max) {
		if (!cut) {
			errf(err, errsize, "%s longer than %zu bytes", key,
			    max);
			return -1;
		}
		len = max;
	}
	if ((*dst = strndup(json_string_value(v), len)) == NULL) {
		errf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

/* expires_in: a number or a string of decimal digits. */
static int
tj_expires(json_t *o, long *out, char *err, size_t errsize)
{
	json_t *v;
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if ((v = json_object_get(o, "expires_in")) == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_real(v)) {
		if (json_real_value(v) < 0 ||
		    json_real_value(v) > TOKENJSON_EXPIRES_MAX)
			goto bad;
		n = (long long)json_real_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		if (json_string_length(v) == 0 ||
		    json_string_length(v) > TOKENJSON_NUMSTR_MAX ||
		    strspn(s, "0123456789") != json_string_length(v))
			goto bad;
		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0')
			goto bad;
	} else
		goto bad;
	if (n < 0 || n > TOKENJSON_EXPIRES_MAX)
		goto bad;
	*out = (long)n;
	return 0;
bad:
	errf(err, errsize, "expires_in is not a number of seconds in range");
	return -1;
}

/* An error object (5.2): error must be a string. */
static int
tj_error(json_t *o, struct token_response *out, char *err, size_t errsize)
{
	if (tj_string(o, "error", TOKENJSON_FIELD_MAX, 1, &out->error, err,
	    errsize) == -1)
		return -1;
	if (out->error == NULL || out->error[0] == '\0') {
		errf(err, errsize, "error is empty");
		return -1;
	}
	/* A description of the wrong type only loses detail. */
	if (tj_string(o, "error_description", TOKENJSON_DESC_MAX, 1,
	    &out->error_description, err, errsize) == -1)
		out->error_description = NULL;
	return 1;
}

/* A success object (5.1). */
static int
tj_success(json_t *o, struct token_response *out, char *err, size_t errsize)
{
	if (json_object_get(o, "access_token") == NULL) {
		errf(err, errsize, "no access_token in reply");
		return -1;
	}
	if (tj_string(o, "access_token", TOKENJSON_TOKEN_MAX, 0,
	    &out->access_token, err, errsize) == -1 ||
	    tj_string(o, "refresh_token", TOKENJSON_TOKEN_MAX, 0,
	    &out->refresh_token, err, errsize) == -1 ||
	    tj_string(o, "token_type", TOKENJSON_FIELD_MAX, 0,
	    &out->token_type, err, errsize) == -1 ||
	    tj_string(o, "scope", TOKENJSON_FIELD_MAX, 0, &out->scope, err,
	    errsize) == -1 ||
	    tj_expires(o, &out->expires_in, err, errsize) == -1)
		return -1;
	if (out->access_token == NULL || out->access_token[0] == '\0') {
		errf(err, errsize, "access_token is empty");
		return -1;
	}
	if (!tj_token_ok(out->access_token)) {
		errf(err, errsize, "access_token holds invalid characters");
		return -1;
	}
	if (out->refresh_token != NULL && (out->refresh_token[0] == '\0' ||
	    !tj_token_ok(out->refresh_token))) {
		errf(err, errsize, "refresh_token is empty or holds invalid "
		    "characters");
		return -1;
	}
	/* RFC 6749 7.1: the type is case-insensitive. */
	if (out->token_type != NULL &&
	    strcasecmp(out->token_type, "Bearer") != 0) {
		errf(err, errsize, "token_type is not Bearer");
		return -1;
	}
	return 0;
}

/*
 * Parse body (len bytes, not necessarily NUL-terminated). Returns 0 with
 * access_token set on success; 1 with error set when the body is an OAuth
 * error object; -1 with a short reason in err when the body is not JSON, is
 * not an object, or a success lacks access_token or has a token over 4096
 * bytes or a token_type other than Bearer (case-insensitive). Never puts a
 * token in err.
 */
int
token_response_parse(const char *body, size_t len,
    struct token_response *out, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *o = NULL, *e;
	int r;

	memset(out, 0, sizeof(*out));
	errf(err, errsize, "%s", "");
	wipe_json_init();
	if (body == NULL) {
		errf(err, errsize, "empty reply");
		goto fail;
	}
	/*
	 * jansson's error text quotes the input near the error: it could
	 * hold part of a token, so only the position is reported.
	 */
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &jerr)) == NULL) {
		errf(err, errsize, "reply is not JSON (line %d column %d)",
		    jerr.line, jerr.column);
		goto fail;
	}
	if (!json_is_object(o)) {
		errf(err, errsize, "reply is not a JSON object");
		goto fail;
	}
	if ((e = json_object_get(o, "error")) != NULL && !json_is_null(e))
		r = tj_error(o, out, err, errsize);
	else
		r = tj_success(o, out, err, errsize);
	if (r == -1)
		goto fail;
	json_decref(o);
	return r;
fail:
	json_decref(o);
	token_response_clear(out);
	return -1;
}

/* Wipe and free all strings; safe on a zeroed struct. */
void
token_response_clear(struct token_response *r)
{
	wipe_str(&r->access_token);
	wipe_str(&r->refresh_token);
	wipe_str(&r->scope);
	wipe_str(&r->token_type);
	wipe_str(&r->error);
	wipe_str(&r->error_description);
	r->expires_in = 0;
}
