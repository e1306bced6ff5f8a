/*
 * token: the access token cache behind oauth.h. One entry per account; a
 * refresh reads the refresh token from the account's file (every time, so
 * `authrelay set-token` needs no restart), POSTs it to the token endpoint
 * through http.c, saves what comes back (a rotated refresh token before
 * anyone sees the access token) and hands the access token to every waiter
 * of that one request.
 *
 * Failures are classified permanent or transient (token_classify) so that
 * retries with backoff can be added later; today every failure goes straight
 * to the waiters.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>
#include <openssl/crypto.h>

#include "io/log.h"
#include "oauth/http.h"
#include "oauth/oauth.h"
#include "oauth/store.h"
#include "oauth/tokenjson.h"

/* Lifetime assumed when the reply has no expires_in (or 0). */
#define TOKEN_DEFAULT_EXPIRES	3600
/* Longest failure reason handed to waiters. */
#define TOKEN_REASON_MAX	512
/* Longest error text from store or parser. */
#define TOKEN_ERR_MAX		384
/* Longest provider error code quoted in a reason. */
#define TOKEN_CODE_MAX		64
/* Longest provider error_description quoted in a log line. */
#define TOKEN_DESC_LOG_MAX	200
/* The HTTP status of a token reply. */
#define TOKEN_HTTP_OK		200
/* Longest path of a token file (checked when an account is added). */
#define TOKEN_PATH_MAX		4096

enum token_fail {
	TOKEN_FAIL_TRANSIENT,	/* may work if tried again later */
	TOKEN_FAIL_PERMANENT,	/* needs a person: re-authorize, fix config */
};

TAILQ_HEAD(token_waitq, oauth_wait);

struct oauth_wait {
	struct oauth_account	*acct;
	struct token_waitq	*q;	/* the list it is on */
	oauth_cb		*cb;
	void			*arg;
	TAILQ_ENTRY(oauth_wait)	 entry;
};

struct oauth_account {
	struct oauth		*oauth;
	char			*name;
	char			*token_url;
	char			*client_id;
	char			*client_secret;	/* secret; NULL: public */
	char			*ca_file;
	char			*access_token;	/* secret; NULL: none */
	time_t			 expires_at;
	int			 loaded;	/* file's access token seen */
	struct http_req		*req;		/* the refresh in flight */
	char			*sent_refresh;	/* secret: what req sent */
	ev_timer		 fail_timer;	/* failure before any request */
	int			 failing;	/* fail_timer armed */
	enum token_fail		 fail_kind;
	char			 fail_reason[TOKEN_REASON_MAX];
	struct token_waitq	 waiters;
	size_t			 nwaiters;
	TAILQ_ENTRY(oauth_account) entry;
};

struct oauth {
	struct ev_loop		*loop;
	char			*state_dir;
	struct http		*http;
	TAILQ_HEAD(, oauth_account) accounts;
};

static void	token_refresh_start(struct oauth_account *);
static void	token_fail_later(struct oauth_account *, enum token_fail,
		    const char *, ...) __attribute__((format(printf, 3, 4)));

static void
token_wipe(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

static const char *
token_kind_name(enum token_fail kind)
{
	return kind == TOKEN_FAIL_PERMANENT ? "permanent" : "transient";
}

/*
 * Whether trying again later could help. status 0 is a transport failure;
 * error is the OAuth error code, or NULL.
 */
static enum token_fail
token_classify(long status, const char *error)
{
	static const char *permanent[] = { "invalid_grant", "invalid_client",
	    "unauthorized_client", "unsupported_grant_type", "invalid_scope",
	    "invalid_request", "access_denied" };
	size_t i;

	if (error != NULL)
		for (i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
			if (strcmp(error, permanent[i]) == 0)
				return TOKEN_FAIL_PERMANENT;
	if (status == 0 || status == 408 || status == 429 || status >= 500)
		return TOKEN_FAIL_TRANSIENT;
	if (status >= 400)
		return TOKEN_FAIL_PERMANENT;
	return TOKEN_FAIL_TRANSIENT;
}

/* Copy provider text into dst keeping only characters in keep (or print). */
static void
token_sanitize(char *dst, size_t size, const char *src, const char *keep)
{
	size_t n = 0;

	for (; src != NULL && *src != '\0' && n + 1 < size; src++) {
		if (keep != NULL && strchr(keep, *src) == NULL &&
		    !isalnum((unsigned char)*src))
			continue;
		dst[n++] = (*src >= 0x20 && *src < 0x7f && *src != '"') ?
		    *src : ' ';
	}
	if (size > 0)
		dst[n] = '\0';
}

/* Microsoft's "AADSTS70000" code from an error_description, or "". */
static void
token_aadsts(char *dst, size_t size, const char *desc)
{
	const char *p;
	size_t n;

	dst[0] = '\0';
	if (desc == NULL || (p = strstr(desc, "AADSTS")) == NULL)
		return;
	n = strlen("AADSTS") + strspn(p + strlen("AADSTS"), "0123456789");
	if (n == strlen("AADSTS") || n + 2 > size)
		return;
	dst[0] = ' ';
	memcpy(dst + 1, p, n);
	dst[n + 1] = '\0';
}

/* Hand token (or NULL and reason) to every waiter of acct. */
static void
token_deliver(struct oauth_account *acct, const char *token,
    const char *reason)
{
	char tok[OAUTH_TOKEN_MAX + 1], why[TOKEN_REASON_MAX];
	struct token_waitq q;
	struct oauth_wait *w;
	oauth_cb *cb;
	void *arg;

	/*
	 * Private copies: a waiter may invalidate the cached token or start
	 * a refresh that overwrites the reason while others are still due.
	 */
	snprintf(tok, sizeof(tok), "%s", token != NULL ? token : "");
	snprintf(why, sizeof(why), "%s", reason != NULL ? reason : "");
	/*
	 * The list comes off the account first: a waiter that calls
	 * oauth_token_get joins a new list, one that cancels another waiter
	 * removes it from this one.
	 */
	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &acct->waiters, entry);
	acct->nwaiters = 0;
	TAILQ_FOREACH(w, &q, entry)
		w->q = &q;
	while ((w = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, w, entry);
		cb = w->cb;
		arg = w->arg;
		free(w);
		cb(arg, token != NULL ? tok : NULL, token != NULL ? NULL : why);
	}
	explicit_bzero(tok, sizeof(tok));
}

static void
token_fail_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct oauth_account *acct = t->data;
	char why[TOKEN_REASON_MAX];

	(void)loop;
	(void)revents;
	acct->failing = 0;
	snprintf(why, sizeof(why), "%s", acct->fail_reason);
	log_info(0, "oauth account=%s refresh failed kind=%s reason=%s",
	    acct->name, token_kind_name(acct->fail_kind), why);
	token_deliver(acct, NULL, why);
}

/* A refresh failed before any request: tell the waiters from the loop. */
static void
token_fail_later(struct oauth_account *acct, enum token_fail kind,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(acct->fail_reason, sizeof(acct->fail_reason), fmt, ap);
	va_end(ap);
	acct->fail_kind = kind;
	acct->failing = 1;
	ev_timer_set(&acct->fail_timer, 0., 0.);
	ev_timer_start(acct->oauth->loop, &acct->fail_timer);
}

/*
 * "grant_type=refresh_token&refresh_token=..&client_id=..[&client_secret=..]"
 * with each value url-encoded. Secret: the caller wipes it.
 */
static char *
token_form(const struct oauth_account *acct, const char *refresh)
{
	static const char *keys[] = { "refresh_token", "client_id",
	    "client_secret" };
	const char *vals[] = { refresh, acct->client_id,
	    acct->client_secret };
	char *esc[] = { NULL, NULL, NULL };
	char *body = NULL, *p;
	size_t len, i, n = sizeof(keys) / sizeof(keys[0]);

	len = strlen("grant_type=refresh_token");
	for (i = 0; i < n; i++) {
		if (vals[i] == NULL)
			continue;
		if ((esc[i] = curl_easy_escape(NULL, vals[i], 0)) == NULL)
			goto done;
		len += 1 + strlen(keys[i]) + 1 + strlen(esc[i]);
	}
	if ((body = malloc(len + 1)) == NULL)
		goto done;
	p = stpcpy(body, "grant_type=refresh_token");
	for (i = 0; i < n; i++) {
		if (esc[i] == NULL)
			continue;
		p = stpcpy(p, "&");
		p = stpcpy(p, keys[i]);
		p = stpcpy(p, "=");
		p = stpcpy(p, esc[i]);
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
 * Save the new tokens before anyone gets the access token. The file is
 * rewritten only if it still holds the refresh token that was sent: an
 * operator's `set-token` during the request wins.
 *
 * A failed save is logged, and the access token is delivered all the same:
 * Google does not rotate refresh tokens, and Microsoft does not revoke the
 * previous one when it rotates, so the file on disk stays usable; refusing
 * a good access token would only turn a disk problem into failed mail.
 */
static void
token_save(struct oauth_account *acct, const struct token_response *tr,
    time_t expires_at)
{
	struct oauth *o = acct->oauth;
	struct stored_token cur, st;
	char err[TOKEN_ERR_MAX];
	int have_cur;

	have_cur = store_read(o->state_dir, NULL, acct->name, &cur, err,
	    sizeof(err)) == 0;
	if (have_cur && acct->sent_refresh != NULL &&
	    strcmp(cur.refresh_token, acct->sent_refresh) != 0) {
		log_warn(0, "oauth account=%s token file replaced during the "
		    "refresh: left as it is", acct->name);
		goto done;
	}
	if (!have_cur && tr->refresh_token == NULL) {
		log_warn(0, "oauth account=%s access token not saved: %s",
		    acct->name, err);
		goto done;
	}
	memset(&st, 0, sizeof(st));
	st.refresh_token = tr->refresh_token != NULL ? tr->refresh_token :
	    cur.refresh_token;
	st.access_token = tr->access_token;
	st.expires_at = expires_at;
	st.scope = tr->scope != NULL ? tr->scope : have_cur ? cur.scope : NULL;
	if (store_write(o->state_dir, NULL, acct->name, &st, err,
	    sizeof(err)) == -1) {
		if (tr->refresh_token != NULL)
			log_err(0, "oauth account=%s new refresh token NOT "
			    "saved, the previous one stays on disk: %s",
			    acct->name, err);
		else
			log_warn(0, "oauth account=%s access token not saved: "
			    "%s", acct->name, err);
	}
done:
	if (have_cur)
		store_token_clear(&cur);
}

/* Provider text for the log, with any secret we sent kept out of it. */
static void
token_desc_for_log(const struct oauth_account *acct, const char *desc,
    char *dst, size_t size)
{
	if (desc == NULL) {
		snprintf(dst, size, "-");
		return;
	}
	if ((acct->sent_refresh != NULL &&
	    strstr(desc, acct->sent_refresh) != NULL) ||
	    (acct->client_secret != NULL && acct->client_secret[0] != '\0' &&
	    strstr(desc, acct->client_secret) != NULL)) {
		snprintf(dst, size, "(withheld: it quotes a secret)");
		return;
	}
	token_sanitize(dst, size, desc, NULL);
}

/* The token endpoint answered (or did not). */
static void
token_http_cb(void *arg, long status, const char *body, size_t len,
    const char *errtext)
{
	struct oauth_account *acct = arg;
	struct token_response tr;
	char err[TOKEN_ERR_MAX], why[TOKEN_REASON_MAX];
	char code[TOKEN_CODE_MAX], aad[TOKEN_CODE_MAX];
	char desc[TOKEN_DESC_LOG_MAX];
	enum token_fail kind;
	long expires_in;
	int r;

	acct->req = NULL;
	memset(&tr, 0, sizeof(tr));
	if (status == 0) {
		snprintf(why, sizeof(why), "token endpoint unreachable: %s",
		    errtext != NULL ? errtext : "unknown error");
		kind = token_classify(0, NULL);
		goto fail;
	}
	r = token_response_parse(body, len, &tr, err, sizeof(err));
	if (r == 1) {
		token_sanitize(code, sizeof(code), tr.error, "_-.");
		token_aadsts(aad, sizeof(aad), tr.error_description);
		kind = token_classify(status, tr.error);
		snprintf(why, sizeof(why), "token endpoint said %s%s%s", code,
		    aad, strcmp(tr.error, "invalid_grant") == 0 ?
		    " (re-authorize the account)" :
		    strcmp(tr.error, "invalid_client") == 0 ?
		    " (check client_id and client_secret)" : "");
		token_desc_for_log(acct, tr.error_description, desc,
		    sizeof(desc));
		log_info(0, "oauth account=%s token endpoint HTTP %ld error=%s "
		    "description=\"%s\"", acct->name, status, code, desc);
		goto fail;
	}
	if (status != TOKEN_HTTP_OK) {
		snprintf(why, sizeof(why), "token endpoint HTTP %ld", status);
		kind = token_classify(status, NULL);
		goto fail;
	}
	if (r == -1) {
		snprintf(why, sizeof(why), "token endpoint reply unusable: %s",
		    err);
		kind = token_classify(status, NULL);
		goto fail;
	}

	expires_in = tr.expires_in > 0 ? tr.expires_in : TOKEN_DEFAULT_EXPIRES;
	token_save(acct, &tr, time(NULL) + expires_in);
	token_wipe(&acct->access_token);
	acct->access_token = tr.access_token;
	tr.access_token = NULL;
	acct->expires_at = time(NULL) + expires_in;
	log_info(0, "oauth account=%s refreshed expires_in=%ld rotated=%s",
	    acct->name, expires_in, tr.refresh_token != NULL ? "yes" : "no");
	token_response_clear(&tr);
	token_wipe(&acct->sent_refresh);
	token_deliver(acct, acct->access_token, NULL);
	return;
fail:
	token_response_clear(&tr);
	token_wipe(&acct->sent_refresh);
	log_info(0, "oauth account=%s refresh failed kind=%s reason=%s",
	    acct->name, token_kind_name(kind), why);
	token_deliver(acct, NULL, why);
}

/* Start the one refresh of acct. */
static void
token_refresh_start(struct oauth_account *acct)
{
	struct oauth *o = acct->oauth;
	struct stored_token st;
	char err[TOKEN_ERR_MAX];
	char *body;

	if (store_read(o->state_dir, NULL, acct->name, &st, err,
	    sizeof(err)) == -1) {
		token_fail_later(acct, TOKEN_FAIL_PERMANENT,
		    "%s (run: authrelay -c FILE set-token %s)", err,
		    acct->name);
		return;
	}
	body = token_form(acct, st.refresh_token);
	token_wipe(&acct->sent_refresh);
	acct->sent_refresh = strdup(st.refresh_token);
	store_token_clear(&st);
	if (body == NULL || acct->sent_refresh == NULL) {
		token_fail_later(acct, TOKEN_FAIL_TRANSIENT, "out of memory");
		goto done;
	}
	acct->req = http_post_form(o->http, acct->token_url, body,
	    acct->ca_file, OAUTH_HTTP_TIMEOUT, token_http_cb, acct);
	if (acct->req == NULL)
		token_fail_later(acct, TOKEN_FAIL_TRANSIENT,
		    "cannot start a request to the token endpoint");
done:
	if (acct->req == NULL)
		token_wipe(&acct->sent_refresh);
	if (body != NULL) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
}

/* Cache the access token of the file, once, if it is still good. */
static void
token_load(struct oauth_account *acct)
{
	struct stored_token st;
	char err[TOKEN_ERR_MAX];
	time_t now = time(NULL);

	acct->loaded = 1;
	if (store_read(acct->oauth->state_dir, NULL, acct->name, &st, err,
	    sizeof(err)) == -1)
		return;
	if (st.access_token != NULL && acct->access_token == NULL &&
	    st.expires_at - now >= OAUTH_EXPIRY_MARGIN) {
		acct->access_token = st.access_token;
		st.access_token = NULL;
		acct->expires_at = st.expires_at;
		log_info(0, "oauth account=%s stored access token reused "
		    "expires_in=%lld", acct->name,
		    (long long)(st.expires_at - now));
	}
	store_token_clear(&st);
}

/* Create the token manager on loop with opts. NULL on failure. */
struct oauth *
oauth_new(struct ev_loop *loop, const struct oauth_opts *opts)
{
	const char *state_dir = opts->state_dir;

	struct oauth *o;

	if (state_dir == NULL || (o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->loop = loop;
	TAILQ_INIT(&o->accounts);
	if ((o->state_dir = strdup(state_dir)) == NULL ||
	    (o->http = http_new(loop)) == NULL) {
		free(o->state_dir);
		free(o);
		return NULL;
	}
	return o;
}

static void
token_account_free(struct oauth_account *acct)
{
	struct oauth_wait *w;

	if (acct->req != NULL)
		http_cancel(acct->req);
	ev_timer_stop(acct->oauth->loop, &acct->fail_timer);
	while ((w = TAILQ_FIRST(&acct->waiters)) != NULL) {
		TAILQ_REMOVE(&acct->waiters, w, entry);
		free(w);
	}
	token_wipe(&acct->access_token);
	token_wipe(&acct->sent_refresh);
	token_wipe(&acct->client_secret);
	free(acct->name);
	free(acct->token_url);
	free(acct->client_id);
	free(acct->ca_file);
	explicit_bzero(acct, sizeof(*acct));
	free(acct);
}

/*
 * Cancel all requests (failing nobody: waiters must be gone) and free.
 * Not from inside an oauth_cb.
 */
void
oauth_free(struct oauth *o)
{
	struct oauth_account *acct;

	if (o == NULL)
		return;
	while ((acct = TAILQ_FIRST(&o->accounts)) != NULL) {
		TAILQ_REMOVE(&o->accounts, acct, entry);
		token_account_free(acct);
	}
	http_free(o->http);
	free(o->state_dir);
	free(o);
}

static int
token_dup(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	return (*dst = strdup(src)) == NULL ? -1 : 0;
}

/*
 * Register an account. Returns NULL on allocation failure, or when the name
 * cannot be a token file name or token_url or client_id is missing.
 */
struct oauth_account *
oauth_account_add(struct oauth *o, const struct oauth_account_cfg *cfg)
{
	struct oauth_account *acct;
	char path[TOKEN_PATH_MAX];

	if (o == NULL || cfg == NULL || cfg->token_url == NULL ||
	    cfg->client_id == NULL ||
	    store_path(o->state_dir, cfg->name, path, sizeof(path)) == -1)
		return NULL;
	if ((acct = calloc(1, sizeof(*acct))) == NULL)
		return NULL;
	acct->oauth = o;
	TAILQ_INIT(&acct->waiters);
	ev_init(&acct->fail_timer, token_fail_cb);
	acct->fail_timer.data = acct;
	if (token_dup(&acct->name, cfg->name) == -1 ||
	    token_dup(&acct->token_url, cfg->token_url) == -1 ||
	    token_dup(&acct->client_id, cfg->client_id) == -1 ||
	    token_dup(&acct->client_secret, cfg->client_secret) == -1 ||
	    token_dup(&acct->ca_file, cfg->ca_file) == -1) {
		token_account_free(acct);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&o->accounts, acct, entry);
	return acct;
}

/*
 * Get an access token that is valid for at least OAUTH_EXPIRY_MARGIN more
 * seconds. Returns 1 with *token set (valid until control returns to the
 * loop) when the cache has one; 0 when a refresh is needed: one request per
 * account is in flight whatever the number of callers, and cb(arg, ...)
 * runs when it ends; *wait is the handle to cancel it. Never calls cb
 * before returning. Returns -1 (cb will not run) when out of memory or when
 * OAUTH_WAITERS_MAX callers already wait on the account.
 */
int
oauth_token_get(struct oauth_account *acct, oauth_cb *cb, void *arg,
    struct oauth_wait **wait, const char **token)
{
	struct oauth_wait *w;

	*wait = NULL;
	*token = NULL;
	if (!acct->loaded)
		token_load(acct);
	if (acct->access_token != NULL &&
	    acct->expires_at - time(NULL) >= OAUTH_EXPIRY_MARGIN) {
		*token = acct->access_token;
		return 1;
	}
	if (acct->nwaiters >= OAUTH_WAITERS_MAX) {
		log_warn(0, "oauth account=%s too many waiters max=%d",
		    acct->name, OAUTH_WAITERS_MAX);
		return -1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->acct = acct;
	w->cb = cb;
	w->arg = arg;
	w->q = &acct->waiters;
	TAILQ_INSERT_TAIL(&acct->waiters, w, entry);
	acct->nwaiters++;
	/* Single flight: only the first waiter starts a request. */
	if (acct->req == NULL && !acct->failing)
		token_refresh_start(acct);
	*wait = w;
	return 0;
}

/* Forget a waiter whose caller is going away; cb will not run. */
void
oauth_wait_cancel(struct oauth_wait *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(w->q, w, entry);
	if (w->q == &w->acct->waiters)
		w->acct->nwaiters--;
	free(w);
}

/*
 * The provider rejected this access token: drop it from the cache (if it is
 * still the cached one) so the next get refreshes.
 */
void
oauth_token_invalidate(struct oauth_account *acct, const char *token)
{
	size_t len;

	if (acct->access_token == NULL || token == NULL)
		return;
	len = strlen(token);
	if (strlen(acct->access_token) != len ||
	    CRYPTO_memcmp(acct->access_token, token, len) != 0)
		return;
	token_wipe(&acct->access_token);
	acct->expires_at = 0;
	log_info(0, "oauth account=%s access token dropped: rejected by the "
	    "provider", acct->name);
}
