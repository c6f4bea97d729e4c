/* SPDX-License-Identifier: MIT */
/* yamltree: positions, duplicate keys, aliases and merges, alias bombs. */
#include "cmocka-setup.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "yamltree/ytree.h"

struct parsed {
	struct ydoc *doc;
	struct diag_list dl;
	struct error err;
	int rc;
};

static void parse(struct parsed *p, const char *text)
{
	diag_list_init(&p->dl);
	error_init(&p->err);
	p->rc = ydoc_parse("t.yml", text, strlen(text), &p->doc, &p->dl,
			   &p->err);
}

static void done(struct parsed *p)
{
	ydoc_free(p->doc);
	diag_list_free(&p->dl);
	error_clear(&p->err);
}

static void test_every_node_keeps_its_line_and_column(void **state)
{
	struct parsed p;
	const struct ynode *roles, *v, *count;

	(void)state;
	parse(&p, "name: x\nroles:\n  validator:\n    count: 3\n");
	assert_int_equal(p.rc, 0);
	roles = ynode_get(p.doc->root, "roles");
	assert_int_equal(roles->line, 3);
	assert_int_equal(roles->col, 3);
	v = ynode_get(roles, "validator");
	count = ynode_get(v, "count");
	assert_int_equal(count->line, 4);
	assert_int_equal(count->col, 12);
	assert_int_equal(roles->pairs[0].key->line, 3);
	assert_int_equal(roles->pairs[0].key->col, 3);
	done(&p);
}

static void test_syntax_error_names_the_line(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "a: 1\nb: [1, 2\nc: 3\n");
	assert_int_equal(p.rc, DEPLOY_ERR_SYNTAX);
	assert_null(p.doc);
	assert_string_equal(p.err.file, "t.yml");
	assert_int_equal(p.err.line, 3);
	assert_non_null(strstr(p.err.msg, "invalid YAML: "));
	done(&p);
}

static void test_tab_indentation_is_a_syntax_error_at_the_tab(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "roles:\n\tvalidator: {}\n");
	assert_int_equal(p.rc, DEPLOY_ERR_SYNTAX);
	assert_int_equal(p.err.line, 2);
	assert_int_equal(p.err.col, 1);
	assert_string_equal(p.err.msg,
			    "invalid YAML: found character that cannot start "
			    "any token (while scanning for the next token at "
			    "line 2, column 1)");
	done(&p);
}

static void test_duplicate_key_is_reported_and_first_kept(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "a: 1\nb: 2\na: 3\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.dl.errors, 1);
	assert_int_equal(p.dl.items[0].line, 3);
	assert_int_equal(p.dl.items[0].col, 1);
	assert_string_equal(p.dl.items[0].msg,
			    "duplicate key 'a' (first at line 1, column 1); "
			    "remove one of them");
	assert_string_equal(ynode_get(p.doc->root, "a")->value, "1");
	assert_int_equal(p.doc->root->nr, 2);
	done(&p);
}

static void test_duplicate_key_with_a_mapping_value_is_reported(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "r:\n  x: {a: 1}\n  x:\n    b: 2\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.dl.errors, 1);
	assert_int_equal(p.dl.items[0].line, 3);
	assert_non_null(
		ynode_get(ynode_get(ynode_get(p.doc->root, "r"), "x"), "a"));
	done(&p);
}

static void test_aliases_share_and_merge_keys_apply(void **state)
{
	struct parsed p;
	const struct ynode *b;

	(void)state;
	parse(&p, "base: &b {size: small, image: debian-12}\n"
		  "x:\n  <<: *b\n  size: large\n"
		  "y: *b\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.dl.nr, 0);
	b = ynode_get(p.doc->root, "x");
	assert_string_equal(ynode_get(b, "size")->value, "large");
	assert_string_equal(ynode_get(b, "image")->value, "debian-12");
	assert_null(ynode_get(b, "<<"));
	assert_ptr_equal(ynode_get(p.doc->root, "y"),
			 ynode_get(p.doc->root, "base"));
	done(&p);
}

static void test_merge_of_a_scalar_is_an_error(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "a: &s text\nb:\n  <<: *s\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.dl.errors, 1);
	assert_string_equal(p.dl.items[0].msg,
			    "merge key '<<' needs a mapping or a list of "
			    "mappings, not a string");
	done(&p);
}

static void test_unknown_alias_is_an_error(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "a: *nope\n");
	assert_int_equal(p.rc, DEPLOY_ERR_SYNTAX);
	assert_string_equal(p.err.msg,
			    "unknown alias '*nope'; define '&nope' before it");
	assert_int_equal(p.err.line, 1);
	assert_int_equal(p.err.col, 4);
	done(&p);
}

static void test_alias_bomb_is_refused(void **state)
{
	struct buf text = BUF_INIT;
	struct parsed p;

	(void)state;
	buf_adds(&text, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		buf_addf(&text,
			 "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
			 "*a%d, *a%d, *a%d, *a%d]\n",
			 i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
			 i - 1, i - 1, i - 1);
	parse(&p, text.data);
	assert_int_equal(p.rc, DEPLOY_ERR_TOO_BIG);
	assert_non_null(strstr(p.err.msg, "once aliases are expanded"));
	done(&p);
	buf_free(&text);
}

static void test_deep_nesting_is_refused(void **state)
{
	struct buf text = BUF_INIT;
	struct parsed p;

	(void)state;
	for (int i = 0; i < 100; i++)
		buf_addch(&text, '[');
	for (int i = 0; i < 100; i++)
		buf_addch(&text, ']');
	parse(&p, text.data);
	assert_int_equal(p.rc, DEPLOY_ERR_TOO_BIG);
	assert_string_equal(p.err.msg, "nesting deeper than 64 levels");
	done(&p);
	buf_free(&text);
}

static void test_second_document_is_refused(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "a: 1\n---\nb: 2\n");
	assert_int_equal(p.rc, DEPLOY_ERR_SYNTAX);
	assert_int_equal(p.err.line, 2);
	done(&p);
}

static void test_empty_document_has_no_root(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "# only a comment\n");
	assert_int_equal(p.rc, 0);
	assert_null(p.doc->root);
	done(&p);
}

static void test_scalar_types_follow_the_core_schema(void **state)
{
	struct parsed p;
	const struct ynode *r;
	long v = 0;
	bool b = false;

	(void)state;
	parse(&p, "i: 42\nh: 0x1F\no: 0o17\nq: \"42\"\nt: true\nf: False\n"
		  "n: ~\ne:\ns: yes\nx: 1.5e3\nneg: -7\n");
	assert_int_equal(p.rc, 0);
	r = p.doc->root;
	assert_int_equal(ynode_int(ynode_get(r, "i"), &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ynode_int(ynode_get(r, "h"), &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(ynode_int(ynode_get(r, "o"), &v), 0);
	assert_int_equal(v, 15);
	assert_int_equal(ynode_int(ynode_get(r, "neg"), &v), 0);
	assert_int_equal(v, -7);
	assert_int_not_equal(ynode_int(ynode_get(r, "q"), &v), 0);
	assert_true(ynode_is_string(ynode_get(r, "q")));
	assert_int_equal(ynode_bool(ynode_get(r, "t"), &b), 0);
	assert_true(b);
	assert_int_equal(ynode_bool(ynode_get(r, "f"), &b), 0);
	assert_false(b);
	assert_true(ynode_is_null(ynode_get(r, "n")));
	assert_true(ynode_is_null(ynode_get(r, "e")));
	/* YAML 1.1's yes is a string in the core schema */
	assert_true(ynode_is_string(ynode_get(r, "s")));
	assert_true(ynode_is_number(ynode_get(r, "x")));
	assert_string_equal(ynode_describe(ynode_get(r, "x")), "a number");
	assert_string_equal(ynode_describe(r), "a mapping");
	done(&p);
}

static void test_to_json_keeps_types(void **state)
{
	struct parsed p;
	cJSON *j;
	char *s;

	(void)state;
	parse(&p, "a: [1, two, true, ~, \"3\"]\nb: {c: 1.5}\n");
	assert_int_equal(p.rc, 0);
	j = ynode_to_json(p.doc->root);
	s = cJSON_PrintUnformatted(j);
	assert_string_equal(
		s, "{\"a\":[1,\"two\",true,null,\"3\"],\"b\":{\"c\":1.5}}");
	free(s);
	cJSON_Delete(j);
	done(&p);
}

static void test_invalid_utf8_is_a_syntax_error_with_position(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "a: 1\nb: \xff\n");
	assert_int_equal(p.rc, DEPLOY_ERR_SYNTAX);
	assert_int_equal(p.err.line, 2);
	assert_int_equal(p.err.col, 4);
	done(&p);
}

static void test_built_nodes_read_like_parsed_ones(void **state)
{
	struct ydoc *doc = ydoc_new("hosts.ini");
	struct ynode *m, *port, *user;
	cJSON *j;
	char *text;

	(void)state;
	m = ydoc_new_map(doc, 3, 1);
	port = ydoc_new_scalar(doc, "2202", 4, true, 3, 7);
	user = ydoc_new_scalar(doc, "2202", 4, false, 3, 20);
	ynode_map_add(m, ydoc_new_scalar(doc, "port", 4, true, 3, 1), port);
	ynode_map_add(m, ydoc_new_scalar(doc, "user", 4, true, 3, 15), user);
	assert_null(doc->root);
	assert_string_equal(doc->file, "hosts.ini");
	assert_ptr_equal(ynode_get(m, "port"), port);
	assert_int_equal(port->line, 3);
	assert_int_equal(port->col, 7);
	assert_true(ynode_is_number(port));
	assert_true(ynode_is_string(user));
	j = ynode_to_json(m);
	text = cJSON_PrintUnformatted(j);
	assert_string_equal(text, "{\"port\":2202,\"user\":\"2202\"}");
	free(text);
	cJSON_Delete(j);
	ydoc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_node_keeps_its_line_and_column),
		cmocka_unit_test(test_syntax_error_names_the_line),
		cmocka_unit_test(
			test_tab_indentation_is_a_syntax_error_at_the_tab),
		cmocka_unit_test(test_duplicate_key_is_reported_and_first_kept),
		cmocka_unit_test(
			test_duplicate_key_with_a_mapping_value_is_reported),
		cmocka_unit_test(test_aliases_share_and_merge_keys_apply),
		cmocka_unit_test(test_merge_of_a_scalar_is_an_error),
		cmocka_unit_test(test_unknown_alias_is_an_error),
		cmocka_unit_test(test_alias_bomb_is_refused),
		cmocka_unit_test(test_deep_nesting_is_refused),
		cmocka_unit_test(test_second_document_is_refused),
		cmocka_unit_test(test_empty_document_has_no_root),
		cmocka_unit_test(test_scalar_types_follow_the_core_schema),
		cmocka_unit_test(test_to_json_keeps_types),
		cmocka_unit_test(
			test_invalid_utf8_is_a_syntax_error_with_position),
		cmocka_unit_test(test_built_nodes_read_like_parsed_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
