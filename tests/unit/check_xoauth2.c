/*
 * check_xoauth2: upstream/xoauth2, the AUTH XOAUTH2 initial response:
 * Google's documented example, the largest token, sizes, control bytes.
 */
#include <string.h>

#include "io/b64.h"
#include "upstream/xoauth2.h"
#include "tests/unit/suites.h"

/* The largest access token Google documents, and an address at the limit. */
#define T_TOKEN_MAX	2048
#define T_USER_MAX	256
/* Longest token with user "a@b" whose encoding fits in XOAUTH2_MAX. */
#define T_TOKEN_EDGE	((XOAUTH2_MAX - 1) / 4 * 3 - 23)

static const struct {
	const char	*user;
	const char	*token;
	const char	*b64;	/* NULL: -1 expected */
} xoauth2_vectors[] = {
	/* https://developers.google.com/gmail/imap/xoauth2-protocol */
	{ "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
	    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRm"
	    "dDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==" },
	{ "a@b", "t", "dXNlcj1hQGIBYXV0aD1CZWFyZXIgdAEB" },
	{ "", "", "dXNlcj0BYXV0aD1CZWFyZXIgAQE=" },
	/* Control characters would split or forge the fields. */
	{ "a@b\001auth=Bearer x", "t", NULL },
	{ "a@b", "tok\001\001", NULL },
	{ "a@b\r\nQUIT", "t", NULL },
	{ "a@b", "t\n", NULL },
	{ "a@b", "t\t", NULL },
	{ "a@b\x7f", "t", NULL },
};
#define N_XOAUTH2_VECTORS	(sizeof(xoauth2_vectors) / \
				    sizeof(xoauth2_vectors[0]))

START_TEST(test_xoauth2_vectors)
{
	char out[XOAUTH2_MAX];
	const char *want = xoauth2_vectors[_i].b64;
	ssize_t r;

	r = xoauth2_encode(xoauth2_vectors[_i].user, xoauth2_vectors[_i].token,
	    out, sizeof(out));
	if (want == NULL) {
		ck_assert_int_eq(r, -1);
		return;
	}
	ck_assert_int_eq(r, (ssize_t)strlen(want));
	ck_assert_str_eq(out, want);
	/* Exactly its length and NUL fit; one byte less does not. */
	ck_assert_int_eq(xoauth2_encode(xoauth2_vectors[_i].user,
	    xoauth2_vectors[_i].token, out, (size_t)r + 1), r);
	ck_assert_int_eq(xoauth2_encode(xoauth2_vectors[_i].user,
	    xoauth2_vectors[_i].token, out, (size_t)r), -1);
	ck_assert_int_eq(xoauth2_encode(xoauth2_vectors[_i].user,
	    xoauth2_vectors[_i].token, out, 0), -1);
}
END_TEST

/* A 2048-byte token and a 256-byte address fit in XOAUTH2_MAX. */
START_TEST(test_xoauth2_large_token)
{
	char user[T_USER_MAX + 1], token[T_TOKEN_MAX + 1];
	char out[XOAUTH2_MAX], plain[XOAUTH2_MAX];
	ssize_t r, n;

	memset(user, 'u', T_USER_MAX);
	memcpy(user + T_USER_MAX - 4, "@b.c", 4);
	user[T_USER_MAX] = '\0';
	memset(token, 'T', T_TOKEN_MAX);
	token[T_TOKEN_MAX] = '\0';

	r = xoauth2_encode(user, token, out, sizeof(out));
	ck_assert_int_gt(r, 0);
	ck_assert_uint_eq(strlen(out), (size_t)r);
	ck_assert_uint_lt((size_t)r, XOAUTH2_MAX);

	/* It decodes back to the documented shape. */
	n = b64_decode(out, (size_t)r, plain, sizeof(plain));
	ck_assert_int_eq(n, 5 + T_USER_MAX + 1 + 12 + T_TOKEN_MAX + 2);
	ck_assert_mem_eq(plain, "user=", 5);
	ck_assert_mem_eq(plain + 5, user, T_USER_MAX);
	ck_assert_mem_eq(plain + 5 + T_USER_MAX, "\001auth=Bearer ", 13);
	ck_assert_mem_eq(plain + 5 + T_USER_MAX + 13, token, T_TOKEN_MAX);
	ck_assert_mem_eq(plain + n - 2, "\001\001", 2);

	/* A too small dst fails. */
	ck_assert_int_eq(xoauth2_encode(user, token, out, 512), -1);
}
END_TEST

/* A token too large for XOAUTH2_MAX fails, whatever dstsize. */
START_TEST(test_xoauth2_too_large)
{
	static char token[XOAUTH2_MAX + 1];
	static char out[2 * XOAUTH2_MAX];

	memset(token, 'T', XOAUTH2_MAX);
	token[XOAUTH2_MAX] = '\0';
	ck_assert_int_eq(xoauth2_encode("a@b", token, out, sizeof(out)), -1);
	/*
	 * The limit: "user=a@b" ^A "auth=Bearer " token ^A ^A (23 + token
	 * bytes) must encode, with its NUL, into XOAUTH2_MAX.
	 */
	token[T_TOKEN_EDGE] = '\0';
	ck_assert_int_eq(xoauth2_encode("a@b", token, out, sizeof(out)),
	    XOAUTH2_MAX - 4);
	token[T_TOKEN_EDGE] = 'T';
	token[T_TOKEN_EDGE + 1] = '\0';
	ck_assert_int_eq(xoauth2_encode("a@b", token, out, sizeof(out)), -1);
}
END_TEST

Suite *
xoauth2_suite(void)
{
	Suite *s = suite_create("xoauth2");
	TCase *tc = tcase_create("xoauth2");

	tcase_add_loop_test(tc, test_xoauth2_vectors, 0, N_XOAUTH2_VECTORS);
	tcase_add_test(tc, test_xoauth2_large_token);
	tcase_add_test(tc, test_xoauth2_too_large);
	suite_add_tcase(s, tc);
	return s;
}
