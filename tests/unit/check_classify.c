/*
 * check_classify: token endpoint failures as the providers send them,
 * sorted into transient, permanent and refused; backoff steps; and
 * Retry-After values in each of their forms.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "oauth/classify.h"
#include "tests/unit/suites.h"

static const struct {
	long			 status;
	const char		*error;
	const char		*description;
	enum classify_kind	 kind;
} cl_vecs[] = {
	/* Transport failures and the statuses that mean "later". */
	{ 0, NULL, NULL, CLASSIFY_TRANSIENT },
	{ 408, NULL, NULL, CLASSIFY_TRANSIENT },
	{ 429, NULL, NULL, CLASSIFY_TRANSIENT },
	{ 500, NULL, NULL, CLASSIFY_TRANSIENT },
	{ 502, NULL, NULL, CLASSIFY_TRANSIENT },
	{ 503, NULL, NULL, CLASSIFY_TRANSIENT },
	{ 504, NULL, NULL, CLASSIFY_TRANSIENT },
	{ 599, NULL, NULL, CLASSIFY_TRANSIENT },
	/* A status that says "later" wins over any error code. */
	{ 429, "invalid_grant", NULL, CLASSIFY_TRANSIENT },
	{ 503, "invalid_client", "Unauthorized", CLASSIFY_TRANSIENT },
	{ 500, "server_error", NULL, CLASSIFY_TRANSIENT },
	/* Microsoft's throttling, whatever its code and status. */
	{ 400, "invalid_request", "AADSTS50196: The server terminated an "
	  "operation because it encountered a client request loop.",
	  CLASSIFY_TRANSIENT },
	{ 400, "invalid_grant", "AADSTS50196: loop", CLASSIFY_TRANSIENT },
	{ 400, "temporarily_unavailable", NULL, CLASSIFY_TRANSIENT },
	{ 400, "server_error", NULL, CLASSIFY_TRANSIENT },
	{ 400, "slow_down", NULL, CLASSIFY_TRANSIENT },
	/* A 200 we could not use: a proxy's page. */
	{ 200, NULL, NULL, CLASSIFY_TRANSIENT },
	/* The grant or the client is refused: re-authorize. */
	{ 400, "invalid_grant", "AADSTS70000: The provided value for the "
	  "'refresh_token' is not valid.", CLASSIFY_PERMANENT },
	{ 400, "invalid_grant", "AADSTS700082: The refresh token has expired "
	  "due to inactivity.", CLASSIFY_PERMANENT },
	{ 400, "invalid_grant", "Token has been expired or revoked.",
	  CLASSIFY_PERMANENT },
	{ 400, "invalid_grant", NULL, CLASSIFY_PERMANENT },
	{ 401, "invalid_client", "AADSTS7000215: Invalid client secret "
	  "provided.", CLASSIFY_PERMANENT },
	{ 400, "invalid_client", NULL, CLASSIFY_PERMANENT },
	{ 401, "unauthorized_client", "Client is unauthorized to retrieve "
	  "access tokens using this method", CLASSIFY_PERMANENT },
	{ 400, "unauthorized_client", NULL, CLASSIFY_PERMANENT },
	{ 400, "interaction_required", "AADSTS50076: MFA", CLASSIFY_PERMANENT },
	{ 401, NULL, NULL, CLASSIFY_PERMANENT },
	/* Any other refusal: not retried, no mark. */
	{ 400, "invalid_scope", NULL, CLASSIFY_REFUSED },
	{ 400, "invalid_request", "AADSTS900144: missing client_id",
	  CLASSIFY_REFUSED },
	{ 400, "unsupported_grant_type", NULL, CLASSIFY_REFUSED },
	{ 403, "access_denied", NULL, CLASSIFY_REFUSED },
	{ 400, "INVALID_GRANT", NULL, CLASSIFY_REFUSED },
	{ 400, "invalid_grant_x", NULL, CLASSIFY_REFUSED },
	{ 400, NULL, NULL, CLASSIFY_REFUSED },
	{ 403, NULL, NULL, CLASSIFY_REFUSED },
	{ 404, NULL, NULL, CLASSIFY_REFUSED },
	{ 302, NULL, NULL, CLASSIFY_REFUSED },
};

START_TEST(test_failure)
{
	enum classify_kind k;

	k = classify_failure(cl_vecs[_i].status, cl_vecs[_i].error,
	    cl_vecs[_i].description);
	ck_assert_msg(k == cl_vecs[_i].kind, "vector %d (%ld %s): %s, not %s",
	    _i, cl_vecs[_i].status, cl_vecs[_i].error != NULL ?
	    cl_vecs[_i].error : "-", classify_name(k),
	    classify_name(cl_vecs[_i].kind));
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(classify_name(CLASSIFY_TRANSIENT), "transient");
	ck_assert_str_eq(classify_name(CLASSIFY_PERMANENT), "permanent");
	ck_assert_str_eq(classify_name(CLASSIFY_REFUSED), "refused");
}
END_TEST

/* 1, 2, 4, ... capped at CLASSIFY_BACKOFF_MAX, less up to half of it. */
START_TEST(test_backoff)
{
	const double want[] = { 1, 1, 2, 4, 8, 16, 32, 60, 60, 60 };
	unsigned a;

	for (a = 0; a < sizeof(want) / sizeof(want[0]); a++) {
		ck_assert_double_eq(classify_backoff(a, 0.), want[a]);
		ck_assert_double_eq_tol(classify_backoff(a, 0.999999),
		    want[a] / 2., 0.0001);
		ck_assert_double_eq(classify_backoff(a, 0.5),
		    want[a] * 0.75);
	}
	ck_assert_double_eq(classify_backoff(1000, 0.), CLASSIFY_BACKOFF_MAX);
	ck_assert_double_eq(classify_backoff(~0u, 0.), CLASSIFY_BACKOFF_MAX);
	/* rnd outside [0, 1) counts as 0. */
	ck_assert_double_eq(classify_backoff(3, 1.), 4.);
	ck_assert_double_eq(classify_backoff(3, -0.5), 4.);
	ck_assert_double_eq(classify_backoff(3, NAN), 4.);
}
END_TEST

/* 784111777 is Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example. */
#define CL_NOW	((time_t)784111777)

static const struct {
	const char	*value;
	int		 ret;
	long		 secs;
} cl_ra[] = {
	{ "120", 0, 120 },
	{ "0", 0, 0 },
	{ "  5 ", 0, 5 },
	{ "\t7", 0, 7 },
	{ "007", 0, 7 },
	{ "300", 0, 300 },
	{ "301", 0, CLASSIFY_RETRY_AFTER_MAX },
	{ "86400", 0, CLASSIFY_RETRY_AFTER_MAX },
	{ "99999999999999999999999", 0, CLASSIFY_RETRY_AFTER_MAX },
	{ "0000000000000000000000042", 0, 42 },
	{ "Sun, 06 Nov 1994 08:50:37 GMT", 0, 60 },
	{ "Sunday, 06-Nov-94 08:51:37 GMT", 0, 120 },
	{ "Sun Nov  6 08:49:47 1994", 0, 10 },
	{ "Sun, 06 Nov 1994 08:49:37 GMT", 0, 0 },
	{ "Sun, 06 Nov 1994 08:00:00 GMT", 0, 0 },
	{ "Thu, 01 Jan 2099 00:00:00 GMT", 0, CLASSIFY_RETRY_AFTER_MAX },
	{ "-1", -1, 0 },
	{ "+5", -1, 0 },
	{ "1.5", -1, 0 },
	{ "5s", -1, 0 },
	{ "", -1, 0 },
	{ "   ", -1, 0 },
	{ "soon", -1, 0 },
	{ "Sun, 06 Nov 1994 08:50:37 GMT junk", -1, 0 },
	{ "Sun, 32 Nov 1994 08:50:37 GMT", -1, 0 },
	{ "06 Nov 1994 08:50:37 GMT", -1, 0 },
	{ "Sun, 06 Nov 1994 08:50:37 UTC+0100 and a very long tail that goes "
	  "on", -1, 0 },
};

START_TEST(test_retry_after)
{
	long secs = -7;
	int r;

	r = classify_retry_after(cl_ra[_i].value, CL_NOW, &secs);
	ck_assert_msg(r == cl_ra[_i].ret && secs == cl_ra[_i].secs,
	    "vector %d \"%s\": %d %ld, not %d %ld", _i, cl_ra[_i].value, r,
	    secs, cl_ra[_i].ret, cl_ra[_i].secs);
}
END_TEST

START_TEST(test_retry_after_null)
{
	long secs = 9;

	ck_assert_int_eq(classify_retry_after(NULL, CL_NOW, &secs), -1);
	ck_assert_int_eq(secs, 0);
}
END_TEST

Suite *
classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc = tcase_create("classify");

	tcase_add_loop_test(tc, test_failure, 0,
	    sizeof(cl_vecs) / sizeof(cl_vecs[0]));
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_backoff);
	tcase_add_loop_test(tc, test_retry_after, 0,
	    sizeof(cl_ra) / sizeof(cl_ra[0]));
	tcase_add_test(tc, test_retry_after_null);
	suite_add_tcase(s, tc);
	return s;
}
