/*
 * http: a small HTTPS POST client for the token endpoints. libcurl's
 * multi-socket API runs on the caller's libev loop (curl's sockets as ev_io,
 * its timeout as one ev_timer, names resolved by curl's threaded resolver):
 * nothing blocks the loop. HTTPS only, peer and host verified, no
 * redirects, replies capped at OAUTH_RESPONSE_MAX bytes. Request bodies are
 * wiped once a request ends; nothing here logs a body.
 */
#ifndef OAUTH_HTTP_H
#define OAUTH_HTTP_H

#include <stddef.h>

#include <ev.h>

/* Limits. */
#define HTTP_CONNECT_TIMEOUT	10	/* seconds to connect, TLS included */
#define HTTP_TIMEOUT_MAX	300	/* largest timeout_s taken */
#define HTTP_RETRY_AFTER_MAX	64	/* bytes of a Retry-After value kept;
					   a longer one is dropped */

struct http;
struct http_req;

/*
 * Called once per request that http_post_form returned and that was not
 * cancelled, from the loop, never from inside http_post_form. status is the
 * HTTP status, or 0 when the transfer failed (errtext then says why: curl's
 * words, no body, no secret). body is the reply, len bytes plus a NUL, ""
 * when there is none; retry_after the reply's Retry-After header value as
 * sent (at most HTTP_RETRY_AFTER_MAX bytes), or NULL. Both are valid only
 * during the call. The request is gone once the call starts: its handle
 * must not be used, not even to cancel it. The callback may start new
 * requests and cancel other ones.
 */
typedef void http_cb(void *arg, long status, const char *body, size_t len,
    const char *errtext, const char *retry_after);

/* A client on loop. Returns NULL on failure. */
struct http	*http_new(struct ev_loop *loop);
/*
 * Cancel every request (their callbacks do not run) and free; NULL does
 * nothing. May be called from inside an http_cb.
 */
void		 http_free(struct http *);
/*
 * POST body (application/x-www-form-urlencoded, copied, wiped when the
 * request ends) to url, trusting ca_file (NULL: the system store), giving up
 * after timeout_s seconds. Returns the request, or NULL if it could not be
 * started (no callback then).
 */
struct http_req	*http_post_form(struct http *, const char *url,
		    const char *body, const char *ca_file, long timeout_s,
		    http_cb *cb, void *arg);
/* Abort a request whose callback has not run; its callback will not run. */
void		 http_cancel(struct http_req *);

#endif
