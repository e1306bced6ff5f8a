/*
 * check_store: token files in a scratch directory: round trips, atomic
 * replacement, file mode, refused names and files, and failed writes that
 * must leave the old file as it was.
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
	    1700000000, "https://mail.google.com/" }, r;
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
	struct stored_token w = { "only-refresh", NULL, 0, NULL }, r;
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
	struct stored_token a = { "old-refresh", "old-access", 100, NULL };
	struct stored_token b = { "new-refresh", NULL, 0, "s" }, r;
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
	struct stored_token w = { "r", NULL, 0, NULL };
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
	struct stored_token w = { "r", NULL, 0, NULL }, r;
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
	struct stored_token w = { "r", NULL, 0, NULL }, r;
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
	struct stored_token w = { NULL, NULL, 0, NULL }, r;
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
	struct stored_token w = { "SECRET-refresh", NULL, 0, NULL };
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
	struct stored_token a = { "old-refresh", NULL, 0, NULL };
	struct stored_token b = { "SECRET-new-refresh", "SECRET-access", 5,
	    NULL }, r;
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
	struct stored_token a = { "old-refresh", NULL, 0, NULL };
	struct stored_token b = { "new-refresh", NULL, 0, NULL };
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
	struct stored_token b = { "new-refresh", NULL, 0, NULL };
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
	return s;
}
