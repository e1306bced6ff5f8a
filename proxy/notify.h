/*
 * notify: telling systemd how the daemon is (sd_notify): READY=1 once it
 * serves, RELOADING=1 and READY=1 around a reload, STOPPING=1, a STATUS=
 * line kept current, and WATCHDOG=1 from the event loop when the unit has
 * WatchdogSec, so a loop that is stuck stops feeding it and gets
 * restarted. Without NOTIFY_SOCKET in the environment it does nothing.
 */
#ifndef PROXY_NOTIFY_H
#define PROXY_NOTIFY_H

#include <ev.h>

/* Limits. */
#define NOTIFY_STATUS_MAX	256	/* bytes of a STATUS= line */
#define NOTIFY_STATUS_EVERY	10.	/* s between STATUS= updates */

/* Writes the current status line into buf (NUL-terminated). */
typedef void notify_status_fn(void *arg, char *buf, size_t size);

struct notify {
	struct ev_loop		*loop;
	int			 on;		/* NOTIFY_SOCKET is set */
	ev_timer		 watchdog;
	ev_timer		 status;
	notify_status_fn	*fn;
	void			*arg;
	char			 last[NOTIFY_STATUS_MAX];
};

/*
 * Start the watchdog (if the unit asked for one) and the status updates
 * on loop; fn says the status. Background timers: they keep no loop alive.
 */
void	notify_init(struct notify *, struct ev_loop *, notify_status_fn *fn,
	    void *arg);
/* READY=1 with the current status. */
void	notify_ready(struct notify *);
void	notify_reloading(struct notify *);
void	notify_stopping(struct notify *);
/* Send the status line now if it changed. */
void	notify_status(struct notify *);
/* Stop the timers. */
void	notify_stop(struct notify *);

#endif
