/*
 * cli: the authrelay command line. main.c parses the arguments and
 * dispatches to one function per command, each in its own file: run.c
 * (the daemon), check.c, secret.c (hash-password, set-token), authorize.c,
 * token.c, test.c, control.c (status, reload: the client side of the
 * daemon's control socket). This header holds what they share.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "oauth/authorize.h"
#include "oauth/oauth.h"
#include "oauth/store.h"
#include "proxy/config.h"

/* Longest secret read from stdin (a password or a refresh token). */
#define CLI_SECRET_MAX		8192
/* Longest reason printed for a failed command. */
#define CLI_ERR_MAX		512
/* Longest time printed, "2025-01-31 23:59:59 UTC". */
#define CLI_TIME_MAX		64

/* Exit statuses shared by every command. */
#define CLI_OK			0
#define CLI_FAIL		1
#define CLI_USAGE		2

/* Options of the authorize command. */
struct cli_authz {
	enum authorize_mode	 mode;
	int			 port;		/* 0: ephemeral */
	long			 timeout;
};

/*
 * The commands; each returns an exit status. Those that read the state
 * directory get the token sealing key (NULL: none configured) and run as
 * the daemon's user (cli_become).
 */
int	cli_run(struct config *);
int	cli_check(const struct config *, const unsigned char *key);
int	cli_hash_password(void);
int	cli_set_token(const struct config *, const unsigned char *key,
	    const char *account);
int	cli_authorize(const struct config *, const unsigned char *key,
	    const char *account, const struct cli_authz *);
int	cli_token(const struct config *, const unsigned char *key,
	    const char *account);
int	cli_test(const struct config *, const unsigned char *key,
	    const char *account);
/*
 * The daemon of config file path, through its control socket: status (0
 * healthy, 1 degraded, 2 unreachable) and reload (0 applied, 1 refused,
 * 2 unreachable). They need only the socket's path: a file with errors
 * elsewhere must not keep an admin from the running daemon.
 */
int	cli_status(const char *path, const char *sock, int json);
int	cli_reload(const char *path, const char *sock);

/*
 * The sealing key from token_key_file into key, and *keyp pointing at it;
 * *keyp NULL when no key file is configured. -1 after saying why.
 */
int	cli_seal_key(const struct config *, unsigned char key[STORE_KEY_LEN],
	    const unsigned char **keyp);
/*
 * Run as the daemon's user: started as root with [server] user set, drop
 * to it (the files written then are the daemon's); otherwise nothing.
 * -1 after saying why.
 */
int	cli_become(const struct config *);
/* Account name of cfg; NULL after saying there is none. */
struct cfg_account *cli_account(const struct config *, const char *name);
/*
 * Read one line of secret from stdin into buf, without echo on a terminal.
 * Returns its length, or -1 when it is empty, too long or unreadable.
 */
ssize_t	cli_read_secret(const char *prompt, char *buf, size_t size);
/* t as "2025-01-31 23:59:59 UTC". */
void	cli_format_time(time_t t, char *buf, size_t size);

#endif
