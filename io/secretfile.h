/*
 * secretfile: a file that holds a secret (the config with its client
 * secrets and password hashes, a TLS or client key, a service account
 * key) must not be open to others: not readable or writable by "other",
 * and readable by its group only when that is a group the daemon runs
 * with (root:authrelay 0640, Debian's ssl-cert 0640 for a daemon in that
 * group). The token files are held to 0600 by oauth/store.
 */
#ifndef IO_SECRETFILE_H
#define IO_SECRETFILE_H

#include <stddef.h>

/*
 * Check the file at path. Returns 0, or -1 with the reason and the
 * command that fixes it in err (a file that cannot be looked at is the
 * reader's to report, and passes here).
 */
int	secretfile_check(const char *path, char *err, size_t errsize);

#endif
