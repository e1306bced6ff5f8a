/*
 * mock_b64: standard padded base64 for the mock provider's SASL exchanges,
 * and unpadded base64url for JWTs and PKCE, with strict decoders.
 * Self-contained so the mock does not depend on the code it tests.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/mock-provider/mock.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode n bytes as padded base64 into a new NUL-terminated string. */
char *
mock_b64_encode(const void *src, size_t n)
{
	const unsigned char *s = src;
	char *out, *o;
	size_t i;
	unsigned long v;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return (NULL);
	if ((out = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return (NULL);
	o = out;
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8 |
		    s[i + 2];
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = b64_alphabet[v >> 6 & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)s[i] << 16;
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = b64_alphabet[v >> 6 & 63];
		*o++ = '=';
	}
	*o = '\0';
	return (out);
}

/* The value of one base64 character, or -1. */
static int
b64_value(unsigned char ch)
{
	const char *p;

	if (ch == '\0' || (p = strchr(b64_alphabet, ch)) == NULL)
		return (-1);
	return ((int)(p - b64_alphabet));
}

/*
 * Decode strict base64 (length a multiple of 4, padding only at the end,
 * zero pad bits, no white space) into a new buffer, NUL-terminated after
 * *outlen bytes. NULL on bad input.
 */
unsigned char *
mock_b64_decode(const char *src, size_t n, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)src;
	unsigned char *out;
	size_t i, o = 0, pad = 0;
	int d[4], k;
	unsigned long v;

	if (n % 4 != 0)
		return (NULL);
	if (n > 0 && s[n - 1] == '=')
		pad++;
	if (n > 1 && s[n - 2] == '=')
		pad++;
	if ((out = malloc(n / 4 * 3 + 1)) == NULL)
		return (NULL);
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			/* '=' only in the last group's padding positions. */
			if (i + 4 == n && k >= 4 - (int)pad) {
				d[k] = 0;
				continue;
			}
			if ((d[k] = b64_value(s[i + k])) == -1)
				goto fail;
		}
		v = (unsigned long)d[0] << 18 | (unsigned long)d[1] << 12 |
		    (unsigned long)d[2] << 6 | (unsigned long)d[3];
		out[o++] = v >> 16 & 0xff;
		if (i + 4 < n || pad < 2)
			out[o++] = v >> 8 & 0xff;
		if (i + 4 < n || pad < 1)
			out[o++] = v & 0xff;
		/* Bits under the padding must be zero (canonical form). */
		if (i + 4 == n && ((pad == 1 && (v & 0xff) != 0) ||
		    (pad == 2 && (v & 0xffff) != 0)))
			goto fail;
	}
	out[o] = '\0';
	*outlen = o;
	return (out);

fail:
	free(out);
	return (NULL);
}

/* Encode n bytes as unpadded base64url (RFC 4648 5) into a new string. */
char *
mock_b64url_encode(const void *src, size_t n)
{
	char *out, *p;

	if ((out = mock_b64_encode(src, n)) == NULL)
		return (NULL);
	for (p = out; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=') {
			*p = '\0';
			break;
		}
	}
	return (out);
}

/*
 * Decode unpadded base64url (no '=', '+', '/' or white space, canonical
 * pad bits) like mock_b64_decode. NULL on bad input.
 */
unsigned char *
mock_b64url_decode(const char *src, size_t n, size_t *outlen)
{
	unsigned char *out;
	char *std;
	size_t i;

	/* One leftover character cannot encode a byte. */
	if (n % 4 == 1 || n > SIZE_MAX - 4)
		return (NULL);
	if ((std = malloc(n + 3)) == NULL)
		return (NULL);
	for (i = 0; i < n; i++) {
		if (src[i] == '+' || src[i] == '/' || src[i] == '=')
			goto fail;
		std[i] = src[i] == '-' ? '+' : src[i] == '_' ? '/' : src[i];
	}
	while (i % 4 != 0)
		std[i++] = '=';
	out = mock_b64_decode(std, i, outlen);
	free(std);
	return (out);

fail:
	free(std);
	return (NULL);
}
