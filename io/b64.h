/*
 * b64: standard base64 (RFC 4648, with padding) as SASL uses it.
 */
#ifndef IO_B64_H
#define IO_B64_H

#include <stddef.h>
#include <sys/types.h>

/* Size of the encoding of n bytes, including the terminating NUL. */
#define B64_ENCODED_SIZE(n)	((((n) + 2) / 3) * 4 + 1)
/* Upper bound on the decoding of an n-character string. */
#define B64_DECODED_MAX(n)	(((n) / 4) * 3 + 3)

/*
 * Encode n bytes into dst (NUL-terminated). Returns the encoded length, or
 * -1 if dstsize is too small.
 */
ssize_t	b64_encode(const void *src, size_t n, char *dst, size_t dstsize);
/*
 * Decode n characters of strict base64 (length a multiple of 4, padding only
 * at the end, no white space). Returns the decoded length, or -1 on bad
 * input or if dstsize is too small. An empty input decodes to 0 bytes.
 */
ssize_t	b64_decode(const char *src, size_t n, void *dst, size_t dstsize);

#endif
