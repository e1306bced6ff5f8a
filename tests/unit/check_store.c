/*
 * check_store: token files in a scratch directory: round trips, atomic
 * replacement, file mode, refused names and files, failed writes that must
 * leave the old file as it was, owner and mode checks on files and on the
 * state directory, sealed files, and sealing key files.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oauth/store.h"
#include "tests/unit/suites.h"

#define ERRSZ		512
#define PATHSZ		4096
#define DIRSZ		1024	/* scratch directory name; paths add to it */
#define FILESZ		(STORE_FILE_MAX * 2)

static char	st_dir[DIRSZ];

static void
st_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(st_dir, sizeof(st_dir), "%s/check_store.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(st_dir));
}

static void
st_teardown(void)
{
	char path[PATHSZ];
	struct dirent *de;
	DIR *d;

	chmod(st_dir, 0700);
	if ((d = opendir(st_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", st_dir,
			    de->d_name);
			if (unlink(path) == -1)
				rmdir(path);
		}
		closedir(d);
	}
	rmdir(st_dir);
}

/* Entries in the scratch directory; the name of one of them into first. */
static int
st_count_entries(char *first, size_t size)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	ck_assert_ptr_nonnull(d = opendir(st_dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ == 0 && first != NULL)
			snprintf(first, size, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static void
st_put_file(const char *name, const char *text)
{
	char path[PATHSZ];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", st_dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	/* As a token file must be, whatever the umask. */
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static char *
st_get_file(const char *name)
{
	char path[PATHSZ];
	char *buf;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", st_dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(buf = calloc(1, FILESZ + 1));
	n = fread(buf, 1, FILESZ, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_roundtrip)
{
	struct stored_token w = { "1//0refresh-token", "ya29.access",
	    1700000000, "https://mail.google.com/", 0 }, r;
	char err[ERRSZ];

	ck_assert_int_eq(store_write(st_dir, NULL, "gmail", &w, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_read(st_dir, NULL, "gmail", &r, err, sizeof(err)),
	    0);
	ck_assert_str_eq(r.refresh_token, w.refresh_token);
	ck_assert_str_eq(r.access_token, w.access_token);
	ck_assert_int_eq(r.expires_at, w.expires_at);
	ck_assert_str_eq(r.scope, w.scope);
	store_token_clear(&r);
	ck_assert_ptr_null(r.refresh_token);
	ck_assert_ptr_null(r.access_token);
	ck_assert_ptr_null(r.scope);
}
END_TEST

START_TEST(test_refresh_only)
{
	struct stored_token w = { "only-refresh", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ];

	ck_assert_int_eq(store_write(st_dir, NULL, "m365", &w, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_read(st_dir, NULL, "m365", &r, err, sizeof(err)),
	    0);
	ck_assert_str_eq(r.refresh_token, "only-refresh");
	ck_assert_ptr_null(r.access_token);
	ck_assert_ptr_null(r.scope);
	ck_assert_int_eq(r.expires_at, 0);
	store_token_clear(&r);
}
END_TEST

START_TEST(test_overwrite)
{
	struct stored_token a = { "old-refresh", "old-access", 100, NULL, 0 };
	struct stored_token b = { "new-refresh", NULL, 0, "s", 0 }, r;
	char err[ERRSZ], name[256];

	ck_assert_int_eq(store_write(st_dir, NULL, "acct", &a, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_write(st_dir, NULL, "acct", &b, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_read(st_dir, NULL, "acct", &r, err, sizeof(err)),
	    0);
	ck_assert_str_eq(r.refresh_token, "new-refresh");
	ck_assert_ptr_null(r.access_token);
	ck_assert_str_eq(r.scope, "s");
	store_token_clear(&r);
	/* Exactly one file: the temporary is gone. */
	ck_assert_int_eq(st_count_entries(name, sizeof(name)), 1);
	ck_assert_str_eq(name, "acct.json");
}
END_TEST

START_TEST(test_mode)
{
	struct stored_token w = { "r", NULL, 0, NULL, 0 };
	char err[ERRSZ], path[PATHSZ];
	struct stat sb;
	mode_t old;

	/* Even with a permissive umask the file is 0600. */
	old = umask(0);
	ck_assert_int_eq(store_write(st_dir, NULL, "a", &w, err, sizeof(err)), 0);
	umask(old);
	ck_assert_int_eq(store_path(st_dir, "a", path, sizeof(path)), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert(S_ISREG(sb.st_mode));
}
END_TEST

START_TEST(test_missing)
{
	struct stored_token r;
	char err[ERRSZ];

	ck_assert_int_eq(store_read(st_dir, NULL, "nobody", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "no refresh token stored"));
	ck_assert_ptr_nonnull(strstr(err, "nobody"));
	ck_assert_ptr_null(r.refresh_token);
	store_token_clear(&r);
}
END_TEST

/* Bad files: each is refused without quoting what is in it. */
static const struct {
	const char	*text;
	const char	*err_part;
} st_bad[] = {
	{ "{\"refresh_token\":\"SECRET\"", "not valid JSON" },
	{ "refresh_token=SECRET\n", "not valid JSON" },
	{ "", "not valid JSON" },
	{ "[\"SECRET\"]", "not a JSON object" },
	{ "{\"access_token\":\"SECRET\",\"expires_at\":1}", "refresh_token" },
	{ "{\"refresh_token\":\"\"}", "refresh_token" },
	{ "{\"refresh_token\":42}", "refresh_token" },
	{ "{\"refresh_token\":\"SECRET\",\"expires_at\":\"x\"}",
	  "expires_at" },
	{ "{\"version\":2,\"refresh_token\":\"SECRET\"}", "version" },
	{ "{\"refresh_token\":\"SECRET\",\"refresh_token\":\"SECRET2\"}",
	  "not valid JSON" },
};

START_TEST(test_bad_file)
{
	struct stored_token r;
	char err[ERRSZ];

	st_put_file("bad.json", st_bad[_i].text);
	ck_assert_int_eq(store_read(st_dir, NULL, "bad", &r, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, st_bad[_i].err_part) != NULL,
	    "vector %d: err \"%s\" lacks \"%s\"", _i, err,
	    st_bad[_i].err_part);
	ck_assert_msg(strstr(err, "SECRET") == NULL,
	    "vector %d: err \"%s\" holds the token", _i, err);
	ck_assert_ptr_null(r.refresh_token);
	ck_assert_ptr_null(r.access_token);
}
END_TEST

START_TEST(test_names)
{
	const char *bad[] = { "a/b", "/abs", "../up", ".hidden", ".", "..",
	    "", "tab\there", NULL };
	struct stored_token w = { "r", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ], path[PATHSZ];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(store_path(st_dir, bad[i], path,
		    sizeof(path)), -1);
		ck_assert_int_eq(store_write(st_dir, NULL, bad[i], &w, err,
		    sizeof(err)), -1);
		ck_assert_int_eq(store_read(st_dir, NULL, bad[i], &r, err,
		    sizeof(err)), -1);
	}
	ck_assert_int_eq(st_count_entries(NULL, 0), 0);
	ck_assert_int_eq(store_path("/d", "x.y-z_1", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/d/x.y-z_1.json");
	/* "/d/ab.json" is 10 bytes and a NUL: 11 fits, 10 does not. */
	ck_assert_int_eq(store_path("/d", "ab", path, 11), 0);
	ck_assert_int_eq(store_path("/d", "ab", path, 10), -1);
}
END_TEST

START_TEST(test_not_regular)
{
	struct stored_token w = { "r", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ], path[PATHSZ], target[PATHSZ];

	/* A symbolic link is not followed, even to a good file. */
	ck_assert_int_eq(store_write(st_dir, NULL, "real", &w, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_path(st_dir, "real", target, sizeof(target)),
	    0);
	ck_assert_int_eq(store_path(st_dir, "link", path, sizeof(path)), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(store_read(st_dir, NULL, "link", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(r.refresh_token);

	/* A FIFO is refused without blocking. */
	ck_assert_int_eq(store_path(st_dir, "fifo", path, sizeof(path)), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(store_read(st_dir, NULL, "fifo", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));

	/* So is a directory. */
	ck_assert_int_eq(store_path(st_dir, "dir", path, sizeof(path)), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(store_read(st_dir, NULL, "dir", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(test_too_large)
{
	struct stored_token w = { NULL, NULL, 0, NULL, 0 }, r;
	char err[ERRSZ];
	char *big;
	size_t n;

	/* A file over STORE_FILE_MAX is not read. */
	ck_assert_ptr_nonnull(big = malloc(STORE_FILE_MAX + 64));
	snprintf(big, STORE_FILE_MAX + 64, "{\"refresh_token\":\"r\",\"x\":\"");
	n = strlen(big);
	memset(big + n, 'x', STORE_FILE_MAX);
	strcpy(big + n + STORE_FILE_MAX, "\"}");
	st_put_file("big.json", big);
	ck_assert_int_eq(store_read(st_dir, NULL, "big", &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger than"));

	/* A token too long for the file is refused before any file is made. */
	memset(big, 'R', STORE_FILE_MAX);
	big[STORE_FILE_MAX] = '\0';
	w.refresh_token = big;
	ck_assert_int_eq(store_write(st_dir, NULL, "huge", &w, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(strstr(err, "RRRR"));
	ck_assert_int_eq(st_count_entries(NULL, 0), 1);
	free(big);
}
END_TEST

/* Write old, fail to write new, and check old is still there, alone. */
static void
st_check_old_kept(const char *old_text)
{
	char name[256];
	char *now;

	now = st_get_file("keep.json");
	ck_assert_str_eq(now, old_text);
	free(now);
	ck_assert_int_eq(st_count_entries(name, sizeof(name)), 1);
	ck_assert_str_eq(name, "keep.json");
}

START_TEST(test_failed_write_nodir)
{
	struct stored_token w = { "SECRET-refresh", NULL, 0, NULL, 0 };
	char err[ERRSZ], dir[PATHSZ];

	snprintf(dir, sizeof(dir), "%s/missing", st_dir);
	ck_assert_int_eq(store_write(dir, NULL, "a", &w, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot create"));
	ck_assert_ptr_null(strstr(err, "SECRET"));
	ck_assert_int_eq(st_count_entries(NULL, 0), 0);
	ck_assert_int_eq(store_write(NULL, NULL, "a", &w, err, sizeof(err)), -1);
}
END_TEST

/*
 * A write that fails halfway, after the temporary exists: a file size limit
 * stops write(2) with EFBIG, for root too (chmod does not stop root).
 */
START_TEST(test_failed_write_keeps_old)
{
	struct stored_token a = { "old-refresh", NULL, 0, NULL, 0 };
	struct stored_token b = { "SECRET-new-refresh", "SECRET-access", 5,
	    NULL, 0 }, r;
	struct rlimit old, small;
	char err[ERRSZ];
	char *old_text;
	void (*oldsig)(int);

	ck_assert_int_eq(store_write(st_dir, NULL, "keep", &a, err, sizeof(err)),
	    0);
	old_text = st_get_file("keep.json");

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 8;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	ck_assert_int_eq(store_write(st_dir, NULL, "keep", &b, err, sizeof(err)),
	    -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	ck_assert_ptr_nonnull(strstr(err, "cannot write"));
	ck_assert_ptr_null(strstr(err, "SECRET"));

	st_check_old_kept(old_text);
	ck_assert_int_eq(store_read(st_dir, NULL, "keep", &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.refresh_token, "old-refresh");
	store_token_clear(&r);
	free(old_text);
}
END_TEST

/* A read-only directory: only meaningful when not root. */
START_TEST(test_failed_write_readonly)
{
	struct stored_token a = { "old-refresh", NULL, 0, NULL, 0 };
	struct stored_token b = { "new-refresh", NULL, 0, NULL, 0 };
	char err[ERRSZ];
	char *old_text;

	ck_assert_int_eq(store_write(st_dir, NULL, "keep", &a, err, sizeof(err)),
	    0);
	if (geteuid() == 0)
		return;
	old_text = st_get_file("keep.json");
	ck_assert_int_eq(chmod(st_dir, 0500), 0);
	ck_assert_int_eq(store_write(st_dir, NULL, "keep", &b, err, sizeof(err)),
	    -1);
	ck_assert_int_eq(chmod(st_dir, 0700), 0);
	st_check_old_kept(old_text);
	free(old_text);
}
END_TEST

/* The target is a directory: rename fails after the temporary is written. */
START_TEST(test_failed_rename)
{
	struct stored_token b = { "new-refresh", NULL, 0, NULL, 0 };
	char err[ERRSZ], path[PATHSZ], name[256];

	ck_assert_int_eq(store_path(st_dir, "d", path, sizeof(path)), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(store_write(st_dir, NULL, "d", &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot rename"));
	ck_assert_int_eq(st_count_entries(name, sizeof(name)), 1);
	ck_assert_str_eq(name, "d.json");
}
END_TEST

START_TEST(test_null_err)
{
	struct stored_token r;

	ck_assert_int_eq(store_read(st_dir, NULL, "none", &r, NULL, 0), -1);
	st_put_file("bad.json", "{");
	ck_assert_int_eq(store_read(st_dir, NULL, "bad", &r, NULL, 0), -1);
	store_token_clear(&r);
}
END_TEST

/* A token file that others could read, or that is not ours, is refused. */
START_TEST(test_file_mode_refused)
{
	const mode_t bad[] = { 0644, 0640, 0604, 0620, 0602, 0660 };
	struct stored_token w = { "SECRET-refresh", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ], path[PATHSZ], want[PATHSZ + 16];
	size_t i;

	ck_assert_int_eq(store_write(st_dir, NULL, "m", &w, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_path(st_dir, "m", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "chmod 600 %s", path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(chmod(path, bad[i]), 0);
		ck_assert_int_eq(store_read(st_dir, NULL, "m", &r, err,
		    sizeof(err)), -1);
		ck_assert_msg(strstr(err, want) != NULL, "mode %o: \"%s\"",
		    (unsigned)bad[i], err);
		ck_assert_ptr_null(strstr(err, "SECRET"));
		ck_assert_ptr_null(r.refresh_token);
	}
	/* Read-only for the owner is fine. */
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(store_read(st_dir, NULL, "m", &r, err, sizeof(err)),
	    0);
	store_token_clear(&r);
}
END_TEST

/* Only root can give a file away: skipped otherwise. */
START_TEST(test_file_owner_refused)
{
	struct stored_token w = { "SECRET-refresh", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ], path[PATHSZ];

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(store_write(st_dir, NULL, "o", &w, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_path(st_dir, "o", path, sizeof(path)), 0);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(store_read(st_dir, NULL, "o", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "owned by uid 65534"));
	ck_assert_ptr_nonnull(strstr(err, "chown "));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_null(strstr(err, "SECRET"));
}
END_TEST

START_TEST(test_check_dir)
{
	const mode_t bad[] = { 0750, 0705, 0770, 0701, 0710, 0777 };
	char err[ERRSZ], path[PATHSZ], want[PATHSZ + 16];
	size_t i;

	ck_assert_int_eq(store_check_dir(st_dir, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "chmod 700 %s", st_dir);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(chmod(st_dir, bad[i]), 0);
		ck_assert_int_eq(store_check_dir(st_dir, err, sizeof(err)),
		    -1);
		ck_assert_msg(strstr(err, want) != NULL, "mode %o: \"%s\"",
		    (unsigned)bad[i], err);
	}
	ck_assert_int_eq(chmod(st_dir, 0700), 0);

	snprintf(path, sizeof(path), "%s/missing", st_dir);
	ck_assert_int_eq(store_check_dir(path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "does not exist"));
	ck_assert_ptr_nonnull(strstr(err, "mkdir -m 700"));

	st_put_file("plain", "x");
	snprintf(path, sizeof(path), "%s/plain", st_dir);
	ck_assert_int_eq(store_check_dir(path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	ck_assert_int_eq(store_check_dir(NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(store_check_dir("", err, sizeof(err)), -1);

	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "%s/theirs", st_dir);
		ck_assert_int_eq(mkdir(path, 0700), 0);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(store_check_dir(path, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "owned by uid 65534"));
		ck_assert_ptr_nonnull(strstr(err, "chown "));
	}
}
END_TEST

static const unsigned char st_key[STORE_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const unsigned char st_key2[STORE_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1e,
};

START_TEST(test_sealed_roundtrip)
{
	struct stored_token w = { "1//0SECRET-refresh", "ya29.SECRET-access",
	    1700000000, "https://mail.google.com/", 0 }, r;
	char err[ERRSZ], path[PATHSZ], name[256];
	struct stat sb;
	char *text;

	ck_assert_int_eq(store_write(st_dir, st_key, "gmail", &w, err,
	    sizeof(err)), 0);
	text = st_get_file("gmail.json");
	ck_assert_ptr_nonnull(strstr(text, "\"version\":1"));
	ck_assert_ptr_nonnull(strstr(text, "\"sealed\":\"aes-256-gcm\""));
	ck_assert_ptr_nonnull(strstr(text, "\"nonce\":\""));
	ck_assert_ptr_nonnull(strstr(text, "\"tag\":\""));
	ck_assert_ptr_null(strstr(text, "SECRET"));
	ck_assert_ptr_null(strstr(text, "refresh_token"));
	free(text);
	ck_assert_int_eq(store_path(st_dir, "gmail", path, sizeof(path)), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(st_count_entries(name, sizeof(name)), 1);

	ck_assert_int_eq(store_read(st_dir, st_key, "gmail", &r, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(r.refresh_token, w.refresh_token);
	ck_assert_str_eq(r.access_token, w.access_token);
	ck_assert_int_eq(r.expires_at, w.expires_at);
	ck_assert_str_eq(r.scope, w.scope);
	store_token_clear(&r);
}
END_TEST

START_TEST(test_sealed_without_key)
{
	struct stored_token w = { "SECRET-refresh", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ];

	ck_assert_int_eq(store_write(st_dir, st_key, "a", &w, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_read(st_dir, NULL, "a", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "token file is sealed; set "
	    "token_key_file"));
	ck_assert_ptr_null(r.refresh_token);
}
END_TEST

START_TEST(test_sealed_wrong_key)
{
	struct stored_token w = { "SECRET-refresh", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ];

	ck_assert_int_eq(store_write(st_dir, st_key, "a", &w, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_read(st_dir, st_key2, "a", &r, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot unseal"));
	ck_assert_ptr_null(strstr(err, "SECRET"));
	ck_assert_ptr_null(r.refresh_token);
}
END_TEST

/* One character of the nonce, the data or the tag changed: refused. */
START_TEST(test_sealed_tampered)
{
	const char *member[] = { "\"nonce\":\"", "\"data\":\"", "\"tag\":\"" };
	struct stored_token w = { "SECRET-refresh", "access", 5, NULL, 0 }, r;
	char err[ERRSZ];
	char *text, *p;

	ck_assert_int_eq(store_write(st_dir, st_key, "t", &w, err,
	    sizeof(err)), 0);
	text = st_get_file("t.json");
	ck_assert_ptr_nonnull(p = strstr(text, member[_i]));
	p += strlen(member[_i]);
	*p = *p == 'A' ? 'B' : 'A';
	st_put_file("t.json", text);
	free(text);
	ck_assert_int_eq(store_read(st_dir, st_key, "t", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot unseal"));
	ck_assert_ptr_null(r.refresh_token);
}
END_TEST

/* The account name is bound in: a file moved to another name is refused. */
START_TEST(test_sealed_other_account)
{
	struct stored_token w = { "SECRET-refresh", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ], from[PATHSZ], to[PATHSZ];

	ck_assert_int_eq(store_write(st_dir, st_key, "alice", &w, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_path(st_dir, "alice", from, sizeof(from)), 0);
	ck_assert_int_eq(store_path(st_dir, "bob", to, sizeof(to)), 0);
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(store_read(st_dir, st_key, "bob", &r, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "another account"));
	ck_assert_ptr_null(r.refresh_token);
	ck_assert_int_eq(rename(to, from), 0);
	ck_assert_int_eq(store_read(st_dir, st_key, "alice", &r, err,
	    sizeof(err)), 0);
	store_token_clear(&r);
}
END_TEST

/* With a key, a plain file is still read, and the next write seals it. */
START_TEST(test_plain_read_with_key)
{
	struct stored_token w = { "plain-refresh", NULL, 0, NULL, 0 }, r;
	char err[ERRSZ];
	char *text;

	ck_assert_int_eq(store_write(st_dir, NULL, "p", &w, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_read(st_dir, st_key, "p", &r, err, sizeof(err)),
	    0);
	ck_assert_str_eq(r.refresh_token, "plain-refresh");
	ck_assert_int_eq(store_write(st_dir, st_key, "p", &r, err,
	    sizeof(err)), 0);
	store_token_clear(&r);
	text = st_get_file("p.json");
	ck_assert_ptr_nonnull(strstr(text, "\"sealed\""));
	ck_assert_ptr_null(strstr(text, "plain-refresh"));
	free(text);
	ck_assert_int_eq(store_read(st_dir, st_key, "p", &r, err, sizeof(err)),
	    0);
	ck_assert_str_eq(r.refresh_token, "plain-refresh");
	store_token_clear(&r);
}
END_TEST

/* Envelopes cut short or of another algorithm; one without a key. */
START_TEST(test_sealed_bad_envelope)
{
	struct stored_token r;
	char err[ERRSZ];

	st_put_file("c.json", "{\"version\":1,\"sealed\":\"aes-256-gcm\"}");
	ck_assert_int_eq(store_read(st_dir, st_key, "c", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "nonce, data or tag"));
	st_put_file("c.json", "{\"version\":1,\"sealed\":\"rot13\"}");
	ck_assert_int_eq(store_read(st_dir, st_key, "c", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown algorithm"));
	st_put_file("c.json", "{\"sealed\":\"aes-256-gcm\"}");
	ck_assert_int_eq(store_read(st_dir, NULL, "c", &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "sealed; set token_key_file"));
}
END_TEST

static void
st_put_bytes(const char *name, const void *data, size_t n, mode_t mode)
{
	char path[PATHSZ];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", st_dir, name);
	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    -1);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_load_key)
{
	unsigned char key[STORE_KEY_LEN];
	char err[ERRSZ], path[PATHSZ];

	st_put_bytes("key", st_key, sizeof(st_key), 0600);
	snprintf(path, sizeof(path), "%s/key", st_dir);
	memset(key, 0xff, sizeof(key));
	ck_assert_int_eq(store_load_key(path, key, err, sizeof(err)), 0);
	ck_assert_mem_eq(key, st_key, sizeof(key));
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(store_load_key(path, key, err, sizeof(err)), 0);
}
END_TEST

/* Key files that are refused, and a word of what the reason says. */
static const struct {
	size_t		 len;
	mode_t		 mode;
	const char	*err_part;
} st_bad_keys[] = {
	{ 31, 0600, "exactly 32 bytes, not 31" },
	{ 33, 0600, "exactly 32 bytes, not more than 32" },
	{ 0, 0600, "exactly 32 bytes, not 0" },
	{ 64, 0600, "head -c 32 /dev/urandom" },
	{ 32, 0640, "chmod 600" },
	{ 32, 0644, "chmod 600" },
	{ 32, 0604, "chmod 600" },
	{ 32, 0700, "chmod 600" },
	{ 32, 0610, "chmod 600" },
};

START_TEST(test_load_key_bad)
{
	unsigned char data[64], key[STORE_KEY_LEN];
	char err[ERRSZ], path[PATHSZ];

	memset(data, 'k', sizeof(data));
	st_put_bytes("key", data, st_bad_keys[_i].len, st_bad_keys[_i].mode);
	snprintf(path, sizeof(path), "%s/key", st_dir);
	ck_assert_int_eq(store_load_key(path, key, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, st_bad_keys[_i].err_part) != NULL,
	    "vector %d: \"%s\" lacks \"%s\"", _i, err,
	    st_bad_keys[_i].err_part);
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(test_load_key_not_file)
{
	unsigned char key[STORE_KEY_LEN];
	char err[ERRSZ], path[PATHSZ];

	snprintf(path, sizeof(path), "%s/none", st_dir);
	ck_assert_int_eq(store_load_key(path, key, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));
	snprintf(path, sizeof(path), "%s/dir", st_dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(store_load_key(path, key, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	ck_assert_int_eq(store_load_key(NULL, key, err, sizeof(err)), -1);
	if (geteuid() == 0) {
		st_put_bytes("theirs", st_key, sizeof(st_key), 0600);
		snprintf(path, sizeof(path), "%s/theirs", st_dir);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(store_load_key(path, key, err, sizeof(err)),
		    -1);
		ck_assert_ptr_nonnull(strstr(err, "chown "));
	}
}
END_TEST

Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, st_setup, st_teardown);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_refresh_only);
	tcase_add_test(tc, test_overwrite);
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_missing);
	tcase_add_loop_test(tc, test_bad_file, 0,
	    sizeof(st_bad) / sizeof(st_bad[0]));
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_failed_write_nodir);
	tcase_add_test(tc, test_failed_write_keeps_old);
	tcase_add_test(tc, test_failed_write_readonly);
	tcase_add_test(tc, test_failed_rename);
	tcase_add_test(tc, test_null_err);
	suite_add_tcase(s, tc);

	tc = tcase_create("owner and mode");
	tcase_add_checked_fixture(tc, st_setup, st_teardown);
	tcase_add_test(tc, test_file_mode_refused);
	tcase_add_test(tc, test_file_owner_refused);
	tcase_add_test(tc, test_check_dir);
	suite_add_tcase(s, tc);

	tc = tcase_create("sealed");
	tcase_add_checked_fixture(tc, st_setup, st_teardown);
	tcase_add_test(tc, test_sealed_roundtrip);
	tcase_add_test(tc, test_sealed_without_key);
	tcase_add_test(tc, test_sealed_wrong_key);
	tcase_add_loop_test(tc, test_sealed_tampered, 0, 3);
	tcase_add_test(tc, test_sealed_other_account);
	tcase_add_test(tc, test_plain_read_with_key);
	tcase_add_test(tc, test_sealed_bad_envelope);
	suite_add_tcase(s, tc);

	tc = tcase_create("key file");
	tcase_add_checked_fixture(tc, st_setup, st_teardown);
	tcase_add_test(tc, test_load_key);
	tcase_add_loop_test(tc, test_load_key_bad, 0,
	    sizeof(st_bad_keys) / sizeof(st_bad_keys[0]));
	tcase_add_test(tc, test_load_key_not_file);
	suite_add_tcase(s, tc);
	return s;
}
