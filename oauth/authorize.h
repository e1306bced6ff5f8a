/*
 * authorize: getting an account's first tokens, for `authrelay authorize`:
 * the authorization-code flow with PKCE (RFC 7636) and a loopback redirect
 * (RFC 8252 7.3), the same flow with the redirected URL pasted by hand, and
 * the device authorization grant (RFC 8628). The tokens that come back are
 * stored with store_write.
 *
 * A one-shot command, not part of the daemon: it blocks, prints to out,
 * reads from in, and sends its HTTPS requests through oauth/http on a
 * private libev loop. It never prints or returns a token, an authorization
 * code, the code_verifier, a device_code or the client secret.
 *
 * The pure parts (PKCE, the authorization URL, parsing a redirect and a
 * device authorization response) are exported for the unit tests.
 */
#ifndef OAUTH_AUTHORIZE_H
#define OAUTH_AUTHORIZE_H

#include <stddef.h>
#include <stdio.h>

/* Limits. */
#define AUTHORIZE_VERIFIER_BYTES 32	/* random bytes: a 43-char verifier */
#define AUTHORIZE_VERIFIER_MIN	43	/* RFC 7636 4.1 */
#define AUTHORIZE_VERIFIER_MAX	128
#define AUTHORIZE_CHALLENGE_LEN	43	/* base64url of a SHA-256 */
#define AUTHORIZE_STATE_BYTES	16	/* random bytes of state */
#define AUTHORIZE_REQUEST_MAX	8192	/* bytes of a browser's request head */
#define AUTHORIZE_PASTE_MAX	8192	/* bytes of a pasted URL or code */
#define AUTHORIZE_VALUE_MAX	4096	/* bytes of one decoded parameter */
#define AUTHORIZE_CLIENTS_MAX	8	/* browser connections at once */
#define AUTHORIZE_TIMEOUT	300	/* s to wait for the user, default */
#define AUTHORIZE_TIMEOUT_MAX	3600
#define AUTHORIZE_DEVICE_EXPIRES 900	/* s, when the reply gives none */
#define AUTHORIZE_DEVICE_EXPIRES_MAX 3600
#define AUTHORIZE_INTERVAL	5	/* s between polls, RFC 8628 3.2 */
#define AUTHORIZE_INTERVAL_MAX	60
#define AUTHORIZE_SLOW_DOWN	5	/* s added on slow_down, RFC 8628 3.5 */

enum authorize_mode {
	AUTHORIZE_LOOPBACK,	/* listen on 127.0.0.1 for the redirect */
	AUTHORIZE_MANUAL,	/* the user pastes the redirected URL */
	AUTHORIZE_DEVICE,	/* device authorization grant */
};

/* One account to authorize; nothing is copied, nothing is freed. */
struct authorize_cfg {
	const char	*account;	/* the token file's name */
	const char	*email;		/* login_hint; NULL: none */
	const char	*auth_url;	/* tenant filled in; NULL: none */
	const char	*token_url;
	const char	*device_url;	/* NULL: no device flow */
	const char	*client_id;
	const char	*client_secret;	/* NULL: public client */
	const char	*scope;		/* NULL: none asked for */
	const char	*ca_file;	/* NULL: system trust store */
	int		 offline_params; /* add access_type=offline and
					    prompt=consent (Google) */
	const char	*state_dir;
	const unsigned char *seal_key;	/* NULL or STORE_KEY_LEN bytes */
	enum authorize_mode mode;
	int		 port;		/* loopback port; 0: ephemeral */
	long		 timeout;	/* s to wait for the user */
};

/*
 * Run the flow c->mode for account c: tell the user on out what to do, wait
 * for the authorization, exchange it at the token endpoint and store the
 * tokens; then print what was stored (never a token). Returns 0, or -1
 * with the reason in err (no secret in it).
 */
int	authorize_run(const struct authorize_cfg *c, FILE *in, FILE *out,
	    char *err, size_t errsize);

/*
 * Base64url without padding (RFC 4648 5) of n bytes into dst. Returns the
 * length, or -1 if dst is too small.
 */
int	authorize_b64url(const void *src, size_t n, char *dst,
	    size_t dstsize);
/*
 * The S256 code_challenge of verifier (RFC 7636 4.2) into dst (at least
 * AUTHORIZE_CHALLENGE_LEN + 1 bytes). Returns 0, or -1 when the verifier is
 * not 43..128 unreserved characters or dst is too small.
 */
int	authorize_pkce_challenge(const char *verifier, char *dst,
	    size_t dstsize);
/*
 * The authorization request URL (RFC 6749 4.1.1 with RFC 7636 4.3) for c,
 * every value percent-encoded. A malloc'd string, or NULL when out of
 * memory or c has no auth_url.
 */
char	*authorize_url(const struct authorize_cfg *c, const char *redirect_uri,
	    const char *state, const char *challenge);

/* What came back to the redirect URI; malloc'd strings or NULL. */
struct authorize_redirect {
	char	*code;			/* secret */
	char	*state;
	char	*error;
	char	*error_description;
};

/*
 * Parse the first line of the browser's request, "GET /?code=...&state=...
 * HTTP/1.1". Returns 0 for a GET of "/" (r holds what the query had, maybe
 * nothing); 1 for another method or path (favicon.ico ...); -1 when the
 * line or its query is malformed.
 */
int	authorize_parse_request(const char *line,
	    struct authorize_redirect *r);
/*
 * Parse what the user pasted: the redirected URL
 * (http://127.0.0.1:PORT/?code=...&state=...), its query, or the bare
 * code. Returns 0 when r holds a code or an error; -1 otherwise.
 */
int	authorize_parse_pasted(const char *text, struct authorize_redirect *r);
/* Wipe and free r's strings; safe on a zeroed struct. */
void	authorize_redirect_clear(struct authorize_redirect *r);

/* A device authorization response (RFC 8628 3.2). */
struct authorize_device {
	char	*device_code;		/* secret */
	char	*user_code;
	char	*verification_uri;
	char	*verification_uri_complete;	/* NULL if not given */
	long	 expires_in;		/* s; AUTHORIZE_DEVICE_EXPIRES if
					   not given, capped at _MAX */
	long	 interval;		/* s; AUTHORIZE_INTERVAL if not
					   given, 1.._MAX */
};

/*
 * Parse a device authorization response body (len bytes). Returns 0, or -1
 * with a reason in err (no secret in it) when it is not a JSON object with
 * device_code, user_code and verification_uri (Google's older
 * verification_url is taken too) of sane sizes.
 */
int	authorize_parse_device(const char *body, size_t len,
	    struct authorize_device *d, char *err, size_t errsize);
/* Wipe and free d's strings; safe on a zeroed struct. */
void	authorize_device_clear(struct authorize_device *d);

#endif
