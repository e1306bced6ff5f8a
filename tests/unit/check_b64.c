/*
 * check_b64: io/b64 against the RFC 4648 vectors, strictness on bad input,
 * and exact output sizes.
 */
#include <stdlib.h>
#include <string.h>

#include "io/b64.h"
#include "tests/unit/suites.h"

#define T_B64_BUF	64

/* RFC 4648 section 10, plus binary bytes. */
static const struct {
	const char	*plain;
	size_t		 plainlen;
	const char	*enc;
} b64_vectors[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg==" },
	{ "fo", 2, "Zm8=" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg==" },
	{ "fooba", 5, "Zm9vYmE=" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\0", 1, "AA==" },
	{ "\0\0\0", 3, "AAAA" },
	{ "\xff\xfe\xfd", 3, "//79" },
	{ "\xfb\xff", 2, "+/8=" },
	{ "\0user\0pass", 10, "AHVzZXIAcGFzcw==" },
};
#define N_B64_VECTORS	(sizeof(b64_vectors) / sizeof(b64_vectors[0]))

START_TEST(test_b64_encode_vectors)
{
	char out[T_B64_BUF];
	size_t elen = strlen(b64_vectors[_i].enc);

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(b64_encode(b64_vectors[_i].plain,
	    b64_vectors[_i].plainlen, out, sizeof(out)), (ssize_t)elen);
	ck_assert_str_eq(out, b64_vectors[_i].enc);
}
END_TEST

START_TEST(test_b64_decode_vectors)
{
	char out[T_B64_BUF];
	size_t elen = strlen(b64_vectors[_i].enc);

	ck_assert_int_eq(b64_decode(b64_vectors[_i].enc, elen, out,
	    sizeof(out)), (ssize_t)b64_vectors[_i].plainlen);
	ck_assert_mem_eq(out, b64_vectors[_i].plain, b64_vectors[_i].plainlen);
}
END_TEST

/* The encoding needs exactly B64_ENCODED_SIZE(n); one less fails. */
START_TEST(test_b64_encode_size)
{
	const char *plain = b64_vectors[_i].plain;
	size_t n = b64_vectors[_i].plainlen;
	char out[T_B64_BUF];

	ck_assert_uint_eq(B64_ENCODED_SIZE(n),
	    strlen(b64_vectors[_i].enc) + 1);
	ck_assert_int_eq(b64_encode(plain, n, out, B64_ENCODED_SIZE(n) - 1),
	    -1);
	ck_assert_int_eq(b64_encode(plain, n, out, 0), -1);
	ck_assert_int_ge(b64_encode(plain, n, out, B64_ENCODED_SIZE(n)), 0);
}
END_TEST

/* The decoding fits in exactly its own length; one less fails. */
START_TEST(test_b64_decode_size)
{
	const char *enc = b64_vectors[_i].enc;
	size_t n = b64_vectors[_i].plainlen, elen = strlen(enc);
	char *out;

	ck_assert_uint_le(n, B64_DECODED_MAX(elen));
	/* Heap-allocated to the byte, so ASan/valgrind see any overrun. */
	out = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(b64_decode(enc, elen, out, n), (ssize_t)n);
	ck_assert_mem_eq(out, b64_vectors[_i].plain, n);
	if (n > 0)
		ck_assert_int_eq(b64_decode(enc, elen, out, n - 1), -1);
	free(out);
}
END_TEST

static const char *b64_bad[] = {
	"Zg",		/* no padding */
	"Zg=",		/* short padding */
	"Zm9",		/* length not a multiple of 4 */
	"Z",
	"=",
	"====",
	"Z===",
	"Zg=a",		/* padding not at the end */
	"Z=g=",
	"Zg==Zg==",	/* padding in the middle */
	"Zm9v\n",	/* white space */
	" Zm9v",
	"Zm9v ",
	"Zm 9",
	"Zm9\tv",
	"Zm9v\r\n",
	"Zm9-",		/* base64url alphabet */
	"Zm9_",
	"Zm9*",
	"Zm9\x80",
	"*",
};
#define N_B64_BAD	(sizeof(b64_bad) / sizeof(b64_bad[0]))

START_TEST(test_b64_decode_bad)
{
	char out[T_B64_BUF];

	ck_assert_int_eq(b64_decode(b64_bad[_i], strlen(b64_bad[_i]), out,
	    sizeof(out)), -1);
}
END_TEST

START_TEST(test_b64_decode_nul)
{
	char out[T_B64_BUF];

	ck_assert_int_eq(b64_decode("Zm\0v", 4, out, sizeof(out)), -1);
	ck_assert_int_eq(b64_decode("Zm9v\0\0\0\0", 8, out, sizeof(out)), -1);
}
END_TEST

/* Only n characters are read: the rest of the string does not matter. */
START_TEST(test_b64_decode_len)
{
	char out[T_B64_BUF];

	ck_assert_int_eq(b64_decode("Zm9vYmFy", 4, out, sizeof(out)), 3);
	ck_assert_mem_eq(out, "foo", 3);
	ck_assert_int_eq(b64_decode("Zm9v garbage", 4, out, sizeof(out)), 3);
	ck_assert_int_eq(b64_decode("", 0, NULL, 0), 0);
}
END_TEST

/*
 * Non-zero bits under the padding (RFC 4648 3.5 lets a decoder refuse them)
 * are accepted and ignored: refusing them would protect nothing.
 */
START_TEST(test_b64_decode_pad_bits)
{
	char out[T_B64_BUF];

	ck_assert_int_eq(b64_decode("Zh==", 4, out, sizeof(out)), 1);
	ck_assert_mem_eq(out, "f", 1);
	ck_assert_int_eq(b64_decode("Zm9=", 4, out, sizeof(out)), 2);
	ck_assert_mem_eq(out, "fo", 2);
}
END_TEST

/* Every byte value and length round-trips. */
START_TEST(test_b64_roundtrip)
{
	unsigned char plain[256], dec[256];
	char enc[B64_ENCODED_SIZE(256)];
	size_t n, i;
	ssize_t r;

	for (i = 0; i < sizeof(plain); i++)
		plain[i] = (unsigned char)(i * 7 + 3);
	for (n = 0; n <= sizeof(plain); n++) {
		r = b64_encode(plain, n, enc, sizeof(enc));
		ck_assert_int_eq(r, (ssize_t)(B64_ENCODED_SIZE(n) - 1));
		ck_assert_uint_eq(strlen(enc), (size_t)r);
		ck_assert_int_eq(b64_decode(enc, (size_t)r, dec, sizeof(dec)),
		    (ssize_t)n);
		ck_assert_mem_eq(dec, plain, n);
	}
}
END_TEST

Suite *
b64_suite(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("b64");

	tcase_add_loop_test(tc, test_b64_encode_vectors, 0, N_B64_VECTORS);
	tcase_add_loop_test(tc, test_b64_decode_vectors, 0, N_B64_VECTORS);
	tcase_add_loop_test(tc, test_b64_encode_size, 0, N_B64_VECTORS);
	tcase_add_loop_test(tc, test_b64_decode_size, 0, N_B64_VECTORS);
	tcase_add_loop_test(tc, test_b64_decode_bad, 0, N_B64_BAD);
	tcase_add_test(tc, test_b64_decode_nul);
	tcase_add_test(tc, test_b64_decode_len);
	tcase_add_test(tc, test_b64_decode_pad_bits);
	tcase_add_test(tc, test_b64_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}
