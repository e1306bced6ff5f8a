/*
 * fuzz_config: libFuzzer harness for the config loader, proxy/config
 * config_load (inih under it, then the validation of the whole file) and
 * config_control_socket (what status and reload read of a file that may
 * be wrong). The input is the file: written to a memfd and loaded through
 * its /proc/self/fd path, so no file is left behind. Checks no crash, leak
 * or UB on any bytes, and: config_load gives a config or errors, never
 * both nor neither; the errors are lines that each start with the file's
 * path; they never quote the value of a secret key (client_secret ...,
 * found with config_key_at) when that value appears only there in the
 * file; and config_control_socket always gives a NUL-terminated path.
 *
 *   make build/fuzz_config && build/fuzz_config tests/fuzz/corpus/config
 */
#include <sys/mman.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/config.h"

/* Shortest secret value looked for in the errors. */
#define FUZZ_SECRET_MIN	12
/* Secret keys looked for: more than the config has. */
#define FUZZ_SECRETS_MAX 16

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

static int fuzz_fd = -1;
static char fuzz_path[64];
static const char *fuzz_secrets[FUZZ_SECRETS_MAX];
static size_t fuzz_nsecrets;

static void
fuzz_setup(void)
{
	struct config_key_info ki;
	size_t i;

	if (fuzz_fd != -1)
		return;
	FUZZ_CHECK((fuzz_fd = memfd_create("authrelay-fuzz-config",
	    MFD_CLOEXEC)) != -1);
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
	for (i = 0; config_key_at(i, &ki) == 0; i++)
		if (ki.secret && fuzz_nsecrets < FUZZ_SECRETS_MAX)
			fuzz_secrets[fuzz_nsecrets++] = ki.name;
}

/*
 * A value worth looking for: letters and digits, both, long enough that
 * no error text holds it by chance.
 */
static int
fuzz_distinct(const char *v, size_t n)
{
	size_t i, alpha = 0, digit = 0;

	if (n < FUZZ_SECRET_MIN)
		return 0;
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)v[i]))
			alpha++;
		else if (isdigit((unsigned char)v[i]))
			digit++;
		else
			return 0;
	}
	return alpha > 0 && digit > 0;
}

/* Does the line "KEY = VALUE" (n bytes) set a secret key? Its value. */
static const char *
fuzz_secret_value(const char *line, size_t n, size_t *vlen)
{
	const char *p = line, *end = line + n, *v;
	size_t i, k;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (i = 0; i < fuzz_nsecrets; i++) {
		k = strlen(fuzz_secrets[i]);
		if ((size_t)(end - p) > k && memcmp(p, fuzz_secrets[i], k) == 0)
			break;
	}
	if (i == fuzz_nsecrets)
		return NULL;
	p += k;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || (*p != '=' && *p != ':'))
		return NULL;
	for (v = ++p; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

/* No secret value that appears once in the file is in the errors. */
static void
fuzz_no_secret(const char *s, size_t n, const char *errors)
{
	const char *line, *lf, *v, *first;
	size_t vlen;
	char *needle;

	for (line = s; line < s + n; line = lf + 1) {
		if ((lf = memchr(line, '\n', (size_t)(s + n - line))) == NULL)
			lf = s + n;
		if ((v = fuzz_secret_value(line, (size_t)(lf - line),
		    &vlen)) == NULL || !fuzz_distinct(v, vlen))
			continue;
		first = memmem(s, n, v, vlen);
		if (first != v || memmem(v + 1, (size_t)(s + n - v - 1), v,
		    vlen) != NULL)
			continue;
		FUZZ_CHECK((needle = strndup(v, vlen)) != NULL);
		FUZZ_CHECK(strstr(errors, needle) == NULL);
		free(needle);
	}
}

/* Every line of the errors starts with "PATH:". */
static void
fuzz_errors_ok(const char *errors)
{
	const char *line, *lf;
	size_t plen = strlen(fuzz_path);

	FUZZ_CHECK(errors[0] != '\0');
	for (line = errors; *line != '\0'; line = lf + 1) {
		FUZZ_CHECK((lf = strchr(line, '\n')) != NULL);
		FUZZ_CHECK(strncmp(line, fuzz_path, plen) == 0 &&
		    line[plen] == ':');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cf;
	char *errors = (char *)"unset", sock[256];

	fuzz_setup();
	FUZZ_CHECK(ftruncate(fuzz_fd, 0) == 0);
	FUZZ_CHECK(size == 0 || pwrite(fuzz_fd, data, size, 0) ==
	    (ssize_t)size);

	cf = config_load(fuzz_path, &errors);
	if (cf != NULL) {
		FUZZ_CHECK(errors == NULL);
		config_free(cf);
	} else {
		FUZZ_CHECK(errors != NULL);
		fuzz_errors_ok(errors);
		fuzz_no_secret((const char *)data, size, errors);
		free(errors);
	}

	memset(sock, 'x', sizeof(sock));
	FUZZ_CHECK(config_control_socket(fuzz_path, sock, sizeof(sock)) == 0);
	FUZZ_CHECK(memchr(sock, '\0', sizeof(sock)) != NULL && sock[0] != '\0');
	return 0;
}
