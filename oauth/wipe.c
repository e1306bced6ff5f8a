/*
 * wipe: keeping tokens out of freed memory. See wipe.h.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "oauth/wipe.h"

static void *
wipe_malloc(size_t n)
{
	return malloc(n);
}

static void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/*
 * Make jansson wipe its blocks before freeing them. Idempotent; process-wide
 * and harmless to other jansson users (blocks still come from malloc).
 */
void
wipe_json_init(void)
{
	json_set_alloc_funcs(wipe_malloc, wipe_free);
}

/* Wipe and free *s, then set it to NULL; NULL does nothing. */
void
wipe_str(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}
