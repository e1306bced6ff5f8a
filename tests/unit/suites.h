/*
 * suites: every Check suite of the unit test runner. Each tests/unit/check_*.c
 * file defines one of these.
 */
#ifndef TESTS_UNIT_SUITES_H
#define TESTS_UNIT_SUITES_H

#include <check.h>

Suite	*buf_suite(void);
Suite	*b64_suite(void);
Suite	*smtp_cmd_suite(void);
Suite	*sasl_suite(void);
Suite	*xoauth2_suite(void);
Suite	*reply_suite(void);
Suite	*datafilter_suite(void);
Suite	*config_suite(void);
Suite	*tokenjson_suite(void);
Suite	*store_suite(void);
Suite	*seal_suite(void);
Suite	*jwt_suite(void);
Suite	*classify_suite(void);
Suite	*authorize_suite(void);
Suite	*cidr_suite(void);
Suite	*fromrewrite_suite(void);
Suite	*pool_suite(void);
Suite	*proxyproto_suite(void);
Suite	*control_suite(void);
Suite	*docs_suite(void);

#endif
