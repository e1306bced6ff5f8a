/*
 * token: the access token cache behind oauth.h. One entry per account. A
 * refresh builds the request body for the account's grant (grant.c; a
 * refresh token is read from the account's file every time, so `authrelay
 * authorize` or `set-token` needs no restart), POSTs it through http.c,
 * saves what comes back (a rotated refresh token before anyone sees the
 * access token) and hands the access token to every waiter of that one
 * request.
 *
 * Renewal: after each refresh a timer renews the token refresh_margin (and
 * a little jitter) before it expires, whether anyone waits or not.
 * Failures are classified (classify.c): a transient one is retried with
 * backoff, Retry-After honoured, while someone waits or a renewal is due,
 * the waiters staying queued until their wait_timeout; a permanent one
 * marks the account as needing re-authorization, and gets then fail at
 * once, without a request, until the credential files change; any other
 * refusal fails the waiters and is not retried.
 *
 * The timers that serve only the background (renewal, retries) do not keep
 * the loop alive: a command that waits for one token ends once it has it.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "io/log.h"
#include "oauth/classify.h"
#include "oauth/grant.h"
#include "oauth/http.h"
#include "oauth/oauth.h"
#include "oauth/store.h"
#include "oauth/tokenjson.h"
#include "oauth/wipe.h"

/* Lifetime assumed when the reply has no expires_in (or 0). */
#define TOKEN_DEFAULT_EXPIRES	3600
/* Longest failure reason handed to waiters. */
#define TOKEN_REASON_MAX	512
/* ... and of a timed-out waiter, which quotes the last one. */
#define TOKEN_WAIT_REASON_MAX	(TOKEN_REASON_MAX + 64)
/* Longest error text from store, grant or parser. */
#define TOKEN_ERR_MAX		384
/* Longest "what to do" hint in a log line. */
#define TOKEN_HINT_MAX		384
/* Longest provider error code quoted in a reason. */
#define TOKEN_CODE_MAX		64
/* Longest provider error_description quoted in a log line. */
#define TOKEN_DESC_LOG_MAX	200
/* The HTTP status of a token reply. */
#define TOKEN_HTTP_OK		200
/* Longest path of a token file (checked when an account is added). */
#define TOKEN_PATH_MAX		4096
/* s between tries to write a rotated refresh token the disk refused. */
#define TOKEN_SAVE_RETRY	30.
/* Files whose change clears a "needs re-authorization" mark. */
#define TOKEN_STAMP_FILES	2
/* A renewal's jitter is at most this share of refresh_margin (1/5). */
#define TOKEN_JITTER_SHARE	5
/* Shortest delay of a renewal, in s. */
#define TOKEN_RENEW_MIN		1.
/* Slack when comparing a waiter's deadline with the loop's time. */
#define TOKEN_TIME_SLACK	0.001

TAILQ_HEAD(token_waitq, oauth_wait);

struct oauth_wait {
	struct oauth_account	*acct;
	struct token_waitq	*q;	/* the list it is on */
	oauth_cb		*cb;
	void			*arg;
	ev_tstamp		 deadline;	/* fail it then (ev_now) */
	TAILQ_ENTRY(oauth_wait)	 entry;
};

/* One version of a file: any write, rename, chmod or chown changes it. */
struct token_file_stamp {
	int		 exists;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim;
	struct timespec	 ctim;
};

/* The account's credential files as they were at one moment. */
struct token_stamp {
	struct token_file_stamp	 f[TOKEN_STAMP_FILES];
};

struct oauth_account {
	struct oauth		*oauth;
	struct oauth_account_cfg cfg;		/* our copies */
	/* The cache. */
	char			*access_token;	/* secret; NULL: none */
	time_t			 expires_at;
	char			*scope;		/* NULL: unknown */
	int			 loaded;	/* file's token looked at */
	/* The request in flight, and what it was built from. */
	struct http_req		*req;
	char			*sent_refresh;	/* secret */
	int			 sent_unsaved;	/* ... the unsaved one below */
	/* A rotated refresh token the file could not take: used for the
	   next refresh and written again until the write succeeds. */
	char			*unsaved;	/* secret; NULL: none */
	struct token_stamp	 unsaved_stamp;	/* the file as it was then */
	ev_timer		 save_timer;	/* the next try (background) */
	struct token_stamp	 sent_stamp;
	/* A round: tries until a token, a refusal or a give-up. */
	unsigned		 attempts;	/* failed tries in a row */
	int			 renewing;	/* retried with no waiter */
	char			 last_error[TOKEN_REASON_MAX];
	/* The grant was refused: no request until the files change. */
	int			 reauth;
	struct token_stamp	 reauth_stamp;
	char			 reauth_reason[TOKEN_REASON_MAX];
	/* Failing the waiters from the loop. */
	ev_timer		 fail_timer;
	int			 failing;	/* fail_timer armed */
	char			 fail_reason[TOKEN_REASON_MAX];
	ev_timer		 wait_timer;	/* first waiter's deadline */
	ev_timer		 retry_timer;	/* next try (background) */
	ev_timer		 renew_timer;	/* renewal (background) */
	struct token_waitq	 waiters;	/* in deadline order */
	size_t			 nwaiters;
	int			 quiet;		/* no renewal in the background */
	unsigned long long	 save_failures;	/* token writes refused */
	/* The last answer of the token endpoint, for status. */
	time_t			 refresh_at;	/* the stored refresh token's
						   issue; 0: unknown */
	unsigned long long	 nresults[OAUTH_RESULTS];	/* refreshes,
						   by enum oauth_result */
	time_t			 last_at;	/* 0: no request yet */
	int			 last_ok;
	char			 last_result[TOKEN_REASON_MAX];
	TAILQ_ENTRY(oauth_account) entry;
};

struct oauth {
	struct ev_loop		*loop;
	char			*state_dir;
	char			*config_path;	/* NULL: not named */
	unsigned char		 seal_key[STORE_KEY_LEN]; /* secret */
	int			 sealed;	/* seal_key set */
	long			 margin;	/* refresh_margin */
	long			 wait_timeout;
	struct http		*http;
	TAILQ_HEAD(, oauth_account) accounts;
};

static void	token_request(struct oauth_account *);
static void	token_saved(struct oauth_account *);
static void	token_keep_unsaved(struct oauth_account *, const char *,
		    const char *);
static void	token_fail_later(struct oauth_account *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static const unsigned char *
token_key(const struct oauth *o)
{
	return o->sealed ? o->seal_key : NULL;
}

/* A random number in [0, 1) for jitter. */
static double
token_random(void)
{
	uint32_t r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return 0.5;
	return (double)r / 4294967296.;
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

/* What a person must do when the account's grant is refused. */
static void
token_hint(const char *config_path, const struct oauth_account_cfg *cfg,
    char *buf, size_t size)
{
	switch (cfg->grant) {
	case OAUTH_GRANT_REFRESH_TOKEN:
		snprintf(buf, size, "run: authrelay%s%s authorize %s",
		    config_path != NULL ? " -c " : "",
		    config_path != NULL ? config_path : "", cfg->name);
		break;
	case OAUTH_GRANT_CLIENT_CREDENTIALS:
		if (cfg->client_cert_file != NULL)
			snprintf(buf, size, "check client_id, and that the "
			    "certificate in %s is registered with the "
			    "application; a new certificate or key file is "
			    "used without a restart", cfg->client_cert_file);
		else
			snprintf(buf, size, "check client_id and "
			    "client_secret of [account %s]%s%s, then restart",
			    cfg->name, config_path != NULL ? " in " : "",
			    config_path != NULL ? config_path : "");
		break;
	case OAUTH_GRANT_SERVICE_ACCOUNT:
		snprintf(buf, size, "check %s and the domain-wide delegation "
		    "of its client for the scope; a new key file is used "
		    "without a restart", cfg->service_account_file);
		break;
	}
}

/*
 * why into err, and for a token file that is missing, what to run to make
 * one: other reasons say their own fix (chmod, token_key_file, a file).
 */
static void
token_why_fix(const char *state_dir, const char *config_path,
    const struct oauth_account_cfg *cfg, const char *why, char *err,
    size_t errsize)
{
	char path[TOKEN_PATH_MAX], hint[TOKEN_HINT_MAX];
	struct stat sb;

	if (cfg->grant == OAUTH_GRANT_REFRESH_TOKEN &&
	    store_path(state_dir, cfg->name, path, sizeof(path)) == 0 &&
	    stat(path, &sb) == -1 && errno == ENOENT) {
		token_hint(config_path, cfg, hint, sizeof(hint));
		snprintf(err, errsize, "%s (%s)", why, hint);
	} else
		snprintf(err, errsize, "%s", why);
}

/*
 * A background timer: it does not keep the loop alive. libev stops a
 * one-shot timer before its callback runs, which must then call ev_ref.
 */
static void
token_bg_stop(struct oauth_account *acct, ev_timer *t)
{
	if (ev_is_active(t)) {
		ev_ref(acct->oauth->loop);
		ev_timer_stop(acct->oauth->loop, t);
	}
}

static void
token_bg_start(struct oauth_account *acct, ev_timer *t, double after)
{
	token_bg_stop(acct, t);
	ev_timer_set(t, after, 0.);
	ev_timer_start(acct->oauth->loop, t);
	ev_unref(acct->oauth->loop);
}

/* Arm the wait timer for the first waiter, or stop it if there is none. */
static void
token_wait_arm(struct oauth_account *acct)
{
	struct ev_loop *loop = acct->oauth->loop;
	struct oauth_wait *w;
	ev_tstamp after;

	ev_timer_stop(loop, &acct->wait_timer);
	if ((w = TAILQ_FIRST(&acct->waiters)) == NULL)
		return;
	after = w->deadline - ev_now(loop);
	ev_timer_set(&acct->wait_timer, after > 0. ? after : 0., 0.);
	ev_timer_start(loop, &acct->wait_timer);
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
	ev_timer_stop(acct->oauth->loop, &acct->wait_timer);
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
	/* Callers may have joined a new list meanwhile. */
	token_wait_arm(acct);
}

/* The first waiters have waited wait_timeout: fail them. */
static void
token_wait_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct oauth_account *acct = t->data;
	char why[TOKEN_WAIT_REASON_MAX];
	struct oauth_wait *w;
	ev_tstamp now = ev_now(loop);
	size_t n = 0;
	oauth_cb *cb;
	void *arg;

	(void)revents;
	snprintf(why, sizeof(why), "no access token within %ld s%s%s%s",
	    acct->oauth->wait_timeout, acct->last_error[0] != '\0' ?
	    " (last error: " : "", acct->last_error,
	    acct->last_error[0] != '\0' ? ")" : "");
	/* Waiters are in the order of their deadlines. */
	while ((w = TAILQ_FIRST(&acct->waiters)) != NULL &&
	    w->deadline <= now + TOKEN_TIME_SLACK) {
		TAILQ_REMOVE(&acct->waiters, w, entry);
		acct->nwaiters--;
		cb = w->cb;
		arg = w->arg;
		free(w);
		n++;
		cb(arg, NULL, why);
	}
	if (n > 0)
		log_warn(0, "oauth account=%s waiters=%zu timed out reason=%s",
		    acct->cfg.name, n, why);
	token_wait_arm(acct);
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
	log_debug(0, "oauth account=%s waiters=%zu failed reason=%s",
	    acct->cfg.name, acct->nwaiters, why);
	token_deliver(acct, NULL, why);
}

/*
 * Fail every waiter, from the loop: this may run inside oauth_token_get,
 * which must not call back. The caller has logged why.
 */
static void
token_fail_later(struct oauth_account *acct, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(acct->fail_reason, sizeof(acct->fail_reason), fmt, ap);
	va_end(ap);
	acct->failing = 1;
	ev_timer_set(&acct->fail_timer, 0., 0.);
	ev_timer_start(acct->oauth->loop, &acct->fail_timer);
}

static void
token_file_stamp(const char *path, struct token_file_stamp *fs)
{
	struct stat sb;

	memset(fs, 0, sizeof(*fs));
	if (path == NULL || stat(path, &sb) == -1)
		return;
	fs->exists = 1;
	fs->dev = sb.st_dev;
	fs->ino = sb.st_ino;
	fs->size = sb.st_size;
	fs->mtim = sb.st_mtim;
	fs->ctim = sb.st_ctim;
}

/* Stamp the files the account's grant reads. */
static void
token_stamp(const struct oauth_account *acct, struct token_stamp *s)
{
	const struct oauth_account_cfg *c = &acct->cfg;
	char path[TOKEN_PATH_MAX];
	const char *files[TOKEN_STAMP_FILES] = { NULL, NULL };
	size_t i;

	switch (c->grant) {
	case OAUTH_GRANT_REFRESH_TOKEN:
		if (store_path(acct->oauth->state_dir, c->name, path,
		    sizeof(path)) == 0)
			files[0] = path;
		break;
	case OAUTH_GRANT_CLIENT_CREDENTIALS:
		files[0] = c->client_cert_file;
		files[1] = c->client_key_file;
		break;
	case OAUTH_GRANT_SERVICE_ACCOUNT:
		files[0] = c->service_account_file;
		break;
	}
	for (i = 0; i < TOKEN_STAMP_FILES; i++)
		token_file_stamp(files[i], &s->f[i]);
}

static int
token_stamp_eq(const struct token_stamp *a, const struct token_stamp *b)
{
	const struct token_file_stamp *x, *y;
	size_t i;

	for (i = 0; i < TOKEN_STAMP_FILES; i++) {
		x = &a->f[i];
		y = &b->f[i];
		if (x->exists != y->exists || x->dev != y->dev ||
		    x->ino != y->ino || x->size != y->size ||
		    x->mtim.tv_sec != y->mtim.tv_sec ||
		    x->mtim.tv_nsec != y->mtim.tv_nsec ||
		    x->ctim.tv_sec != y->ctim.tv_sec ||
		    x->ctim.tv_nsec != y->ctim.tv_nsec)
			return 0;
	}
	return 1;
}

/* What the last try ended with, for oauth_account_status. */
static void
token_note(struct oauth_account *acct, int ok, const char *result)
{
	acct->last_at = time(NULL);
	acct->last_ok = ok;
	snprintf(acct->last_result, sizeof(acct->last_result), "%s", result);
}

/* A round of tries ended (success, give-up or refusal). */
static void
token_round_end(struct oauth_account *acct)
{
	acct->attempts = 0;
	acct->renewing = 0;
	acct->last_error[0] = '\0';
	token_bg_stop(acct, &acct->retry_timer);
}

/*
 * Renew the cached token refresh_margin before it expires, a random
 * min(OAUTH_RENEW_JITTER_MAX, margin / 5, half the time left) earlier.
 */
static void
token_renew_arm(struct oauth_account *acct)
{
	struct oauth *o = acct->oauth;
	double usable, jitter, delay;

	token_bg_stop(acct, &acct->renew_timer);
	if (acct->quiet)
		return;
	usable = (double)(acct->expires_at - time(NULL) - o->margin);
	if (usable <= 0.) {
		log_warn(0, "oauth account=%s token lives %lld s, not more "
		    "than refresh_margin %ld s: not renewed ahead of expiry",
		    acct->cfg.name, (long long)(acct->expires_at - time(NULL)),
		    o->margin);
		return;
	}
	jitter = OAUTH_RENEW_JITTER_MAX;
	if (jitter > (double)o->margin / TOKEN_JITTER_SHARE)
		jitter = (double)o->margin / TOKEN_JITTER_SHARE;
	if (jitter > usable / 2.)
		jitter = usable / 2.;
	delay = usable - jitter * token_random();
	if (delay < TOKEN_RENEW_MIN)
		delay = TOKEN_RENEW_MIN;
	token_bg_start(acct, &acct->renew_timer, delay);
	log_debug(0, "oauth account=%s renewal in %.1f s", acct->cfg.name,
	    delay);
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

	have_cur = store_read(o->state_dir, token_key(o), acct->cfg.name, &cur,
	    err, sizeof(err)) == 0;
	/* Sent from memory, the file is known to be older. */
	if (have_cur && acct->sent_refresh != NULL && !acct->sent_unsaved &&
	    strcmp(cur.refresh_token, acct->sent_refresh) != 0) {
		log_warn(0, "oauth account=%s token file replaced during the "
		    "refresh: left as it is", acct->cfg.name);
		goto done;
	}
	if (!have_cur && tr->refresh_token == NULL) {
		log_warn(0, "oauth account=%s access token not saved: %s",
		    acct->cfg.name, err);
		goto done;
	}
	memset(&st, 0, sizeof(st));
	st.refresh_token = tr->refresh_token != NULL ? tr->refresh_token :
	    acct->unsaved != NULL ? acct->unsaved : cur.refresh_token;
	/* A rotated token is new now; a kept one keeps its age. */
	st.refresh_at = tr->refresh_token == NULL && acct->unsaved == NULL &&
	    have_cur ? cur.refresh_at : time(NULL);
	st.access_token = tr->access_token;
	st.expires_at = expires_at;
	st.scope = tr->scope != NULL ? tr->scope : have_cur ? cur.scope : NULL;
	if (store_write(o->state_dir, token_key(o), acct->cfg.name, &st, err,
	    sizeof(err)) == 0) {
		acct->refresh_at = st.refresh_at != 0 ? st.refresh_at :
		    time(NULL);
		token_saved(acct);
	} else if (tr->refresh_token != NULL || acct->unsaved != NULL)
		token_keep_unsaved(acct, st.refresh_token, err);
	else
		log_warn(0, "oauth account=%s access token not saved: %s",
		    acct->cfg.name, err);
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
	    (acct->cfg.client_secret != NULL &&
	    acct->cfg.client_secret[0] != '\0' &&
	    strstr(desc, acct->cfg.client_secret) != NULL)) {
		snprintf(dst, size, "(withheld: it quotes a secret)");
		return;
	}
	token_sanitize(dst, size, desc, NULL);
}

/* The refresh token in memory is on disk now. */
static void
token_saved(struct oauth_account *acct)
{
	if (acct->unsaved == NULL)
		return;
	wipe_str(&acct->unsaved);
	token_bg_stop(acct, &acct->save_timer);
	log_info(0, "oauth account=%s refresh token saved at last",
	    acct->cfg.name);
}

/*
 * The disk refused a rotated refresh token: with single-use rotation the
 * one on disk may be dead already, so this one is kept in memory, used
 * for the next refresh and written again every TOKEN_SAVE_RETRY s.
 */
static void
token_keep_unsaved(struct oauth_account *acct, const char *refresh,
    const char *err)
{
	char *copy;

	if (refresh != acct->unsaved) {
		if ((copy = strdup(refresh)) == NULL) {
			log_err(0, "oauth account=%s new refresh token NOT "
			    "saved and out of memory: the one on disk stays",
			    acct->cfg.name);
			return;
		}
		wipe_str(&acct->unsaved);
		acct->unsaved = copy;
		token_stamp(acct, &acct->unsaved_stamp);
	}
	acct->save_failures++;
	log_err(0, "oauth account=%s new refresh token NOT saved: %s; kept in "
	    "memory and used for the next refresh, written again in %.0f s",
	    acct->cfg.name, err, TOKEN_SAVE_RETRY);
	token_bg_start(acct, &acct->save_timer, TOKEN_SAVE_RETRY);
}

/* Try again to write the refresh token kept in memory. */
static void
token_save_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct oauth_account *acct = t->data;
	struct oauth *o = acct->oauth;
	struct stored_token st;
	char err[TOKEN_ERR_MAX];

	(void)revents;
	ev_ref(loop);
	if (acct->unsaved == NULL)
		return;
	memset(&st, 0, sizeof(st));
	st.refresh_token = acct->unsaved;
	st.access_token = acct->access_token;
	st.expires_at = acct->access_token != NULL ? acct->expires_at : 0;
	st.scope = acct->scope;
	if (store_write(o->state_dir, token_key(o), acct->cfg.name, &st, err,
	    sizeof(err)) == 0) {
		acct->refresh_at = time(NULL);
		token_saved(acct);
	} else
		token_keep_unsaved(acct, acct->unsaved, err);
}

/* The token endpoint gave a token: keep it, renew it later, hand it out. */
static void
token_success(struct oauth_account *acct, struct token_response *tr)
{
	time_t now = time(NULL);
	long expires_in;

	expires_in = tr->expires_in > 0 ? tr->expires_in :
	    TOKEN_DEFAULT_EXPIRES;
	if (acct->cfg.grant == OAUTH_GRANT_REFRESH_TOKEN)
		token_save(acct, tr, now + expires_in);
	wipe_str(&acct->sent_refresh);
	wipe_str(&acct->access_token);
	acct->access_token = tr->access_token;
	tr->access_token = NULL;
	acct->expires_at = now + expires_in;
	if (tr->scope != NULL) {
		free(acct->scope);
		acct->scope = tr->scope;
		tr->scope = NULL;
	}
	token_note(acct, 1, "ok");
	acct->nresults[OAUTH_RESULT_SUCCESS]++;
	log_info(0, "oauth account=%s refreshed%s expires_in=%ld rotated=%s",
	    acct->cfg.name, acct->renewing ? " ahead of expiry" : "",
	    expires_in, tr->refresh_token != NULL ? "yes" : "no");
	token_round_end(acct);
	token_renew_arm(acct);
	token_deliver(acct, acct->access_token, NULL);
}

/*
 * A transient failure: try again after a backoff (at least retry_after s
 * if that is not -1) while someone waits or a renewal wants the token, at
 * most OAUTH_RETRY_MAX times in a row; then fail the waiters.
 */
static void
token_transient(struct oauth_account *acct, const char *why,
    long retry_after)
{
	double delay;

	acct->attempts++;
	acct->nresults[OAUTH_RESULT_TRANSIENT]++;
	snprintf(acct->last_error, sizeof(acct->last_error), "%s", why);
	if (acct->attempts >= OAUTH_RETRY_MAX ||
	    (acct->nwaiters == 0 && !acct->renewing)) {
		log_warn(0, "oauth account=%s refresh failed kind=transient "
		    "reason=\"%s\" attempt=%u/%d: %s", acct->cfg.name, why,
		    acct->attempts, OAUTH_RETRY_MAX,
		    acct->attempts >= OAUTH_RETRY_MAX ? "giving up" :
		    "no one waits, not retried");
		token_round_end(acct);
		token_fail_later(acct, "%s", why);
		return;
	}
	delay = classify_backoff(acct->attempts, token_random());
	if (retry_after >= 0 && (double)retry_after > delay)
		delay = (double)retry_after;
	log_warn(0, "oauth account=%s refresh failed kind=transient "
	    "reason=\"%s\" attempt=%u/%d retry_in=%.1fs retry_after=%ld",
	    acct->cfg.name, why, acct->attempts, OAUTH_RETRY_MAX, delay,
	    retry_after);
	token_bg_start(acct, &acct->retry_timer, delay);
}

/*
 * The grant or the client is refused: mark the account until its files
 * change, drop its token, say once what to run, fail the waiters.
 */
static void
token_permanent(struct oauth_account *acct, const char *code,
    const char *why)
{
	char hint[TOKEN_HINT_MAX];

	token_round_end(acct);
	token_bg_stop(acct, &acct->renew_timer);
	wipe_str(&acct->access_token);
	acct->expires_at = 0;
	acct->reauth = 1;
	acct->nresults[OAUTH_RESULT_PERMANENT]++;
	acct->reauth_stamp = acct->sent_stamp;
	if (acct->cfg.grant == OAUTH_GRANT_REFRESH_TOKEN)
		snprintf(acct->reauth_reason, sizeof(acct->reauth_reason),
		    "account %s needs re-authorization (%s)", acct->cfg.name,
		    code);
	else
		snprintf(acct->reauth_reason, sizeof(acct->reauth_reason),
		    "account %s: the provider refused its credentials (%s)",
		    acct->cfg.name, code);
	token_hint(acct->oauth->config_path, &acct->cfg, hint, sizeof(hint));
	log_err(0, "oauth account=%s %s: %s; %s", acct->cfg.name,
	    acct->cfg.grant == OAUTH_GRANT_REFRESH_TOKEN ?
	    "needs re-authorization" : "credentials refused", why, hint);
	token_fail_later(acct, "%s", acct->reauth_reason);
}

/* The token endpoint answered (or did not). */
static void
token_http_cb(void *arg, long status, const char *body, size_t len,
    const char *errtext, const char *retry_after)
{
	struct oauth_account *acct = arg;
	struct token_response tr;
	char err[TOKEN_ERR_MAX], why[TOKEN_REASON_MAX];
	char code[TOKEN_CODE_MAX], aad[TOKEN_CODE_MAX];
	char desc[TOKEN_DESC_LOG_MAX];
	enum classify_kind kind;
	long ra = -1;
	int r;

	acct->req = NULL;
	memset(&tr, 0, sizeof(tr));
	if (retry_after != NULL &&
	    classify_retry_after(retry_after, time(NULL), &ra) == -1)
		ra = -1;
	if (status == 0) {
		snprintf(why, sizeof(why), "token endpoint unreachable: %s",
		    errtext != NULL ? errtext : "unknown error");
		snprintf(code, sizeof(code), "network");
		kind = classify_failure(0, NULL, NULL);
		goto fail;
	}
	r = token_response_parse(body, len, &tr, err, sizeof(err));
	if (r == 1) {
		token_sanitize(code, sizeof(code), tr.error, "_-.");
		token_aadsts(aad, sizeof(aad), tr.error_description);
		kind = classify_failure(status, tr.error,
		    tr.error_description);
		snprintf(why, sizeof(why), "token endpoint said %s%s", code,
		    aad);
		token_desc_for_log(acct, tr.error_description, desc,
		    sizeof(desc));
		log_info(0, "oauth account=%s token endpoint HTTP %ld error=%s "
		    "description=\"%s\"", acct->cfg.name, status, code, desc);
		goto fail;
	}
	if (status != TOKEN_HTTP_OK) {
		snprintf(why, sizeof(why), "token endpoint HTTP %ld", status);
		snprintf(code, sizeof(code), "HTTP %ld", status);
		kind = classify_failure(status, NULL, NULL);
		goto fail;
	}
	if (r == -1) {
		snprintf(why, sizeof(why), "token endpoint reply unusable: %s",
		    err);
		snprintf(code, sizeof(code), "unusable reply");
		kind = classify_failure(status, NULL, NULL);
		goto fail;
	}
	token_success(acct, &tr);
	token_response_clear(&tr);
	return;
fail:
	token_response_clear(&tr);
	token_note(acct, 0, why);
	/* Before any waiter runs: one may start the next request. */
	wipe_str(&acct->sent_refresh);
	switch (kind) {
	case CLASSIFY_TRANSIENT:
		token_transient(acct, why, ra);
		break;
	case CLASSIFY_PERMANENT:
		token_permanent(acct, code, why);
		break;
	case CLASSIFY_REFUSED:
		log_warn(0, "oauth account=%s refresh failed kind=refused "
		    "reason=\"%s\"", acct->cfg.name, why);
		acct->nresults[OAUTH_RESULT_REFUSED]++;
		token_round_end(acct);
		token_fail_later(acct, "%s", why);
		break;
	}
}

/*
 * Build and send the one request of acct. A failure before any request
 * (no token file, a bad key file) fails the waiters and is not retried:
 * it needs a person, and every later get tries again without a request.
 */
static void
token_request(struct oauth_account *acct)
{
	struct oauth *o = acct->oauth;
	struct stored_token st;
	char err[TOKEN_ERR_MAX], why[TOKEN_ERR_MAX + TOKEN_HINT_MAX];
	const char *refresh;
	char *body = NULL;

	memset(&st, 0, sizeof(st));
	token_stamp(acct, &acct->sent_stamp);
	if (acct->cfg.grant == OAUTH_GRANT_REFRESH_TOKEN &&
	    store_read(o->state_dir, token_key(o), acct->cfg.name, &st, err,
	    sizeof(err)) == -1)
		goto fail;
	/* The one in memory, unless someone wrote the file since. */
	if (acct->unsaved != NULL && !token_stamp_eq(&acct->sent_stamp,
	    &acct->unsaved_stamp)) {
		log_info(0, "oauth account=%s token file written since the "
		    "refresh token in memory failed to save: the file's is "
		    "used", acct->cfg.name);
		wipe_str(&acct->unsaved);
		token_bg_stop(acct, &acct->save_timer);
	}
	acct->sent_unsaved = acct->unsaved != NULL;
	refresh = acct->unsaved != NULL ? acct->unsaved : st.refresh_token;
	if ((body = grant_body(&acct->cfg, refresh, time(NULL), err,
	    sizeof(err))) == NULL)
		goto fail;
	wipe_str(&acct->sent_refresh);
	if (refresh != NULL &&
	    (acct->sent_refresh = strdup(refresh)) == NULL) {
		token_transient(acct, "out of memory", -1);
		goto done;
	}
	acct->req = http_post_form(o->http, acct->cfg.token_url, body,
	    acct->cfg.ca_file, OAUTH_HTTP_TIMEOUT, token_http_cb, acct);
	if (acct->req == NULL) {
		wipe_str(&acct->sent_refresh);
		token_transient(acct, "cannot start a request to the token "
		    "endpoint", -1);
		goto done;
	}
	log_debug(0, "oauth account=%s token request grant=%s attempt=%u",
	    acct->cfg.name, grant_name(acct->cfg.grant), acct->attempts + 1);
	goto done;
fail:
	token_why_fix(o->state_dir, o->config_path, &acct->cfg, err, why,
	    sizeof(why));
	token_note(acct, 0, err);
	log_warn(0, "oauth account=%s cannot ask for a token: %s",
	    acct->cfg.name, why);
	token_round_end(acct);
	token_fail_later(acct, "%s", err);
done:
	if (body != NULL) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	store_token_clear(&st);
}

/* Start a round unless one is on (in flight, retrying or failing). */
static void
token_start(struct oauth_account *acct)
{
	if (acct->req != NULL || acct->failing ||
	    ev_is_active(&acct->retry_timer))
		return;
	acct->attempts = 0;
	token_request(acct);
}

static void
token_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct oauth_account *acct = t->data;

	(void)revents;
	ev_ref(loop);
	if (acct->nwaiters == 0 && !acct->renewing) {
		log_info(0, "oauth account=%s no one waits: retries stopped",
		    acct->cfg.name);
		token_round_end(acct);
		return;
	}
	token_request(acct);
}

static void
token_renew_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct oauth_account *acct = t->data;

	(void)revents;
	ev_ref(loop);
	if (acct->reauth)
		return;
	/* A round already on carries on until it has a token. */
	acct->renewing = 1;
	if (acct->req != NULL || acct->failing ||
	    ev_is_active(&acct->retry_timer))
		return;
	log_info(0, "oauth account=%s renewing ahead of expiry "
	    "expires_in=%lld", acct->cfg.name,
	    (long long)(acct->expires_at - time(NULL)));
	acct->attempts = 0;
	token_request(acct);
}

/* Cache the access token of the file, once, if it is still good. */
static void
token_load(struct oauth_account *acct)
{
	struct oauth *o = acct->oauth;
	struct stored_token st;
	char err[TOKEN_ERR_MAX];
	time_t now = time(NULL);

	acct->loaded = 1;
	if (acct->cfg.grant != OAUTH_GRANT_REFRESH_TOKEN ||
	    store_read(o->state_dir, token_key(o), acct->cfg.name, &st, err,
	    sizeof(err)) == -1)
		return;
	acct->refresh_at = st.refresh_at;
	if (st.access_token != NULL && acct->access_token == NULL &&
	    st.expires_at - now >= o->margin) {
		acct->access_token = st.access_token;
		st.access_token = NULL;
		acct->expires_at = st.expires_at;
		free(acct->scope);
		acct->scope = st.scope;
		st.scope = NULL;
		log_info(0, "oauth account=%s stored access token reused "
		    "expires_in=%lld", acct->cfg.name,
		    (long long)(st.expires_at - now));
		token_renew_arm(acct);
	}
	store_token_clear(&st);
}

/*
 * Whether the account still needs re-authorization: its mark stays until
 * the files its grant reads change (a stat or two: cheap on every get).
 */
static int
token_marked(struct oauth_account *acct)
{
	struct token_stamp now;

	if (!acct->reauth)
		return 0;
	token_stamp(acct, &now);
	if (token_stamp_eq(&now, &acct->reauth_stamp))
		return 1;
	acct->reauth = 0;
	acct->loaded = 0;
	log_info(0, "oauth account=%s credentials changed: asking for tokens "
	    "again", acct->cfg.name);
	return 0;
}

/*
 * Check what the token manager needs before it starts: the state directory
 * must exist, be ours and be closed to others. Returns 0, or -1 with a
 * reason in err that says how to fix it ("run: chmod 700 DIR").
 */
int
oauth_check(const struct oauth_opts *opts, char *err, size_t errsize)
{
	if (opts == NULL) {
		snprintf(err, errsize, "no token options");
		return -1;
	}
	return store_check_dir(opts->state_dir, err, errsize);
}

/*
 * Check, without a request, what an account needs to get tokens: its token
 * file (present, ours, closed to others, sealed only if a key is set) for
 * a refresh token; its client secret or certificate and key; its service
 * account file and email. Returns 0, or -1 with a reason in err (no secret
 * in it) that says how to fix it.
 */
int
oauth_account_check(const struct oauth_opts *opts,
    const struct oauth_account_cfg *cfg, char *err, size_t errsize)
{
	char path[TOKEN_PATH_MAX], why[TOKEN_ERR_MAX];
	struct stored_token st;
	char *body;

	if (store_path(opts->state_dir, cfg->name, path, sizeof(path)) == -1) {
		snprintf(err, errsize, "account name %s cannot be a file name",
		    cfg->name != NULL ? cfg->name : "(none)");
		return -1;
	}
	if (cfg->grant != OAUTH_GRANT_REFRESH_TOKEN) {
		if ((body = grant_body(cfg, NULL, time(NULL), err,
		    errsize)) == NULL)
			return -1;
		explicit_bzero(body, strlen(body));
		free(body);
		return 0;
	}
	if (cfg->token_url == NULL || cfg->client_id == NULL) {
		snprintf(err, errsize, "no token_url or client_id");
		return -1;
	}
	if (store_read(opts->state_dir, opts->seal_key, cfg->name, &st, why,
	    sizeof(why)) == -1) {
		token_why_fix(opts->state_dir, opts->config_path, cfg, why, err,
		    errsize);
		return -1;
	}
	store_token_clear(&st);
	return 0;
}

/*
 * Create the token manager on loop with opts. NULL on failure (logged),
 * among them a state directory that oauth_check refuses.
 */
struct oauth *
oauth_new(struct ev_loop *loop, const struct oauth_opts *opts)
{
	char err[TOKEN_ERR_MAX];
	struct oauth *o;

	if (oauth_check(opts, err, sizeof(err)) == -1) {
		log_err(0, "oauth: %s", err);
		return NULL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->loop = loop;
	TAILQ_INIT(&o->accounts);
	o->margin = opts->refresh_margin > 0 ? opts->refresh_margin :
	    OAUTH_EXPIRY_MARGIN;
	o->wait_timeout = opts->wait_timeout > 0 ? opts->wait_timeout :
	    OAUTH_WAIT_TIMEOUT;
	if (opts->seal_key != NULL) {
		memcpy(o->seal_key, opts->seal_key, STORE_KEY_LEN);
		o->sealed = 1;
	}
	if ((o->state_dir = strdup(opts->state_dir)) == NULL ||
	    (opts->config_path != NULL &&
	    (o->config_path = strdup(opts->config_path)) == NULL) ||
	    (o->http = http_new(loop)) == NULL) {
		free(o->state_dir);
		free(o->config_path);
		explicit_bzero(o, sizeof(*o));
		free(o);
		return NULL;
	}
	return o;
}

/* Free our copies of the strings of c, wiping the client secret. */
static void
token_cfg_free(struct oauth_account_cfg *c)
{
	char *secret = (char *)c->client_secret;

	wipe_str(&secret);
	free((char *)c->name);
	free((char *)c->token_url);
	free((char *)c->client_id);
	free((char *)c->ca_file);
	free((char *)c->scope);
	free((char *)c->email);
	free((char *)c->client_cert_file);
	free((char *)c->client_key_file);
	free((char *)c->service_account_file);
	memset(c, 0, sizeof(*c));
}

static void
token_account_free(struct oauth_account *acct)
{
	struct ev_loop *loop = acct->oauth->loop;
	struct oauth_wait *w;

	if (acct->req != NULL)
		http_cancel(acct->req);
	ev_timer_stop(loop, &acct->fail_timer);
	ev_timer_stop(loop, &acct->wait_timer);
	token_bg_stop(acct, &acct->retry_timer);
	token_bg_stop(acct, &acct->renew_timer);
	token_bg_stop(acct, &acct->save_timer);
	wipe_str(&acct->unsaved);
	while ((w = TAILQ_FIRST(&acct->waiters)) != NULL) {
		TAILQ_REMOVE(&acct->waiters, w, entry);
		free(w);
	}
	wipe_str(&acct->access_token);
	wipe_str(&acct->sent_refresh);
	free(acct->scope);
	token_cfg_free(&acct->cfg);
	explicit_bzero(acct, sizeof(*acct));
	free(acct);
}

/*
 * The account is going away once its users are done: no more renewals
 * ahead of expiry; tokens asked for are still fetched. NULL does nothing.
 */
void
oauth_account_quiet(struct oauth_account *acct)
{
	if (acct == NULL)
		return;
	acct->quiet = 1;
	token_bg_stop(acct, &acct->renew_timer);
}

/*
 * Forget an account: cancel its request and timers and free it. No one may
 * wait on it. NULL does nothing.
 */
void
oauth_account_remove(struct oauth_account *acct)
{
	if (acct == NULL)
		return;
	TAILQ_REMOVE(&acct->oauth->accounts, acct, entry);
	token_account_free(acct);
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
	free(o->config_path);
	explicit_bzero(o, sizeof(*o));
	free(o);
}

static int
token_dup(const char **dst, const char *src)
{
	char *s;

	*dst = NULL;
	if (src == NULL)
		return 0;
	if ((s = strdup(src)) == NULL)
		return -1;
	*dst = s;
	return 0;
}

/*
 * Register an account. Returns NULL on allocation failure, or when the name
 * cannot be a token file name, token_url is missing, or client_id is
 * missing for a grant that needs one (all but the service account). What
 * oauth_account_check finds wrong is logged as a warning, not refused: a
 * token stored later is used without a restart.
 */
struct oauth_account *
oauth_account_add(struct oauth *o, const struct oauth_account_cfg *cfg)
{
	const struct oauth_opts opts = {
		.state_dir = o != NULL ? o->state_dir : NULL,
		.seal_key = o != NULL ? token_key(o) : NULL,
		.config_path = o != NULL ? o->config_path : NULL,
	};
	struct oauth_account *acct;
	char path[TOKEN_PATH_MAX], err[TOKEN_ERR_MAX];
	struct oauth_account_cfg *c;

	if (o == NULL || cfg == NULL || cfg->token_url == NULL ||
	    (cfg->client_id == NULL &&
	    cfg->grant != OAUTH_GRANT_SERVICE_ACCOUNT) ||
	    store_path(o->state_dir, cfg->name, path, sizeof(path)) == -1)
		return NULL;
	if ((acct = calloc(1, sizeof(*acct))) == NULL)
		return NULL;
	acct->oauth = o;
	TAILQ_INIT(&acct->waiters);
	ev_init(&acct->fail_timer, token_fail_cb);
	ev_init(&acct->wait_timer, token_wait_cb);
	ev_init(&acct->retry_timer, token_retry_cb);
	ev_init(&acct->renew_timer, token_renew_cb);
	ev_init(&acct->save_timer, token_save_cb);
	acct->save_timer.data = acct;
	acct->fail_timer.data = acct->wait_timer.data = acct;
	acct->retry_timer.data = acct->renew_timer.data = acct;
	c = &acct->cfg;
	c->grant = cfg->grant;
	if (token_dup(&c->name, cfg->name) == -1 ||
	    token_dup(&c->token_url, cfg->token_url) == -1 ||
	    token_dup(&c->client_id, cfg->client_id) == -1 ||
	    token_dup(&c->client_secret, cfg->client_secret) == -1 ||
	    token_dup(&c->ca_file, cfg->ca_file) == -1 ||
	    token_dup(&c->scope, cfg->scope) == -1 ||
	    token_dup(&c->email, cfg->email) == -1 ||
	    token_dup(&c->client_cert_file, cfg->client_cert_file) == -1 ||
	    token_dup(&c->client_key_file, cfg->client_key_file) == -1 ||
	    token_dup(&c->service_account_file,
	    cfg->service_account_file) == -1) {
		token_account_free(acct);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&o->accounts, acct, entry);
	if (oauth_account_check(&opts, c, err, sizeof(err)) == -1)
		log_warn(0, "oauth account=%s cannot get tokens yet: %s",
		    c->name, err);
	/* A stored token still good is used, and renewed, from now on. */
	token_load(acct);
	return acct;
}

/* Queue a waiter on acct, its deadline wait_timeout from now. */
static int
token_enqueue(struct oauth_account *acct, oauth_cb *cb, void *arg,
    struct oauth_wait **wait)
{
	struct oauth *o = acct->oauth;
	struct oauth_wait *w;
	int first;

	if (acct->nwaiters >= OAUTH_WAITERS_MAX) {
		log_warn(0, "oauth account=%s too many waiters max=%d",
		    acct->cfg.name, OAUTH_WAITERS_MAX);
		return -1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->acct = acct;
	w->cb = cb;
	w->arg = arg;
	w->q = &acct->waiters;
	w->deadline = ev_now(o->loop) + (ev_tstamp)o->wait_timeout;
	first = TAILQ_EMPTY(&acct->waiters);
	TAILQ_INSERT_TAIL(&acct->waiters, w, entry);
	acct->nwaiters++;
	if (first)
		token_wait_arm(acct);
	*wait = w;
	return 0;
}

/* Queue a waiter and start (or join) what answers it. */
static int
token_wait_for(struct oauth_account *acct, oauth_cb *cb, void *arg,
    struct oauth_wait **wait, int marked)
{
	if (token_enqueue(acct, cb, arg, wait) == -1)
		return -1;
	if (marked) {
		/* No request: the mark's reason, from the loop. */
		if (!acct->failing)
			token_fail_later(acct, "%s", acct->reauth_reason);
	} else
		token_start(acct);
	return 0;
}

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
int
oauth_token_get(struct oauth_account *acct, oauth_cb *cb, void *arg,
    struct oauth_wait **wait, const char **token)
{
	int marked;

	*wait = NULL;
	*token = NULL;
	marked = token_marked(acct);
	if (!marked && !acct->loaded)
		token_load(acct);
	if (!marked && acct->access_token != NULL &&
	    acct->expires_at - time(NULL) >= acct->oauth->margin) {
		*token = acct->access_token;
		return 1;
	}
	return token_wait_for(acct, cb, arg, wait, marked) == -1 ? -1 : 0;
}

/* Forget a waiter whose caller is going away; cb will not run. */
void
oauth_wait_cancel(struct oauth_wait *w)
{
	struct oauth_account *acct;

	if (w == NULL)
		return;
	acct = w->acct;
	TAILQ_REMOVE(w->q, w, entry);
	if (w->q == &acct->waiters) {
		acct->nwaiters--;
		if (TAILQ_EMPTY(&acct->waiters))
			ev_timer_stop(acct->oauth->loop, &acct->wait_timer);
	}
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
	wipe_str(&acct->access_token);
	acct->expires_at = 0;
	log_info(0, "oauth account=%s access token dropped: rejected by the "
	    "provider", acct->cfg.name);
}

/*
 * Refresh now whatever the cache holds (for `authrelay token`): like
 * oauth_token_get returning 0, but never answered from the cache.
 * Returns 0, or -1 if it could not start.
 */
int
oauth_token_refresh(struct oauth_account *acct, oauth_cb *cb, void *arg,
    struct oauth_wait **wait)
{
	*wait = NULL;
	return token_wait_for(acct, cb, arg, wait, token_marked(acct));
}

/*
 * What the cache holds, for display: expiry (0 if no token) and scope
 * (NULL if unknown). Never the token.
 */
void
oauth_token_info(const struct oauth_account *acct, time_t *expires_at,
    const char **scope)
{
	*expires_at = acct->access_token != NULL ? acct->expires_at : 0;
	*scope = acct->access_token != NULL ? acct->scope : NULL;
}

/*
 * What an account's credential looks like now, for status output and
 * readiness: never a token.
 */
void
oauth_account_status(struct oauth_account *acct, struct oauth_status *st)
{
	time_t now = time(NULL);

	memset(st, 0, sizeof(*st));
	st->expires_at = acct->access_token != NULL ? acct->expires_at : 0;
	st->valid = acct->access_token != NULL &&
	    acct->expires_at - now >= acct->oauth->margin;
	st->last_at = acct->last_at;
	st->last_ok = acct->last_ok;
	snprintf(st->last_result, sizeof(st->last_result), "%s",
	    acct->last_at != 0 ? acct->last_result : "");
	st->needs_authorize = token_marked(acct);
	if (st->needs_authorize)
		snprintf(st->reason, sizeof(st->reason), "%s",
		    acct->reauth_reason);
	st->refreshing = acct->req != NULL ||
	    ev_is_active(&acct->retry_timer);
	st->refresh_at = acct->refresh_at;
	st->unsaved = acct->unsaved != NULL;
	st->save_failures = acct->save_failures;
	memcpy(st->results, acct->nresults, sizeof(st->results));
}
