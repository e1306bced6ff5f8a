/*
 * httpd: metrics and health over HTTP. See httpd.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "io/log.h"
#include "proxy/httpd.h"

struct httpd {
	struct ev_loop		*loop;
	struct MHD_Daemon	*mhd;
	ev_io			 io;		/* MHD's epoll descriptor */
	ev_timer		 timer;		/* MHD's own timeouts */
	httpd_handler		*handler;
	httpd_policy		*policy;
	void			*arg;
};

/* After MHD did its work: when it wants to run again, at the latest. */
static void
httpd_rearm(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(h->loop, &h->timer);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		ev_timer_set(&h->timer, (double)ms / 1e3, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
}

static void
httpd_run(struct httpd *h)
{
	(void)MHD_run(h->mhd);
	httpd_rearm(h);
}

static void
httpd_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	httpd_run(w->data);
}

static void
httpd_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	httpd_run(w->data);
}

static enum MHD_Result
httpd_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct httpd *h = cls;

	(void)addrlen;
	return h->policy(h->arg, addr) ? MHD_YES : MHD_NO;
}

static enum MHD_Result
httpd_send(struct MHD_Connection *c, unsigned status, const char *type,
    char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
httpd_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req)
{
	static int first;
	struct httpd *h = cls;
	struct httpd_reply reply;

	(void)version;
	(void)upload_data;
	/* The first call only announces the request (headers read). */
	if (*req == NULL) {
		*req = &first;
		return MHD_YES;
	}
	/* A body (no method here takes one) is read and dropped: the
	   answer comes once it is all in. */
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return httpd_send(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
		    strdup("method not allowed\n"), 19);
	memset(&reply, 0, sizeof(reply));
	if (h->handler(h->arg, url, &reply) == -1 || reply.body == NULL) {
		free(reply.body);
		return MHD_NO;
	}
	return httpd_send(c, reply.status, reply.type, reply.body, reply.len);
}

/*
 * Listen on addr and serve handler's answers from loop. NULL with the
 * reason in err.
 */
struct httpd *
httpd_start(struct ev_loop *loop, const struct sockaddr *addr,
    socklen_t addrlen, httpd_handler *handler, httpd_policy *policy,
    void *arg, char *err, size_t errsize)
{
	const union MHD_DaemonInfo *info;
	struct httpd *h;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	(void)addrlen;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->handler = handler;
	h->policy = policy;
	h->arg = arg;
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	h->mhd = MHD_start_daemon(flags, 0, httpd_accept, h, httpd_request, h,
	    MHD_OPTION_SOCK_ADDR, addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONNECTIONS_MAX,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTPD_PER_IP_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_MEMORY_MAX,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
	    MHD_OPTION_END);
	if (h->mhd == NULL ||
	    (info = MHD_get_daemon_info(h->mhd,
	    MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		snprintf(err, errsize, "cannot serve HTTP there: %s",
		    errno != 0 ? strerror(errno) : "libmicrohttpd refused");
		if (h->mhd != NULL)
			MHD_stop_daemon(h->mhd);
		free(h);
		return NULL;
	}
	ev_io_init(&h->io, httpd_io_cb, info->epoll_fd, EV_READ);
	ev_init(&h->timer, httpd_timer_cb);
	h->io.data = h->timer.data = h;
	ev_io_start(loop, &h->io);
	/* Serving metrics must not keep a stopping daemon alive. */
	ev_unref(loop);
	httpd_rearm(h);
	return h;
}

/* Close the socket and its clients; NULL does nothing. */
void
httpd_stop(struct httpd *h)
{
	if (h == NULL)
		return;
	ev_ref(h->loop);
	ev_io_stop(h->loop, &h->io);
	ev_timer_stop(h->loop, &h->timer);
	MHD_stop_daemon(h->mhd);
	free(h);
}
