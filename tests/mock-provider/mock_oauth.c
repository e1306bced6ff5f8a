/*
 * mock_oauth: the mock provider's OAuth2 endpoints, routes of mock_http.c:
 *
 *   POST /token        grant types, a table: refresh_token,
 *                      authorization_code (PKCE S256), device_code,
 *                      client_credentials (secret or RS256 client
 *                      assertion) and jwt-bearer (Google service account).
 *                      DIR/control (mock_control.c) can delay or fail any
 *                      request first.
 *   GET  /authorize    302 straight back to a loopback redirect_uri with a
 *                      single-use code bound to client_id, redirect_uri and
 *                      the PKCE challenge.
 *   POST /devicecode   a device code; polling it with the device_code grant
 *                      gets --device-pending authorization_pending answers,
 *                      then one slow_down if --device-slow-down, then
 *                      tokens. Polls closer together than the interval get
 *                      slow_down (and the interval grows by 5 s, RFC 8628).
 *   GET  /device       the verification page: approval is automatic.
 *
 * Error bodies follow --style: Google's plain {"error","error_description"}
 * or Microsoft's AADSTS descriptions with "error_codes". Files written:
 * DIR/device-polls (counter), DIR/device-slow-down-ok ("1" or "0": whether
 * the first poll after the scripted slow_down came at least the grown
 * interval after the one before), DIR/authorize-scope (the last /authorize
 * scope), DIR/jwt-sub and DIR/jwt-scope (of the last accepted service
 * account assertion). Authorization codes and device codes live in
 * fixed-size tables under one lock; the oldest entry makes room.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tests/mock-provider/mock.h"

#define GOOGLE_SCOPE		"https://mail.google.com/"
#define MS_SCOPE		"https://outlook.office.com/SMTP.Send"
#define GT_DEVICE_CODE		"urn:ietf:params:oauth:grant-type:device_code"
#define GT_JWT_BEARER		"urn:ietf:params:oauth:grant-type:jwt-bearer"
#define ASSERTION_TYPE_JWT	\
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define FORM_TYPE		"application/x-www-form-urlencoded"

#define CODES_MAX		1024	/* authorization codes kept */
#define CODE_TTL_MS		(600 * 1000)
#define DEVICES_MAX		256	/* device codes kept */
#define DEVICE_TTL		900	/* seconds, expires_in */
#define DEVICE_SLOW_DOWN_MS	5000	/* RFC 8628 3.5: +5 s per slow_down */
#define DEVICE_SLACK_MS		100	/* poll timing tolerance */
#define USER_CODE_LEN		8
#define STATE_MAX		512	/* bytes of an authorize state */
#define PKCE_CHALLENGE_LEN	43	/* base64url of a SHA-256 */
#define PKCE_VERIFIER_MIN	43	/* RFC 7636 4.1 */
#define PKCE_VERIFIER_MAX	128

/* What a grant needs from client authentication. */
enum client_auth {
	CLIENT_AUTH_NONE,	/* the grant is its own credential */
	CLIENT_AUTH_CHECK,	/* check what is given against the flags */
	CLIENT_AUTH_REQUIRED	/* and a secret or an assertion must be there */
};

/* One token request being answered. */
struct grant_req {
	struct mock_conn	*c;
	struct mock_http_req	*q;
	struct mock_form	*f;
	const char		*why;	/* for the log line, or NULL */
};

typedef void	grant_fn(struct grant_req *, struct mock_http_resp *);

static grant_fn	grant_refresh_token, grant_authorization_code,
		grant_device_code, grant_client_credentials, grant_jwt_bearer;

static const struct grant {
	const char	*grant_type;
	enum client_auth auth;
	grant_fn	*fn;
} grants[] = {
	{ "refresh_token",	CLIENT_AUTH_CHECK,	grant_refresh_token },
	{ "authorization_code",	CLIENT_AUTH_CHECK, grant_authorization_code },
	{ GT_DEVICE_CODE,	CLIENT_AUTH_CHECK,	grant_device_code },
	{ "client_credentials",	CLIENT_AUTH_REQUIRED,
				grant_client_credentials },
	{ GT_JWT_BEARER,	CLIENT_AUTH_NONE,	grant_jwt_bearer },
};

/* An authorization code from /authorize. */
struct authcode {
	char		 code[MOCK_TOKEN_MAX];	/* "" : free slot */
	char		*client_id;
	char		*redirect_uri;
	char		*challenge;
	char		*scope;
	int64_t		 expires_ms;
	int		 used;
};

/* A device code from /devicecode and its polling state. */
struct device {
	char		 device_code[MOCK_TOKEN_MAX];	/* "": free slot */
	char		 user_code[USER_CODE_LEN + 1];
	char		*client_id;
	char		*scope;
	int64_t		 expires_ms;
	int64_t		 last_poll_ms;	/* 0: not polled yet */
	long		 interval_ms;	/* grows by 5 s per slow_down */
	long		 pending;	/* authorization_pending answered */
	int		 slowed;	/* the scripted slow_down was sent */
	int		 check_next;	/* next poll: write slow-down-ok */
	int		 done;		/* tokens issued */
};

static pthread_mutex_t flow_lock = PTHREAD_MUTEX_INITIALIZER;
static struct authcode codes[CODES_MAX];
static unsigned long ncodes;		/* issued; slot = n % CODES_MAX */
static struct device devices[DEVICES_MAX];
static unsigned long ndevices;

static const char *
default_scope(void)
{

	return (mock_opts.style == MOCK_STYLE_MICROSOFT ? MS_SCOPE :
	    GOOGLE_SCOPE);
}

/*
 * A 200 token response: access_token, expires_in, token_type "Bearer",
 * scope if not NULL, refresh_token if not NULL; microsoft adds
 * ext_expires_in.
 */
static void
resp_tokens(struct mock_http_resp *r, const char *access, const char *rt,
    const char *scope)
{
	json_t *j;

	j = json_pack("{s:s, s:s, s:I}", "token_type", "Bearer",
	    "access_token", access, "expires_in",
	    (json_int_t)mock_opts.token_ttl);
	if (j != NULL && scope != NULL)
		json_object_set_new(j, "scope", json_string(scope));
	if (j != NULL && mock_opts.style == MOCK_STYLE_MICROSOFT)
		json_object_set_new(j, "ext_expires_in",
		    json_integer((json_int_t)mock_opts.token_ttl));
	if (j != NULL && rt != NULL)
		json_object_set_new(j, "refresh_token", json_string(rt));
	(void)mock_resp_json(r, 200, j);
}

/* Issue an access token (and a refresh token if want_rt) and answer. */
static void
grant_tokens(struct grant_req *g, struct mock_http_resp *r, int want_rt,
    const char *used_rt, const char *scope)
{
	char access[MOCK_TOKEN_MAX], rt[MOCK_TOKEN_MAX];

	if (mock_token_issue(access, sizeof(access), mock_opts.token_ttl) ==
	    -1 || (want_rt && mock_rt_grant(rt, sizeof(rt), used_rt) == -1)) {
		g->why = "cannot issue a token";
		mock_resp_error(r, 500, "server_error",
		    "Cannot issue a token.");
		return;
	}
	resp_tokens(r, access, want_rt ? rt : NULL, scope);
}

/* invalid_grant in the style's words; why goes to the log. */
static void
invalid_grant(struct grant_req *g, struct mock_http_resp *r, long code,
    const char *why)
{

	g->why = why;
	if (mock_opts.style == MOCK_STYLE_MICROSOFT)
		mock_resp_oauth_error(r, 400, "invalid_grant", code, why);
	else
		mock_resp_error(r, 400, "invalid_grant", why);
}

/* grant_type=refresh_token: microsoft style also rotates the token. */
static void
grant_refresh_token(struct grant_req *g, struct mock_http_resp *r)
{
	const char *rt, *scope;

	if ((rt = mock_form_get(g->f, "refresh_token")) == NULL) {
		g->why = "no refresh_token";
		mock_resp_error(r, 400, "invalid_request",
		    "Missing required parameter: refresh_token");
		return;
	}
	if (!mock_rt_valid(rt)) {
		invalid_grant(g, r, 70000, mock_opts.style ==
		    MOCK_STYLE_MICROSOFT ? "The provided value for the "
		    "'refresh_token' is not valid." :
		    "Token has been expired or revoked.");
		return;
	}
	if ((scope = mock_form_get(g->f, "scope")) == NULL)
		scope = default_scope();
	grant_tokens(g, r, mock_opts.style == MOCK_STYLE_MICROSOFT, rt, scope);
}

/* Whether v is a PKCE verifier: 43-128 unreserved characters. */
static int
pkce_verifier_ok(const char *v)
{
	size_t n = strlen(v), i;

	if (n < PKCE_VERIFIER_MIN || n > PKCE_VERIFIER_MAX)
		return (0);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("-._~", v[i]) == NULL)
			return (0);
	return (1);
}

/* Whether base64url(SHA-256(verifier)) is challenge. */
static int
pkce_s256_ok(const char *verifier, const char *challenge)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int len;
	char *enc;
	int ok;

	if (EVP_Digest(verifier, strlen(verifier), d, &len, EVP_sha256(),
	    NULL) != 1 || (enc = mock_b64url_encode(d, len)) == NULL)
		return (0);
	ok = strcmp(enc, challenge) == 0;
	free(enc);
	return (ok);
}

static void
authcode_clear(struct authcode *a)
{

	free(a->client_id);
	free(a->redirect_uri);
	free(a->challenge);
	free(a->scope);
	memset(a, 0, sizeof(*a));
}

/*
 * Take a code out of the table (single use: a second try fails even if
 * the first did too). 0 with *out a copy the caller clears, or -1 with
 * *why.
 */
static int
authcode_take(const char *code, struct authcode *out, const char **why)
{
	struct authcode *a = NULL;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&flow_lock);
	for (i = 0; i < CODES_MAX && a == NULL; i++)
		if (codes[i].code[0] != '\0' &&
		    strcmp(codes[i].code, code) == 0)
			a = &codes[i];
	if (a == NULL)
		*why = "Malformed auth code.";
	else if (a->used)
		*why = "The code was already redeemed.";
	else if (mock_now_ms() >= a->expires_ms)
		*why = "The code has expired.";
	else {
		*out = *a;
		/* The table keeps the slot, marked used, without strings. */
		a->client_id = a->redirect_uri = a->challenge = a->scope = NULL;
		rc = 0;
	}
	if (a != NULL)
		a->used = 1;
	pthread_mutex_unlock(&flow_lock);
	return (rc);
}

/* grant_type=authorization_code: code, redirect_uri, PKCE verifier. */
static void
grant_authorization_code(struct grant_req *g, struct mock_http_resp *r)
{
	struct authcode a;
	const char *code, *uri, *cid, *verifier, *why;

	code = mock_form_get(g->f, "code");
	uri = mock_form_get(g->f, "redirect_uri");
	cid = mock_form_get(g->f, "client_id");
	verifier = mock_form_get(g->f, "code_verifier");
	if (code == NULL || uri == NULL || cid == NULL) {
		g->why = "code, redirect_uri or client_id missing";
		mock_resp_error(r, 400, "invalid_request",
		    "Missing required parameter: code, redirect_uri or "
		    "client_id");
		return;
	}
	if (authcode_take(code, &a, &why) == -1) {
		invalid_grant(g, r, 70008, why);
		return;
	}
	if (strcmp(uri, a.redirect_uri) != 0)
		invalid_grant(g, r, 50011, "redirect_uri does not match the "
		    "one of the authorization request.");
	else if (strcmp(cid, a.client_id) != 0)
		invalid_grant(g, r, 70000, "client_id does not match the one "
		    "of the authorization request.");
	else if (verifier == NULL || !pkce_verifier_ok(verifier))
		invalid_grant(g, r, 50148, "Missing or malformed code "
		    "verifier.");
	else if (!pkce_s256_ok(verifier, a.challenge))
		invalid_grant(g, r, 50148, "The code_verifier does not match "
		    "the code_challenge supplied in the authorization "
		    "request for PKCE.");
	else
		grant_tokens(g, r, 1, NULL, a.scope);
	authcode_clear(&a);
}

/* Find a device code. Called with flow_lock held. */
static struct device *
device_find(const char *code)
{
	size_t i;

	for (i = 0; i < DEVICES_MAX; i++)
		if (devices[i].device_code[0] != '\0' &&
		    strcmp(devices[i].device_code, code) == 0)
			return (&devices[i]);
	return (NULL);
}

/* The answer to one poll of d at now. Called with flow_lock held. */
enum poll_answer {
	POLL_PENDING,
	POLL_SLOW_DOWN,
	POLL_TOKENS,
	POLL_EXPIRED,
	POLL_REDEEMED
};

static enum poll_answer
device_poll(struct device *d, int64_t now)
{
	int too_fast;

	if (d->done)
		return (POLL_REDEEMED);
	if (now >= d->expires_ms)
		return (POLL_EXPIRED);
	too_fast = d->last_poll_ms != 0 &&
	    now - d->last_poll_ms + DEVICE_SLACK_MS < d->interval_ms;
	if (d->check_next) {
		d->check_next = 0;
		(void)mock_file_write_line("device-slow-down-ok",
		    too_fast ? "0" : "1");
	}
	d->last_poll_ms = now;
	if (too_fast) {
		d->interval_ms += DEVICE_SLOW_DOWN_MS;
		return (POLL_SLOW_DOWN);
	}
	if (d->pending < mock_opts.device_pending) {
		d->pending++;
		return (POLL_PENDING);
	}
	if (mock_opts.device_slow_down && !d->slowed) {
		d->slowed = 1;
		d->check_next = 1;
		d->interval_ms += DEVICE_SLOW_DOWN_MS;
		return (POLL_SLOW_DOWN);
	}
	d->done = 1;
	return (POLL_TOKENS);
}

/* grant_type=urn:ietf:params:oauth:grant-type:device_code. */
static void
grant_device_code(struct grant_req *g, struct mock_http_resp *r)
{
	struct device *d;
	const char *code, *cid;
	char *scope = NULL;
	enum poll_answer a = POLL_EXPIRED;
	int found = 0;

	mock_counter_bump(MOCK_CNT_DEVICE_POLLS);
	if ((code = mock_form_get(g->f, "device_code")) == NULL) {
		g->why = "no device_code";
		mock_resp_error(r, 400, "invalid_request",
		    "Missing required parameter: device_code");
		return;
	}
	cid = mock_form_get(g->f, "client_id");
	pthread_mutex_lock(&flow_lock);
	if ((d = device_find(code)) != NULL &&
	    (cid == NULL || strcmp(cid, d->client_id) == 0)) {
		found = 1;
		a = device_poll(d, mock_now_ms());
		if (a == POLL_TOKENS)
			scope = strdup(d->scope);
	}
	pthread_mutex_unlock(&flow_lock);

	if (!found) {
		invalid_grant(g, r, 70000, "Unknown device_code for this "
		    "client_id.");
		return;
	}
	switch (a) {
	case POLL_PENDING:
		g->why = "authorization_pending";
		mock_resp_oauth_error(r, 400, "authorization_pending", 70016,
		    "OAuth 2.0 device flow error. Authorization is pending. "
		    "Continue polling.");
		break;
	case POLL_SLOW_DOWN:
		g->why = "slow_down";
		mock_resp_oauth_error(r, 400, "slow_down", 0,
		    "Polling too fast: slow down.");
		break;
	case POLL_EXPIRED:
		g->why = "expired_token";
		mock_resp_oauth_error(r, 400, "expired_token", 70019,
		    "Verification code expired.");
		break;
	case POLL_REDEEMED:
		invalid_grant(g, r, 54005, "The device code was already "
		    "redeemed.");
		break;
	case POLL_TOKENS:
		if (scope == NULL)
			mock_resp_error(r, 500, "server_error",
			    "Out of memory.");
		else
			grant_tokens(g, r, 1, NULL, scope);
		break;
	}
	free(scope);
}

/* grant_type=client_credentials: app-only, no refresh token. */
static void
grant_client_credentials(struct grant_req *g, struct mock_http_resp *r)
{
	const char *scope;
	size_t n;

	if ((scope = mock_form_get(g->f, "scope")) == NULL) {
		g->why = "no scope";
		mock_resp_oauth_error(r, 400, "invalid_request", 900144,
		    "The request body must contain the following parameter: "
		    "'scope'.");
		return;
	}
	n = strlen(scope);
	if (mock_opts.style == MOCK_STYLE_MICROSOFT &&
	    (n < strlen("/.default") ||
	    strcmp(scope + n - strlen("/.default"), "/.default") != 0)) {
		g->why = "scope without /.default";
		mock_resp_oauth_error(r, 400, "invalid_scope", 1002012,
		    "The provided value for scope is not valid. Client "
		    "credential flows must have a scope value with /.default "
		    "suffixed to the resource identifier.");
		return;
	}
	grant_tokens(g, r, 0, NULL, scope);
}

/* grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer (Google SA). */
static void
grant_jwt_bearer(struct grant_req *g, struct mock_http_resp *r)
{
	const char *jwt, *why;
	char *sub, *scope;

	if ((jwt = mock_form_get(g->f, "assertion")) == NULL) {
		g->why = "no assertion";
		mock_resp_error(r, 400, "invalid_request",
		    "Missing required parameter: assertion");
		return;
	}
	if (mock_jwt_sa_assertion(jwt, g->q->path, &sub, &scope, &why) == -1) {
		invalid_grant(g, r, 0, why);
		return;
	}
	if (mock_file_write_line("jwt-sub", sub) == -1 ||
	    mock_file_write_line("jwt-scope", scope) == -1)
		mock_resp_error(r, 500, "server_error", "Cannot record sub.");
	else
		/* Google's answer carries no scope and no refresh token. */
		grant_tokens(g, r, 0, NULL, NULL);
	free(sub);
	free(scope);
}

/* 401 invalid_client in the style's words. */
static void
invalid_client(struct grant_req *g, struct mock_http_resp *r, long code,
    const char *why)
{

	g->why = why;
	if (mock_opts.style == MOCK_STYLE_MICROSOFT)
		mock_resp_oauth_error(r, 401, "invalid_client", code, why);
	else
		mock_resp_error(r, 401, "invalid_client", "Unauthorized");
}

/*
 * Client authentication: client_id must be --client-id (if set); then a
 * client_assertion, if there, must verify against --client-cert, or else
 * client_secret must be --client-secret (if set). CLIENT_AUTH_REQUIRED
 * also wants one of the two. 0, or -1 with r set.
 */
static int
client_auth(struct grant_req *g, enum client_auth how,
    struct mock_http_resp *r)
{
	const char *cid, *type, *assertion, *secret, *why;

	if (how == CLIENT_AUTH_NONE)
		return (0);
	cid = mock_form_get(g->f, "client_id");
	type = mock_form_get(g->f, "client_assertion_type");
	assertion = mock_form_get(g->f, "client_assertion");
	secret = mock_form_get(g->f, "client_secret");
	if (mock_opts.client_id != NULL && (cid != NULL || assertion == NULL) &&
	    (cid == NULL || strcmp(cid, mock_opts.client_id) != 0)) {
		invalid_client(g, r, 700016, "Application with the given "
		    "client_id was not found.");
		return (-1);
	}
	if (type != NULL || assertion != NULL) {
		if (type == NULL || assertion == NULL ||
		    strcmp(type, ASSERTION_TYPE_JWT) != 0) {
			invalid_client(g, r, 700027, "client_assertion and "
			    "client_assertion_type (jwt-bearer) go together.");
			return (-1);
		}
		if (mock_jwt_client_assertion(assertion, g->q->path,
		    cid != NULL ? cid : mock_opts.client_id, &why) == -1) {
			invalid_client(g, r, 700027, why);
			return (-1);
		}
		return (0);
	}
	if ((mock_opts.client_secret != NULL && (secret == NULL ||
	    strcmp(secret, mock_opts.client_secret) != 0)) ||
	    (how == CLIENT_AUTH_REQUIRED && (secret == NULL || cid == NULL))) {
		invalid_client(g, r, 7000215, "Invalid client secret "
		    "provided.");
		return (-1);
	}
	return (0);
}

/* Answer an injected failure from DIR/control. */
static void
inject(const struct mock_token_ctl *ctl, struct mock_http_resp *r)
{
	char secs[32];
	int ms = mock_opts.style == MOCK_STYLE_MICROSOFT;

	switch (ctl->fail) {
	case MOCK_FAIL_500:
		mock_resp_oauth_error(r, 500, "server_error", 50000, ms ?
		    "There was an error issuing a token." : "Internal error.");
		break;
	case MOCK_FAIL_429:
		mock_resp_oauth_error(r, 429, "temporarily_unavailable", 50196,
		    ms ? "The server terminated an operation because it "
		    "encountered a client request loop." :
		    "Rate Limit Exceeded");
		snprintf(secs, sizeof(secs), "%ld", ctl->retry_after);
		(void)mock_resp_header(r, "Retry-After", secs);
		break;
	case MOCK_FAIL_INVALID_GRANT:
		mock_resp_oauth_error(r, 400, "invalid_grant", 70000, ms ?
		    "The provided value for the 'refresh_token' is not "
		    "valid." : "Token has been expired or revoked.");
		break;
	case MOCK_FAIL_INVALID_CLIENT:
		mock_resp_oauth_error(r, 401, "invalid_client", 7000215, ms ?
		    "Invalid client secret provided." : "Unauthorized");
		break;
	case MOCK_FAIL_DROP:
		r->drop = 1;
		break;
	case MOCK_FAIL_NONE:
		break;
	}
}

static const char *
fail_name(enum mock_fail f)
{

	switch (f) {
	case MOCK_FAIL_500: return ("500");
	case MOCK_FAIL_429: return ("429");
	case MOCK_FAIL_INVALID_GRANT: return ("invalid_grant");
	case MOCK_FAIL_INVALID_CLIENT: return ("invalid_client");
	case MOCK_FAIL_DROP: return ("drop");
	default: return ("none");
	}
}

/* Sleep ms milliseconds (an injected slow answer). */
static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1)
		;
}

/* POST /token: every grant type, after DIR/control's injections. */
void
mock_oauth_token(struct mock_conn *c, struct mock_http_req *q,
    struct mock_http_resp *r)
{
	struct mock_token_ctl ctl;
	struct mock_form f = { .n = 0 };
	struct grant_req g = { c, q, &f, NULL };
	const char *gt = NULL;
	size_t i = 0, n = sizeof(grants) / sizeof(grants[0]);

	mock_counter_bump(MOCK_CNT_TOKEN_REQUESTS);
	mock_control_token(&ctl);
	if (ctl.delay_ms > 0)
		sleep_ms(ctl.delay_ms);
	if (ctl.fail != MOCK_FAIL_NONE) {
		inject(&ctl, r);
		mock_log("http conn=%lu POST %s injected=%s status=%d "
		    "delay_ms=%ld", c->id, q->path, fail_name(ctl.fail),
		    r->drop ? 0 : r->status, ctl.delay_ms);
		return;
	}
	if (q->content_type == NULL || strncasecmp(q->content_type, FORM_TYPE,
	    strlen(FORM_TYPE)) != 0) {
		mock_resp_error(r, 400, "invalid_request",
		    "Content-Type must be " FORM_TYPE ".");
		goto done;
	}
	if (mock_form_parse(&f, q->body.p != NULL ? q->body.p : "",
	    q->body.len) == -1) {
		mock_resp_error(r, 400, "invalid_request",
		    "Malformed or repeated parameter.");
		goto done;
	}
	if ((gt = mock_form_get(&f, "grant_type")) == NULL) {
		mock_resp_error(r, 400, "invalid_request",
		    "Missing required parameter: grant_type");
		goto done;
	}
	for (i = 0; i < n; i++)
		if (strcmp(gt, grants[i].grant_type) == 0)
			break;
	if (i == n) {
		mock_resp_error(r, 400, "unsupported_grant_type",
		    "Invalid grant_type.");
		goto done;
	}
	if (client_auth(&g, grants[i].auth, r) == -1)
		goto done;
	grants[i].fn(&g, r);

done:
	mock_log("http conn=%lu POST %s grant_type=%s status=%d%s%s%s",
	    c->id, q->path, gt != NULL && i < n ? gt : "-", r->status,
	    g.why != NULL ? " reason=\"" : "", g.why != NULL ? g.why : "",
	    g.why != NULL ? "\"" : "");
	mock_form_free(&f);
}

/*
 * Whether uri is a loopback redirect URI: exactly http://127.0.0.1:PORT/
 * or http://localhost:PORT/, PORT 1-65535 without leading zeros.
 */
static int
loopback_uri_ok(const char *uri)
{
	const char *p;
	unsigned long port = 0;

	if (strncmp(uri, "http://127.0.0.1:", 17) != 0 &&
	    strncmp(uri, "http://localhost:", 17) != 0)
		return (0);
	for (p = uri + 17; isdigit((unsigned char)*p) && p - uri < 23; p++)
		port = port * 10 + (unsigned long)(*p - '0');
	return (p > uri + 17 && uri[17] != '0' && port <= 65535 &&
	    strcmp(p, "/") == 0);
}

/* Whether s is a possible S256 challenge: 43 base64url characters. */
static int
challenge_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return (0);
	return (i == PKCE_CHALLENGE_LEN);
}

/*
 * 302 to uri with "?name=value" pairs appended (value percent-encoded;
 * NULL values skipped). 0 / -1.
 */
static int
redirect(struct mock_http_resp *r, const char *uri, const char *const *kv)
{
	struct mock_dbuf loc = { NULL, 0, 0 };
	char *enc;
	int rc = -1, first = 1;

	if (mock_dbuf_add(&loc, uri, strlen(uri)) == -1)
		goto done;
	for (; kv[0] != NULL; kv += 2) {
		if (kv[1] == NULL)
			continue;
		if ((enc = mock_url_encode(kv[1])) == NULL)
			goto done;
		rc = mock_dbuf_add(&loc, first ? "?" : "&", 1) == -1 ||
		    mock_dbuf_add(&loc, kv[0], strlen(kv[0])) == -1 ||
		    mock_dbuf_add(&loc, "=", 1) == -1 ||
		    mock_dbuf_add(&loc, enc, strlen(enc)) == -1 ? -1 : 0;
		free(enc);
		if (rc == -1)
			goto done;
		first = 0;
	}
	if ((rc = mock_resp_header(r, "Location", loc.p)) == 0) {
		r->status = 302;
		r->body[0] = '\0';
	}

done:
	mock_dbuf_free(&loc);
	return (rc);
}

/* Store a new authorization code; into out (MOCK_TOKEN_MAX). 0 / -1. */
static int
authcode_new(char *out, const char *cid, const char *uri,
    const char *challenge, const char *scope)
{
	struct authcode *a;
	int rc = -1;

	pthread_mutex_lock(&flow_lock);
	a = &codes[ncodes % CODES_MAX];
	authcode_clear(a);
	if (mock_random_token(a->code, sizeof(a->code), "mock-code-",
	    ncodes + 1) == -1 || (a->client_id = strdup(cid)) == NULL ||
	    (a->redirect_uri = strdup(uri)) == NULL ||
	    (a->challenge = strdup(challenge)) == NULL ||
	    (a->scope = strdup(scope)) == NULL) {
		authcode_clear(a);
		goto done;
	}
	a->expires_ms = mock_now_ms() + CODE_TTL_MS;
	memcpy(out, a->code, strlen(a->code) + 1);
	ncodes++;
	rc = 0;

done:
	pthread_mutex_unlock(&flow_lock);
	return (rc);
}

/*
 * Check an authorization request. NULL if good, else the OAuth error code
 * to send back to the redirect URI, with *why.
 */
static const char *
authorize_check(const struct mock_form *f, const char **why)
{
	const char *v;

	*why = NULL;
	if ((v = mock_form_get(f, "response_type")) == NULL ||
	    strcmp(v, "code") != 0) {
		*why = "response_type must be code";
		return ("unsupported_response_type");
	}
	if ((v = mock_form_get(f, "state")) == NULL || *v == '\0' ||
	    strlen(v) > STATE_MAX)
		*why = "state missing or too long";
	else if ((v = mock_form_get(f, "code_challenge_method")) == NULL ||
	    strcmp(v, "S256") != 0)
		*why = "code_challenge_method must be S256";
	else if ((v = mock_form_get(f, "code_challenge")) == NULL ||
	    !challenge_ok(v))
		*why = "code_challenge must be 43 base64url characters";
	if (*why != NULL)
		return ("invalid_request");
	if ((v = mock_form_get(f, "scope")) == NULL || *v == '\0') {
		*why = "scope missing";
		return ("invalid_scope");
	}
	return (NULL);
}

/* GET /authorize: 302 back to the loopback redirect_uri with a code. */
void
mock_oauth_authorize(struct mock_conn *c, struct mock_http_req *q,
    struct mock_http_resp *r)
{
	struct mock_form f = { .n = 0 };
	const char *uri, *cid, *err, *why = NULL, *state;
	char code[MOCK_TOKEN_MAX];

	if (mock_form_parse(&f, q->query, strlen(q->query)) == -1) {
		why = "malformed or repeated query parameter";
		mock_resp_error(r, 400, "invalid_request", why);
		goto done;
	}
	uri = mock_form_get(&f, "redirect_uri");
	cid = mock_form_get(&f, "client_id");
	if (uri == NULL || strlen(uri) >= MOCK_URL_MAX ||
	    !loopback_uri_ok(uri)) {
		why = "redirect_uri must be http://127.0.0.1:PORT/ or "
		    "http://localhost:PORT/";
		mock_resp_error(r, 400, "invalid_request", why);
		goto done;
	}
	if (cid == NULL || *cid == '\0' || (mock_opts.client_id != NULL &&
	    strcmp(cid, mock_opts.client_id) != 0)) {
		why = "unknown client_id";
		mock_resp_error(r, 400, "invalid_client", why);
		goto done;
	}
	/* From here on errors go back to the client through the redirect. */
	state = mock_form_get(&f, "state");
	if (state != NULL && strlen(state) > STATE_MAX)
		state = NULL;
	if ((err = authorize_check(&f, &why)) != NULL) {
		const char *kv[] = { "error", err, "error_description", why,
		    "state", state, NULL };

		if (redirect(r, uri, kv) == -1)
			mock_resp_error(r, 500, "server_error", "Redirect.");
		goto done;
	}
	(void)mock_file_write_line("authorize-scope",
	    mock_form_get(&f, "scope"));
	if (authcode_new(code, cid, uri, mock_form_get(&f, "code_challenge"),
	    mock_form_get(&f, "scope")) == -1) {
		mock_resp_error(r, 500, "server_error", "Cannot issue a code.");
		goto done;
	} else {
		const char *kv[] = { "code", code, "state", state, NULL };

		if (redirect(r, uri, kv) == -1)
			mock_resp_error(r, 500, "server_error", "Redirect.");
	}

done:
	mock_log("http conn=%lu GET %s status=%d%s%s%s", c->id, q->path,
	    r->status, why != NULL ? " reason=\"" : "", why != NULL ? why : "",
	    why != NULL ? "\"" : "");
	mock_form_free(&f);
}

/* A random user code of USER_CODE_LEN capital letters. 0 / -1. */
static int
user_code(char *out)
{
	unsigned char rnd[USER_CODE_LEN];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return (-1);
	for (i = 0; i < USER_CODE_LEN; i++)
		out[i] = (char)('A' + rnd[i] % 26);
	out[USER_CODE_LEN] = '\0';
	return (0);
}

/* Store a new device code in d's slot. Called with flow_lock held. */
static int
device_new(struct device *d, const char *cid, const char *scope)
{

	free(d->client_id);
	free(d->scope);
	memset(d, 0, sizeof(*d));
	if (mock_random_token(d->device_code, sizeof(d->device_code),
	    "mock-device-", ndevices + 1) == -1 || user_code(d->user_code) ==
	    -1 || (d->client_id = strdup(cid)) == NULL ||
	    (d->scope = strdup(scope)) == NULL) {
		free(d->client_id);
		memset(d, 0, sizeof(*d));
		return (-1);
	}
	d->expires_ms = mock_now_ms() + DEVICE_TTL * 1000;
	d->interval_ms = mock_opts.device_interval * 1000;
	ndevices++;
	return (0);
}

/* POST /devicecode: a device code and user code. */
void
mock_oauth_devicecode(struct mock_conn *c, struct mock_http_req *q,
    struct mock_http_resp *r)
{
	struct mock_form f = { .n = 0 };
	struct device *d;
	const char *cid, *scope, *why = NULL;
	char uri[MOCK_URL_MAX], msg[MOCK_URL_MAX + 128];
	char dcode[MOCK_TOKEN_MAX], ucode[USER_CODE_LEN + 1];
	int rc;

	if (q->content_type == NULL || strncasecmp(q->content_type, FORM_TYPE,
	    strlen(FORM_TYPE)) != 0 || mock_form_parse(&f, q->body.p != NULL ?
	    q->body.p : "", q->body.len) == -1) {
		why = "malformed form body";
		mock_resp_error(r, 400, "invalid_request", why);
		goto done;
	}
	cid = mock_form_get(&f, "client_id");
	scope = mock_form_get(&f, "scope");
	if (cid == NULL || *cid == '\0' || (mock_opts.client_id != NULL &&
	    strcmp(cid, mock_opts.client_id) != 0)) {
		why = "unknown client_id";
		mock_resp_oauth_error(r, 400, "invalid_client", 700016,
		    "Application with the given client_id was not found.");
		goto done;
	}
	if (scope == NULL || *scope == '\0') {
		why = "scope missing";
		mock_resp_oauth_error(r, 400, "invalid_request", 900144,
		    "The request body must contain the following parameter: "
		    "'scope'.");
		goto done;
	}
	pthread_mutex_lock(&flow_lock);
	d = &devices[ndevices % DEVICES_MAX];
	if ((rc = device_new(d, cid, scope)) == 0) {
		memcpy(dcode, d->device_code, sizeof(dcode));
		memcpy(ucode, d->user_code, sizeof(ucode));
	}
	pthread_mutex_unlock(&flow_lock);
	if (rc == -1) {
		mock_resp_error(r, 500, "server_error", "Cannot issue a code.");
		goto done;
	}
	snprintf(uri, sizeof(uri), "https://%s:%u/device", mock_opts.http_host,
	    mock_opts.http_port);
	snprintf(msg, sizeof(msg), "To sign in, use a web browser to open the "
	    "page %s and enter the code %s to authenticate.", uri, ucode);
	(void)mock_resp_json(r, 200, json_pack("{s:s, s:s, s:s, s:i, s:I, "
	    "s:s}", "device_code", dcode, "user_code", ucode,
	    "verification_uri", uri, "expires_in", DEVICE_TTL, "interval",
	    (json_int_t)mock_opts.device_interval, "message", msg));

done:
	mock_log("http conn=%lu POST %s status=%d%s%s%s", c->id, q->path,
	    r->status, why != NULL ? " reason=\"" : "", why != NULL ? why : "",
	    why != NULL ? "\"" : "");
	mock_form_free(&f);
}

/* GET /device: the verification page (approval is automatic). */
void
mock_oauth_device(struct mock_conn *c, struct mock_http_req *q,
    struct mock_http_resp *r)
{

	(void)mock_resp_json(r, 200, json_pack("{s:s}", "message",
	    "mock: device codes are approved automatically; keep polling."));
	mock_log("http conn=%lu GET %s status=%d", c->id, q->path, r->status);
}
