/*
 * xoauth2: the client's initial response for AUTH XOAUTH2,
 * base64("user=" email ^A "auth=Bearer " token ^A ^A).
 */
#ifndef UPSTREAM_XOAUTH2_H
#define UPSTREAM_XOAUTH2_H

#include <stddef.h>
#include <sys/types.h>

/* Room for the encoding of a 4096-byte token (OAUTH_TOKEN_MAX) and a
   256-byte address. */
#define XOAUTH2_MAX	8192

/*
 * Write the base64 initial response into dst (NUL-terminated). Returns its
 * length, or -1 if it does not fit or user/token hold a control character.
 * The plain text passes through a stack buffer that is wiped before return.
 */
ssize_t	xoauth2_encode(const char *user, const char *token, char *dst,
	    size_t dstsize);

#endif
