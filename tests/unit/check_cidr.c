/*
 * check_cidr: proxy/cidr, the network lists of listeners and users.
 * Table-driven: networks that parse (and how they print back), networks
 * that do not (and the reason given), addresses in and out of networks
 * (IPv4, IPv6, v4-mapped IPv6, prefixes off byte boundaries), lists with
 * every separator, and overlaps.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/cidr.h"
#include "tests/unit/suites.h"

#define T_ERR_MAX	256

/* addr as a socket address (AF_INET or AF_INET6 by its form). */
static const struct sockaddr *
t_sa(const char *addr, struct sockaddr_storage *ss)
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

static const struct {
	const char	*in;
	const char	*out;		/* cidr_format of it */
	int		 family;
} good[] = {
	{ "10.0.0.0/8", "10.0.0.0/8", AF_INET },
	{ "192.168.1.7", "192.168.1.7/32", AF_INET },
	{ "192.168.1.7/32", "192.168.1.7/32", AF_INET },
	{ "0.0.0.0/0", "0.0.0.0/0", AF_INET },
	{ "10.128.0.0/9", "10.128.0.0/9", AF_INET },
	{ "::/0", "::/0", AF_INET6 },
	{ "::1", "::1/128", AF_INET6 },
	{ "2001:db8::/32", "2001:db8::/32", AF_INET6 },
	{ "2001:DB8:8000::/33", "2001:db8:8000::/33", AF_INET6 },
	{ "fe80::1/128", "fe80::1/128", AF_INET6 },
	{ "::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104", AF_INET6 },
};
#define N_GOOD	(sizeof(good) / sizeof(good[0]))

START_TEST(test_cidr_parse_good)
{
	struct cidr c;
	char err[T_ERR_MAX] = "", out[CIDR_TEXT_MAX];

	ck_assert_msg(cidr_parse(good[_i].in, &c, err, sizeof(err)) == 0,
	    "%s: %s", good[_i].in, err);
	ck_assert_int_eq(c.family, good[_i].family);
	cidr_format(&c, out, sizeof(out));
	ck_assert_str_eq(out, good[_i].out);
}
END_TEST

static const struct {
	const char	*in;
	const char	*why;		/* part of the error text */
} bad[] = {
	{ "", "is not an address" },
	{ "/8", "is not an address" },
	{ "10.0.0.1/8", "has bits set after the /8 prefix" },
	{ "10.128.0.0/8", "has bits set after the /8 prefix" },
	{ "2001:db8::1/64", "has bits set after the /64 prefix" },
	{ "10.0.0.0/33", "the prefix length must be 0..32" },
	{ "::/129", "the prefix length must be 0..128" },
	{ "10.0.0.0/", "the prefix length" },
	{ "10.0.0.0/-1", "the prefix length" },
	{ "10.0.0.0/+8", "the prefix length" },
	{ "10.0.0.0/08", "the prefix length" },
	{ "10.0.0.0/8/8", "the prefix length" },
	{ "10.0.0.0/1x", "the prefix length" },
	{ "10.0.0.0/0032", "the prefix length" },
	{ "10.0.0", "is not an IPv4 or IPv6 address" },
	{ "10.0.0.256", "is not an IPv4 or IPv6 address" },
	{ "localhost", "is not an IPv4 or IPv6 address" },
	{ "[::1]", "is not an IPv4 or IPv6 address" },
	{ "::1::2", "is not an IPv4 or IPv6 address" },
	{ "0x0a000000/8", "is not an IPv4 or IPv6 address" },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999/128",
	    "is not an IPv4 or IPv6 address" },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:"
	    "eeee/8", "is not an address" },
};
#define N_BAD	(sizeof(bad) / sizeof(bad[0]))

START_TEST(test_cidr_parse_bad)
{
	struct cidr c;
	char err[T_ERR_MAX] = "";

	ck_assert_msg(cidr_parse(bad[_i].in, &c, err, sizeof(err)) == -1,
	    "\"%s\" parsed", bad[_i].in);
	ck_assert_msg(strstr(err, bad[_i].why) != NULL,
	    "\"%s\": error \"%s\", want \"%s\"", bad[_i].in, err, bad[_i].why);
}
END_TEST

static const struct {
	const char	*net;
	const char	*addr;
	int		 in;
} matches[] = {
	{ "10.0.0.0/8", "10.0.0.0", 1 },
	{ "10.0.0.0/8", "10.255.1.2", 1 },
	{ "10.0.0.0/8", "11.0.0.1", 0 },
	{ "10.0.0.0/8", "9.255.255.255", 0 },
	{ "127.0.0.1", "127.0.0.1", 1 },
	{ "127.0.0.1", "127.0.0.2", 0 },
	{ "192.168.0.0/23", "192.168.1.255", 1 },
	{ "192.168.0.0/23", "192.168.2.0", 0 },
	{ "10.128.0.0/9", "10.128.0.1", 1 },
	{ "10.128.0.0/9", "10.127.255.255", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 },
	{ "0.0.0.0/0", "::1", 0 },
	{ "::/0", "::1", 1 },
	{ "::/0", "203.0.113.9", 0 },
	{ "::1", "::1", 1 },
	{ "::1", "::2", 0 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", "2001:db9::", 0 },
	{ "2001:db8:8000::/33", "2001:db8:8000::1", 1 },
	{ "2001:db8:8000::/33", "2001:db8:7fff::1", 0 },
	/* A v4-mapped client address is judged as the IPv4 address. */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
	{ "::ffff:10.0.0.0/104", "::ffff:10.1.2.3", 0 },
	{ "::/0", "::ffff:10.1.2.3", 0 },
	{ "0.0.0.0/0", "::ffff:10.1.2.3", 1 },
};
#define N_MATCHES	(sizeof(matches) / sizeof(matches[0]))

START_TEST(test_cidr_match)
{
	struct sockaddr_storage ss;
	struct cidr c;
	char err[T_ERR_MAX];

	ck_assert_int_eq(cidr_parse(matches[_i].net, &c, err, sizeof(err)), 0);
	ck_assert_msg(cidr_match(&c, t_sa(matches[_i].addr, &ss)) ==
	    matches[_i].in, "%s in %s: want %d", matches[_i].addr,
	    matches[_i].net, matches[_i].in);
}
END_TEST

START_TEST(test_cidr_match_other_family)
{
	struct sockaddr_storage ss;
	struct cidr c;
	char err[T_ERR_MAX];

	ck_assert_int_eq(cidr_parse("0.0.0.0/0", &c, err, sizeof(err)), 0);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(cidr_match(&c, (struct sockaddr *)&ss), 0);
}
END_TEST

START_TEST(test_cidr_list)
{
	struct cidr_list l = { 0 };
	struct sockaddr_storage ss;
	char err[T_ERR_MAX], out[CIDR_TEXT_MAX];

	ck_assert_int_eq(cidr_list_match(&l, t_sa("10.0.0.1", &ss)), 0);
	ck_assert_int_eq(cidr_list_add(&l, "10.0.0.0/8, 192.168.0.0/16 ::1",
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 3);
	/* Any run of commas, spaces and tabs separates. */
	ck_assert_int_eq(cidr_list_add(&l,
	    ",,\t172.16.0.0/12 ,, 2001:db8::/32,", err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 5);
	cidr_format(&l.v[3], out, sizeof(out));
	ck_assert_str_eq(out, "172.16.0.0/12");
	ck_assert_int_eq(cidr_list_match(&l, t_sa("10.9.8.7", &ss)), 1);
	ck_assert_int_eq(cidr_list_match(&l, t_sa("192.168.44.1", &ss)), 1);
	ck_assert_int_eq(cidr_list_match(&l, t_sa("172.31.255.255", &ss)), 1);
	ck_assert_int_eq(cidr_list_match(&l, t_sa("172.32.0.0", &ss)), 0);
	ck_assert_int_eq(cidr_list_match(&l, t_sa("::1", &ss)), 1);
	ck_assert_int_eq(cidr_list_match(&l, t_sa("::2", &ss)), 0);
	ck_assert_int_eq(cidr_list_match(&l, t_sa("2001:db8::25", &ss)), 1);

	/* A bad one: the ones before it stay, the error names it. */
	ck_assert_int_eq(cidr_list_add(&l, "127.0.0.0/8, bad, ::2", err,
	    sizeof(err)), -1);
	ck_assert_uint_eq(l.n, 6);
	ck_assert_ptr_nonnull(strstr(err, "\"bad\""));
	ck_assert_int_eq(cidr_list_add(&l, "", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "no network given");
	ck_assert_int_eq(cidr_list_add(&l, " , \t", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "no network given");
	ck_assert_int_eq(cidr_list_add(&l, "1111:2222:3333:4444:5555:6666:"
	    "7777:8888:9999:aaaa:bbbb:cccc:dddd/8", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
	ck_assert_uint_eq(l.n, 6);
	cidr_list_free(&l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.v);
	cidr_list_free(&l);
}
END_TEST

START_TEST(test_cidr_list_max)
{
	struct cidr_list l = { 0 };
	char err[T_ERR_MAX], one[CIDR_TEXT_MAX];
	int i;

	for (i = 0; i < CIDR_LIST_MAX; i++) {
		snprintf(one, sizeof(one), "10.%d.%d.0/24", i / 256, i % 256);
		ck_assert_int_eq(cidr_list_add(&l, one, err, sizeof(err)), 0);
	}
	ck_assert_int_eq(cidr_list_add(&l, "192.0.2.1", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than"));
	ck_assert_uint_eq(l.n, CIDR_LIST_MAX);
	cidr_list_free(&l);
}
END_TEST

static const struct {
	const char	*a, *b;
	int		 overlap;
} overlaps[] = {
	{ "10.0.0.0/8", "10.1.0.0/16", 1 },
	{ "10.1.0.0/16", "10.0.0.0/8", 1 },
	{ "10.0.0.0/16", "10.1.0.0/16", 0 },
	{ "10.0.0.5", "10.0.0.5", 1 },
	{ "10.0.0.5", "10.0.0.6", 0 },
	{ "0.0.0.0/0", "203.0.113.0/24", 1 },
	{ "::/0", "10.0.0.0/8", 0 },
	{ "::/0", "2001:db8::/32", 1 },
	{ "2001:db8::/33", "2001:db8:8000::/33", 0 },
	{ "192.168.0.0/23", "192.168.1.0/24", 1 },
};
#define N_OVERLAPS	(sizeof(overlaps) / sizeof(overlaps[0]))

START_TEST(test_cidr_overlap)
{
	struct cidr a, b;
	char err[T_ERR_MAX];

	ck_assert_int_eq(cidr_parse(overlaps[_i].a, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(cidr_parse(overlaps[_i].b, &b, err, sizeof(err)), 0);
	ck_assert_msg(cidr_overlap(&a, &b) == overlaps[_i].overlap,
	    "%s and %s: want %d", overlaps[_i].a, overlaps[_i].b,
	    overlaps[_i].overlap);
}
END_TEST

Suite *
cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("cidr");

	tcase_add_loop_test(tc, test_cidr_parse_good, 0, N_GOOD);
	tcase_add_loop_test(tc, test_cidr_parse_bad, 0, N_BAD);
	tcase_add_loop_test(tc, test_cidr_match, 0, N_MATCHES);
	tcase_add_test(tc, test_cidr_match_other_family);
	tcase_add_test(tc, test_cidr_list);
	tcase_add_test(tc, test_cidr_list_max);
	tcase_add_loop_test(tc, test_cidr_overlap, 0, N_OVERLAPS);
	suite_add_tcase(s, tc);
	return s;
}
