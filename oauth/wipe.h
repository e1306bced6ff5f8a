/*
 * wipe: keeping tokens out of freed memory. jansson copies every string it
 * parses; wipe_json_init() makes it wipe each block before freeing it.
 */
#ifndef OAUTH_WIPE_H
#define OAUTH_WIPE_H

/*
 * Make jansson wipe its blocks before freeing them. Idempotent; process-wide
 * and harmless to other jansson users (blocks still come from malloc).
 */
void	wipe_json_init(void);
/* Wipe and free *s, then set it to NULL; NULL does nothing. */
void	wipe_str(char **s);

#endif
