/*
 * listener: one listening socket, long-lived across reloads. A reload that
 * keeps an address keeps its socket, so no client is refused while the
 * configuration swaps. The generations that use a listener hold references
 * to it; a reload that drops its address stops it (the socket closes at
 * once) and the last reference frees it. All open listeners are on one
 * list, so a new generation finds the socket of an address it keeps.
 */
#ifndef PROXY_LISTENER_H
#define PROXY_LISTENER_H

#include <sys/socket.h>

#include <ev.h>

#include "proxy/config.h"
#include "proxy/stats.h"

/* Limits. */
#define LISTENER_ACCEPT_BURST	64	/* connections taken per wake-up */
#define LISTENER_BACKLOG	511	/* listen(2) backlog */
#define LISTENER_FULL_PAUSE	0.5	/* s without accepting once out of
					   descriptors or memory */
#define LISTENER_FULL_LOG_EVERY	10.	/* s between two lines saying so */

struct listener;

/* A connection accepted on l: fd is non-blocking, close-on-exec. */
typedef void listener_accept_cb(void *arg, struct listener *l, int fd,
    const struct sockaddr *, socklen_t);

struct listener {
	struct ev_loop		*loop;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			*text;		/* "0.0.0.0:587", for logs */
	int			 fd;		/* -1 once stopped */
	ev_io			 io;
	ev_timer		 pause;		/* out of descriptors: wait */
	ev_tstamp		 full_logged;	/* when that was last said */
	unsigned long		 full_pauses;	/* ... and pauses since */
	long			 nsessions;	/* open sessions accepted here */
	struct stats_listener	 stats;
	unsigned		 refs;
	unsigned long		 mark;		/* the last generation that
						   uses it */
	listener_accept_cb	*cb;
	void			*arg;
	struct listener		**list;		/* the list it is on */
	struct listener		*prev, *next;
};

/*
 * Bind and listen on cl's address and add the listener to *list, with one
 * reference (the caller's). Accepted connections go to cb. Returns NULL
 * with the reason in err.
 */
struct listener	*listener_open(struct ev_loop *, struct listener **list,
		    const struct cfg_listen *cl, listener_accept_cb *cb,
		    void *arg, char *err, size_t errsize);
/* The open listener on cl's address in list; NULL if there is none. */
struct listener	*listener_find(struct listener *list,
		    const struct cfg_listen *cl);
void		 listener_ref(struct listener *);
/* Drop a reference; the last one stops and frees it. NULL does nothing. */
void		 listener_unref(struct listener *);
/* Stop accepting and close the socket (sessions go on). */
void		 listener_stop(struct listener *);

#endif
