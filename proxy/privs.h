/*
 * privs: who the daemon runs as. Started as root it must be told a user
 * ([server] user; "root" runs as root, with a warning) and drops to it,
 * with its group, for good once its sockets are open. Started as another
 * user it runs as that user, which user (and group), if given, must name.
 */
#ifndef PROXY_PRIVS_H
#define PROXY_PRIVS_H

#include <sys/types.h>

#include "proxy/config.h"

/* Limits. */
#define PRIVS_NAME_MAX	64	/* a user or group name, for messages */

struct privs {
	int	 drop;		/* switch to uid:gid */
	uid_t	 uid;		/* who we run as, after privs_drop */
	gid_t	 gid;
	char	 user[PRIVS_NAME_MAX];
};

/*
 * Decide from cfg and who we are now. Returns 0, or -1 with the reason in
 * err ("PATH: [server] user: ...").
 */
int	privs_resolve(const struct config *cfg, struct privs *, char *err,
	    size_t errsize);
/*
 * With p->drop: setgroups to p->gid alone, setgid, setuid, and check that
 * root cannot be regained. Otherwise nothing. Returns 0, or -1 with the
 * reason in err.
 */
int	privs_drop(const struct privs *p, char *err, size_t errsize);

#endif
