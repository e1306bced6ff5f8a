/*
 * errf: filling a caller's error buffer, for functions that report why they
 * failed through (char *err, size_t errsize). No secret goes in: callers
 * format only names, paths and provider codes.
 */
#ifndef IO_ERRF_H
#define IO_ERRF_H

#include <stddef.h>

/* Format into err (NUL-terminated, cut to errsize); err NULL does nothing. */
void	errf(char *err, size_t errsize, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Longest line errf_append adds. */
#define ERRF_LINE_MAX	512
/*
 * Append one formatted line (at most ERRF_LINE_MAX bytes, newline added)
 * to the malloc'd text *out (NULL: empty). Returns 0, or -1 when out of
 * memory (*out unchanged).
 */
int	errf_append(char **out, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
