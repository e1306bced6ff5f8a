/*
 * http: HTTPS POSTs to the token endpoints on libcurl's multi-socket API,
 * driven by the caller's libev loop. See http.h.
 *
 * curl tells us which sockets to watch (http_sock_cb) and when to wake it
 * (http_timer_fn); our ev_io and ev_timer callbacks hand the events back with
 * curl_multi_socket_action and then deliver finished transfers. User
 * callbacks run only from http_check_done, outside every curl call, so they
 * may add and remove handles.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ev.h>

#include "oauth/http.h"
#include "oauth/oauth.h"

/* Largest reply kept; a longer one aborts the transfer. */
#define HTTP_RESPONSE_MAX	OAUTH_RESPONSE_MAX
/* First allocation for a reply; it doubles up to HTTP_RESPONSE_MAX. */
#define HTTP_RESPONSE_INIT	4096
/* Sent as User-Agent. */
#define HTTP_USER_AGENT		"authrelay"

struct http_sock {
	ev_io			 io;
	struct http		*http;
	curl_socket_t		 fd;
	TAILQ_ENTRY(http_sock)	 entry;
};

struct http_req {
	struct http		*http;		/* NULL once detached */
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;		/* secret: wiped */
	size_t			 bodylen;
	char			*resp;		/* may be secret: wiped */
	size_t			 resplen;
	size_t			 respcap;
	int			 toobig;
	http_cb			*cb;
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(http_req)	 entry;
};

struct http {
	struct ev_loop		*loop;
	CURLM			*multi;
	ev_timer		 timer;
	TAILQ_HEAD(, http_req)	 reqs;
	TAILQ_HEAD(, http_sock)	 socks;
	int			 dispatching;	/* inside http_check_done */
	int			 dying;		/* http_free called meanwhile */
};

static void	http_check_done(struct http *);

/* Bytes of the reply; abort (return short) past HTTP_RESPONSE_MAX. */
static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_req *r = arg;
	size_t n = size * nmemb, cap;
	char *p;

	if (n > HTTP_RESPONSE_MAX - r->resplen) {
		r->toobig = 1;
		return 0;
	}
	if (r->resplen + n + 1 > r->respcap) {
		cap = r->respcap > 0 ? r->respcap : HTTP_RESPONSE_INIT;
		while (cap < r->resplen + n + 1)
			cap *= 2;
		if (cap > HTTP_RESPONSE_MAX + 1)
			cap = HTTP_RESPONSE_MAX + 1;
		/* Not realloc: the old block must be wiped, not abandoned. */
		if ((p = malloc(cap)) == NULL)
			return 0;
		if (r->resp != NULL) {
			memcpy(p, r->resp, r->resplen);
			explicit_bzero(r->resp, r->respcap);
			free(r->resp);
		}
		r->resp = p;
		r->respcap = cap;
	}
	memcpy(r->resp + r->resplen, ptr, n);
	r->resplen += n;
	r->resp[r->resplen] = '\0';
	return n;
}

static void
http_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_sock *hs = w->data;
	struct http *h = hs->http;
	curl_socket_t fd = hs->fd;
	int action = 0, running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* hs may be freed inside this call (CURL_POLL_REMOVE). */
	curl_multi_socket_action(h->multi, fd, action, &running);
	http_check_done(h);
}

static void
http_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http *h = w->data;
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done(h);
}

/* curl: watch s for what (CURLMOPT_SOCKETFUNCTION). */
static int
http_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct http *h = userp;
	struct http_sock *hs = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		/* curl calls this before it closes s. */
		if (hs != NULL) {
			ev_io_stop(h->loop, &hs->io);
			TAILQ_REMOVE(&h->socks, hs, entry);
			free(hs);
		}
		return 0;
	}
	if (hs == NULL) {
		if ((hs = calloc(1, sizeof(*hs))) == NULL)
			return -1;
		hs->http = h;
		hs->fd = s;
		ev_init(&hs->io, http_io_cb);
		hs->io.data = hs;
		TAILQ_INSERT_TAIL(&h->socks, hs, entry);
		curl_multi_assign(h->multi, s, hs);
	} else
		ev_io_stop(h->loop, &hs->io);
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_set(&hs->io, s, events);
	ev_io_start(h->loop, &hs->io);
	return 0;
}

/*
 * curl: wake me in timeout_ms (CURLMOPT_TIMERFUNCTION). Even 0 goes through
 * the loop: calling curl_multi_socket_action from here is not allowed.
 */
static int
http_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	ev_timer_stop(h->loop, &h->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&h->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
	return 0;
}

/* A client on loop. Returns NULL on failure. */
struct http *
http_new(struct ev_loop *loop)
{
	struct http *h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto fail;
	h->loop = loop;
	TAILQ_INIT(&h->reqs);
	TAILQ_INIT(&h->socks);
	ev_init(&h->timer, http_timer_cb);
	h->timer.data = h;
	if ((h->multi = curl_multi_init()) == NULL)
		goto fail;
	if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION,
	    http_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION,
	    http_timer_fn) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
		goto fail;
	return h;
fail:
	if (h != NULL) {
		if (h->multi != NULL)
			curl_multi_cleanup(h->multi);
		free(h);
	}
	curl_global_cleanup();
	return NULL;
}

/* Take r out of curl and out of h; wipe the request body. */
static void
http_req_detach(struct http_req *r)
{
	struct http *h = r->http;

	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	curl_slist_free_all(r->headers);
	r->headers = NULL;
	TAILQ_REMOVE(&h->reqs, r, entry);
	explicit_bzero(r->body, r->bodylen);
	free(r->body);
	r->body = NULL;
	r->http = NULL;
}

/* Free a detached request, wiping the reply. */
static void
http_req_free(struct http_req *r)
{
	if (r->resp != NULL) {
		explicit_bzero(r->resp, r->respcap);
		free(r->resp);
	}
	explicit_bzero(r, sizeof(*r));
	free(r);
}

/* Deliver one finished transfer and free it. */
static void
http_deliver(struct http_req *r, CURLcode res)
{
	char errtext[CURL_ERROR_SIZE + 64];
	char retry_after[HTTP_RETRY_AFTER_MAX + 1];
	struct curl_header *hdr;
	long status = 0;

	errtext[0] = '\0';
	retry_after[0] = '\0';
	if (res == CURLE_OK)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	/* The last reply's header only; a longer value is no value. */
	if (res == CURLE_OK && curl_easy_header(r->easy, "Retry-After", 0,
	    CURLH_HEADER, -1, &hdr) == CURLHE_OK && hdr->value != NULL &&
	    strlen(hdr->value) <= HTTP_RETRY_AFTER_MAX)
		snprintf(retry_after, sizeof(retry_after), "%s", hdr->value);
	if (r->toobig || res == CURLE_FILESIZE_EXCEEDED)
		snprintf(errtext, sizeof(errtext), "reply larger than %d bytes",
		    HTTP_RESPONSE_MAX);
	else if (res != CURLE_OK)
		snprintf(errtext, sizeof(errtext), "%s", r->errbuf[0] != '\0' ?
		    r->errbuf : curl_easy_strerror(res));
	else if (status == 0)
		snprintf(errtext, sizeof(errtext), "no HTTP status");
	if (errtext[0] != '\0')
		status = 0;
	/* Out of h before the call: the callback may do anything to h. */
	http_req_detach(r);
	r->cb(r->arg, status, r->resp != NULL && status != 0 ? r->resp : "",
	    status != 0 ? r->resplen : 0, errtext[0] != '\0' ? errtext : NULL,
	    status != 0 && retry_after[0] != '\0' ? retry_after : NULL);
	http_req_free(r);
}

static void
http_destroy(struct http *h)
{
	struct http_sock *hs;

	/*
	 * Stop our watchers before curl closes its sockets, and keep curl
	 * from calling back into a half-freed h.
	 */
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, NULL);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, NULL);
	while ((hs = TAILQ_FIRST(&h->socks)) != NULL) {
		ev_io_stop(h->loop, &hs->io);
		TAILQ_REMOVE(&h->socks, hs, entry);
		free(hs);
	}
	ev_timer_stop(h->loop, &h->timer);
	curl_multi_cleanup(h->multi);
	free(h);
	curl_global_cleanup();
}

/* Hand every finished transfer to its callback. */
static void
http_check_done(struct http *h)
{
	struct http_req *r;
	CURLMsg *msg;
	CURLcode res;
	CURL *easy;
	int left;

	h->dispatching++;
	while (!h->dying &&
	    (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/*
		 * msg dies with its handle: copy out first. A callback that
		 * cancels another finished request also drops that one's
		 * message (curl_multi_remove_handle purges it), so every
		 * message read here belongs to a live request.
		 */
		easy = msg->easy_handle;
		res = msg->data.result;
		r = NULL;
		if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r) !=
		    CURLE_OK || r == NULL)
			continue;
		http_deliver(r, res);
	}
	if (--h->dispatching == 0 && h->dying)
		http_destroy(h);
}

/*
 * Cancel every request (their callbacks do not run) and free; NULL does
 * nothing. May be called from inside an http_cb.
 */
void
http_free(struct http *h)
{
	struct http_req *r;

	if (h == NULL || h->dying)
		return;
	while ((r = TAILQ_FIRST(&h->reqs)) != NULL) {
		http_req_detach(r);
		http_req_free(r);
	}
	h->dying = 1;
	/* Inside a callback: http_check_done frees h when it unwinds. */
	if (h->dispatching == 0)
		http_destroy(h);
}

/*
 * POST body (application/x-www-form-urlencoded, copied, wiped when the
 * request ends) to url, trusting ca_file (NULL: the system store), giving up
 * after timeout_s seconds. Returns the request, or NULL if it could not be
 * started (no callback then).
 */
struct http_req *
http_post_form(struct http *h, const char *url, const char *body,
    const char *ca_file, long timeout_s, http_cb *cb, void *arg)
{
	struct http_req *r;
	struct curl_slist *l;
	CURL *e;

	if (h == NULL || h->dying || url == NULL || body == NULL || cb == NULL)
		return NULL;
	if (timeout_s <= 0 || timeout_s > HTTP_TIMEOUT_MAX)
		timeout_s = HTTP_TIMEOUT_MAX;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->cb = cb;
	r->arg = arg;
	r->bodylen = strlen(body);
	if ((r->body = malloc(r->bodylen + 1)) == NULL)
		goto fail;
	memcpy(r->body, body, r->bodylen + 1);
	if ((r->easy = e = curl_easy_init()) == NULL)
		goto fail;
	/* No "Expect: 100-continue" wait on a long refresh token. */
	if ((l = curl_slist_append(NULL, "Accept: application/json")) == NULL)
		goto fail;
	r->headers = l;
	if ((l = curl_slist_append(r->headers, "Expect:")) == NULL)
		goto fail;
	r->headers = l;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    (ca_file != NULL &&
	    curl_easy_setopt(e, CURLOPT_CAINFO, ca_file) != CURLE_OK) ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_VERBOSE, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
	    timeout_s < HTTP_CONNECT_TIMEOUT ? timeout_s :
	    (long)HTTP_CONNECT_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)HTTP_RESPONSE_MAX) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->bodylen) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK)
		goto fail;
	/* This only arms the timer: the transfer starts from the loop. */
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
		goto fail;
	r->http = h;
	TAILQ_INSERT_TAIL(&h->reqs, r, entry);
	return r;
fail:
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	if (r->body != NULL) {
		explicit_bzero(r->body, r->bodylen);
		free(r->body);
	}
	free(r);
	return NULL;
}

/* Abort a request whose callback has not run; its callback will not run. */
void
http_cancel(struct http_req *r)
{
	if (r == NULL || r->http == NULL)
		return;
	http_req_detach(r);
	http_req_free(r);
}
