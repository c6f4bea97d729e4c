/* SPDX-License-Identifier: MIT */
/* playbook loading: step kinds, handlers, values, templates, when:. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbook/playbook.h"
#include "playbook/values.h"
#include "util/buf.h"
#include "util/path.h"

struct result {
	struct playbook *pb;
	struct diag_list dl;
	struct error err;
	int rc;
};

static void load(struct result *r, const char *text)
{
	diag_list_init(&r->dl);
	error_init(&r->err);
	r->rc = playbook_parse("pb.yml", text, strlen(text),
			       getenv("DEPLOY_SRCDIR"), &r->pb, &r->dl,
			       &r->err);
}

static void done(struct result *r)
{
	playbook_free(r->pb);
	diag_list_free(&r->dl);
	error_clear(&r->err);
}

static void dump(const struct result *r)
{
	for (size_t i = 0; i < r->dl.nr; i++)
		fprintf(stderr, "  have %s:%d:%d: %s\n", r->dl.items[i].file,
			r->dl.items[i].line, r->dl.items[i].col,
			r->dl.items[i].msg);
}

/* The error at line:col must say msg, in file pb.yml. */
static void expect_error(const struct result *r, int line, int col,
			 const char *msg)
{
	for (size_t i = 0; i < r->dl.nr; i++) {
		const struct diag *d = &r->dl.items[i];

		if (d->line != line || d->col != col || strcmp(d->msg, msg))
			continue;
		assert_int_equal(d->level, DIAG_ERROR);
		assert_string_equal(d->file, "pb.yml");
		return;
	}
	dump(r);
	fail_msg("no error at %d:%d: %s", line, col, msg);
}

static void expect_only_error(const struct result *r, int line, int col,
			      const char *msg)
{
	if (r->dl.nr != 1)
		dump(r);
	assert_int_equal(r->rc, DEPLOY_ERR_INVALID);
	assert_int_equal(r->dl.nr, 1);
	expect_error(r, line, col, msg);
}

static void test_a_playbook_loads_with_its_steps_and_handlers(void **state)
{
	struct result r;
	const struct step *s;

	(void)state;
	load(&r, "name: web\n"
		 "description: a web server\n"
		 "vars: {port: 8080}\n"
		 "steps:\n"
		 "  - name: nginx\n"
		 "    apt: {packages: [nginx]}\n"
		 "  - file: {path: /etc/nginx/x.conf, content: \"x\\n\"}\n"
		 "    notify: Reload NGINX now\n"
		 "    when: [web, \"role.name != 'db'\"]\n"
		 "handlers:\n"
		 "  - name: Reload NGINX now\n"
		 "    service: {name: nginx, state: reloaded}\n");
	dump(&r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.pb->name, "web");
	assert_string_equal(r.pb->description, "a web server");
	assert_non_null(r.pb->vars);
	assert_int_equal(r.pb->nr_steps, 2);
	assert_int_equal(r.pb->nr_handlers, 1);
	s = &r.pb->steps[0];
	assert_int_equal(s->kind, STEP_APT);
	assert_string_equal(s->name, "nginx");
	assert_string_equal(s->what, "steps[0]");
	s = &r.pb->steps[1];
	assert_int_equal(s->kind, STEP_FILE);
	assert_null(s->name);
	assert_int_equal(s->nr_notify, 1);
	assert_int_equal(s->notify[0], 0);
	assert_int_equal(s->nr_when, 2);
	assert_string_equal(s->when[0].path, "vars.web");
	assert_int_equal(s->when[1].op, WHEN_NE);
	assert_string_equal(s->when[1].path, "role.name");
	assert_string_equal(s->when[1].value, "db");
	assert_string_equal(r.pb->handlers[0].flag, "web.reload-nginx-now");
	assert_string_equal(r.pb->dir, ".");
	done(&r);
}

static void test_unknown_keys_say_did_you_mean_at_their_position(void **state)
{
	struct result r;

	(void)state;
	load(&r, "name: web\n"
		 "steps:\n"
		 "  - name: a\n"
		 "    file: {path: /x, contnet: y}\n");
	expect_only_error(&r, 4, 22,
			  "unknown key 'contnet' in steps[0].file (did you "
			  "mean 'content'?)");
	done(&r);

	load(&r, "name: web\nsteps:\n  - fiel: {path: /x}\n");
	expect_only_error(&r, 3, 5,
			  "unknown key 'fiel' in steps[0] (did you mean "
			  "'file'?)");
	done(&r);

	load(&r, "name: web\nsetps: []\n");
	expect_error(&r, 2, 1,
		     "unknown key 'setps' at the top level (did you mean "
		     "'steps'?)");
	expect_error(&r, 1, 1,
		     "missing key 'steps' at the top level (e.g. 'steps: "
		     "[{name: ..., file: {...}}]')");
	done(&r);
}

static void test_a_step_has_exactly_one_kind(void **state)
{
	struct result r;

	(void)state;
	load(&r, "name: web\n"
		 "steps:\n"
		 "  - name: two\n"
		 "    shell: echo a\n"
		 "    command: echo b\n");
	expect_only_error(&r, 5, 5,
			  "steps[0] has two kinds, 'shell' and 'command': a "
			  "step does one thing; split it in two");
	done(&r);

	load(&r, "name: web\nsteps:\n  - name: none\n");
	expect_only_error(&r, 3, 5,
			  "steps[0] has no kind: add one of file, directory, "
			  "line, apt, service, user, sysctl, download, shell, "
			  "command, wait, artifact, docker_image, mount");
	done(&r);

	load(&r, "name: web\nsteps:\n  - shell\n");
	expect_only_error(&r, 3, 5,
			  "steps[0] must be a mapping such as '{name: ..., "
			  "file: {...}}', not a string");
	done(&r);
}

static void test_notify_names_an_existing_handler(void **state)
{
	struct result r;

	(void)state;
	load(&r, "name: web\n"
		 "steps:\n"
		 "  - shell: echo\n"
		 "    notify: [restart ngnix]\n"
		 "handlers:\n"
		 "  - name: restart nginx\n"
		 "    service: {name: nginx, state: restarted}\n");
	expect_only_error(&r, 4, 14,
			  "steps[0].notify: no handler named 'restart ngnix' "
			  "(did you mean 'restart nginx'?)");
	done(&r);

	load(&r, "name: web\nsteps:\n  - shell: echo\n    notify: x\n");
	expect_only_error(&r, 4, 13,
			  "steps[0].notify: no handler named 'x' (the playbook "
			  "has no 'handlers')");
	done(&r);

	load(&r, "name: web\n"
		 "steps: []\n"
		 "handlers:\n"
		 "  - name: Restart app\n"
		 "    shell: a\n"
		 "  - name: restart  app!\n"
		 "    shell: b\n"
		 "    notify: x\n"
		 "  - shell: c\n");
	expect_error(&r, 6, 11,
		     "handlers[1]: handler names 'Restart app' and 'restart  "
		     "app!' are too alike (both notify 'web.restart-app'); "
		     "rename one");
	expect_error(&r, 8, 5,
		     "handlers[1]: a handler cannot notify other handlers; "
		     "give the step that notifies it both names");
	expect_error(&r, 9, 5,
		     "missing key 'name' in handlers[2] (e.g. 'name: reload "
		     "nginx'): steps notify a handler by its name");
	done(&r);
}

static void test_values_without_tags_are_checked_at_load(void **state)
{
	struct result r;

	(void)state;
	load(&r, "name: web\n"
		 "steps:\n"
		 "  - file: {path: etc/x, content: a, mode: 0648}\n"
		 "  - apt: {packages: [nginx=1.2, Bad]}\n"
		 "  - line: {path: /x, line: a, regexp: '(a'}\n"
		 "  - download: {url: ftp://x, sha256: abc, dest: /x}\n"
		 "  - service: {name: nginx}\n"
		 "  - wait: {port: 70000, url: 'http://x/'}\n"
		 "  - user: {name: Admin}\n");
	expect_error(&r, 3, 18,
		     "steps[0].file.path 'etc/x' must be an "
		     "absolute path");
	expect_error(&r, 3, 43,
		     "steps[0].file.mode '0648' is not an octal mode such as "
		     "\"0644\" or \"0755\"");
	expect_error(&r, 4, 22,
		     "steps[1].apt.packages[0] 'nginx=1.2': version pins are "
		     "not supported; name the package alone");
	expect_error(&r, 4, 33,
		     "steps[1].apt.packages[1] 'Bad' is not a Debian package "
		     "name");
	expect_error(&r, 5, 39,
		     "steps[2].line.regexp '(a' is not a POSIX extended "
		     "regular expression: Unmatched ( or \\(");
	expect_error(&r, 6, 21,
		     "steps[3].download.url 'ftp://x' is not an http:// or "
		     "https:// URL");
	expect_error(&r, 6, 38,
		     "steps[3].download.sha256 'abc' is not a SHA-256 digest "
		     "(64 hex digits)");
	expect_error(&r, 7, 14,
		     "steps[4].service does nothing: add 'enabled', 'state' "
		     "or 'daemon_reload'");
	expect_error(&r, 8, 18,
		     "steps[5].wait.port must be from 1 to 65535, "
		     "not 70000");
	expect_error(&r, 8, 11,
		     "steps[5].wait needs exactly one of 'port' (TCP), 'url' "
		     "(HTTP) and 'command'");
	expect_error(&r, 9, 18,
		     "steps[6].user.name 'Admin' is not a user name: "
		     "lowercase letters, digits, '_' and '-', starting with a "
		     "letter or '_'");
	assert_int_equal(r.dl.nr, 11);
	done(&r);
}

static void test_file_needs_exactly_one_source(void **state)
{
	struct result r;

	(void)state;
	load(&r, "name: web\n"
		 "steps:\n"
		 "  - file: {path: /x, content: a, src: b}\n"
		 "  - file: {path: /y}\n"
		 "  - file: {path: /z, state: absent, content: a}\n");
	expect_error(&r, 3, 34,
		     "steps[0].file has both 'content' and 'src': give exactly "
		     "one of content, template, src and secret");
	expect_error(&r, 3, 39,
		     "steps[0].file.src: no such file 'b' (paths are relative "
		     "to the playbook)");
	expect_error(&r, 4, 11,
		     "steps[1].file needs one of 'content', 'template', 'src' "
		     "or 'secret' (or 'state: absent')");
	expect_error(&r, 5, 37,
		     "steps[2].file: 'content' makes no sense with 'state: "
		     "absent'");
	done(&r);
}

static void test_loop_and_item_are_checked_at_load(void **state)
{
	struct result r;

	(void)state;
	load(&r, "name: web\n"
		 "steps:\n"
		 "  - shell: x\n"
		 "    loop: 3\n"
		 "  - shell: x\n"
		 "    loop: \"files: {{vars.files}}\"\n"
		 "  - shell: x\n"
		 "    item: {required: [path]}\n"
		 "  - shell: x\n"
		 "    loop: \"{{ vars.files }}\"\n"
		 "    item: {required: [path], defaults: {path: /x},\n"
		 "           files: [tempalte], reqired: [a]}\n"
		 "handlers:\n"
		 "  - name: h\n"
		 "    shell: y\n"
		 "    loop: [a]\n");
	expect_error(&r, 4, 11,
		     "steps[0].loop must be a list or one variable such as "
		     "\"{{vars.files}}\" (nothing around it), not a number");
	expect_error(&r, 6, 11,
		     "steps[1].loop must be a list or one variable such as "
		     "\"{{vars.files}}\" (nothing around it), not a string");
	expect_error(&r, 8, 5,
		     "steps[2]: 'item' describes the items of a 'loop'; the "
		     "step has none");
	expect_error(&r, 11, 23,
		     "steps[3].item: 'path' is both required and given a "
		     "default; keep one");
	expect_error(&r, 12, 20,
		     "steps[3].item.files: 'tempalte' is not a key of the "
		     "item: name it under 'required' or 'defaults'");
	expect_error(&r, 12, 31,
		     "unknown key 'reqired' in steps[3].item (did you mean "
		     "'required'?)");
	expect_error(&r, 16, 5,
		     "handlers[0]: a handler runs once; loop in the step that "
		     "notifies it");
	assert_int_equal(r.rc, DEPLOY_ERR_INVALID);
	done(&r);

	load(&r, "name: web\n"
		 "steps:\n"
		 "  - shell: x\n"
		 "    loop: \"{{ vars.files }}\"\n"
		 "  - shell: x\n"
		 "    loop: [a, b]\n");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.pb->steps[0].loop_path, "vars.files");
	assert_null(r.pb->steps[1].loop_path);
	assert_int_equal(r.pb->steps[1].loop->nr, 2);
	done(&r);
}

static void test_templates_are_found_and_parsed_at_load(void **state)
{
	struct result r;

	(void)state;
	/* A built-in template is found by its name. */
	load(&r,
	     "name: web\n"
	     "steps:\n"
	     "  - file: {path: /x, template: sshd-hardening.conf.mustache}\n");
	dump(&r);
	assert_int_equal(r.rc, 0);
	done(&r);

	load(&r, "name: web\n"
		 "steps:\n"
		 "  - file: {path: /x, template: nope.mustache}\n");
	expect_only_error(&r, 3, 32,
			  "steps[0].file.template: no such file "
			  "'nope.mustache' (looked beside the playbook and in "
			  "the built-in templates)");
	done(&r);
}

static void test_template_tags_in_shell_code_must_stand_as_words(void **state)
{
	struct result r;

	(void)state;
	load(&r, "name: web\n"
		 "steps:\n"
		 "  - shell: echo \"{{vars.x}}\"\n"
		 "  - shell: {cmd: \"echo '{{vars.x}}'\"}\n"
		 "  - shell: echo {{{vars.x}}}\n"
		 "  - shell: \"echo # {{vars.x}}\"\n"
		 "  - wait: {command: \"cat <<EOF\\n{{vars.x}}\\nEOF\"}\n"
		 "  - shell: \"echo {{vars.x}} && echo {{#vars.l}}{{.}} "
		 "{{/vars.l}}\"\n"
		 "  - command: \"echo $HOME\"\n");
	expect_error(&r, 3, 12,
		     "steps[0].shell: a template tag inside quotes: values "
		     "arrive quoted already; remove the quotes around it");
	expect_error(&r, 4, 18,
		     "steps[1].shell.cmd: a template tag inside quotes: values "
		     "arrive quoted already; remove the quotes around it");
	expect_error(&r, 5, 12,
		     "steps[2].shell: '{{{...}}}' and '{{&...}}' skip quoting "
		     "and cannot be used in shell code; write '{{name}}'");
	expect_error(&r, 6, 12,
		     "steps[3].shell: a template tag inside a comment: a value "
		     "with a newline would end it");
	expect_error(&r, 7, 21,
		     "steps[4].wait.command: a template tag after a "
		     "here-document ('<<'): values are not quoted there");
	expect_error(&r, 9, 14,
		     "steps[6].command: shell syntax ('|', '&', ';', '<', "
		     "'>', '$', '*', '#' ...) in a command: quote it, or use "
		     "a 'shell' step");
	assert_int_equal(r.dl.nr, 6);
	done(&r);
}

static void test_when_conditions_parse_or_say_why(void **state)
{
	struct when_expr w;
	const char *why = NULL;

	(void)state;
	assert_int_equal(when_parse("docker", &w, &why), 0);
	assert_int_equal(w.op, WHEN_TRUTHY);
	assert_string_equal(w.path, "vars.docker");
	when_clear(&w);
	assert_int_equal(when_parse(" not  role.is_bastion ", &w, &why), 0);
	assert_int_equal(w.op, WHEN_NOT);
	assert_string_equal(w.path, "role.is_bastion");
	when_clear(&w);
	assert_int_equal(when_parse("chain == 'icon'", &w, &why), 0);
	assert_int_equal(w.op, WHEN_EQ);
	assert_string_equal(w.value, "icon");
	when_clear(&w);
	assert_int_equal(when_parse("net!=\"main net\"", &w, &why), 0);
	assert_int_equal(w.op, WHEN_NE);
	assert_string_equal(w.value, "main net");
	when_clear(&w);
	assert_int_equal(when_parse("v == 1.2", &w, &why), 0);
	assert_string_equal(w.value, "1.2");
	when_clear(&w);

	assert_int_equal(when_parse("a and b", &w, &why), DEPLOY_ERR_SYNTAX);
	assert_non_null(strstr(why, "give a list of conditions"));
	assert_int_equal(when_parse("not a == 'b'", &w, &why),
			 DEPLOY_ERR_SYNTAX);
	assert_int_equal(when_parse("a == 'b", &w, &why), DEPLOY_ERR_SYNTAX);
	assert_int_equal(when_parse("1a", &w, &why), DEPLOY_ERR_SYNTAX);
	assert_int_equal(when_parse("", &w, &why), DEPLOY_ERR_SYNTAX);
	assert_int_equal(when_parse("a.", &w, &why), DEPLOY_ERR_SYNTAX);
}

static bool eval(const char *expr, const char *json, int *rc)
{
	struct when_expr w;
	const char *why;
	struct error err;
	cJSON *data = cJSON_Parse(json);
	bool out = false;

	error_init(&err);
	assert_int_equal(when_parse(expr, &w, &why), 0);
	*rc = when_eval(&w, data, &out, &err);
	when_clear(&w);
	error_clear(&err);
	cJSON_Delete(data);
	return out;
}

static void test_when_evaluates_against_the_host_data(void **state)
{
	const char *d = "{\"vars\": {\"on\": true, \"off\": false, \"zero\": 0,"
			" \"empty\": \"\", \"list\": [], \"n\": 3, \"s\": "
			"\"icon\", \"nul\": null, \"m\": {\"k\": \"v\"}},"
			" \"role\": {\"name\": \"sentry\"}}";
	struct when_expr w;
	struct error err;
	const char *why;
	bool out;
	int rc;

	(void)state;
	assert_true(eval("on", d, &rc));
	assert_false(eval("off", d, &rc));
	assert_false(eval("zero", d, &rc));
	assert_false(eval("empty", d, &rc));
	assert_false(eval("list", d, &rc));
	assert_false(eval("nul", d, &rc));
	assert_true(eval("not off", d, &rc));
	assert_true(eval("n == 3", d, &rc));
	assert_true(eval("s == 'icon'", d, &rc));
	assert_true(eval("s != 'near'", d, &rc));
	assert_true(eval("on == true", d, &rc));
	assert_true(eval("role.name == sentry", d, &rc));
	assert_true(eval("vars.m.k == 'v'", d, &rc));
	assert_int_equal(rc, 0);

	eval("m == 'x'", d, &rc);
	assert_int_equal(rc, DEPLOY_ERR_INVALID);
	cJSON *data = cJSON_Parse(d);
	error_init(&err);
	assert_int_equal(when_parse("dokcer", &w, &why), 0);
	assert_int_equal(when_eval(&w, data, &out, &err), DEPLOY_ERR_INVALID);
	assert_string_equal(err.msg,
			    "when: variable 'dokcer' is not defined (give it a "
			    "default under the playbook's 'vars')");
	when_clear(&w);
	error_clear(&err);
	cJSON_Delete(data);
}

static void test_when_errors_point_at_the_condition(void **state)
{
	struct result r;

	(void)state;
	load(&r, "name: web\n"
		 "steps:\n"
		 "  - shell: a\n"
		 "    when: [ok, \"x = 1\"]\n");
	expect_only_error(
		&r, 4, 16,
		"steps[0].when[1] 'x = 1': expected NAME, 'not NAME', "
		"NAME == 'value' or NAME != 'value' (no 'and' or "
		"'or': give a list of conditions, all of which must "
		"hold)");
	done(&r);
}

static void test_value_checks(void **state)
{
	unsigned m = 1;

	(void)state;
	assert_int_equal(val_parse_mode("644", &m), 0);
	assert_int_equal(m, 0644);
	assert_int_equal(val_parse_mode("0o750", &m), 0);
	assert_int_equal(m, 0750);
	assert_int_equal(val_parse_mode("04755", &m), 0);
	assert_int_equal(m, 04755);
	assert_int_equal(val_parse_mode("0888", &m), -1);
	assert_int_equal(val_parse_mode("12345", &m), -1);
	assert_int_equal(val_parse_mode("64", &m), -1);
	assert_true(val_is_package("libssl3"));
	assert_true(val_is_package("g++"));
	assert_true(val_is_package("libc6:amd64"));
	assert_false(val_is_package("-rf"));
	assert_false(val_is_package("a b"));
	assert_true(val_is_unit("systemd-timesyncd.service"));
	assert_true(val_is_unit("getty@tty1"));
	assert_false(val_is_unit("--now"));
	assert_true(val_is_sysctl_key("net.ipv4.conf.all.rp_filter"));
	assert_false(val_is_sysctl_key("a b"));
	assert_true(val_is_user("_deploy-1"));
	assert_false(val_is_user("root;"));
}

static void test_command_lines_split_into_words_keeping_tags(void **state)
{
	char **argv;
	size_t argc;
	const char *why;

	(void)state;
	assert_int_equal(command_split("docker run --name {{ vars.name }} "
				       "'a b' \"c \\\"d\\\"\" e\\ f x={{y}}z",
				       &argv, &argc, &why),
			 0);
	assert_int_equal(argc, 8);
	assert_string_equal(argv[0], "docker");
	assert_string_equal(argv[3], "{{ vars.name }}");
	assert_string_equal(argv[4], "a b");
	assert_string_equal(argv[5], "c \"d\"");
	assert_string_equal(argv[6], "e f");
	assert_string_equal(argv[7], "x={{y}}z");
	command_argv_free(argv, argc);
	assert_int_equal(command_split("a x={{y}}z", &argv, &argc, &why), 0);
	assert_string_equal(argv[1], "x={{y}}z");
	command_argv_free(argv, argc);
	assert_int_equal(command_split("a 'b", &argv, &argc, &why), -1);
	assert_int_equal(command_split("a | b", &argv, &argc, &why), -1);
	assert_int_equal(command_split("  ", &argv, &argc, &why), -1);
	assert_int_equal(command_split("a {{b", &argv, &argc, &why), -1);
	assert_int_equal(command_split("echo a#b ~x", &argv, &argc, &why), -1);
}

static void test_shell_code_problems(void **state)
{
	(void)state;
	assert_null(shell_code_problem("echo {{x}} > {{y}}/z"));
	assert_null(shell_code_problem("echo 'lit' \"lit\" $(cat {{f}})"));
	assert_null(shell_code_problem("echo \"{{#on}}yes{{/on}}\" {{! c }}"));
	assert_null(shell_code_problem("a=b#c {{x}}"));
	assert_non_null(shell_code_problem("echo `{{x}}`"));
	assert_non_null(shell_code_problem("echo {{&x}}"));
	assert_non_null(shell_code_problem("echo {{=<% %>=}}"));
	assert_non_null(shell_code_problem("echo {{>p}}"));
	assert_non_null(shell_code_problem("echo 'a"));
	assert_non_null(shell_code_problem("echo {{x"));
	assert_non_null(shell_code_problem("x; # {{x}}"));
	assert_null(shell_code_problem("x; # c\necho {{x}}"));
}

/* ~/ is the home directory as everywhere in deploy (util/path.h), also
 * when HOME is unset: then the password database's. */
static void test_tilde_is_the_home_directory(void **state)
{
	char *saved = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	struct buf want = BUF_INIT;
	struct error err;
	char *path = NULL;

	(void)state;
	error_init(&err);
	setenv("HOME", "/home/op", 1);
	assert_int_equal(
		playbook_resolve("~/pb.yml", "/topo", NULL, &path, &err), 0);
	assert_string_equal(path, "/home/op/pb.yml");
	free(path);
	unsetenv("HOME");
	buf_addf(&want, "%s%spb.yml", home_dir(),
		 strcmp(home_dir(), "/") ? "/" : "");
	assert_int_equal(
		playbook_resolve("~/pb.yml", "/topo", NULL, &path, &err), 0);
	assert_string_equal(path, want.data);
	free(path);
	if (saved)
		setenv("HOME", saved, 1);
	free(saved);
	buf_free(&want);
	error_clear(&err);
}

static void test_resolving_playbook_names(void **state)
{
	const char *src = getenv("DEPLOY_SRCDIR");
	struct error err;
	struct buf want = BUF_INIT;
	char *path = NULL;

	(void)state;
	error_init(&err);
	assert_int_equal(playbook_resolve("harden", "/topo", src, &path, &err),
			 0);
	buf_addf(&want, "%s/playbooks/harden.yml", src);
	assert_string_equal(path, want.data);
	free(path);
	assert_int_equal(
		playbook_resolve("./ops/x.yml", "/topo", src, &path, &err), 0);
	assert_string_equal(path, "/topo/ops/x.yml");
	free(path);
	assert_int_equal(
		playbook_resolve("/abs.yml", "/topo", src, &path, &err), 0);
	assert_string_equal(path, "/abs.yml");
	free(path);
	assert_int_equal(playbook_resolve("hardne", "/topo", src, &path, &err),
			 DEPLOY_ERR_NOT_FOUND);
	assert_string_equal(err.msg, "unknown built-in playbook 'hardne' (did "
				     "you mean 'harden'?)");
	assert_int_equal(
		playbook_resolve("ops/node.yml", "/topo", src, &path, &err),
		DEPLOY_ERR_INVALID);
	assert_string_equal(err.msg,
			    "playbook 'ops/node.yml': source 'ops' was not "
			    "fetched");
	error_clear(&err);
	buf_free(&want);
}

static void test_source_playbooks_resolve_inside_the_source(void **state)
{
	char dir[] = "/tmp/test-playbook.XXXXXX";
	struct buf f = BUF_INIT;
	struct error err;
	char *path = NULL;
	FILE *fp;

	(void)state;
	error_init(&err);
	assert_non_null(mkdtemp(dir));
	buf_addf(&f, "%s/harden.yml", dir);
	fp = fopen(f.data, "w");
	assert_non_null(fp);
	fclose(fp);
	{
		const struct playbook_source srcs[] = { { "ops", dir } };

		/* PATH as written, or with .yml added */
		assert_int_equal(playbook_resolve_in("ops/harden.yml", "/t",
						     NULL, srcs, 1, &path,
						     &err),
				 0);
		assert_string_equal(path, f.data);
		free(path);
		assert_int_equal(playbook_resolve_in("ops/harden", "/t", NULL,
						     srcs, 1, &path, &err),
				 0);
		assert_string_equal(path, f.data);
		free(path);
		assert_int_equal(playbook_resolve_in("ops/node", "/t", NULL,
						     srcs, 1, &path, &err),
				 DEPLOY_ERR_NOT_FOUND);
		assert_string_equal(err.msg,
				    "playbook 'ops/node': source 'ops' has no "
				    "file 'node' (nor with .yml or .yaml)");
		assert_int_equal(playbook_resolve_in("ops/../../etc/x.yml",
						     "/t", NULL, srcs, 1, &path,
						     &err),
				 DEPLOY_ERR_INVALID);
		assert_string_equal(err.msg,
				    "playbook 'ops/../../etc/x.yml': the path "
				    "must stay inside the source (no '..')");
		assert_int_equal(playbook_resolve_in("tools/x", "/t", NULL,
						     srcs, 1, &path, &err),
				 DEPLOY_ERR_INVALID);
	}
	unlink(f.data);
	rmdir(dir);
	buf_free(&f);
	error_clear(&err);
}

static void test_builtin_playbooks_load(void **state)
{
	const char *names[] = { "harden", "firewall" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct buf path = BUF_INIT;
		struct playbook *pb = NULL;
		struct diag_list dl;
		struct error err;

		diag_list_init(&dl);
		error_init(&err);
		buf_addf(&path, "%s/playbooks/%s.yml", getenv("DEPLOY_SRCDIR"),
			 names[i]);
		if (playbook_load(path.data, getenv("DEPLOY_SRCDIR"), &pb, &dl,
				  &err))
			for (size_t j = 0; j < dl.nr; j++)
				fprintf(stderr, "%d:%d: %s\n", dl.items[j].line,
					dl.items[j].col, dl.items[j].msg);
		assert_non_null(pb);
		assert_string_equal(pb->name, names[i]);
		assert_true(pb->nr_steps > 0);
		playbook_free(pb);
		diag_list_free(&dl);
		error_clear(&err);
		buf_free(&path);
	}
}

/*
 * One list collects the problems of several playbooks (a run loads every
 * role's): a playbook is judged by its own errors, not by those before it.
 */
static void test_a_valid_playbook_after_a_bad_one_loads(void **state)
{
	const char *bad =
		"name: bad\nsteps:\n  - file: {path: etc/x, content: x}\n";
	const char *good =
		"name: good\nsteps:\n  - file: {path: /etc/x, content: x}\n";
	struct playbook *pb = NULL;
	struct diag_list dl;
	struct error err;

	(void)state;
	diag_list_init(&dl);
	error_init(&err);
	assert_int_equal(playbook_parse("bad.yml", bad, strlen(bad),
					getenv("DEPLOY_SRCDIR"), &pb, &dl,
					&err),
			 DEPLOY_ERR_INVALID);
	assert_null(pb);
	assert_int_equal(dl.errors, 1);
	assert_int_equal(playbook_parse("good.yml", good, strlen(good),
					getenv("DEPLOY_SRCDIR"), &pb, &dl,
					&err),
			 0);
	assert_non_null(pb);
	assert_string_equal(pb->name, "good");
	playbook_free(pb);
	pb = NULL;
	/* and a second bad one reports its own error, at its place */
	assert_int_equal(playbook_parse("bad2.yml", bad, strlen(bad),
					getenv("DEPLOY_SRCDIR"), &pb, &dl,
					&err),
			 DEPLOY_ERR_INVALID);
	assert_int_equal(dl.errors, 2);
	assert_string_equal(dl.items[1].file, "bad2.yml");
	assert_int_equal(dl.items[1].line, 3);
	assert_int_equal(dl.items[1].col, 18);
	diag_list_free(&dl);
	error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_a_playbook_loads_with_its_steps_and_handlers),
		cmocka_unit_test(
			test_unknown_keys_say_did_you_mean_at_their_position),
		cmocka_unit_test(test_a_step_has_exactly_one_kind),
		cmocka_unit_test(test_notify_names_an_existing_handler),
		cmocka_unit_test(test_values_without_tags_are_checked_at_load),
		cmocka_unit_test(test_file_needs_exactly_one_source),
		cmocka_unit_test(test_loop_and_item_are_checked_at_load),
		cmocka_unit_test(test_templates_are_found_and_parsed_at_load),
		cmocka_unit_test(
			test_template_tags_in_shell_code_must_stand_as_words),
		cmocka_unit_test(test_when_conditions_parse_or_say_why),
		cmocka_unit_test(test_when_evaluates_against_the_host_data),
		cmocka_unit_test(test_when_errors_point_at_the_condition),
		cmocka_unit_test(test_value_checks),
		cmocka_unit_test(
			test_command_lines_split_into_words_keeping_tags),
		cmocka_unit_test(test_shell_code_problems),
		cmocka_unit_test(test_resolving_playbook_names),
		cmocka_unit_test(test_tilde_is_the_home_directory),
		cmocka_unit_test(
			test_source_playbooks_resolve_inside_the_source),
		cmocka_unit_test(test_builtin_playbooks_load),
		cmocka_unit_test(test_a_valid_playbook_after_a_bad_one_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
