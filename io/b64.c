/*
 * b64: standard base64 (RFC 4648, with padding) as SASL uses it. OpenSSL
 * does the arithmetic; this file enforces the strict syntax OpenSSL does not
 * (EVP_DecodeBlock skips white space and keeps the padding in its length).
 * See b64.h.
 */
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "io/b64.h"

/* Largest input either direction takes: EVP_*Block count in an int. */
#define B64_SRC_MAX	((size_t)INT_MAX / 4 * 3 - 3)
/* One base64 quantum: 4 characters, 3 bytes. */
#define B64_QUANTUM	4
#define B64_QBYTES	3

static int
b64_isalpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Encode n bytes into dst (NUL-terminated). Returns the encoded length, or
 * -1 if dstsize is too small.
 */
ssize_t
b64_encode(const void *src, size_t n, char *dst, size_t dstsize)
{
	int r;

	if (n > B64_SRC_MAX || dstsize < B64_ENCODED_SIZE(n))
		return -1;
	if (n == 0) {
		dst[0] = '\0';
		return 0;
	}
	r = EVP_EncodeBlock((unsigned char *)dst, src, (int)n);
	if (r < 0)
		return -1;
	return r;
}

/*
 * Decode n characters of strict base64 (length a multiple of 4, padding only
 * at the end, no white space). Returns the decoded length, or -1 on bad
 * input or if dstsize is too small. An empty input decodes to 0 bytes.
 */
ssize_t
b64_decode(const char *src, size_t n, void *dst, size_t dstsize)
{
	const unsigned char *s = (const unsigned char *)src;
	unsigned char last[B64_QBYTES];
	size_t i, pad, body, outlen;

	if (n == 0)
		return 0;
	if (n % B64_QUANTUM != 0 || n > B64_SRC_MAX)
		return -1;

	/* "xx==" or "xxx=" only: never "x===", never "=" before a letter. */
	pad = 0;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++)
		if (!b64_isalpha(s[i]))
			return -1;

	outlen = n / B64_QUANTUM * B64_QBYTES - pad;
	if (outlen > dstsize)
		return -1;

	/*
	 * EVP_DecodeBlock writes 3 bytes for every quantum, padding included:
	 * decode the last quantum apart so that dstsize may be exact.
	 */
	body = n - B64_QUANTUM;
	if (body > 0 &&
	    EVP_DecodeBlock(dst, s, (int)body) != (int)(body / B64_QUANTUM *
	    B64_QBYTES))
		return -1;
	if (EVP_DecodeBlock(last, s + body, B64_QUANTUM) != B64_QBYTES) {
		explicit_bzero(last, sizeof(last));
		return -1;
	}
	memcpy((unsigned char *)dst + body / B64_QUANTUM * B64_QBYTES, last,
	    B64_QBYTES - pad);
	/* The input may be a password. */
	explicit_bzero(last, sizeof(last));
	return (ssize_t)outlen;
}
