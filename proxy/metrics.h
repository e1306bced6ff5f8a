/*
 * metrics: the daemon's state and counters (stats.h) in the Prometheus
 * text exposition format (version 0.0.4), for GET /metrics; and the
 * answers of /healthz and /readyz. Names are prefixed authrelay_ (the
 * process_ series follow Prometheus' own naming). Labels are bounded:
 * listener, account and user names from the config and the fixed words of
 * stats.h; never a client address. Nothing here can show a secret.
 */
#ifndef PROXY_METRICS_H
#define PROXY_METRICS_H

#include <stddef.h>

#include "proxy/httpd.h"
#include "proxy/server.h"

/* The exposition text (malloc'd) and its length; NULL out of memory. */
char	*metrics_render(const struct server *, size_t *len);
/* The HTTP answer for path: /metrics, /healthz, /readyz, else 404. */
int	 metrics_http(const struct server *, const char *path,
	    struct httpd_reply *);

#endif
