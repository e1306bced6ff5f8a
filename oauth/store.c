/*
 * store: one JSON token file per account in the state directory, written
 * atomically and durably, sealed when a key is given, read without
 * following links and only when no one else could have read or written it.
 * See store.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "io/atomicfile.h"
#include "io/errf.h"
#include "oauth/oauth.h"
#include "oauth/seal.h"
#include "oauth/store.h"
#include "oauth/wipe.h"

/* Longest path of a token file or its temporary. */
#define STORE_PATH_MAX		4096
/* Longest account name (it is a file name). */
#define STORE_ACCOUNT_MAX	200
/* Version written into, and accepted from, the file. */
#define STORE_VERSION		1
/* Longest token or scope taken from the file. */
#define STORE_TOKEN_MAX		OAUTH_TOKEN_MAX
/* Mode of a token file. */
#define STORE_MODE		0600
/* Bits a token file and the state directory must not have. */
#define STORE_MODE_OTHERS	077
/* Bits a key file must not have: 0600 or stricter. */
#define STORE_KEY_MODE_BAD	0177
/* Longest user name put in a "chown" hint. */
#define STORE_USER_MAX		64
/* Suffix of the temporary, for mkostemp. */


_Static_assert(STORE_KEY_LEN == SEAL_KEY_LEN, "store and seal key sizes");

/* Our user's name (or uid) for a "chown" hint. */
static void
st_user(char *buf, size_t size)
{
	struct passwd *pw;

	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name != NULL)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%lu", (unsigned long)geteuid());
}

/*
 * sb (of path, called what in messages) must be owned by us and have none
 * of the bad mode bits. Returns 0, or -1 with a reason that says what to
 * run: "chown USER PATH" or "chmod MODE PATH" (fix, e.g. "600").
 */
static int
st_owner_mode(const struct stat *sb, const char *what, const char *path,
    mode_t bad, const char *fix, char *err, size_t errsize)
{
	char user[STORE_USER_MAX];

	if (sb->st_uid != geteuid()) {
		st_user(user, sizeof(user));
		errf(err, errsize, "%s %s is owned by uid %lu, not by %s "
		    "(run: chown %s %s)", what, path,
		    (unsigned long)sb->st_uid, user, user, path);
		return -1;
	}
	if ((sb->st_mode & bad) != 0) {
		errf(err, errsize, "%s %s has mode %04o: open to others "
		    "(run: chmod %s %s)", what, path,
		    (unsigned)(sb->st_mode & 07777), fix, path);
		return -1;
	}
	return 0;
}

static int
st_account_ok(const char *account)
{
	size_t len;

	if (account == NULL || (len = strlen(account)) == 0 ||
	    len > STORE_ACCOUNT_MAX || account[0] == '.' ||
	    strchr(account, '/') != NULL)
		return 0;
	for (; *account != '\0'; account++)
		if ((unsigned char)*account < 0x20 || *account == 0x7f)
			return 0;
	return 1;
}

/*
 * Path of the account's token file into buf. Returns 0, or -1 if it does
 * not fit or the account name holds '/' or starts with '.'.
 */
int
store_path(const char *dir, const char *account, char *buf, size_t size)
{
	int n;

	if (dir == NULL || dir[0] == '\0' || !st_account_ok(account))
		return -1;
	n = snprintf(buf, size, "%s/%s.json", dir, account);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return 0;
}

/* Copy the string member key of o into *dst (NULL if absent). */
static int
st_string(json_t *o, const char *key, char **dst, char *err, size_t errsize)
{
	json_t *v;

	*dst = NULL;
	if ((v = json_object_get(o, key)) == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > STORE_TOKEN_MAX) {
		errf(err, errsize, "%s is not a string of at most %d bytes",
		    key, STORE_TOKEN_MAX);
		return -1;
	}
	if ((*dst = strdup(json_string_value(v))) == NULL) {
		errf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

/* Read all of fd (at most STORE_FILE_MAX bytes) into buf. */
static ssize_t
st_read_all(int fd, char *buf, size_t size)
{
	size_t off = 0;
	ssize_t n;

	while (off < size) {
		n = read(fd, buf + off, size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

static int
st_parse(const char *buf, size_t len, struct stored_token *t, char *err,
    size_t errsize)
{
	json_error_t jerr;
	json_t *o, *v;

	/* Only the position: jansson's text would quote the file. */
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		errf(err, errsize, "not valid JSON (line %d column %d)",
		    jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(o)) {
		errf(err, errsize, "not a JSON object");
		goto fail;
	}
	if ((v = json_object_get(o, "version")) != NULL &&
	    (!json_is_integer(v) || json_integer_value(v) != STORE_VERSION)) {
		errf(err, errsize, "unknown version");
		goto fail;
	}
	if (st_string(o, "refresh_token", &t->refresh_token, err,
	    errsize) == -1 ||
	    st_string(o, "access_token", &t->access_token, err,
	    errsize) == -1 ||
	    st_string(o, "scope", &t->scope, err, errsize) == -1)
		goto fail;
	if (t->refresh_token == NULL || t->refresh_token[0] == '\0') {
		errf(err, errsize, "no refresh_token in it");
		goto fail;
	}
	if ((v = json_object_get(o, "expires_at")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			errf(err, errsize, "expires_at is not a time");
			goto fail;
		}
		t->expires_at = (time_t)json_integer_value(v);
	}
	if (t->access_token == NULL)
		t->expires_at = 0;
	if ((v = json_object_get(o, "refresh_token_at")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			errf(err, errsize, "refresh_token_at is not a time");
			goto fail;
		}
		t->refresh_at = (time_t)json_integer_value(v);
	}
	json_decref(o);
	return 0;
fail:
	json_decref(o);
	store_token_clear(t);
	return -1;
}

/*
 * Open path (a token file) and read all of it into a new buffer of
 * STORE_FILE_MAX + 1 bytes (a secret: the caller wipes it). The file must
 * be a regular file, ours, closed to others, not a link.
 */
static char *
st_load(const char *path, const char *account, ssize_t *lenp, char *err,
    size_t errsize)
{
	struct stat sb;
	char *buf = NULL;
	ssize_t len;
	int fd;

	/* O_NONBLOCK: a FIFO planted there must not hang the daemon. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			errf(err, errsize, "no refresh token stored for "
			    "account %s", account);
		else
			errf(err, errsize, "cannot open %s: %s", path,
			    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1) {
		errf(err, errsize, "cannot stat %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		errf(err, errsize, "%s is not a regular file", path);
		goto fail;
	}
	if (st_owner_mode(&sb, "token file", path, STORE_MODE_OTHERS, "600",
	    err, errsize) == -1)
		goto fail;
	if (sb.st_size > STORE_FILE_MAX) {
		errf(err, errsize, "%s is larger than %d bytes", path,
		    STORE_FILE_MAX);
		goto fail;
	}
	/* One byte more than allowed, to see a file that grew since fstat. */
	if ((buf = malloc(STORE_FILE_MAX + 1)) == NULL) {
		errf(err, errsize, "out of memory");
		goto fail;
	}
	if ((len = st_read_all(fd, buf, STORE_FILE_MAX + 1)) == -1) {
		errf(err, errsize, "cannot read %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (len > STORE_FILE_MAX) {
		errf(err, errsize, "%s is larger than %d bytes", path,
		    STORE_FILE_MAX);
		goto fail;
	}
	close(fd);
	*lenp = len;
	return buf;
fail:
	if (buf != NULL) {
		explicit_bzero(buf, STORE_FILE_MAX + 1);
		free(buf);
	}
	close(fd);
	return NULL;
}

/*
 * Read the account's token file. Returns 0 and fills *t (free with
 * store_token_clear); -1 with a reason in err (no secret in it) when the file
 * is missing, unreadable, not ours or open to others, too large, not valid
 * JSON, sealed and no key (or the wrong one) given, or lacks refresh_token.
 */
int
store_read(const char *dir, const unsigned char *key, const char *account,
    struct stored_token *t, char *err, size_t errsize)
{
	char path[STORE_PATH_MAX], why[256];
	char *buf, *plain = NULL;
	const char *text;
	ssize_t len;
	int r = -1;

	memset(t, 0, sizeof(*t));
	wipe_json_init();
	if (store_path(dir, account, path, sizeof(path)) == -1) {
		errf(err, errsize, "bad account name or state directory");
		return -1;
	}
	if ((buf = st_load(path, account, &len, err, errsize)) == NULL)
		return -1;
	text = buf;
	if (seal_is_sealed(buf, (size_t)len)) {
		if (key == NULL) {
			errf(err, errsize, "%s: token file is sealed; set "
			    "token_key_file", path);
			goto done;
		}
		/* A sealed file's plaintext is shorter than the file. */
		if ((plain = malloc(STORE_FILE_MAX + 1)) == NULL) {
			errf(err, errsize, "out of memory");
			goto done;
		}
		if ((len = seal_unwrap(key, account, buf, (size_t)len, plain,
		    STORE_FILE_MAX + 1, why, sizeof(why))) == -1) {
			errf(err, errsize, "%s: %s", path, why);
			goto done;
		}
		text = plain;
	}
	if (st_parse(text, (size_t)len, t, why, sizeof(why)) == -1) {
		errf(err, errsize, "%s: %s", path, why);
		goto done;
	}
	r = 0;
done:
	explicit_bzero(buf, STORE_FILE_MAX + 1);
	free(buf);
	if (plain != NULL) {
		explicit_bzero(plain, STORE_FILE_MAX + 1);
		free(plain);
	}
	return r;
}

/* The file's JSON text into buf; returns its length or -1. */
static ssize_t
st_format(const struct stored_token *t, char *buf, size_t size)
{
	json_t *o;
	size_t n;

	if ((o = json_object()) == NULL)
		return -1;
	if (json_object_set_new(o, "version", json_integer(STORE_VERSION)) ||
	    json_object_set_new(o, "refresh_token",
	    json_string(t->refresh_token)))
		goto fail;
	if (t->access_token != NULL && (json_object_set_new(o,
	    "access_token", json_string(t->access_token)) ||
	    json_object_set_new(o, "expires_at",
	    json_integer((json_int_t)t->expires_at))))
		goto fail;
	if (t->scope != NULL && json_object_set_new(o, "scope",
	    json_string(t->scope)))
		goto fail;
	if (json_object_set_new(o, "refresh_token_at",
	    json_integer((json_int_t)(t->refresh_at != 0 ? t->refresh_at :
	    time(NULL)))))
		goto fail;
	if (json_object_set_new(o, "updated_at",
	    json_integer((json_int_t)time(NULL))))
		goto fail;
	/* json_dumpb into our buffer: no unwiped copy made by jansson. */
	n = json_dumpb(o, buf, size, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (n == 0 || n >= size)
		goto fail;
	buf[n++] = '\n';
	json_decref(o);
	return (ssize_t)n;
fail:
	json_decref(o);
	return -1;
}

/* Wipe and free a buffer of STORE_FILE_MAX bytes; NULL does nothing. */
static void
st_wipe_free(char **buf)
{
	if (*buf != NULL) {
		explicit_bzero(*buf, STORE_FILE_MAX);
		free(*buf);
		*buf = NULL;
	}
}

/*
 * Atomically replace the account's token file with t. Returns 0, or -1 with
 * a reason in err (the old file is then untouched).
 *
 * One exception: if the rename succeeded but the fsync of the directory
 * failed, -1 says the new file may not survive a crash; it is in place.
 */
int
store_write(const char *dir, const unsigned char *key, const char *account,
    const struct stored_token *t, char *err, size_t errsize)
{
	char path[STORE_PATH_MAX], name[STORE_PATH_MAX];
	char *buf = NULL, *sealed = NULL;
	const char *out;
	ssize_t len;
	int r = -1, saved;

	wipe_json_init();
	if (store_path(dir, account, path, sizeof(path)) == -1) {
		errf(err, errsize, "bad account name or state directory");
		return -1;
	}
	if (t == NULL || t->refresh_token == NULL ||
	    t->refresh_token[0] == '\0') {
		errf(err, errsize, "no refresh token to store");
		return -1;
	}
	snprintf(name, sizeof(name), "%s.json", account);
	if ((buf = malloc(STORE_FILE_MAX)) == NULL) {
		errf(err, errsize, "out of memory");
		goto done;
	}
	if ((len = st_format(t, buf, STORE_FILE_MAX)) == -1) {
		errf(err, errsize, "token does not fit in %d bytes of JSON",
		    STORE_FILE_MAX);
		goto done;
	}
	out = buf;
	if (key != NULL) {
		if ((sealed = malloc(STORE_FILE_MAX)) == NULL) {
			errf(err, errsize, "out of memory");
			goto done;
		}
		if ((len = seal_wrap(key, account, buf, (size_t)len, sealed,
		    STORE_FILE_MAX)) == -1) {
			errf(err, errsize, "token does not fit in %d bytes "
			    "sealed", STORE_FILE_MAX);
			goto done;
		}
		out = sealed;
	}
	r = atomicfile_write(dir, name, out, (size_t)len, STORE_MODE, err,
	    errsize);
done:
	saved = errno;
	st_wipe_free(&buf);
	st_wipe_free(&sealed);
	errno = saved;
	return r;
}

/*
 * The state directory must be a directory owned by us that no one else can
 * read or write (no group/other bits). Returns 0, or -1 with a reason that
 * says how to fix it (e.g. "chmod 700 DIR").
 */
int
store_check_dir(const char *dir, char *err, size_t errsize)
{
	struct stat sb;

	if (dir == NULL || dir[0] == '\0') {
		errf(err, errsize, "no state_dir");
		return -1;
	}
	if (stat(dir, &sb) == -1) {
		if (errno == ENOENT)
			errf(err, errsize, "state_dir %s does not exist "
			    "(run: mkdir -m 700 %s)", dir, dir);
		else
			errf(err, errsize, "state_dir %s: %s", dir,
			    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		errf(err, errsize, "state_dir %s is not a directory", dir);
		return -1;
	}
	return st_owner_mode(&sb, "state_dir", dir, STORE_MODE_OTHERS, "700",
	    err, errsize);
}

/*
 * Read a sealing key file: exactly STORE_KEY_LEN bytes, a regular file
 * owned by us with mode 0600 or stricter. Returns 0, or -1 with a reason.
 */
int
store_load_key(const char *path, unsigned char key[STORE_KEY_LEN],
    char *err, size_t errsize)
{
	unsigned char buf[STORE_KEY_LEN + 1];
	struct stat sb;
	ssize_t n;
	int fd, r = -1;

	if (path == NULL || path[0] == '\0') {
		errf(err, errsize, "no token key file");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		errf(err, errsize, "cannot open token key file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		errf(err, errsize, "cannot stat token key file %s: %s", path,
		    strerror(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		errf(err, errsize, "token key file %s is not a regular file",
		    path);
		goto done;
	}
	if (st_owner_mode(&sb, "token key file", path, STORE_KEY_MODE_BAD,
	    "600", err, errsize) == -1)
		goto done;
	/* One byte more than a key, to see a file that is too long. */
	if ((n = st_read_all(fd, (char *)buf, sizeof(buf))) == -1) {
		errf(err, errsize, "cannot read token key file %s: %s", path,
		    strerror(errno));
		goto done;
	}
	if (n != STORE_KEY_LEN) {
		errf(err, errsize, "token key file %s must hold exactly %d "
		    "bytes, not %s%zd (make one: umask 077; head -c %d "
		    "/dev/urandom > %s)", path, STORE_KEY_LEN,
		    n > STORE_KEY_LEN ? "more than " : "", n > STORE_KEY_LEN ?
		    (ssize_t)STORE_KEY_LEN : n, STORE_KEY_LEN, path);
		goto done;
	}
	memcpy(key, buf, STORE_KEY_LEN);
	r = 0;
done:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

/* Wipe and free the strings of t. */
void
store_token_clear(struct stored_token *t)
{
	wipe_str(&t->refresh_token);
	wipe_str(&t->access_token);
	wipe_str(&t->scope);
	t->expires_at = 0;
}
