/*
 * errf: filling a caller's error buffer. See errf.h.
 */
#include <stdarg.h>
#include <stdio.h>

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
