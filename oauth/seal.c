/*
 * seal: token files sealed at rest with AES-256-GCM through OpenSSL's EVP
 * interface, in a versioned JSON envelope. See seal.h.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "io/errf.h"
#include "io/b64.h"
#include "oauth/seal.h"
#include "oauth/wipe.h"

/* Largest plaintext taken: EVP counts bytes in an int. */
#define SEAL_PLAIN_MAX	((size_t)INT_MAX / 2)


/*
 * One AES-256-GCM pass over len bytes of in into out (as many bytes):
 * encrypting makes tag, decrypting checks it. Returns 0, or -1 (for a
 * decryption: the tag does not match).
 */
static int
seal_gcm(int enc, const unsigned char *key, const unsigned char *nonce,
    const char *aad, const unsigned char *in, size_t len, unsigned char *out,
    unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx;
	int n, r = -1;

	if (len > SEAL_PLAIN_MAX || strlen(aad) > SEAL_PLAIN_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
	    (int)strlen(aad)) != 1 ||
	    (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1))
		goto done;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto done;
	/* GCM is a stream mode: Final writes nothing, it checks the tag. */
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1)
		goto done;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto done;
	r = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/*
 * Seal len bytes of plain under key, binding aad (a NUL-terminated string),
 * into out as the JSON text above, with a newline and a NUL. Returns the
 * text's length, or -1 if out is too small or OpenSSL fails.
 */
ssize_t
seal_wrap(const unsigned char key[SEAL_KEY_LEN], const char *aad,
    const void *plain, size_t len, char *out, size_t outsize)
{
	unsigned char nonce[SEAL_NONCE_LEN], tag[SEAL_TAG_LEN];
	char nonce64[B64_ENCODED_SIZE(SEAL_NONCE_LEN)];
	char tag64[B64_ENCODED_SIZE(SEAL_TAG_LEN)];
	unsigned char *ct = NULL;
	ssize_t r = -1;
	size_t n;
	int m;

	if (len > SEAL_PLAIN_MAX || outsize < SEAL_SEALED_SIZE(len) ||
	    (ct = malloc(len + 1)) == NULL)
		return -1;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    seal_gcm(1, key, nonce, aad, plain, len, ct, tag) == -1)
		goto done;
	if (b64_encode(nonce, sizeof(nonce), nonce64, sizeof(nonce64)) ==
	    -1 || b64_encode(tag, sizeof(tag), tag64, sizeof(tag64)) == -1)
		goto done;
	m = snprintf(out, outsize, "{\"version\":%d,\"sealed\":\"%s\","
	    "\"nonce\":\"%s\",\"data\":\"", SEAL_VERSION, SEAL_ALG, nonce64);
	if (m < 0 || (size_t)m >= outsize)
		goto done;
	n = (size_t)m;
	if ((r = b64_encode(ct, len, out + n, outsize - n)) == -1)
		goto done;
	n += (size_t)r;
	r = -1;
	m = snprintf(out + n, outsize - n, "\",\"tag\":\"%s\"}\n", tag64);
	if (m < 0 || (size_t)m >= outsize - n)
		goto done;
	r = (ssize_t)(n + (size_t)m);
done:
	free(ct);
	return r;
}

/*
 * Whether text (len bytes) is a sealed file: a JSON object with a "sealed"
 * member. A plain token file is not.
 */
int
seal_is_sealed(const char *text, size_t len)
{
	json_t *o;
	int r;

	wipe_json_init();
	if ((o = json_loadb(text, len, 0, NULL)) == NULL)
		return 0;
	r = json_is_object(o) && json_object_get(o, "sealed") != NULL;
	json_decref(o);
	return r;
}

/* Decode the base64 member key of o into dst: exactly want bytes if want. */
static ssize_t
seal_member(json_t *o, const char *key, unsigned char *dst, size_t size,
    size_t want)
{
	json_t *v;
	ssize_t n;

	if ((v = json_object_get(o, key)) == NULL || !json_is_string(v))
		return -1;
	n = b64_decode(json_string_value(v), json_string_length(v), dst, size);
	if (n == -1 || (want > 0 && (size_t)n != want))
		return -1;
	return n;
}

/*
 * Open sealed text (len bytes) with key and aad into out. Returns the
 * plaintext's length, or -1 with a reason in err (no secret in it) when the
 * text is not a sealed file of a known version and algorithm, out is too
 * small, or the tag does not match (wrong key, altered file, or another
 * account's file). out is wiped on failure.
 */
ssize_t
seal_unwrap(const unsigned char key[SEAL_KEY_LEN], const char *aad,
    const char *text, size_t len, void *out, size_t outsize, char *err,
    size_t errsize)
{
	unsigned char nonce[SEAL_NONCE_LEN], tag[SEAL_TAG_LEN];
	unsigned char *ct = NULL;
	json_error_t jerr;
	json_t *o, *v;
	ssize_t n = -1, r = -1;

	wipe_json_init();
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		errf(err, errsize, "sealed file is not valid JSON (line %d "
		    "column %d)", jerr.line, jerr.column);
		goto done;
	}
	if (!json_is_object(o) || (v = json_object_get(o, "version")) ==
	    NULL || !json_is_integer(v) ||
	    json_integer_value(v) != SEAL_VERSION) {
		errf(err, errsize, "sealed file of an unknown version");
		goto done;
	}
	if ((v = json_object_get(o, "sealed")) == NULL ||
	    !json_is_string(v) || strcmp(json_string_value(v), SEAL_ALG) !=
	    0) {
		errf(err, errsize, "sealed file of an unknown algorithm "
		    "(not %s)", SEAL_ALG);
		goto done;
	}
	if ((v = json_object_get(o, "data")) == NULL || !json_is_string(v) ||
	    (ct = malloc(B64_DECODED_MAX(json_string_length(v)) + 1)) ==
	    NULL ||
	    seal_member(o, "nonce", nonce, sizeof(nonce), SEAL_NONCE_LEN) ==
	    -1 ||
	    seal_member(o, "tag", tag, sizeof(tag), SEAL_TAG_LEN) == -1 ||
	    (n = seal_member(o, "data", ct,
	    B64_DECODED_MAX(json_string_length(v)), 0)) == -1) {
		errf(err, errsize, "sealed file with a missing or bad "
		    "nonce, data or tag");
		goto done;
	}
	if ((size_t)n >= outsize) {
		errf(err, errsize, "sealed file too large");
		goto done;
	}
	if (seal_gcm(0, key, nonce, aad, ct, (size_t)n, out, tag) == -1) {
		explicit_bzero(out, outsize);
		errf(err, errsize, "cannot unseal: wrong token key, or the "
		    "file was altered or belongs to another account");
		goto done;
	}
	r = n;
done:
	free(ct);
	json_decref(o);
	return r;
}
