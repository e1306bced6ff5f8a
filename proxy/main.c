/*
 * main: the authrelay command line. Runs the daemon in the foreground, or
 * one of the administrative commands: check, hash-password, set-token,
 * authorize (first tokens for an account), token (refresh now).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#include "io/log.h"
#include "oauth/authorize.h"
#include "oauth/oauth.h"
#include "oauth/store.h"
#include "proxy/auth.h"
#include "proxy/config.h"
#include "proxy/probe.h"
#include "proxy/server.h"

#define AUTHRELAY_VERSION	"0.1.0"
/* Longest secret read from stdin (a password or a refresh token). */
#define SECRET_INPUT_MAX	8192
/* Longest reason printed for a failed command. */
#define MAIN_ERR_MAX		512
/* Longest time printed, "2025-01-31 23:59:59 UTC". */
#define MAIN_TIME_MAX		64
#define MAIN_PORT_MAX		65535

/* Options of the authorize command. */
struct authz_opts {
	enum authorize_mode	 mode;
	int			 port;		/* 0: ephemeral */
	long			 timeout;
	int			 given;		/* any of them on the line */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: authrelay [-c FILE] [command]\n"
	    "\n"
	    "  (no command)          run the gateway in the foreground\n"
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
	    "\n"
	    "  -c FILE               config file (default %s)\n"
	    "  --port N              authorize: loopback port (default: any "
	    "free one)\n"
	    "  --timeout N           authorize: seconds to wait (default %d)\n"
	    "  --version, --help\n", CONFIG_DEFAULT_PATH, AUTHORIZE_TIMEOUT);
}

/*
 * The sealing key from token_key_file into key, and *keyp pointing at it;
 * *keyp NULL when no key file is configured. -1 after saying why.
 */
static int
load_seal_key(const struct config *cfg, unsigned char key[STORE_KEY_LEN],
    const unsigned char **keyp)
{
	char err[MAIN_ERR_MAX];

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

static const char *
grant_name(enum oauth_grant g)
{
	switch (g) {
	case OAUTH_GRANT_CLIENT_CREDENTIALS:
		return "client_credentials";
	case OAUTH_GRANT_SERVICE_ACCOUNT:
		return "service_account";
	default:
		return "refresh_token";
	}
}

/* t as "2025-01-31 23:59:59 UTC". */
static void
format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

static struct cfg_account *
find_account(const struct config *cfg, const char *name)
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
	char tok[SECRET_INPUT_MAX], err[MAIN_ERR_MAX];
	unsigned char key[STORE_KEY_LEN];
	const unsigned char *keyp;
	struct stored_token t = { 0 };
	int r;

	if (find_account(cfg, account) == NULL ||
	    load_seal_key(cfg, key, &keyp) == -1)
		return 1;
	if (read_secret("Refresh token: ", tok, sizeof(tok)) == -1) {
		explicit_bzero(key, sizeof(key));
		return 1;
	}
	t.refresh_token = tok;
	r = store_write(cfg->state_dir, keyp, account, &t, err, sizeof(err));
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(key, sizeof(key));
	if (r == -1) {
		fprintf(stderr, "authrelay: cannot store token for %s: %s\n",
		    account, err);
		return 1;
	}
	printf("stored refresh token for account %s in %s\n", account,
	    cfg->state_dir);
	return 0;
}

/* A file an account names must be readable by us. */
static int
check_readable(const struct config *cfg, const struct cfg_account *a,
    const char *key, const char *path)
{
	if (path == NULL || access(path, R_OK) == 0)
		return 0;
	fprintf(stderr, "%s:%d: [account %s] %s: cannot read %s: %s\n",
	    cfg->path, a->line, a->name, key, path, strerror(errno));
	return -1;
}

/*
 * Every refresh_token account needs a stored token; the other grants need
 * their key files. Say which are missing.
 */
static int
cmd_check(const struct config *cfg)
{
	unsigned char key[STORE_KEY_LEN];
	const unsigned char *keyp;
	struct oauth_account_cfg oc;
	struct oauth_opts oo;
	char err[MAIN_ERR_MAX];
	size_t i;
	int bad = 0;

	if (load_seal_key(cfg, key, &keyp) == -1)
		return 1;
	config_oauth_opts(cfg, keyp, &oo);
	if (oauth_check(&oo, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", cfg->path, err);
		bad = 1;
	}
	for (i = 0; i < cfg->naccounts; i++) {
		const struct cfg_account *a = &cfg->accounts[i];

		if (a->grant != OAUTH_GRANT_REFRESH_TOKEN &&
		    (check_readable(cfg, a, "client_certificate",
		    a->client_certificate) == -1 ||
		    check_readable(cfg, a, "client_key", a->client_key) == -1 ||
		    check_readable(cfg, a, "service_account_file",
		    a->service_account_file) == -1)) {
			bad = 1;
			continue;
		}
		/* What the daemon will need for this account, no request. */
		config_oauth_account(a, &oc);
		if (oauth_account_check(&oo, &oc, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s:%d: [account %s]: %s\n", cfg->path,
			    a->line, a->name, err);
			bad = 1;
		}
	}
	explicit_bzero(key, sizeof(key));
	if (bad)
		return 1;
	printf("%s: ok (%zu listeners, %zu accounts, %zu users)\n",
	    cfg->path, cfg->nlistens, cfg->naccounts, cfg->nusers);
	return 0;
}

/* Get an account's first tokens in the way ao says. */
static int
cmd_authorize(const struct config *cfg, const char *account,
    const struct authz_opts *ao)
{
	struct authorize_cfg ac;
	const struct cfg_account *a;
	unsigned char key[STORE_KEY_LEN];
	const unsigned char *keyp;
	char err[MAIN_ERR_MAX];
	int r;

	if ((a = find_account(cfg, account)) == NULL)
		return 1;
	if (a->grant != OAUTH_GRANT_REFRESH_TOKEN) {
		printf("account %s uses grant = %s: it needs no authorization "
		    "and no stored token.\nTo check that it gets tokens, run: "
		    "authrelay -c %s token %s\n", a->name,
		    grant_name(a->grant), cfg->path, a->name);
		return 0;
	}
	if (load_seal_key(cfg, key, &keyp) == -1)
		return 1;
	memset(&ac, 0, sizeof(ac));
	ac.account = a->name;
	ac.email = a->email;
	ac.auth_url = a->auth_url;
	ac.token_url = a->token_url;
	ac.device_url = a->device_url;
	ac.client_id = a->client_id;
	ac.client_secret = a->client_secret;
	ac.scope = a->scope;
	ac.ca_file = a->provider->ca_file;
	ac.offline_params = a->provider->offline_params;
	ac.state_dir = cfg->state_dir;
	ac.seal_key = keyp;
	ac.mode = ao->mode;
	ac.port = ao->port;
	ac.timeout = ao->timeout;
	r = authorize_run(&ac, stdin, stdout, err, sizeof(err));
	explicit_bzero(key, sizeof(key));
	if (r == -1) {
		fprintf(stderr, "authrelay: authorize %s: %s\n", a->name, err);
		return 1;
	}
	return 0;
}

/* What a refresh for the token command ended with. */
struct token_result {
	int	done;
	int	ok;
	char	reason[MAIN_ERR_MAX];
};

static void
token_cb(void *arg, const char *token, const char *reason)
{
	struct token_result *tr = arg;

	tr->done = 1;
	tr->ok = token != NULL;
	if (token == NULL)
		snprintf(tr->reason, sizeof(tr->reason), "%s",
		    reason != NULL ? reason : "unknown failure");
}

/*
 * Refresh account's access token now, set up as the daemon would, and
 * print its expiry and scope (never the token).
 */
static int
cmd_token(const struct config *cfg, const char *account)
{
	struct token_result tr = { 0 };
	struct cfg_account *a;
	struct oauth_account_cfg oc;
	struct oauth_opts oo;
	struct ev_loop *loop = NULL;
	struct oauth *o = NULL;
	struct oauth_account *acct;
	struct oauth_wait *wait;
	unsigned char key[STORE_KEY_LEN];
	const unsigned char *keyp;
	const char *scope = NULL;
	char when[MAIN_TIME_MAX];
	time_t expires = 0;
	int r = 1;

	if ((a = find_account(cfg, account)) == NULL ||
	    load_seal_key(cfg, key, &keyp) == -1)
		return 1;
	log_set_level((enum log_level)cfg->log_level);
	config_oauth_opts(cfg, keyp, &oo);
	config_oauth_account(a, &oc);
	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL ||
	    (o = oauth_new(loop, &oo)) == NULL ||
	    (acct = oauth_account_add(o, &oc)) == NULL) {
		fprintf(stderr, "authrelay: token %s: cannot set up token "
		    "handling\n", a->name);
		goto done;
	}
	if (oauth_token_refresh(acct, token_cb, &tr, &wait) == -1) {
		fprintf(stderr, "authrelay: token %s: cannot start a refresh\n",
		    a->name);
		goto done;
	}
	while (!tr.done)
		if (!ev_run(loop, EVRUN_ONCE) && !tr.done) {
			snprintf(tr.reason, sizeof(tr.reason),
			    "the refresh never finished");
			break;
		}
	if (!tr.ok) {
		if (!tr.done)
			oauth_wait_cancel(wait);
		fprintf(stderr, "authrelay: token %s: %s\n", a->name,
		    tr.reason);
		goto done;
	}
	oauth_token_info(acct, &expires, &scope);
	format_time(expires, when, sizeof(when));
	printf("account %s: access token refreshed (grant = %s)\n", a->name,
	    grant_name(a->grant));
	printf("  expires: %s (in %lld s)\n", when,
	    (long long)(expires - time(NULL)));
	printf("  scope:   %s\n", scope != NULL ? scope : "(not given)");
	r = 0;
done:
	if (o != NULL)
		oauth_free(o);
	if (loop != NULL)
		ev_loop_destroy(loop);
	explicit_bzero(key, sizeof(key));
	return r;
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

/* `test ACCOUNT`: one provider login, transcript printed. */
static int
cmd_test(const struct config *cfg, const char *account)
{
	unsigned char key[STORE_KEY_LEN];
	const unsigned char *keyp;
	int r;

	if (find_account(cfg, account) == NULL ||
	    load_seal_key(cfg, key, &keyp) == -1)
		return 1;
	log_set_level((enum log_level)cfg->log_level);
	r = probe_account(cfg, keyp, account);
	explicit_bzero(key, sizeof(key));
	return r;
}

/* Does cmd take an ACCOUNT argument? */
static int
takes_account(const char *cmd)
{
	return strcmp(cmd, "set-token") == 0 ||
	    strcmp(cmd, "authorize") == 0 || strcmp(cmd, "token") == 0 ||
	    strcmp(cmd, "test") == 0;
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH, *cmd = NULL, *arg = NULL;
	struct authz_opts ao = { AUTHORIZE_LOOPBACK, 0, AUTHORIZE_TIMEOUT,
	    0 };
	struct config *cfg;
	char *errors = NULL;
	long n;
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
		else if (strcmp(argv[i], "--manual") == 0 ||
		    strcmp(argv[i], "--device") == 0) {
			if (ao.mode != AUTHORIZE_LOOPBACK) {
				fprintf(stderr, "authrelay: --manual and "
				    "--device exclude each other\n");
				return 2;
			}
			ao.mode = argv[i][2] == 'm' ? AUTHORIZE_MANUAL :
			    AUTHORIZE_DEVICE;
			ao.given = 1;
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			if ((n = number_arg("--port", argv[++i], 1,
			    MAIN_PORT_MAX)) == -1)
				return 2;
			ao.port = (int)n;
			ao.given = 1;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			if ((n = number_arg("--timeout", argv[++i], 1,
			    AUTHORIZE_TIMEOUT_MAX)) == -1)
				return 2;
			ao.timeout = n;
			ao.given = 1;
		} else if (argv[i][0] == '-') {
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
	if (cmd != NULL && strcmp(cmd, "hash-password") == 0 && arg == NULL &&
	    !ao.given)
		return cmd_hash_password();
	if (cmd != NULL && strcmp(cmd, "check") != 0 && !takes_account(cmd)) {
		fprintf(stderr, "authrelay: unknown command %s\n", cmd);
		usage(stderr);
		return 2;
	}
	if ((cmd != NULL && takes_account(cmd)) != (arg != NULL) ||
	    (ao.given && (cmd == NULL || strcmp(cmd, "authorize") != 0))) {
		usage(stderr);
		return 2;
	}
	if (ao.mode == AUTHORIZE_DEVICE && ao.port != 0) {
		fprintf(stderr, "authrelay: --port means nothing with "
		    "--device\n");
		return 2;
	}
	if ((cfg = config_load(path, &errors)) == NULL) {
		fprintf(stderr, "%s", errors != NULL ? errors :
		    "authrelay: cannot load config\n");
		free(errors);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* A peer that hung up must give EPIPE, not kill a command. */
	signal(SIGPIPE, SIG_IGN);
	if (cmd == NULL)
		r = cmd_run(cfg);
	else if (strcmp(cmd, "check") == 0)
		r = cmd_check(cfg);
	else if (strcmp(cmd, "authorize") == 0)
		r = cmd_authorize(cfg, arg, &ao);
	else if (strcmp(cmd, "token") == 0)
		r = cmd_token(cfg, arg);
	else if (strcmp(cmd, "test") == 0)
		r = cmd_test(cfg, arg);
	else
		r = cmd_set_token(cfg, arg);
	config_free(cfg);
	curl_global_cleanup();
	return r;
}
