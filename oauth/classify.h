/*
 * classify: what a failed token request means and when to try again. A
 * failure is transient (try again later), permanent (the grant or the
 * client is refused: a person must re-authorize the account) or refused for
 * another reason (a configuration problem: trying again will not help).
 * Also the backoff between tries and the Retry-After header. Pure, no I/O.
 */
#ifndef OAUTH_CLASSIFY_H
#define OAUTH_CLASSIFY_H

#include <time.h>

enum classify_kind {
	CLASSIFY_TRANSIENT,	/* network, timeout, 408, 429, 5xx, throttled:
				   try again with backoff */
	CLASSIFY_PERMANENT,	/* invalid_grant, invalid_client,
				   unauthorized_client: re-authorize */
	CLASSIFY_REFUSED,	/* any other refusal: fail, do not retry */
};

/* Limits. */
#define CLASSIFY_BACKOFF_MAX		60	/* s, longest backoff step */
#define CLASSIFY_RETRY_AFTER_MAX	300	/* s, longest Retry-After
						   honoured */

/*
 * Classify a failed token request: status is the HTTP status (0: the
 * transfer failed: network, TLS, timeout), error the OAuth error code and
 * description its error_description (either may be NULL).
 */
enum classify_kind classify_failure(long status, const char *error,
		    const char *description);
/* "transient", "permanent" or "refused", for log lines. */
const char	*classify_name(enum classify_kind);
/*
 * Seconds to wait after the attempt-th failed try in a row (1, 2, ...):
 * 2^(attempt-1) capped at CLASSIFY_BACKOFF_MAX, less a jitter of up to
 * half of it; rnd in [0, 1) picks the jitter.
 */
double		 classify_backoff(unsigned attempt, double rnd);
/*
 * Parse a Retry-After value (RFC 9110 10.2.3): delay-seconds or an
 * HTTP-date (IMF-fixdate, RFC 850 or asctime form), now being the current
 * time. Returns 0 with *secs set (0 for a date in the past, at most
 * CLASSIFY_RETRY_AFTER_MAX), or -1 when value is not one of those.
 */
int		 classify_retry_after(const char *value, time_t now,
		    long *secs);

#endif
