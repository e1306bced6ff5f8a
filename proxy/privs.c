/*
 * privs: dropping root. See privs.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/log.h"
#include "proxy/privs.h"

/*
 * Decide from cfg and who we are now. Returns 0, or -1 with the reason in
 * err ("PATH: [server] user: ...").
 */
int
privs_resolve(const struct config *cfg, struct privs *p, char *err,
    size_t errsize)
{
	const struct passwd *pw;
	const struct group *gr;

	memset(p, 0, sizeof(*p));
	p->uid = geteuid();
	p->gid = getegid();
	if (cfg->user == NULL) {
		if (p->uid != 0)
			return 0;
		snprintf(err, errsize, "%s: [server] user: missing: started as "
		    "root, authrelay needs a user to run as once its sockets "
		    "are open (user = root keeps root, not advised)",
		    cfg->path);
		return -1;
	}
	if ((pw = getpwnam(cfg->user)) == NULL) {
		snprintf(err, errsize, "%s: [server] user: no user %s on this "
		    "system", cfg->path, cfg->user);
		return -1;
	}
	snprintf(p->user, sizeof(p->user), "%s", cfg->user);
	p->gid = pw->pw_gid;
	if (cfg->group != NULL) {
		if ((gr = getgrnam(cfg->group)) == NULL) {
			snprintf(err, errsize, "%s: [server] group: no group %s "
			    "on this system", cfg->path, cfg->group);
			return -1;
		}
		p->gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid != geteuid() || p->gid != getegid()) {
			snprintf(err, errsize, "%s: [server] user: authrelay "
			    "runs as uid %lu gid %lu, not as root, and cannot "
			    "become %s: start it as root or as that user",
			    cfg->path, (unsigned long)geteuid(),
			    (unsigned long)getegid(), cfg->user);
			return -1;
		}
		return 0;
	}
	p->uid = pw->pw_uid;
	p->drop = p->uid != 0;
	return 0;
}

/*
 * With p->drop: setgroups to p->gid alone, setgid, setuid, and check that
 * root cannot be regained. Otherwise nothing. Returns 0, or -1 with the
 * reason in err.
 */
int
privs_drop(const struct privs *p, char *err, size_t errsize)
{
	if (!p->drop) {
		if (geteuid() == 0)
			log_warn(0, "running as root (user = root): a flaw in "
			    "authrelay would give away the whole machine");
		return 0;
	}
	if (setgroups(1, &p->gid) == -1 || setgid(p->gid) == -1 ||
	    setuid(p->uid) == -1) {
		snprintf(err, errsize, "cannot become user %s: %s", p->user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 || geteuid() == 0 || getuid() == 0 ||
	    getegid() != p->gid) {
		snprintf(err, errsize, "dropped to user %s, but root could "
		    "be regained: refusing to run", p->user);
		return -1;
	}
	log_info(0, "running as user=%s uid=%lu gid=%lu", p->user,
	    (unsigned long)p->uid, (unsigned long)p->gid);
	return 0;
}
