/*
 * authorize: the flows that get an account's first tokens (authorization
 * code with PKCE over a loopback redirect or a pasted URL, and the device
 * authorization grant), the code exchange, and storing what comes back.
 * See authorize.h.
 *
 * The loopback listener is a small poll(2) loop on 127.0.0.1 that serves a
 * few browser connections at once (browsers open speculative connections
 * that never send anything), answers anything but "GET /?..." with a short
 * page, and stops at the first request that carries a code or an error
 * with the right state. The code is exchanged before the browser gets its
 * answer, so the page says whether the whole thing worked.
 *
 * Secrets (code, code_verifier, device_code, client secret, the tokens)
 * live in buffers that are wiped before they are freed, and go nowhere but
 * into form bodies for the token endpoint and into store_write.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "oauth/authorize.h"
#include "oauth/http.h"
#include "oauth/oauth.h"
#include "oauth/store.h"
#include "oauth/tokenjson.h"
#include "oauth/wipe.h"

/* Longest reason built here. */
#define AZ_ERR_MAX		512
/* Longest provider text (error code, description) quoted. */
#define AZ_DESC_MAX		200
/* Lifetime assumed when the token reply has no expires_in. */
#define AZ_DEFAULT_EXPIRES	3600
/* The HTTP status of a good token endpoint reply. */
#define AZ_HTTP_OK		200
/* Longest redirect URI: "http://127.0.0.1:65535/". */
#define AZ_REDIRECT_MAX		32
/* Longest query parameter name looked at. */
#define AZ_KEY_MAX		32
/* Pending connections on the loopback listener. */
#define AZ_BACKLOG		8
/* Seconds a browser connection may take to send its request. */
#define AZ_CLIENT_TIMEOUT	10
/* Seconds to write the answer page. */
#define AZ_SEND_TIMEOUT		5
/* Transport failures in a row tolerated while polling a device code. */
#define AZ_POLL_FAILS_MAX	3
/* Longest token file path shown. */
#define AZ_PATH_MAX		4096
/* Longest time shown, "2025-01-31 23:59:59 UTC". */
#define AZ_TIME_MAX		64
/* Growth step of a string being built. */
#define AZ_SB_MIN		256

/* The user's browser is told this much, and no more. */
#define AZ_PAGE_OK	"authrelay: authorization complete, you can close " \
			"this tab."
#define AZ_PAGE_FAIL	"authrelay: authorization failed: "

struct authz {
	const struct authorize_cfg *c;
	FILE			*in;
	FILE			*out;
	struct ev_loop		*loop;
	struct http		*http;
	char			 state[AUTHORIZE_STATE_BYTES * 2];
	char			 verifier[AUTHORIZE_VERIFIER_MAX + 1];
	char			 challenge[AUTHORIZE_CHALLENGE_LEN + 1];
	char			 redirect_uri[AZ_REDIRECT_MAX];
	char			*err;
	size_t			 errsize;
};

/* The reply to one POST, copied out of the http callback. */
struct az_reply {
	int	 done;
	long	 status;		/* 0: transport failure */
	char	*body;			/* may hold tokens: wiped */
	size_t	 len;
	char	 errtext[AZ_ERR_MAX];
};

/* A string being built; wiped when freed, as it may hold secrets. */
struct az_sb {
	char	*s;
	size_t	 len;
	size_t	 cap;
	int	 oom;
};

struct az_client {
	int	 fd;			/* -1: free slot */
	time_t	 deadline;
	size_t	 len;
	char	 buf[AUTHORIZE_REQUEST_MAX + 1];
};

static void	az_err(struct authz *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
az_err(struct authz *z, const char *fmt, ...)
{
	va_list ap;

	if (z->err == NULL || z->errsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(z->err, z->errsize, fmt, ap);
	va_end(ap);
}

/* Provider text fit for a terminal: printable ASCII, at most max bytes. */
static void
az_sanitize(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; src != NULL && *src != '\0' && n + 1 < size &&
	    n < AZ_DESC_MAX; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	if (size > 0)
		dst[n] = '\0';
}

static void
sb_add_n(struct az_sb *sb, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (sb->oom)
		return;
	if (sb->len + n + 1 > sb->cap) {
		cap = sb->cap > 0 ? sb->cap : AZ_SB_MIN;
		while (cap < sb->len + n + 1)
			cap *= 2;
		/* Not realloc: the old block must be wiped, not abandoned. */
		if ((p = malloc(cap)) == NULL) {
			sb->oom = 1;
			return;
		}
		if (sb->s != NULL) {
			memcpy(p, sb->s, sb->len);
			explicit_bzero(sb->s, sb->cap);
			free(sb->s);
		}
		sb->s = p;
		sb->cap = cap;
	}
	memcpy(sb->s + sb->len, s, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

static void
sb_add(struct az_sb *sb, const char *s)
{
	sb_add_n(sb, s, strlen(s));
}

static int
az_unreserved(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
	    ch == '~';
}

/* s percent-encoded: everything but RFC 3986 unreserved characters. */
static void
sb_pct(struct az_sb *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];

	for (; *s != '\0'; s++) {
		if (az_unreserved((unsigned char)*s)) {
			sb_add_n(sb, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[(unsigned char)*s >> 4];
		e[2] = hex[(unsigned char)*s & 0xf];
		sb_add_n(sb, e, 3);
	}
}

/* "&name=value" (no '&' when first), value percent-encoded. */
static void
sb_param(struct az_sb *sb, const char *name, const char *value)
{
	if (sb->len > 0 && sb->s[sb->len - 1] != '?' &&
	    sb->s[sb->len - 1] != '&')
		sb_add(sb, "&");
	sb_add(sb, name);
	sb_add(sb, "=");
	sb_pct(sb, value);
}

static void
sb_free(struct az_sb *sb)
{
	if (sb->s != NULL) {
		explicit_bzero(sb->s, sb->cap);
		free(sb->s);
	}
	memset(sb, 0, sizeof(*sb));
}

/*
 * Base64url without padding (RFC 4648 5) of n bytes into dst. Returns the
 * length, or -1 if dst is too small.
 */
int
authorize_b64url(const void *src, size_t n, char *dst, size_t dstsize)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = src;
	size_t i, o = 0, need = (n * 4 + 2) / 3;
	unsigned long v;

	if (dstsize == 0 || need > dstsize - 1)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		dst[o++] = tab[v >> 18 & 0x3f];
		dst[o++] = tab[v >> 12 & 0x3f];
		dst[o++] = tab[v >> 6 & 0x3f];
		dst[o++] = tab[v & 0x3f];
	}
	if (n - i == 1) {
		v = (unsigned long)p[i] << 16;
		dst[o++] = tab[v >> 18 & 0x3f];
		dst[o++] = tab[v >> 12 & 0x3f];
	} else if (n - i == 2) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		dst[o++] = tab[v >> 18 & 0x3f];
		dst[o++] = tab[v >> 12 & 0x3f];
		dst[o++] = tab[v >> 6 & 0x3f];
	}
	dst[o] = '\0';
	return (int)o;
}

/*
 * The S256 code_challenge of verifier (RFC 7636 4.2) into dst (at least
 * AUTHORIZE_CHALLENGE_LEN + 1 bytes). Returns 0, or -1 when the verifier is
 * not 43..128 unreserved characters or dst is too small.
 */
int
authorize_pkce_challenge(const char *verifier, char *dst, size_t dstsize)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i, len = strlen(verifier);

	if (len < AUTHORIZE_VERIFIER_MIN || len > AUTHORIZE_VERIFIER_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (!az_unreserved((unsigned char)verifier[i]))
			return -1;
	if (EVP_Digest(verifier, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	if (authorize_b64url(md, mdlen, dst, dstsize) !=
	    AUTHORIZE_CHALLENGE_LEN)
		return -1;
	return 0;
}

/* nbytes random bytes, base64url, into dst. */
static int
az_random(char *dst, size_t dstsize, size_t nbytes)
{
	unsigned char b[AUTHORIZE_VERIFIER_BYTES];
	int r;

	if (nbytes > sizeof(b) || RAND_bytes(b, (int)nbytes) != 1)
		return -1;
	r = authorize_b64url(b, nbytes, dst, dstsize);
	explicit_bzero(b, sizeof(b));
	return r < 0 ? -1 : 0;
}

/*
 * The authorization request URL (RFC 6749 4.1.1 with RFC 7636 4.3) for c,
 * every value percent-encoded. A malloc'd string, or NULL when out of
 * memory or c has no auth_url.
 */
char *
authorize_url(const struct authorize_cfg *c, const char *redirect_uri,
    const char *state, const char *challenge)
{
	struct az_sb sb = { 0 };

	if (c->auth_url == NULL)
		return NULL;
	sb_add(&sb, c->auth_url);
	if (strchr(c->auth_url, '?') == NULL)
		sb_add(&sb, "?");
	sb_param(&sb, "client_id", c->client_id);
	sb_param(&sb, "redirect_uri", redirect_uri);
	sb_param(&sb, "response_type", "code");
	if (c->scope != NULL)
		sb_param(&sb, "scope", c->scope);
	sb_param(&sb, "state", state);
	sb_param(&sb, "code_challenge", challenge);
	sb_param(&sb, "code_challenge_method", "S256");
	if (c->offline_params) {
		sb_param(&sb, "access_type", "offline");
		sb_param(&sb, "prompt", "consent");
	}
	if (c->email != NULL)
		sb_param(&sb, "login_hint", c->email);
	if (sb.oom) {
		sb_free(&sb);
		return NULL;
	}
	return sb.s;
}

static int
az_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Percent-decode n bytes of s ('+' is a space: form encoding) into a new
 * string. NULL when malformed, when it decodes to a control byte, when it
 * is longer than AUTHORIZE_VALUE_MAX, or when out of memory.
 */
static char *
az_decode(const char *s, size_t n)
{
	char *out, *o;
	size_t i;
	int hi, lo, ch;

	if (n > AUTHORIZE_VALUE_MAX * 3 || (out = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < n; i++) {
		ch = (unsigned char)s[i];
		if (ch == '%') {
			if (i + 2 >= n)
				goto fail;
			if ((hi = az_hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = az_hexval((unsigned char)s[i + 2])) < 0)
				goto fail;
			ch = hi << 4 | lo;
			i += 2;
		} else if (ch == '+')
			ch = ' ';
		if (ch < 0x20 || ch == 0x7f)
			goto fail;
		*o++ = (char)ch;
	}
	*o = '\0';
	if ((size_t)(o - out) > AUTHORIZE_VALUE_MAX)
		goto fail;
	return out;
fail:
	explicit_bzero(out, n + 1);
	free(out);
	return NULL;
}

/*
 * The parameters of a query string (no '?', no fragment) into r. Unknown
 * names are skipped; a known one given twice is an error. Returns 0 or -1.
 */
static int
az_query(const char *q, struct authorize_redirect *r)
{
	const char *p = q, *end, *eq;
	char key[AZ_KEY_MAX + 1], *k;
	char **dst;
	size_t seg;

	for (;;) {
		seg = strcspn(p, "&");
		end = p + seg;
		if (seg > 0) {
			eq = memchr(p, '=', seg);
			if (eq == NULL)
				eq = end;
			dst = NULL;
			if ((size_t)(eq - p) <= AZ_KEY_MAX * 3 &&
			    (k = az_decode(p, (size_t)(eq - p))) != NULL) {
				snprintf(key, sizeof(key), "%s", k);
				free(k);
				if (strcmp(key, "code") == 0)
					dst = &r->code;
				else if (strcmp(key, "state") == 0)
					dst = &r->state;
				else if (strcmp(key, "error") == 0)
					dst = &r->error;
				else if (strcmp(key, "error_description") == 0)
					dst = &r->error_description;
			}
			if (dst != NULL) {
				if (*dst != NULL)
					return -1;
				if (eq == end)
					return -1;
				if ((*dst = az_decode(eq + 1,
				    (size_t)(end - eq - 1))) == NULL)
					return -1;
			}
		}
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/*
 * Parse the first line of the browser's request, "GET /?code=...&state=...
 * HTTP/1.1". Returns 0 for a GET of "/" (r holds what the query had, maybe
 * nothing); 1 for another method or path (favicon.ico ...); -1 when the
 * line or its query is malformed.
 */
int
authorize_parse_request(const char *line, struct authorize_redirect *r)
{
	const char *target, *version, *q;
	size_t mlen, tlen;
	char *t;
	int ret;

	memset(r, 0, sizeof(*r));
	mlen = strcspn(line, " \r\n");
	if (line[mlen] != ' ')
		return -1;
	target = line + mlen + 1;
	tlen = strcspn(target, " \r\n");
	if (tlen == 0 || target[tlen] != ' ')
		return -1;
	version = target + tlen + 1;
	if (strncmp(version, "HTTP/1.", strlen("HTTP/1.")) != 0 ||
	    !isdigit((unsigned char)version[strlen("HTTP/1.")]) ||
	    strchr("\r\n", version[strlen("HTTP/1.") + 1]) == NULL)
		return -1;
	if (mlen != strlen("GET") || strncmp(line, "GET", mlen) != 0)
		return 1;
	if (target[0] != '/')
		return 1;
	q = memchr(target, '?', tlen);
	if ((q != NULL ? (size_t)(q - target) : tlen) != 1)
		return 1;
	if (q == NULL)
		return 0;
	if ((t = strndup(q + 1, tlen - (size_t)(q + 1 - target))) == NULL)
		return -1;
	ret = az_query(t, r);
	explicit_bzero(t, strlen(t));
	free(t);
	if (ret == -1)
		authorize_redirect_clear(r);
	return ret;
}

/*
 * Parse what the user pasted: the redirected URL
 * (http://127.0.0.1:PORT/?code=...&state=...), its query, or the bare
 * code. Returns 0 when r holds a code or an error; -1 otherwise.
 */
int
authorize_parse_pasted(const char *text, struct authorize_redirect *r)
{
	const char *s, *q;
	size_t len;
	char *t = NULL;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	s = text + strspn(text, " \t\r\n");
	len = strlen(s);
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	if (len == 0 || len > AUTHORIZE_PASTE_MAX ||
	    (t = strndup(s, len)) == NULL)
		goto done;
	t[strcspn(t, "#")] = '\0';
	if (strncmp(t, "http://", strlen("http://")) == 0 ||
	    strncmp(t, "https://", strlen("https://")) == 0) {
		if ((q = strchr(t, '?')) == NULL)
			goto done;
		ret = az_query(q + 1, r);
	} else if (t[0] == '?')
		ret = az_query(t + 1, r);
	else if (strchr(t, '=') != NULL)
		ret = az_query(t, r);
	else {
		/* A bare code, maybe still percent-encoded. */
		for (q = t; *q != '\0'; q++)
			if (*q < 0x21 || *q > 0x7e)
				goto done;
		ret = (r->code = az_decode(t, strlen(t))) != NULL ? 0 : -1;
	}
	if (ret == 0 && r->code == NULL && r->error == NULL)
		ret = -1;
done:
	if (t != NULL) {
		explicit_bzero(t, len);
		free(t);
	}
	if (ret == -1)
		authorize_redirect_clear(r);
	return ret;
}

/* Wipe and free r's strings; safe on a zeroed struct. */
void
authorize_redirect_clear(struct authorize_redirect *r)
{
	wipe_str(&r->code);
	wipe_str(&r->state);
	wipe_str(&r->error);
	wipe_str(&r->error_description);
}

/* A string member of o: copied to *dst if present, at most max bytes. */
static int
az_json_str(json_t *o, const char *key, size_t max, char **dst, char *err,
    size_t errsize)
{
	json_t *v;

	*dst = NULL;
	if ((v = json_object_get(o, key)) == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errsize, "%s is not a string of 1..%zu bytes",
		    key, max);
		return -1;
	}
	if ((*dst = strdup(json_string_value(v))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

/* A number (or numeric string) member of o into *n; absent: 0. */
static int
az_json_num(json_t *o, const char *key, long *n, char *err, size_t errsize)
{
	json_t *v;
	char *end;
	long long x;

	*n = 0;
	if ((v = json_object_get(o, key)) == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		x = json_integer_value(v);
	else if (json_is_string(v) &&
	    isdigit((unsigned char)json_string_value(v)[0])) {
		errno = 0;
		x = strtoll(json_string_value(v), &end, 10);
		if (*end != '\0' || errno != 0)
			x = -1;
	} else
		x = -1;
	if (x < 0 || x > AUTHORIZE_DEVICE_EXPIRES_MAX * 24) {
		snprintf(err, errsize, "%s is not a number of seconds", key);
		return -1;
	}
	*n = (long)x;
	return 0;
}

/*
 * Parse a device authorization response body (len bytes). Returns 0, or -1
 * with a reason in err (no secret in it) when it is not a JSON object with
 * device_code, user_code and verification_uri (Google's older
 * verification_url is taken too) of sane sizes.
 */
int
authorize_parse_device(const char *body, size_t len,
    struct authorize_device *d, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *o;

	memset(d, 0, sizeof(*d));
	wipe_json_init();
	/* Only the position: jansson's text could quote the device code. */
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(err, errsize, "not valid JSON (line %d column %d)",
		    jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errsize, "not a JSON object");
		goto fail;
	}
	if (az_json_str(o, "device_code", OAUTH_TOKEN_MAX, &d->device_code,
	    err, errsize) == -1 ||
	    az_json_str(o, "user_code", AZ_DESC_MAX, &d->user_code, err,
	    errsize) == -1 ||
	    az_json_str(o, "verification_uri", AUTHORIZE_VALUE_MAX,
	    &d->verification_uri, err, errsize) == -1 ||
	    az_json_str(o, "verification_uri_complete", AUTHORIZE_VALUE_MAX,
	    &d->verification_uri_complete, err, errsize) == -1 ||
	    az_json_num(o, "expires_in", &d->expires_in, err, errsize) == -1 ||
	    az_json_num(o, "interval", &d->interval, err, errsize) == -1)
		goto fail;
	if (d->verification_uri == NULL && az_json_str(o, "verification_url",
	    AUTHORIZE_VALUE_MAX, &d->verification_uri, err, errsize) == -1)
		goto fail;
	if (d->device_code == NULL || d->user_code == NULL ||
	    d->verification_uri == NULL) {
		snprintf(err, errsize, "no %s in it", d->device_code == NULL ?
		    "device_code" : d->user_code == NULL ? "user_code" :
		    "verification_uri");
		goto fail;
	}
	if (d->expires_in == 0)
		d->expires_in = AUTHORIZE_DEVICE_EXPIRES;
	if (d->expires_in > AUTHORIZE_DEVICE_EXPIRES_MAX)
		d->expires_in = AUTHORIZE_DEVICE_EXPIRES_MAX;
	if (d->interval == 0)
		d->interval = AUTHORIZE_INTERVAL;
	if (d->interval > AUTHORIZE_INTERVAL_MAX)
		d->interval = AUTHORIZE_INTERVAL_MAX;
	json_decref(o);
	return 0;
fail:
	json_decref(o);
	authorize_device_clear(d);
	return -1;
}

/* Wipe and free d's strings; safe on a zeroed struct. */
void
authorize_device_clear(struct authorize_device *d)
{
	wipe_str(&d->device_code);
	wipe_str(&d->user_code);
	wipe_str(&d->verification_uri);
	wipe_str(&d->verification_uri_complete);
}

static void
az_http_cb(void *arg, long status, const char *body, size_t len,
    const char *errtext, const char *retry_after)
{
	struct az_reply *rep = arg;

	(void)retry_after;	/* the device flow keeps its own interval */
	rep->done = 1;
	rep->status = status;
	if (errtext != NULL)
		snprintf(rep->errtext, sizeof(rep->errtext), "%s", errtext);
	if ((rep->body = malloc(len + 1)) == NULL) {
		rep->status = 0;
		snprintf(rep->errtext, sizeof(rep->errtext), "out of memory");
		return;
	}
	memcpy(rep->body, body, len);
	rep->body[len] = '\0';
	rep->len = len;
}

static void
az_reply_clear(struct az_reply *rep)
{
	if (rep->body != NULL) {
		explicit_bzero(rep->body, rep->len);
		free(rep->body);
	}
	memset(rep, 0, sizeof(*rep));
}

/* POST form to url on the private loop and wait for the reply. */
static void
az_post(struct authz *z, const char *url, const char *form,
    struct az_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	if (http_post_form(z->http, url, form, z->c->ca_file,
	    OAUTH_HTTP_TIMEOUT, az_http_cb, rep) == NULL) {
		snprintf(rep->errtext, sizeof(rep->errtext),
		    "cannot start the request");
		return;
	}
	while (!rep->done)
		if (!ev_run(z->loop, EVRUN_ONCE) && !rep->done) {
			snprintf(rep->errtext, sizeof(rep->errtext),
			    "request lost");
			return;
		}
}

/*
 * Make sense of a token endpoint reply: 0 with tr filled on success; 1
 * with tr->error set for an OAuth error object; -1 with the reason in
 * z's err for anything else.
 */
static int
az_token_reply(struct authz *z, const char *what, struct az_reply *rep,
    struct token_response *tr)
{
	char perr[AZ_ERR_MAX];
	int r;

	memset(tr, 0, sizeof(*tr));
	if (rep->status == 0) {
		az_err(z, "%s: %s", what, rep->errtext[0] != '\0' ?
		    rep->errtext : "request failed");
		return -1;
	}
	r = token_response_parse(rep->body, rep->len, tr, perr, sizeof(perr));
	if (r == 1)
		return 1;
	if (r == 0 && rep->status == AZ_HTTP_OK)
		return 0;
	token_response_clear(tr);
	if (r == 0)
		az_err(z, "%s: HTTP %ld", what, rep->status);
	else
		az_err(z, "%s: HTTP %ld: %s", what, rep->status, perr);
	return -1;
}

/* Does provider text quote a secret we sent (or extra, if not NULL)? */
static int
az_quotes_secret(const struct authz *z, const char *text, const char *extra)
{
	const char *s[] = { z->verifier, z->c->client_secret, extra };
	size_t i;

	for (i = 0; text != NULL && i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i] != NULL && s[i][0] != '\0' && strstr(text, s[i]) != NULL)
			return 1;
	return 0;
}

/*
 * "error: description" from an OAuth error object, for a message; extra is
 * one more secret (the code, the device_code) to keep out of it.
 */
static void
az_oauth_error(const struct authz *z, const struct token_response *tr,
    const char *extra, char *buf, size_t size)
{
	char code[AZ_DESC_MAX + 1], desc[AZ_DESC_MAX + 1];

	az_sanitize(code, sizeof(code), tr->error);
	if (az_quotes_secret(z, tr->error, extra))
		snprintf(code, sizeof(code), "(withheld: it quotes a secret)");
	az_sanitize(desc, sizeof(desc), tr->error_description);
	if (az_quotes_secret(z, tr->error_description, extra))
		snprintf(desc, sizeof(desc), "(withheld: it quotes a secret)");
	snprintf(buf, size, "%s%s%s", code, desc[0] != '\0' ? ": " : "",
	    desc);
}

/* Store what the token endpoint returned, and say what was stored. */
static int
az_store(struct authz *z, const struct token_response *tr)
{
	const struct authorize_cfg *c = z->c;
	struct stored_token t = { 0 };
	char err[AZ_ERR_MAX], path[AZ_PATH_MAX], when[AZ_TIME_MAX];
	long expires_in;
	struct tm tm;
	time_t now = time(NULL);

	if (tr->refresh_token == NULL) {
		if (c->offline_params)
			az_err(z, "the token endpoint returned no refresh token"
			    " (revoke the app's access in the account's "
			    "security settings and run authorize again)");
		else
			az_err(z, "the token endpoint returned no refresh token"
			    " (missing offline_access in scope?)");
		return -1;
	}
	expires_in = tr->expires_in > 0 ? tr->expires_in : AZ_DEFAULT_EXPIRES;
	t.refresh_token = tr->refresh_token;
	t.access_token = tr->access_token;
	t.expires_at = now + expires_in;
	t.scope = tr->scope != NULL ? tr->scope : (char *)c->scope;
	if (store_write(c->state_dir, c->seal_key, c->account, &t, err,
	    sizeof(err)) == -1) {
		az_err(z, "cannot store the tokens: %s", err);
		return -1;
	}
	if (store_path(c->state_dir, c->account, path, sizeof(path)) == -1)
		snprintf(path, sizeof(path), "%s", c->state_dir);
	if (gmtime_r(&t.expires_at, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)t.expires_at);
	fprintf(z->out, "authrelay: stored tokens for account %s in %s%s\n",
	    c->account, path, c->seal_key != NULL ? " (sealed)" : "");
	fprintf(z->out, "  scope:         %s\n", t.scope != NULL ? t.scope :
	    "(not given)");
	fprintf(z->out, "  access token:  expires %s (in %ld s)\n", when,
	    expires_in);
	fprintf(z->out, "  refresh token: received\n");
	fflush(z->out);
	return 0;
}

/* Exchange an authorization code (RFC 6749 4.1.3, RFC 7636 4.5). */
static int
az_exchange(struct authz *z, const char *code)
{
	const struct authorize_cfg *c = z->c;
	struct az_sb form = { 0 };
	struct az_reply rep;
	struct token_response tr;
	char why[AZ_ERR_MAX];
	int r;

	sb_param(&form, "grant_type", "authorization_code");
	sb_param(&form, "code", code);
	sb_param(&form, "redirect_uri", z->redirect_uri);
	sb_param(&form, "client_id", c->client_id);
	if (c->client_secret != NULL)
		sb_param(&form, "client_secret", c->client_secret);
	sb_param(&form, "code_verifier", z->verifier);
	if (form.oom) {
		sb_free(&form);
		az_err(z, "out of memory");
		return -1;
	}
	az_post(z, c->token_url, form.s, &rep);
	sb_free(&form);
	r = az_token_reply(z, "token endpoint", &rep, &tr);
	az_reply_clear(&rep);
	if (r == 1) {
		az_oauth_error(z, &tr, code, why, sizeof(why));
		az_err(z, "the token endpoint refused the code: %s", why);
		r = -1;
	} else if (r == 0)
		r = az_store(z, &tr);
	token_response_clear(&tr);
	return r;
}

/* Text with <, >, & and " made harmless for the page. */
static void
az_html(struct az_sb *sb, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '<')
			sb_add(sb, "&lt;");
		else if (*s == '>')
			sb_add(sb, "&gt;");
		else if (*s == '&')
			sb_add(sb, "&amp;");
		else if (*s == '"')
			sb_add(sb, "&quot;");
		else
			sb_add_n(sb, s, 1);
	}
}

/* Answer a browser connection with a small page, then close it. */
static void
az_answer(int fd, int status, const char *text)
{
	struct az_sb page = { 0 }, resp = { 0 };
	struct timeval tv = { AZ_SEND_TIMEOUT, 0 };
	char head[AZ_ERR_MAX];
	size_t off = 0;
	ssize_t n;
	int fl;

	sb_add(&page, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>authrelay</title></head>\n<body><p>");
	az_html(&page, text);
	sb_add(&page, "</p></body></html>\n");
	snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
	    status, status == 200 ? "OK" : status == 404 ? "Not Found" :
	    "Bad Request", page.len);
	sb_add(&resp, head);
	if (page.s != NULL)
		sb_add(&resp, page.s);
	if (!resp.oom && (fl = fcntl(fd, F_GETFL)) != -1 &&
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != -1 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0) {
		while (off < resp.len) {
			n = send(fd, resp.s + off, resp.len - off,
			    MSG_NOSIGNAL);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		shutdown(fd, SHUT_WR);
	}
	sb_free(&page);
	sb_free(&resp);
	close(fd);
}

/* 127.0.0.1:port, listening; the port it got into *port. -1 on failure. */
static int
az_listen(struct authz *z, int port, int *got)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		az_err(z, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, AZ_BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		az_err(z, "cannot listen on 127.0.0.1:%d: %s", port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	*got = ntohs(sin.sin_port);
	return fd;
}

/*
 * One browser request head in cl: 1 to keep waiting, 0 when authorized,
 * -1 when it failed (reason in z's err). Either way cl is answered.
 */
static int
az_handle(struct authz *z, struct az_client *cl)
{
	struct authorize_redirect r;
	char why[AZ_ERR_MAX], msg[AZ_ERR_MAX + sizeof(AZ_PAGE_FAIL)];
	int fd = cl->fd, ret;

	cl->fd = -1;
	cl->buf[cl->len] = '\0';
	ret = authorize_parse_request(cl->buf, &r);
	explicit_bzero(cl->buf, sizeof(cl->buf));
	cl->len = 0;
	if (ret == -1) {
		az_answer(fd, 400, "authrelay: bad request");
		return 1;
	}
	if (ret == 1) {
		az_answer(fd, 404, "authrelay: not found");
		return 1;
	}
	if (r.code == NULL && r.error == NULL) {
		az_answer(fd, 400, "authrelay: no authorization response in "
		    "this request");
		ret = 1;
	} else if (r.state == NULL || strcmp(r.state, z->state) != 0) {
		/* Not ours: a stale tab or another program. Keep waiting. */
		az_answer(fd, 400, AZ_PAGE_FAIL "state does not match (an old "
		    "tab? use the URL printed last)");
		fprintf(z->out, "authrelay: ignored a redirect whose state "
		    "does not match; still waiting\n");
		fflush(z->out);
		ret = 1;
	} else if (r.error != NULL) {
		az_oauth_error(z, &(struct token_response){ .error = r.error,
		    .error_description = r.error_description }, NULL, why,
		    sizeof(why));
		az_err(z, "the provider refused: %s", why);
		snprintf(msg, sizeof(msg), "%s%s", AZ_PAGE_FAIL, why);
		az_answer(fd, 400, msg);
		ret = -1;
	} else if (az_exchange(z, r.code) == 0) {
		az_answer(fd, 200, AZ_PAGE_OK);
		ret = 0;
	} else {
		snprintf(msg, sizeof(msg), "%s%s", AZ_PAGE_FAIL, z->err);
		az_answer(fd, 400, msg);
		ret = -1;
	}
	authorize_redirect_clear(&r);
	return ret;
}

/* Read what a browser sent; 1 when a whole request head is in. */
static int
az_read(struct az_client *cl)
{
	ssize_t n;

	n = read(cl->fd, cl->buf + cl->len, AUTHORIZE_REQUEST_MAX - cl->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	cl->len += (size_t)n;
	cl->buf[cl->len] = '\0';
	/* The whole head, so that closing does not reset the connection. */
	if (strstr(cl->buf, "\r\n\r\n") != NULL || strstr(cl->buf, "\n\n") !=
	    NULL || cl->len == AUTHORIZE_REQUEST_MAX)
		return 1;
	return 0;
}

static void
az_drop(struct az_client *cl)
{
	if (cl->fd != -1)
		close(cl->fd);
	cl->fd = -1;
	explicit_bzero(cl->buf, cl->len);
	cl->len = 0;
}

/* Serve 127.0.0.1 until the redirect comes, or the timeout. */
static int
az_wait_redirect(struct authz *z, int lfd)
{
	struct az_client *cls;
	struct pollfd pfd[AUTHORIZE_CLIENTS_MAX + 1];
	time_t deadline = time(NULL) + z->c->timeout, now, next;
	size_t i, slot[AUTHORIZE_CLIENTS_MAX + 1], n;
	int fd, ret = -1, r;

	if ((cls = calloc(AUTHORIZE_CLIENTS_MAX, sizeof(*cls))) == NULL) {
		az_err(z, "out of memory");
		return -1;
	}
	for (i = 0; i < AUTHORIZE_CLIENTS_MAX; i++)
		cls[i].fd = -1;
	for (;;) {
		now = time(NULL);
		if (now >= deadline) {
			az_err(z, "no redirect came back within %ld s (run "
			    "again, or use --manual or --device)",
			    z->c->timeout);
			break;
		}
		next = deadline;
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (i = 0, n = 1; i < AUTHORIZE_CLIENTS_MAX; i++) {
			if (cls[i].fd == -1)
				continue;
			if (cls[i].deadline <= now) {
				az_drop(&cls[i]);
				continue;
			}
			if (cls[i].deadline < next)
				next = cls[i].deadline;
			pfd[n] = (struct pollfd){ .fd = cls[i].fd,
			    .events = POLLIN };
			slot[n++] = i;
		}
		if (poll(pfd, n, (int)(next - now) * 1000) == -1) {
			if (errno == EINTR)
				continue;
			az_err(z, "poll: %s", strerror(errno));
			break;
		}
		for (i = 1; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if ((r = az_read(&cls[slot[i]])) == -1)
				az_drop(&cls[slot[i]]);
			else if (r == 1 &&
			    (ret = az_handle(z, &cls[slot[i]])) != 1)
				goto done;
		}
		ret = -1;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			continue;
		for (i = 0; i < AUTHORIZE_CLIENTS_MAX; i++)
			if (cls[i].fd == -1)
				break;
		if (i == AUTHORIZE_CLIENTS_MAX) {
			close(fd);
			continue;
		}
		cls[i].fd = fd;
		cls[i].len = 0;
		cls[i].deadline = time(NULL) + AZ_CLIENT_TIMEOUT;
	}
done:
	for (i = 0; i < AUTHORIZE_CLIENTS_MAX; i++)
		az_drop(&cls[i]);
	explicit_bzero(cls, AUTHORIZE_CLIENTS_MAX * sizeof(*cls));
	free(cls);
	return ret;
}

/* PKCE verifier and challenge, state, and the URL to show the user. */
static char *
az_prepare(struct authz *z, int port)
{
	char *url;

	if (az_random(z->verifier, sizeof(z->verifier),
	    AUTHORIZE_VERIFIER_BYTES) == -1 ||
	    authorize_pkce_challenge(z->verifier, z->challenge,
	    sizeof(z->challenge)) == -1 ||
	    az_random(z->state, sizeof(z->state), AUTHORIZE_STATE_BYTES) == -1) {
		az_err(z, "no random bytes for PKCE and state");
		return NULL;
	}
	snprintf(z->redirect_uri, sizeof(z->redirect_uri),
	    "http://127.0.0.1:%d/", port);
	if ((url = authorize_url(z->c, z->redirect_uri, z->state,
	    z->challenge)) == NULL)
		az_err(z, "out of memory");
	return url;
}

static int
az_loopback(struct authz *z)
{
	char *url;
	int lfd, port, ret;

	if ((lfd = az_listen(z, z->c->port, &port)) == -1)
		return -1;
	if ((url = az_prepare(z, port)) == NULL) {
		close(lfd);
		return -1;
	}
	fprintf(z->out, "To authorize account %s, open this URL in a browser "
	    "on this machine:\n\n  %s\n\n(Browser elsewhere? Forward the "
	    "port first, \"ssh -L %d:127.0.0.1:%d HOST\", or use --manual.)\n"
	    "Waiting up to %ld s for the redirect to %s ...\n",
	    z->c->account, url, port, port, z->c->timeout, z->redirect_uri);
	fflush(z->out);
	free(url);
	ret = az_wait_redirect(z, lfd);
	close(lfd);
	return ret;
}

/* One line from in, waiting at most the timeout for it. */
static int
az_read_line(struct authz *z, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = fileno(z->in), .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, (int)z->c->timeout * 1000);
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		az_err(z, "nothing pasted within %ld s", z->c->timeout);
		return -1;
	}
	if (r == -1 || fgets(buf, (int)size, z->in) == NULL) {
		az_err(z, "nothing read from standard input");
		return -1;
	}
	if (strchr(buf, '\n') == NULL && strlen(buf) == size - 1) {
		az_err(z, "pasted text longer than %d bytes",
		    AUTHORIZE_PASTE_MAX);
		return -1;
	}
	return 0;
}

static int
az_manual(struct authz *z)
{
	struct authorize_redirect r;
	char *url, *line, why[AZ_ERR_MAX];
	int port = z->c->port, fd, ret = -1;

	/* No one listens: a free port only makes a collision unlikely. */
	if (port == 0) {
		if ((fd = az_listen(z, 0, &port)) == -1)
			return -1;
		close(fd);
	}
	if ((url = az_prepare(z, port)) == NULL)
		return -1;
	fprintf(z->out, "To authorize account %s, open this URL in a browser "
	    "(on any machine):\n\n  %s\n\nAfter you sign in, the browser "
	    "goes to %s?code=... and shows an error page: that is expected.\n"
	    "Copy the whole address from its address bar and paste it here "
	    "(or just the code), then press Enter:\n", z->c->account, url,
	    z->redirect_uri);
	fflush(z->out);
	free(url);
	if ((line = malloc(AUTHORIZE_PASTE_MAX + 2)) == NULL) {
		az_err(z, "out of memory");
		return -1;
	}
	if (az_read_line(z, line, AUTHORIZE_PASTE_MAX + 2) == -1)
		goto done;
	if (authorize_parse_pasted(line, &r) == -1) {
		az_err(z, "that is neither the redirected URL nor a code");
		goto done;
	}
	if (r.state != NULL && strcmp(r.state, z->state) != 0)
		az_err(z, "the state in that URL does not match this run (an "
		    "old tab? use the URL printed last)");
	else if (r.error != NULL) {
		az_oauth_error(z, &(struct token_response){ .error = r.error,
		    .error_description = r.error_description }, NULL, why,
		    sizeof(why));
		az_err(z, "the provider refused: %s", why);
	} else
		ret = az_exchange(z, r.code);
	authorize_redirect_clear(&r);
done:
	explicit_bzero(line, AUTHORIZE_PASTE_MAX + 2);
	free(line);
	return ret;
}

/* Ask the device authorization endpoint for a user code (RFC 8628 3.1). */
static int
az_device_start(struct authz *z, struct authorize_device *d)
{
	const struct authorize_cfg *c = z->c;
	struct az_sb form = { 0 };
	struct az_reply rep;
	struct token_response tr;
	char perr[AZ_ERR_MAX], why[AZ_ERR_MAX];
	int ret = -1;

	sb_param(&form, "client_id", c->client_id);
	if (c->scope != NULL)
		sb_param(&form, "scope", c->scope);
	if (form.oom) {
		sb_free(&form);
		az_err(z, "out of memory");
		return -1;
	}
	az_post(z, c->device_url, form.s, &rep);
	sb_free(&form);
	if (rep.status == 0)
		az_err(z, "device authorization endpoint: %s", rep.errtext);
	else if (rep.status != AZ_HTTP_OK) {
		if (token_response_parse(rep.body, rep.len, &tr, perr,
		    sizeof(perr)) == 1) {
			az_oauth_error(z, &tr, NULL, why, sizeof(why));
			az_err(z, "device authorization endpoint: HTTP %ld: "
			    "%s", rep.status, why);
		} else
			az_err(z, "device authorization endpoint: HTTP %ld",
			    rep.status);
		token_response_clear(&tr);
	} else if (authorize_parse_device(rep.body, rep.len, d, perr,
	    sizeof(perr)) == -1)
		az_err(z, "device authorization endpoint: %s", perr);
	else
		ret = 0;
	az_reply_clear(&rep);
	return ret;
}

/*
 * One poll of the token endpoint (RFC 8628 3.4, 3.5): 0 stored, 1 keep
 * polling, -1 failed.
 */
static int
az_device_poll(struct authz *z, const struct authorize_device *d,
    long *interval, int *fails)
{
	const struct authorize_cfg *c = z->c;
	struct az_sb form = { 0 };
	struct az_reply rep;
	struct token_response tr;
	char why[AZ_ERR_MAX];
	int r;

	sb_param(&form, "grant_type",
	    "urn:ietf:params:oauth:grant-type:device_code");
	sb_param(&form, "device_code", d->device_code);
	sb_param(&form, "client_id", c->client_id);
	if (c->client_secret != NULL)
		sb_param(&form, "client_secret", c->client_secret);
	if (form.oom) {
		sb_free(&form);
		az_err(z, "out of memory");
		return -1;
	}
	az_post(z, c->token_url, form.s, &rep);
	sb_free(&form);
	/* A network hiccup or a busy server during a long wait: retry. */
	if ((rep.status == 0 || rep.status == 429 || rep.status >= 500) &&
	    ++*fails <= AZ_POLL_FAILS_MAX) {
		az_reply_clear(&rep);
		return 1;
	}
	r = az_token_reply(z, "token endpoint", &rep, &tr);
	az_reply_clear(&rep);
	if (r == 0) {
		r = az_store(z, &tr);
	} else if (r == 1) {
		*fails = 0;
		r = -1;
		if (strcmp(tr.error, "authorization_pending") == 0)
			r = 1;
		else if (strcmp(tr.error, "slow_down") == 0) {
			if (*interval + AUTHORIZE_SLOW_DOWN <=
			    AUTHORIZE_INTERVAL_MAX)
				*interval += AUTHORIZE_SLOW_DOWN;
			r = 1;
		} else if (strcmp(tr.error, "expired_token") == 0)
			az_err(z, "the code expired before sign-in was "
			    "completed: run authorize --device again");
		else if (strcmp(tr.error, "access_denied") == 0)
			az_err(z, "sign-in was declined (access_denied)");
		else {
			az_oauth_error(z, &tr, d->device_code, why,
			    sizeof(why));
			az_err(z, "the token endpoint refused: %s", why);
		}
	}
	token_response_clear(&tr);
	return r;
}

static void
az_sleep(long s)
{
	struct timespec ts = { s, 0 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
az_device(struct authz *z)
{
	struct authorize_device d;
	time_t deadline;
	long interval;
	int fails = 0, r;

	if (az_device_start(z, &d) == -1)
		return -1;
	fprintf(z->out, "To authorize account %s, open\n\n  %s\n\nand enter "
	    "the code %s\n", z->c->account, d.verification_uri, d.user_code);
	if (d.verification_uri_complete != NULL)
		fprintf(z->out, "(or open %s)\n", d.verification_uri_complete);
	fprintf(z->out, "\nWaiting up to %ld s for the sign-in ...\n",
	    d.expires_in);
	fflush(z->out);
	deadline = time(NULL) + d.expires_in;
	interval = d.interval;
	for (;;) {
		if (time(NULL) + interval >= deadline) {
			az_err(z, "the code expired before sign-in was "
			    "completed (%ld s): run authorize --device again",
			    d.expires_in);
			r = -1;
			break;
		}
		az_sleep(interval);
		if ((r = az_device_poll(z, &d, &interval, &fails)) != 1)
			break;
	}
	authorize_device_clear(&d);
	return r;
}

/*
 * Run the flow c->mode for account c: tell the user on out what to do, wait
 * for the authorization, exchange it at the token endpoint and store the
 * tokens; then print what was stored (never a token). Returns 0, or -1
 * with the reason in err (no secret in it).
 */
int
authorize_run(const struct authorize_cfg *c, FILE *in, FILE *out, char *err,
    size_t errsize)
{
	struct authz z;
	int ret = -1;

	memset(&z, 0, sizeof(z));
	z.c = c;
	z.in = in;
	z.out = out;
	z.err = err;
	z.errsize = errsize;
	if (c->timeout <= 0 || c->timeout > AUTHORIZE_TIMEOUT_MAX) {
		az_err(&z, "the timeout must be 1..%d s", AUTHORIZE_TIMEOUT_MAX);
		return -1;
	}
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (c->token_url == NULL || c->client_id == NULL) {
		az_err(&z, "no token_url or client_id");
		return -1;
	}
	if (c->mode == AUTHORIZE_DEVICE && c->device_url == NULL) {
		az_err(&z, "the provider has no device_url: no device flow");
		return -1;
	}
	if (c->mode != AUTHORIZE_DEVICE && c->auth_url == NULL) {
		az_err(&z, "the provider has no auth_url: use --device, or "
		    "set-token");
		return -1;
	}
	wipe_json_init();
	if ((z.loop = ev_loop_new(EVFLAG_AUTO)) == NULL ||
	    (z.http = http_new(z.loop)) == NULL) {
		az_err(&z, "cannot set up an HTTPS client");
		goto done;
	}
	if (c->mode == AUTHORIZE_DEVICE)
		ret = az_device(&z);
	else if (c->mode == AUTHORIZE_MANUAL)
		ret = az_manual(&z);
	else
		ret = az_loopback(&z);
done:
	http_free(z.http);
	if (z.loop != NULL)
		ev_loop_destroy(z.loop);
	explicit_bzero(&z, sizeof(z));
	return ret;
}
