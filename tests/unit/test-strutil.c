/* SPDX-License-Identifier: MIT */
/* util/strutil: did-you-mean, DNS names, identifiers, CIDRs. */
#include "cmocka-setup.h"

#include <string.h>
#include <sys/socket.h>

#include "util/strutil.h"

static void test_edit_distance_counts_transpositions_as_one(void **state)
{
	(void)state;
	assert_int_equal(edit_distance("roles", "roles"), 0);
	assert_int_equal(edit_distance("rolse", "roles"), 1);
	assert_int_equal(edit_distance("playbook", "playbooks"), 1);
	assert_int_equal(edit_distance("", "abc"), 3);
	assert_int_equal(edit_distance("kitten", "sitting"), 3);
}

static void test_suggest_finds_close_words_only(void **state)
{
	static const char *const keys[] = { "provider", "playbooks", "port",
					    "count", NULL };

	(void)state;
	assert_string_equal(suggest("playbook", keys, SIZE_MAX), "playbooks");
	assert_string_equal(suggest("provdier", keys, SIZE_MAX), "provider");
	assert_string_equal(suggest("cont", keys, SIZE_MAX), "count");
	assert_null(suggest("firewall", keys, SIZE_MAX));
	assert_null(suggest("count", keys, SIZE_MAX)); /* exact: no hint */
	assert_string_equal(suggest("prot", keys, 3), "port");
}

static void test_dns_labels(void **state)
{
	(void)state;
	assert_true(is_dns_label("validator"));
	assert_true(is_dns_label("icon-mainnet-2"));
	assert_true(is_dns_label("a"));
	assert_false(is_dns_label(""));
	assert_false(is_dns_label("Validator"));
	assert_false(is_dns_label("-a"));
	assert_false(is_dns_label("a-"));
	assert_false(is_dns_label("a_b"));
	assert_false(is_dns_label("a.b"));
	assert_true(is_dns_label(
		"a23456789012345678901234567890123456789012345678901234567890123"));
	assert_false(is_dns_label(
		"a234567890123456789012345678901234567890123456789012345678901234"));
}

static void test_dns_names_and_addresses(void **state)
{
	(void)state;
	assert_true(is_dns_name("node1.example.org"));
	assert_false(is_dns_name("node1..example.org"));
	assert_false(is_dns_name("-x.example.org"));
	assert_true(is_ip_address("198.51.100.10"));
	assert_true(is_ip_address("2001:db8::1"));
	assert_false(is_ip_address("198.51.100.300"));
}

static void test_identifiers(void **state)
{
	(void)state;
	assert_true(is_identifier("keystore_password"));
	assert_true(is_identifier("_x1"));
	assert_false(is_identifier("1x"));
	assert_true(is_user_name("admin"));
	assert_true(is_user_name("_svc-1"));
	assert_false(is_user_name(""));
	assert_false(is_user_name("Admin"));
	assert_false(is_user_name("1admin"));
	assert_false(is_user_name("a23456789012345678901234567890123"));
	assert_false(is_identifier("a-b"));
	assert_false(is_identifier("a.b"));
	assert_false(is_identifier(""));
}

static void test_cidr_parse_v4_and_v6(void **state)
{
	struct cidr c;
	const char *why = NULL;

	(void)state;
	assert_int_equal(cidr_parse("203.0.113.7/32", &c, &why), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(cidr_parse("2001:db8::/32", &c, &why), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(cidr_parse("::/0", &c, &why), 0);
	assert_int_equal(c.prefix, 0);
}

static void test_cidr_parse_rejects_with_a_reason(void **state)
{
	struct cidr c;
	const char *why = NULL;

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0", &c, &why), -1);
	assert_string_equal(why, "no prefix length");
	assert_int_equal(cidr_parse("10.0.0.0/33", &c, &why), -1);
	assert_string_equal(why, "prefix length above 32");
	assert_int_equal(cidr_parse("::/129", &c, &why), -1);
	assert_string_equal(why, "prefix length above 128");
	assert_int_equal(cidr_parse("10.0.0.0/x", &c, &why), -1);
	assert_string_equal(why, "bad prefix length");
	assert_int_equal(cidr_parse("10.0.0/8", &c, &why), -1);
	assert_string_equal(why, "not an IP address");
	assert_int_equal(cidr_parse("/8", &c, &why), -1);
	assert_int_equal(cidr_parse("10.0.0.0/", &c, &why), -1);
}

static void test_cidr_host_bits_and_network(void **state)
{
	struct cidr c;
	const char *why;
	char net[64];

	(void)state;
	assert_int_equal(cidr_parse("10.1.2.3/8", &c, &why), 0);
	assert_true(cidr_has_host_bits(&c));
	cidr_format_network(&c, net, sizeof(net));
	assert_string_equal(net, "10.0.0.0/8");
	assert_int_equal(cidr_parse("10.1.3.0/23", &c, &why), 0);
	assert_true(cidr_has_host_bits(&c));
	cidr_format_network(&c, net, sizeof(net));
	assert_string_equal(net, "10.1.2.0/23");
	assert_int_equal(cidr_parse("10.1.2.0/24", &c, &why), 0);
	assert_false(cidr_has_host_bits(&c));
	assert_int_equal(cidr_parse("2001:db8::1/64", &c, &why), 0);
	assert_true(cidr_has_host_bits(&c));
	cidr_format_network(&c, net, sizeof(net));
	assert_string_equal(net, "2001:db8::/64");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_edit_distance_counts_transpositions_as_one),
		cmocka_unit_test(test_suggest_finds_close_words_only),
		cmocka_unit_test(test_dns_labels),
		cmocka_unit_test(test_dns_names_and_addresses),
		cmocka_unit_test(test_identifiers),
		cmocka_unit_test(test_cidr_parse_v4_and_v6),
		cmocka_unit_test(test_cidr_parse_rejects_with_a_reason),
		cmocka_unit_test(test_cidr_host_bits_and_network),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
