/*
 * The unit test runner: all suites in one binary. CK_FORK=no (set by the
 * Makefile for the sanitizer and valgrind runs) keeps every test in one
 * process so the tools see it.
 */
#include <stdlib.h>

#include "tests/unit/suites.h"

int
main(void)
{
	Suite *(*suites[])(void) = {
		buf_suite, b64_suite, smtp_cmd_suite, sasl_suite,
		xoauth2_suite, reply_suite, datafilter_suite, config_suite,
		tokenjson_suite, store_suite, seal_suite, jwt_suite,
		classify_suite, authorize_suite, cidr_suite, fromrewrite_suite,
		pool_suite, proxyproto_suite, control_suite,
		docs_suite,
	};
	SRunner *sr = srunner_create(NULL);
	size_t i;
	int failed;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
