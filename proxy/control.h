/*
 * control: the daemon's control socket, a Unix stream socket only its own
 * user (and root) may use. A client sends one request line, "status" or
 * "reload", and reads one JSON reply until the daemon closes. Nothing on
 * it changes a setting or reads a secret: the handler answers from what
 * status output may show, or reloads the file the daemon was started
 * with.
 */
#ifndef PROXY_CONTROL_H
#define PROXY_CONTROL_H

#include <sys/types.h>

#include <ev.h>

/* Limits. */
#define CONTROL_REQUEST_MAX	64	/* bytes of a request line */
#define CONTROL_REPLY_MAX	(64 * 1024 * 1024)	/* bytes of a reply */
#define CONTROL_CLIENTS_MAX	8	/* clients at once */
#define CONTROL_TIMEOUT		10.	/* s for a client to ask and read */
#define CONTROL_BACKLOG		16

/*
 * The answer to request (a verb without its line end), as malloc'd JSON
 * text; NULL when out of memory.
 */
typedef char *control_handler(void *arg, const char *request);

struct control;

/*
 * Listen at path for handler. The directory is created (0750) when
 * missing; a stale socket file is replaced, but one that answers means
 * another daemon runs and is an error. The socket is mode 0600 and, when
 * started as root, given to uid:gid (the user we will run as). Returns
 * NULL with the reason in err.
 */
struct control	*control_open(struct ev_loop *, const char *path, uid_t uid,
		    gid_t gid, control_handler *, void *arg, char *err,
		    size_t errsize);
/* Close the socket, drop its clients, remove the file; NULL does nothing. */
void		 control_free(struct control *);

#endif
