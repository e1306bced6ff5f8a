/*
 * fuzz_authorize: libFuzzer harness for what `authrelay authorize` reads
 * from outside (oauth/authorize): the first line of a browser's request to
 * the loopback redirect (authorize_parse_request, given the whole request
 * head as az_handle does), what the user pastes (authorize_parse_pasted:
 * the redirected URL, its query or a bare code) and the device
 * authorization endpoint's JSON (authorize_parse_device). Text inputs are
 * the bytes up to the first NUL, as they arrive in C strings. Checks no
 * crash, leak or UB; that every value returned is a string of at most
 * AUTHORIZE_VALUE_MAX bytes without control characters; that a refusal
 * leaves nothing allocated; that a paste is only accepted with a code or
 * an error; that percent-encoding the input as a code and a state in a
 * redirect URL (pasted, and as a request line) gives back exactly the
 * input when it is a valid value; and the sane ranges of a device reply.
 *
 *   make build/fuzz_authorize && build/fuzz_authorize \
 *	tests/fuzz/corpus/authorize
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "oauth/authorize.h"

/* Shortest device_code looked for in err: no err word is this long. */
#define FUZZ_SECRET_MIN	20

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* NULL, or a value az_decode could have made. */
static int
fuzz_value_ok(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return 1;
	n = strlen(s);
	if (n > AUTHORIZE_VALUE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static void
fuzz_redirect_ok(const struct authorize_redirect *r)
{
	FUZZ_CHECK(fuzz_value_ok(r->code) && fuzz_value_ok(r->state) &&
	    fuzz_value_ok(r->error) && fuzz_value_ok(r->error_description));
}

static int
fuzz_redirect_empty(const struct authorize_redirect *r)
{
	return r->code == NULL && r->state == NULL && r->error == NULL &&
	    r->error_description == NULL;
}

/* s with every byte but RFC 3986 unreserved ones as %XX. */
static char *
fuzz_pct(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out, *o;

	FUZZ_CHECK((out = malloc(strlen(s) * 3 + 1)) != NULL);
	for (o = out; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL) {
			*o++ = *s;
			continue;
		}
		*o++ = '%';
		*o++ = hex[(unsigned char)*s >> 4];
		*o++ = hex[(unsigned char)*s & 0xf];
	}
	*o = '\0';
	return out;
}

static void
fuzz_text(const char *t)
{
	struct authorize_redirect r;
	int ret;

	ret = authorize_parse_request(t, &r);
	FUZZ_CHECK(ret >= -1 && ret <= 1);
	fuzz_redirect_ok(&r);
	if (ret != 0)
		FUZZ_CHECK(fuzz_redirect_empty(&r));
	authorize_redirect_clear(&r);
	FUZZ_CHECK(fuzz_redirect_empty(&r));

	ret = authorize_parse_pasted(t, &r);
	FUZZ_CHECK(ret == 0 || ret == -1);
	fuzz_redirect_ok(&r);
	if (ret == 0)
		FUZZ_CHECK(r.code != NULL || r.error != NULL);
	else
		FUZZ_CHECK(fuzz_redirect_empty(&r));
	authorize_redirect_clear(&r);
}

/* The input as the code and the state of a redirect: they come back. */
static void
fuzz_round_trip(const char *t)
{
	struct authorize_redirect r;
	char *enc, *url;
	size_t need;
	int ok;

	ok = fuzz_value_ok(t);
	enc = fuzz_pct(t);
	need = strlen(enc) * 2 + 64;
	FUZZ_CHECK((url = malloc(need)) != NULL);

	snprintf(url, need, "http://127.0.0.1:8080/?state=%s&code=%s"
	    "&scope=x#frag", enc, enc);
	if (strlen(url) <= AUTHORIZE_PASTE_MAX) {
		FUZZ_CHECK((authorize_parse_pasted(url, &r) == 0) == ok);
		if (ok)
			FUZZ_CHECK(strcmp(r.code, t) == 0 &&
			    strcmp(r.state, t) == 0);
		authorize_redirect_clear(&r);
	}

	snprintf(url, need, "GET /?code=%s&state=%s HTTP/1.1\r\nHost: x\r\n"
	    "\r\n", enc, enc);
	FUZZ_CHECK(authorize_parse_request(url, &r) == (ok ? 0 : -1));
	if (ok)
		FUZZ_CHECK(strcmp(r.code, t) == 0 && strcmp(r.state, t) == 0);
	authorize_redirect_clear(&r);
	free(url);
	free(enc);
}

static void
fuzz_device(const char *s, size_t n)
{
	struct authorize_device d;
	char err[256];
	json_t *o, *v;

	memset(err, 'x', sizeof(err));
	if (authorize_parse_device(s, n, &d, err, sizeof(err)) == 0) {
		FUZZ_CHECK(d.device_code != NULL && d.device_code[0] != '\0');
		FUZZ_CHECK(d.user_code != NULL && d.user_code[0] != '\0');
		FUZZ_CHECK(d.verification_uri != NULL &&
		    d.verification_uri[0] != '\0' &&
		    strlen(d.verification_uri) <= AUTHORIZE_VALUE_MAX);
		FUZZ_CHECK(d.expires_in >= 1 &&
		    d.expires_in <= AUTHORIZE_DEVICE_EXPIRES_MAX);
		FUZZ_CHECK(d.interval >= 1 &&
		    d.interval <= AUTHORIZE_INTERVAL_MAX);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL &&
		    err[0] != '\0');
		FUZZ_CHECK(d.device_code == NULL && d.user_code == NULL &&
		    d.verification_uri == NULL &&
		    d.verification_uri_complete == NULL);
		/* The secret of the reply is not in the reason. */
		if ((o = json_loadb(s, n, 0, NULL)) != NULL) {
			if (json_is_object(o) && (v = json_object_get(o,
			    "device_code")) != NULL && json_is_string(v) &&
			    strlen(json_string_value(v)) >= FUZZ_SECRET_MIN)
				FUZZ_CHECK(strstr(err,
				    json_string_value(v)) == NULL);
			json_decref(o);
		}
	}
	authorize_device_clear(&d);
	FUZZ_CHECK(d.device_code == NULL && d.user_code == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t;

	FUZZ_CHECK((t = strndup((const char *)data, size)) != NULL);
	fuzz_text(t);
	fuzz_round_trip(t);
	fuzz_device((const char *)data, size);
	free(t);
	return 0;
}
