/*
 * check_buf: io/buf, the fixed-capacity buffer: room and compaction, append
 * and printf at and over capacity, line finding, wiping.
 */
#include <string.h>

#include "io/buf.h"
#include "tests/unit/suites.h"

#define T_BUF_CAP	16

START_TEST(test_buf_init_free)
{
	struct buf b;

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_uint_eq(b.cap, T_BUF_CAP);
	ck_assert_uint_eq(buf_len(&b), 0);
	ck_assert_uint_eq(buf_room(&b), T_BUF_CAP);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
	/* Twice, and on a zeroed buf: nothing happens. */
	buf_free(&b);
	memset(&b, 0, sizeof(b));
	buf_free(&b);
	ck_assert_uint_eq(buf_room(&b), 0);
	ck_assert_uint_eq(buf_line(&b), 0);
}
END_TEST

START_TEST(test_buf_produce_consume)
{
	struct buf b;

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	memcpy(buf_tail(&b), "hello", 5);
	buf_produce(&b, 5);
	ck_assert_uint_eq(buf_len(&b), 5);
	ck_assert_mem_eq(buf_head(&b), "hello", 5);
	ck_assert_uint_eq(buf_room(&b), T_BUF_CAP - 5);

	buf_consume(&b, 2);
	ck_assert_uint_eq(buf_len(&b), 3);
	ck_assert_mem_eq(buf_head(&b), "llo", 3);
	/* The room counts the space freed at the front. */
	ck_assert_uint_eq(buf_room(&b), T_BUF_CAP - 3);
	ck_assert_mem_eq(buf_head(&b), "llo", 3);
	ck_assert_ptr_eq(buf_tail(&b), buf_head(&b) + 3);

	/* Consuming more than there is empties the buffer. */
	buf_consume(&b, 100);
	ck_assert_uint_eq(buf_len(&b), 0);
	ck_assert_uint_eq(buf_room(&b), T_BUF_CAP);
	buf_free(&b);
}
END_TEST

/* Fill, drain most of it: the whole free space is usable at the tail. */
START_TEST(test_buf_room_compacts)
{
	struct buf b;
	size_t room;

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	memset(buf_tail(&b), 'a', T_BUF_CAP - 2);
	buf_produce(&b, T_BUF_CAP - 2);
	buf_consume(&b, T_BUF_CAP - 4);
	ck_assert_uint_eq(buf_len(&b), 2);
	room = buf_room(&b);
	ck_assert_uint_eq(room, T_BUF_CAP - 2);
	memset(buf_tail(&b), 'b', room);
	buf_produce(&b, room);
	ck_assert_uint_eq(buf_len(&b), T_BUF_CAP);
	ck_assert_uint_eq(buf_room(&b), 0);
	ck_assert_mem_eq(buf_head(&b), "aabbbbbbbbbbbbbb", T_BUF_CAP);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_append)
{
	struct buf b;

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);
	/* 7 more would be 17: refused, nothing written. */
	ck_assert_int_eq(buf_append(&b, "abcdefg", 7), -1);
	ck_assert_uint_eq(buf_len(&b), 10);
	/* Exactly full is fine. */
	ck_assert_int_eq(buf_append(&b, "abcdef", 6), 0);
	ck_assert_uint_eq(buf_len(&b), T_BUF_CAP);
	ck_assert_int_eq(buf_append(&b, "x", 1), -1);
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_mem_eq(buf_head(&b), "0123456789abcdef", T_BUF_CAP);

	/* After a consume, an append that needs the front space moves data. */
	buf_consume(&b, 12);
	ck_assert_int_eq(buf_append(&b, "ABCDEFGHIJKL", 12), 0);
	ck_assert_uint_eq(buf_len(&b), T_BUF_CAP);
	ck_assert_mem_eq(buf_head(&b), "cdefABCDEFGHIJKL", T_BUF_CAP);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_printf)
{
	struct buf b;

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	ck_assert_int_eq(buf_printf(&b, "%d %s", 250, "ok"), 0);
	ck_assert_uint_eq(buf_len(&b), 6);
	ck_assert_mem_eq(buf_head(&b), "250 ok", 6);
	/* Too long: refused, and the data before is intact. */
	ck_assert_int_eq(buf_printf(&b, "%s", "0123456789abc"), -1);
	ck_assert_uint_eq(buf_len(&b), 6);
	ck_assert_mem_eq(buf_head(&b), "250 ok", 6);
	/* cap - len - 1 bytes always fit. */
	ck_assert_int_eq(buf_printf(&b, "%s", "012345678"), 0);
	ck_assert_uint_eq(buf_len(&b), 15);
	ck_assert_int_eq(buf_printf(&b, "%s", "x"), -1);

	/* The front space freed by a consume is used. */
	buf_consume(&b, 10);
	ck_assert_int_eq(buf_printf(&b, "[%s]", "abcdefgh"), 0);
	ck_assert_uint_eq(buf_len(&b), 15);
	ck_assert_mem_eq(buf_head(&b), "45678[abcdefgh]", 15);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_printf_full)
{
	struct buf b;

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	ck_assert_int_eq(buf_append(&b, "0123456789abcdef", T_BUF_CAP), 0);
	ck_assert_int_eq(buf_printf(&b, "%s", ""), -1);
	ck_assert_uint_eq(buf_len(&b), T_BUF_CAP);
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*data;
	size_t		 line;
} buf_lines[] = {
	{ "", 0 },
	{ "EHLO x", 0 },
	{ "EHLO x\r", 0 },
	{ "\n", 1 },
	{ "\r\n", 2 },
	{ "EHLO x\r\n", 8 },
	{ "EHLO x\r\nQUIT\r\n", 8 },
	{ "a\nb\n", 2 },
	{ "bare\rCR\n", 8 },
};
#define N_BUF_LINES	(sizeof(buf_lines) / sizeof(buf_lines[0]))

START_TEST(test_buf_line)
{
	struct buf b;
	size_t n = strlen(buf_lines[_i].data);

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	ck_assert_int_eq(buf_append(&b, buf_lines[_i].data, n), 0);
	ck_assert_uint_eq(buf_line(&b), buf_lines[_i].line);
	buf_free(&b);
}
END_TEST

/* A line is found at the head, not at the start of the storage. */
START_TEST(test_buf_line_after_consume)
{
	struct buf b;

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	ck_assert_int_eq(buf_append(&b, "A\r\nBCD\r\nE", 9), 0);
	ck_assert_uint_eq(buf_line(&b), 3);
	buf_consume(&b, 3);
	ck_assert_uint_eq(buf_line(&b), 5);
	buf_consume(&b, 5);
	ck_assert_uint_eq(buf_line(&b), 0);
	ck_assert_uint_eq(buf_len(&b), 1);
	buf_free(&b);
}
END_TEST

/* Bytes written through buf_tail, moved by compaction, or left by a failed
   buf_printf are all wiped by buf_reset. */
START_TEST(test_buf_reset_wipes_every_write)
{
	struct buf b;
	size_t i;

	ck_assert_int_eq(buf_init(&b, 16), 0);
	memcpy(buf_tail(&b), "0123456789", 10);
	buf_produce(&b, 10);
	buf_consume(&b, 8);
	memcpy(buf_tail(&b), "abcdefghij", 10);	/* compacts first */
	buf_produce(&b, 10);
	ck_assert_int_eq(buf_printf(&b, "%s", "a too long secret"), -1);
	for (i = b.off + b.len; i < b.cap; i++)
		ck_assert_int_eq(b.data[i], 0);
	buf_reset(&b);
	for (i = 0; i < b.cap; i++)
		ck_assert_int_eq(b.data[i], 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reset_wipes)
{
	struct buf b;
	size_t i;

	ck_assert_int_eq(buf_init(&b, T_BUF_CAP), 0);
	ck_assert_int_eq(buf_append(&b, "secretpassword", 14), 0);
	buf_consume(&b, 3);
	buf_reset(&b);
	ck_assert_uint_eq(buf_len(&b), 0);
	ck_assert_uint_eq(buf_room(&b), T_BUF_CAP);
	for (i = 0; i < 14; i++)
		ck_assert_int_eq(b.data[i], 0);
	buf_free(&b);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_buf_init_free);
	tcase_add_test(tc, test_buf_produce_consume);
	tcase_add_test(tc, test_buf_room_compacts);
	tcase_add_test(tc, test_buf_append);
	tcase_add_test(tc, test_buf_printf);
	tcase_add_test(tc, test_buf_printf_full);
	tcase_add_loop_test(tc, test_buf_line, 0, N_BUF_LINES);
	tcase_add_test(tc, test_buf_line_after_consume);
	tcase_add_test(tc, test_buf_reset_wipes);
	tcase_add_test(tc, test_buf_reset_wipes_every_write);
	suite_add_tcase(s, tc);
	return s;
}
