/*
 * main: the authrelay command line. Parses the arguments, loads the config
 * and hands over to the command's function (cli.h); the commands live one
 * per file in cli/.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/cli.h"

#ifndef AUTHRELAY_VERSION
#error "AUTHRELAY_VERSION comes from the file VERSION, through the Makefile"
#endif
#define MAIN_PORT_MAX		65535

/* Which options a command takes. */
#define OPT_AUTHZ	0x01	/* --manual, --device, --port, --timeout */
#define OPT_JSON	0x02	/* --json */

/* What a command needs. */
#define NEED_CONFIG	0x01	/* the config, loaded and validated */
#define NEED_STATE	0x02	/* the sealing key and the daemon's user */
#define NEED_SOCKET	0x04	/* only the control socket's path */

/* One command: its name, whether it takes ACCOUNT, what it needs. */
struct command {
	const char	*name;
	int		 account;	/* takes an ACCOUNT argument */
	int		 needs;		/* NEED_* */
	int		 opts;		/* OPT_* it accepts */
};

static const struct command commands[] = {
	{ "run", 0, NEED_CONFIG, 0 },
	{ "check", 0, NEED_CONFIG | NEED_STATE, 0 },
	{ "hash-password", 0, 0, 0 },
	{ "authorize", 1, NEED_CONFIG | NEED_STATE, OPT_AUTHZ },
	{ "token", 1, NEED_CONFIG | NEED_STATE, 0 },
	{ "test", 1, NEED_CONFIG | NEED_STATE, 0 },
	{ "set-token", 1, NEED_CONFIG | NEED_STATE, 0 },
	{ "status", 0, NEED_SOCKET, OPT_JSON },
	{ "reload", 0, NEED_SOCKET, 0 },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* What the command line said. */
struct args {
	const char		*path;
	const struct command	*cmd;
	const char		*account;
	struct cli_authz	 authz;
	int			 json;
	int			 opts;		/* OPT_* given */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: authrelay [-c FILE] [command]\n"
	    "\n"
	    "  run                   run the gateway in the foreground (the "
	    "default)\n"
	    "  check                 validate the config and stored tokens\n"
	    "  hash-password         read a password on stdin, print its hash\n"
	    "  authorize ACCOUNT [--manual | --device] [--port N] "
	    "[--timeout N]\n"
	    "                        get the account's first tokens: open the "
	    "printed URL\n"
	    "                        (the redirect comes back to "
	    "http://127.0.0.1:PORT/);\n"
	    "                        --manual: paste the redirected URL "
	    "instead;\n"
	    "                        --device: device-code sign-in (Microsoft)"
	    "\n"
	    "  token ACCOUNT         refresh now; print the expiry and scope\n"
	    "  test ACCOUNT          log in to the provider (EHLO, AUTH "
	    "XOAUTH2, QUIT)\n"
	    "                        and print the transcript, token "
	    "withheld\n"
	    "  set-token ACCOUNT     read a refresh token on stdin, store it\n"
	    "  status [--json]       ask the running daemon how it is "
	    "(exit 0 healthy,\n"
	    "                        1 degraded, 2 not running)\n"
	    "  reload                make the running daemon re-read its "
	    "config (exit 0\n"
	    "                        applied, 1 refused, 2 not running)\n"
	    "\n"
	    "  -c FILE               config file (default %s)\n"
	    "  --port N              authorize: loopback port (default: any "
	    "free one)\n"
	    "  --timeout N           authorize: seconds to wait (default %d)\n"
	    "  --version, --help\n", CONFIG_DEFAULT_PATH, AUTHORIZE_TIMEOUT);
}

/* A decimal number in min..max from arg; -1 if it is not one. */
static long
number_arg(const char *opt, const char *arg, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    n < min || n > max) {
		fprintf(stderr, "authrelay: %s takes a number %ld..%ld\n", opt,
		    min, max);
		return -1;
	}
	return n;
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * One option at argv[*i] (moving *i past its value). Returns 0, 1 when the
 * program is done (--help, --version), or -1 on a usage error (said).
 */
static int
parse_option(int argc, char **argv, int *i, struct args *a)
{
	const char *o = argv[*i];
	long n;

	if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
		usage(stdout);
		return 1;
	}
	if (strcmp(o, "--version") == 0) {
		printf("authrelay %s\n", AUTHRELAY_VERSION);
		return 1;
	}
	if (strcmp(o, "--json") == 0) {
		a->json = 1;
		a->opts |= OPT_JSON;
		return 0;
	}
	if (strcmp(o, "--manual") == 0 || strcmp(o, "--device") == 0) {
		if (a->authz.mode != AUTHORIZE_LOOPBACK) {
			fprintf(stderr, "authrelay: --manual and --device "
			    "exclude each other\n");
			return -1;
		}
		a->authz.mode = o[2] == 'm' ? AUTHORIZE_MANUAL :
		    AUTHORIZE_DEVICE;
		a->opts |= OPT_AUTHZ;
		return 0;
	}
	if (*i + 1 >= argc) {
		usage(stderr);
		return -1;
	}
	if (strcmp(o, "-c") == 0) {
		a->path = argv[++*i];
		return 0;
	}
	if (strcmp(o, "--port") == 0) {
		if ((n = number_arg(o, argv[++*i], 1, MAIN_PORT_MAX)) == -1)
			return -1;
		a->authz.port = (int)n;
		a->opts |= OPT_AUTHZ;
		return 0;
	}
	if (strcmp(o, "--timeout") == 0) {
		if ((n = number_arg(o, argv[++*i], 1,
		    AUTHORIZE_TIMEOUT_MAX)) == -1)
			return -1;
		a->authz.timeout = n;
		a->opts |= OPT_AUTHZ;
		return 0;
	}
	usage(stderr);
	return -1;
}

/*
 * The command line into *a. Returns 0, 1 when the program is done, -1 on a
 * usage error (said).
 */
static int
parse_args(int argc, char **argv, struct args *a)
{
	const char *words[2] = { NULL, NULL };
	int i, nwords = 0, r;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			if ((r = parse_option(argc, argv, &i, a)) != 0)
				return r;
		} else if (nwords < 2)
			words[nwords++] = argv[i];
		else {
			usage(stderr);
			return -1;
		}
	}
	if ((a->cmd = find_command(words[0] != NULL ? words[0] :
	    "run")) == NULL) {
		fprintf(stderr, "authrelay: unknown command %s\n", words[0]);
		usage(stderr);
		return -1;
	}
	a->account = words[1];
	if (a->cmd->account != (a->account != NULL) ||
	    (a->opts & ~a->cmd->opts) != 0) {
		usage(stderr);
		return -1;
	}
	if (a->authz.mode == AUTHORIZE_DEVICE && a->authz.port != 0) {
		fprintf(stderr, "authrelay: --port means nothing with "
		    "--device\n");
		return -1;
	}
	return 0;
}

/* The commands that read the state directory, with key (or NULL). */
static int
dispatch_state(const struct args *a, const struct config *cfg,
    const unsigned char *key)
{
	const char *n = a->cmd->name;

	if (strcmp(n, "check") == 0)
		return cli_check(cfg, key);
	if (strcmp(n, "authorize") == 0)
		return cli_authorize(cfg, key, a->account, &a->authz);
	if (strcmp(n, "token") == 0)
		return cli_token(cfg, key, a->account);
	if (strcmp(n, "test") == 0)
		return cli_test(cfg, key, a->account);
	return cli_set_token(cfg, key, a->account);
}

static int
dispatch(const struct args *a, struct config *cfg)
{
	unsigned char key[STORE_KEY_LEN];
	const unsigned char *keyp;
	int r;

	/* The key as the daemon reads it (before it drops root), then the
	   daemon's user, so that what is written is the daemon's. */
	if (cli_seal_key(cfg, key, &keyp) == -1)
		return CLI_FAIL;
	r = cli_become(cfg) == -1 ? CLI_FAIL : dispatch_state(a, cfg, keyp);
	explicit_bzero(key, sizeof(key));
	return r;
}

/* status and reload: the daemon judges the file, not us. */
static int
control_command(const struct args *a)
{
	char sock[CONFIG_PATH_MAX];

	if (config_control_socket(a->path, sock, sizeof(sock)) == -1) {
		fprintf(stderr, "authrelay: cannot read %s: %s\n", a->path,
		    strerror(errno));
		return CLI_USAGE;
	}
	if (strcmp(a->cmd->name, "status") == 0)
		return cli_status(a->path, sock, a->json);
	return cli_reload(a->path, sock);
}

int
main(int argc, char **argv)
{
	struct args a = {
		.path = CONFIG_DEFAULT_PATH,
		.authz = { AUTHORIZE_LOOPBACK, 0, AUTHORIZE_TIMEOUT },
	};
	struct config *cfg;
	char *errors = NULL;
	int r;

	if ((r = parse_args(argc, argv, &a)) != 0)
		return r == 1 ? CLI_OK : CLI_USAGE;
	if (a.cmd->needs & NEED_SOCKET)
		return control_command(&a);
	if (!(a.cmd->needs & NEED_CONFIG))
		return cli_hash_password();
	if ((cfg = config_load(a.path, &errors)) == NULL) {
		fprintf(stderr, "%s", errors != NULL ? errors :
		    "authrelay: cannot load config\n");
		free(errors);
		/* status and reload: the daemon is not the one at fault. */
		return CLI_FAIL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* A peer that hung up must give EPIPE, not kill a command. */
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(a.cmd->name, "run") == 0)
		r = cli_run(cfg);	/* takes cfg: the first generation's */
	else {
		r = dispatch(&a, cfg);
		config_free(cfg);
	}
	curl_global_cleanup();
	return r;
}
