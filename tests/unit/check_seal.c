/*
 * check_seal: the sealed envelope in memory: round trips, a known answer
 * made by another implementation (Python's cryptography), a wrong key, a
 * wrong account (additional data), altered bytes, and malformed envelopes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/seal.h"
#include "tests/unit/suites.h"

#define ERRSZ		256
#define TEXTSZ		4096

static const unsigned char sl_key[SEAL_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static const char sl_plain[] =
    "{\"version\":1,\"refresh_token\":\"kat-refresh\"}\n";

/*
 * sl_plain sealed under sl_key for account "kat-account" with the nonce
 * 00 01 .. 0b, by AESGCM of Python's cryptography package.
 */
static const char sl_kat[] =
    "{\"version\":1,\"sealed\":\"aes-256-gcm\",\"nonce\":\"AAECAwQFBgcICQoL\","
    "\"data\":\"PCCgfreWq3TjY626ncsKCOWk4keYJCsTUwKLpydLa9N1PdyZybN36xyGAuc"
    "=\",\"tag\":\"hwk1r4h5gsG4TazIm74plw==\"}";

START_TEST(test_known_answer)
{
	char out[TEXTSZ], err[ERRSZ];
	ssize_t n;

	ck_assert(seal_is_sealed(sl_kat, strlen(sl_kat)));
	n = seal_unwrap(sl_key, "kat-account", sl_kat, strlen(sl_kat), out,
	    sizeof(out), err, sizeof(err));
	ck_assert_int_eq(n, (ssize_t)strlen(sl_plain));
	ck_assert_mem_eq(out, sl_plain, (size_t)n);
	/* The account name is the additional data, byte for byte. */
	ck_assert_int_eq(seal_unwrap(sl_key, "kat-account2", sl_kat,
	    strlen(sl_kat), out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_int_eq(seal_unwrap(sl_key, "", sl_kat, strlen(sl_kat), out,
	    sizeof(out), err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_roundtrip)
{
	char text[TEXTSZ], text2[TEXTSZ], out[TEXTSZ], err[ERRSZ];
	ssize_t n, m;

	n = seal_wrap(sl_key, "acct", sl_plain, strlen(sl_plain), text,
	    sizeof(text));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq((size_t)n, strlen(text));
	ck_assert_int_le((size_t)n + 1, SEAL_SEALED_SIZE(strlen(sl_plain)));
	ck_assert_int_eq(text[n - 1], '\n');
	ck_assert_ptr_nonnull(strstr(text, "{\"version\":1,\"sealed\":"
	    "\"aes-256-gcm\",\"nonce\":\""));
	ck_assert_ptr_null(strstr(text, "kat-refresh"));
	ck_assert(seal_is_sealed(text, (size_t)n));
	m = seal_unwrap(sl_key, "acct", text, (size_t)n, out, sizeof(out),
	    err, sizeof(err));
	ck_assert_int_eq(m, (ssize_t)strlen(sl_plain));
	ck_assert_mem_eq(out, sl_plain, (size_t)m);

	/* A new nonce for every seal. */
	ck_assert_int_gt(seal_wrap(sl_key, "acct", sl_plain, strlen(sl_plain),
	    text2, sizeof(text2)), 0);
	ck_assert_str_ne(text, text2);
}
END_TEST

START_TEST(test_empty)
{
	char text[TEXTSZ], out[16], err[ERRSZ];
	ssize_t n;

	n = seal_wrap(sl_key, "a", "", 0, text, sizeof(text));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(seal_unwrap(sl_key, "a", text, (size_t)n, out,
	    sizeof(out), err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_wrong_key)
{
	unsigned char key2[SEAL_KEY_LEN];
	char text[TEXTSZ], out[TEXTSZ], err[ERRSZ];
	ssize_t n;

	memcpy(key2, sl_key, sizeof(key2));
	key2[SEAL_KEY_LEN - 1] ^= 0x80;
	n = seal_wrap(sl_key, "acct", sl_plain, strlen(sl_plain), text,
	    sizeof(text));
	ck_assert_int_gt(n, 0);
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(seal_unwrap(key2, "acct", text, (size_t)n, out,
	    sizeof(out), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "wrong token key"));
	/* Nothing of the plaintext is left behind. */
	ck_assert_ptr_null(memmem(out, sizeof(out), "kat-refresh",
	    strlen("kat-refresh")));
	ck_assert_int_eq(seal_unwrap(sl_key, "other", text, (size_t)n, out,
	    sizeof(out), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "another account"));
}
END_TEST

static const char sl_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Every character of nonce, data and tag matters. */
START_TEST(test_tampered)
{
	const char *member[] = { "\"nonce\":\"", "\"data\":\"", "\"tag\":\"" };
	char text[TEXTSZ], bad[TEXTSZ], out[TEXTSZ], err[ERRSZ];
	const char *p;
	size_t start, i, nchanged = 0;
	ssize_t n;

	n = seal_wrap(sl_key, "acct", sl_plain, strlen(sl_plain), text,
	    sizeof(text));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(p = strstr(text, member[_i]));
	start = (size_t)(p - text) + strlen(member[_i]);
	for (i = start; text[i] != '"'; i++) {
		if (text[i] == '=')
			continue;
		memcpy(bad, text, (size_t)n + 1);
		/* Flip the top bit of the six: always a data bit. */
		bad[i] = sl_alphabet[(strchr(sl_alphabet, bad[i]) -
		    sl_alphabet) ^ 32];
		ck_assert_msg(seal_unwrap(sl_key, "acct", bad, (size_t)n, out,
		    sizeof(out), err, sizeof(err)) == -1,
		    "member %d offset %zu", _i, i - start);
		nchanged++;
	}
	ck_assert_uint_gt(nchanged, 0);
}
END_TEST

/* Malformed envelopes: refused, with a word of why. */
static const struct {
	const char	*text;
	const char	*err_part;
} sl_bad[] = {
	{ "{\"version\":1,\"sealed\":", "not valid JSON" },
	{ "[1]", "unknown version" },
	{ "{\"sealed\":\"aes-256-gcm\"}", "unknown version" },
	{ "{\"version\":2,\"sealed\":\"aes-256-gcm\",\"nonce\":"
	  "\"AAECAwQFBgcICQoL\",\"data\":\"\",\"tag\":"
	  "\"hwk1r4h5gsG4TazIm74plw==\"}", "unknown version" },
	{ "{\"version\":\"1\",\"sealed\":\"aes-256-gcm\"}", "unknown version" },
	{ "{\"version\":1,\"sealed\":\"aes-128-gcm\"}", "unknown algorithm" },
	{ "{\"version\":1,\"sealed\":true}", "unknown algorithm" },
	{ "{\"version\":1,\"sealed\":\"aes-256-gcm\"}", "nonce, data or tag" },
	{ "{\"version\":1,\"sealed\":\"aes-256-gcm\",\"nonce\":"
	  "\"AAECAwQFBgcICQo=\",\"data\":\"\",\"tag\":"
	  "\"hwk1r4h5gsG4TazIm74plw==\"}", "nonce, data or tag" },
	{ "{\"version\":1,\"sealed\":\"aes-256-gcm\",\"nonce\":"
	  "\"AAECAwQFBgcICQoL\",\"data\":\"\",\"tag\":"
	  "\"hwk1r4h5gsG4TazIm74p\"}", "nonce, data or tag" },
	{ "{\"version\":1,\"sealed\":\"aes-256-gcm\",\"nonce\":"
	  "\"AAECAwQFBgcICQoL\",\"data\":\"!!!!\",\"tag\":"
	  "\"hwk1r4h5gsG4TazIm74plw==\"}", "nonce, data or tag" },
	{ "{\"version\":1,\"sealed\":\"aes-256-gcm\",\"nonce\":"
	  "\"AAECAwQFBgcICQoL\",\"data\":7,\"tag\":"
	  "\"hwk1r4h5gsG4TazIm74plw==\"}", "nonce, data or tag" },
	{ "{\"version\":1,\"sealed\":\"aes-256-gcm\",\"nonce\":"
	  "\"AAECAwQFBgcICQoL\",\"tag\":\"hwk1r4h5gsG4TazIm74plw==\"}",
	  "nonce, data or tag" },
	{ "{\"version\":1,\"sealed\":\"aes-256-gcm\",\"nonce\":"
	  "\"AAECAwQFBgcICQoL\",\"data\":\"\",\"tag\":"
	  "\"hwk1r4h5gsG4TazIm74plw==\"}", "cannot unseal" },
	{ "{\"version\":1,\"version\":1,\"sealed\":\"aes-256-gcm\"}",
	  "not valid JSON" },
};

START_TEST(test_bad_envelope)
{
	char out[TEXTSZ], err[ERRSZ];

	err[0] = '\0';
	ck_assert_int_eq(seal_unwrap(sl_key, "a", sl_bad[_i].text,
	    strlen(sl_bad[_i].text), out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, sl_bad[_i].err_part) != NULL,
	    "vector %d: \"%s\" lacks \"%s\"", _i, err, sl_bad[_i].err_part);
}
END_TEST

START_TEST(test_sizes)
{
	char text[TEXTSZ], out[TEXTSZ], err[ERRSZ];
	size_t need = SEAL_SEALED_SIZE(strlen(sl_plain));
	ssize_t n;

	/* Too small for the sealed text: refused, whatever the nonce. */
	ck_assert_int_eq(seal_wrap(sl_key, "a", sl_plain, strlen(sl_plain),
	    text, need - 1), -1);
	n = seal_wrap(sl_key, "a", sl_plain, strlen(sl_plain), text, need);
	ck_assert_int_gt(n, 0);
	/* The plaintext and a byte more must fit in out. */
	ck_assert_int_eq(seal_unwrap(sl_key, "a", text, (size_t)n, out,
	    strlen(sl_plain), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too large"));
	ck_assert_int_eq(seal_unwrap(sl_key, "a", text, (size_t)n, out,
	    strlen(sl_plain) + 1, err, sizeof(err)),
	    (ssize_t)strlen(sl_plain));
}
END_TEST

START_TEST(test_is_sealed)
{
	const char *plain = "{\"version\":1,\"refresh_token\":\"r\"}";

	ck_assert(!seal_is_sealed(plain, strlen(plain)));
	ck_assert(!seal_is_sealed("", 0));
	ck_assert(!seal_is_sealed("{", 1));
	ck_assert(!seal_is_sealed("[\"sealed\"]", 10));
	ck_assert(seal_is_sealed("{\"sealed\":1}", 12));
}
END_TEST

Suite *
seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *tc = tcase_create("envelope");

	tcase_add_test(tc, test_known_answer);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_loop_test(tc, test_tampered, 0, 3);
	tcase_add_loop_test(tc, test_bad_envelope, 0,
	    sizeof(sl_bad) / sizeof(sl_bad[0]));
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_is_sealed);
	suite_add_tcase(s, tc);
	return s;
}
