/*
 * xoauth2: the client's initial response for AUTH XOAUTH2,
 * base64("user=" email ^A "auth=Bearer " token ^A ^A). See xoauth2.h.
 */
#include <string.h>

#include "io/b64.h"
#include "upstream/xoauth2.h"

#define XOAUTH2_USER	"user="
#define XOAUTH2_AUTH	"auth=Bearer "
#define XOAUTH2_SEP	'\001'
/* Longest plain text whose encoding fits in XOAUTH2_MAX with its NUL. */
#define XOAUTH2_PLAIN_MAX	((XOAUTH2_MAX - 1) / 4 * 3)

/* Length of s, or -1 if it holds a control character (C0 or DEL). */
static ssize_t
xoauth2_len(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	return (ssize_t)i;
}

/*
 * Write the base64 initial response into dst (NUL-terminated). Returns its
 * length, or -1 if it does not fit or user/token hold a control character.
 * The plain text passes through a stack buffer that is wiped before return.
 */
ssize_t
xoauth2_encode(const char *user, const char *token, char *dst, size_t dstsize)
{
	char plain[XOAUTH2_PLAIN_MAX];
	size_t ulen, tlen, n;
	ssize_t r;

	if ((r = xoauth2_len(user)) == -1)
		return -1;
	ulen = (size_t)r;
	if ((r = xoauth2_len(token)) == -1)
		return -1;
	tlen = (size_t)r;

	if (ulen > sizeof(plain) || tlen > sizeof(plain) ||
	    sizeof(XOAUTH2_USER) - 1 + ulen + 1 + sizeof(XOAUTH2_AUTH) - 1 +
	    tlen + 2 > sizeof(plain))
		return -1;

	n = 0;
	memcpy(plain + n, XOAUTH2_USER, sizeof(XOAUTH2_USER) - 1);
	n += sizeof(XOAUTH2_USER) - 1;
	memcpy(plain + n, user, ulen);
	n += ulen;
	plain[n++] = XOAUTH2_SEP;
	memcpy(plain + n, XOAUTH2_AUTH, sizeof(XOAUTH2_AUTH) - 1);
	n += sizeof(XOAUTH2_AUTH) - 1;
	memcpy(plain + n, token, tlen);
	n += tlen;
	plain[n++] = XOAUTH2_SEP;
	plain[n++] = XOAUTH2_SEP;

	r = b64_encode(plain, n, dst, dstsize);
	explicit_bzero(plain, sizeof(plain));
	return r;
}
