/*
 * httpd: the metrics and health endpoints over HTTP, served by
 * libmicrohttpd without a thread of its own: its epoll descriptor is
 * watched by the event loop and MHD_run() is called from it, so a request
 * is answered on the loop and reads the daemon's state directly. Only
 * GET (and HEAD) of the paths the handler knows; peers outside the
 * allowed networks are refused at accept.
 */
#ifndef PROXY_HTTPD_H
#define PROXY_HTTPD_H

#include <sys/socket.h>

#include <ev.h>

/* Limits. */
#define HTTPD_CONNECTIONS_MAX	16	/* clients at once */
#define HTTPD_PER_IP_MAX	4	/* ... from one address */
#define HTTPD_TIMEOUT		10	/* s of silence before a client goes */
#define HTTPD_MEMORY_MAX	(32 * 1024)	/* per connection, request */

/* An answer: status, content type, body (malloc'd, taken). */
struct httpd_reply {
	unsigned	 status;
	const char	*type;
	char		*body;
	size_t		 len;
};

/* Answer path (the request's, without query); 0, or -1 out of memory. */
typedef int httpd_handler(void *arg, const char *path,
    struct httpd_reply *reply);
/* May a client from sa connect? 1 yes, 0 no. */
typedef int httpd_policy(void *arg, const struct sockaddr *sa);

struct httpd;

/*
 * Listen on addr and serve handler's answers from loop. NULL with the
 * reason in err.
 */
struct httpd	*httpd_start(struct ev_loop *, const struct sockaddr *addr,
		    socklen_t addrlen, httpd_handler *, httpd_policy *,
		    void *arg, char *err, size_t errsize);
/* Close the socket and its clients; NULL does nothing. */
void		 httpd_stop(struct httpd *);

#endif
