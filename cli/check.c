/*
 * check: validate what the daemon needs beyond the config file itself
 * (which main has loaded and validated): the certificate and key, the
 * state directory, every refresh_token account's stored token, the other
 * grants' key files; all as the daemon's user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/conn.h"
#include "proxy/runtime.h"
#include "proxy/server.h"

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

/* The certificate and key, as the daemon loads them (as its user, as we
   now run), and each listener's TLS settings with them. */
static int
check_tls(const struct config *cfg)
{
	char err[CLI_ERR_MAX], *errors = NULL;
	SSL_CTX *ctx;
	size_t i;

	if (runtime_check_secrets(cfg, &errors) == -1 ||
	    runtime_check_tls(cfg, &errors) == -1) {
		fprintf(stderr, "%s", errors != NULL ? errors :
		    "authrelay: out of memory\n");
		free(errors);
		return -1;
	}
	for (i = 0; i < cfg->nlistens; i++) {
		const struct cfg_listen *cl = &cfg->listens[i];

		if (cl->mode == LISTEN_PLAIN)
			continue;
		if ((ctx = conn_tls_server_ctx(cfg->tls_cert, cfg->tls_key,
		    cl->tls_min_version, cl->ciphers, err, sizeof(err))) ==
		    NULL) {
			fprintf(stderr, "%s:%d: listener %s: %s\n", cfg->path,
			    cl->line, cl->name != NULL ? cl->name : cl->text,
			    err);
			return -1;
		}
		SSL_CTX_free(ctx);
	}
	return 0;
}

/* The name of a weak crypt(3) method hash uses; NULL if it is not one. */
static const char *
weak_method(const char *hash)
{
	if (strncmp(hash, "$1$", 3) == 0)
		return "MD5-crypt ($1$)";
	if (strncmp(hash, "$3$", 3) == 0)
		return "NT hash ($3$)";
	if (hash[0] == '_')
		return "BSDi extended DES (_)";
	if (hash[0] != '$')
		return "traditional DES";
	return NULL;
}

/* Say which users' hashes use a weak method (a warning, not an error). */
static void
check_hashes(const struct config *cfg)
{
	const char *m;
	size_t i;

	for (i = 0; i < cfg->nusers; i++) {
		const struct cfg_user *u = &cfg->users[i];

		if (u->password_hash == NULL ||
		    (m = weak_method(u->password_hash)) == NULL)
			continue;
		fprintf(stderr, "%s:%d: [user %s] password_hash: warning: "
		    "%s is weak and fast to guess: make a new one with "
		    "authrelay hash-password (yescrypt)\n", cfg->path, u->line,
		    u->name, m);
	}
}

int
cli_check(const struct config *cfg, const unsigned char *keyp)
{
	struct oauth_account_cfg oc;
	struct oauth_opts oo;
	char err[CLI_ERR_MAX];
	long fds, need;
	size_t i;
	int bad = 0;

	if (check_tls(cfg) == -1)
		bad = 1;
	check_hashes(cfg);
	if ((fds = server_fd_limit(cfg->max_connections, &need)) != -1 &&
	    fds < need)
		fprintf(stderr, "%s:%d: [server] max_connections: warning: "
		    "%ld sessions may need %ld open descriptors, the limit "
		    "here is %ld (raise it: LimitNOFILE= in the unit, ulimit "
		    "-n)\n", cfg->path, config_server_line(cfg,
		    "max_connections"), cfg->max_connections, need, fds);
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
	if (bad)
		return CLI_FAIL;
	printf("%s: ok (%zu listeners, %zu accounts, %zu users)\n",
	    cfg->path, cfg->nlistens, cfg->naccounts, cfg->nusers);
	return CLI_OK;
}
