/*
 * fuzz_smtp_cmd: libFuzzer harness for the parsers of client and provider
 * lines: proxy/smtp_cmd (command split, MAIL/RCPT paths), proxy/sasl (PLAIN
 * and LOGIN responses, with io/b64 under them), upstream/reply (provider
 * reply lines) and upstream/xoauth2 (encode, then decode and compare).
 * Checks the promises of each header on whatever they accept.
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *	-D_GNU_SOURCE -I. -o build/fuzz_smtp_cmd tests/fuzz/fuzz_smtp_cmd.c \
 *	proxy/smtp_cmd.c proxy/sasl.c io/b64.c upstream/reply.c \
 *	upstream/xoauth2.c -lcrypto
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/b64.h"
#include "proxy/sasl.h"
#include "proxy/smtp_cmd.h"
#include "upstream/reply.h"
#include "upstream/xoauth2.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* 1 if [p, p + n) lies inside [base, base + len). */
static int
fuzz_inside(const char *p, size_t n, const char *base, size_t len)
{
	return p >= base && p <= base + len && n <= (size_t)(base + len - p);
}

static int
fuzz_clean(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static void
fuzz_path(const char *args, size_t len, const char *kw, int allow_null)
{
	char addr[SMTP_PATH_MAX + 1];
	const char *params;
	size_t alen;

	if (smtp_parse_path(args, len, kw, allow_null, addr, sizeof(addr),
	    &params) == -1) {
		FUZZ_CHECK(strcmp(params, "") == 0);
		return;
	}
	alen = strlen(addr);
	FUZZ_CHECK(alen <= SMTP_PATH_MAX);
	FUZZ_CHECK(alen > 0 || allow_null);
	FUZZ_CHECK(fuzz_clean(addr, alen) && strchr(addr, ' ') == NULL);
	if (*params != '\0')
		FUZZ_CHECK(fuzz_inside(params, 1, args, len) &&
		    *params != ' ');
}

static void
fuzz_cmd(const char *line, size_t len)
{
	struct smtp_cmd cmd;

	if (smtp_cmd_parse(line, len, &cmd) == -1)
		return;
	FUZZ_CHECK(cmd.verb >= SMTP_UNKNOWN && cmd.verb < SMTP_NVERBS);
	FUZZ_CHECK(smtp_verb_name(cmd.verb) != NULL);
	if (cmd.argslen == 0)
		FUZZ_CHECK(strcmp(cmd.args, "") == 0);
	else
		FUZZ_CHECK(fuzz_inside(cmd.args, cmd.argslen, line, len) &&
		    cmd.args[0] != ' ' && cmd.args[cmd.argslen - 1] != ' ');
	if (cmd.verb == SMTP_MAIL)
		fuzz_path(cmd.args, cmd.argslen, "FROM", 1);
	if (cmd.verb == SMTP_RCPT)
		fuzz_path(cmd.args, cmd.argslen, "TO", 0);
}

static void
fuzz_sasl(const char *s, size_t n)
{
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	char out[SASL_PASS_MAX + 1];
	unsigned char dec[64], dec2[64];
	char enc[B64_ENCODED_SIZE(sizeof(dec))];
	ssize_t r;

	if (sasl_plain_decode(s, n, user, sizeof(user), pass,
	    sizeof(pass)) == 0)
		FUZZ_CHECK(user[0] != '\0' && strlen(user) <= SASL_USER_MAX &&
		    strlen(pass) <= SASL_PASS_MAX);
	if (sasl_login_decode(s, n, out, sizeof(out)) == 0)
		FUZZ_CHECK(strlen(out) <= SASL_PASS_MAX);

	/* What decodes re-encodes and decodes to the same bytes. */
	r = b64_decode(s, n, dec, sizeof(dec));
	if (r >= 0) {
		FUZZ_CHECK(n % 4 == 0 && (size_t)r <= B64_DECODED_MAX(n));
		FUZZ_CHECK(b64_encode(dec, (size_t)r, enc, sizeof(enc)) ==
		    (ssize_t)n);
		FUZZ_CHECK(b64_decode(enc, n, dec2, sizeof(dec2)) == r);
		FUZZ_CHECK(memcmp(dec, dec2, (size_t)r) == 0);
	}
}

/* Lines split at LF, a CR before it dropped, fed as one conversation. */
static void
fuzz_reply(const char *s, size_t n)
{
	struct reply rp;
	const char *line, *lf, *text;
	size_t len, textlen;
	int r;

	reply_reset(&rp);
	for (line = s; line < s + n; line = lf + 1) {
		if ((lf = memchr(line, '\n', (size_t)(s + n - line))) == NULL)
			lf = s + n;
		len = (size_t)(lf - line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if ((r = reply_feed(&rp, line, len)) == -1) {
			reply_reset(&rp);
			continue;
		}
		FUZZ_CHECK(rp.code >= 200 && rp.code <= 599);
		FUZZ_CHECK(rp.nlines >= 1 && rp.nlines <= REPLY_LINES_MAX);
		FUZZ_CHECK(rp.done == r);
		text = reply_text(line, len, &textlen);
		FUZZ_CHECK(textlen == 0 || fuzz_inside(text, textlen, line,
		    len));
		FUZZ_CHECK(fuzz_clean(text, textlen));
	}
}

/* user NUL token from the input; an accepted encoding decodes back. */
static void
fuzz_xoauth2(const char *s, size_t n)
{
	char *user, *token, *plain, *nul;
	char out[XOAUTH2_MAX];
	ssize_t r, p;
	size_t ulen, tlen;

	if ((nul = memchr(s, '\0', n)) == NULL)
		return;
	ulen = (size_t)(nul - s);
	FUZZ_CHECK((user = strndup(s, ulen)) != NULL);
	FUZZ_CHECK((token = strndup(nul + 1, n - ulen - 1)) != NULL);
	tlen = strlen(token);
	FUZZ_CHECK((plain = malloc(XOAUTH2_MAX)) != NULL);
	if ((r = xoauth2_encode(user, token, out, sizeof(out))) >= 0) {
		FUZZ_CHECK(fuzz_clean(user, ulen) && fuzz_clean(token, tlen));
		FUZZ_CHECK((size_t)r == strlen(out));
		p = b64_decode(out, (size_t)r, plain, XOAUTH2_MAX);
		FUZZ_CHECK(p == (ssize_t)(5 + ulen + 1 + 12 + tlen + 2));
		FUZZ_CHECK(memcmp(plain, "user=", 5) == 0 &&
		    memcmp(plain + 5, user, ulen) == 0 &&
		    memcmp(plain + 5 + ulen, "\001auth=Bearer ", 13) == 0 &&
		    memcmp(plain + 5 + ulen + 13, token, tlen) == 0 &&
		    memcmp(plain + p - 2, "\001\001", 2) == 0);
	}
	free(plain);
	free(token);
	free(user);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	fuzz_cmd(s, size);
	fuzz_path(s, size, "FROM", 1);
	fuzz_path(s, size, "TO", 0);
	fuzz_sasl(s, size);
	fuzz_reply(s, size);
	fuzz_xoauth2(s, size);
	return 0;
}
