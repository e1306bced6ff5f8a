/*
 * atomicfile: replacing a file so that a crash leaves either the old one
 * or the new one, whole, never half: a temporary file in the same
 * directory (O_EXCL, the final mode from the start), written, fsync'd,
 * renamed over the old one, and the directory fsync'd so the rename is
 * durable. Blocking: call it from a worker (io/workq), or where blocking
 * is allowed.
 */
#ifndef IO_ATOMICFILE_H
#define IO_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Longest path handled. */
#define ATOMICFILE_PATH_MAX	4096

/*
 * Replace dir/name with the len bytes at buf, mode mode. Returns 0, or -1
 * with a reason in err (the old file is then untouched), errno kept.
 * One exception: when only the directory's fsync failed, -1 says the new
 * file may not survive a crash, though it is in place.
 */
int	atomicfile_write(const char *dir, const char *name, const void *buf,
	    size_t len, mode_t mode, char *err, size_t errsize);

#endif
