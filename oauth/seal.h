/*
 * seal: token files sealed at rest with AES-256-GCM (OpenSSL EVP). A sealed
 * file is one JSON object, version 1:
 *
 *   {"version":1,"sealed":"aes-256-gcm","nonce":B64,"data":B64,"tag":B64}
 *
 * B64 being standard base64 with padding: nonce is 12 random bytes (new for
 * every write), data the ciphertext of the plain token file (as many bytes
 * as the plaintext), tag the 16-byte GCM tag. The additional authenticated
 * data is the account name (its bytes, no NUL), so a sealed file moved to
 * another account's name does not open. Pure apart from the random nonce.
 */
#ifndef OAUTH_SEAL_H
#define OAUTH_SEAL_H

#include <stddef.h>
#include <sys/types.h>

#include "io/b64.h"

#define SEAL_KEY_LEN		32	/* AES-256 */
#define SEAL_NONCE_LEN		12	/* GCM's 96-bit IV */
#define SEAL_TAG_LEN		16
#define SEAL_VERSION		1
#define SEAL_ALG		"aes-256-gcm"
/* Bytes of the envelope around its three base64 strings, at most. */
#define SEAL_ENVELOPE_OVERHEAD	128
/* Size of the sealed text of n plain bytes, NUL included, at most. */
#define SEAL_SEALED_SIZE(n)	(B64_ENCODED_SIZE(n) + \
				    B64_ENCODED_SIZE(SEAL_NONCE_LEN) + \
				    B64_ENCODED_SIZE(SEAL_TAG_LEN) + \
				    SEAL_ENVELOPE_OVERHEAD)

/*
 * Seal len bytes of plain under key, binding aad (a NUL-terminated string),
 * into out as the JSON text above, with a newline and a NUL. Returns the
 * text's length, or -1 if out is too small or OpenSSL fails.
 */
ssize_t	seal_wrap(const unsigned char key[SEAL_KEY_LEN], const char *aad,
	    const void *plain, size_t len, char *out, size_t outsize);
/*
 * Whether text (len bytes) is a sealed file: a JSON object with a "sealed"
 * member. A plain token file is not.
 */
int	seal_is_sealed(const char *text, size_t len);
/*
 * Open sealed text (len bytes) with key and aad into out. Returns the
 * plaintext's length, or -1 with a reason in err (no secret in it) when the
 * text is not a sealed file of a known version and algorithm, out is too
 * small, or the tag does not match (wrong key, altered file, or another
 * account's file). out is wiped on failure.
 */
ssize_t	seal_unwrap(const unsigned char key[SEAL_KEY_LEN], const char *aad,
	    const char *text, size_t len, void *out, size_t outsize,
	    char *err, size_t errsize);

#endif
