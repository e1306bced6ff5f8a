/*
 * check_control: proxy/control's request parser, table-driven: the two
 * requests with LF or CR LF, partial lines, unknown and over-long ones,
 * NUL bytes, and a verb buffer too small to take the answer.
 */
#include <string.h>

#include "proxy/control.h"
#include "tests/unit/suites.h"

#define VERB_MAX	16

static const struct {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	int		 want;
	const char	*verb;		/* with CONTROL_REQUEST_OK */
} rows[] = {
	{ "status\n", 0, CONTROL_REQUEST_OK, "status" },
	{ "reload\r\n", 0, CONTROL_REQUEST_OK, "reload" },
	{ "status\nmore after", 0, CONTROL_REQUEST_OK, "status" },
	{ "", 0, CONTROL_REQUEST_MORE, NULL },
	{ "stat", 0, CONTROL_REQUEST_MORE, NULL },
	{ "status", 0, CONTROL_REQUEST_MORE, NULL },
	{ "status\r", 0, CONTROL_REQUEST_MORE, NULL },
	{ "\n", 0, CONTROL_REQUEST_UNKNOWN, NULL },
	{ "STATUS\n", 0, CONTROL_REQUEST_UNKNOWN, NULL },
	{ "status \n", 0, CONTROL_REQUEST_UNKNOWN, NULL },
	{ "shutdown\n", 0, CONTROL_REQUEST_UNKNOWN, NULL },
	{ "statusx\n", 0, CONTROL_REQUEST_UNKNOWN, NULL },
	{ "\rstatus\n", 0, CONTROL_REQUEST_UNKNOWN, NULL },
	/* A NUL hides what follows it: no line yet. */
	{ "sta\0tus\n", 8, CONTROL_REQUEST_MORE, NULL },
};

START_TEST(test_control_rows)
{
	char verb[VERB_MAX];
	size_t len = rows[_i].len != 0 ? rows[_i].len : strlen(rows[_i].in);
	int r;

	memset(verb, 'x', sizeof(verb));
	r = control_request_parse(rows[_i].in, len, verb, sizeof(verb));
	ck_assert_msg(r == rows[_i].want, "row %d: %d, want %d", _i, r,
	    rows[_i].want);
	if (rows[_i].verb != NULL)
		ck_assert_str_eq(verb, rows[_i].verb);
}
END_TEST

/* CONTROL_REQUEST_MAX bytes without a LF: too long; one less: read on;
   a line that fits just: answered. */
START_TEST(test_control_limits)
{
	char buf[CONTROL_REQUEST_MAX + 8], verb[VERB_MAX];

	memset(buf, 'a', sizeof(buf));
	ck_assert_int_eq(control_request_parse(buf, CONTROL_REQUEST_MAX,
	    verb, sizeof(verb)), CONTROL_REQUEST_LONG);
	ck_assert_int_eq(control_request_parse(buf, CONTROL_REQUEST_MAX - 1,
	    verb, sizeof(verb)), CONTROL_REQUEST_MORE);
	buf[CONTROL_REQUEST_MAX - 1] = '\n';
	ck_assert_int_eq(control_request_parse(buf, CONTROL_REQUEST_MAX,
	    verb, sizeof(verb)), CONTROL_REQUEST_UNKNOWN);
	/* Bytes past the limit are never looked at. */
	buf[CONTROL_REQUEST_MAX - 1] = 'a';
	buf[CONTROL_REQUEST_MAX] = '\n';
	ck_assert_int_eq(control_request_parse(buf, sizeof(buf), verb,
	    sizeof(verb)), CONTROL_REQUEST_LONG);
	/* A verb buffer too small for the answer: not answered. */
	ck_assert_int_eq(control_request_parse("status\n", 7, verb, 6),
	    CONTROL_REQUEST_UNKNOWN);
}
END_TEST

Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_control_rows, 0,
	    (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_control_limits);
	suite_add_tcase(s, tc);
	return s;
}
