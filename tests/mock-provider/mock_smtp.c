/*
 * mock_smtp: the mock provider's SMTP submission server, modelled on
 * smtp.gmail.com: implicit TLS or STARTTLS, AUTH XOAUTH2 against the tokens
 * mock_token issued, MAIL / RCPT / DATA stored through mock_files. A
 * rejected token is answered the --style's way: google with the 334 JSON
 * challenge, the client's empty line, then 535 5.7.8; microsoft with
 * "535 5.7.3 Authentication unsuccessful [mock]" at once. DIR/control's
 * smtp-reject and smtp-drop-data (mock_control.c) reject a good token or
 * cut a DATA transfer. Connections open at once are counted for
 * DIR/smtp-max-concurrent.
 *
 * DATA is read the way a LENIENT (vulnerable) server reads it: the data
 * ends at a "." line after any LF, so "\n.\n", "\n.\r\n" and "\r\n.\n" end
 * it as well as "\r\n.\r\n". A gateway that forwards raw client bytes then
 * shows a smuggled message as a separate stored message. Bare LF and bare CR
 * inside DATA are counted per message.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "tests/mock-provider/mock.h"

#define SMTP_HOSTNAME	"mock.provider"

#define REPLY_WANTAUTH	"530-5.7.0 Authentication Required. For more " \
	"information, go to\r\n530 5.7.0  https://support.google.com/mail/" \
	"?p=WantAuthError mock - gsmtp\r\n"
#define REPLY_BADCREDS	"535-5.7.8 Username and Password not accepted. For " \
	"more information, go to\r\n535 5.7.8  https://support.google.com/" \
	"mail/?p=BadCredentials mock - gsmtp\r\n"
#define REPLY_MS_BADTOKEN "535 5.7.3 Authentication unsuccessful [mock]\r\n"
#define REPLY_NEEDTLS	"530 5.7.0 Must issue a STARTTLS command first.\r\n"
#define REPLY_BADB64	"501 5.5.2 Cannot Decode response\r\n"
#define GOOGLE_AUTH_JSON \
	"{\"status\":\"400\",\"schemes\":\"Bearer\"," \
	"\"scope\":\"https://mail.google.com/\"}"

struct smtp_sess {
	struct mock_conn	*c;
	SSL_CTX			*ctx;
	int			 helo;		/* EHLO or HELO seen */
	int			 authed;
	int			 in_mail;	/* MAIL accepted */
	int			 counted;	/* in the concurrency count */
	size_t			 nrcpt;
	unsigned long		 mail_reads;	/* c->nreads at MAIL */
	unsigned long		 rcpt_reads;	/* ... at the last RCPT */
	struct mock_dbuf	 line;		/* the current command line */
	struct mock_dbuf	 user;		/* the authenticated email */
	struct mock_dbuf	 env;		/* mail-from, rcpt-to lines */
	struct mock_dbuf	 data;		/* the message, unstuffed */
};

/* A command handler: 0 to read the next command, -1 to close. */
typedef int	cmd_fn(struct smtp_sess *, char *);

static cmd_fn	cmd_ehlo, cmd_helo, cmd_starttls, cmd_auth, cmd_mail,
		cmd_rcpt, cmd_data, cmd_rset, cmd_noop, cmd_quit;

static const struct smtp_cmd {
	const char	*verb;
	cmd_fn		*fn;
} smtp_cmds[] = {
	{ "EHLO",	cmd_ehlo },
	{ "HELO",	cmd_helo },
	{ "STARTTLS",	cmd_starttls },
	{ "AUTH",	cmd_auth },
	{ "MAIL",	cmd_mail },
	{ "RCPT",	cmd_rcpt },
	{ "DATA",	cmd_data },
	{ "RSET",	cmd_rset },
	{ "NOOP",	cmd_noop },
	{ "QUIT",	cmd_quit },
};

static int
reply(struct smtp_sess *s, const char *text)
{

	return (mock_conn_write(s->c, text, strlen(text)));
}

/* Whether commands that need TLS may run (always true in tls mode). */
static int
tls_up(const struct smtp_sess *s)
{

	return (s->c->ssl != NULL);
}

/* Forget the current mail transaction. */
static void
txn_reset(struct smtp_sess *s)
{

	s->in_mail = 0;
	s->nrcpt = 0;
	mock_dbuf_reset(&s->env);
	mock_dbuf_reset(&s->data);
}

/* Cut the line end (CRLF or a lenient bare LF) off a line in place. */
static void
chomp(struct mock_dbuf *b)
{

	if (b->len > 0 && b->p[b->len - 1] == '\n')
		b->p[--b->len] = '\0';
	if (b->len > 0 && b->p[b->len - 1] == '\r')
		b->p[--b->len] = '\0';
}

/*
 * Read one SASL response line into s->line, chomped. 0, 1 if it was "*"
 * (the client cancelled; 501 already sent), -1 on EOF or a reply failure.
 */
static int
read_sasl_line(struct smtp_sess *s)
{
	int overflow;

	if (mock_conn_getline(s->c, &s->line, MOCK_SMTP_LINE_MAX,
	    &overflow) == -1)
		return (-1);
	if (overflow) {
		if (reply(s, "500 5.5.2 Line too long\r\n") == -1)
			return (-1);
		return (1);
	}
	chomp(&s->line);
	if (strcmp(s->line.p, "*") == 0) {
		if (reply(s, "501 5.7.0 Authentication aborted\r\n") == -1)
			return (-1);
		return (1);
	}
	return (0);
}

static int
cmd_ehlo(struct smtp_sess *s, char *arg)
{

	if (arg == NULL || *arg == '\0')
		return (reply(s, "501 5.5.4 Empty HELO/EHLO argument not "
		    "allowed, closing connection.\r\n"));
	s->helo = 1;
	txn_reset(s);
	return (mock_conn_printf(s->c,
	    "250-" SMTP_HOSTNAME " at your service\r\n"
	    "250-SIZE %d\r\n"
	    "250-8BITMIME\r\n"
	    "%s%s"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-PIPELINING\r\n"
	    "250 SMTPUTF8\r\n", MOCK_SMTP_SIZE,
	    tls_up(s) ? "" : "250-STARTTLS\r\n",
	    tls_up(s) ? "250-AUTH LOGIN PLAIN XOAUTH2\r\n" : ""));
}

static int
cmd_helo(struct smtp_sess *s, char *arg)
{

	if (arg == NULL || *arg == '\0')
		return (reply(s, "501 5.5.4 Empty HELO/EHLO argument not "
		    "allowed, closing connection.\r\n"));
	s->helo = 1;
	txn_reset(s);
	return (reply(s, "250 " SMTP_HOSTNAME " at your service\r\n"));
}

/* STARTTLS: only in starttls mode before TLS; the session starts over. */
static int
cmd_starttls(struct smtp_sess *s, char *arg)
{

	if (mock_opts.smtp_mode != MOCK_SMTP_STARTTLS || tls_up(s))
		return (reply(s, "502 5.5.1 Unrecognized command.\r\n"));
	if (arg != NULL)
		return (reply(s, "501 5.5.4 Syntax error\r\n"));
	if (reply(s, "220 2.0.0 Ready to start TLS\r\n") == -1)
		return (-1);
	/* Plaintext pipelined after STARTTLS is an injection: drop it. */
	mock_conn_discard(s->c);
	if (mock_conn_starttls(s->c, s->ctx) == -1) {
		mock_log("smtp conn=%lu starttls handshake failed", s->c->id);
		return (-1);
	}
	s->helo = 0;
	s->authed = 0;
	txn_reset(s);
	return (0);
}

/*
 * Split a decoded XOAUTH2 response "user=" EMAIL ^A "auth=Bearer " TOKEN
 * ^A ^A, strictly. Pointers into buf (which is modified). 0 / -1.
 */
static int
xoauth2_parse(char *buf, size_t len, char **user, char **token)
{
	char *p, *end = buf + len, *a1, *a2;

	if (len < 3 || strlen(buf) != len || strncmp(buf, "user=", 5) != 0 ||
	    memcmp(end - 2, "\001\001", 2) != 0)
		return (-1);
	p = buf + 5;
	if ((a1 = memchr(p, '\001', (size_t)(end - p))) == NULL || a1 == p)
		return (-1);
	*a1 = '\0';
	*user = p;
	p = a1 + 1;
	if ((size_t)(end - p) < strlen("auth=Bearer ") + 2 ||
	    strncmp(p, "auth=Bearer ", strlen("auth=Bearer ")) != 0)
		return (-1);
	p += strlen("auth=Bearer ");
	if ((a2 = memchr(p, '\001', (size_t)(end - p))) == NULL || a2 == p ||
	    a2 != end - 2)
		return (-1);
	*a2 = '\0';
	*token = p;
	return (0);
}

/*
 * A rejected token, the way Gmail answers: a 334 JSON challenge, the
 * client's (normally empty) line, then 535.
 */
static int
xoauth2_fail_google(struct smtp_sess *s)
{
	char *b64;
	int rc, overflow;

	if ((b64 = mock_b64_encode(GOOGLE_AUTH_JSON,
	    strlen(GOOGLE_AUTH_JSON))) == NULL)
		return (-1);
	rc = mock_conn_printf(s->c, "334 %s\r\n", b64);
	free(b64);
	if (rc == -1)
		return (-1);
	if (mock_conn_getline(s->c, &s->line, MOCK_SMTP_LINE_MAX,
	    &overflow) == -1)
		return (-1);
	return (reply(s, REPLY_BADCREDS));
}

/* A rejected token, the --style's way. */
static int
xoauth2_fail(struct smtp_sess *s)
{

	if (mock_opts.style == MOCK_STYLE_MICROSOFT)
		return (reply(s, REPLY_MS_BADTOKEN));
	return (xoauth2_fail_google(s));
}

/* AUTH XOAUTH2 [initial-response]. */
static int
auth_xoauth2(struct smtp_sess *s, char *ir)
{
	unsigned char *dec;
	char *user, *token;
	size_t declen;
	int rc, injected;

	if (ir == NULL) {
		if (reply(s, "334 \r\n") == -1)
			return (-1);
		if ((rc = read_sasl_line(s)) != 0)
			return (rc == 1 ? 0 : -1);
		ir = s->line.p;
	}
	if ((dec = mock_b64_decode(ir, strlen(ir), &declen)) == NULL ||
	    xoauth2_parse((char *)dec, declen, &user, &token) == -1) {
		free(dec);
		mock_counter_bump(MOCK_CNT_AUTH_FAILURES);
		mock_log("smtp conn=%lu auth XOAUTH2 malformed", s->c->id);
		return (reply(s, REPLY_BADB64));
	}
	injected = mock_control_smtp(MOCK_CTL_SMTP_REJECT);
	if (!injected && !mock_opts.reject_tokens && mock_token_valid(token)) {
		mock_dbuf_reset(&s->user);
		rc = mock_dbuf_add(&s->user, user, strlen(user));
		OPENSSL_cleanse(dec, declen);
		free(dec);
		if (rc == -1)
			return (-1);
		s->authed = 1;
		mock_counter_bump(MOCK_CNT_AUTH);
		mock_log("smtp conn=%lu auth XOAUTH2 ok user=%s", s->c->id,
		    s->user.p);
		return (reply(s, "235 2.7.0 Accepted\r\n"));
	}
	mock_log("smtp conn=%lu auth XOAUTH2 rejected user=%s%s", s->c->id,
	    user, injected ? " injected=smtp-reject" : "");
	OPENSSL_cleanse(dec, declen);
	free(dec);
	mock_counter_bump(MOCK_CNT_AUTH_FAILURES);
	return (xoauth2_fail(s));
}

/* AUTH PLAIN / LOGIN: run the exchange, then refuse like Gmail does. */
static int
auth_password(struct smtp_sess *s, const char *mech, char *ir)
{
	int rc;

	if (strcasecmp(mech, "PLAIN") == 0) {
		if (ir == NULL) {
			if (reply(s, "334 \r\n") == -1)
				return (-1);
			if ((rc = read_sasl_line(s)) != 0)
				return (rc == 1 ? 0 : -1);
		}
	} else {
		/* LOGIN: an initial response is the user name. */
		if (ir == NULL) {
			if (reply(s, "334 VXNlcm5hbWU6\r\n") == -1)
				return (-1);
			if ((rc = read_sasl_line(s)) != 0)
				return (rc == 1 ? 0 : -1);
		}
		if (reply(s, "334 UGFzc3dvcmQ6\r\n") == -1)
			return (-1);
		if ((rc = read_sasl_line(s)) != 0)
			return (rc == 1 ? 0 : -1);
	}
	OPENSSL_cleanse(s->line.p, s->line.len);
	mock_counter_bump(MOCK_CNT_AUTH_FAILURES);
	mock_log("smtp conn=%lu auth %s refused", s->c->id, mech);
	return (reply(s, REPLY_BADCREDS));
}

static int
cmd_auth(struct smtp_sess *s, char *arg)
{
	char *mech, *ir;

	if (!tls_up(s))
		return (reply(s, REPLY_NEEDTLS));
	if (!s->helo)
		return (reply(s, "503 5.5.1 EHLO/HELO first.\r\n"));
	if (s->authed)
		return (reply(s, "503 5.5.1 Already authenticated.\r\n"));
	if (s->in_mail)
		return (reply(s, "503 5.5.1 AUTH not allowed in a mail "
		    "transaction.\r\n"));
	if (arg == NULL || *arg == '\0')
		return (reply(s, "501 5.5.2 Syntax error\r\n"));
	mech = arg;
	if ((ir = strchr(arg, ' ')) != NULL) {
		*ir++ = '\0';
		/* RFC 4954: "=" is an empty initial response. */
		if (strcmp(ir, "=") == 0)
			*ir = '\0';
	}
	if (strcasecmp(mech, "XOAUTH2") == 0)
		return (auth_xoauth2(s, ir));
	if (strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0)
		return (auth_password(s, mech, ir));
	return (reply(s, "504 5.7.4 Unrecognized Authentication Type\r\n"));
}

/*
 * Match "FROM:" / "TO:" (case-insensitive, spaces allowed after the colon)
 * followed by "<...>" and optional parameters. Returns the path and
 * parameters as sent, or NULL.
 */
static char *
path_arg(char *arg, const char *keyword)
{
	size_t k = strlen(keyword);
	char *p;

	if (arg == NULL || strncasecmp(arg, keyword, k) != 0)
		return (NULL);
	for (p = arg + k; *p == ' '; p++)
		;
	if (*p != '<' || strchr(p, '>') == NULL)
		return (NULL);
	return (p);
}

/* The SIZE= value in MAIL parameters, or 0. */
static unsigned long long
mail_size_param(const char *params)
{
	const char *p;

	for (p = params; (p = strchr(p, ' ')) != NULL; p++)
		if (strncasecmp(p + 1, "SIZE=", 5) == 0)
			return (strtoull(p + 6, NULL, 10));
	return (0);
}

static int
cmd_mail(struct smtp_sess *s, char *arg)
{
	char *path;

	mock_counter_bump(MOCK_CNT_MAIL);
	if (s->authed && mock_control_smtp(MOCK_CTL_SMTP_421)) {
		mock_log("smtp conn=%lu MAIL refused injected=smtp-421",
		    s->c->id);
		(void)reply(s, "421 4.7.0 Try again later, closing connection. "
		    "mock\r\n");
		return (-1);
	}
	if (s->authed && mock_control_smtp(MOCK_CTL_SMTP_432))
		return (reply(s, "432 4.3.2 STOREDRV.ClientSubmit; sender "
		    "thread limit exceeded [mock]\r\n"));
	if (!tls_up(s))
		return (reply(s, REPLY_NEEDTLS));
	if (!s->helo)
		return (reply(s, "503 5.5.1 EHLO/HELO first.\r\n"));
	if (!s->authed)
		return (reply(s, REPLY_WANTAUTH));
	if (s->in_mail)
		return (reply(s, "503 5.5.1 Nested MAIL command.\r\n"));
	if ((path = path_arg(arg, "FROM:")) == NULL)
		return (reply(s, "555 5.5.2 Syntax error.\r\n"));
	if (mail_size_param(strchr(path, '>')) > MOCK_SMTP_SIZE)
		return (reply(s, "552 5.3.4 Message size exceeds fixed "
		    "maximum message size\r\n"));
	txn_reset(s);
	if (mock_dbuf_add(&s->env, "mail-from: ", 11) == -1 ||
	    mock_dbuf_add(&s->env, path, strlen(path)) == -1 ||
	    mock_dbuf_add(&s->env, "\n", 1) == -1)
		return (-1);
	s->in_mail = 1;
	s->mail_reads = s->rcpt_reads = s->c->nreads;
	return (reply(s, "250 2.1.0 OK\r\n"));
}

static int
cmd_rcpt(struct smtp_sess *s, char *arg)
{
	char *path;

	if (!s->in_mail)
		return (reply(s, "503 5.5.1 MAIL first.\r\n"));
	if ((path = path_arg(arg, "TO:")) == NULL)
		return (reply(s, "555 5.5.2 Syntax error.\r\n"));
	if (s->nrcpt == MOCK_RCPT_MAX)
		return (reply(s, "452 4.5.3 Too many recipients\r\n"));
	if (mock_dbuf_add(&s->env, "rcpt-to: ", 9) == -1 ||
	    mock_dbuf_add(&s->env, path, strlen(path)) == -1 ||
	    mock_dbuf_add(&s->env, "\n", 1) == -1)
		return (-1);
	s->nrcpt++;
	s->rcpt_reads = s->c->nreads;
	return (reply(s, "250 2.1.5 OK\r\n"));
}

/* Count the bare LFs and bare CRs in one line (which ends at its LF). */
static void
count_bare(const char *p, size_t len, unsigned long *lf, unsigned long *cr)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			(*lf)++;
		else if (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n'))
			(*cr)++;
	}
}

/*
 * Read the message after 354 up to the end-of-data line: "." alone on a
 * line after any LF (the lenient rule). 0 with *toobig set or not, -1 on
 * EOF or error.
 */
static int
data_read(struct smtp_sess *s, unsigned long *lf, unsigned long *cr,
    int *toobig)
{
	struct mock_dbuf *l = &s->line;
	int overflow;
	size_t skip;

	*lf = *cr = 0;
	*toobig = 0;
	for (;;) {
		if (mock_conn_getline(s->c, l, MOCK_DATA_LINE_MAX,
		    &overflow) == -1)
			return (-1);
		count_bare(l->p, l->len, lf, cr);
		if (overflow) {
			*toobig = 1;
			continue;
		}
		if ((l->len == 3 && memcmp(l->p, ".\r\n", 3) == 0) ||
		    (l->len == 2 && memcmp(l->p, ".\n", 2) == 0))
			return (0);
		skip = l->p[0] == '.' ? 1 : 0;
		if (*toobig || s->data.len + l->len - skip > MOCK_SMTP_SIZE) {
			*toobig = 1;
			continue;
		}
		if (mock_dbuf_add(&s->data, l->p + skip, l->len - skip) == -1)
			return (-1);
	}
}

/*
 * Store s->data with its envelope file: auth-user, the mail-from and
 * rcpt-to lines, bare-lf, bare-cr, size. The message number, or 0.
 */
static unsigned long
message_store(struct smtp_sess *s, unsigned long lf, unsigned long cr)
{
	struct mock_dbuf env = { NULL, 0, 0 };
	char tail[128];
	unsigned long num = 0;
	int n;

	/* envelope-reads: reads it took after the one that brought MAIL to
	   get every RCPT: 0 when the client pipelined them (RFC 2920). */
	n = snprintf(tail, sizeof(tail), "bare-lf: %lu\nbare-cr: %lu\n"
	    "size: %zu\nenvelope-reads: %lu\n", lf, cr, s->data.len,
	    s->rcpt_reads - s->mail_reads);
	if (mock_dbuf_add(&env, "auth-user: ", 11) == -1 ||
	    mock_dbuf_add(&env, s->user.p, s->user.len) == -1 ||
	    mock_dbuf_add(&env, "\n", 1) == -1 ||
	    mock_dbuf_add(&env, s->env.p, s->env.len) == -1 ||
	    mock_dbuf_add(&env, tail, (size_t)n) == -1)
		goto done;
	num = mock_message_store(&s->data, &env);

done:
	mock_dbuf_free(&env);
	return (num);
}

static int
cmd_data(struct smtp_sess *s, char *arg)
{
	unsigned long lf, cr, num;
	int toobig;

	if (arg != NULL)
		return (reply(s, "501 5.5.4 Syntax error\r\n"));
	if (!s->in_mail)
		return (reply(s, "503 5.5.1 MAIL first.\r\n"));
	if (s->nrcpt == 0)
		return (reply(s, "503 5.5.1 RCPT first.\r\n"));
	if (reply(s, "354 Go ahead\r\n") == -1)
		return (-1);
	if (mock_control_smtp(MOCK_CTL_SMTP_DROP_DATA)) {
		/* Cut mid-transfer: one line in, then gone, nothing kept. */
		(void)mock_conn_getline(s->c, &s->line, MOCK_DATA_LINE_MAX,
		    &toobig);
		mock_log("smtp conn=%lu data cut injected=smtp-drop-data",
		    s->c->id);
		txn_reset(s);
		s->c->abort = 1;
		return (-1);
	}
	mock_dbuf_reset(&s->data);
	if (data_read(s, &lf, &cr, &toobig) == -1)
		return (-1);
	if (toobig) {
		mock_log("smtp conn=%lu message too big", s->c->id);
		txn_reset(s);
		return (reply(s, "552 5.3.4 Your message exceeded Google's "
		    "message size limits. mock - gsmtp\r\n"));
	}

	num = message_store(s, lf, cr);
	if (num == 0) {
		txn_reset(s);
		return (reply(s, "451 4.3.0 Mail server temporarily "
		    "rejected message. mock - gsmtp\r\n"));
	}
	mock_log("smtp conn=%lu message stored n=%06lu size=%zu rcpts=%zu "
	    "bare-lf=%lu bare-cr=%lu", s->c->id, num, s->data.len, s->nrcpt,
	    lf, cr);
	txn_reset(s);
	return (mock_conn_printf(s->c, "250 2.0.0 OK %lu mock - gsmtp\r\n",
	    num));
}

static int
cmd_rset(struct smtp_sess *s, char *arg)
{

	(void)arg;
	txn_reset(s);
	return (reply(s, "250 2.1.5 Flushed\r\n"));
}

static int
cmd_noop(struct smtp_sess *s, char *arg)
{

	(void)arg;
	return (reply(s, "250 2.0.0 OK\r\n"));
}

static int
cmd_quit(struct smtp_sess *s, char *arg)
{

	(void)arg;
	/* Before the 221: a client may reconnect as soon as it reads it. */
	mock_concurrency_leave();
	s->counted = 0;
	(void)reply(s, "221 2.0.0 closing connection\r\n");
	return (-1);
}

/* Read and run commands until QUIT, EOF or an error. */
static void
smtp_loop(struct smtp_sess *s)
{
	char *verb, *arg;
	size_t i, n = sizeof(smtp_cmds) / sizeof(smtp_cmds[0]);
	int overflow;

	for (;;) {
		if (mock_conn_getline(s->c, &s->line, MOCK_SMTP_LINE_MAX,
		    &overflow) == -1)
			return;
		if (overflow) {
			if (reply(s, "500 5.5.2 Line too long\r\n") == -1)
				return;
			continue;
		}
		chomp(&s->line);
		verb = s->line.p;
		if ((arg = strchr(verb, ' ')) != NULL)
			*arg++ = '\0';
		for (i = 0; i < n; i++)
			if (strcasecmp(verb, smtp_cmds[i].verb) == 0)
				break;
		if (i == n) {
			if (reply(s, "502 5.5.1 Unrecognized command.\r\n") ==
			    -1)
				return;
			continue;
		}
		if (smtp_cmds[i].fn(s, arg) == -1)
			return;
	}
}

/* Serve one SMTP session, then free the connection. */
void
mock_smtp_serve(struct mock_conn *c, SSL_CTX *ctx)
{
	struct smtp_sess s;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.ctx = ctx;
	mock_counter_bump(MOCK_CNT_SMTP_CONNECTIONS);
	mock_concurrency_enter();
	s.counted = 1;
	if (mock_opts.smtp_mode == MOCK_SMTP_TLS &&
	    mock_conn_starttls(c, ctx) == -1) {
		mock_log("smtp conn=%lu tls handshake failed", c->id);
		goto done;
	}
	if (reply(&s, "220 " SMTP_HOSTNAME " ESMTP mock\r\n") == -1)
		goto done;
	smtp_loop(&s);

done:
	mock_log("smtp conn=%lu closed", c->id);
	if (s.counted)
		mock_concurrency_leave();
	mock_dbuf_free(&s.line);
	mock_dbuf_free(&s.user);
	mock_dbuf_free(&s.env);
	mock_dbuf_free(&s.data);
	mock_conn_free(c);
}
