/*
 * check_sasl: proxy/sasl, the AUTH PLAIN (RFC 4616) and AUTH LOGIN
 * response decoders.
 */
#include <string.h>

#include "io/b64.h"
#include "proxy/sasl.h"
#include "tests/unit/suites.h"

/* Plain text of the longest test message, and its encoding. */
#define T_PLAIN_MAX	(2 * (SASL_USER_MAX + 8) + SASL_PASS_MAX + 8 + 2)
#define T_B64_MAX	B64_ENCODED_SIZE(T_PLAIN_MAX)

static const struct {
	const char	*b64;
	int		 ret;
	const char	*user;
	const char	*pass;
} plain_vectors[] = {
	/* RFC 4616 section 4: "\0tim\0tanstaaftanstaaf". */
	{ "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 0, "tim", "tanstaaftanstaaf" },
	/* Authzid equal to the authcid. */
	{ "dGltAHRpbQB0YW5zdGFhZnRhbnN0YWFm", 0, "tim", "tanstaaftanstaaf" },
	/* RFC 4616 section 4: "Ursel\0Kurt\0xipj3plmq": acting as someone
	   else is refused. */
	{ "VXJzZWwAS3VydAB4aXBqM3BsbXE=", -1, NULL, NULL },
	/* Authzid differs only in case: still someone else. */
	{ "VGltAHRpbQBwdw==", -1, NULL, NULL },
	/* UTF-8 and a space in the password. */
	{ "AGRldkBleGFtcGxlLmNvbQBzM2NyZXQgcMOkc3M=", 0, "dev@example.com",
	    "s3cret p\xc3\xa4ss" },
	{ "AMOpAMOp", 0, "\xc3\xa9", "\xc3\xa9" },
	/* An empty password decodes; checking it is the caller's job. */
	{ "AHRpbQA=", 0, "tim", "" },
	/* Empty authcid: "\0\0pass", "\0\0\0". */
	{ "AABwYXNz", -1, NULL, NULL },
	{ "AAAA", -1, NULL, NULL },
	/* Too few fields: "tim\0pass", "tim", "". */
	{ "dGltAHBhc3M=", -1, NULL, NULL },
	{ "dGlt", -1, NULL, NULL },
	{ "", -1, NULL, NULL },
	/* Too many NULs: "\0tim\0pa\0ss", "\0tim\0pass\0", "\0tim\0\0". */
	{ "AHRpbQBwYQBzcw==", -1, NULL, NULL },
	{ "AHRpbQBwYXNzAA==", -1, NULL, NULL },
	{ "AHRpbQAA", -1, NULL, NULL },
	/* Bad base64. */
	{ "=", -1, NULL, NULL },
	{ "*", -1, NULL, NULL },
	{ "AHRpbQB0YW5zdGFhZnRhbnN0YWF", -1, NULL, NULL },
	{ "AHRpbQB0YW5zdGFhZnRh bnN0YWFm", -1, NULL, NULL },
	{ "AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", -1, NULL, NULL },
	{ "AHRpbQB0YW5zdGFhZnRhbnN0YWFm====", -1, NULL, NULL },
};
#define N_PLAIN_VECTORS	(sizeof(plain_vectors) / sizeof(plain_vectors[0]))

START_TEST(test_sasl_plain)
{
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	const char *b64 = plain_vectors[_i].b64;

	memset(user, 'X', sizeof(user));
	memset(pass, 'X', sizeof(pass));
	ck_assert_int_eq(sasl_plain_decode(b64, strlen(b64), user,
	    sizeof(user), pass, sizeof(pass)), plain_vectors[_i].ret);
	if (plain_vectors[_i].ret == 0) {
		ck_assert_str_eq(user, plain_vectors[_i].user);
		ck_assert_str_eq(pass, plain_vectors[_i].pass);
	} else {
		/* Nothing half-decoded is left behind. */
		ck_assert_str_eq(user, "");
		ck_assert_str_eq(pass, "");
	}
}
END_TEST

/* Encode authzid NUL authcid NUL passwd with fields of n, m, k bytes. */
static size_t
t_plain(char *b64, size_t zlen, size_t clen, size_t plen)
{
	char plain[T_PLAIN_MAX];
	size_t n = 0;
	ssize_t r;

	ck_assert_uint_le(zlen + clen + plen + 2, sizeof(plain));
	memset(plain + n, 'u', zlen);
	n += zlen;
	plain[n++] = '\0';
	memset(plain + n, 'u', clen);
	n += clen;
	plain[n++] = '\0';
	memset(plain + n, 'p', plen);
	n += plen;
	r = b64_encode(plain, n, b64, T_B64_MAX);
	ck_assert_int_gt(r, 0);
	return (size_t)r;
}

START_TEST(test_sasl_plain_limits)
{
	char b64[T_B64_MAX];
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	char small[8];
	size_t n;

	/* The longest of each field fits. */
	n = t_plain(b64, SASL_USER_MAX, SASL_USER_MAX, SASL_PASS_MAX);
	ck_assert_int_eq(sasl_plain_decode(b64, n, user, sizeof(user), pass,
	    sizeof(pass)), 0);
	ck_assert_uint_eq(strlen(user), SASL_USER_MAX);
	ck_assert_uint_eq(strlen(pass), SASL_PASS_MAX);

	/* One byte more in any field does not. */
	n = t_plain(b64, 0, SASL_USER_MAX + 1, 1);
	ck_assert_int_eq(sasl_plain_decode(b64, n, user, sizeof(user), pass,
	    sizeof(pass)), -1);
	n = t_plain(b64, 0, 1, SASL_PASS_MAX + 1);
	ck_assert_int_eq(sasl_plain_decode(b64, n, user, sizeof(user), pass,
	    sizeof(pass)), -1);
	n = t_plain(b64, SASL_USER_MAX + 1, SASL_USER_MAX + 1, 1);
	ck_assert_int_eq(sasl_plain_decode(b64, n, user, sizeof(user), pass,
	    sizeof(pass)), -1);
	/* Far over: the base64 itself is longer than any message. */
	n = t_plain(b64, SASL_USER_MAX + 8, SASL_USER_MAX + 8,
	    SASL_PASS_MAX + 8);
	ck_assert_int_eq(sasl_plain_decode(b64, n, user, sizeof(user), pass,
	    sizeof(pass)), -1);

	/* The caller's buffers bound it too: size - 1 bytes fit. */
	n = t_plain(b64, 0, sizeof(small) - 1, 3);
	ck_assert_int_eq(sasl_plain_decode(b64, n, small, sizeof(small), pass,
	    sizeof(pass)), 0);
	n = t_plain(b64, 0, sizeof(small), 3);
	ck_assert_int_eq(sasl_plain_decode(b64, n, small, sizeof(small), pass,
	    sizeof(pass)), -1);
	n = t_plain(b64, 0, 3, sizeof(small) - 1);
	ck_assert_int_eq(sasl_plain_decode(b64, n, user, sizeof(user), small,
	    sizeof(small)), 0);
	n = t_plain(b64, 0, 3, sizeof(small));
	ck_assert_int_eq(sasl_plain_decode(b64, n, user, sizeof(user), small,
	    sizeof(small)), -1);
	ck_assert_int_eq(sasl_plain_decode(b64, n, user, 0, small, 0), -1);
}
END_TEST

static const struct {
	const char	*b64;
	int		 ret;
	const char	*out;
} login_vectors[] = {
	{ "dXNlcg==", 0, "user" },
	{ "cGFzc3dvcmQ=", 0, "password" },
	{ "w6k=", 0, "\xc3\xa9" },
	/* "Username:" as a client would never send it, but decodable. */
	{ "VXNlcm5hbWU6", 0, "Username:" },
	/* An empty value decodes; the caller decides. */
	{ "", 0, "" },
	/* Embedded NUL: "us\0er", "\0\0\0". */
	{ "dXMAZXI=", -1, NULL },
	{ "AAAA", -1, NULL },
	/* Bad base64; "*" is the cancel the caller checks first. */
	{ "*", -1, NULL },
	{ "=", -1, NULL },
	{ "dXNlcg", -1, NULL },
	{ "dXNlcg==\r", -1, NULL },
	{ " dXNlcg==", -1, NULL },
	{ "dXN-cg==", -1, NULL },
};
#define N_LOGIN_VECTORS	(sizeof(login_vectors) / sizeof(login_vectors[0]))

START_TEST(test_sasl_login)
{
	char out[SASL_PASS_MAX + 1];
	const char *b64 = login_vectors[_i].b64;

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(sasl_login_decode(b64, strlen(b64), out,
	    sizeof(out)), login_vectors[_i].ret);
	if (login_vectors[_i].ret == 0)
		ck_assert_str_eq(out, login_vectors[_i].out);
	else
		ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_sasl_login_limits)
{
	char plain[SASL_PASS_MAX + 8], b64[B64_ENCODED_SIZE(SASL_PASS_MAX + 8)];
	char out[SASL_PASS_MAX + 8];
	ssize_t n;

	memset(plain, 'p', sizeof(plain));
	n = b64_encode(plain, SASL_PASS_MAX, b64, sizeof(b64));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(sasl_login_decode(b64, (size_t)n, out, sizeof(out)),
	    0);
	ck_assert_uint_eq(strlen(out), SASL_PASS_MAX);
	/* Exactly the value and its NUL. */
	ck_assert_int_eq(sasl_login_decode(b64, (size_t)n, out,
	    SASL_PASS_MAX + 1), 0);
	ck_assert_int_eq(sasl_login_decode(b64, (size_t)n, out,
	    SASL_PASS_MAX), -1);
	ck_assert_int_eq(sasl_login_decode(b64, (size_t)n, out, 0), -1);

	/* Over the limit, even with room for it. */
	n = b64_encode(plain, SASL_PASS_MAX + 1, b64, sizeof(b64));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(sasl_login_decode(b64, (size_t)n, out, sizeof(out)),
	    -1);
	n = b64_encode(plain, sizeof(plain), b64, sizeof(b64));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(sasl_login_decode(b64, (size_t)n, out, sizeof(out)),
	    -1);
}
END_TEST

Suite *
sasl_suite(void)
{
	Suite *s = suite_create("sasl");
	TCase *tc = tcase_create("sasl");

	tcase_add_loop_test(tc, test_sasl_plain, 0, N_PLAIN_VECTORS);
	tcase_add_test(tc, test_sasl_plain_limits);
	tcase_add_loop_test(tc, test_sasl_login, 0, N_LOGIN_VECTORS);
	tcase_add_test(tc, test_sasl_login_limits);
	suite_add_tcase(s, tc);
	return s;
}
