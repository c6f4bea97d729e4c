/* SPDX-License-Identifier: MIT */
/* template: the Mustache spec's cases and deploy's own choices. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "template/template.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Partials the tests can load: a NULL name ends the table. */
struct partial_def {
	const char *name;
	const char *text;
	const char *origin;
};

static int partial_from_table(void *ctx, const char *name, char **text,
			      char **origin, struct error *err)
{
	const struct partial_def *d;

	(void)err;
	for (d = ctx; d && d->name; d++) {
		if (strcmp(d->name, name))
			continue;
		*text = xstrdup(d->text);
		if (d->origin)
			*origin = xstrdup(d->origin);
		return 0;
	}
	return DEPLOY_ERR_NOT_FOUND;
}

static struct template_opts spec_opts(const struct partial_def *partials)
{
	struct template_opts o = {
		.escape = TEMPLATE_ESCAPE_HTML,
		.missing = TEMPLATE_MISSING_EMPTY,
		.partial = partial_from_table,
		.partial_ctx = (void *)partials,
	};
	return o;
}

static struct template_opts strict_opts(const struct partial_def *partials)
{
	struct template_opts o = {
		.escape = TEMPLATE_ESCAPE_NONE,
		.missing = TEMPLATE_MISSING_ERROR,
		.partial = partial_from_table,
		.partial_ctx = (void *)partials,
	};
	return o;
}

static struct template_opts shell_opts(void)
{
	struct template_opts o = {
		.escape = TEMPLATE_ESCAPE_SHELL,
		.missing = TEMPLATE_MISSING_EMPTY,
	};
	return o;
}

static cJSON *json(const char *text)
{
	cJSON *data = cJSON_Parse(text);

	assert_non_null(data);
	return data;
}

static void expect_render(const char *tpl, const char *data_json,
			  const struct template_opts *opts,
			  const char *expected)
{
	cJSON *data = json(data_json);
	struct buf out = BUF_INIT;
	struct error err;
	int rc;

	error_init(&err);
	rc = template_render_string("test.mustache", tpl, strlen(tpl), data,
				    opts, &out, &err);
	if (rc)
		fprintf(stderr, "unexpected error: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(out.data, expected);
	assert_int_equal(out.len, strlen(expected));
	buf_free(&out);
	error_clear(&err);
	cJSON_Delete(data);
}

static void expect_spec(const char *tpl, const char *data_json,
			const char *expected)
{
	struct template_opts o = spec_opts(NULL);

	expect_render(tpl, data_json, &o, expected);
}

static void expect_error(const char *tpl, const char *data_json,
			 const struct template_opts *opts, int code,
			 const char *file, int line, int col, const char *msg)
{
	cJSON *data = json(data_json);
	struct buf out = BUF_INIT;
	struct error err;
	int rc;

	error_init(&err);
	rc = template_render_string("test.mustache", tpl, strlen(tpl), data,
				    opts, &out, &err);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_string_equal(err.msg, msg);
	assert_non_null(err.file);
	assert_string_equal(err.file, file);
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
	buf_free(&out);
	error_clear(&err);
	cJSON_Delete(data);
}

static void expect_syntax_error(const char *tpl, int line, int col,
				const char *msg)
{
	struct template *t = (struct template *)1;
	struct error err;

	error_init(&err);
	assert_int_equal(
		template_parse("test.mustache", tpl, strlen(tpl), &t, &err),
		DEPLOY_ERR_SYNTAX);
	assert_null(t);
	assert_int_equal(err.code, DEPLOY_ERR_SYNTAX);
	assert_string_equal(err.file, "test.mustache");
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
	error_clear(&err);
}

/* ---- interpolation ---------------------------------------------------- */

static void test_text_without_tags_is_copied_verbatim(void **state)
{
	(void)state;
	expect_spec("", "{}", "");
	expect_spec("plain { text } with } braces {\r\n", "{}",
		    "plain { text } with } braces {\r\n");
}

static void test_variable_is_interpolated(void **state)
{
	(void)state;
	expect_spec("host={{host}};", "{\"host\":\"web-1\"}", "host=web-1;");
}

static void test_interpolated_value_is_not_reinterpolated(void **state)
{
	(void)state;
	expect_spec("{{a}}", "{\"a\":\"{{b}}\",\"b\":\"no\"}", "{{b}}");
}

static void test_html_escape_escapes_amp_lt_gt_quote(void **state)
{
	(void)state;
	expect_spec("{{v}}", "{\"v\":\"<a href=\\\"x\\\">R&D</a> it's\"}",
		    "&lt;a href=&quot;x&quot;&gt;R&amp;D&lt;/a&gt; it's");
}

static void
test_triple_mustache_and_ampersand_are_raw_in_html_mode(void **state)
{
	(void)state;
	expect_spec("{{{v}}}|{{&v}}", "{\"v\":\"<&\\\">\"}", "<&\">|<&\">");
}

static void test_escape_none_writes_values_as_they_are(void **state)
{
	struct template_opts o = strict_opts(NULL);

	(void)state;
	expect_render("{{v}}", "{\"v\":\"<b> & \\\"q\\\"\"}", &o,
		      "<b> & \"q\"");
}

static void test_integers_interpolate_without_decimals(void **state)
{
	(void)state;
	expect_spec("{{a}} {{b}} {{c}} {{d}} {{e}}",
		    "{\"a\":85,\"b\":-3,\"c\":0,\"d\":1e3,"
		    "\"e\":123456789012345}",
		    "85 -3 0 1000 123456789012345");
}

static void test_decimals_interpolate_in_shortest_round_trip_form(void **state)
{
	(void)state;
	expect_spec("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}",
		    "{\"a\":1.210,\"b\":0.1,\"c\":-2.5,\"d\":3.141592653589793,"
		    "\"e\":1e-7,\"f\":1e300}",
		    "1.21 0.1 -2.5 3.141592653589793 1e-07 1e+300");
}

static void test_booleans_interpolate_as_true_and_false(void **state)
{
	(void)state;
	expect_spec("{{t}}/{{f}}", "{\"t\":true,\"f\":false}", "true/false");
}

static void test_null_interpolates_empty(void **state)
{
	struct template_opts o = strict_opts(NULL);

	(void)state;
	expect_spec("[{{n}}{{{n}}}{{&n}}]", "{\"n\":null}", "[]");
	expect_render("[{{n}}]", "{\"n\":null}", &o, "[]");
}

static void test_missing_variable_renders_empty_in_spec_mode(void **state)
{
	(void)state;
	expect_spec("[{{nope}}{{{nope}}}{{&nope}}]", "{}", "[]");
}

static void test_object_and_array_interpolate_empty_in_spec_mode(void **state)
{
	(void)state;
	expect_spec("[{{o}}{{a}}]", "{\"o\":{\"k\":1},\"a\":[1]}", "[]");
}

static void test_tag_padding_is_ignored(void **state)
{
	(void)state;
	expect_spec("{{ v }}|{{{ v }}}|{{& v }}|{{\tv\t}}", "{\"v\":\"&\"}",
		    "&amp;|&|&|&amp;");
}

static void test_variable_tag_alone_on_a_line_keeps_the_line(void **state)
{
	(void)state;
	expect_spec("  {{v}}\n{{{v}}}\n", "{\"v\":\"x\"}", "  x\nx\n");
}

/* ---- names and the context stack --------------------------------------- */

static void test_dotted_name_walks_nested_objects(void **state)
{
	(void)state;
	expect_spec("{{db.primary.host}}:{{db.primary.port}}",
		    "{\"db\":{\"primary\":{\"host\":\"pg\",\"port\":5432}}}",
		    "pg:5432");
}

static void test_dotted_name_resolves_first_part_up_the_stack(void **state)
{
	(void)state;
	expect_spec("{{#hosts}}{{name}}@{{site.region}} {{/hosts}}",
		    "{\"site\":{\"region\":\"eu\"},"
		    "\"hosts\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
		    "a@eu b@eu ");
}

static void test_dotted_name_rest_resolves_only_inside_first_part(void **state)
{
	(void)state;
	/* net is found in app, so net.cidr must not fall back to root's net */
	expect_spec("[{{#app}}{{net.cidr}}{{/app}}]",
		    "{\"app\":{\"net\":{}},\"net\":{\"cidr\":\"wrong\"}}",
		    "[]");
}

static void test_dotted_name_broken_chain_renders_empty(void **state)
{
	(void)state;
	expect_spec("[{{a.b.c}}|{{s.len}}|{{n.x}}]",
		    "{\"a\":{\"b\":{}},\"c\":\"no\",\"s\":\"str\",\"n\":null}",
		    "[||]");
}

static void test_dotted_name_is_never_a_single_key(void **state)
{
	(void)state;
	expect_spec("[{{x.y}}]", "{\"x.y\":\"flat\"}", "[]");
	expect_spec("[{{x.y}}]", "{\"x.y\":\"flat\",\"x\":{\"y\":\"deep\"}}",
		    "[deep]");
}

static void test_names_are_case_sensitive(void **state)
{
	(void)state;
	expect_spec("[{{Name}}]", "{\"name\":\"x\"}", "[]");
}

static void test_implicit_iterator_interpolates_current_item(void **state)
{
	(void)state;
	expect_spec("{{#l}}<{{.}}>{{/l}}", "{\"l\":[\"a&b\",7,2.5,true]}",
		    "<a&amp;b><7><2.5><true>");
	expect_spec("{{#l}}({{#.}}{{.}},{{/.}}){{/l}}",
		    "{\"l\":[[1,2],[\"x\"]]}", "(1,2,)(x,)");
}

static void test_implicit_iterator_on_root_list(void **state)
{
	(void)state;
	expect_spec("{{#.}}{{id}};{{/.}}", "[{\"id\":1},{\"id\":2}]", "1;2;");
}

/* ---- sections ----------------------------------------------------------- */

static void test_section_iterates_list_items_as_context(void **state)
{
	(void)state;
	expect_spec("{{#users}}{{name}}={{uid}} {{/users}}",
		    "{\"users\":[{\"name\":\"ann\",\"uid\":1},"
		    "{\"name\":\"bob\",\"uid\":2}]}",
		    "ann=1 bob=2 ");
}

static void test_section_pushes_object_as_context(void **state)
{
	(void)state;
	expect_spec("{{#svc}}{{name}} on {{port}} ({{env}}){{/svc}}",
		    "{\"env\":\"prod\",\"svc\":{\"name\":\"api\",\"port\":80}}",
		    "api on 80 (prod)");
}

static void test_empty_object_section_renders_once(void **state)
{
	(void)state;
	expect_spec("[{{#o}}once{{/o}}]", "{\"o\":{}}", "[once]");
}

static void test_section_renders_truthy_scalar_once_as_context(void **state)
{
	(void)state;
	expect_spec("{{#s}}<{{.}}>{{/s}}{{#z}}<{{.}}>{{/z}}"
		    "{{#e}}<{{.}}>{{/e}}{{#t}}<{{.}}>{{/t}}",
		    "{\"s\":\"v\",\"z\":0,\"e\":\"\",\"t\":true}",
		    "<v><0><><true>");
}

static void test_section_skips_false_null_missing_and_empty_list(void **state)
{
	(void)state;
	expect_spec("[{{#f}}F{{/f}}{{#n}}N{{/n}}{{#m}}M{{/m}}{{#l}}L{{/l}}]",
		    "{\"f\":false,\"n\":null,\"l\":[]}", "[]");
}

static void test_nested_sections_see_outer_contexts(void **state)
{
	(void)state;
	expect_spec("{{#a}}{{#b}}{{#c}}{{x}}{{y}}{{z}}{{/c}}{{/b}}{{/a}}",
		    "{\"x\":1,\"a\":{\"y\":2,\"b\":[{\"c\":{\"z\":3}},"
		    "{\"c\":{\"z\":4,\"y\":5}}]}}",
		    "123154");
}

static void test_section_with_dotted_name(void **state)
{
	(void)state;
	expect_spec("[{{#a.b}}yes{{/a.b}}{{^a.c}}no{{/a.c}}]",
		    "{\"a\":{\"b\":true,\"c\":false}}", "[yesno]");
}

static void test_inverted_section_renders_for_falsey_values_only(void **state)
{
	(void)state;
	expect_spec("{{^f}}f{{/f}}{{^n}}n{{/n}}{{^m}}m{{/m}}{{^l}}l{{/l}}"
		    "{{^t}}T{{/t}}{{^o}}O{{/o}}{{^full}}L{{/full}}",
		    "{\"f\":false,\"n\":null,\"l\":[],\"t\":true,\"o\":{},"
		    "\"full\":[1]}",
		    "fnml");
}

static void test_inverted_section_keeps_the_current_context(void **state)
{
	(void)state;
	expect_spec("{{#o}}{{^missing}}{{k}}{{/missing}}{{/o}}",
		    "{\"o\":{\"k\":\"in-o\"}}", "in-o");
}

/* ---- comments and standalone lines --------------------------------------- */

static void test_comment_renders_nothing(void **state)
{
	(void)state;
	expect_spec("a{{! note }}b{{!\nmulti\nline\n}}c{{!}}", "{}", "abc");
}

static void test_standalone_comment_line_is_removed(void **state)
{
	(void)state;
	expect_spec("one\n   {{! gone }}  \ntwo\n{{!\n  also\n}}\nthree", "{}",
		    "one\ntwo\nthree");
}

static void test_standalone_section_line_is_removed_with_crlf(void **state)
{
	(void)state;
	expect_spec("begin\r\n{{#on}}\r\n  item\r\n{{/on}}\r\nend\r\n",
		    "{\"on\":true}", "begin\r\n  item\r\nend\r\n");
	expect_spec("begin\r\n  {{^on}}  \r\nx\r\n\t{{/on}}\r\nend", "{}",
		    "begin\r\nx\r\nend");
}

static void test_indented_standalone_tags_are_removed(void **state)
{
	(void)state;
	expect_spec("list:\n  {{#l}}\n  - {{.}}\n  {{/l}}\ndone\n",
		    "{\"l\":[\"a\",\"b\"]}", "list:\n  - a\n  - b\ndone\n");
}

static void test_standalone_tag_needs_no_newline_before_or_after(void **state)
{
	(void)state;
	expect_spec("  {{#t}}\nx\n  {{/t}}  ", "{\"t\":true}", "x\n");
	expect_spec("{{!c}}\nabc\n\t{{!c}}", "{}", "abc\n");
}

static void test_two_tags_on_one_line_are_not_standalone(void **state)
{
	(void)state;
	expect_spec(" {{#t}}{{/t}} \n|", "{\"t\":true}", "  \n|");
	expect_spec(" {{#t}}yes{{/t}}\n", "{\"t\":true}", " yes\n");
}

static void test_lone_cr_is_not_a_line_ending(void **state)
{
	(void)state;
	expect_spec("{{#t}}\rx\n{{/t}}", "{\"t\":true}", "\rx\n");
}

/* ---- partials ------------------------------------------------------------ */

static void test_partial_renders_in_current_context(void **state)
{
	static const struct partial_def p[] = {
		{ "user", "<{{name}}>", NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_render("{{#users}}{{> user }}{{/users}}",
		      "{\"users\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", &o,
		      "<a><b>");
}

static void test_missing_partial_renders_empty_in_spec_mode(void **state)
{
	(void)state;
	expect_spec("[{{>nothing}}]", "{}", "[]");
}

static void test_missing_partial_is_an_error_in_strict_mode(void **state)
{
	struct template_opts o = strict_opts(NULL);

	(void)state;
	expect_error("ok\n  {{> nav }}", "{}", &o, DEPLOY_ERR_TEMPLATE,
		     "test.mustache", 2, 3, "missing partial 'nav'");
}

static void test_no_partial_callback_means_missing_partial(void **state)
{
	struct template_opts o = shell_opts();

	(void)state;
	expect_render("[{{>x}}]", "{}", &o, "[]");
	o.missing = TEMPLATE_MISSING_ERROR;
	expect_error("[{{>x}}]", "{}", &o, DEPLOY_ERR_TEMPLATE, "test.mustache",
		     1, 2, "missing partial 'x'");
}

static void test_standalone_partial_indents_each_line(void **state)
{
	static const struct partial_def p[] = {
		{ "body", "a:\n\n  b\n", NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_render("top:\n    {{>body}}\nend\n", "{}", &o,
		      "top:\n    a:\n    \n      b\nend\n");
	expect_render("\t{{>body}}", "{}", &o, "\ta:\n\t\n\t  b\n");
}

static void test_nested_standalone_partials_accumulate_indent(void **state)
{
	static const struct partial_def p[] = {
		{ "outer", "o1\n  {{>inner}}\no2\n", NULL },
		{ "inner", "i1\ni2\n", NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_render("  {{>outer}}\n", "{}", &o,
		      "  o1\n    i1\n    i2\n  o2\n");
}

static void test_partial_indentation_skips_lines_inside_values(void **state)
{
	static const struct partial_def p[] = {
		{ "conf", "[{{{v}}}]\n{{{v}}}\n", NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_render("  {{>conf}}\n", "{\"v\":\"x\\ny\"}", &o,
		      "  [x\ny]\n  x\ny\n");
}

static void test_inline_partial_is_not_indented(void **state)
{
	static const struct partial_def p[] = {
		{ "two", "1\n2\n", NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_render("  x {{>two}}\n", "{}", &o, "  x 1\n2\n\n");
}

static void test_standalone_partial_line_with_crlf_is_replaced(void **state)
{
	static const struct partial_def p[] = {
		{ "p", "P", NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_render("a\r\n {{>p}} \r\nb", "{}", &o, "a\r\n Pb");
}

static void test_partial_recursion_renders_a_tree(void **state)
{
	static const struct partial_def p[] = {
		{ "node", "{{n}}({{#kids}}{{>node}}{{/kids}})", NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_render("{{>node}}",
		      "{\"n\":\"r\",\"kids\":[{\"n\":\"a\",\"kids\":[]},"
		      "{\"n\":\"b\",\"kids\":[{\"n\":\"c\",\"kids\":[]}]}]}",
		      &o, "r(a()b(c()))");
}

static void test_partial_recursion_is_bounded(void **state)
{
	static const struct partial_def p[] = {
		{ "loop", "x\n{{>loop}}", "partials/loop.mustache" },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_error("{{>loop}}", "{}", &o, DEPLOY_ERR_TEMPLATE,
		     "partials/loop.mustache", 2, 1,
		     "partial 'loop' nested deeper than 100 "
		     "(recursive partial?)");
}

static void test_partial_delimiters_do_not_leak(void **state)
{
	static const struct partial_def p[] = {
		{ "in", "{{v}}{{=[ ]=}}[v]", NULL },
		{ "plain", "{{v}}", NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_render("{{>in}}|{{v}}[v]|{{=<< >>=}}<<>plain>>", "{\"v\":1}", &o,
		      "11|1[v]|1");
}

static void
test_error_inside_partial_names_partial_origin_and_line(void **state)
{
	static const struct partial_def p[] = {
		{ "item", "ok\n  {{missing}}", "partials/item.mustache" },
		{ "bare", "{{#x}}\n{{gone}}{{/x}}", NULL },
		{ 0 },
	};
	struct template_opts o = strict_opts(p);

	(void)state;
	expect_error("a\n{{>item}}", "{}", &o, DEPLOY_ERR_TEMPLATE,
		     "partials/item.mustache", 2, 3,
		     "missing variable 'missing'");
	expect_error("{{>bare}}", "{\"x\":true}", &o, DEPLOY_ERR_TEMPLATE,
		     "bare", 2, 1, "missing variable 'gone'");
}

static void test_syntax_error_in_partial_names_the_partial(void **state)
{
	static const struct partial_def p[] = {
		{ "broken", "\n\n{{#a}}", "partials/broken.mustache" },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_error("{{>broken}}", "{}", &o, DEPLOY_ERR_SYNTAX,
		     "partials/broken.mustache", 3, 1, "unclosed section 'a'");
}

static int failing_loader(void *ctx, const char *name, char **text,
			  char **origin, struct error *err)
{
	(void)ctx;
	(void)text;
	(void)origin;
	return error_set(err, DEPLOY_ERR_IO, "partials", 0, 0,
			 "cannot read '%s'", name);
}

static void test_partial_loader_error_is_passed_through(void **state)
{
	struct template_opts o = {
		.escape = TEMPLATE_ESCAPE_NONE,
		.missing = TEMPLATE_MISSING_EMPTY,
		.partial = failing_loader,
	};
	struct buf out = BUF_INIT;
	struct error err;

	(void)state;
	error_init(&err);
	assert_int_equal(
		template_render_string("t", "{{>p}}", 6, NULL, &o, &out, &err),
		DEPLOY_ERR_IO);
	assert_string_equal(err.file, "partials");
	assert_string_equal(err.msg, "cannot read 'p'");
	buf_free(&out);
	error_clear(&err);
}

static int counting_loader(void *ctx, const char *name, char **text,
			   char **origin, struct error *err)
{
	int *calls = ctx;

	(void)name;
	(void)origin;
	(void)err;
	(*calls)++;
	*text = xstrdup("{{.}}");
	return 0;
}

static void test_partial_is_loaded_once_per_render(void **state)
{
	int calls = 0;
	struct template_opts o = {
		.escape = TEMPLATE_ESCAPE_NONE,
		.missing = TEMPLATE_MISSING_EMPTY,
		.partial = counting_loader,
		.partial_ctx = &calls,
	};

	(void)state;
	expect_render("{{#l}}{{>item}}{{/l}}", "{\"l\":[1,2,3]}", &o, "123");
	assert_int_equal(calls, 1);
}

/* ---- set delimiters ------------------------------------------------------ */

static void test_set_delimiters_changes_every_tag_kind(void **state)
{
	(void)state;
	expect_spec("{{=<% %>=}}<%v%>{{v}}<%#l%>(<%.%>)<%/l%>"
		    "<%^m%>!<%/m%><%{r}%><%&r%><%! c %>",
		    "{\"v\":1,\"l\":[2,3],\"r\":\"<\"}", "1{{v}}(2)(3)!<<");
}

static void test_set_delimiters_allows_padding_and_resets(void **state)
{
	(void)state;
	expect_spec("{{=  |   |  =}}|v||= {{ }} =|{{v}}", "{\"v\":\"x\"}",
		    "xx");
}

static void test_standalone_delimiter_line_is_removed(void **state)
{
	(void)state;
	expect_spec("a\n  {{=[[ ]]=}}  \r\n[[v]]\n", "{\"v\":\"b\"}", "a\nb\n");
}

static void test_delimiters_set_in_a_section_outlast_it(void **state)
{
	(void)state;
	expect_spec("{{#t}}{{=( )=}}(v)(/t)(v){{v}}", "{\"t\":true,\"v\":1}",
		    "11{{v}}");
}

static void test_bad_delimiters_are_a_syntax_error(void **state)
{
	(void)state;
	expect_syntax_error("x\n {{=<%=}}", 2, 2,
			    "bad delimiters '<%' (want two, without spaces "
			    "or '=')");
	expect_syntax_error("{{=a b c=}}", 1, 1,
			    "bad delimiters 'a b c' (want two, without "
			    "spaces or '=')");
	expect_syntax_error("{{= =}}", 1, 1,
			    "bad delimiters ' ' (want two, without spaces or "
			    "'=')");
	expect_syntax_error("{{=<= =>=}}", 1, 1,
			    "bad delimiters '<= =>' (want two, without "
			    "spaces or '=')");
	expect_syntax_error("{{=<% %>}}", 1, 1, "unclosed tag (no '=}}')");
}

/* ---- shell escaping ------------------------------------------------------ */

static void test_shell_quote_escapes_single_quotes(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(template_shell_quote(&out, "it's", 4), 0);
	assert_string_equal(out.data, "'it'\\''s'");
	buf_reset(&out);
	assert_int_equal(template_shell_quote(&out, "''", 2), 0);
	assert_string_equal(out.data, "''\\'''\\'''");
	buf_reset(&out);
	assert_int_equal(template_shell_quote(&out, "", 0), 0);
	assert_string_equal(out.data, "''");
	buf_free(&out);
}

static void test_shell_escape_keeps_command_substitution_literal(void **state)
{
	struct template_opts o = shell_opts();

	(void)state;
	expect_render("echo {{x}}", "{\"x\":\"$(touch /tmp/pwned)\"}", &o,
		      "echo '$(touch /tmp/pwned)'");
	expect_render("echo {{x}}", "{\"x\":\"`id`; rm -rf ~\"}", &o,
		      "echo '`id`; rm -rf ~'");
}

/* Run the rendered command through sh: the value comes back unchanged. */
static void test_shell_escaped_value_reaches_sh_as_one_word(void **state)
{
	static const char value[] = "a b\n'q' \"dq\" $HOME `echo x` $(echo y) "
				    "\\ ; | & * ?";
	struct template_opts o = shell_opts();
	cJSON *data = cJSON_CreateObject();
	struct buf cmd = BUF_INIT, got = BUF_INIT;
	struct error err;
	char chunk[256];
	size_t n;
	FILE *f;

	(void)state;
	error_init(&err);
	cJSON_AddStringToObject(data, "v", value);
	assert_int_equal(template_render_string("t", "printf '%s|' {{v}}", 18,
						data, &o, &cmd, &err),
			 0);
	f = popen(cmd.data, "r");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&got, chunk, n);
	assert_int_equal(pclose(f), 0);
	assert_int_equal(got.len, strlen(value) + 1);
	assert_memory_equal(got.data, value, strlen(value));
	assert_int_equal(got.data[got.len - 1], '|');
	buf_free(&cmd);
	buf_free(&got);
	cJSON_Delete(data);
}

static void test_shell_escape_quotes_every_value_kind(void **state)
{
	struct template_opts o = shell_opts();

	(void)state;
	expect_render("{{n}} {{b}} {{z}} {{m}} {{e}} {{.}}",
		      "{\"n\":8080,\"b\":true,\"z\":null,\"e\":\"\"}", &o,
		      "'8080' 'true' '' '' '' ''");
}

static void test_triple_mustache_is_raw_in_shell_mode(void **state)
{
	struct template_opts o = shell_opts();

	(void)state;
	expect_render("{{{c}}} {{&c}} {{c}}", "{\"c\":\"a b\"}", &o,
		      "a b a b 'a b'");
}

static void test_shell_escape_in_indented_partial(void **state)
{
	static const struct partial_def p[] = {
		{ "cmd", "run {{arg}}\n{{arg}}\n", NULL },
		{ 0 },
	};
	struct template_opts o = shell_opts();

	(void)state;
	o.partial = partial_from_table;
	o.partial_ctx = (void *)p;
	expect_render("  {{>cmd}}\n", "{\"arg\":\"x\\ny\"}", &o,
		      "  run 'x\ny'\n  'x\ny'\n");
}

/* ---- strict mode --------------------------------------------------------- */

static void
test_missing_variable_error_names_file_line_and_variable(void **state)
{
	struct template_opts o = strict_opts(NULL);
	struct buf out = BUF_INIT;
	struct error err;
	char msg[600];
	cJSON *data = json("{\"a\":{}}");

	(void)state;
	error_init(&err);
	assert_int_equal(template_render_string("deploy.conf",
						"line one\nport {{ a.b }}\n",
						24, data, &o, &out, &err),
			 DEPLOY_ERR_TEMPLATE);
	error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "deploy.conf:2:6: missing variable 'a.b'");
	buf_free(&out);
	error_clear(&err);
	cJSON_Delete(data);
}

static void test_missing_section_name_is_an_error_in_strict_mode(void **state)
{
	struct template_opts o = strict_opts(NULL);

	(void)state;
	expect_error("\n\t{{#tls}}x{{/tls}}", "{}", &o, DEPLOY_ERR_TEMPLATE,
		     "test.mustache", 2, 2, "missing variable 'tls'");
	expect_error("{{^a.tls}}x{{/a.tls}}", "{\"a\":1}", &o,
		     DEPLOY_ERR_TEMPLATE, "test.mustache", 1, 1,
		     "missing variable 'a.tls'");
}

static void test_strict_mode_accepts_null_and_false(void **state)
{
	struct template_opts o = strict_opts(NULL);

	(void)state;
	expect_render("[{{n}}{{#n}}x{{/n}}{{^f}}off{{/f}}]",
		      "{\"n\":null,\"f\":false}", &o, "[off]");
}

static void test_object_interpolation_is_an_error_in_strict_mode(void **state)
{
	struct template_opts o = strict_opts(NULL);

	(void)state;
	expect_error("x {{srv}}", "{\"srv\":{\"a\":1}}", &o,
		     DEPLOY_ERR_TEMPLATE, "test.mustache", 1, 3,
		     "variable 'srv' is an object, not a value");
	expect_error("{{#l}}\n{{{.}}}{{/l}}", "{\"l\":[[1]]}", &o,
		     DEPLOY_ERR_TEMPLATE, "test.mustache", 2, 1,
		     "variable '.' is an array, not a value");
}

/* ---- syntax errors ------------------------------------------------------- */

static void test_unclosed_tag_is_a_syntax_error_at_its_tag(void **state)
{
	(void)state;
	expect_syntax_error("ab\n  {{name", 2, 3, "unclosed tag (no '}}')");
	expect_syntax_error("{{{raw}}", 1, 1, "unclosed tag (no '}}}')");
	expect_syntax_error("x{{", 1, 2, "unclosed tag (no '}}')");
}

static void test_unclosed_section_is_a_syntax_error_at_its_tag(void **state)
{
	(void)state;
	expect_syntax_error("x\n {{#outer}}\n{{#in}}{{/in}}\n", 2, 2,
			    "unclosed section 'outer'");
	expect_syntax_error("{{#a}}{{^b}}", 1, 7, "unclosed section 'b'");
}

static void test_mismatched_closing_tag_names_both_sections(void **state)
{
	(void)state;
	expect_syntax_error("{{#a}}\n  {{/b}}", 2, 3,
			    "section 'a' closed by 'b'");
}

static void test_closing_tag_without_section_is_a_syntax_error(void **state)
{
	(void)state;
	expect_syntax_error("a {{/a}}", 1, 3,
			    "closing tag 'a' without an open section");
}

static void test_empty_tag_name_is_a_syntax_error(void **state)
{
	(void)state;
	expect_syntax_error("{{}}", 1, 1, "empty tag name");
	expect_syntax_error("a\n{{ }}", 2, 1, "empty tag name");
	expect_syntax_error("{{#}}{{/}}", 1, 1, "empty tag name");
	expect_syntax_error("{{{}}}", 1, 1, "empty tag name");
	expect_syntax_error("{{>  }}", 1, 1, "empty tag name");
	expect_syntax_error("{{&}}", 1, 1, "empty tag name");
}

static void test_bad_tag_names_are_syntax_errors(void **state)
{
	(void)state;
	expect_syntax_error("{{a b}}", 1, 1, "bad tag name 'a b'");
	expect_syntax_error("{{a..b}}", 1, 1, "bad variable name 'a..b'");
	expect_syntax_error("{{#.a}}{{/.a}}", 1, 1, "bad variable name '.a'");
	expect_syntax_error("{{a.}}", 1, 1, "bad variable name 'a.'");
}

static void test_inheritance_tags_are_syntax_errors(void **state)
{
	(void)state;
	expect_syntax_error("{{<base}}{{/base}}", 1, 1,
			    "unsupported tag '<' (template inheritance)");
	expect_syntax_error(" {{$b}}{{/b}}", 1, 2,
			    "unsupported tag '$' (template inheritance)");
}

static void test_section_nesting_depth_is_bounded(void **state)
{
	struct buf tpl = BUF_INIT;
	struct template *t = NULL;
	struct error err;
	int i;

	(void)state;
	error_init(&err);
	for (i = 0; i < 100; i++)
		buf_adds(&tpl, "{{#a}}");
	for (i = 0; i < 100; i++)
		buf_adds(&tpl, "{{/a}}");
	assert_int_equal(template_parse("n", tpl.data, tpl.len, &t, &err), 0);
	template_free(t);

	buf_reset(&tpl);
	for (i = 0; i < 101; i++)
		buf_adds(&tpl, "{{#a}}");
	expect_syntax_error(tpl.data, 1, 601,
			    "sections nested deeper than 100");
	buf_free(&tpl);
	error_clear(&err);
}

/* ---- render limits ------------------------------------------------------- */

static void test_combined_section_and_partial_depth_is_bounded(void **state)
{
	static const struct partial_def p[] = {
		{ "deep",
		  "{{#t}}{{#t}}{{#t}}{{#t}}{{#t}}{{>deep}}"
		  "{{/t}}{{/t}}{{/t}}{{/t}}{{/t}}",
		  NULL },
		{ 0 },
	};
	struct template_opts o = spec_opts(p);

	(void)state;
	expect_error("{{>deep}}", "{\"t\":true}", &o, DEPLOY_ERR_TEMPLATE,
		     "deep", 1, 19,
		     "sections and partials nested deeper than 400");
}

static void test_exponential_rendering_stops_with_an_error(void **state)
{
	(void)state;
	/* 16^7 iterations: far more work than a real template needs */
	expect_error("{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}"
		     "{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}",
		     "{\"l\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}", NULL,
		     DEPLOY_ERR_TEMPLATE, "test.mustache", 1, 37,
		     "rendering takes more than 16777216 steps (runaway "
		     "lists or partials?)");
}

static void test_output_size_cap_is_reported(void **state)
{
	struct template_opts o = strict_opts(NULL);
	cJSON *data = json("{\"v\":\"0123456789\"}");
	struct buf out;
	struct error err;

	(void)state;
	error_init(&err);
	buf_init(&out, 8);
	assert_int_equal(template_render_string("cap", "ab\n{{v}}", 8, data, &o,
						&out, &err),
			 DEPLOY_ERR_TOO_BIG);
	assert_string_equal(err.msg, "output larger than 8 bytes");
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 1);
	assert_string_equal(out.data, "ab\n");
	buf_free(&out);
	error_clear(&err);
	cJSON_Delete(data);
}

/* ---- the API ------------------------------------------------------------- */

static void test_parsed_template_renders_many_times(void **state)
{
	struct template_opts o = strict_opts(NULL);
	struct template *t = NULL;
	struct buf out = BUF_INIT;
	struct error err;
	cJSON *one = json("{\"n\":1}"), *two = json("{\"n\":2}");

	(void)state;
	error_init(&err);
	assert_int_equal(template_parse("t", "n={{n}};", 8, &t, &err), 0);
	assert_int_equal(template_render(t, one, &o, &out, &err), 0);
	assert_int_equal(template_render(t, two, &o, &out, &err), 0);
	assert_int_equal(template_render(t, one, &o, &out, &err), 0);
	assert_string_equal(out.data, "n=1;n=2;n=1;");
	template_free(t);
	buf_free(&out);
	error_clear(&err);
	cJSON_Delete(one);
	cJSON_Delete(two);
}

static void test_template_text_need_not_be_nul_terminated(void **state)
{
	static const char text[] = { 'a', '{', '{', 'x', '}', '}', '{', '{' };
	struct template_opts o = spec_opts(NULL);
	cJSON *data = json("{\"x\":\"-\"}");
	struct buf out = BUF_INIT;
	struct error err;

	(void)state;
	error_init(&err);
	assert_int_equal(
		template_render_string("t", text, 6, data, &o, &out, &err), 0);
	assert_string_equal(out.data, "a-");
	buf_free(&out);
	error_clear(&err);
	cJSON_Delete(data);
}

static void test_default_options_are_strict_and_unescaped(void **state)
{
	(void)state;
	expect_render("{{v}}", "{\"v\":\"<&>\"}", NULL, "<&>");
	expect_error("{{w}}", "{}", NULL, DEPLOY_ERR_TEMPLATE, "test.mustache",
		     1, 1, "missing variable 'w'");
}

static void test_free_accepts_null(void **state)
{
	(void)state;
	template_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_without_tags_is_copied_verbatim),
		cmocka_unit_test(test_variable_is_interpolated),
		cmocka_unit_test(test_interpolated_value_is_not_reinterpolated),
		cmocka_unit_test(test_html_escape_escapes_amp_lt_gt_quote),
		cmocka_unit_test(
			test_triple_mustache_and_ampersand_are_raw_in_html_mode),
		cmocka_unit_test(test_escape_none_writes_values_as_they_are),
		cmocka_unit_test(test_integers_interpolate_without_decimals),
		cmocka_unit_test(
			test_decimals_interpolate_in_shortest_round_trip_form),
		cmocka_unit_test(test_booleans_interpolate_as_true_and_false),
		cmocka_unit_test(test_null_interpolates_empty),
		cmocka_unit_test(
			test_missing_variable_renders_empty_in_spec_mode),
		cmocka_unit_test(
			test_object_and_array_interpolate_empty_in_spec_mode),
		cmocka_unit_test(test_tag_padding_is_ignored),
		cmocka_unit_test(
			test_variable_tag_alone_on_a_line_keeps_the_line),
		cmocka_unit_test(test_dotted_name_walks_nested_objects),
		cmocka_unit_test(
			test_dotted_name_resolves_first_part_up_the_stack),
		cmocka_unit_test(
			test_dotted_name_rest_resolves_only_inside_first_part),
		cmocka_unit_test(test_dotted_name_broken_chain_renders_empty),
		cmocka_unit_test(test_dotted_name_is_never_a_single_key),
		cmocka_unit_test(test_names_are_case_sensitive),
		cmocka_unit_test(
			test_implicit_iterator_interpolates_current_item),
		cmocka_unit_test(test_implicit_iterator_on_root_list),
		cmocka_unit_test(test_section_iterates_list_items_as_context),
		cmocka_unit_test(test_section_pushes_object_as_context),
		cmocka_unit_test(test_empty_object_section_renders_once),
		cmocka_unit_test(
			test_section_renders_truthy_scalar_once_as_context),
		cmocka_unit_test(
			test_section_skips_false_null_missing_and_empty_list),
		cmocka_unit_test(test_nested_sections_see_outer_contexts),
		cmocka_unit_test(test_section_with_dotted_name),
		cmocka_unit_test(
			test_inverted_section_renders_for_falsey_values_only),
		cmocka_unit_test(
			test_inverted_section_keeps_the_current_context),
		cmocka_unit_test(test_comment_renders_nothing),
		cmocka_unit_test(test_standalone_comment_line_is_removed),
		cmocka_unit_test(
			test_standalone_section_line_is_removed_with_crlf),
		cmocka_unit_test(test_indented_standalone_tags_are_removed),
		cmocka_unit_test(
			test_standalone_tag_needs_no_newline_before_or_after),
		cmocka_unit_test(test_two_tags_on_one_line_are_not_standalone),
		cmocka_unit_test(test_lone_cr_is_not_a_line_ending),
		cmocka_unit_test(test_partial_renders_in_current_context),
		cmocka_unit_test(
			test_missing_partial_renders_empty_in_spec_mode),
		cmocka_unit_test(
			test_missing_partial_is_an_error_in_strict_mode),
		cmocka_unit_test(
			test_no_partial_callback_means_missing_partial),
		cmocka_unit_test(test_standalone_partial_indents_each_line),
		cmocka_unit_test(
			test_nested_standalone_partials_accumulate_indent),
		cmocka_unit_test(
			test_partial_indentation_skips_lines_inside_values),
		cmocka_unit_test(test_inline_partial_is_not_indented),
		cmocka_unit_test(
			test_standalone_partial_line_with_crlf_is_replaced),
		cmocka_unit_test(test_partial_recursion_renders_a_tree),
		cmocka_unit_test(test_partial_recursion_is_bounded),
		cmocka_unit_test(test_partial_delimiters_do_not_leak),
		cmocka_unit_test(
			test_error_inside_partial_names_partial_origin_and_line),
		cmocka_unit_test(
			test_syntax_error_in_partial_names_the_partial),
		cmocka_unit_test(test_partial_loader_error_is_passed_through),
		cmocka_unit_test(test_partial_is_loaded_once_per_render),
		cmocka_unit_test(test_set_delimiters_changes_every_tag_kind),
		cmocka_unit_test(test_set_delimiters_allows_padding_and_resets),
		cmocka_unit_test(test_standalone_delimiter_line_is_removed),
		cmocka_unit_test(test_delimiters_set_in_a_section_outlast_it),
		cmocka_unit_test(test_bad_delimiters_are_a_syntax_error),
		cmocka_unit_test(test_shell_quote_escapes_single_quotes),
		cmocka_unit_test(
			test_shell_escape_keeps_command_substitution_literal),
		cmocka_unit_test(
			test_shell_escaped_value_reaches_sh_as_one_word),
		cmocka_unit_test(test_shell_escape_quotes_every_value_kind),
		cmocka_unit_test(test_triple_mustache_is_raw_in_shell_mode),
		cmocka_unit_test(test_shell_escape_in_indented_partial),
		cmocka_unit_test(
			test_missing_variable_error_names_file_line_and_variable),
		cmocka_unit_test(
			test_missing_section_name_is_an_error_in_strict_mode),
		cmocka_unit_test(test_strict_mode_accepts_null_and_false),
		cmocka_unit_test(
			test_object_interpolation_is_an_error_in_strict_mode),
		cmocka_unit_test(
			test_unclosed_tag_is_a_syntax_error_at_its_tag),
		cmocka_unit_test(
			test_unclosed_section_is_a_syntax_error_at_its_tag),
		cmocka_unit_test(
			test_mismatched_closing_tag_names_both_sections),
		cmocka_unit_test(
			test_closing_tag_without_section_is_a_syntax_error),
		cmocka_unit_test(test_empty_tag_name_is_a_syntax_error),
		cmocka_unit_test(test_bad_tag_names_are_syntax_errors),
		cmocka_unit_test(test_inheritance_tags_are_syntax_errors),
		cmocka_unit_test(test_section_nesting_depth_is_bounded),
		cmocka_unit_test(
			test_combined_section_and_partial_depth_is_bounded),
		cmocka_unit_test(
			test_exponential_rendering_stops_with_an_error),
		cmocka_unit_test(test_output_size_cap_is_reported),
		cmocka_unit_test(test_parsed_template_renders_many_times),
		cmocka_unit_test(test_template_text_need_not_be_nul_terminated),
		cmocka_unit_test(test_default_options_are_strict_and_unescaped),
		cmocka_unit_test(test_free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
