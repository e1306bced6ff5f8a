/*
 * errf: filling a caller's error buffer. See errf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/errf.h"

/* Format into err (NUL-terminated, cut to errsize); err NULL does nothing. */
void
errf(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}

/*
 * Append one formatted line (at most ERRF_LINE_MAX bytes, newline added)
 * to the malloc'd text *out (NULL: empty). Returns 0, or -1 when out of
 * memory (*out unchanged).
 */
int
errf_append(char **out, const char *fmt, ...)
{
	char line[ERRF_LINE_MAX], *n;
	size_t have = *out != NULL ? strlen(*out) : 0, len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	len = strlen(line);
	if ((n = realloc(*out, have + len + 2)) == NULL)
		return -1;
	memcpy(n + have, line, len);
	n[have + len] = '\n';
	n[have + len + 1] = '\0';
	*out = n;
	return 0;
}
