/*
 * check_config: proxy/config. Each test writes its INI text to a mkstemp
 * file, loads it, and checks either the parsed values or the exact set of
 * "PATH:LINE: [section] key: ..." error lines, and that no secret value is
 * ever part of the error text. The shipped example must load too. Presets,
 * overrides, tenants and grants are checked through what each account ends
 * up with.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "io/log.h"
#include "proxy/config.h"
#include "tests/unit/suites.h"

#define PATHSZ		64
#define LINESZ		1024	/* one expected error prefix */
#define TEXTSZ		16384	/* a generated INI text */
#define LONGSZ		5004	/* the longest line made, its CR LF NUL */
#define EXPECT_MAX	4	/* expected errors per table row */
#define EXAMPLE_PATH	"etc/authrelay.ini.example"
#define EXAMPLE_MAX	65536
#define ERRORS_SHOWN	100	/* CONFIG_MAX_ERRORS in proxy/config.c */
#define ERRORS_MADE	150
#define NPRESETS	5	/* built-in providers */

/* The Microsoft identity platform URLs of tenant t at login host h. */
#define MS(h, t, ep)	"https://" h "/" t "/oauth2/v2.0/" ep

/* Four lines each: a valid [server], [account a] and (three) [user u]. */
#define SERVER	"[server]\nlisten = 127.0.0.1:2525 starttls\n" \
		"tls_cert = /c.pem\ntls_key = /k.pem\n"
#define ACCOUNT	"[account a]\nprovider = google\nemail = a@example.com\n" \
		"client_id = cid\n"
#define USER	"[user u]\npassword_hash = $6$salt$hash\naccount = a\n"
/* Four lines: the start of an [account a] of provider P, line 5 to 8. */
#define ACCT(P)	"[account a]\nprovider = " P "\nemail = a@example.com\n" \
		"client_id = cid\n"
/* Three lines: a [listener lan] of mode M at 127.0.0.1:2526. */
#define LISTENER(M)	"[listener lan]\naddress = 127.0.0.1:2526\n" \
			"mode = " M "\n"
/* Four lines: an auth = none [user N] of account a on networks V. */
#define NOAUTH(N, V)	"[user " N "]\nauth = none\naccount = a\n" \
			"networks = " V "\n"
/* Account names of 64 bytes: NAME64 "x", NAME64 "y". */
#define NAME64	"acct-64-name-that-is-exactly-sixty-four-bytes-long-abcdefghijk-"

static char	cc_path[PATHSZ];

/* Write n bytes of text to a fresh temporary file and load it. */
static struct config *
load_n(const char *text, size_t n, char **errs)
{
	struct config *cf;
	FILE *f;
	int fd;

	snprintf(cc_path, sizeof(cc_path), "/tmp/check_config.XXXXXX");
	fd = mkstemp(cc_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
	*errs = NULL;
	cf = config_load(cc_path, errs);
	unlink(cc_path);
	return cf;
}

static struct config *
load(const char *text, char **errs)
{
	return load_n(text, strlen(text), errs);
}

/* Load text that must be valid. */
static struct config *
load_ok(const char *text)
{
	struct config *cf;
	char *errs;

	cf = load(text, &errs);
	ck_assert_msg(cf != NULL, "unexpected errors:\n%s",
	    errs != NULL ? errs : "(none)");
	ck_assert_ptr_null(errs);
	return cf;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* Does some line of errs start with "PATH:LINE: want"? */
static int
has_error(const char *errs, int line, const char *want)
{
	char prefix[LINESZ];
	const char *s;
	size_t n;

	n = (size_t)snprintf(prefix, sizeof(prefix), "%s:%d: %s", cc_path,
	    line, want);
	for (s = errs; s != NULL && *s != '\0'; s = strchr(s, '\n'),
	    s = s != NULL ? s + 1 : NULL)
		if (strncmp(s, prefix, n) == 0)
			return 1;
	return 0;
}

/* Every line of errs is "PATH:LINE: ..." and ends with a newline. */
static void
check_shape(const char *errs)
{
	const char *s;
	size_t n = strlen(cc_path);

	ck_assert_ptr_nonnull(errs);
	ck_assert_uint_gt(strlen(errs), 0);
	ck_assert_int_eq(errs[strlen(errs) - 1], '\n');
	for (s = errs; *s != '\0'; s = strchr(s, '\n') + 1)
		ck_assert_msg(strncmp(s, cc_path, n) == 0 && s[n] == ':',
		    "bad error line in:\n%s", errs);
}

struct expect {
	int		 line;
	const char	*want;	/* the error line after "PATH:LINE: " */
};

static const struct {
	const char	*text;
	size_t		 nerr;
	struct expect	 e[EXPECT_MAX];
} bad[] = {
	/* Sections. */
	{ SERVER "[foo]\nbar = 1\n", 1,
	    { { 5, "[foo]: unknown section" } } },
	{ SERVER "[Server]\n", 1, { { 5, "[Server]: unknown section" } } },
	{ SERVER "[accounts x]\nprovider = google\n", 1,
	    { { 5, "[accounts x]: unknown section" } } },
	{ SERVER "[server x]\n", 1,
	    { { 5, "[server x]: [server] takes no name" } } },
	{ SERVER "[server]\nbogus = 1\n", 1,
	    { { 5, "[server]: duplicate section (first at line 1)" } } },
	{ SERVER ACCOUNT ACCOUNT USER, 1,
	    { { 9, "[account a]: duplicate section (first at line 5)" } } },
	{ SERVER ACCOUNT USER USER USER, 2,
	    { { 12, "[user u]: duplicate section (first at line 9)" },
	      { 15, "[user u]: duplicate section (first at line 9)" } } },
	{ SERVER "[provider corp]\ntoken_url = https://t\nsmtp = h:1 tls\n"
	    "[provider corp]\n", 1,
	    { { 8, "[provider corp]: duplicate section (first at line 5)" } } },
	{ SERVER "[provider google]\n[provider google]\n", 1,
	    { { 6, "[provider google]: duplicate section (first at line 5)" } } },
	{ SERVER "[server\n", 1, { { 5, "section header without ']'" } } },
	{ SERVER "[server] junk\n", 1, { { 5, "text after ']'" } } },
	{ SERVER "[account .hidden]\n", 1, { { 5, "[account .hidden]: the "
	    "name must be 1..64 of [A-Za-z0-9._-]" } } },
	{ SERVER "[account a/b]\n", 1, { { 5, "[account a/b]: the name" } } },
	/* 65 bytes. */
	{ SERVER "[account " NAME64 "xy]\n", 1,
	    { { 5, "[account " NAME64 "xy]: the name" } } },
	{ SERVER "[account]\n", 1, { { 5, "[account]: the name" } } },
	{ SERVER "[provider bad!]\n", 1, { { 5, "[provider bad!]: the name" } } },
	{ SERVER "[user a b]\n", 1, { { 5, "[user a b]: the login name" } } },

	/* Keys. */
	{ SERVER "bogus = 1\n", 1, { { 5, "[server] bogus: unknown key" } } },
	{ SERVER "Listen = 127.0.0.2:25 tls\n", 1,
	    { { 5, "[server] Listen: unknown key" } } },
	{ SERVER ACCOUNT "password_hash = $1$x$y\n", 1,
	    { { 9, "[account a] password_hash: unknown key" } } },
	{ "hostname = mx.example.com\n" SERVER, 1,
	    { { 1, "hostname: outside any section" } } },
	{ SERVER "tls_cert = /other.pem\n", 1,
	    { { 5, "[server] tls_cert: given twice (first at line 3)" } } },
	{ SERVER ACCOUNT "email = b@example.com\n", 1,
	    { { 9, "[account a] email: given twice (first at line 7)" } } },
	{ SERVER "= 5\n", 1, { { 5, "[server]: no key name before '='" } } },
	{ SERVER "state_dir =\n", 1, { { 5, "[server] state_dir: empty value" } } },
	{ SERVER "state_dir = /var/\tlib\n", 1,
	    { { 5, "[server] state_dir: control character in the value" } } },
	{ SERVER "just some words\n", 1,
	    { { 5, "[server]: expected \"key = value\"" } } },
	{ "just some words\n" SERVER, 1,
	    { { 1, "expected \"key = value\"" } } },
	/* An indented line is a line of its own, never a continuation. */
	{ SERVER "state_dir = /var/lib\n  /authrelay\n", 1,
	    { { 6, "[server]: expected \"key = value\"" } } },
	{ SERVER "hostname = bad!host\n", 1,
	    { { 5, "[server] hostname: not a valid host name" } } },
	{ SERVER "hostname = a..b\n", 1,
	    { { 5, "[server] hostname: not a valid host name" } } },
	{ SERVER "log_level = verbose\n", 1,
	    { { 5, "[server] log_level: must be debug, info, warn or error" } } },
	{ SERVER "log_level = INFO\n", 1,
	    { { 5, "[server] log_level: must be" } } },

	/* Integers. */
	{ SERVER "max_connections = 10x\n", 1, { { 5, "[server] "
	    "max_connections: not a plain decimal integer (allowed: "
	    "1..1000000)" } } },
	{ SERVER "max_connections = 0x10\n", 1,
	    { { 5, "[server] max_connections: not a plain decimal" } } },
	{ SERVER "max_connections = +5\n", 1,
	    { { 5, "[server] max_connections: not a plain decimal" } } },
	{ SERVER "max_connections = 1 000\n", 1,
	    { { 5, "[server] max_connections: not a plain decimal" } } },
	{ SERVER "max_connections = 0\n", 1, { { 5, "[server] "
	    "max_connections: out of range (allowed: 1..1000000)" } } },
	{ SERVER "max_connections = 1000001\n", 1,
	    { { 5, "[server] max_connections: out of range" } } },
	{ SERVER "max_connections = -1\n", 1,
	    { { 5, "[server] max_connections: out of range" } } },
	{ SERVER "max_connections = 99999999999999999999999\n", 1,
	    { { 5, "[server] max_connections: out of range" } } },
	{ SERVER "max_message_size = 1023\n", 1, { { 5, "[server] "
	    "max_message_size: out of range (allowed: 1024..2147483648)" } } },
	{ SERVER "max_message_size = 2147483649\n", 1,
	    { { 5, "[server] max_message_size: out of range" } } },
	{ SERVER "command_timeout = 86401\n", 1, { { 5, "[server] "
	    "command_timeout: out of range (allowed: 1..86400)" } } },
	{ SERVER "data_timeout = 0\n", 1,
	    { { 5, "[server] data_timeout: out of range (allowed: 1..86400)" } } },
	{ SERVER "upstream_timeout = ten\n", 1,
	    { { 5, "[server] upstream_timeout: not a plain decimal" } } },
	{ SERVER "upstream_queue_timeout = 0\n", 1, { { 5, "[server] "
	    "upstream_queue_timeout: out of range (allowed: 1..86400)" } } },
	{ SERVER "upstream_idle_timeout = -1\n", 1, { { 5, "[server] "
	    "upstream_idle_timeout: out of range (allowed: 0..86400)" } } },
	{ SERVER ACCOUNT "max_upstream_connections = 0\n", 1, { { 9,
	    "[account a] max_upstream_connections: out of range (allowed: "
	    "1..100)" } } },
	{ SERVER ACCOUNT "max_upstream_connections = 101\n", 1, { { 9,
	    "[account a] max_upstream_connections: out of range" } } },
	{ SERVER ACCOUNT "[provider google]\nmax_upstream_connections = x\n",
	    1, { { 10, "[provider google] max_upstream_connections: not a "
	    "plain decimal" } } },
	{ SERVER "auth_threads = 65\n", 1,
	    { { 5, "[server] auth_threads: out of range (allowed: 1..64)" } } },

	/* Listen. */
	{ "[server]\nlisten = 127.0.0.1 starttls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: no port" } } },
	{ "[server]\nlisten = 127.0.0.1: tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: no port" } } },
	{ "[server]\nlisten = [::1] tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: no port" } } },
	{ "[server]\nlisten = 127.0.0.1:0 tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: port must be 1..65535" } } },
	{ "[server]\nlisten = 127.0.0.1:65536 tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: port must be 1..65535" } } },
	{ "[server]\nlisten = 127.0.0.1:smtp tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: port must be 1..65535" } } },
	{ "[server]\nlisten = 127.0.0.1:25 ssl\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: mode must be starttls, tls or "
	    "plain" } } },
	{ "[server]\nlisten = 127.0.0.1:25 TLS\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: mode must be starttls, tls or "
	    "plain" } } },
	{ "[server]\nlisten = 127.0.0.1:25\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: expected \"ADDR:PORT MODE\"" } } },
	{ "[server]\nlisten = 127.0.0.1:25 tls now\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: expected \"ADDR:PORT MODE\"" } } },
	{ "[server]\nlisten = localhost:25 tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: the address must be numeric" } } },
	{ "[server]\nlisten = mail.example.com:25 tls\ntls_cert = c\n"
	    "tls_key = k\n", 1,
	    { { 2, "[server] listen: the address must be numeric" } } },
	{ "[server]\nlisten = 127.1:25 tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: the address must be numeric" } } },
	{ "[server]\nlisten = ::1:25 tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: the address must be numeric" } } },
	{ "[server]\nlisten = [127.0.0.1]:25 tls\ntls_cert = c\ntls_key = k\n",
	    1, { { 2, "[server] listen: the address must be numeric" } } },
	{ "[server]\nlisten = 127.0.0.1:25 tls\nlisten = 127.0.0.1:025 tls\n"
	    "tls_cert = c\ntls_key = k\n", 1,
	    { { 3, "[server] listen: same address as line 2" } } },

	/* Required keys. */
	{ "", 1, { { 0, "[server] listen: at least one is required" } } },
	{ "[server]\ntls_cert = c\ntls_key = k\n", 1,
	    { { 0, "[server] listen: at least one is required" } } },
	{ "[server]\nlisten = 127.0.0.1:25 tls\n", 2,
	    { { 1, "[server] tls_cert: missing (required with a tls or "
	    "starttls listener)" },
	      { 1, "[server] tls_key: missing (required with a tls or "
	    "starttls listener)" } } },
	{ SERVER "[account a]\n", 3,
	    { { 5, "[account a] provider: missing (required)" },
	      { 5, "[account a] email: missing (required)" },
	      { 5, "[account a] client_id: missing (required)" } } },
	{ SERVER ACCOUNT "[user u]\n", 2,
	    { { 9, "[user u] password_hash: missing (required)" },
	      { 9, "[user u] account: missing (required)" } } },
	{ SERVER "[provider corp]\nca_file = /ca.pem\n", 2,
	    { { 5, "[provider corp] token_url: missing (required)" },
	      { 5, "[provider corp] smtp: missing (required)" } } },

	/* References. */
	{ SERVER "[account a]\nprovider = yahoo\nemail = a@example.com\n"
	    "client_id = cid\n", 1, { { 6, "[account a] provider: no "
	    "provider \"yahoo\" (neither a preset nor a [provider] section)" } } },
	{ SERVER "[account a]\nprovider = Google\nemail = a@example.com\n"
	    "client_id = cid\n", 1,
	    { { 6, "[account a] provider: no provider \"Google\"" } } },
	{ SERVER ACCOUNT "[user u]\npassword_hash = $6$s$h\naccount = b\n", 1,
	    { { 11, "[user u] account: no [account b] section" } } },
	{ SERVER "[user u]\naccount = a\npassword_hash = $6$s$h\n", 1,
	    { { 6, "[user u] account: no [account a] section" } } },

	/* Values. */
	{ SERVER "[account a]\nprovider = google\nemail = nobody\n"
	    "client_id = cid\n", 1,
	    { { 7, "[account a] email: not an e-mail address" } } },
	{ SERVER "[account a]\nprovider = google\nemail = a@b@c\n"
	    "client_id = cid\n", 1,
	    { { 7, "[account a] email: not an e-mail address" } } },
	{ SERVER "[account a]\nprovider = google\nemail = a b@c\n"
	    "client_id = cid\n", 1,
	    { { 7, "[account a] email: not an e-mail address" } } },
	{ SERVER "[account a]\nprovider = google\nemail = @example.com\n"
	    "client_id = cid\n", 1,
	    { { 7, "[account a] email: not an e-mail address" } } },
	{ SERVER "[account a]\nprovider = google\nemail = a@\n"
	    "client_id = cid\n", 1,
	    { { 7, "[account a] email: not an e-mail address" } } },
	{ SERVER ACCOUNT "[user u]\npassword_hash = hunter2\naccount = a\n", 1,
	    { { 10, "[user u] password_hash: not a crypt(3) hash" } } },
	{ SERVER "[provider corp]\ntoken_url = http://t.example/token\n"
	    "smtp = h:25 starttls\n", 1,
	    { { 6, "[provider corp] token_url: must be an https:// URL" } } },
	{ SERVER "[provider corp]\ntoken_url = https://\n"
	    "smtp = h:25 starttls\n", 1,
	    { { 6, "[provider corp] token_url: must be an https:// URL" } } },
	{ SERVER "[provider google]\nsmtp = smtp.gmail.com tls\n", 1,
	    { { 6, "[provider google] smtp: no port" } } },
	{ SERVER "[provider google]\nsmtp = smtp.gmail.com:465\n", 1,
	    { { 6, "[provider google] smtp: expected \"HOST:PORT MODE\"" } } },
	{ SERVER "[provider google]\nsmtp = smtp.gmail.com:99999 tls\n", 1,
	    { { 6, "[provider google] smtp: port must be 1..65535" } } },
	{ SERVER "[provider google]\nsmtp = smtp.gmail.com:465 ssl\n", 1,
	    { { 6, "[provider google] smtp: mode must be tls or starttls" } } },
	{ SERVER "[provider google]\nsmtp = bad/host:465 tls\n", 1,
	    { { 6, "[provider google] smtp: the host must be" } } },
	{ SERVER "[provider google]\nsmtp = [nope]:465 tls\n", 1,
	    { { 6, "[provider google] smtp: the host must be" } } },

	/* Token keys of [server]. */
	{ SERVER "refresh_margin = 59\n", 1, { { 5, "[server] refresh_margin: "
	    "out of range (allowed: 60..3000)" } } },
	{ SERVER "refresh_margin = 3001\n", 1,
	    { { 5, "[server] refresh_margin: out of range" } } },
	{ SERVER "token_wait_timeout = 0\n", 1, { { 5, "[server] "
	    "token_wait_timeout: out of range (allowed: 1..600)" } } },
	{ SERVER "token_wait_timeout = 601\n", 1,
	    { { 5, "[server] token_wait_timeout: out of range" } } },
	{ SERVER "token_key_file =\n", 1,
	    { { 5, "[server] token_key_file: empty value" } } },

	/* Provider URLs and scopes. */
	{ SERVER "[provider google]\nauth_url = http://a.example/auth\n", 1,
	    { { 6, "[provider google] auth_url: must be an https:// URL "
	    "(braces only in {tenant})" } } },
	{ SERVER "[provider microsoft]\ndevice_url = https:///x\n", 1,
	    { { 6, "[provider microsoft] device_url: must be an https://" } } },
	{ SERVER "[provider microsoft]\n"
	    "token_url = https://l.example/{tenantx}/token\n", 1,
	    { { 6, "[provider microsoft] token_url: must be an https://" } } },
	{ SERVER "[provider microsoft]\n"
	    "token_url = https://l.example/{tenant/token\n", 1,
	    { { 6, "[provider microsoft] token_url: must be an https://" } } },
	{ SERVER "[provider microsoft]\n"
	    "token_url = https://l.example/tenant}/token\n", 1,
	    { { 6, "[provider microsoft] token_url: must be an https://" } } },
	{ SERVER "[provider google]\nscope = a \"b\"\n", 1,
	    { { 6, "[provider google] scope: must be scope tokens" } } },
	{ SERVER "[provider google]\nscope = a\\b\n", 1,
	    { { 6, "[provider google] scope: must be scope tokens" } } },
	{ SERVER "[provider google]\nscope = caf\xc3\xa9\n", 1,
	    { { 6, "[provider google] scope: must be scope tokens" } } },
	{ SERVER "[provider google]\napp_scope = x\x7fy\n", 1,
	    { { 6, "[provider google] app_scope: control character" } } },
	{ SERVER "[provider corp]\nauth_url = https://a.example/\n"
	    "smtp = h:1 tls\n", 1,
	    { { 5, "[provider corp] token_url: missing (required)" } } },

	/* Tenants. */
	{ SERVER ACCT("microsoft") "tenant = a/b\n", 1,
	    { { 9, "[account a] tenant: must be common, organizations, "
	    "consumers, a tenant id (GUID) or a domain name" } } },
	{ SERVER ACCT("microsoft") "tenant = contoso\n", 1,
	    { { 9, "[account a] tenant: must be common" } } },
	{ SERVER ACCT("microsoft") "tenant = my_co.example\n", 1,
	    { { 9, "[account a] tenant: must be common" } } },
	{ SERVER ACCT("microsoft") "tenant = Common\n", 1,
	    { { 9, "[account a] tenant: must be common" } } },
	{ SERVER ACCT("microsoft")
	    "tenant = 0000000-0000-0000-0000-0000000000000\n", 1,
	    { { 9, "[account a] tenant: must be common" } } },
	{ SERVER ACCT("microsoft") "tenant = {tenant}\n", 1,
	    { { 9, "[account a] tenant: must be common" } } },
	{ SERVER ACCT("google") "tenant = common\n", 1,
	    { { 9, "[account a] tenant: provider google has no {tenant} in "
	    "its URLs" } } },
	{ SERVER ACCT("outlook") "tenant = consumers\n", 1,
	    { { 9, "[account a] tenant: provider outlook has no {tenant}" } } },
	{ SERVER "[provider microsoft]\n"
	    "auth_url = https://l.example/c/authorize\n"
	    "token_url = https://l.example/c/token\n"
	    "device_url = https://l.example/c/devicecode\n"
	    ACCT("microsoft") "tenant = organizations\n", 1,
	    { { 13, "[account a] tenant: provider microsoft has no" } } },

	/* Grants and the keys that go with them. */
	{ SERVER ACCT("google") "grant = password\n", 1,
	    { { 9, "[account a] grant: must be refresh_token, "
	    "client_credentials or service_account" } } },
	/* A refused grant says nothing of the keys that depend on it. */
	{ SERVER ACCT("google") "grant = service-account\n"
	    "service_account_file = /k.json\n", 1,
	    { { 9, "[account a] grant: must be" } } },
	{ SERVER ACCT("google") "grant = service_account\n", 1,
	    { { 5, "[account a] service_account_file: missing (required with "
	    "grant = service_account)" } } },
	{ SERVER ACCT("google") "grant = service_account\n"
	    "service_account_file = /k.json\nclient_secret = s\n"
	    "client_certificate = /c.pem\nclient_key = /k.pem\n", 3,
	    { { 11, "[account a] client_secret: not used with grant = "
	    "service_account" },
	      { 12, "[account a] client_certificate: not used with grant" },
	      { 13, "[account a] client_key: not used with grant" } } },
	{ SERVER ACCT("google") "service_account_file = /k.json\n", 1,
	    { { 9, "[account a] service_account_file: only valid with grant = "
	    "service_account" } } },
	{ SERVER ACCT("microsoft") "client_certificate = /c.pem\n"
	    "client_key = /k.pem\n", 2,
	    { { 9, "[account a] client_certificate: only valid with grant = "
	    "client_credentials" },
	      { 10, "[account a] client_key: only valid with grant" } } },
	{ SERVER ACCT("microsoft") "grant = client_credentials\n", 1,
	    { { 5, "[account a] client_secret: missing (grant = "
	    "client_credentials needs client_secret or client_certificate "
	    "and client_key)" } } },
	{ SERVER ACCT("microsoft") "grant = client_credentials\n"
	    "client_certificate = /c.pem\n", 1,
	    { { 10, "[account a] client_key: missing (client_certificate and "
	    "client_key go together)" } } },
	{ SERVER ACCT("microsoft") "grant = client_credentials\n"
	    "client_key = /k.pem\n", 1,
	    { { 10, "[account a] client_certificate: missing (client_"
	    "certificate and client_key go together)" } } },
	{ SERVER ACCT("microsoft") "grant = client_credentials\n"
	    "client_secret = s\nclient_certificate = /c.pem\n"
	    "client_key = /k.pem\n", 1,
	    { { 10, "[account a] client_secret: give client_secret or "
	    "client_certificate and client_key, not both" } } },
	{ SERVER "[account a]\nprovider = microsoft\nemail = a@example.com\n"
	    "grant = client_credentials\nclient_secret = s\n", 1,
	    { { 5, "[account a] client_id: missing (required)" } } },
	{ SERVER ACCT("microsoft") "scope = \"all\"\n", 1,
	    { { 9, "[account a] scope: must be scope tokens" } } },
	{ SERVER ACCT("microsoft") "grant = refresh_token\n"
	    "grant = client_credentials\n", 1,
	    { { 10, "[account a] grant: given twice (first at line 9)" } } },

	/* [listener]: its keys, one at a time, on line 8 (after 5-7). */
	{ SERVER "[listener lan]\nmode = plain\n", 1,
	    { { 5, "[listener lan] address: missing (required)" } } },
	{ SERVER "[listener lan]\naddress = 127.0.0.1:2526\n", 1,
	    { { 5, "[listener lan] mode: missing (required)" } } },
	{ SERVER LISTENER("tls") "address = 127.0.0.1:2527\n", 1,
	    { { 8, "[listener lan] address: given twice (first at line "
	    "6)" } } },
	{ SERVER "[listener lan]\naddress = 127.0.0.1\nmode = tls\n", 1,
	    { { 6, "[listener lan] address: no port (expected "
	    "\"ADDR:PORT\")" } } },
	{ SERVER "[listener lan]\naddress = 127.0.0.1:25 tls\nmode = tls\n", 1,
	    { { 6, "[listener lan] address: port must be 1..65535" } } },
	{ SERVER "[listener lan]\naddress = mx.example:25\nmode = tls\n", 1,
	    { { 6, "[listener lan] address: the address must be numeric" } } },
	{ SERVER "[listener lan]\naddress = 127.0.0.1:2525\nmode = tls\n", 1,
	    { { 6, "[listener lan] address: same address as line 2" } } },
	{ SERVER "[listener lan]\naddress = 127.0.0.1:2526\nmode = ssl\n", 1,
	    { { 7, "[listener lan] mode: must be starttls, tls or plain" } } },
	{ SERVER LISTENER("tls") "tls_min_version = SSLv3\n", 1,
	    { { 8, "[listener lan] tls_min_version: must be TLSv1, TLSv1.1, "
	    "TLSv1.2 or TLSv1.3" } } },
	{ SERVER LISTENER("tls") "tls_min_version = tlsv1.2\n", 1,
	    { { 8, "[listener lan] tls_min_version: must be TLSv1," } } },
	{ SERVER LISTENER("starttls") "ciphers = NO-SUCH-CIPHER\n", 1,
	    { { 8, "[listener lan] ciphers: OpenSSL finds no usable cipher in "
	    "this list" } } },
	{ SERVER LISTENER("tls") "networks = 10.0.0.1/8\n", 1,
	    { { 8, "[listener lan] networks: \"10.0.0.1/8\" has bits set "
	    "after the /8 prefix" } } },
	{ SERVER LISTENER("tls") "networks = 10.0.0.0/33\n", 1,
	    { { 8, "[listener lan] networks: \"10.0.0.0/33\": the prefix "
	    "length must be 0..32" } } },
	{ SERVER LISTENER("tls") "networks = 10.0.0.0/8, lan.example\n", 1,
	    { { 8, "[listener lan] networks: \"lan.example\" is not an IPv4 "
	    "or IPv6 address" } } },
	{ SERVER LISTENER("tls") "networks = ,\n", 1,
	    { { 8, "[listener lan] networks: no network given" } } },
	{ SERVER LISTENER("tls") "allow_plaintext_auth = yes\n", 1,
	    { { 8, "[listener lan] allow_plaintext_auth: only valid on a "
	    "plain listener that has networks set" } } },
	{ SERVER LISTENER("starttls") "networks = 10.0.0.0/8\n"
	    "allow_plaintext_auth = yes\n", 1,
	    { { 9, "[listener lan] allow_plaintext_auth: only valid on a "
	    "plain listener" } } },
	{ SERVER LISTENER("plain") "allow_plaintext_auth = yes\n", 1,
	    { { 8, "[listener lan] allow_plaintext_auth: only valid on a "
	    "plain listener that has networks set" } } },
	{ SERVER LISTENER("plain") "allow_plaintext_auth = 1\n", 1,
	    { { 8, "[listener lan] allow_plaintext_auth: must be yes or "
	    "no" } } },
	{ SERVER LISTENER("plain") "tls_min_version = TLSv1.2\n"
	    "ciphers = HIGH\n", 2,
	    { { 8, "[listener lan] tls_min_version: not used on a plain "
	    "listener" },
	      { 9, "[listener lan] ciphers: not used on a plain listener" } } },
	{ SERVER LISTENER("plain") "bogus = 1\n", 1,
	    { { 8, "[listener lan] bogus: unknown key" } } },
	{ SERVER "[listener lan]\naddress = 127.0.0.1:2526\nmode = tls\n"
	    "[listener lan]\naddress = 127.0.0.1:2527\nmode = tls\n", 1,
	    { { 8, "[listener lan]: duplicate section (first at line 5)" } } },
	{ SERVER "[listener a/b]\n", 1, { { 5, "[listener a/b]: the name" } } },
	{ SERVER "[listener]\n", 1, { { 5, "[listener]: the name" } } },
	/* Only tls and starttls listeners need a certificate. */
	{ "[listener lan]\naddress = 127.0.0.1:2526\nmode = tls\n", 2,
	    { { 0, "[server] tls_cert: missing (required with a tls or "
	    "starttls listener)" },
	      { 0, "[server] tls_key: missing (required with a tls" } } },
	/* A broken [listener] is a listener: no "at least one" as well. */
	{ "[listener lan]\nmode = plain\n", 1,
	    { { 1, "[listener lan] address: missing (required)" } } },

	/* [user]: auth, networks, sender rules. */
	{ SERVER ACCOUNT "[user u]\nauth = none\naccount = a\n", 1,
	    { { 9, "[user u] networks: missing (required with auth = "
	    "none)" } } },
	{ SERVER ACCOUNT "[user u]\nauth = none\naccount = a\n"
	    "networks = 10.0.0.0/8\npassword_hash = $6$s$h\n", 1,
	    { { 13, "[user u] password_hash: must be absent with "
	    "auth = none" } } },
	{ SERVER ACCOUNT "[user u]\nauth = password\naccount = a\n", 1,
	    { { 9, "[user u] password_hash: missing (required)" } } },
	{ SERVER ACCOUNT USER "auth = nobody\n", 1,
	    { { 12, "[user u] auth: must be password or none" } } },
	{ SERVER ACCOUNT USER "networks = 300.1.1.1\n", 1,
	    { { 12, "[user u] networks: \"300.1.1.1\" is not an IPv4" } } },
	{ SERVER ACCOUNT USER "sender_policy = drop\n", 1,
	    { { 12, "[user u] sender_policy: must be pass, reject or "
	    "rewrite" } } },
	{ SERVER ACCOUNT USER "rewrite_from_header = yes\n", 1,
	    { { 12, "[user u] rewrite_from_header: only valid with "
	    "sender_policy = rewrite" } } },
	{ SERVER ACCOUNT USER "sender_policy = reject\n"
	    "rewrite_from_header = yes\n", 1,
	    { { 13, "[user u] rewrite_from_header: only valid with "
	    "sender_policy = rewrite" } } },
	{ SERVER ACCOUNT USER "sender_policy = rewrite\n"
	    "rewrite_from_header = true\n", 1,
	    { { 13, "[user u] rewrite_from_header: must be yes or no" } } },
	{ SERVER ACCOUNT USER "sender_policy = pass\nsender_policy = reject\n",
	    1, { { 13, "[user u] sender_policy: given twice (first at line "
	    "12)" } } },
	/* Two auth = none users whose networks overlap. */
	{ SERVER ACCOUNT NOAUTH("p1", "10.0.0.0/8")
	    NOAUTH("p2", "192.168.0.0/16, 10.1.0.0/16"), 1,
	    { { 16, "[user p2] networks: 10.1.0.0/16 overlaps 10.0.0.0/8 of "
	    "[user p1] (line 12): both are auth = none" } } },
	{ SERVER ACCOUNT NOAUTH("p1", "2001:db8::/32")
	    NOAUTH("p2", "::/0"), 1,
	    { { 16, "[user p2] networks: ::/0 overlaps 2001:db8::/32 of "
	    "[user p1] (line 12)" } } },
	{ SERVER ACCOUNT NOAUTH("p1", "10.0.0.7") NOAUTH("p2", "10.0.0.8")
	    NOAUTH("p3", "10.0.0.7"), 1,
	    { { 20, "[user p3] networks: 10.0.0.7/32 overlaps 10.0.0.7/32 of "
	    "[user p1] (line 12)" } } },

	/* [account] send_as. */
	{ SERVER ACCOUNT "send_as = alias@example.com, nobody\n", 1,
	    { { 9, "[account a] send_as: \"nobody\" is not an e-mail address "
	    "(one '@', no white space)" } } },
	{ SERVER ACCOUNT "send_as = a@b@c\n", 1,
	    { { 9, "[account a] send_as: \"a@b@c\" is not an e-mail" } } },
	{ SERVER ACCOUNT "send_as = , ,\n", 1,
	    { { 9, "[account a] send_as: no address given" } } },
};
#define N_BAD	(sizeof(bad) / sizeof(bad[0]))

START_TEST(test_config_bad)
{
	struct config *cf;
	char *errs;
	size_t i;

	cf = load(bad[_i].text, &errs);
	ck_assert_msg(cf == NULL, "row %d loaded", _i);
	check_shape(errs);
	ck_assert_msg(count_lines(errs) == bad[_i].nerr,
	    "row %d: want %zu errors, got:\n%s", _i, bad[_i].nerr, errs);
	for (i = 0; i < bad[_i].nerr; i++)
		ck_assert_msg(has_error(errs, bad[_i].e[i].line,
		    bad[_i].e[i].want), "row %d: no \"%d: %s\" in:\n%s", _i,
		    bad[_i].e[i].line, bad[_i].e[i].want, errs);
	free(errs);
}
END_TEST

START_TEST(test_config_minimal)
{
	struct config *cf;
	struct sockaddr_in sin;
	struct cfg_account *a;
	struct cfg_user *u;

	cf = load_ok(SERVER ACCOUNT USER);
	ck_assert_str_eq(cf->path, cc_path);
	ck_assert_ptr_nonnull(cf->hostname);
	ck_assert_uint_gt(strlen(cf->hostname), 0);
	ck_assert_uint_eq(cf->nlistens, 1);
	ck_assert_str_eq(cf->listens[0].text, "127.0.0.1:2525");
	ck_assert_int_eq(cf->listens[0].mode, LISTEN_STARTTLS);
	ck_assert_int_eq(cf->listens[0].line, 2);
	ck_assert_uint_eq(cf->listens[0].addrlen, sizeof(sin));
	memcpy(&sin, &cf->listens[0].addr, sizeof(sin));
	ck_assert_int_eq(sin.sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin.sin_port), 2525);
	ck_assert_uint_eq(ntohl(sin.sin_addr.s_addr), INADDR_LOOPBACK);
	ck_assert_str_eq(cf->tls_cert, "/c.pem");
	ck_assert_str_eq(cf->tls_key, "/k.pem");

	/* Defaults. */
	ck_assert_str_eq(cf->state_dir, "/var/lib/authrelay");
	ck_assert_int_eq(cf->max_connections, 10000);
	ck_assert_int_eq(cf->max_message_size, 35882577);
	ck_assert_int_eq(cf->command_timeout, 300);
	ck_assert_int_eq(cf->data_timeout, 180);
	ck_assert_int_eq(cf->upstream_timeout, 300);
	ck_assert_int_eq(cf->upstream_queue_timeout, 60);
	ck_assert_int_eq(cf->upstream_idle_timeout, 60);
	ck_assert_int_eq(cf->auth_threads, 2);
	ck_assert_int_eq(cf->log_level, LOG_INFO);
	ck_assert_ptr_null(cf->token_key_file);
	ck_assert_int_eq(cf->refresh_margin, 300);
	ck_assert_int_eq(cf->token_wait_timeout, 30);

	/* Presets, untouched (all of them: test_config_presets). */
	ck_assert_uint_eq(cf->nproviders, NPRESETS);
	ck_assert_str_eq(cf->providers[0].name, "google");
	ck_assert_str_eq(cf->providers[0].token_url,
	    "https://oauth2.googleapis.com/token");
	ck_assert_str_eq(cf->providers[0].smtp_host, "smtp.gmail.com");
	ck_assert_str_eq(cf->providers[0].smtp_port, "465");
	ck_assert_int_eq(cf->providers[0].smtp_tls, 1);
	ck_assert_ptr_null(cf->providers[0].ca_file);
	ck_assert_int_eq(cf->providers[0].line, 0);
	ck_assert_str_eq(cf->providers[1].name, "microsoft");
	ck_assert_str_eq(cf->providers[1].token_url,
	    MS("login.microsoftonline.com", "{tenant}", "token"));
	ck_assert_str_eq(cf->providers[1].smtp_host, "smtp.office365.com");
	ck_assert_str_eq(cf->providers[1].smtp_port, "587");
	ck_assert_int_eq(cf->providers[1].smtp_tls, 0);
	ck_assert_int_eq(cf->providers[1].line, 0);

	ck_assert_uint_eq(cf->naccounts, 1);
	a = config_account(cf, "a");
	ck_assert_ptr_eq(a, &cf->accounts[0]);
	ck_assert_str_eq(a->name, "a");
	ck_assert_str_eq(a->provider_name, "google");
	ck_assert_ptr_eq(a->provider, &cf->providers[0]);
	ck_assert_str_eq(a->email, "a@example.com");
	ck_assert_str_eq(a->client_id, "cid");
	ck_assert_ptr_null(a->client_secret);
	ck_assert_int_eq(a->line, 5);
	/* Resolved from the google preset; google has no tenant. */
	ck_assert_int_eq(a->grant, OAUTH_GRANT_REFRESH_TOKEN);
	ck_assert_ptr_null(a->tenant);
	ck_assert_str_eq(a->auth_url, "https://accounts.google.com/o/oauth2/auth");
	ck_assert_str_eq(a->token_url, "https://oauth2.googleapis.com/token");
	ck_assert_ptr_null(a->device_url);
	ck_assert_str_eq(a->scope, "https://mail.google.com/");

	ck_assert_uint_eq(cf->nusers, 1);
	u = config_user(cf, "u");
	ck_assert_ptr_eq(u, &cf->users[0]);
	ck_assert_str_eq(u->password_hash, "$6$salt$hash");
	ck_assert_str_eq(u->account_name, "a");
	ck_assert_ptr_eq(u->account, a);
	ck_assert_int_eq(u->line, 9);
	/* Defaults of the fleet keys. */
	ck_assert_int_eq(u->auth_none, 0);
	ck_assert_uint_eq(u->networks.n, 0);
	ck_assert_int_eq(u->sender_policy, SENDER_PASS);
	ck_assert_int_eq(u->rewrite_from_header, 0);
	ck_assert_uint_eq(a->nsend_as, 0);
	ck_assert_uint_eq(cf->nnoauth, 0);
	ck_assert_ptr_null(cf->listens[0].name);
	ck_assert_int_eq(cf->listens[0].tls_min_version, TLS1_2_VERSION);
	ck_assert_uint_eq(cf->listens[0].networks.n, 0);

	ck_assert_ptr_null(config_user(cf, "U"));
	ck_assert_ptr_null(config_user(cf, "a"));
	ck_assert_ptr_null(config_account(cf, "u"));
	ck_assert_ptr_null(config_account(cf, ""));
	config_free(cf);
	config_free(NULL);
}
END_TEST

/* Every key once (listen three times), with non-default values. */
static const char full[] =
    "; authrelay test config\n"					/* 1 */
    "[server]\n"
    "hostname = relay.example.org\n"
    "listen = 0.0.0.0:587 starttls\n"
    "listen = [::1]:465 tls\n"					/* 5 */
    "listen = 192.0.2.1:65535 tls\n"
    "tls_cert = /etc/authrelay/cert.pem\n"
    "tls_key = /etc/authrelay/key.pem\n"
    "state_dir = /srv/authrelay\n"
    "max_connections = 1000000\n"				/* 10 */
    "max_message_size = 2147483648\n"
    "command_timeout = 1\n"
    "data_timeout = 86400\n"
    "upstream_timeout = 60\n"
    "auth_threads = 64\n"					/* 15 */
    "log_level = debug\n"
    "\n"
    "[provider google]\n"
    "ca_file = /etc/ssl/google.pem\n"
    "[provider corp]\n"						/* 20 */
    "token_url = https://login.corp.example/oauth2/token\n"
    "smtp = [2001:db8::25]:2525 starttls\n"
    "ca_file = /etc/ssl/corp.pem\n"
    "[provider microsoft]\n"
    "smtp = smtp-mail.outlook.com:0587 starttls\n"		/* 25 */
    "[account gmail]\n"
    "provider = google\n"
    "email = relay@gmail.example\n"
    "client_id = 123.apps.googleusercontent.com\n"
    "client_secret = GOCSPX-a~b.c_d-e;f#g\n"			/* 30 */
    "[account m365]\n"
    "provider = microsoft\n"
    "email = relay@corp.example\n"
    "client_id = 0000-1111\n"
    "[account corp-1.x]\n"					/* 35 */
    "provider = corp\n"
    "email = x@corp.example\n"
    "client_id = x\n"
    "[user printer@office]\n"
    "password_hash = $y$j9T$salt$hash\n"			/* 40 */
    "account = gmail\n"
    "[user scanner]\n"
    "password_hash = $2b$12$abcdefghijklmnopqrstuv\n"
    "account = m365\n"
    "[user nas]\n"						/* 45 */
    "password_hash = $6$s$h\n"
    "account = corp-1.x\n";

START_TEST(test_config_full)
{
	struct config *cf;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;
	struct cfg_provider *g, *m, *c;

	cf = load_ok(full);
	ck_assert_str_eq(cf->hostname, "relay.example.org");
	ck_assert_uint_eq(cf->nlistens, 3);
	ck_assert_str_eq(cf->listens[0].text, "0.0.0.0:587");
	ck_assert_int_eq(cf->listens[0].mode, LISTEN_STARTTLS);
	ck_assert_int_eq(cf->listens[0].line, 4);
	memcpy(&sin, &cf->listens[0].addr, sizeof(sin));
	ck_assert_int_eq(sin.sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin.sin_port), 587);
	ck_assert_uint_eq(sin.sin_addr.s_addr, htonl(INADDR_ANY));
	ck_assert_str_eq(cf->listens[1].text, "[::1]:465");
	ck_assert_int_eq(cf->listens[1].mode, LISTEN_TLS);
	ck_assert_int_eq(cf->listens[1].line, 5);
	ck_assert_uint_eq(cf->listens[1].addrlen, sizeof(sin6));
	memcpy(&sin6, &cf->listens[1].addr, sizeof(sin6));
	ck_assert_int_eq(sin6.sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(sin6.sin6_port), 465);
	ck_assert(memcmp(&sin6.sin6_addr, &lo6, sizeof(lo6)) == 0);
	memcpy(&sin, &cf->listens[2].addr, sizeof(sin));
	ck_assert_uint_eq(ntohs(sin.sin_port), 65535);
	ck_assert_uint_eq(ntohl(sin.sin_addr.s_addr), 0xc0000201);

	ck_assert_str_eq(cf->tls_cert, "/etc/authrelay/cert.pem");
	ck_assert_str_eq(cf->tls_key, "/etc/authrelay/key.pem");
	ck_assert_str_eq(cf->state_dir, "/srv/authrelay");
	ck_assert_int_eq(cf->max_connections, 1000000);
	ck_assert_int_eq(cf->max_message_size, 2147483648L);
	ck_assert_int_eq(cf->command_timeout, 1);
	ck_assert_int_eq(cf->data_timeout, 86400);
	ck_assert_int_eq(cf->upstream_timeout, 60);
	ck_assert_int_eq(cf->auth_threads, 64);
	ck_assert_int_eq(cf->log_level, LOG_DEBUG);

	/* Presets first, overridden key by key; then the new provider. */
	ck_assert_uint_eq(cf->nproviders, NPRESETS + 1);
	g = &cf->providers[0];
	m = &cf->providers[1];
	c = &cf->providers[NPRESETS];
	ck_assert_str_eq(g->name, "google");
	ck_assert_str_eq(g->token_url, "https://oauth2.googleapis.com/token");
	ck_assert_str_eq(g->smtp_host, "smtp.gmail.com");
	ck_assert_str_eq(g->smtp_port, "465");
	ck_assert_int_eq(g->smtp_tls, 1);
	ck_assert_str_eq(g->ca_file, "/etc/ssl/google.pem");
	ck_assert_int_eq(g->line, 18);
	ck_assert_str_eq(m->name, "microsoft");
	ck_assert_str_eq(m->token_url,
	    MS("login.microsoftonline.com", "{tenant}", "token"));
	ck_assert_str_eq(m->smtp_host, "smtp-mail.outlook.com");
	ck_assert_str_eq(m->smtp_port, "587");
	ck_assert_int_eq(m->smtp_tls, 0);
	ck_assert_ptr_null(m->ca_file);
	ck_assert_int_eq(m->line, 24);
	ck_assert_str_eq(c->name, "corp");
	ck_assert_str_eq(c->token_url,
	    "https://login.corp.example/oauth2/token");
	ck_assert_str_eq(c->smtp_host, "2001:db8::25");
	ck_assert_str_eq(c->smtp_port, "2525");
	ck_assert_int_eq(c->smtp_tls, 0);
	ck_assert_str_eq(c->ca_file, "/etc/ssl/corp.pem");
	ck_assert_int_eq(c->line, 20);

	ck_assert_uint_eq(cf->naccounts, 3);
	ck_assert_str_eq(cf->accounts[0].name, "gmail");
	ck_assert_ptr_eq(cf->accounts[0].provider, g);
	ck_assert_str_eq(cf->accounts[0].email, "relay@gmail.example");
	ck_assert_str_eq(cf->accounts[0].client_id,
	    "123.apps.googleusercontent.com");
	/* ';' and '#' are part of a value unless ';' follows white space. */
	ck_assert_str_eq(cf->accounts[0].client_secret, "GOCSPX-a~b.c_d-e;f#g");
	ck_assert_ptr_eq(cf->accounts[1].provider, m);
	ck_assert_ptr_null(cf->accounts[1].client_secret);
	/* The default tenant, filled in. */
	ck_assert_str_eq(cf->accounts[1].tenant, "common");
	ck_assert_str_eq(cf->accounts[1].token_url,
	    MS("login.microsoftonline.com", "common", "token"));
	ck_assert_ptr_eq(cf->accounts[2].provider, c);
	ck_assert_int_eq(cf->accounts[2].line, 35);
	/* A custom provider with only the required keys. */
	ck_assert_ptr_null(c->auth_url);
	ck_assert_ptr_null(c->device_url);
	ck_assert_ptr_null(c->scope);
	ck_assert_ptr_null(cf->accounts[2].auth_url);
	ck_assert_ptr_null(cf->accounts[2].scope);
	ck_assert_ptr_null(cf->accounts[2].tenant);
	ck_assert_str_eq(cf->accounts[2].token_url,
	    "https://login.corp.example/oauth2/token");

	ck_assert_uint_eq(cf->nusers, 3);
	ck_assert_ptr_eq(config_user(cf, "printer@office")->account,
	    config_account(cf, "gmail"));
	ck_assert_str_eq(config_user(cf, "printer@office")->password_hash,
	    "$y$j9T$salt$hash");
	ck_assert_ptr_eq(config_user(cf, "scanner")->account,
	    config_account(cf, "m365"));
	ck_assert_ptr_eq(config_user(cf, "nas")->account,
	    config_account(cf, "corp-1.x"));
	ck_assert_int_eq(config_user(cf, "nas")->line, 45);
	config_free(cf);
}
END_TEST

/* Listeners, network users and sender rules, with their line numbers. */
static const char fleet[] =
    SERVER ACCOUNT						/* 1-8 */
    "send_as = Alias@Example.com, other@example.com\n"
    "send_as = third@example.com\n"				/* 10 */
    "[listener lan]\n"
    "address = [::1]:2526\n"
    "mode = plain\n"
    "networks = 10.0.0.0/8, 192.168.1.0/24\n"
    "networks = fd00::/8\n"					/* 15 */
    "allow_plaintext_auth = yes\n"
    "[listener old]\n"
    "address = 127.0.0.1:4650\n"
    "mode = tls\n"
    "tls_min_version = TLSv1\n"				/* 20 */
    "ciphers = HIGH:!aNULL\n"
    "[listener new]\n"
    "address = 127.0.0.1:4651\n"
    "mode = starttls\n"
    "tls_min_version = TLSv1.3\n"				/* 25 */
    "[user u]\n"
    "password_hash = $6$salt$hash\n"
    "account = a\n"
    "networks = 127.0.0.2\n"
    "sender_policy = rewrite\n"				/* 30 */
    "rewrite_from_header = yes\n"
    "[user printer]\n"
    "auth = none\n"
    "account = a\n"
    "networks = 10.1.0.0/16\n"					/* 35 */
    "sender_policy = reject\n"
    "[user p2]\n"
    "auth = none\n"
    "account = a\n"
    "networks = 10.2.0.0/16 2001:db8::/32\n"			/* 40 */
    "[user both]\n"
    "auth = password\n"
    "password_hash = $6$s$h\n"
    "account = a\n"
    "networks = 10.1.0.0/16\n"					/* 45 */
    "sender_policy = pass\n"
    "[server]\n";

static const struct sockaddr *
sa_of(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1)
		a4->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &a6->sin6_addr), 1);
		a6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

START_TEST(test_config_fleet)
{
	struct config *cf;
	struct sockaddr_storage ss;
	struct cfg_listen *l;
	struct cfg_account *a;
	struct cfg_user *u, *pr, *p2;
	char *errs;
	size_t n;

	/* A second [server] is refused: the text above ends with one. */
	n = strlen(fleet) - strlen("[server]\n");
	cf = load_n(fleet, strlen(fleet), &errs);
	ck_assert_ptr_null(cf);
	ck_assert(has_error(errs, 47, "[server]: duplicate section"));
	free(errs);
	cf = load_n(fleet, n, &errs);
	ck_assert_msg(cf != NULL, "errors:\n%s", errs);

	ck_assert_uint_eq(cf->nlistens, 4);
	l = &cf->listens[0];			/* the listen line */
	ck_assert_ptr_null(l->name);
	ck_assert_int_eq(l->mode, LISTEN_STARTTLS);
	ck_assert_int_eq(l->tls_min_version, TLS1_2_VERSION);
	ck_assert_ptr_null(l->ciphers);
	ck_assert_uint_eq(l->networks.n, 0);
	ck_assert_int_eq(l->allow_plaintext_auth, 0);
	l = &cf->listens[1];
	ck_assert_str_eq(l->name, "lan");
	ck_assert_str_eq(l->text, "[::1]:2526");
	ck_assert_uint_eq(l->addrlen, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(l->mode, LISTEN_PLAIN);
	ck_assert_int_eq(l->line, 12);
	ck_assert_int_eq(l->sect_line, 11);
	ck_assert_uint_eq(l->networks.n, 3);
	ck_assert_int_eq(l->allow_plaintext_auth, 1);
	ck_assert_int_eq(cidr_list_match(&l->networks,
	    sa_of("192.168.1.200", &ss)), 1);
	ck_assert_int_eq(cidr_list_match(&l->networks,
	    sa_of("192.168.2.1", &ss)), 0);
	ck_assert_int_eq(cidr_list_match(&l->networks,
	    sa_of("fd12::1", &ss)), 1);
	l = &cf->listens[2];
	ck_assert_str_eq(l->name, "old");
	ck_assert_int_eq(l->mode, LISTEN_TLS);
	ck_assert_int_eq(l->tls_min_version, TLS1_VERSION);
	ck_assert_str_eq(l->ciphers, "HIGH:!aNULL");
	l = &cf->listens[3];
	ck_assert_int_eq(l->mode, LISTEN_STARTTLS);
	ck_assert_int_eq(l->tls_min_version, TLS1_3_VERSION);
	ck_assert_ptr_null(l->ciphers);

	a = config_account(cf, "a");
	ck_assert_uint_eq(a->nsend_as, 3);
	ck_assert_str_eq(a->send_as[0], "Alias@Example.com");
	ck_assert_str_eq(a->send_as[2], "third@example.com");
	ck_assert_int_eq(config_sender_owned(a, "a@example.com"), 1);
	ck_assert_int_eq(config_sender_owned(a, "A@EXAMPLE.COM"), 1);
	ck_assert_int_eq(config_sender_owned(a, "alias@example.com"), 1);
	ck_assert_int_eq(config_sender_owned(a, "Other@Example.Com"), 1);
	ck_assert_int_eq(config_sender_owned(a, "third@example.com"), 1);
	ck_assert_int_eq(config_sender_owned(a, ""), 0);
	ck_assert_int_eq(config_sender_owned(a, "x@example.com"), 0);
	ck_assert_int_eq(config_sender_owned(a, "a@example.co"), 0);
	ck_assert_int_eq(config_sender_owned(a, "a@example.com.evil"), 0);

	u = config_user(cf, "u");
	ck_assert_int_eq(u->auth_none, 0);
	ck_assert_uint_eq(u->networks.n, 1);
	ck_assert_int_eq(u->networks_line, 29);
	ck_assert_int_eq(u->sender_policy, SENDER_REWRITE);
	ck_assert_int_eq(u->rewrite_from_header, 1);
	pr = config_user(cf, "printer");
	ck_assert_int_eq(pr->auth_none, 1);
	ck_assert_ptr_null(pr->password_hash);
	ck_assert_ptr_eq(pr->account, a);
	ck_assert_int_eq(pr->sender_policy, SENDER_REJECT);
	ck_assert_int_eq(pr->rewrite_from_header, 0);
	p2 = config_user(cf, "p2");
	ck_assert_int_eq(config_user(cf, "both")->sender_policy, SENDER_PASS);

	/* Only auth = none users map addresses; "both" has a password. */
	ck_assert_uint_eq(cf->nnoauth, 2);
	ck_assert_ptr_eq(config_noauth_user(cf, sa_of("10.1.2.3", &ss)), pr);
	ck_assert_ptr_eq(config_noauth_user(cf, sa_of("10.2.0.1", &ss)), p2);
	ck_assert_ptr_eq(config_noauth_user(cf, sa_of("2001:db8::9", &ss)),
	    p2);
	ck_assert_ptr_eq(config_noauth_user(cf, sa_of("::ffff:10.1.0.9", &ss)),
	    pr);
	ck_assert_ptr_null(config_noauth_user(cf, sa_of("10.3.0.1", &ss)));
	ck_assert_ptr_null(config_noauth_user(cf, sa_of("127.0.0.2", &ss)));
	config_free(cf);
}
END_TEST

/* A config of plain listeners only needs no certificate. */
START_TEST(test_config_plain_only)
{
	struct config *cf;

	cf = load_ok("[server]\nlisten = 127.0.0.1:2525 plain\n"
	    "[listener lan]\naddress = 127.0.0.1:2526\nmode = plain\n"
	    "networks = 127.0.0.0/8\n" ACCOUNT USER);
	ck_assert_uint_eq(cf->nlistens, 2);
	ck_assert_int_eq(cf->listens[0].mode, LISTEN_PLAIN);
	ck_assert_ptr_null(cf->tls_cert);
	ck_assert_uint_eq(cf->nnoauth, 0);
	ck_assert_ptr_null(config_noauth_user(cf, (const struct sockaddr *)
	    &cf->listens[0].addr));
	config_free(cf);
}
END_TEST

/* What each preset is, as an account of it sees it. */
static const struct {
	const char	*name;
	const char	*auth_url;	/* with the tenant of the row */
	const char	*token_url;
	const char	*device_url;
	const char	*scope;
	const char	*app_scope;	/* the scope of client_credentials */
	const char	*host;
	const char	*port;
	int		 tls;
	int		 offline_params;
	const char	*tenant;	/* NULL: the provider takes none */
	long		 max_upstreams;	/* max_upstream_connections */
} preset_rows[] = {
	{ "google", "https://accounts.google.com/o/oauth2/auth",
	    "https://oauth2.googleapis.com/token", NULL,
	    "https://mail.google.com/", CONFIG_APP_SCOPE_DEFAULT,
	    "smtp.gmail.com", "465", 1, 1, NULL, 10 },
	{ "microsoft", MS("login.microsoftonline.com", "common", "authorize"),
	    MS("login.microsoftonline.com", "common", "token"),
	    MS("login.microsoftonline.com", "common", "devicecode"),
	    "https://outlook.office.com/SMTP.Send offline_access",
	    "https://outlook.office365.com/.default",
	    "smtp.office365.com", "587", 0, 0, "common", 3 },
	{ "outlook", MS("login.microsoftonline.com", "consumers", "authorize"),
	    MS("login.microsoftonline.com", "consumers", "token"),
	    MS("login.microsoftonline.com", "consumers", "devicecode"),
	    "https://outlook.office.com/SMTP.Send offline_access",
	    "https://outlook.office365.com/.default",
	    "smtp-mail.outlook.com", "587", 0, 0, NULL, 3 },
	{ "microsoft-us", MS("login.microsoftonline.us", "common", "authorize"),
	    MS("login.microsoftonline.us", "common", "token"),
	    MS("login.microsoftonline.us", "common", "devicecode"),
	    "https://outlook.office365.us/SMTP.Send offline_access",
	    "https://outlook.office365.us/.default",
	    "smtp.office365.us", "587", 0, 0, "common", 3 },
	{ "microsoft-china",
	    MS("login.partner.microsoftonline.cn", "common", "authorize"),
	    MS("login.partner.microsoftonline.cn", "common", "token"),
	    MS("login.partner.microsoftonline.cn", "common", "devicecode"),
	    "https://partner.outlook.cn/SMTP.Send offline_access",
	    "https://partner.outlook.cn/.default",
	    "smtp.partner.outlook.cn", "587", 0, 0, "common", 3 },
};

/*
 * Each preset in an account of the default grant and in one of
 * client_credentials (with its app-only scope).
 */
START_TEST(test_config_presets)
{
	char text[TEXTSZ];
	struct config *cf;
	struct cfg_account *a, *app;

	ck_assert_uint_eq(sizeof(preset_rows) / sizeof(preset_rows[0]),
	    NPRESETS);
	snprintf(text, sizeof(text), SERVER ACCT("%s") "[account app]\n"
	    "provider = %s\nemail = b@example.com\nclient_id = cid\n"
	    "grant = client_credentials\nclient_secret = s\n",
	    preset_rows[_i].name, preset_rows[_i].name);
	cf = load_ok(text);
	ck_assert_uint_eq(cf->nproviders, NPRESETS);
	ck_assert_str_eq(cf->providers[_i].name, preset_rows[_i].name);
	ck_assert_int_eq(cf->providers[_i].line, 0);
	ck_assert_str_eq(cf->providers[_i].smtp_host, preset_rows[_i].host);
	ck_assert_str_eq(cf->providers[_i].smtp_port, preset_rows[_i].port);
	ck_assert_int_eq(cf->providers[_i].smtp_tls, preset_rows[_i].tls);
	ck_assert_int_eq(cf->providers[_i].offline_params,
	    preset_rows[_i].offline_params);
	ck_assert_ptr_null(cf->providers[_i].ca_file);

	a = config_account(cf, "a");
	ck_assert_ptr_eq(a->provider, &cf->providers[_i]);
	ck_assert_str_eq(a->auth_url, preset_rows[_i].auth_url);
	ck_assert_str_eq(a->token_url, preset_rows[_i].token_url);
	if (preset_rows[_i].device_url == NULL)
		ck_assert_ptr_null(a->device_url);
	else
		ck_assert_str_eq(a->device_url, preset_rows[_i].device_url);
	ck_assert_str_eq(a->scope, preset_rows[_i].scope);
	ck_assert_int_eq(a->max_upstream_connections,
	    preset_rows[_i].max_upstreams);
	if (preset_rows[_i].tenant == NULL)
		ck_assert_ptr_null(a->tenant);
	else
		ck_assert_str_eq(a->tenant, preset_rows[_i].tenant);

	app = config_account(cf, "app");
	ck_assert_int_eq(app->grant, OAUTH_GRANT_CLIENT_CREDENTIALS);
	ck_assert_str_eq(app->scope, preset_rows[_i].app_scope);
	ck_assert_str_eq(app->token_url, preset_rows[_i].token_url);
	config_free(cf);
}
END_TEST

/*
 * max_upstream_connections: the account's, else its provider's (a
 * [provider] key, also over a preset), else 10 for a custom provider.
 */
START_TEST(test_config_upstreams)
{
	struct config *cf;

	cf = load_ok(SERVER "upstream_queue_timeout = 5\n"
	    "upstream_idle_timeout = 0\n"
	    "[provider custom]\ntoken_url = https://t.example/token\n"
	    "smtp = smtp.example:465 tls\n"
	    "[provider limited]\ntoken_url = https://t.example/token\n"
	    "smtp = smtp.example:465 tls\nmax_upstream_connections = 4\n"
	    "[provider microsoft]\nmax_upstream_connections = 2\n"
	    "[account c]\nprovider = custom\nemail = c@example.com\n"
	    "client_id = cid\n"
	    "[account l]\nprovider = limited\nemail = l@example.com\n"
	    "client_id = cid\n"
	    "[account o]\nprovider = limited\nemail = o@example.com\n"
	    "client_id = cid\nmax_upstream_connections = 7\n"
	    "[account m]\nprovider = microsoft\nemail = m@example.com\n"
	    "client_id = cid\n"
	    "[account g]\nprovider = google\nemail = g@example.com\n"
	    "client_id = cid\nmax_upstream_connections = 1\n"
	    "[user u]\npassword_hash = $6$salt$hash\naccount = c\n");
	ck_assert_int_eq(cf->upstream_queue_timeout, 5);
	ck_assert_int_eq(cf->upstream_idle_timeout, 0);
	ck_assert_int_eq(config_account(cf, "c")->max_upstream_connections,
	    10);
	ck_assert_int_eq(config_account(cf, "l")->max_upstream_connections,
	    4);
	ck_assert_int_eq(config_account(cf, "o")->max_upstream_connections,
	    7);
	ck_assert_int_eq(config_account(cf, "m")->max_upstream_connections,
	    2);
	ck_assert_int_eq(config_account(cf, "g")->max_upstream_connections,
	    1);
	config_free(cf);
}
END_TEST

/* {tenant} filled in per account, wherever a provider puts it. */
START_TEST(test_config_tenants)
{
	static const char text[] =
	    SERVER
	    "[provider b2c]\n"						/* 5 */
	    "auth_url = https://{tenant}.example/{tenant}/auth?x=1\n"
	    "token_url = https://t.example/{tenant}\n"
	    "scope = https://{tenant}/x offline_access\n"
	    "smtp = smtp.example:587 starttls\n"
	    "[account guid]\n"						/* 10 */
	    "provider = microsoft\nemail = a@example.com\nclient_id = c\n"
	    "tenant = 0123abcd-89AB-cdef-0123-456789abcdef\n"
	    "[account dom]\n"
	    "provider = microsoft-us\nemail = a@example.com\nclient_id = c\n"
	    "tenant = contoso.onmicrosoft.us\n"
	    "[account org]\n"
	    "provider = microsoft-china\nemail = a@example.com\nclient_id = c\n"
	    "tenant = organizations\n"
	    "[account b]\n"
	    "provider = b2c\nemail = a@example.com\nclient_id = c\n"
	    "tenant = fabrikam.example\n"
	    "[account b-default]\n"
	    "provider = b2c\nemail = a@example.com\nclient_id = c\n";
	struct config *cf;
	struct cfg_account *a;

	cf = load_ok(text);
	a = config_account(cf, "guid");
	ck_assert_str_eq(a->tenant, "0123abcd-89AB-cdef-0123-456789abcdef");
	ck_assert_int_eq(a->tenant_line, 14);
	ck_assert_str_eq(a->auth_url, MS("login.microsoftonline.com",
	    "0123abcd-89AB-cdef-0123-456789abcdef", "authorize"));
	ck_assert_str_eq(a->token_url, MS("login.microsoftonline.com",
	    "0123abcd-89AB-cdef-0123-456789abcdef", "token"));
	ck_assert_str_eq(a->device_url, MS("login.microsoftonline.com",
	    "0123abcd-89AB-cdef-0123-456789abcdef", "devicecode"));
	a = config_account(cf, "dom");
	ck_assert_str_eq(a->token_url, MS("login.microsoftonline.us",
	    "contoso.onmicrosoft.us", "token"));
	a = config_account(cf, "org");
	ck_assert_str_eq(a->auth_url, MS("login.partner.microsoftonline.cn",
	    "organizations", "authorize"));
	a = config_account(cf, "b");
	ck_assert_str_eq(a->auth_url,
	    "https://fabrikam.example.example/fabrikam.example/auth?x=1");
	ck_assert_str_eq(a->token_url, "https://t.example/fabrikam.example");
	ck_assert_str_eq(a->scope,
	    "https://fabrikam.example/x offline_access");
	ck_assert_ptr_null(a->device_url);
	a = config_account(cf, "b-default");
	ck_assert_str_eq(a->tenant, "common");
	ck_assert_int_eq(a->tenant_line, 0);
	ck_assert_str_eq(a->token_url, "https://t.example/common");
	/* The provider keeps its template. */
	ck_assert_str_eq(a->provider->token_url, "https://t.example/{tenant}");
	config_free(cf);
}
END_TEST

/* Grants, scopes, overrides, and the [server] token keys. */
START_TEST(test_config_grants)
{
	static const char text[] =
	    SERVER
	    "token_key_file = /etc/authrelay/token.key\n"		/* 5 */
	    "refresh_margin = 60\n"
	    "token_wait_timeout = 600\n"
	    "[provider microsoft]\n"
	    "app_scope = https://example.test/.default\n"
	    "scope = https://outlook.office.com/SMTP.Send   offline_access\n"
	    "[provider corp]\n"
	    "auth_url = https://accounts.google.com/o/oauth2/v2/auth\n"
	    "token_url = https://corp.example/token\n"
	    "smtp = smtp.corp.example:465 tls\n"
	    "[account sa]\n"
	    "provider = google\nemail = a@example.com\n"
	    "grant = service_account\n"
	    "service_account_file = /etc/authrelay/sa.json\n"
	    "[account cc-secret]\n"
	    "provider = microsoft\nemail = a@example.com\nclient_id = c\n"
	    "grant = client_credentials\nclient_secret = s\n"
	    "[account cc-cert]\n"
	    "provider = microsoft-us\nemail = a@example.com\nclient_id = c\n"
	    "grant = client_credentials\n"
	    "client_certificate = /etc/authrelay/app.pem\n"
	    "client_key = /etc/authrelay/app.key\n"
	    "scope = https://outlook.office365.us/.default\n"
	    "[account rt]\n"
	    "provider = microsoft\nemail = a@example.com\nclient_id = c\n"
	    "grant = refresh_token\n"
	    "scope = https://outlook.office.com/SMTP.Send\n"
	    "[account corp]\n"
	    "provider = corp\nemail = a@example.com\nclient_id = c\n";
	struct config *cf;
	struct cfg_account *a;
	struct oauth_account_cfg oc;
	struct oauth_opts oo;
	static const unsigned char key[32] = { 1 };

	cf = load_ok(text);
	ck_assert_str_eq(cf->token_key_file, "/etc/authrelay/token.key");
	ck_assert_int_eq(cf->refresh_margin, 60);
	ck_assert_int_eq(cf->token_wait_timeout, 600);

	a = config_account(cf, "sa");
	ck_assert_int_eq(a->grant, OAUTH_GRANT_SERVICE_ACCOUNT);
	ck_assert_ptr_null(a->client_id);
	ck_assert_str_eq(a->service_account_file, "/etc/authrelay/sa.json");
	ck_assert_str_eq(a->scope, "https://mail.google.com/");
	config_oauth_account(a, &oc);
	ck_assert_str_eq(oc.name, "sa");
	ck_assert_int_eq(oc.grant, OAUTH_GRANT_SERVICE_ACCOUNT);
	ck_assert_str_eq(oc.token_url, "https://oauth2.googleapis.com/token");
	ck_assert_str_eq(oc.email, "a@example.com");
	ck_assert_str_eq(oc.service_account_file, "/etc/authrelay/sa.json");
	ck_assert_ptr_null(oc.client_id);
	ck_assert_ptr_null(oc.client_secret);
	ck_assert_ptr_null(oc.ca_file);

	/* The provider's app_scope, overridden; runs of spaces squeezed. */
	a = config_account(cf, "cc-secret");
	ck_assert_int_eq(a->grant, OAUTH_GRANT_CLIENT_CREDENTIALS);
	ck_assert_str_eq(a->scope, "https://example.test/.default");
	ck_assert_str_eq(a->provider->scope,
	    "https://outlook.office.com/SMTP.Send offline_access");
	config_oauth_account(a, &oc);
	ck_assert_str_eq(oc.client_secret, "s");
	ck_assert_ptr_null(oc.client_cert_file);

	a = config_account(cf, "cc-cert");
	ck_assert_str_eq(a->scope, "https://outlook.office365.us/.default");
	ck_assert_ptr_null(a->client_secret);
	config_oauth_account(a, &oc);
	ck_assert_int_eq(oc.grant, OAUTH_GRANT_CLIENT_CREDENTIALS);
	ck_assert_str_eq(oc.client_cert_file, "/etc/authrelay/app.pem");
	ck_assert_str_eq(oc.client_key_file, "/etc/authrelay/app.key");
	ck_assert_str_eq(oc.scope, "https://outlook.office365.us/.default");
	ck_assert_str_eq(oc.token_url,
	    MS("login.microsoftonline.us", "common", "token"));

	a = config_account(cf, "rt");
	ck_assert_int_eq(a->grant, OAUTH_GRANT_REFRESH_TOKEN);
	ck_assert_str_eq(a->scope, "https://outlook.office.com/SMTP.Send");

	/* A custom provider at Google's authorization endpoint. */
	a = config_account(cf, "corp");
	ck_assert_int_eq(a->provider->offline_params, 1);
	ck_assert_ptr_null(a->scope);

	config_oauth_opts(cf, key, &oo);
	ck_assert_str_eq(oo.state_dir, "/var/lib/authrelay");
	ck_assert_ptr_eq(oo.seal_key, key);
	ck_assert_int_eq(oo.refresh_margin, 60);
	ck_assert_int_eq(oo.wait_timeout, 600);
	config_oauth_opts(cf, NULL, &oo);
	ck_assert_ptr_null(oo.seal_key);
	config_free(cf);
}
END_TEST

/*
 * What the file may look like: BOM, CRLF, indentation, comments, ':' for
 * '=', sections in any order, names that need more than inih's 49 bytes.
 */
START_TEST(test_config_format)
{
	static const char text[] =
	    "\xef\xbb\xbf# comment\r\n"
	    "[user printer.with.a.rather.long.login.name@example.com]\r\n"
	    "  password_hash = $6$s$h\r\n"
	    "\taccount: " NAME64 "x\r\n"
	    "\r\n"
	    "[user printer.with.a.rather.long.login.name@example.co]\r\n"
	    "password_hash = $6$s$h2\r\n"
	    "account = " NAME64 "y\r\n"
	    "[ account  " NAME64 "x ]"
	    " ; trailing comment\r\n"
	    "    ; indented comment\r\n"
	    "    provider = corp\r\n"
	    "    email = a@example.com   ; an inline comment\r\n"
	    "    client_id = cid ; the id\r\n"
	    "[account " NAME64 "y]\n"
	    "provider=corp\nemail=b@example.com\nclient_id=cid2\n"
	    "[provider corp]\n"
	    "token_url = https://t.example/token\n"
	    "smtp = 192.0.2.7:25 starttls\n"
	    "[server]\n"
	    "listen = [::]:25 starttls\n"
	    "tls_cert = c\n"
	    "tls_key = k\n"
	    "log_level = error";	/* no final newline */
	struct config *cf;
	struct cfg_user *u;

	cf = load_ok(text);
	ck_assert_int_eq(cf->log_level, LOG_ERR);
	ck_assert_uint_eq(cf->nusers, 2);
	u = config_user(cf,
	    "printer.with.a.rather.long.login.name@example.com");
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(u->line, 2);
	ck_assert_str_eq(u->password_hash, "$6$s$h");
	ck_assert_str_eq(u->account->name,
	    NAME64 "x");
	ck_assert_str_eq(u->account->client_id, "cid");
	u = config_user(cf, "printer.with.a.rather.long.login.name@example.co");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u->password_hash, "$6$s$h2");
	ck_assert_str_eq(u->account->email, "b@example.com");
	ck_assert_ptr_eq(u->account->provider, &cf->providers[NPRESETS]);
	ck_assert_str_eq(cf->providers[NPRESETS].smtp_host, "192.0.2.7");
	config_free(cf);
}
END_TEST

/* A line of n bytes: "; xxx...". */
static void
long_line(char *out, size_t n)
{
	memset(out, 'x', n);
	out[0] = ';';
	out[1] = ' ';
	out[n] = '\n';
	out[n + 1] = '\0';
}

START_TEST(test_config_long_lines)
{
	char text[TEXTSZ], line[LONGSZ];
	struct config *cf;
	char *errs;

	/* 198 bytes fit, with LF or CRLF. */
	long_line(line, 198);
	snprintf(text, sizeof(text), SERVER "%s", line);
	config_free(load_ok(text));
	line[198] = '\r';
	line[199] = '\n';
	line[200] = '\0';
	snprintf(text, sizeof(text), SERVER "%s", line);
	config_free(load_ok(text));

	/* 199 and 5000 do not; the next line is read as a line of its own. */
	long_line(line, 199);
	snprintf(text, sizeof(text), SERVER "%sbogus = 1\n", line);
	cf = load(text, &errs);
	ck_assert_ptr_null(cf);
	check_shape(errs);
	ck_assert_uint_eq(count_lines(errs), 2);
	ck_assert(has_error(errs, 5, "[server]: line longer than 198 bytes"));
	ck_assert(has_error(errs, 6, "[server] bogus: unknown key"));
	free(errs);

	long_line(line, 5000);
	memcpy(line, "state_dir = /", strlen("state_dir = /"));
	snprintf(text, sizeof(text), "%s" SERVER "%s", line, line);
	cf = load(text, &errs);
	ck_assert_ptr_null(cf);
	check_shape(errs);
	ck_assert_uint_eq(count_lines(errs), 2);
	ck_assert(has_error(errs, 1, "line longer than 198 bytes"));
	ck_assert(has_error(errs, 6, "[server]: line longer than 198 bytes"));
	free(errs);
}
END_TEST

START_TEST(test_config_nul)
{
	static const char text[] = SERVER "state_dir = /a\0b\nbogus = 1\n";
	struct config *cf;
	char *errs;

	cf = load_n(text, sizeof(text) - 1, &errs);
	ck_assert_ptr_null(cf);
	check_shape(errs);
	ck_assert_uint_eq(count_lines(errs), 2);
	ck_assert(has_error(errs, 5, "[server]: NUL byte in the line"));
	ck_assert(has_error(errs, 6, "[server] bogus: unknown key"));
	free(errs);
}
END_TEST

/* All problems of a file come back, sorted by line. */
START_TEST(test_config_many_errors)
{
	static const char text[] =
	    "[server]\n"				/* 1 */
	    "listen = localhost:25 tls\n"
	    "max_connections = lots\n"
	    "[account a]\n"
	    "provider = nowhere\n"			/* 5 */
	    "email = nobody\n"
	    "[user u]\n"
	    "account = b\n"
	    "[nonsense]\n"
	    "x = y\n"					/* 10 */
	    "[server]\n";
	struct config *cf;
	char *errs, *s;
	int last = -1, line;

	cf = load(text, &errs);
	ck_assert_ptr_null(cf);
	check_shape(errs);
	ck_assert_msg(count_lines(errs) == 9, "got:\n%s", errs);
	/* A bad listen is reported once, not again as a missing one. */
	ck_assert(!has_error(errs, 0, ""));
	ck_assert(has_error(errs, 2, "[server] listen: the address must be"));
	ck_assert(has_error(errs, 3, "[server] max_connections: not a plain"));
	ck_assert(has_error(errs, 4, "[account a] client_id: missing"));
	ck_assert(has_error(errs, 5, "[account a] provider: no provider"));
	ck_assert(has_error(errs, 6, "[account a] email: not an e-mail"));
	ck_assert(has_error(errs, 7, "[user u] password_hash: missing"));
	ck_assert(has_error(errs, 8, "[user u] account: no [account b]"));
	ck_assert(has_error(errs, 9, "[nonsense]: unknown section"));
	ck_assert(has_error(errs, 11, "[server]: duplicate section"));
	for (s = errs; *s != '\0'; s = strchr(s, '\n') + 1) {
		line = atoi(s + strlen(cc_path) + 1);
		ck_assert_int_ge(line, last);
		last = line;
	}
	free(errs);
}
END_TEST

/* Past CONFIG_MAX_ERRORS the rest are counted, not listed. */
START_TEST(test_config_error_limit)
{
	char text[TEXTSZ], want[LINESZ];
	struct config *cf;
	char *errs;
	size_t off, i;

	off = (size_t)snprintf(text, sizeof(text), SERVER);
	for (i = 0; i < ERRORS_MADE; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "bogus%zu = 1\n", i);
	ck_assert_uint_lt(off, sizeof(text));
	cf = load(text, &errs);
	ck_assert_ptr_null(cf);
	ck_assert_uint_eq(count_lines(errs), ERRORS_SHOWN + 1);
	ck_assert(has_error(errs, 5, "[server] bogus0: unknown key"));
	snprintf(want, sizeof(want), "[server] bogus%d: unknown key",
	    ERRORS_SHOWN - 1);
	ck_assert(has_error(errs, 5 + ERRORS_SHOWN - 1, want));
	ck_assert(!has_error(errs, 5 + ERRORS_SHOWN, ""));
	snprintf(want, sizeof(want), ": %d more errors not shown\n",
	    ERRORS_MADE - ERRORS_SHOWN);
	ck_assert_ptr_nonnull(strstr(errs, want));
	free(errs);
}
END_TEST

/* No secret value reaches the error text, whatever is wrong around it. */
START_TEST(test_config_secrets)
{
	static const char text[] =
	    SERVER
	    "[account a]\n"					/* 5 */
	    "provider = google\n"
	    "email = a@example.com\n"
	    "client_id = cid\n"
	    "client_secret = SECRET-1 ; my comment\n"
	    "client_secret = SECRET-2\n"			/* 10 */
	    "client_secret SECRET-3\n"
	    "[account b]\n"
	    "provider = google\n"
	    "email = b@example.com\n"
	    "client_id = cid\n"					/* 15 */
	    "client_secret = SECRET-4\x01x\n"
	    "[user u]\n"
	    "password_hash = SECRET-5\n"
	    "password_hash = $SECRET-6\n"
	    "account = a\n"					/* 20 */
	    "client_secret = SECRET-7\n"
	    "[user v]\n"
	    "password_hash = $SECRET 8\n"
	    "account = b\n"
	    "[user w]\n"					/* 25 */
	    "password_hash = $SECRET-9 ; comment\n"
	    "account = b\n"
	    "[server]\n"
	    "client_secret = SECRET-10\n"
	    "[account c]\n"					/* 30 */
	    "client_secret = SECRET-11xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	    "client_secret =\n";
	struct config *cf;
	char *errs;

	cf = load(text, &errs);
	ck_assert_ptr_null(cf);
	check_shape(errs);
	ck_assert_msg(strstr(errs, "SECRET") == NULL, "leak:\n%s", errs);
	ck_assert(has_error(errs, 9, "[account a] client_secret: no comment "
	    "allowed on this line"));
	ck_assert(has_error(errs, 10, "[account a] client_secret: given twice"
	    " (first at line 9)"));
	ck_assert(has_error(errs, 11, "[account a]: expected \"key = value\""));
	ck_assert(has_error(errs, 16, "[account b] client_secret: control "
	    "character in the value"));
	ck_assert(has_error(errs, 18, "[user u] password_hash: not a crypt(3)"));
	ck_assert(has_error(errs, 19, "[user u] password_hash: given twice"));
	ck_assert(has_error(errs, 21, "[user u] client_secret: unknown key"));
	ck_assert(has_error(errs, 23, "[user v] password_hash: not a crypt(3)"));
	ck_assert(has_error(errs, 26, "[user w] password_hash: no comment"));
	ck_assert(has_error(errs, 28, "[server]: duplicate section"));
	ck_assert(has_error(errs, 31, "[account c]: line longer than 198"));
	ck_assert(has_error(errs, 32, "[account c] client_secret: empty value"));
	free(errs);
}
END_TEST

START_TEST(test_config_open)
{
	struct config *cf;
	char *errs = NULL;

	snprintf(cc_path, sizeof(cc_path), "/nonexistent/authrelay.ini");
	cf = config_load(cc_path, &errs);
	ck_assert_ptr_null(cf);
	check_shape(errs);
	ck_assert_uint_eq(count_lines(errs), 1);
	ck_assert(has_error(errs, 0, "cannot open: No such file"));
	free(errs);

	snprintf(cc_path, sizeof(cc_path), "/");
	cf = config_load(cc_path, &errs);
	ck_assert_ptr_null(cf);
	ck_assert_ptr_nonnull(strstr(errs, "read error: Is a directory"));
	free(errs);
}
END_TEST

/*
 * A reload keeps the restart-only [server] keys at their running values and
 * says, with the new file's line, which changed; the others are the new
 * file's. No line when nothing restart-only changed.
 */
START_TEST(test_config_keep_restart)
{
	struct config *cur, *next;
	char *errs, *report;

	cur = load(SERVER "auth_threads = 2\nstate_dir = /var/lib/a\n"
	    "max_connections = 10\n" ACCOUNT USER, &errs);
	ck_assert_msg(cur != NULL, "%s", errs);
	next = load(SERVER "auth_threads = 4\nstate_dir = /var/lib/b\n"
	    "max_connections = 20\ncontrol_socket = /run/x/control\n"
	    ACCOUNT USER, &errs);
	ck_assert_msg(next != NULL, "%s", errs);
	ck_assert_int_eq(config_keep_restart(next, cur, &report), 3);
	ck_assert_ptr_nonnull(report);
	ck_assert_uint_eq(count_lines(report), 3);
	ck_assert(has_error(report, 5, "[server] auth_threads: changed; a "
	    "restart is needed to apply it (keeping the running value)"));
	ck_assert(has_error(report, 6, "[server] state_dir: changed"));
	ck_assert(has_error(report, 8, "[server] control_socket: changed"));
	ck_assert_int_eq(next->auth_threads, 2);
	ck_assert_str_eq(next->state_dir, "/var/lib/a");
	ck_assert_str_eq(next->control_socket, CONFIG_CONTROL_DEFAULT);
	/* Not restart-only: the new value stands. */
	ck_assert_int_eq(next->max_connections, 20);
	free(report);

	/* Once kept, nothing is left to report. */
	ck_assert_int_eq(config_keep_restart(next, cur, &report), 0);
	ck_assert_ptr_null(report);
	config_free(next);
	config_free(cur);
}
END_TEST

/* user, group and control_socket: checked against the system, absolute. */
START_TEST(test_config_privileges)
{
	struct config *cf;
	char *errs;

	cf = load(SERVER "user = root\ngroup = root\n" ACCOUNT USER, &errs);
	ck_assert_msg(cf != NULL, "%s", errs);
	ck_assert_str_eq(cf->user, "root");
	ck_assert_str_eq(cf->group, "root");
	ck_assert_str_eq(cf->control_socket, CONFIG_CONTROL_DEFAULT);
	config_free(cf);

	cf = load(SERVER "user = no-such-user-8f2a\ngroup = no-such-group-8f2a"
	    "\ncontrol_socket = run/control\n" ACCOUNT USER, &errs);
	ck_assert_ptr_null(cf);
	check_shape(errs);
	ck_assert_uint_eq(count_lines(errs), 3);
	ck_assert(has_error(errs, 5, "[server] user: no such user on this "
	    "system"));
	ck_assert(has_error(errs, 6, "[server] group: no such group on this "
	    "system"));
	ck_assert(has_error(errs, 7, "[server] control_socket: must be an "
	    "absolute path"));
	free(errs);

	cf = load(SERVER "group = root\n" ACCOUNT USER, &errs);
	ck_assert_ptr_null(cf);
	ck_assert_uint_eq(count_lines(errs), 1);
	ck_assert(has_error(errs, 5, "[server] group: only with user"));
	free(errs);
}
END_TEST

/*
 * The shipped example loads as it is, and again with every commented-out
 * key (";key = ...") switched on, so each key it shows is valid.
 */
START_TEST(test_config_example)
{
	static char text[EXAMPLE_MAX], on[EXAMPLE_MAX];
	struct config *cf;
	char *errs, *s, *o;
	FILE *f;
	size_t n;
	int switched = 0;

	f = fopen(EXAMPLE_PATH, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run from the repo root)",
	    EXAMPLE_PATH);
	n = fread(text, 1, sizeof(text) - 1, f);
	ck_assert(feof(f));
	fclose(f);
	text[n] = '\0';

	cf = load(text, &errs);
	ck_assert_msg(cf != NULL, "example:\n%s", errs);
	ck_assert_uint_ge(cf->naccounts, 1);
	ck_assert_uint_ge(cf->nusers, 1);
	config_free(cf);

	for (s = text, o = on; *s != '\0'; ) {
		if (*s == ';' && s[1] >= 'a' && s[1] <= 'z') {
			s++;
			switched++;
		}
		while (*s != '\0' && (*o++ = *s++) != '\n')
			;
	}
	*o = '\0';
	ck_assert_int_gt(switched, 0);
	cf = load(on, &errs);
	ck_assert_msg(cf != NULL, "example, all keys on:\n%s", errs);
	config_free(cf);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_config_minimal);
	tcase_add_test(tc, test_config_full);
	tcase_add_test(tc, test_config_fleet);
	tcase_add_test(tc, test_config_plain_only);
	tcase_add_test(tc, test_config_format);
	tcase_add_loop_test(tc, test_config_presets, 0, NPRESETS);
	tcase_add_test(tc, test_config_tenants);
	tcase_add_test(tc, test_config_upstreams);
	tcase_add_test(tc, test_config_grants);
	tcase_add_loop_test(tc, test_config_bad, 0, N_BAD);
	tcase_add_test(tc, test_config_long_lines);
	tcase_add_test(tc, test_config_nul);
	tcase_add_test(tc, test_config_many_errors);
	tcase_add_test(tc, test_config_error_limit);
	tcase_add_test(tc, test_config_secrets);
	tcase_add_test(tc, test_config_open);
	tcase_add_test(tc, test_config_example);
	tcase_add_test(tc, test_config_keep_restart);
	tcase_add_test(tc, test_config_privileges);
	suite_add_tcase(s, tc);
	return s;
}
