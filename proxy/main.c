/*
 * main: the authrelay command line. Runs the daemon in the foreground, or
 * one of the administrative commands: check, hash-password, set-token.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>

#include "io/log.h"
#include "oauth/oauth.h"
#include "oauth/store.h"
#include "proxy/auth.h"
#include "proxy/config.h"
#include "proxy/server.h"

#define AUTHRELAY_VERSION	"0.1.0"
/* Longest secret read from stdin (a password or a refresh token). */
#define SECRET_INPUT_MAX	8192

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: authrelay [-c FILE] [command]\n"
	    "\n"
	    "  (no command)          run the gateway in the foreground\n"
	    "  check                 validate the config and stored tokens\n"
	    "  hash-password         read a password on stdin, print its hash\n"
	    "  set-token ACCOUNT     read a refresh token on stdin, store it\n"
	    "\n"
	    "  -c FILE               config file (default %s)\n"
	    "  --version, --help\n", CONFIG_DEFAULT_PATH);
}

/*
 * Read one line of secret from stdin into buf, without echo on a terminal.
 * Returns its length, or -1 when it is empty, too long or unreadable.
 */
static ssize_t
read_secret(const char *prompt, char *buf, size_t size)
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

static int
cmd_hash_password(void)
{
	char pw[SECRET_INPUT_MAX], hash[AUTH_HASH_MAX];
	int r;

	if (read_secret("Password: ", pw, sizeof(pw)) == -1)
		return 1;
	r = auth_hash_password(pw, "$y$", hash, sizeof(hash));
	explicit_bzero(pw, sizeof(pw));
	if (r == -1) {
		fprintf(stderr, "authrelay: crypt(3) failed\n");
		return 1;
	}
	printf("%s\n", hash);
	return 0;
}

static int
cmd_set_token(const struct config *cfg, const char *account)
{
	char tok[SECRET_INPUT_MAX], err[256];
	struct stored_token t = { 0 };
	int r;

	if (config_account(cfg, account) == NULL) {
		fprintf(stderr, "authrelay: %s: no [account %s]\n", cfg->path,
		    account);
		return 1;
	}
	if (read_secret("Refresh token: ", tok, sizeof(tok)) == -1)
		return 1;
	t.refresh_token = tok;
	r = store_write(cfg->state_dir, NULL, account, &t, err, sizeof(err));
	explicit_bzero(tok, sizeof(tok));
	if (r == -1) {
		fprintf(stderr, "authrelay: cannot store token for %s: %s\n",
		    account, err);
		return 1;
	}
	printf("stored refresh token for account %s in %s\n", account,
	    cfg->state_dir);
	return 0;
}

/* Every account needs a stored token; say which do not have one. */
static int
cmd_check(const struct config *cfg)
{
	struct oauth_opts oo = { .state_dir = cfg->state_dir };
	struct stored_token t;
	char err[512];
	size_t i;
	int bad = 0;

	if (oauth_check(&oo, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", cfg->path, err);
		bad = 1;
	}
	for (i = 0; i < cfg->naccounts; i++) {
		const struct cfg_account *a = &cfg->accounts[i];

		memset(&t, 0, sizeof(t));
		if (store_read(cfg->state_dir, NULL, a->name, &t, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "%s:%d: [account %s]: no usable "
			    "token: %s (run: authrelay -c %s set-token %s)\n",
			    cfg->path, a->line, a->name, err, cfg->path,
			    a->name);
			bad = 1;
		}
		store_token_clear(&t);
	}
	if (bad)
		return 1;
	printf("%s: ok (%zu listeners, %zu accounts, %zu users)\n",
	    cfg->path, cfg->nlistens, cfg->naccounts, cfg->nusers);
	return 0;
}

static int
cmd_run(struct config *cfg)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct server srv;
	int r = 1;

	if (loop == NULL) {
		fprintf(stderr, "authrelay: cannot start the event loop\n");
		return 1;
	}
	log_set_level((enum log_level)cfg->log_level);
	/* journald stamps lines itself. */
	log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);
	if (server_init(&srv, loop, cfg) == 0) {
		log_info(0, "authrelay %s started", AUTHRELAY_VERSION);
		server_run(&srv);
		r = 0;
	}
	server_free(&srv);
	ev_loop_destroy(loop);
	return r;
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH, *cmd = NULL, *arg = NULL;
	struct config *cfg;
	char *errors = NULL;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("authrelay %s\n", AUTHRELAY_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (argv[i][0] == '-') {
			usage(stderr);
			return 2;
		} else if (cmd == NULL)
			cmd = argv[i];
		else if (arg == NULL)
			arg = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (cmd != NULL && strcmp(cmd, "hash-password") == 0 && arg == NULL)
		return cmd_hash_password();
	if (cmd != NULL && strcmp(cmd, "check") != 0 &&
	    strcmp(cmd, "set-token") != 0) {
		fprintf(stderr, "authrelay: unknown command %s\n", cmd);
		usage(stderr);
		return 2;
	}
	if (cmd != NULL && (strcmp(cmd, "set-token") == 0) != (arg != NULL)) {
		usage(stderr);
		return 2;
	}
	if ((cfg = config_load(path, &errors)) == NULL) {
		fprintf(stderr, "%s", errors != NULL ? errors :
		    "authrelay: cannot load config\n");
		free(errors);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cmd == NULL)
		r = cmd_run(cfg);
	else if (strcmp(cmd, "check") == 0)
		r = cmd_check(cfg);
	else
		r = cmd_set_token(cfg, arg);
	config_free(cfg);
	curl_global_cleanup();
	return r;
}
