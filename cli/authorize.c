/*
 * authorize: an account's first tokens (authorization code with PKCE on a
 * loopback redirect, the manual variant, or the device flow).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "oauth/grant.h"

int
cli_authorize(const struct config *cfg, const unsigned char *keyp,
    const char *account, const struct cli_authz *ao)
{
	struct authorize_cfg ac;
	const struct cfg_account *a;
	char err[CLI_ERR_MAX];
	int r;

	if ((a = cli_account(cfg, account)) == NULL)
		return CLI_FAIL;
	if (a->grant != OAUTH_GRANT_REFRESH_TOKEN) {
		printf("account %s uses grant = %s: it needs no authorization "
		    "and no stored token.\nTo check that it gets tokens, run: "
		    "authrelay -c %s token %s\n", a->name,
		    grant_name(a->grant), cfg->path, a->name);
		return CLI_OK;
	}
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
	if (r == -1) {
		fprintf(stderr, "authrelay: authorize %s: %s\n", a->name, err);
		return CLI_FAIL;
	}
	return CLI_OK;
}
