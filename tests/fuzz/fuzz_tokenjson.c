/*
 * fuzz_tokenjson: libFuzzer harness for what a token endpoint sends back:
 * the body, parsed by oauth/tokenjson token_response_parse (jansson under
 * it) and classified by oauth/classify classify_failure when it is an
 * error, and a Retry-After header value (classify_retry_after, the input
 * up to its first NUL). Checks no crash, leak or UB, and the promises of
 * tokenjson.h: a success has a non-empty access_token of at most
 * OAUTH_TOKEN_MAX visible ASCII bytes, a refresh_token that is absent or
 * the same, a token_type absent or Bearer and an expires_in in range; an
 * error has a non-empty error code; a refusal leaves nothing allocated and
 * says why; and err never holds a token from the body. A Retry-After
 * accepted is 0..CLASSIFY_RETRY_AFTER_MAX seconds.
 *
 *   make build/fuzz_tokenjson && build/fuzz_tokenjson \
 *	tests/fuzz/corpus/tokenjson
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "oauth/classify.h"
#include "oauth/oauth.h"
#include "oauth/tokenjson.h"

/* Largest expires_in taken (tokenjson.c: a year). */
#define FUZZ_EXPIRES_MAX	(366L * 86400)
/* Shortest token looked for in err: no err word is this long. */
#define FUZZ_SECRET_MIN		20

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

static int
fuzz_visible(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

/* The string member key of the body's object, if any, is not in err. */
static void
fuzz_not_in(json_t *o, const char *key, const char *err)
{
	json_t *v;

	if (o == NULL || (v = json_object_get(o, key)) == NULL ||
	    !json_is_string(v) || strlen(json_string_value(v)) <
	    FUZZ_SECRET_MIN)
		return;
	FUZZ_CHECK(strstr(err, json_string_value(v)) == NULL);
}

static void
fuzz_body(const char *s, size_t n)
{
	struct token_response tr;
	char err[256];
	json_t *o;
	int r, k;

	memset(err, 'x', sizeof(err));
	r = token_response_parse(s, n, &tr, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	switch (r) {
	case 0:
		FUZZ_CHECK(tr.access_token != NULL && tr.error == NULL);
		FUZZ_CHECK(tr.access_token[0] != '\0' &&
		    strlen(tr.access_token) <= OAUTH_TOKEN_MAX &&
		    fuzz_visible(tr.access_token));
		FUZZ_CHECK(tr.refresh_token == NULL ||
		    (tr.refresh_token[0] != '\0' &&
		    strlen(tr.refresh_token) <= OAUTH_TOKEN_MAX &&
		    fuzz_visible(tr.refresh_token)));
		FUZZ_CHECK(tr.token_type == NULL ||
		    strcasecmp(tr.token_type, "Bearer") == 0);
		FUZZ_CHECK(tr.expires_in >= 0 &&
		    tr.expires_in <= FUZZ_EXPIRES_MAX);
		break;
	case 1:
		FUZZ_CHECK(tr.error != NULL && tr.error[0] != '\0' &&
		    tr.access_token == NULL);
		k = classify_failure(400, tr.error, tr.error_description);
		FUZZ_CHECK(k == CLASSIFY_TRANSIENT ||
		    k == CLASSIFY_PERMANENT || k == CLASSIFY_REFUSED);
		FUZZ_CHECK(strcmp(classify_name(k), "unknown") != 0);
		k = classify_failure(401, tr.error, tr.error_description);
		FUZZ_CHECK(strcmp(classify_name(k), "unknown") != 0);
		break;
	case -1:
		FUZZ_CHECK(tr.access_token == NULL &&
		    tr.refresh_token == NULL && tr.scope == NULL &&
		    tr.token_type == NULL && tr.error == NULL &&
		    tr.error_description == NULL && tr.expires_in == 0);
		FUZZ_CHECK(err[0] != '\0');
		break;
	default:
		FUZZ_CHECK(0);
	}
	/* What the body holds as tokens never reaches err. */
	o = json_loadb(s, n, JSON_DECODE_ANY, NULL);
	if (o != NULL && json_is_object(o)) {
		fuzz_not_in(o, "access_token", err);
		fuzz_not_in(o, "refresh_token", err);
		fuzz_not_in(o, "id_token", err);
	}
	json_decref(o);
	token_response_clear(&tr);
	FUZZ_CHECK(tr.access_token == NULL && tr.refresh_token == NULL &&
	    tr.error == NULL);
}

static void
fuzz_retry_after(const char *s, size_t n)
{
	static const time_t nows[] = { 0, 1700000000, 4102444800 };
	char *v;
	long secs;
	size_t i;

	FUZZ_CHECK((v = strndup(s, n)) != NULL);
	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
		secs = -1;
		if (classify_retry_after(v, nows[i], &secs) == 0)
			FUZZ_CHECK(secs >= 0 &&
			    secs <= CLASSIFY_RETRY_AFTER_MAX);
		else
			FUZZ_CHECK(secs == 0);
	}
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	fuzz_body(s, size);
	fuzz_retry_after(s, size);
	return 0;
}
