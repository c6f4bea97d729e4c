/* SPDX-License-Identifier: MIT */
/* topology/select: --limit lists of roles and hosts. */
#include "cmocka-setup.h"

#include <stdlib.h>
#include <string.h>

#include "topology/select.h"
#include "topology/topology.h"
#include "util/buf.h"

static const char topo[] =
	"version: 1\n"
	"name: sel\n"
	"roles:\n"
	"  bastion:\n"
	"    provider: ssh\n"
	"    hosts: [{name: bastion-1, address: 10.0.0.1}]\n"
	"  validator:\n"
	"    provider: ssh\n"
	"    via: bastion\n"
	"    hosts: [{name: validator-1, address: 10.0.1.1},\n"
	"            {name: validator-2, address: 10.0.1.2}]\n"
	"  sentry:\n"
	"    provider: ssh\n"
	"    hosts: [{name: sentry-1, address: 10.0.2.1},\n"
	"            {name: sentry-2, address: 10.0.2.2}]\n";

static struct topology *load(void)
{
	struct topology *t = NULL;
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	assert_int_equal(
		topology_parse("s.yml", topo, strlen(topo), &t, &dl, &err), 0);
	diag_list_free(&dl);
	error_clear(&err);
	return t;
}

/* The names selected by `limit`, joined by spaces, or the error. */
static char *selected(const struct topology *t, const char *limit)
{
	struct host **hosts = NULL;
	struct buf b = BUF_INIT;
	struct error err;
	size_t n = 0;

	error_init(&err);
	if (topology_select(t, limit, &hosts, &n, &err)) {
		assert_int_equal(err.code, DEPLOY_ERR_USAGE);
		assert_null(hosts);
		buf_addf(&b, "error: %s", err.msg);
	}
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s%s", i ? " " : "", hosts[i]->name);
	free(hosts);
	error_clear(&err);
	return buf_release(&b);
}

#define assert_selects(t, limit, want)               \
	do {                                         \
		char *got_ = selected((t), (limit)); \
		assert_string_equal(got_, (want));   \
		free(got_);                          \
	} while (0)

static void test_no_limit_selects_every_host_in_order(void **state)
{
	struct topology *t = load();

	(void)state;
	assert_selects(t, NULL,
		       "bastion-1 validator-1 validator-2 sentry-1 sentry-2");
	topology_free(t);
}

static void test_roles_and_hosts_mix_and_keep_topology_order(void **state)
{
	struct topology *t = load();

	(void)state;
	assert_selects(t, "sentry", "sentry-1 sentry-2");
	assert_selects(t, "sentry-2,bastion", "bastion-1 sentry-2");
	assert_selects(t, "validator-2,validator,validator-1",
		       "validator-1 validator-2");
	topology_free(t);
}

static void test_unknown_names_and_empty_entries_are_usage_errors(void **state)
{
	struct topology *t = load();

	(void)state;
	assert_selects(t, "validatr",
		       "error: unknown role or host 'validatr' (did you mean "
		       "'validator'?)");
	assert_selects(t, "sentry-1,nothing-like-it",
		       "error: unknown role or host 'nothing-like-it'");
	assert_selects(t, "sentry,,bastion",
		       "error: empty name in 'sentry,,bastion'");
	assert_selects(t, "", "error: the list of roles and hosts is empty");
	assert_selects(t, "sentry,", "error: empty name in 'sentry,'");
	topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_limit_selects_every_host_in_order),
		cmocka_unit_test(
			test_roles_and_hosts_mix_and_keep_topology_order),
		cmocka_unit_test(
			test_unknown_names_and_empty_entries_are_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
