/*
 * tokenjson: parses a token endpoint response (RFC 6749 5.1 and 5.2) with
 * jansson. Pure, no I/O.
 */
#ifndef OAUTH_TOKENJSON_H
#define OAUTH_TOKENJSON_H

#include <stddef.h>

struct token_response {
	/* success (5.1) */
	char	*access_token;
	long	 expires_in;		/* seconds; accepted as number or
					   numeric string; 0 if absent */
	char	*refresh_token;		/* NULL unless a new one was issued */
	char	*scope;
	char	*token_type;
	/* error (5.2) */
	char	*error;			/* e.g. "invalid_grant" */
	char	*error_description;	/* provider text, may be long */
};

/*
 * Parse body (len bytes, not necessarily NUL-terminated). Returns 0 with
 * access_token set on success; 1 with error set when the body is an OAuth
 * error object; -1 with a short reason in err when the body is not JSON, is
 * not an object, or a success lacks access_token or has a token over 4096
 * bytes or a token_type other than Bearer (case-insensitive). Never puts a
 * token in err.
 */
int	token_response_parse(const char *body, size_t len,
	    struct token_response *out, char *err, size_t errsize);
/* Wipe and free all strings; safe on a zeroed struct. */
void	token_response_clear(struct token_response *);

#endif
