/*
 * oauth: access tokens for provider accounts. Keeps one cache entry per
 * account, gets tokens through the token endpoint with the account's grant
 * (libcurl multi on the caller's libev loop: nothing blocks), and makes
 * every concurrent request for one account share one refresh ("single
 * flight"). Renews tokens ahead of expiry, retries transient failures with
 * backoff, and stops asking for an account whose grant was refused until
 * its credentials change. Knows nothing of sessions or SMTP.
 */
#ifndef OAUTH_OAUTH_H
#define OAUTH_OAUTH_H

#include <stddef.h>
#include <time.h>

#include <ev.h>

/* How an account gets its access tokens. */
enum oauth_grant {
	OAUTH_GRANT_REFRESH_TOKEN = 0,	/* stored refresh token (default) */
	OAUTH_GRANT_CLIENT_CREDENTIALS,	/* Microsoft app-only: client secret
					   or certificate assertion */
	OAUTH_GRANT_SERVICE_ACCOUNT,	/* Google: RS256 JWT bearer */
};

/* What an account needs to get tokens; strings are copied. */
struct oauth_account_cfg {
	const char	*name;		/* account name: token file name */
	const char	*token_url;	/* https://..., tenant filled in */
	const char	*client_id;
	const char	*client_secret;	/* NULL for a public client */
	const char	*ca_file;	/* NULL: system trust store */
	enum oauth_grant grant;
	const char	*scope;		/* NULL: none sent on refresh */
	const char	*email;		/* sub of a service account JWT */
	const char	*client_cert_file;	/* client_credentials with a
						   certificate (PEM) ... */
	const char	*client_key_file;	/* ... and its key (PEM) */
	const char	*service_account_file;	/* Google JSON key file */
};

/* Daemon-wide settings of the token manager; strings are copied. */
struct oauth_opts {
	const char		*state_dir;
	const unsigned char	*seal_key;	/* NULL, or STORE_KEY_LEN bytes:
						   token files are sealed */
	long			 refresh_margin;	/* s before expiry; a token
							   with less is never
							   handed out from the
							   cache; <= 0: the
							   default */
	long			 wait_timeout;	/* s a waiter waits at most;
						   <= 0: the default */
	const char		*config_path;	/* NULL, or the config file
						   named in "run: authrelay
						   -c CONFIG ..." hints */
};

/* Limits. */
#define OAUTH_TOKEN_MAX		4096	/* bytes of an access/refresh token */
#define OAUTH_RESPONSE_MAX	65536	/* bytes of a token endpoint reply */
#define OAUTH_HTTP_TIMEOUT	30	/* seconds for one token request */
#define OAUTH_EXPIRY_MARGIN	300	/* default refresh_margin */
#define OAUTH_RENEW_JITTER_MAX	60	/* s of random advance of a renewal */
#define OAUTH_RETRY_MAX		10	/* tries in a row of a refresh that
					   fails transiently */
#define OAUTH_WAIT_TIMEOUT	30	/* default wait_timeout */
#define OAUTH_WAITERS_MAX	100000	/* waiters on one account */

struct oauth;
struct oauth_account;
struct oauth_wait;

/*
 * Called once per oauth_token_get that returned 0 and was not cancelled.
 * token is NULL on failure, with a short reason fit for a log line and an
 * SMTP reply (never a secret). The token string is valid only during the
 * call: copy it. The wait handle is gone once the call starts.
 */
typedef void oauth_cb(void *arg, const char *token, const char *reason);

/*
 * Check what the token manager needs before it starts: the state directory
 * must exist, be ours and be closed to others. Returns 0, or -1 with a
 * reason in err that says how to fix it ("run: chmod 700 DIR").
 */
int		 oauth_check(const struct oauth_opts *, char *err,
		    size_t errsize);
/*
 * Check, without a request, what an account needs to get tokens: its token
 * file (present, ours, closed to others, sealed only if a key is set) for
 * a refresh token; its client secret or certificate and key; its service
 * account file and email. Returns 0, or -1 with a reason in err (no secret
 * in it) that says how to fix it.
 */
int		 oauth_account_check(const struct oauth_opts *,
		    const struct oauth_account_cfg *, char *err,
		    size_t errsize);
/*
 * Create the token manager on loop with opts. NULL on failure (logged),
 * among them a state directory that oauth_check refuses.
 */
struct oauth	*oauth_new(struct ev_loop *loop, const struct oauth_opts *);
/*
 * Cancel all requests (failing nobody: waiters must be gone) and free.
 * Not from inside an oauth_cb.
 */
void		 oauth_free(struct oauth *);
/*
 * Register an account. Returns NULL on allocation failure, or when the name
 * cannot be a token file name, token_url is missing, or client_id is
 * missing for a grant that needs one (all but the service account). What
 * oauth_account_check finds wrong is logged as a warning, not refused: a
 * token stored later is used without a restart.
 */
struct oauth_account *oauth_account_add(struct oauth *,
		    const struct oauth_account_cfg *);

/*
 * The account is going away once its users are done: no more renewals
 * ahead of expiry; tokens asked for are still fetched. NULL does nothing.
 */
void		 oauth_account_quiet(struct oauth_account *);
/*
 * Forget an account: cancel its request and timers and free it. No one may
 * wait on it. NULL does nothing.
 */
void		 oauth_account_remove(struct oauth_account *);

/* What a refresh ended with, counted per account for metrics. */
enum oauth_result {
	OAUTH_RESULT_SUCCESS,
	OAUTH_RESULT_TRANSIENT,	/* network, 429, 5xx: retried */
	OAUTH_RESULT_PERMANENT,	/* invalid_grant and kin: re-authorize */
	OAUTH_RESULT_REFUSED,	/* any other refusal */
	OAUTH_RESULTS
};

/* An account's credential as status output shows it: never a token. */
#define OAUTH_STATUS_TEXT_MAX	512
struct oauth_status {
	int	 valid;		/* a cached token good for refresh_margin */
	time_t	 expires_at;	/* of the cached token; 0: none */
	time_t	 last_at;	/* last try at the token endpoint; 0: none */
	int	 last_ok;	/* ... and whether it gave a token */
	char	 last_result[OAUTH_STATUS_TEXT_MAX];	/* "ok" or why not */
	int	 needs_authorize;	/* refused until its files change */
	char	 reason[OAUTH_STATUS_TEXT_MAX];	/* ... and the refusal */
	int	 refreshing;	/* a request in flight or a retry due */
	time_t	 refresh_at;	/* the refresh token's issue; 0: unknown
				   or none (other grants) */
	unsigned long long results[OAUTH_RESULTS];	/* refreshes so far */
	int	 unsaved;	/* a rotated refresh token is only in memory:
				   its file could not be written */
	unsigned long long save_failures;	/* token file writes refused */
};
/*
 * What an account's credential looks like now, for status output and
 * readiness: never a token.
 */
void		 oauth_account_status(struct oauth_account *,
		    struct oauth_status *);

/*
 * Get an access token that is valid for at least refresh_margin more
 * seconds. Returns 1 with *token set (valid until control returns to the
 * loop) when the cache has one; 0 when a refresh is needed: one request per
 * account is in flight whatever the number of callers, and cb(arg, ...)
 * runs when it ends (with the new token even if the provider gave it less
 * than refresh_margin to live), or fails the caller with "no access token
 * within N s" after wait_timeout while transient failures are retried, or
 * at once (from the loop, without a request) while the account needs
 * re-authorization; *wait is the handle to cancel it. Never calls cb
 * before returning. Returns -1 (cb will not run) when out of memory or when
 * OAUTH_WAITERS_MAX callers already wait on the account.
 */
int		 oauth_token_get(struct oauth_account *, oauth_cb *cb,
		    void *arg, struct oauth_wait **wait, const char **token);
/* Forget a waiter whose caller is going away; cb will not run. */
void		 oauth_wait_cancel(struct oauth_wait *);
/*
 * The provider rejected this access token: drop it from the cache (if it is
 * still the cached one) so the next get refreshes.
 */
void		 oauth_token_invalidate(struct oauth_account *,
		    const char *token);

/*
 * Refresh now whatever the cache holds (for `authrelay token`): like
 * oauth_token_get returning 0, but never answered from the cache.
 * Returns 0, or -1 if it could not start.
 */
int		 oauth_token_refresh(struct oauth_account *, oauth_cb *cb,
		    void *arg, struct oauth_wait **wait);
/*
 * What the cache holds, for display: expiry (0 if no token) and scope
 * (NULL if unknown). Never the token.
 */
void		 oauth_token_info(const struct oauth_account *,
		    time_t *expires_at, const char **scope);

#endif
