/*
 * secret: the commands that read a secret on stdin: hash-password (a
 * device's password -> its yescrypt hash for password_hash) and set-token
 * (an account's refresh token -> its token file).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "proxy/auth.h"

int
cli_hash_password(void)
{
	char pw[CLI_SECRET_MAX], hash[AUTH_HASH_MAX];
	int r;

	if (cli_read_secret("Password: ", pw, sizeof(pw)) == -1)
		return CLI_FAIL;
	r = auth_hash_password(pw, "$y$", hash, sizeof(hash));
	explicit_bzero(pw, sizeof(pw));
	if (r == -1) {
		fprintf(stderr, "authrelay: crypt(3) failed\n");
		return CLI_FAIL;
	}
	printf("%s\n", hash);
	return CLI_OK;
}

int
cli_set_token(const struct config *cfg, const unsigned char *key,
    const char *account)
{
	char tok[CLI_SECRET_MAX], err[CLI_ERR_MAX];
	struct stored_token t = { 0 };
	int r;

	if (cli_account(cfg, account) == NULL)
		return CLI_FAIL;
	if (cli_read_secret("Refresh token: ", tok, sizeof(tok)) == -1)
		return CLI_FAIL;
	t.refresh_token = tok;
	r = store_write(cfg->state_dir, key, account, &t, err, sizeof(err));
	explicit_bzero(tok, sizeof(tok));
	if (r == -1) {
		fprintf(stderr, "authrelay: cannot store token for %s: %s\n",
		    account, err);
		return CLI_FAIL;
	}
	printf("stored refresh token for account %s in %s\n", account,
	    cfg->state_dir);
	return CLI_OK;
}
