/* SPDX-License-Identifier: MIT */
/* util/error: diagnostics sorted by file, line and column. */
#include "cmocka-setup.h"

#include <string.h>

#include "util/error.h"

static void test_sort_orders_by_line_then_column_stably(void **state)
{
	struct diag_list dl;

	(void)state;
	diag_list_init(&dl);
	diag_add(&dl, DIAG_ERROR, "t.yml", 5, 3, "c");
	diag_add(&dl, DIAG_WARNING, "t.yml", 2, 9, "b");
	diag_add(&dl, DIAG_ERROR, "t.yml", 2, 1, "a");
	diag_add(&dl, DIAG_ERROR, "t.yml", 5, 3, "d");
	diag_list_sort(&dl);
	assert_string_equal(dl.items[0].msg, "a");
	assert_string_equal(dl.items[1].msg, "b");
	assert_string_equal(dl.items[2].msg, "c");
	assert_string_equal(dl.items[3].msg, "d");
	assert_int_equal(dl.errors, 3);
	assert_int_equal(dl.warnings, 1);
	diag_list_free(&dl);
}

static void test_sort_keeps_each_file_together(void **state)
{
	struct diag_list dl;

	(void)state;
	diag_list_init(&dl);
	diag_add(&dl, DIAG_ERROR, "hosts.ini", 7, 1, "ini 7");
	diag_add(&dl, DIAG_ERROR, "t.yml", 9, 5, "yml 9");
	diag_add(&dl, DIAG_ERROR, "hosts.ini", 2, 1, "ini 2");
	diag_add(&dl, DIAG_ERROR, "t.yml", 1, 1, "yml 1");
	diag_list_sort(&dl);
	assert_string_equal(dl.items[0].msg, "ini 2");
	assert_string_equal(dl.items[1].msg, "ini 7");
	assert_string_equal(dl.items[2].msg, "yml 1");
	assert_string_equal(dl.items[3].msg, "yml 9");
	diag_list_sort_first(&dl, "t.yml");
	assert_string_equal(dl.items[0].msg, "yml 1");
	assert_string_equal(dl.items[1].msg, "yml 9");
	assert_string_equal(dl.items[2].msg, "ini 2");
	assert_string_equal(dl.items[3].msg, "ini 7");
	diag_list_free(&dl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_orders_by_line_then_column_stably),
		cmocka_unit_test(test_sort_keeps_each_file_together),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
