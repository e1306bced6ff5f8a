/*
 * check_tokenjson: token endpoint replies as Google and Microsoft send them,
 * error objects, and the bodies that must be refused.
 */
#include <stdlib.h>
#include <string.h>

#include "oauth/tokenjson.h"
#include "tests/unit/suites.h"

#define ERRSZ	256

/* What a vector expects; NULL fields are not checked. */
struct tj_vec {
	const char	*name;
	const char	*body;
	int		 ret;
	const char	*access_token;
	long		 expires_in;
	const char	*refresh_token;	/* "" means: must be NULL */
	const char	*error;
	const char	*err_part;	/* substring of err for ret -1 */
};

static const struct tj_vec tj_vecs[] = {
	{ "google",
	  "{\n  \"access_token\": \"ya29.a0AfH6SMBx-Goo_gle.tok\",\n"
	  "  \"expires_in\": 3599,\n"
	  "  \"scope\": \"https://mail.google.com/\",\n"
	  "  \"token_type\": \"Bearer\"\n}",
	  0, "ya29.a0AfH6SMBx-Goo_gle.tok", 3599, "", NULL, NULL },
	{ "microsoft rotates",
	  "{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office.com/"
	  "SMTP.Send\",\"expires_in\":4415,\"ext_expires_in\":4415,"
	  "\"access_token\":\"eyJ0eXAiOiJKV1QiLCJub25jZSI6.eyJhdWQ.sig-_\","
	  "\"refresh_token\":\"0.AXkA-new-refresh*token\","
	  "\"id_token\":\"eyJ0eXAi.eyJ.x\"}",
	  0, "eyJ0eXAiOiJKV1QiLCJub25jZSI6.eyJhdWQ.sig-_", 4415,
	  "0.AXkA-new-refresh*token", NULL, NULL },
	{ "expires_in as string",
	  "{\"access_token\":\"t1\",\"expires_in\":\"3600\","
	  "\"token_type\":\"bearer\"}",
	  0, "t1", 3600, "", NULL, NULL },
	{ "expires_in absent, token_type absent",
	  "{\"access_token\":\"t2\"}", 0, "t2", 0, "", NULL, NULL },
	{ "expires_in real", "{\"access_token\":\"t3\",\"expires_in\":60.5}",
	  0, "t3", 60, "", NULL, NULL },
	{ "token_type BEARER", "{\"access_token\":\"t4\",\"token_type\":"
	  "\"BEARER\"}", 0, "t4", 0, "", NULL, NULL },
	{ "microsoft invalid_grant",
	  "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70000: "
	  "The provided value for the 'refresh_token' is not valid.\\r\\n"
	  "Trace ID: 0e1\",\"error_codes\":[70000],\"timestamp\":"
	  "\"2024-01-01 00:00:00Z\",\"trace_id\":\"0e1\"}",
	  1, NULL, 0, NULL, "invalid_grant", NULL },
	{ "google invalid_client",
	  "{\"error\":\"invalid_client\",\"error_description\":"
	  "\"Unauthorized\"}", 1, NULL, 0, NULL, "invalid_client", NULL },
	{ "error without description", "{\"error\":\"server_error\"}",
	  1, NULL, 0, NULL, "server_error", NULL },
	{ "error wins over token",
	  "{\"error\":\"invalid_scope\",\"access_token\":\"zz\"}",
	  1, NULL, 0, NULL, "invalid_scope", NULL },
	{ "not JSON", "<html><body>502 Bad Gateway</body></html>",
	  -1, NULL, 0, NULL, NULL, "not JSON" },
	{ "empty", "", -1, NULL, 0, NULL, NULL, "not JSON" },
	{ "truncated", "{\"access_token\":\"t", -1, NULL, 0, NULL, NULL,
	  "not JSON" },
	{ "array", "[{\"access_token\":\"t\"}]", -1, NULL, 0, NULL, NULL,
	  "not a JSON object" },
	{ "string", "\"access_token\"", -1, NULL, 0, NULL, NULL,
	  "not a JSON object" },
	{ "missing access_token", "{\"token_type\":\"Bearer\","
	  "\"expires_in\":3600}", -1, NULL, 0, NULL, NULL, "access_token" },
	{ "empty access_token", "{\"access_token\":\"\"}", -1, NULL, 0,
	  NULL, NULL, "empty" },
	{ "access_token number", "{\"access_token\":12}", -1, NULL, 0,
	  NULL, NULL, "not a string" },
	{ "token_type mac", "{\"access_token\":\"t\",\"token_type\":\"mac\"}",
	  -1, NULL, 0, NULL, NULL, "token_type" },
	{ "expires_in garbage", "{\"access_token\":\"t\",\"expires_in\":"
	  "\"soon\"}", -1, NULL, 0, NULL, NULL, "expires_in" },
	{ "expires_in negative", "{\"access_token\":\"t\",\"expires_in\":-5}",
	  -1, NULL, 0, NULL, NULL, "expires_in" },
	{ "expires_in huge", "{\"access_token\":\"t\",\"expires_in\":"
	  "\"99999999999999999999\"}", -1, NULL, 0, NULL, NULL,
	  "expires_in" },
	{ "control char in token", "{\"access_token\":\"a\\r\\nQUIT\"}",
	  -1, NULL, 0, NULL, NULL, "invalid characters" },
	{ "NUL in token", "{\"access_token\":\"a\\u0000b\"}", -1, NULL, 0,
	  NULL, NULL, "not JSON" },
	{ "duplicate key", "{\"access_token\":\"a\",\"access_token\":\"b\"}",
	  -1, NULL, 0, NULL, NULL, "not JSON" },
	{ "error not a string", "{\"error\":42}", -1, NULL, 0, NULL, NULL,
	  "error" },
};

START_TEST(test_vectors)
{
	const struct tj_vec *v = &tj_vecs[_i];
	struct token_response r;
	char err[ERRSZ];
	int ret;

	ret = token_response_parse(v->body, strlen(v->body), &r, err,
	    sizeof(err));
	ck_assert_msg(ret == v->ret, "%s: returned %d, want %d (%s)",
	    v->name, ret, v->ret, err);
	if (v->access_token != NULL)
		ck_assert_str_eq(r.access_token, v->access_token);
	if (ret == 0)
		ck_assert_int_eq(r.expires_in, v->expires_in);
	if (v->refresh_token != NULL && v->refresh_token[0] == '\0')
		ck_assert_ptr_null(r.refresh_token);
	else if (v->refresh_token != NULL)
		ck_assert_str_eq(r.refresh_token, v->refresh_token);
	if (v->error != NULL)
		ck_assert_str_eq(r.error, v->error);
	if (ret == -1) {
		ck_assert_msg(strstr(err, v->err_part) != NULL,
		    "%s: err \"%s\" lacks \"%s\"", v->name, err, v->err_part);
		ck_assert_ptr_null(r.access_token);
		ck_assert_ptr_null(r.error);
	}
	token_response_clear(&r);
	ck_assert_ptr_null(r.access_token);
	ck_assert_ptr_null(r.refresh_token);
	ck_assert_ptr_null(r.error);
}
END_TEST

START_TEST(test_fields)
{
	const char *body = "{\"access_token\":\"abc\",\"expires_in\":\"10\","
	    "\"scope\":\"https://mail.google.com/\",\"token_type\":\"Bearer\"}"
	    "trailing garbage not read";
	struct token_response r;
	char err[ERRSZ];

	/* len stops before the garbage: the body need not end in NUL. */
	ck_assert_int_eq(token_response_parse(body, strchr(body, '}') -
	    body + 1, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.scope, "https://mail.google.com/");
	ck_assert_str_eq(r.token_type, "Bearer");
	ck_assert_int_eq(r.expires_in, 10);
	token_response_clear(&r);
}
END_TEST

START_TEST(test_description)
{
	const char *body = "{\"error\":\"invalid_grant\",\"error_description\":"
	    "\"AADSTS70000: bad grant\",\"error_codes\":[70000]}";
	struct token_response r;
	char err[ERRSZ];

	ck_assert_int_eq(token_response_parse(body, strlen(body), &r, err,
	    sizeof(err)), 1);
	ck_assert_str_eq(r.error_description, "AADSTS70000: bad grant");
	ck_assert_ptr_null(r.access_token);
	token_response_clear(&r);
	ck_assert_ptr_null(r.error_description);
}
END_TEST

/* A body over the limit, and one at it. */
static char *
tj_long_body(const char *key, size_t toklen)
{
	const char *pre = "{\"access_token\":\"", *post = "\"}";
	char *b, *p;

	if (strcmp(key, "refresh_token") == 0)
		pre = "{\"access_token\":\"x\",\"refresh_token\":\"";
	ck_assert_ptr_nonnull(b = malloc(strlen(pre) + toklen +
	    strlen(post) + 1));
	p = stpcpy(b, pre);
	memset(p, 'S', toklen);
	strcpy(p + toklen, post);
	return b;
}

START_TEST(test_overlong)
{
	const char *keys[] = { "access_token", "refresh_token" };
	struct token_response r;
	char err[ERRSZ];
	char *b;
	size_t i;

	for (i = 0; i < 2; i++) {
		b = tj_long_body(keys[i], 4096);
		ck_assert_int_eq(token_response_parse(b, strlen(b), &r, err,
		    sizeof(err)), 0);
		token_response_clear(&r);
		free(b);

		b = tj_long_body(keys[i], 4097);
		ck_assert_int_eq(token_response_parse(b, strlen(b), &r, err,
		    sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "longer than"));
		ck_assert_ptr_null(strstr(err, "SSSS"));
		ck_assert_ptr_null(r.access_token);
		free(b);
	}
}
END_TEST

/* No reason may quote the token, even when jansson would. */
START_TEST(test_err_holds_no_token)
{
	const char *bodies[] = {
		"{\"access_token\":\"SECRETTOKEN\",\"token_type\":\"mac\"}",
		"{\"access_token\":\"SECRETTOKEN\",\"expires_in\":\"x\"}",
		"{\"access_token\":\"SECRETTOKEN\" \"token_type\":1}",
		"{\"access_token\":SECRETTOKEN}",
		"SECRETTOKEN",
		"{\"access_token\":\"SECRETTOKEN\",\"refresh_token\":"
		"\"SECRETTOKEN\\u0001\"}",
		"{\"access_token\":\"SECRETTOKEN\",\"access_token\":\"x\"}",
	};
	struct token_response r;
	char err[ERRSZ];
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		memset(err, 0, sizeof(err));
		ck_assert_int_eq(token_response_parse(bodies[i],
		    strlen(bodies[i]), &r, err, sizeof(err)), -1);
		ck_assert_msg(err[0] != '\0', "body %zu: empty err", i);
		ck_assert_msg(strstr(err, "SECRET") == NULL,
		    "body %zu: err \"%s\" holds the token", i, err);
		ck_assert_ptr_null(r.access_token);
		ck_assert_ptr_null(r.refresh_token);
	}
}
END_TEST

START_TEST(test_small_err)
{
	struct token_response r;
	char err[8];

	/* A short err buffer is cut, not overrun; NULL is allowed. */
	ck_assert_int_eq(token_response_parse("[]", 2, &r, err, sizeof(err)),
	    -1);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert_int_eq(token_response_parse("[]", 2, &r, NULL, 0), -1);
	ck_assert_int_eq(token_response_parse(NULL, 0, &r, err, sizeof(err)),
	    -1);
}
END_TEST

START_TEST(test_clear_zeroed)
{
	struct token_response r;

	memset(&r, 0, sizeof(r));
	token_response_clear(&r);
	token_response_clear(&r);
}
END_TEST

Suite *
tokenjson_suite(void)
{
	Suite *s = suite_create("tokenjson");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_vectors, 0,
	    sizeof(tj_vecs) / sizeof(tj_vecs[0]));
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_description);
	tcase_add_test(tc, test_overlong);
	tcase_add_test(tc, test_err_holds_no_token);
	tcase_add_test(tc, test_small_err);
	tcase_add_test(tc, test_clear_zeroed);
	suite_add_tcase(s, tc);
	return s;
}
