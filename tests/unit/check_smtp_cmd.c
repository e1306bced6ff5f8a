/*
 * check_smtp_cmd: proxy/smtp_cmd, splitting command lines into verb and
 * arguments and parsing MAIL FROM / RCPT TO paths.
 */
#include <string.h>

#include "proxy/smtp_cmd.h"
#include "tests/unit/suites.h"

/* A line longer than any verb table entry would let through. */
#define T_LONG_LINE	600

static const struct {
	const char	*line;
	size_t		 len;		/* 0: strlen(line) */
	int		 ret;
	enum smtp_verb	 verb;
	const char	*args;
} cmd_vectors[] = {
	{ "EHLO host.example", 0, 0, SMTP_EHLO, "host.example" },
	{ "ehlo host.example", 0, 0, SMTP_EHLO, "host.example" },
	{ "eHlO host", 0, 0, SMTP_EHLO, "host" },
	{ "HELO x", 0, 0, SMTP_HELO, "x" },
	{ "STARTTLS", 0, 0, SMTP_STARTTLS, "" },
	{ "starttls", 0, 0, SMTP_STARTTLS, "" },
	{ "AUTH PLAIN AHVAAHA=", 0, 0, SMTP_AUTH, "PLAIN AHVAAHA=" },
	{ "MAIL FROM:<a@b>", 0, 0, SMTP_MAIL, "FROM:<a@b>" },
	{ "mail from:<a@b> SIZE=10", 0, 0, SMTP_MAIL, "from:<a@b> SIZE=10" },
	{ "RCPT TO:<c@d>", 0, 0, SMTP_RCPT, "TO:<c@d>" },
	{ "DATA", 0, 0, SMTP_DATA, "" },
	{ "RSET", 0, 0, SMTP_RSET, "" },
	{ "NOOP", 0, 0, SMTP_NOOP, "" },
	{ "NOOP anything", 0, 0, SMTP_NOOP, "anything" },
	{ "QUIT", 0, 0, SMTP_QUIT, "" },
	{ "VRFY postmaster", 0, 0, SMTP_VRFY, "postmaster" },
	{ "EXPN list", 0, 0, SMTP_EXPN, "list" },
	{ "HELP", 0, 0, SMTP_HELP, "" },
	{ "BDAT 100 LAST", 0, 0, SMTP_BDAT, "100 LAST" },
	/* Spaces: several after the verb, trailing ones dropped. */
	{ "EHLO   host  ", 0, 0, SMTP_EHLO, "host" },
	{ "QUIT   ", 0, 0, SMTP_QUIT, "" },
	{ "MAIL FROM:<a@b>  SIZE=10  ", 0, 0, SMTP_MAIL, "FROM:<a@b>  SIZE=10" },
	/* Tab is allowed, but does not end the verb. */
	{ "EHLO a\tb", 0, 0, SMTP_EHLO, "a\tb" },
	{ "EHLO\thost", 0, 0, SMTP_UNKNOWN, "" },
	/* The verb must end at a space or the end of the line. */
	{ "MAILFROM:<a@b>", 0, 0, SMTP_UNKNOWN, "" },
	{ "DATAX", 0, 0, SMTP_UNKNOWN, "" },
	{ "DAT", 0, 0, SMTP_UNKNOWN, "" },
	{ "STARTTLSX", 0, 0, SMTP_UNKNOWN, "" },
	{ " EHLO host", 0, 0, SMTP_UNKNOWN, "EHLO host" },
	{ "XCLIENT ADDR=1", 0, 0, SMTP_UNKNOWN, "ADDR=1" },
	{ "", 0, 0, SMTP_UNKNOWN, "" },
	{ "   ", 0, 0, SMTP_UNKNOWN, "" },
	/* UTF-8 is not a control character. */
	{ "EHLO h\xc3\xa9", 0, 0, SMTP_EHLO, "h\xc3\xa9" },
	/* Controls: NUL, CR, LF, ESC, DEL. */
	{ "EHLO a\0b", 8, -1, SMTP_UNKNOWN, "" },
	{ "\0", 1, -1, SMTP_UNKNOWN, "" },
	{ "QUIT\r", 0, -1, SMTP_UNKNOWN, "" },
	{ "QUIT\n", 0, -1, SMTP_UNKNOWN, "" },
	{ "DATA\r\n.\r\n", 0, -1, SMTP_UNKNOWN, "" },
	{ "EHLO \x1b[31m", 0, -1, SMTP_UNKNOWN, "" },
	{ "EHLO \x7f", 0, -1, SMTP_UNKNOWN, "" },
	/* len, not the NUL, bounds the line. */
	{ "QUIT and more", 4, 0, SMTP_QUIT, "" },
};
#define N_CMD_VECTORS	(sizeof(cmd_vectors) / sizeof(cmd_vectors[0]))

START_TEST(test_smtp_cmd_parse)
{
	struct smtp_cmd cmd;
	size_t len = cmd_vectors[_i].len;

	if (len == 0)
		len = strlen(cmd_vectors[_i].line);
	ck_assert_int_eq(smtp_cmd_parse(cmd_vectors[_i].line, len, &cmd),
	    cmd_vectors[_i].ret);
	if (cmd_vectors[_i].ret == -1)
		return;
	ck_assert_int_eq(cmd.verb, cmd_vectors[_i].verb);
	ck_assert_uint_eq(cmd.argslen, strlen(cmd_vectors[_i].args));
	ck_assert_mem_eq(cmd.args, cmd_vectors[_i].args, cmd.argslen);
	if (cmd.argslen == 0)
		ck_assert_str_eq(cmd.args, "");
	else
		/* args points into the line. */
		ck_assert(cmd.args >= cmd_vectors[_i].line &&
		    cmd.args + cmd.argslen <= cmd_vectors[_i].line + len);
}
END_TEST

/* A long line of plain text parses; the caller caps line length. */
START_TEST(test_smtp_cmd_long)
{
	char line[T_LONG_LINE];
	struct smtp_cmd cmd;

	memset(line, 'a', sizeof(line));
	memcpy(line, "NOOP ", 5);
	ck_assert_int_eq(smtp_cmd_parse(line, sizeof(line), &cmd), 0);
	ck_assert_int_eq(cmd.verb, SMTP_NOOP);
	ck_assert_uint_eq(cmd.argslen, sizeof(line) - 5);
	line[sizeof(line) - 1] = '\0';
	ck_assert_int_eq(smtp_cmd_parse(line, sizeof(line), &cmd), -1);
}
END_TEST

START_TEST(test_smtp_verb_name)
{
	ck_assert_str_eq(smtp_verb_name(SMTP_MAIL), "MAIL");
	ck_assert_str_eq(smtp_verb_name(SMTP_STARTTLS), "STARTTLS");
	ck_assert_str_eq(smtp_verb_name(SMTP_BDAT), "BDAT");
	ck_assert_str_eq(smtp_verb_name(SMTP_UNKNOWN), "UNKNOWN");
	ck_assert_str_eq(smtp_verb_name(SMTP_NVERBS), "UNKNOWN");
}
END_TEST

/* Every verb's name parses back to the verb. */
START_TEST(test_smtp_verb_roundtrip)
{
	struct smtp_cmd cmd;
	const char *name = smtp_verb_name((enum smtp_verb)_i);

	ck_assert_str_ne(name, "UNKNOWN");
	ck_assert_int_eq(smtp_cmd_parse(name, strlen(name), &cmd), 0);
	ck_assert_int_eq(cmd.verb, _i);
}
END_TEST

static const struct {
	const char	*args;
	const char	*kw;
	int		 allow_null;
	int		 ret;
	const char	*addr;
	const char	*params;
} path_vectors[] = {
	{ "FROM:<a@b>", "FROM", 1, 0, "a@b", "" },
	{ "from:<a@b>", "FROM", 1, 0, "a@b", "" },
	{ "FrOm:<a@b>", "FROM", 0, 0, "a@b", "" },
	{ "FROM:<a@b> SIZE=10", "FROM", 1, 0, "a@b", "SIZE=10" },
	{ "FROM:<a@b>   SIZE=10 BODY=8BITMIME", "FROM", 1, 0, "a@b",
	    "SIZE=10 BODY=8BITMIME" },
	{ "FROM: <a@b>", "FROM", 1, 0, "a@b", "" },
	{ "FROM: <a@b> SIZE=10", "FROM", 1, 0, "a@b", "SIZE=10" },
	{ "FROM:<>", "FROM", 1, 0, "", "" },
	{ "FROM:<> SIZE=1", "FROM", 1, 0, "", "SIZE=1" },
	{ "TO:<c@d>", "TO", 0, 0, "c@d", "" },
	{ "to:<c@d> NOTIFY=NEVER", "TO", 0, 0, "c@d", "NOTIFY=NEVER" },
	{ "TO:<postmaster>", "TO", 0, 0, "postmaster", "" },
	{ "TO:<@relay:c@d>", "TO", 0, 0, "@relay:c@d", "" },
	{ "TO:<j\xc3\xb6rg@d>", "TO", 0, 0, "j\xc3\xb6rg@d", "" },
	/* Null path only where allowed. */
	{ "TO:<>", "TO", 0, -1, "", "" },
	/* Wrong or missing keyword, colon. */
	{ "TO:<c@d>", "FROM", 1, -1, "", "" },
	{ "FROM:<a@b>", "TO", 0, -1, "", "" },
	{ "FROM<a@b>", "FROM", 1, -1, "", "" },
	{ "FROM :<a@b>", "FROM", 1, -1, "", "" },
	{ "FRO:<a@b>", "FROM", 1, -1, "", "" },
	{ "FROMX:<a@b>", "FROM", 1, -1, "", "" },
	{ "", "FROM", 1, -1, "", "" },
	{ "FROM", "FROM", 1, -1, "", "" },
	{ "FROM:", "FROM", 1, -1, "", "" },
	/* Brackets. */
	{ "FROM:a@b", "FROM", 1, -1, "", "" },
	{ "FROM:<a@b", "FROM", 1, -1, "", "" },
	{ "FROM:a@b>", "FROM", 1, -1, "", "" },
	{ "FROM:<", "FROM", 1, -1, "", "" },
	{ "FROM:<<a@b>>", "FROM", 1, -1, "", "" },
	{ "FROM:<a<b>", "FROM", 1, -1, "", "" },
	/* At most one space after the colon. */
	{ "FROM:  <a@b>", "FROM", 1, -1, "", "" },
	{ "FROM:\t<a@b>", "FROM", 1, -1, "", "" },
	/* Spaces or controls inside the path. */
	{ "FROM:< a@b>", "FROM", 1, -1, "", "" },
	{ "FROM:<a @b>", "FROM", 1, -1, "", "" },
	{ "FROM:<a@b >", "FROM", 1, -1, "", "" },
	{ "FROM:<a\tb@c>", "FROM", 1, -1, "", "" },
	{ "FROM:<a\rb@c>", "FROM", 1, -1, "", "" },
	{ "FROM:<a\nb@c>", "FROM", 1, -1, "", "" },
	{ "FROM:<a\x7f@c>", "FROM", 1, -1, "", "" },
	/* Parameters must be separated from the path. */
	{ "FROM:<a@b>SIZE=10", "FROM", 1, -1, "", "" },
	{ "FROM:<a@b>>", "FROM", 1, -1, "", "" },
	/* Trailing spaces after the path are fine. */
	{ "FROM:<a@b>   ", "FROM", 1, 0, "a@b", "" },
};
#define N_PATH_VECTORS	(sizeof(path_vectors) / sizeof(path_vectors[0]))

START_TEST(test_smtp_parse_path)
{
	char addr[SMTP_PATH_MAX + 1];
	const char *params = NULL;
	const char *args = path_vectors[_i].args;
	size_t len = strlen(args);

	memset(addr, 'X', sizeof(addr));
	ck_assert_int_eq(smtp_parse_path(args, len, path_vectors[_i].kw,
	    path_vectors[_i].allow_null, addr, sizeof(addr), &params),
	    path_vectors[_i].ret);
	ck_assert_ptr_nonnull(params);
	if (path_vectors[_i].ret == -1) {
		ck_assert_str_eq(params, "");
		return;
	}
	ck_assert_str_eq(addr, path_vectors[_i].addr);
	ck_assert_str_eq(params, path_vectors[_i].params);
}
END_TEST

/* An embedded NUL in the path is a control character. */
START_TEST(test_smtp_parse_path_nul)
{
	char addr[SMTP_PATH_MAX + 1];
	const char *params;

	ck_assert_int_eq(smtp_parse_path("FROM:<a\0b>", 10, "FROM", 1, addr,
	    sizeof(addr), &params), -1);
	/* len bounds the args: the path's ">" is past it. */
	ck_assert_int_eq(smtp_parse_path("FROM:<a@b>", 9, "FROM", 1, addr,
	    sizeof(addr), &params), -1);
	/* Parameters stop at len too. */
	ck_assert_int_eq(smtp_parse_path("FROM:<a@b> SIZE=1", 14, "FROM", 1,
	    addr, sizeof(addr), &params), 0);
	ck_assert_mem_eq(params, "SIZ", 3);
}
END_TEST

/* Build "TO:<" n x 'a' ">" and parse it with addrsize. */
static int
t_path_of(size_t n, size_t addrsize, char *addr)
{
	char args[4 + SMTP_PATH_MAX + 8 + 1];
	const char *params;

	ck_assert_uint_le(n, SMTP_PATH_MAX + 8);
	memcpy(args, "TO:<", 4);
	memset(args + 4, 'a', n);
	args[4 + n] = '>';
	return smtp_parse_path(args, 5 + n, "TO", 0, addr, addrsize, &params);
}

START_TEST(test_smtp_parse_path_long)
{
	char addr[SMTP_PATH_MAX + 8 + 1];
	char small[8];

	ck_assert_int_eq(t_path_of(SMTP_PATH_MAX, sizeof(addr), addr), 0);
	ck_assert_uint_eq(strlen(addr), SMTP_PATH_MAX);
	ck_assert_int_eq(t_path_of(SMTP_PATH_MAX + 1, sizeof(addr), addr), -1);
	ck_assert_int_eq(t_path_of(SMTP_PATH_MAX + 8, sizeof(addr), addr), -1);
	/* addrsize - 1 bytes fit; addrsize do not. */
	ck_assert_int_eq(t_path_of(sizeof(small) - 1, sizeof(small), small),
	    0);
	ck_assert_str_eq(small, "aaaaaaa");
	ck_assert_int_eq(t_path_of(sizeof(small), sizeof(small), small), -1);
	ck_assert_int_eq(t_path_of(1, 0, small), -1);
}
END_TEST

/* The two together, as the session uses them. */
START_TEST(test_smtp_cmd_then_path)
{
	static const char line[] = "MAIL FROM: <dev@example.com> SIZE=1234 ";
	char addr[SMTP_PATH_MAX + 1];
	struct smtp_cmd cmd;
	const char *params;

	ck_assert_int_eq(smtp_cmd_parse(line, sizeof(line) - 1, &cmd), 0);
	ck_assert_int_eq(cmd.verb, SMTP_MAIL);
	ck_assert_int_eq(smtp_parse_path(cmd.args, cmd.argslen, "FROM", 1,
	    addr, sizeof(addr), &params), 0);
	ck_assert_str_eq(addr, "dev@example.com");
	ck_assert_uint_eq(cmd.args + cmd.argslen - params, 9);
	ck_assert_mem_eq(params, "SIZE=1234", 9);
}
END_TEST

Suite *
smtp_cmd_suite(void)
{
	Suite *s = suite_create("smtp_cmd");
	TCase *tc = tcase_create("smtp_cmd");

	tcase_add_loop_test(tc, test_smtp_cmd_parse, 0, N_CMD_VECTORS);
	tcase_add_test(tc, test_smtp_cmd_long);
	tcase_add_test(tc, test_smtp_verb_name);
	tcase_add_loop_test(tc, test_smtp_verb_roundtrip, SMTP_HELO,
	    SMTP_NVERBS);
	tcase_add_loop_test(tc, test_smtp_parse_path, 0, N_PATH_VECTORS);
	tcase_add_test(tc, test_smtp_parse_path_nul);
	tcase_add_test(tc, test_smtp_parse_path_long);
	tcase_add_test(tc, test_smtp_cmd_then_path);
	suite_add_tcase(s, tc);
	return s;
}
