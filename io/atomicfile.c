/*
 * atomicfile: crash-safe file replacement. See atomicfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomicfile.h"
#include "io/errf.h"

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace dir/name with the len bytes at buf, mode mode. Returns 0, or -1
 * with a reason in err (the old file is then untouched), errno kept.
 * One exception: when only the directory's fsync failed, -1 says the new
 * file may not survive a crash, though it is in place.
 */
int
atomicfile_write(const char *dir, const char *name, const void *buf,
    size_t len, mode_t mode, char *err, size_t errsize)
{
	char path[ATOMICFILE_PATH_MAX], tmp[ATOMICFILE_PATH_MAX];
	int fd = -1, dfd = -1, n, saved;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    (n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name)) < 0 ||
	    (size_t)n >= sizeof(tmp)) {
		errf(err, errsize, "path too long in %s", dir);
		errno = ENAMETOOLONG;
		return -1;
	}
	/* mkostemp: O_CREAT | O_EXCL, mode 0600 until fchmod. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		errf(err, errsize, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) == -1 || write_all(fd, buf, len) == -1 ||
	    fsync(fd) == -1) {
		errf(err, errsize, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	n = close(fd);
	fd = -1;
	if (n == -1) {
		errf(err, errsize, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		errf(err, errsize, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto fail;
	}
	tmp[0] = '\0';
	/* The rename is durable only once the directory is on disk. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		errf(err, errsize, "cannot fsync directory %s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	close(dfd);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (tmp[0] != '\0')
		unlink(tmp);
	errno = saved;
	return -1;
}
