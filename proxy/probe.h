/*
 * probe: `authrelay test ACCOUNT`: one provider login as the daemon would
 * do it (token, connect, TLS, EHLO, AUTH XOAUTH2, QUIT), with the transcript
 * printed and the token withheld.
 */
#ifndef PROXY_PROBE_H
#define PROXY_PROBE_H

#include "proxy/config.h"

/* Seconds the whole probe may take. */
#define PROBE_TIMEOUT	60

/*
 * Log in to the provider of account and quit, printing each line to
 * stdout. seal_key: NULL or the token_key_file's key. Returns 0 when the
 * provider accepted the login, else 1 after saying why on stderr.
 */
int	probe_account(const struct config *, const unsigned char *seal_key,
	    const char *account);

#endif
