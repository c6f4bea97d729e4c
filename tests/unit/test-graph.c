/* SPDX-License-Identifier: MIT */
/* graph: levels, via and after edges, cycles, long chains. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <string.h>

#include "graph/graph.h"
#include "topology/topology.h"
#include "util/buf.h"

static struct topology *load(const char *text)
{
	struct topology *t = NULL;
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	assert_int_equal(
		topology_parse("g.yml", text, strlen(text), &t, &dl, &err), 0);
	diag_list_free(&dl);
	error_clear(&err);
	return t;
}

static size_t level_of(const struct graph *g, const char *role)
{
	for (size_t i = 0; i < g->nr; i++)
		if (!strcmp(g->nodes[i].role->name, role))
			return g->nodes[i].level;
	fail_msg("no role %s", role);
	return 0;
}

static void test_levels_follow_the_deepest_dependency(void **state)
{
	struct topology *t;
	struct graph *g;
	struct error err;

	(void)state;
	error_init(&err);
	t = load("version: 1\nname: g\nproviders: {local: {}}\nroles:\n"
		 "  sentry: {after: [validator]}\n"
		 "  validator: {via: bastion, after: [monitoring]}\n"
		 "  bastion: {}\n"
		 "  monitoring: {after: [bastion]}\n"
		 "  lone: {}\n");
	assert_int_equal(graph_build(t, &g, &err), 0);
	assert_int_equal(g->nr_levels, 4);
	assert_int_equal(level_of(g, "bastion"), 1);
	assert_int_equal(level_of(g, "lone"), 1);
	assert_int_equal(level_of(g, "monitoring"), 2);
	assert_int_equal(level_of(g, "validator"), 3);
	assert_int_equal(level_of(g, "sentry"), 4);
	graph_free(g);
	topology_free(t);
}

static void test_via_edge_is_marked_and_merged_with_after(void **state)
{
	struct topology *t;
	struct graph *g;
	struct error err;
	const struct graph_node *b;

	(void)state;
	error_init(&err);
	t = load("version: 1\nname: g\nproviders: {local: {}}\nroles:\n"
		 "  bastion: {}\n"
		 "  v: {via: bastion, after: [bastion]}\n");
	assert_int_equal(graph_build(t, &g, &err), 0);
	b = &g->nodes[0];
	assert_string_equal(b->role->name, "bastion");
	assert_int_equal(b->nr_out, 1);
	assert_true(b->out[0].via);
	assert_int_equal(g->nodes[1].nr_deps, 1);
	graph_free(g);
	topology_free(t);
}

static void test_each_cycle_is_reported_once(void **state)
{
	const char *text = "version: 1\nname: g\nproviders: {local: {}}\n"
			   "roles:\n"
			   "  a: {after: [b]}\n"
			   "  b: {after: [a]}\n"
			   "  c: {after: [d]}\n"
			   "  d: {after: [c]}\n"
			   "  e: {after: [a, c]}\n";
	struct topology *t = NULL;
	struct diag_list dl;
	struct error err;

	(void)state;
	diag_list_init(&dl);
	error_init(&err);
	assert_int_equal(
		topology_parse("g.yml", text, strlen(text), &t, &dl, &err),
		DEPLOY_ERR_INVALID);
	assert_int_equal(dl.errors, 2);
	assert_non_null(strstr(dl.items[0].msg, "a -> b -> a"));
	assert_non_null(strstr(dl.items[1].msg, "c -> d -> c"));
	diag_list_free(&dl);
	error_clear(&err);
}

static void test_a_long_chain_does_not_exhaust_the_stack(void **state)
{
	char line[64];
	struct topology *t;
	struct graph *g;
	struct error err;
	struct buf text = BUF_INIT;

	(void)state;
	error_init(&err);
	buf_adds(&text, "version: 1\nname: g\nproviders: {local: {}}\n"
			"roles:\n  r0: {count: 0}\n");
	for (int i = 1; i < 5000; i++) {
		snprintf(line, sizeof(line),
			 "  r%d: {count: 0, after: [r%d]}\n", i, i - 1);
		buf_adds(&text, line);
	}
	t = load(text.data);
	assert_int_equal(graph_build(t, &g, &err), 0);
	assert_int_equal(g->nr_levels, 5000);
	graph_free(g);
	topology_free(t);
	buf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_follow_the_deepest_dependency),
		cmocka_unit_test(test_via_edge_is_marked_and_merged_with_after),
		cmocka_unit_test(test_each_cycle_is_reported_once),
		cmocka_unit_test(test_a_long_chain_does_not_exhaust_the_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
