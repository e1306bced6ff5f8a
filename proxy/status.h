/*
 * status: what the running daemon shows of itself, for `authrelay status`
 * (JSON over the control socket) and systemd's STATUS= line: per account
 * the credential state, provider connections and messages relayed; per
 * listener its sessions; version, uptime, generation and the last reload.
 * Never a secret: no token, no password, no client secret.
 */
#ifndef PROXY_STATUS_H
#define PROXY_STATUS_H

#include <stddef.h>

#include "proxy/server.h"

/* The status as one JSON object (malloc'd text); NULL if out of memory. */
char	*status_json(const struct server *);
/* A reload's answer: applied or refused, with its report's lines. */
char	*status_reload_json(const struct server *, int applied,
	    char *report);
/*
 * Ready to serve: listening, and every account able to get a credential.
 * 1, or 0 with the first reason in why.
 */
int	 status_ready(const struct server *, char *why, size_t size);
/* An account's credential: 1 when it can get a token (valid, or not
   asked for yet), 0 when its refresh fails or it needs authorize. */
int	 status_credential_ok(const struct oauth_status *);
/* One line for systemd: sessions, accounts ready, accounts needing
   authorize. */
void	 status_line(const struct server *, char *buf, size_t size);

#endif
