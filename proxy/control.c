/*
 * control: the control socket. See control.h.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/log.h"
#include "proxy/control.h"

struct control_client {
	struct control		*ctl;
	int			 fd;
	ev_io			 io;
	ev_timer		 timer;
	char			 in[CONTROL_REQUEST_MAX];
	size_t			 inlen;
	char			*out;		/* the reply, once known */
	size_t			 outlen, outoff;
	int			 draining;	/* reply sent: read to EOF */
	struct control_client	*prev, *next;
};

struct control {
	struct ev_loop		*loop;
	char			*path;
	int			 fd;
	ev_io			 io;
	control_handler		*handler;
	void			*arg;
	struct control_client	*clients;
	int			 nclients;
};

static void
client_free(struct control_client *c)
{
	struct control *ctl = c->ctl;

	ev_io_stop(ctl->loop, &c->io);
	ev_timer_stop(ctl->loop, &c->timer);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ctl->nclients--;
	free(c->out);
	free(c);
}

/* A reply to write: the handler's, or a refusal. */
static void
client_reply(struct control_client *c, char *text)
{
	size_t len;

	if (text == NULL)
		text = strdup("{\"error\":\"out of memory\"}");
	if (text == NULL || (len = strlen(text)) >= CONTROL_REPLY_MAX) {
		free(text);
		client_free(c);
		return;
	}
	/* One line: the client reads until the daemon closes. */
	text[len] = '\n';
	c->out = text;
	c->outlen = len + 1;
	ev_io_stop(c->ctl->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(c->ctl->loop, &c->io);
}

/*
 * What the len bytes a client has sent so far hold: CONTROL_REQUEST_OK with
 * the verb copied to verb (NUL-terminated) for a line "status" or "reload"
 * ended by LF or CR LF; CONTROL_REQUEST_MORE while no LF has come and len
 * is under CONTROL_REQUEST_MAX; CONTROL_REQUEST_UNKNOWN for a line that is
 * anything else; CONTROL_REQUEST_LONG when CONTROL_REQUEST_MAX bytes hold
 * no LF. A NUL byte ends what is looked at (the line cannot end before
 * it). Pure: client_read calls it after each read, the fuzzer directly.
 */
int
control_request_parse(const char *buf, size_t len, char *verb,
    size_t versize)
{
	const char *nl;
	size_t n;

	if (len > CONTROL_REQUEST_MAX)
		len = CONTROL_REQUEST_MAX;
	if ((nl = memchr(buf, '\n', strnlen(buf, len))) == NULL)
		return len == CONTROL_REQUEST_MAX ? CONTROL_REQUEST_LONG :
		    CONTROL_REQUEST_MORE;
	n = (size_t)(nl - buf);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (!((n == strlen("status") && memcmp(buf, "status", n) == 0) ||
	    (n == strlen("reload") && memcmp(buf, "reload", n) == 0)) ||
	    n >= versize)
		return CONTROL_REQUEST_UNKNOWN;
	memcpy(verb, buf, n);
	verb[n] = '\0';
	return CONTROL_REQUEST_OK;
}

static void
client_read(struct control_client *c)
{
	char verb[CONTROL_REQUEST_MAX];
	ssize_t n;

	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	c->inlen += (size_t)n;
	switch (control_request_parse(c->in, c->inlen, verb, sizeof(verb))) {
	case CONTROL_REQUEST_MORE:
		return;
	case CONTROL_REQUEST_LONG:
		client_reply(c, strdup("{\"error\":\"request too long\"}"));
		return;
	case CONTROL_REQUEST_UNKNOWN:
		log_info(0, "control: unknown request refused");
		client_reply(c, strdup("{\"error\":\"unknown request: "
		    "status or reload\"}"));
		return;
	}
	client_reply(c, c->ctl->handler(c->ctl->arg, verb));
}

static void
client_write(struct control_client *c)
{
	ssize_t n;

	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff < c->outlen)
		return;
	/* Closing with unread input would reset the connection and could
	   lose the reply: say we are done, then wait for the client's end
	   (bounded by the client's timer). */
	shutdown(c->fd, SHUT_WR);
	c->draining = 1;
	ev_io_stop(c->ctl->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_READ);
	ev_io_start(c->ctl->loop, &c->io);
}

static void
client_drain(struct control_client *c)
{
	char buf[CONTROL_REQUEST_MAX];
	ssize_t n;

	n = read(c->fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		client_free(c);
}

static void
client_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c = w->data;

	(void)loop;
	(void)revents;
	if (c->draining)
		client_drain(c);
	else if (c->out == NULL)
		client_read(c);
	else
		client_write(c);
}

static void
client_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	log_info(0, "control: client timed out");
	client_free(w->data);
}

/* Only root and our own user may talk to us. */
static int
peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return 0;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void
control_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *ctl = w->data;
	struct control_client *c;
	int fd;

	(void)revents;
	if ((fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1)
		return;
	if (!peer_allowed(fd)) {
		log_warn(0, "control: connection from another user refused");
		close(fd);
		return;
	}
	if (ctl->nclients >= CONTROL_CLIENTS_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		log_warn(0, "control: too many clients (%d)",
		    CONTROL_CLIENTS_MAX);
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	ev_io_init(&c->io, client_io_cb, fd, EV_READ);
	ev_timer_init(&c->timer, client_timeout_cb, CONTROL_TIMEOUT, 0.);
	c->io.data = c->timer.data = c;
	ev_io_start(loop, &c->io);
	ev_timer_start(loop, &c->timer);
	if ((c->next = ctl->clients) != NULL)
		c->next->prev = c;
	ctl->clients = c;
	ctl->nclients++;
}

/* Make path's directory if missing: 0750, given to uid:gid as root. */
static int
control_dir(const char *path, uid_t uid, gid_t gid, char *err,
    size_t errsize)
{
	char copy[sizeof(((struct sockaddr_un *)0)->sun_path)], *dir;
	struct stat sb;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &sb) == 0)
		return 0;
	if (errno != ENOENT || mkdir(dir, 0750) == -1) {
		snprintf(err, errsize, "cannot create %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && chown(dir, uid, gid) == -1) {
		snprintf(err, errsize, "cannot give %s to uid %lu: %s", dir,
		    (unsigned long)uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* Is a daemon answering on sa already? Else remove a stale file. */
static int
control_stale(const struct sockaddr_un *sa, char *err, size_t errsize)
{
	int fd, r;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		snprintf(err, errsize, "%s answers: another authrelay is "
		    "running with this control_socket", sa->sun_path);
		return -1;
	}
	if (errno == ECONNREFUSED)
		unlink(sa->sun_path);
	return 0;
}

/*
 * Listen at path for handler. The directory is created (0750) when
 * missing; a stale socket file is replaced, but one that answers means
 * another daemon runs and is an error. The socket is mode 0600 and, when
 * started as root, given to uid:gid (the user we will run as). Returns
 * NULL with the reason in err.
 */
struct control *
control_open(struct ev_loop *loop, const char *path, uid_t uid, gid_t gid,
    control_handler *handler, void *arg, char *err, size_t errsize)
{
	struct sockaddr_un sa;
	struct control *ctl;
	mode_t mask;
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errsize, "%s: path too long", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (control_dir(path, uid, gid, err, errsize) == -1 ||
	    control_stale(&sa, err, errsize) == -1)
		return NULL;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->path = strdup(path)) == NULL) {
		free(ctl);
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	ctl->loop = loop;
	ctl->handler = handler;
	ctl->arg = arg;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	/* Owner-only from the moment it exists (start-up: one thread). */
	mask = umask(0177);
	r = ctl->fd == -1 ? -1 : bind(ctl->fd, (struct sockaddr *)&sa,
	    sizeof(sa));
	umask(mask);
	if (r == -1 || chmod(path, 0600) == -1 ||
	    (geteuid() == 0 && chown(path, uid, gid) == -1) ||
	    listen(ctl->fd, CONTROL_BACKLOG) == -1) {
		snprintf(err, errsize, "cannot listen on %s: %s", path,
		    strerror(errno));
		if (ctl->fd != -1)
			close(ctl->fd);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	ev_io_init(&ctl->io, control_accept_cb, ctl->fd, EV_READ);
	ctl->io.data = ctl;
	ev_io_start(loop, &ctl->io);
	/* Waiting for clients must not keep a stopping daemon alive. */
	ev_unref(loop);
	return ctl;
}

/* Close the socket, drop its clients, remove the file; NULL does nothing. */
void
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->clients != NULL)
		client_free(ctl->clients);
	ev_ref(ctl->loop);
	ev_io_stop(ctl->loop, &ctl->io);
	close(ctl->fd);
	if (unlink(ctl->path) == -1 && errno != ENOENT)
		log_warn(0, "control: cannot remove %s: %s (the next start "
		    "replaces it)", ctl->path, strerror(errno));
	free(ctl->path);
	free(ctl);
}
