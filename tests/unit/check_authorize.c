/*
 * check_authorize: the pure parts of oauth/authorize: base64url and the
 * PKCE challenge (RFC 4648 and RFC 7636 appendix B vectors), the
 * authorization URL, the browser's request line and pasted redirects, and
 * device authorization responses as Microsoft and Google send them.
 */
#include <stdlib.h>
#include <string.h>

#include "oauth/authorize.h"
#include "tests/unit/suites.h"

#define BUFSZ		256
#define ERRSZ		256
#define VERIFIER_LONG	129	/* one past AUTHORIZE_VERIFIER_MAX */

/* RFC 7636 appendix B. */
#define RFC7636_VERIFIER	"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC7636_CHALLENGE	"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static const struct {
	const char	*in;
	size_t		 len;
	const char	*out;
} b64_vecs[] = {
	/* RFC 4648 10, padding dropped. */
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	/* The two characters that differ from base64: "+/8=" there. */
	{ "\xfb\xff", 2, "-_8" },
	{ "\xff\xff\xff", 3, "____" },
};

START_TEST(test_authorize_b64url)
{
	char out[BUFSZ];
	int n;

	n = authorize_b64url(b64_vecs[_i].in, b64_vecs[_i].len, out,
	    sizeof(out));
	ck_assert_int_eq(n, (int)strlen(b64_vecs[_i].out));
	ck_assert_str_eq(out, b64_vecs[_i].out);
	/* Exactly enough room, and one byte short. */
	ck_assert_int_eq(authorize_b64url(b64_vecs[_i].in, b64_vecs[_i].len,
	    out, strlen(b64_vecs[_i].out) + 1), n);
	ck_assert_int_eq(authorize_b64url(b64_vecs[_i].in, b64_vecs[_i].len,
	    out, strlen(b64_vecs[_i].out)), -1);
}
END_TEST

START_TEST(test_authorize_pkce)
{
	char out[BUFSZ], v[VERIFIER_LONG + 1];

	ck_assert_int_eq(authorize_pkce_challenge(RFC7636_VERIFIER, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, RFC7636_CHALLENGE);
	ck_assert_uint_eq(strlen(out), AUTHORIZE_CHALLENGE_LEN);
	ck_assert_int_eq(authorize_pkce_challenge(RFC7636_VERIFIER, out,
	    AUTHORIZE_CHALLENGE_LEN + 1), 0);
	ck_assert_int_eq(authorize_pkce_challenge(RFC7636_VERIFIER, out,
	    AUTHORIZE_CHALLENGE_LEN), -1);

	/* 43..128 unreserved characters, nothing else. */
	memset(v, 'a', sizeof(v));
	v[42] = '\0';
	ck_assert_int_eq(authorize_pkce_challenge(v, out, sizeof(out)), -1);
	v[42] = '~';
	v[43] = '\0';
	ck_assert_int_eq(authorize_pkce_challenge(v, out, sizeof(out)), 0);
	memset(v, '.', sizeof(v));
	v[128] = '\0';
	ck_assert_int_eq(authorize_pkce_challenge(v, out, sizeof(out)), 0);
	v[128] = '-';
	v[VERIFIER_LONG] = '\0';
	ck_assert_int_eq(authorize_pkce_challenge(v, out, sizeof(out)), -1);
	ck_assert_int_eq(authorize_pkce_challenge(RFC7636_VERIFIER "+", out,
	    sizeof(out)), -1);
	ck_assert_int_eq(authorize_pkce_challenge(
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX/", out, sizeof(out)),
	    -1);
	ck_assert_int_eq(authorize_pkce_challenge(
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r wW1gFWFOEjXk", out, sizeof(out)),
	    -1);
}
END_TEST

START_TEST(test_authorize_url)
{
	struct authorize_cfg c;
	char *u;

	/* Google: offline access asked for; every value encoded. */
	memset(&c, 0, sizeof(c));
	c.auth_url = "https://accounts.google.com/o/oauth2/auth";
	c.client_id = "123-abc.apps.googleusercontent.com";
	c.scope = "https://mail.google.com/";
	c.email = "relay+x@example.com";
	c.offline_params = 1;
	u = authorize_url(&c, "http://127.0.0.1:8765/", "st_ate-1~",
	    RFC7636_CHALLENGE);
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u, "https://accounts.google.com/o/oauth2/auth?"
	    "client_id=123-abc.apps.googleusercontent.com"
	    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2F"
	    "&response_type=code"
	    "&scope=https%3A%2F%2Fmail.google.com%2F"
	    "&state=st_ate-1~"
	    "&code_challenge=" RFC7636_CHALLENGE
	    "&code_challenge_method=S256"
	    "&access_type=offline&prompt=consent"
	    "&login_hint=relay%2Bx%40example.com");
	free(u);

	/* Microsoft: a space in the scope; a query already in auth_url. */
	memset(&c, 0, sizeof(c));
	c.auth_url = "https://login.example/common/authorize?p=b2c_1";
	c.client_id = "0000 & 1111";
	c.scope = "https://outlook.office.com/SMTP.Send offline_access";
	u = authorize_url(&c, "http://127.0.0.1:1/", "s", "c");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u, "https://login.example/common/authorize?p=b2c_1"
	    "&client_id=0000%20%26%201111"
	    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2F"
	    "&response_type=code"
	    "&scope=https%3A%2F%2Foutlook.office.com%2FSMTP.Send%20"
	    "offline_access"
	    "&state=s&code_challenge=c&code_challenge_method=S256");
	free(u);

	/* No scope: none asked for. A query that ends in '&'. */
	c.auth_url = "https://a.example/auth?x=1&";
	c.client_id = "\xc3\xa9";
	c.scope = NULL;
	u = authorize_url(&c, "r", "s", "c");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u, "https://a.example/auth?x=1&client_id=%C3%A9"
	    "&redirect_uri=r&response_type=code&state=s&code_challenge=c"
	    "&code_challenge_method=S256");
	free(u);

	c.auth_url = NULL;
	ck_assert_ptr_null(authorize_url(&c, "r", "s", "c"));
}
END_TEST

/* What a parse should give; NULL: must be NULL. */
struct redir_vec {
	const char	*in;
	int		 ret;
	const char	*code;
	const char	*state;
	const char	*error;
	const char	*error_description;
};

static const struct redir_vec request_vecs[] = {
	{ "GET /?code=4%2F0AX4XfWh-abc_def&scope=https%3A%2F%2Fmail.google.com"
	  "%2F&authuser=0&prompt=consent&state=Xy_z-9 HTTP/1.1\r\n", 0,
	  "4/0AX4XfWh-abc_def", "Xy_z-9", NULL, NULL },
	{ "GET /?code=M.C507_BAY.2.U.5a1e&state=s&session_state=f00 "
	  "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 0,
	  "M.C507_BAY.2.U.5a1e", "s", NULL, NULL },
	{ "GET /?error=access_denied&error_description=The+user+said%20no"
	  "&state=s HTTP/1.0\n", 0,
	  NULL, "s", "access_denied", "The user said no" },
	{ "GET /?state=s&code= HTTP/1.1\r\n", 0, "", "s", NULL, NULL },
	{ "GET / HTTP/1.1\r\n", 0, NULL, NULL, NULL, NULL },
	{ "GET /? HTTP/1.1\r\n", 0, NULL, NULL, NULL, NULL },
	{ "GET /?&&x&y=1& HTTP/1.1\r\n", 0, NULL, NULL, NULL, NULL },
	/* Not ours. */
	{ "GET /favicon.ico HTTP/1.1\r\n", 1, NULL, NULL, NULL, NULL },
	{ "GET //?code=x HTTP/1.1\r\n", 1, NULL, NULL, NULL, NULL },
	{ "GET /x?code=x HTTP/1.1\r\n", 1, NULL, NULL, NULL, NULL },
	{ "POST /?code=x HTTP/1.1\r\n", 1, NULL, NULL, NULL, NULL },
	{ "get /?code=x HTTP/1.1\r\n", 1, NULL, NULL, NULL, NULL },
	{ "GET http://127.0.0.1:1/?code=x HTTP/1.1\r\n", 1,
	  NULL, NULL, NULL, NULL },
	/* Malformed. */
	{ "GET /?code=a&code=b HTTP/1.1\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?state=a&state=a HTTP/1.1\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?code HTTP/1.1\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?code=%zz HTTP/1.1\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?code=ab%2 HTTP/1.1\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?code=a%00b HTTP/1.1\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?code=a%0Db HTTP/1.1\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?code=x HTTP/2\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?code=x\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET  /?code=x HTTP/1.1\r\n", -1, NULL, NULL, NULL, NULL },
	{ "GET /?code=x HTTP/1.1 junk\r\n", -1, NULL, NULL, NULL, NULL },
	{ "", -1, NULL, NULL, NULL, NULL },
	{ "\r\n", -1, NULL, NULL, NULL, NULL },
};

static const struct redir_vec pasted_vecs[] = {
	{ "http://127.0.0.1:8765/?code=4%2F0AX&state=s1&scope=x", 0,
	  "4/0AX", "s1", NULL, NULL },
	{ "  http://127.0.0.1:8765/?state=s1&code=abc#frag\r\n", 0,
	  "abc", "s1", NULL, NULL },
	{ "https://localhost/cb?code=abc", 0, "abc", NULL, NULL, NULL },
	{ "?code=abc&state=s", 0, "abc", "s", NULL, NULL },
	{ "code=abc&state=s\n", 0, "abc", "s", NULL, NULL },
	{ "http://127.0.0.1:1/?error=invalid_scope&error_description="
	  "AADSTS70011%3A+bad&state=s", 0,
	  NULL, "s", "invalid_scope", "AADSTS70011: bad" },
	/* A bare code, as copied or still encoded. */
	{ "0.AXkA-abc*def_ghi.jkl\n", 0, "0.AXkA-abc*def_ghi.jkl", NULL, NULL,
	  NULL },
	{ "4%2F0AX4XfWh", 0, "4/0AX4XfWh", NULL, NULL, NULL },
	/* Nothing usable. */
	{ "", -1, NULL, NULL, NULL, NULL },
	{ " \r\n", -1, NULL, NULL, NULL, NULL },
	{ "http://127.0.0.1:8765/", -1, NULL, NULL, NULL, NULL },
	{ "http://127.0.0.1:8765/?state=s", -1, NULL, NULL, NULL, NULL },
	{ "two words", -1, NULL, NULL, NULL, NULL },
	{ "abc%zz", -1, NULL, NULL, NULL, NULL },
	{ "code=a&code=b", -1, NULL, NULL, NULL, NULL },
	{ "caf\xc3\xa9", -1, NULL, NULL, NULL, NULL },
};

static void
check_redir(const struct redir_vec *v, int ret,
    const struct authorize_redirect *r, int row)
{
	ck_assert_msg(ret == v->ret, "row %d: want %d, got %d", row, v->ret,
	    ret);
#define FIELD(f)							\
	do {								\
		if (v->f == NULL)					\
			ck_assert_msg(r->f == NULL, "row %d: " #f	\
			    " set", row);				\
		else {							\
			ck_assert_msg(r->f != NULL, "row %d: no " #f,	\
			    row);					\
			ck_assert_str_eq(r->f, v->f);			\
		}							\
	} while (0)
	FIELD(code);
	FIELD(state);
	FIELD(error);
	FIELD(error_description);
#undef FIELD
}

START_TEST(test_authorize_request)
{
	struct authorize_redirect r;
	int ret;

	ret = authorize_parse_request(request_vecs[_i].in, &r);
	check_redir(&request_vecs[_i], ret, &r, _i);
	authorize_redirect_clear(&r);
	authorize_redirect_clear(&r);
}
END_TEST

START_TEST(test_authorize_pasted)
{
	struct authorize_redirect r;
	int ret;

	ret = authorize_parse_pasted(pasted_vecs[_i].in, &r);
	check_redir(&pasted_vecs[_i], ret, &r, _i);
	authorize_redirect_clear(&r);
}
END_TEST

/* Long values: AUTHORIZE_VALUE_MAX decoded bytes fit, one more does not. */
START_TEST(test_authorize_long)
{
	struct authorize_redirect r;
	char *line;
	size_t n = AUTHORIZE_VALUE_MAX + 64;

	line = malloc(n);
	ck_assert_ptr_nonnull(line);
	memset(line, 'a', n);
	memcpy(line, "code=", 5);
	line[5 + AUTHORIZE_VALUE_MAX] = '\0';
	ck_assert_int_eq(authorize_parse_pasted(line, &r), 0);
	ck_assert_uint_eq(strlen(r.code), AUTHORIZE_VALUE_MAX);
	authorize_redirect_clear(&r);
	line[5 + AUTHORIZE_VALUE_MAX] = 'a';
	line[5 + AUTHORIZE_VALUE_MAX + 1] = '\0';
	ck_assert_int_eq(authorize_parse_pasted(line, &r), -1);
	ck_assert_ptr_null(r.code);
	free(line);
}
END_TEST

struct device_vec {
	const char	*name;
	const char	*body;
	int		 ret;
	const char	*user_code;
	const char	*uri;
	const char	*uri_complete;	/* NULL: must be NULL */
	long		 expires_in;
	long		 interval;
	const char	*err_part;	/* for ret -1 */
};

static const struct device_vec device_vecs[] = {
	{ "microsoft",
	  "{\"user_code\":\"ABCD1234\",\"device_code\":\"DAQABAAEAAAD--secret"
	  "-device-code\",\"verification_uri\":\"https://microsoft.com/"
	  "devicelogin\",\"expires_in\":900,\"interval\":5,\"message\":"
	  "\"To sign in, use a web browser to open the page https://"
	  "microsoft.com/devicelogin and enter the code ABCD1234 to "
	  "authenticate.\"}",
	  0, "ABCD1234", "https://microsoft.com/devicelogin", NULL, 900, 5,
	  NULL },
	{ "rfc 8628 3.2",
	  "{\"device_code\":\"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS\","
	  "\"user_code\":\"WDJB-MJHT\",\"verification_uri\":"
	  "\"https://example.com/device\",\"verification_uri_complete\":"
	  "\"https://example.com/device?user_code=WDJB-MJHT\","
	  "\"expires_in\":1800,\"interval\":5}",
	  0, "WDJB-MJHT", "https://example.com/device",
	  "https://example.com/device?user_code=WDJB-MJHT", 1800, 5, NULL },
	{ "google, strings, defaults",
	  "{\"device_code\":\"4/4-GMMhmHCXhWEzkobqIHGG_EnNYYsAkukHspeYUk9E8\","
	  "\"user_code\":\"GQVQ-JKEC\",\"verification_url\":"
	  "\"https://www.google.com/device\",\"expires_in\":\"1800\"}",
	  0, "GQVQ-JKEC", "https://www.google.com/device", NULL, 1800,
	  AUTHORIZE_INTERVAL, NULL },
	{ "caps",
	  "{\"device_code\":\"d\",\"user_code\":\"u\",\"verification_uri\":"
	  "\"v\",\"expires_in\":86400,\"interval\":3600}",
	  0, "u", "v", NULL, AUTHORIZE_DEVICE_EXPIRES_MAX,
	  AUTHORIZE_INTERVAL_MAX, NULL },
	{ "no expires_in",
	  "{\"device_code\":\"d\",\"user_code\":\"u\",\"verification_uri\":"
	  "\"v\",\"interval\":0}",
	  0, "u", "v", NULL, AUTHORIZE_DEVICE_EXPIRES, AUTHORIZE_INTERVAL,
	  NULL },
	{ "no device_code",
	  "{\"user_code\":\"u\",\"verification_uri\":\"v\"}", -1, NULL, NULL,
	  NULL, 0, 0, "no device_code" },
	{ "no user_code",
	  "{\"device_code\":\"secret-dc\",\"verification_uri\":\"v\"}", -1,
	  NULL, NULL, NULL, 0, 0, "no user_code" },
	{ "no verification_uri",
	  "{\"device_code\":\"secret-dc\",\"user_code\":\"u\"}", -1, NULL,
	  NULL, NULL, 0, 0, "no verification_uri" },
	{ "empty user_code",
	  "{\"device_code\":\"secret-dc\",\"user_code\":\"\","
	  "\"verification_uri\":\"v\"}", -1, NULL, NULL, NULL, 0, 0,
	  "user_code is not a string" },
	{ "number as device_code",
	  "{\"device_code\":5,\"user_code\":\"u\",\"verification_uri\":\"v\"}",
	  -1, NULL, NULL, NULL, 0, 0, "device_code is not a string" },
	{ "negative interval",
	  "{\"device_code\":\"secret-dc\",\"user_code\":\"u\","
	  "\"verification_uri\":\"v\",\"interval\":-1}", -1, NULL, NULL, NULL,
	  0, 0, "interval is not a number" },
	{ "bad expires_in string",
	  "{\"device_code\":\"secret-dc\",\"user_code\":\"u\","
	  "\"verification_uri\":\"v\",\"expires_in\":\"15m\"}", -1, NULL,
	  NULL, NULL, 0, 0, "expires_in is not a number" },
	{ "duplicate key",
	  "{\"device_code\":\"secret-dc\",\"device_code\":\"x\"}", -1, NULL,
	  NULL, NULL, 0, 0, "not valid JSON" },
	{ "array", "[\"secret-dc\"]", -1, NULL, NULL, NULL, 0, 0,
	  "not a JSON object" },
	{ "not json", "secret-dc=1&user_code=u", -1, NULL, NULL, NULL, 0, 0,
	  "not valid JSON" },
	{ "empty", "", -1, NULL, NULL, NULL, 0, 0, "not valid JSON" },
};

START_TEST(test_authorize_device)
{
	const struct device_vec *v = &device_vecs[_i];
	struct authorize_device d;
	char err[ERRSZ];
	int ret;

	err[0] = '\0';
	ret = authorize_parse_device(v->body, strlen(v->body), &d, err,
	    sizeof(err));
	ck_assert_msg(ret == v->ret, "%s: want %d, got %d (%s)", v->name,
	    v->ret, ret, err);
	if (ret == -1) {
		ck_assert_msg(strstr(err, v->err_part) != NULL,
		    "%s: \"%s\" not in \"%s\"", v->name, v->err_part, err);
		ck_assert_msg(strstr(err, "secret") == NULL, "%s: leak: %s",
		    v->name, err);
		ck_assert_ptr_null(d.device_code);
		ck_assert_ptr_null(d.user_code);
		return;
	}
	ck_assert_ptr_nonnull(d.device_code);
	ck_assert_str_eq(d.user_code, v->user_code);
	ck_assert_str_eq(d.verification_uri, v->uri);
	if (v->uri_complete == NULL)
		ck_assert_ptr_null(d.verification_uri_complete);
	else
		ck_assert_str_eq(d.verification_uri_complete, v->uri_complete);
	ck_assert_int_eq(d.expires_in, v->expires_in);
	ck_assert_int_eq(d.interval, v->interval);
	authorize_device_clear(&d);
	ck_assert_ptr_null(d.device_code);
	authorize_device_clear(&d);
}
END_TEST

Suite *
authorize_suite(void)
{
	Suite *s = suite_create("authorize");
	TCase *tc = tcase_create("authorize");

	tcase_add_loop_test(tc, test_authorize_b64url, 0,
	    sizeof(b64_vecs) / sizeof(b64_vecs[0]));
	tcase_add_test(tc, test_authorize_pkce);
	tcase_add_test(tc, test_authorize_url);
	tcase_add_loop_test(tc, test_authorize_request, 0,
	    sizeof(request_vecs) / sizeof(request_vecs[0]));
	tcase_add_loop_test(tc, test_authorize_pasted, 0,
	    sizeof(pasted_vecs) / sizeof(pasted_vecs[0]));
	tcase_add_test(tc, test_authorize_long);
	tcase_add_loop_test(tc, test_authorize_device, 0,
	    sizeof(device_vecs) / sizeof(device_vecs[0]));
	suite_add_tcase(s, tc);
	return s;
}
