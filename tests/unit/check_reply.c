/*
 * check_reply: upstream/reply, assembling provider replies line by line,
 * with the syntax checks and caps.
 */
#include <string.h>

#include "upstream/reply.h"
#include "tests/unit/suites.h"

/* Most lines in one test reply. */
#define T_REPLY_LINES	6

/* Each vector is a reply: its lines, what each returns, the final code. */
static const struct {
	const char	*lines[T_REPLY_LINES];	/* NULL-terminated */
	int		 rets[T_REPLY_LINES];
	int		 code;
} reply_vectors[] = {
	{ { "250 OK", NULL }, { 1 }, 250 },
	{ { "250", NULL }, { 1 }, 250 },
	{ { "250 ", NULL }, { 1 }, 250 },
	{ { "220 smtp.gmail.com ESMTP x1-2 - gsmtp", NULL }, { 1 }, 220 },
	{ { "250-smtp.gmail.com at your service", "250-SIZE 35882577",
	    "250-8BITMIME", "250-AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER",
	    "250 SMTPUTF8", NULL }, { 0, 0, 0, 0, 1 }, 250 },
	{ { "250-", "250", NULL }, { 0, 1 }, 250 },
	{ { "334 ", NULL }, { 1 }, 334 },
	{ { "535-5.7.8 Username and Password not accepted.",
	    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials",
	    NULL }, { 0, 1 }, 535 },
	{ { "554 5.2.0 STOREDRV.Submission.Exception:"
	    "SubmissionQuotaExceededException", NULL }, { 1 }, 554 },
	{ { "421 4.7.0 Try again later, closing connection.", NULL },
	    { 1 }, 421 },
	{ { "599 x", NULL }, { 1 }, 599 },
	{ { "200 x", NULL }, { 1 }, 200 },
	/* UTF-8 text is fine. */
	{ { "250 caf\xc3\xa9", NULL }, { 1 }, 250 },
	/* Code mismatch between lines. */
	{ { "250-a", "251 b", NULL }, { 0, -1 }, 250 },
	{ { "250-a", "550 b", NULL }, { 0, -1 }, 250 },
	/* 1xx and 6xx and others out of range. */
	{ { "150 x", NULL }, { -1 }, 0 },
	{ { "600 x", NULL }, { -1 }, 0 },
	{ { "000 x", NULL }, { -1 }, 0 },
	{ { "999", NULL }, { -1 }, 0 },
	/* Not three digits. */
	{ { "25", NULL }, { -1 }, 0 },
	{ { "", NULL }, { -1 }, 0 },
	{ { "2500 x", NULL }, { -1 }, 0 },
	{ { "25x x", NULL }, { -1 }, 0 },
	{ { "2a0 x", NULL }, { -1 }, 0 },
	{ { " 250 x", NULL }, { -1 }, 0 },
	{ { "+250 x", NULL }, { -1 }, 0 },
	{ { "OK", NULL }, { -1 }, 0 },
	/* Separator not '-' or ' '. */
	{ { "250_x", NULL }, { -1 }, 0 },
	{ { "250\tx", NULL }, { -1 }, 0 },
	{ { "250:x", NULL }, { -1 }, 0 },
	/* Control characters, tab included. */
	{ { "250 a\rb", NULL }, { -1 }, 0 },
	{ { "250 a\nb", NULL }, { -1 }, 0 },
	{ { "250 a\tb", NULL }, { -1 }, 0 },
	{ { "250 \x1b[2J", NULL }, { -1 }, 0 },
	{ { "250 a\x7f", NULL }, { -1 }, 0 },
	{ { "250-ok", "250 a\r", NULL }, { 0, -1 }, 250 },
	/* A line after the last one starts a new reply. */
	{ { "250 a", "354 go ahead", NULL }, { 1, 1 }, 354 },
	{ { "250 a", "550-no", "550 really", NULL }, { 1, 0, 1 }, 550 },
};
#define N_REPLY_VECTORS	(sizeof(reply_vectors) / sizeof(reply_vectors[0]))

START_TEST(test_reply_vectors)
{
	struct reply r;
	size_t i;

	reply_reset(&r);
	ck_assert_int_eq(r.code, 0);
	for (i = 0; reply_vectors[_i].lines[i] != NULL; i++) {
		const char *l = reply_vectors[_i].lines[i];

		ck_assert_int_eq(reply_feed(&r, l, strlen(l)),
		    reply_vectors[_i].rets[i]);
		if (reply_vectors[_i].rets[i] == -1)
			break;
		ck_assert_int_eq(r.done, reply_vectors[_i].rets[i]);
	}
	ck_assert_int_eq(r.code, reply_vectors[_i].code);
}
END_TEST

/* An embedded NUL is a control character too. */
START_TEST(test_reply_nul)
{
	struct reply r;

	reply_reset(&r);
	ck_assert_int_eq(reply_feed(&r, "250 a\0b", 7), -1);
	ck_assert_int_eq(reply_feed(&r, "25\0", 3), -1);
	/* len, not the NUL, bounds the line. */
	ck_assert_int_eq(reply_feed(&r, "250-more", 3), 1);
}
END_TEST

START_TEST(test_reply_line_max)
{
	static char line[REPLY_LINE_MAX + 1];
	struct reply r;

	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	reply_reset(&r);
	ck_assert_int_eq(reply_feed(&r, line, REPLY_LINE_MAX), 1);
	reply_reset(&r);
	ck_assert_int_eq(reply_feed(&r, line, REPLY_LINE_MAX + 1), -1);
}
END_TEST

START_TEST(test_reply_lines_max)
{
	struct reply r;
	int i;

	reply_reset(&r);
	for (i = 0; i < REPLY_LINES_MAX - 1; i++)
		ck_assert_int_eq(reply_feed(&r, "250-x", 5), 0);
	ck_assert_int_eq(reply_feed(&r, "250 x", 5), 1);
	ck_assert_int_eq(r.nlines, REPLY_LINES_MAX);

	reply_reset(&r);
	for (i = 0; i < REPLY_LINES_MAX; i++)
		ck_assert_int_eq(reply_feed(&r, "250-x", 5), 0);
	ck_assert_int_eq(reply_feed(&r, "250 x", 5), -1);
	ck_assert_int_eq(reply_feed(&r, "250-x", 5), -1);
}
END_TEST

/* reply_reset forgets a reply half-way. */
START_TEST(test_reply_reset)
{
	struct reply r;

	reply_reset(&r);
	ck_assert_int_eq(reply_feed(&r, "250-a", 5), 0);
	reply_reset(&r);
	ck_assert_int_eq(r.nlines, 0);
	ck_assert_int_eq(reply_feed(&r, "550 b", 5), 1);
	ck_assert_int_eq(r.code, 550);
	ck_assert_int_eq(r.nlines, 1);
}
END_TEST

static const struct {
	const char	*line;
	const char	*text;
} text_vectors[] = {
	{ "250 OK", "OK" },
	{ "250-AUTH LOGIN XOAUTH2", "AUTH LOGIN XOAUTH2" },
	{ "250", "" },
	{ "250 ", "" },
	{ "250-", "" },
	{ "334 eyJzdGF0dXMiOiI0MDAifQ==", "eyJzdGF0dXMiOiI0MDAifQ==" },
	{ "250  two spaces", " two spaces" },
};
#define N_TEXT_VECTORS	(sizeof(text_vectors) / sizeof(text_vectors[0]))

START_TEST(test_reply_text)
{
	const char *line = text_vectors[_i].line, *t;
	size_t len = strlen(line), tlen = 99;
	struct reply r;

	reply_reset(&r);
	ck_assert_int_ne(reply_feed(&r, line, len), -1);
	t = reply_text(line, len, &tlen);
	ck_assert_uint_eq(tlen, strlen(text_vectors[_i].text));
	ck_assert_mem_eq(t, text_vectors[_i].text, tlen);
}
END_TEST

Suite *
reply_suite(void)
{
	Suite *s = suite_create("reply");
	TCase *tc = tcase_create("reply");

	tcase_add_loop_test(tc, test_reply_vectors, 0, N_REPLY_VECTORS);
	tcase_add_test(tc, test_reply_nul);
	tcase_add_test(tc, test_reply_line_max);
	tcase_add_test(tc, test_reply_lines_max);
	tcase_add_test(tc, test_reply_reset);
	tcase_add_loop_test(tc, test_reply_text, 0, N_TEXT_VECTORS);
	suite_add_tcase(s, tc);
	return s;
}
