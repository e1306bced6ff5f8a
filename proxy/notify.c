/*
 * notify: systemd notifications. See notify.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "io/log.h"
#include "proxy/notify.h"

static void
notify_send(struct notify *n, const char *what)
{
	if (n->on && sd_notify(0, what) < 0)
		log_debug(0, "sd_notify %s failed", what);
}

static void
notify_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct notify *n = w->data;

	(void)loop;
	(void)revents;
	notify_send(n, "WATCHDOG=1");
}

static void
notify_status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	notify_status(w->data);
}

/*
 * Start the watchdog (if the unit asked for one) and the status updates
 * on loop; fn says the status. Background timers: they keep no loop alive.
 */
void
notify_init(struct notify *n, struct ev_loop *loop, notify_status_fn *fn,
    void *arg)
{
	uint64_t usec = 0;

	memset(n, 0, sizeof(*n));
	n->loop = loop;
	n->fn = fn;
	n->arg = arg;
	ev_init(&n->watchdog, notify_watchdog_cb);
	ev_init(&n->status, notify_status_cb);
	n->watchdog.data = n->status.data = n;
	n->on = getenv("NOTIFY_SOCKET") != NULL;
	if (!n->on)
		return;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		/* Twice per period, as sd_watchdog_enabled(3) advises. */
		n->watchdog.repeat = (double)usec / 2e6;
		ev_timer_again(loop, &n->watchdog);
		ev_unref(loop);
		log_info(0, "systemd watchdog every %.1f s", (double)usec / 1e6);
	}
	n->status.repeat = NOTIFY_STATUS_EVERY;
	ev_timer_again(loop, &n->status);
	ev_unref(loop);
}

/* The status line, "STATUS=..." into buf; 1 if it changed. */
static int
notify_line(struct notify *n, char *buf, size_t size)
{
	char st[NOTIFY_STATUS_MAX];

	n->fn(n->arg, st, sizeof(st));
	snprintf(buf, size, "STATUS=%s", st);
	if (strcmp(st, n->last) == 0)
		return 0;
	snprintf(n->last, sizeof(n->last), "%s", st);
	return 1;
}

/* READY=1 with the current status. */
void
notify_ready(struct notify *n)
{
	char line[NOTIFY_STATUS_MAX + 16], msg[NOTIFY_STATUS_MAX + 32];

	if (!n->on)
		return;
	notify_line(n, line, sizeof(line));
	snprintf(msg, sizeof(msg), "READY=1\n%s", line);
	notify_send(n, msg);
}

void
notify_reloading(struct notify *n)
{
	notify_send(n, "RELOADING=1\nSTATUS=reloading the configuration");
	n->last[0] = '\0';
}

void
notify_stopping(struct notify *n)
{
	notify_send(n, "STOPPING=1\nSTATUS=stopping");
}

/* Send the status line now if it changed. */
void
notify_status(struct notify *n)
{
	char line[NOTIFY_STATUS_MAX + 16];

	if (n->on && notify_line(n, line, sizeof(line)))
		notify_send(n, line);
}

/* Stop the timers. */
void
notify_stop(struct notify *n)
{
	if (ev_is_active(&n->watchdog)) {
		ev_ref(n->loop);
		ev_timer_stop(n->loop, &n->watchdog);
	}
	if (ev_is_active(&n->status)) {
		ev_ref(n->loop);
		ev_timer_stop(n->loop, &n->status);
	}
}
