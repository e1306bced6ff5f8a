/*
 * sendsave: the sending windows (sendlimit.h) of accounts and users
 * survive a restart: they are kept in STATE_DIR/sending.json, loaded at
 * start, written every SENDSAVE_EVERY seconds when they changed (built on
 * the loop, written by a worker: io/atomicfile), and once more when the
 * daemon stops. Only the last 24 hours are kept; the last minute is not.
 */
#ifndef PROXY_SENDSAVE_H
#define PROXY_SENDSAVE_H

#include "proxy/server.h"

#define SENDSAVE_FILE		"sending.json"
#define SENDSAVE_EVERY		60.	/* s between writes, when dirty */
#define SENDSAVE_FILE_MAX	(16 * 1024 * 1024)	/* bytes read */

/* Load the file into the current generation's accounts and the users.
   A missing file is no error; a bad one is logged and ignored. */
void	sendsave_load(struct server *);
/* Start the periodic writes on the server's loop (a background timer). */
void	sendsave_start(struct server *);
/* Stop them, and write now if anything changed (blocking: at exit). */
void	sendsave_stop(struct server *);

#endif
