/*
 * secretfile: secret files closed to others. See secretfile.h.
 */
#include <sys/stat.h>

#include <grp.h>
#include <stdio.h>
#include <unistd.h>

#include "io/errf.h"
#include "io/secretfile.h"

/* Supplementary groups looked at. */
#define SECRETFILE_GROUPS_MAX	256

/* Is gid one of the groups we run with? */
static int
our_group(gid_t gid)
{
	gid_t groups[SECRETFILE_GROUPS_MAX];
	int n, i;

	if (gid == getegid())
		return 1;
	if ((n = getgroups(SECRETFILE_GROUPS_MAX, groups)) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/*
 * Check the file at path. Returns 0, or -1 with the reason and the
 * command that fixes it in err (a file that cannot be looked at is the
 * reader's to report, and passes here).
 */
int
secretfile_check(const char *path, char *err, size_t errsize)
{
	const struct group *gr;
	struct stat sb;

	if (path == NULL || stat(path, &sb) == -1)
		return 0;
	if (sb.st_mode & (S_IROTH | S_IWOTH)) {
		errf(err, errsize, "%s holds secrets and is open to others "
		    "(mode %04o): run chmod o-rwx %s", path,
		    (unsigned)(sb.st_mode & 07777), path);
		return -1;
	}
	if ((sb.st_mode & (S_IRGRP | S_IWGRP)) && !our_group(sb.st_gid)) {
		gr = getgrgid(sb.st_gid);
		errf(err, errsize, "%s holds secrets and is open to group %s, "
		    "which authrelay does not run with (mode %04o): run chmod "
		    "g-rw %s", path, gr != NULL ? gr->gr_name : "?",
		    (unsigned)(sb.st_mode & 07777), path);
		return -1;
	}
	return 0;
}
