/*
 * token: refresh an account's access token now, set up as the daemon would
 * do it, and print its expiry and scope (never the token).
 */
#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "cli/cli.h"
#include "oauth/grant.h"
#include "io/log.h"

/* What a refresh ended with. */
struct token_result {
	int	done;
	int	ok;
	char	reason[CLI_ERR_MAX];
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

int
cli_token(const struct config *cfg, const unsigned char *keyp,
    const char *account)
{
	struct token_result tr = { 0 };
	struct cfg_account *a;
	struct oauth_account_cfg oc;
	struct oauth_opts oo;
	struct ev_loop *loop = NULL;
	struct oauth *o = NULL;
	struct oauth_account *acct;
	struct oauth_wait *wait;
	const char *scope = NULL;
	char when[CLI_TIME_MAX];
	time_t expires = 0;
	int r = CLI_FAIL;

	if ((a = cli_account(cfg, account)) == NULL)
		return CLI_FAIL;
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
	cli_format_time(expires, when, sizeof(when));
	printf("account %s: access token refreshed (grant = %s)\n", a->name,
	    grant_name(a->grant));
	printf("  expires: %s (in %lld s)\n", when,
	    (long long)(expires - time(NULL)));
	printf("  scope:   %s\n", scope != NULL ? scope : "(not given)");
	r = CLI_OK;
done:
	if (o != NULL)
		oauth_free(o);
	if (loop != NULL)
		ev_loop_destroy(loop);
	return r;
}
