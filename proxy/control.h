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

#include <stddef.h>
#include <sys/types.h>

#include <ev.h>

/* Limits. */
#define CONTROL_REQUEST_MAX	64	/* bytes of a request line */
#define CONTROL_REPLY_MAX	(64 * 1024 * 1024)	/* bytes of a reply */
#define CONTROL_CLIENTS_MAX	8	/* clients at once */
#define CONTROL_TIMEOUT		10.	/* s for a client to ask and read */
#define CONTROL_BACKLOG		16

/* What a client's bytes so far hold (control_request_parse). */
enum control_request {
	CONTROL_REQUEST_OK,		/* "status" or "reload", in verb */
	CONTROL_REQUEST_MORE,		/* no line end yet: read on */
	CONTROL_REQUEST_UNKNOWN,	/* a line, not a known request */
	CONTROL_REQUEST_LONG,		/* CONTROL_REQUEST_MAX bytes, no LF */
};

/*
 * What the len bytes a client has sent so far hold: CONTROL_REQUEST_OK with
 * the verb copied to verb (NUL-terminated) for a line "status" or "reload"
 * ended by LF or CR LF; CONTROL_REQUEST_MORE while no LF has come and len
 * is under CONTROL_REQUEST_MAX; CONTROL_REQUEST_UNKNOWN for a line that is
 * anything else; CONTROL_REQUEST_LONG when CONTROL_REQUEST_MAX bytes hold
 * no LF. A NUL byte ends what is looked at (the line cannot end before
 * it). Pure: client_read calls it after each read, the fuzzer directly.
 */
int	control_request_parse(const char *buf, size_t len, char *verb,
	    size_t versize);

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
