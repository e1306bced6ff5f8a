/*
 * common: what several commands share. See cli.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proxy/privs.h"

/*
 * The sealing key from token_key_file into key, and *keyp pointing at it;
 * *keyp NULL when no key file is configured. -1 after saying why.
 */
int
cli_seal_key(const struct config *cfg, unsigned char key[STORE_KEY_LEN],
    const unsigned char **keyp)
{
	char err[CLI_ERR_MAX];

	*keyp = NULL;
	if (cfg->token_key_file == NULL)
		return 0;
	if (store_load_key(cfg->token_key_file, key, err, sizeof(err)) == -1) {
		fprintf(stderr, "authrelay: %s: token_key_file: %s\n",
		    cfg->path, err);
		return -1;
	}
	*keyp = key;
	return 0;
}

/*
 * Run as the daemon's user: started as root with [server] user set, drop
 * to it (the files written then are the daemon's); otherwise nothing.
 * -1 after saying why.
 */
int
cli_become(const struct config *cfg)
{
	char err[CLI_ERR_MAX];
	struct privs pv;

	if (geteuid() != 0 || cfg->user == NULL)
		return 0;
	if (privs_resolve(cfg, &pv, err, sizeof(err)) == -1 ||
	    privs_drop(&pv, err, sizeof(err)) == -1) {
		fprintf(stderr, "authrelay: %s\n", err);
		return -1;
	}
	return 0;
}

/* Account name of cfg; NULL after saying there is none. */
struct cfg_account *
cli_account(const struct config *cfg, const char *name)
{
	struct cfg_account *a;

	if ((a = config_account(cfg, name)) == NULL)
		fprintf(stderr, "authrelay: %s: no [account %s]\n", cfg->path,
		    name);
	return a;
}

/*
 * Read one line of secret from stdin into buf, without echo on a terminal.
 * Returns its length, or -1 when it is empty, too long or unreadable.
 */
ssize_t
cli_read_secret(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);
	size_t len;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else
			tty = 0;
	}
	if (fgets(buf, (int)size, stdin) == NULL)
		buf[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	len = strlen(buf);
	if (len > 0 && buf[len - 1] != '\n' && len == size - 1) {
		explicit_bzero(buf, size);
		fprintf(stderr, "authrelay: input longer than %zu bytes\n",
		    size - 2);
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0) {
		fprintf(stderr, "authrelay: empty input\n");
		return -1;
	}
	return (ssize_t)len;
}

/* t as "2025-01-31 23:59:59 UTC". */
void
cli_format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}
