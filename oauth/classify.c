/*
 * classify: what a failed token request means and when to try again. Pure,
 * no I/O. See classify.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oauth/classify.h"

/* Longest Retry-After value looked at; longer ones are not valid. */
#define CLASSIFY_VALUE_MAX	64
/* Digits of the largest delay-seconds read before capping. */
#define CLASSIFY_DIGITS_MAX	9
/* Microsoft's throttling code in an error_description. */
#define CLASSIFY_AAD_THROTTLED	"AADSTS50196"

/* OAuth error codes that say the grant or the client itself is refused. */
static const char *classify_permanent[] = {
	"invalid_grant",	/* revoked, expired, password reset */
	"invalid_client",	/* bad secret, certificate, client id */
	"unauthorized_client",	/* grant not allowed for the client */
	"interaction_required",	/* conditional access, MFA */
};

/* OAuth error codes that say "try again later". */
static const char *classify_transient[] = {
	"temporarily_unavailable",
	"server_error",
	"slow_down",
};

/* The three forms of an HTTP-date, newest first. */
static const char *classify_date_formats[] = {
	"%a, %d %b %Y %H:%M:%S GMT",	/* Sun, 06 Nov 1994 08:49:37 GMT */
	"%A, %d-%b-%y %H:%M:%S GMT",	/* Sunday, 06-Nov-94 08:49:37 GMT */
	"%a %b %e %H:%M:%S %Y",		/* Sun Nov  6 08:49:37 1994 */
};

#define CLASSIFY_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int
classify_in(const char *s, const char **list, size_t n)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/*
 * Classify a failed token request: status is the HTTP status (0: the
 * transfer failed: network, TLS, timeout), error the OAuth error code and
 * description its error_description (either may be NULL).
 */
enum classify_kind
classify_failure(long status, const char *error, const char *description)
{
	/* Throttling comes as a 400 with any error code: it passes. */
	if (description != NULL &&
	    strstr(description, CLASSIFY_AAD_THROTTLED) != NULL)
		return CLASSIFY_TRANSIENT;
	if (status == 0 || status == 408 || status == 429 || status >= 500)
		return CLASSIFY_TRANSIENT;
	if (classify_in(error, classify_permanent,
	    CLASSIFY_NELEM(classify_permanent)))
		return CLASSIFY_PERMANENT;
	if (classify_in(error, classify_transient,
	    CLASSIFY_NELEM(classify_transient)))
		return CLASSIFY_TRANSIENT;
	if (error != NULL)
		return CLASSIFY_REFUSED;
	/* RFC 6749 5.2: 401 is the token endpoint's "client not known". */
	if (status == 401)
		return CLASSIFY_PERMANENT;
	/* A 2xx we could not use: a proxy's page, a half reply. */
	if (status >= 200 && status < 300)
		return CLASSIFY_TRANSIENT;
	return CLASSIFY_REFUSED;
}

/* "transient", "permanent" or "refused", for log lines. */
const char *
classify_name(enum classify_kind kind)
{
	switch (kind) {
	case CLASSIFY_TRANSIENT:
		return "transient";
	case CLASSIFY_PERMANENT:
		return "permanent";
	case CLASSIFY_REFUSED:
		return "refused";
	}
	return "unknown";
}

/*
 * Seconds to wait after the attempt-th failed try in a row (1, 2, ...):
 * 2^(attempt-1) capped at CLASSIFY_BACKOFF_MAX, less a jitter of up to
 * half of it; rnd in [0, 1) picks the jitter.
 */
double
classify_backoff(unsigned attempt, double rnd)
{
	double step = 1.;
	unsigned i;

	for (i = 1; i < attempt && step < CLASSIFY_BACKOFF_MAX; i++)
		step *= 2.;
	if (step > CLASSIFY_BACKOFF_MAX)
		step = CLASSIFY_BACKOFF_MAX;
	if (!(rnd >= 0. && rnd < 1.))
		rnd = 0.;
	return step - step / 2. * rnd;
}

/* A date in one of the three forms, all of value used; -1 if none. */
static time_t
classify_date(const char *value)
{
	struct tm tm;
	const char *end;
	size_t i;

	for (i = 0; i < CLASSIFY_NELEM(classify_date_formats); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(value, classify_date_formats[i], &tm);
		if (end != NULL && *end == '\0')
			return timegm(&tm);
	}
	return -1;
}

/*
 * Parse a Retry-After value (RFC 9110 10.2.3): delay-seconds or an
 * HTTP-date (IMF-fixdate, RFC 850 or asctime form), now being the current
 * time. Returns 0 with *secs set (0 for a date in the past, at most
 * CLASSIFY_RETRY_AFTER_MAX), or -1 when value is not one of those.
 */
int
classify_retry_after(const char *value, time_t now, long *secs)
{
	char v[CLASSIFY_VALUE_MAX];
	const char *p;
	size_t len, digits;
	time_t when;
	long n;

	*secs = 0;
	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	len = strlen(value);
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(v))
		return -1;
	memcpy(v, value, len);
	v[len] = '\0';
	if ((digits = strspn(v, "0123456789")) == len) {
		/* Leading zeros count for nothing; many digits mean "long". */
		for (p = v; digits > 1 && *p == '0'; p++)
			digits--;
		n = digits > CLASSIFY_DIGITS_MAX ? CLASSIFY_RETRY_AFTER_MAX :
		    strtol(p, NULL, 10);
	} else {
		if (!isalpha((unsigned char)v[0]) ||
		    (when = classify_date(v)) == -1)
			return -1;
		if (when <= now)
			n = 0;
		else if (when - now > CLASSIFY_RETRY_AFTER_MAX)
			n = CLASSIFY_RETRY_AFTER_MAX;
		else
			n = (long)(when - now);
	}
	*secs = n > CLASSIFY_RETRY_AFTER_MAX ? CLASSIFY_RETRY_AFTER_MAX : n;
	return 0;
}
