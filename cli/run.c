/*
 * run: the daemon, in the foreground (systemd, or a terminal).
 */
#include <stdio.h>
#include <stdlib.h>

#include <ev.h>

#include "cli/cli.h"
#include "io/log.h"
#include "proxy/server.h"

int
cli_run(struct config *cfg)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct server srv;
	int r = CLI_FAIL;

	if (loop == NULL) {
		fprintf(stderr, "authrelay: cannot start the event loop\n");
		config_free(cfg);
		return CLI_FAIL;
	}
	log_set_level((enum log_level)cfg->log_level);
	/* journald stamps lines itself. */
	log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);
	/* The server takes cfg: it becomes the first generation's. */
	if (server_init(&srv, loop, cfg) == 0) {
		log_info(0, "authrelay %s started", AUTHRELAY_VERSION);
		server_run(&srv);
		r = CLI_OK;
	}
	server_free(&srv);
	ev_loop_destroy(loop);
	return r;
}
