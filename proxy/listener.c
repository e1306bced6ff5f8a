/*
 * listener: long-lived listening sockets. See listener.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "io/log.h"
#include "proxy/listener.h"

/*
 * accept(2) failed for want of descriptors or memory: the connection waits
 * in the backlog, and the listener would be woken again at once. Stop
 * accepting for a moment, and say so once in a while, not each time.
 */
static void
listener_full(struct listener *l, int err)
{
	ev_tstamp now = ev_now(l->loop);

	l->full_pauses++;
	if (l->full_logged == 0. || now - l->full_logged >=
	    LISTENER_FULL_LOG_EVERY) {
		log_err(0, "accept on %s: %s: not accepting for %.1f s "
		    "(%lu pauses since the last line; raise LimitNOFILE or "
		    "lower max_connections)", l->text, strerror(err),
		    LISTENER_FULL_PAUSE, l->full_pauses);
		l->full_logged = now;
		l->full_pauses = 0;
	}
	ev_io_stop(l->loop, &l->io);
	ev_timer_set(&l->pause, LISTENER_FULL_PAUSE, 0.);
	ev_timer_start(l->loop, &l->pause);
}

static void
listener_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listener *l = w->data;

	(void)revents;
	if (l->fd != -1)
		ev_io_start(loop, &l->io);
}

static void
listener_accept_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i, one = 1;

	(void)loop;
	(void)revents;
	for (i = 0; i < LISTENER_ACCEPT_BURST && l->fd != -1; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				listener_full(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn(0, "accept on %s: %s", l->text,
				    strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		l->stats.connections++;
		l->cb(l->arg, l, fd, (struct sockaddr *)&ss, len);
	}
}

/*
 * Bind and listen on cl's address and add the listener to *list, with one
 * reference (the caller's). Accepted connections go to cb. Returns NULL
 * with the reason in err.
 */
struct listener *
listener_open(struct ev_loop *loop, struct listener **list,
    const struct cfg_listen *cl, listener_accept_cb *cb, void *arg,
    char *err, size_t errsize)
{
	struct listener *l;
	int one = 1;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->text = strdup(cl->text)) == NULL) {
		free(l);
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	l->loop = loop;
	memcpy(&l->addr, &cl->addr, sizeof(l->addr));
	l->addrlen = cl->addrlen;
	l->fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (l->fd == -1)
		goto fail;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (cl->addr.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (const struct sockaddr *)&cl->addr, cl->addrlen) ==
	    -1 || listen(l->fd, LISTENER_BACKLOG) == -1)
		goto fail;
	l->cb = cb;
	l->arg = arg;
	l->refs = 1;
	ev_io_init(&l->io, listener_accept_io, l->fd, EV_READ);
	l->io.data = l;
	ev_init(&l->pause, listener_pause_cb);
	l->pause.data = l;
	ev_io_start(loop, &l->io);
	l->list = list;
	if ((l->next = *list) != NULL)
		l->next->prev = l;
	*list = l;
	return l;
fail:
	snprintf(err, errsize, "cannot listen on %s: %s", cl->text,
	    strerror(errno));
	if (l->fd != -1)
		close(l->fd);
	free(l->text);
	free(l);
	return NULL;
}

/* The open listener on cl's address in list; NULL if there is none. */
struct listener *
listener_find(struct listener *list, const struct cfg_listen *cl)
{
	struct listener *l;

	for (l = list; l != NULL; l = l->next)
		if (l->fd != -1 && l->addrlen == cl->addrlen &&
		    memcmp(&l->addr, &cl->addr, cl->addrlen) == 0)
			return l;
	return NULL;
}

void
listener_ref(struct listener *l)
{
	l->refs++;
}

/* Stop accepting and close the socket (sessions go on). */
void
listener_stop(struct listener *l)
{
	if (l->fd == -1)
		return;
	ev_io_stop(l->loop, &l->io);
	ev_timer_stop(l->loop, &l->pause);
	close(l->fd);
	l->fd = -1;
}

/* Drop a reference; the last one stops and frees it. NULL does nothing. */
void
listener_unref(struct listener *l)
{
	if (l == NULL || --l->refs > 0)
		return;
	listener_stop(l);
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		*l->list = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	free(l->text);
	free(l);
}
