/* SPDX-License-Identifier: MIT */
/* playbook/compile: a host's playbooks as one script; markers. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/compile.h"
#include "playbook/context.h"
#include "playbook/playbook.h"
#include "topology/topology.h"
#include "util/buf.h"

#define TOPO                                                            \
	"version: 1\nname: t\nproviders: {ssh: {}}\n"                   \
	"ssh: {admin_cidrs: [203.0.113.7/32]}\n"                        \
	"vars:\n"                                                       \
	"  evil: \"$(touch /tmp/pwned) `id` it's \\\"q\\\"\\nline2\"\n" \
	"  words: \"two words\"\n"                                      \
	"  on: true\n"                                                  \
	"  mode: \"{{secrets.pw}}\"\n"                                  \
	"roles:\n  n: {hosts: [{name: h, address: 192.0.2.1}]}\n"

struct fixture {
	struct topology *t;
	struct host_context *ctx;
	struct playbook *pb[2];
	size_t nr;
	struct script *s;
	struct error err;
	int rc;
};

static void setup_topo(struct fixture *f, const char *topo,
		       const char *playbook);

static void setup(struct fixture *f, const char *playbook)
{
	setup_topo(f, TOPO, playbook);
}

static void setup_topo(struct fixture *f, const char *topo,
		       const char *playbook)
{
	static const struct secret_value secrets[] = {
		{ "pw", "s3cr3t-value", 12 },
	};
	struct context_input in = { .secrets = secrets, .nr_secrets = 1 };
	struct diag_list dl;

	memset(f, 0, sizeof(*f));
	diag_list_init(&dl);
	error_init(&f->err);
	assert_int_equal(topology_parse("t.yml", topo, strlen(topo), &f->t, &dl,
					&f->err),
			 0);
	assert_int_equal(context_build(f->t, topology_find_host(f->t, "h"), &in,
				       &f->ctx, &f->err),
			 0);
	if (playbook_parse("pb.yml", playbook, strlen(playbook), NULL,
			   &f->pb[0], &dl, &f->err))
		for (size_t i = 0; i < dl.nr; i++)
			fprintf(stderr, "%d:%d: %s\n", dl.items[i].line,
				dl.items[i].col, dl.items[i].msg);
	assert_non_null(f->pb[0]);
	f->nr = 1;
	diag_list_free(&dl);
}

static void compile(struct fixture *f)
{
	struct compile_opts o = { .nonce = "0123abcd",
				  .notify_dir = "/tmp/notify" };

	f->rc = compile_script(f->ctx, f->pb, f->nr, &o, &f->s, &f->err);
}

static void teardown(struct fixture *f)
{
	script_free(f->s);
	for (size_t i = 0; i < f->nr; i++)
		playbook_free(f->pb[i]);
	context_free(f->ctx);
	topology_free(f->t);
	error_clear(&f->err);
}

/* The script holds this line (a step's call) exactly. */
static void expect_line(const struct fixture *f, const char *line)
{
	const char *p = f->s->text.data;
	size_t n = strlen(line);

	while ((p = strstr(p, line))) {
		if ((p == f->s->text.data || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fprintf(stderr, "%s\n", strstr(f->s->text.data, "_dp_main() {"));
	fail_msg("no line: %s", line);
}

static void test_hostile_values_reach_the_shell_as_one_quoted_word(void **s)
{
	struct fixture f;

	(void)s;
	setup(&f, "name: p\nvars: {off: false}\nsteps:\n"
		  "  - name: say\n"
		  "    shell: echo {{vars.evil}} > /tmp/x\n"
		  "  - name: run\n"
		  "    command: printf %s {{vars.words}}\n"
		  "  - name: dir\n"
		  "    directory: {path: \"/srv/{{vars.evil}}\"}\n"
		  "    when: off\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	expect_line(&f, "\t_dp_step 1 'p: say' '' '0' dp_shell 'echo "
			"'\\''$(touch /tmp/pwned) `id` it'\\''\\'\\'''\\''s "
			"\"q\"\nline2'\\'' > /tmp/x' '' '' '/' ''");
	/* command: words split at compile time; a value stays one word. */
	expect_line(&f, "\t_dp_step 2 'p: run' '' '0' dp_command '' '' '/' '' "
			"'printf' '%s' 'two words'");
	teardown(&f);
}

static void test_file_content_travels_as_text_with_its_digest(void **s)
{
	struct fixture f;

	(void)s;
	setup(&f, "name: p\nsteps:\n"
		  "  - file: {path: /etc/a, content: \"hi\\n\", mode: 640, "
		  "owner: root, group: '0'}\n"
		  "  - file: {path: /etc/b, state: absent}\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	expect_line(&f, "\t_dp_step 1 'p: file /etc/a' '' '0' dp_file "
			"'/etc/a' 'present' '640' 'root' '0' "
			"'98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c"
			"5d3fb1107be4' ':hi\n' ''");
	expect_line(&f, "\t_dp_step 2 'p: file /etc/b' '' '0' dp_file "
			"'/etc/b' 'absent' '' '' '' "
			"'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495"
			"991b7852b855' ':' ''");
	/* The host reads both files' digests and modes at once. */
	expect_line(&f, "\t_dp_want 1 sa '/etc/a'");
	teardown(&f);
}

static void test_when_false_compiles_to_a_skip(void **s)
{
	struct fixture f;

	(void)s;
	setup(&f, "name: p\nvars: {off: false}\nsteps:\n"
		  "  - name: a\n    shell: x\n    when: [on, off]\n"
		  "  - name: b\n    shell: y\n    when: \"not off\"\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	expect_line(&f, "\t_dp_skip 1 'p: a' 'when: off'");
	expect_line(&f, "\t_dp_step 2 'p: b' '' '0' dp_shell 'y' '' '' '/' ''");
	teardown(&f);

	setup(&f, "name: p\nsteps:\n  - shell: x\n    when: undefined\n");
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_string_equal(f.err.file, "pb.yml");
	assert_int_equal(f.err.line, 4);
	assert_int_equal(f.err.col, 11);
	assert_string_equal(f.err.msg,
			    "steps[0].when: variable 'undefined' is not "
			    "defined (give it a default under the playbook's "
			    "'vars')");
	teardown(&f);
}

static void test_notify_and_handlers(void **s)
{
	struct fixture f;

	(void)s;
	setup(&f, "name: web\nvars: {off: false}\nsteps:\n"
		  "  - name: conf\n"
		  "    file: {path: /etc/a, content: x}\n"
		  "    notify: [Restart it, reload]\n"
		  "handlers:\n"
		  "  - name: reload\n    service: {name: nginx, state: "
		  "reloaded}\n"
		  "  - name: Restart it\n    command: {argv: [a]}\n"
		  "    when: off\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	assert_non_null(strstr(f.s->text.data,
			       "\t_dp_step 1 'web: conf' 'web.restart-it "
			       "web.reload' '0' dp_file '/etc/a'"));
	expect_line(&f, "\t_dp_handler 1 'web: reload' 'web.reload' '0' "
			"dp_service 'nginx' '' 'reloaded' '0'");
	expect_line(&f, "\t_dp_handler_skip 2 'web: Restart it' "
			"'web.restart-it' 'when: off'");
	assert_non_null(strstr(f.s->text.data,
			       "\nDP_STEPS=1\nDP_HANDLERS=2\n"
			       "DP_CHECK=0\nDP_NOTIFY_DIR='/tmp/"
			       "notify'\n"));
	assert_int_equal(f.s->nr_steps, 1);
	assert_int_equal(f.s->nr_handlers, 2);
	assert_string_equal(f.s->items[0].label, "web: conf");
	assert_true(f.s->items[2].handler);
	teardown(&f);
}

static void test_secrets_stay_out_of_labels_messages_and_errors(void **s)
{
	struct fixture f;

	(void)s;
	/* A label made from a path that holds a secret is redacted, and
	 * the step is quiet: its runtime messages are dropped. */
	setup(&f, "name: p\nsteps:\n"
		  "  - file: {path: \"/etc/{{secrets.pw}}\", content: x}\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	assert_string_equal(f.s->items[0].label, "p: file /etc/{{secrets.pw}}");
	assert_non_null(strstr(f.s->text.data,
			       "\t_dp_step 1 'p: file /etc/{{secrets.pw}}' "
			       "'' '1' dp_file '/etc/s3cr3t-value'"));
	teardown(&f);

	/* Content that holds a secret travels in base64, never as text. */
	setup(&f, "name: p\nsteps:\n"
		  "  - file: {path: /etc/pw, content: \"{{secrets.pw}}\"}\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	assert_null(strstr(f.s->text.data, "s3cr3t-value"));
	assert_non_null(strstr(f.s->text.data, " 'czNjcjN0LXZhbHVl' "));
	teardown(&f);

	/* An error about a value never quotes what it rendered to. */
	setup(&f, "name: p\nsteps:\n"
		  "  - file: {path: /etc/a, content: x, mode: "
		  "\"{{vars.mode}}\"}\n");
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_null(strstr(f.err.msg, "s3cr3t"));
	assert_string_equal(
		f.err.msg, "steps[0].file.mode '{{vars.mode}}' does not render "
			   "to "
			   "an octal mode such as 0644");
	teardown(&f);

	/* Nor does one that names what the value rendered to: the name of
	 * an artifact the topology lacks is redacted when it is a secret. */
	setup(&f, "name: p\nsteps:\n"
		  "  - artifact: {name: \"{{secrets.pw}}\", dest: /opt/a}\n");
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_NOT_FOUND);
	assert_null(strstr(f.err.msg, "s3cr3t"));
	assert_non_null(strstr(f.err.msg, "'[secret pw]'"));
	teardown(&f);
}

static void test_docker_images_are_pinned(void **s)
{
	struct fixture f;

	(void)s;
	setup(&f, "name: p\nsteps:\n"
		  "  - docker_image: {ref: \"nginx@sha256:0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef\"}\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	expect_line(&f, "\t_dp_step 1 'p: docker_image nginx@sha256:0123456789"
			"abcdef0123456789abcdef0123456789abcdef0123456789abcd"
			"ef' '' '0' dp_docker_image pull '' 'nginx@sha256:012"
			"3456789abcdef0123456789abcdef0123456789abcdef012345"
			"6789abcdef'");
	teardown(&f);

	/* A tag from a variable: refused at the step, with the hint. */
	setup(&f, "name: p\nvars: {app_image: \"nginx:1.25\"}\nsteps:\n"
		  "  - docker_image: {ref: \"{{vars.app_image}}\"}\n");
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_int_equal(f.err.line, 4);
	assert_int_equal(f.err.col, 25);
	assert_string_equal(f.err.msg,
			    "steps[0].docker_image.ref 'nginx:1.25' is not "
			    "pinned (a tag can be moved to other content): "
			    "write it with its digest, 'nginx@sha256:<64 hex "
			    "digits>' (docker inspect --format '{{index "
			    ".RepoDigests 0}}' IMAGE prints it), or ship it as "
			    "a 'docker save' artifact with 'docker_load: true' "
			    "and its 'image:'");
	teardown(&f);
}

static void test_template_errors_name_their_position(void **s)
{
	struct fixture f;

	(void)s;
	setup(&f, "name: p\nsteps:\n"
		  "  - file: {path: /etc/a, content: \"x {{vars.nope}}\"}\n");
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_TEMPLATE);
	assert_string_equal(f.err.file, "pb.yml");
	assert_int_equal(f.err.line, 3);
	assert_int_equal(f.err.col, 35);
	assert_string_equal(f.err.msg, "steps[0].file.content: missing "
				       "variable 'vars.nope'");
	teardown(&f);

	setup(&f, "name: p\nsteps:\n"
		  "  - file: {path: /etc/a, content: \"{{secrets.other}}\"}\n");
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_TEMPLATE);
	assert_non_null(strstr(f.err.msg, "is the secret under 'secrets'"));
	teardown(&f);
}

#define HEIGHT_TOPO                                                  \
	"version: 1\nname: t\nproviders: {ssh: {}}\n"                \
	"secrets: {pw: {env: PW}}\n"                                 \
	"roles:\n  n:\n    hosts: [{name: h, address: 192.0.2.1}]\n" \
	"    vars: {refs: [\"http://192.0.2.9/api/v3\", "            \
	"\"https://ref.example/api/v3\"]}\n"
#define HEIGHT_PLAYBOOK                                               \
	"name: p\nvars: {refs: [], within: 30}\nsteps: []\nhealth:\n" \
	"  - name: synced\n"                                          \
	"    height:\n"                                               \
	"      rpc: http://127.0.0.1:9000/api/v3\n"                   \
	"      method: icx_getLastBlock\n"                            \
	"      field: result.height\n"                                \
	"      reference: \"{{#vars.refs}}{{.}} {{/vars.refs}}\"\n"   \
	"      within: \"{{vars.within}}\"\n"

static void test_height_checks_compile_with_each_reference(void **s)
{
	struct fixture f;

	(void)s;
	/* A playbook's check sees its defaults under the role's vars; a
	 * list variable gives one word per URL. */
	setup_topo(&f, HEIGHT_TOPO, HEIGHT_PLAYBOOK);
	compile(&f);
	assert_int_equal(f.rc, 0);
	assert_string_equal(f.s->items[0].label, "health: synced");
	assert_string_equal(f.s->items[0].kind, "health");
	expect_line(&f, "\t_dp_gate 1 'health: synced' dp_health 'height' "
			"'300' '5' 'http://127.0.0.1:9000/api/v3' "
			"'icx_getLastBlock' 'result.height' '30' "
			"'http://192.0.2.9/api/v3' "
			"'https://ref.example/api/v3'");
	teardown(&f);

	/* The role's check of the same name replaces the playbook's; a
	 * GET (no method) for NEAR's /status. */
	setup_topo(&f,
		   HEIGHT_TOPO
		   "    health:\n"
		   "      - name: synced\n"
		   "        height: {rpc: \"http://127.0.0.1:3030/status\", "
		   "field: sync_info.latest_block_height, within: 5, "
		   "reference: \"https://rpc.example/status\"}\n"
		   "        timeout: 60\n",
		   HEIGHT_PLAYBOOK);
	compile(&f);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.s->nr_handlers, 1);
	expect_line(&f, "\t_dp_gate 1 'health: synced' dp_health 'height' "
			"'60' '5' 'http://127.0.0.1:3030/status' '' "
			"'sync_info.latest_block_height' '5' "
			"'https://rpc.example/status'");
	teardown(&f);
}

static void test_height_check_errors_name_their_position(void **s)
{
	struct fixture f;

	(void)s;
	/* No reference named: refused at the reference. */
	setup_topo(&f,
		   "version: 1\nname: t\nproviders: {ssh: {}}\n"
		   "roles:\n  n: {hosts: [{name: h, address: 192.0.2.1}]}\n",
		   HEIGHT_PLAYBOOK);
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_string_equal(f.err.file, "pb.yml");
	assert_int_equal(f.err.line, 10);
	assert_int_equal(f.err.col, 18);
	assert_string_equal(f.err.msg,
			    "playbook 'p' health.height.reference names no "
			    "URL on host 'h': name the endpoints to compare "
			    "with");
	teardown(&f);

	/* A reference item that renders to something not a URL. */
	setup_topo(&f,
		   HEIGHT_TOPO "    health:\n"
			       "      - height: {rpc: \"http://x:1/\", "
			       "field: h, reference: [\"http://a/\", "
			       "\"http://b/ y\"]}\n",
		   "name: p\nsteps: []\n");
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_string_equal(f.err.file, "t.yml");
	assert_string_equal(f.err.msg, "roles.n.health.height.reference 'y' "
				       "is not an http:// or https:// URL");
	teardown(&f);

	/* A value that renders to a secret is refused, never quoted. */
	setup_topo(&f, HEIGHT_TOPO,
		   HEIGHT_PLAYBOOK "  - {height: {rpc: \"http://x/"
				   "{{secrets.pw}}\", field: h, reference: "
				   "\"http://r/\"}}\n");
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_null(strstr(f.err.msg, "s3cr3t"));
	assert_string_equal(f.err.msg,
			    "playbook 'p' health.height.rpc holds a secret: a "
			    "health check is shown in progress and logs");
	teardown(&f);
}

static void test_two_playbooks_with_one_name_are_refused(void **s)
{
	struct fixture f;
	struct diag_list dl;
	const char *pb = "name: p\nsteps: []\n";

	(void)s;
	setup(&f, pb);
	diag_list_init(&dl);
	playbook_parse("other.yml", pb, strlen(pb), NULL, &f.pb[1], &dl,
		       &f.err);
	f.nr = 2;
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_string_equal(f.err.msg,
			    "host 'h' runs two playbooks named 'p' (pb.yml and "
			    "other.yml); give one another name");
	diag_list_free(&dl);
	teardown(&f);
}

static void test_markers_parse(void **s)
{
	struct marker m;
	const char *n = "0123abcd";

	(void)s;
#define P(line) marker_parse(line, strlen(line), n, &m)
	assert_int_equal(P("@@deploy 0123abcd start 12 3 check\n"), 0);
	assert_int_equal(m.type, MARKER_START);
	assert_int_equal(m.total, 12);
	assert_int_equal(m.handlers, 3);
	assert_true(m.check);
	assert_int_equal(P("@@deploy 0123abcd step 2/12 begin web: a b\r\n"),
			 0);
	assert_int_equal(m.type, MARKER_STEP_BEGIN);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.total, 12);
	assert_int_equal(m.text_len, 8);
	assert_memory_equal(m.text, "web: a b", 8);
	assert_int_equal(P("@@deploy 0123abcd step 2/12 changed content, mode "
			   "640"),
			 0);
	assert_int_equal(m.type, MARKER_STEP_END);
	assert_int_equal(m.status, STATUS_CHANGED);
	assert_int_equal(m.text_len, strlen("content, mode 640"));
	assert_int_equal(P("@@deploy 0123abcd step 12/12 ok"), 0);
	assert_int_equal(m.status, STATUS_OK);
	assert_int_equal(m.text_len, 0);
	assert_int_equal(P("@@deploy 0123abcd handler 1/3 failed exit status "
			   "3\n"),
			 0);
	assert_int_equal(m.type, MARKER_HANDLER_END);
	assert_int_equal(m.status, STATUS_FAILED);
	assert_int_equal(P("@@deploy 0123abcd handler 1/3 begin web: reload"),
			 0);
	assert_int_equal(m.type, MARKER_HANDLER_BEGIN);
	assert_int_equal(P("@@deploy 0123abcd end failed\n"), 0);
	assert_int_equal(m.type, MARKER_END);
	assert_int_equal(m.status, STATUS_FAILED);

	/* Anything else is output, never a marker. */
	assert_int_equal(P("@@deploy ffff step 1/2 ok"), DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcdef step 1/2 ok"),
			 DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("x@@deploy 0123abcd step 1/2 ok"),
			 DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd step 3/2 ok"),
			 DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd step 0/2 ok"),
			 DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd step 1/2 okay"),
			 DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd step 1/2"), DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd step 1/"), DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd start 1 2"),
			 DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd end ok trailing"),
			 DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd"), DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P(""), DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(P("@@deploy 0123abcd step 99999999999999999999/1 ok"),
			 DEPLOY_ERR_NOT_FOUND);
	assert_int_equal(marker_parse("@@deploy 0123abcd end ok", 10, n, &m),
			 DEPLOY_ERR_NOT_FOUND);
#undef P
}

static void test_random_nonces_differ(void **s)
{
	struct fixture f;
	struct script *other = NULL;

	(void)s;
	setup(&f, "name: p\nsteps: []\n");
	assert_int_equal(compile_script(f.ctx, f.pb, 1, NULL, &f.s, &f.err), 0);
	assert_int_equal(compile_script(f.ctx, f.pb, 1, NULL, &other, &f.err),
			 0);
	assert_int_equal(strlen(f.s->nonce), COMPILE_NONCE_LEN);
	assert_string_not_equal(f.s->nonce, other->nonce);
	assert_non_null(strstr(f.s->text.data, "\nDP_NOTIFY_DIR='/var/lib/"
					       "deploy/notify'\n"));
	script_free(other);
	teardown(&f);
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define CFG   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A tar with one file, as docker save writes its manifest.json. */
static void write_tar(const char *path, const char *name, const char *data)
{
	char h[512] = { 0 };
	size_t len = strlen(data);
	FILE *fp = fopen(path, "wb");
	static const char zero[1536];

	assert_non_null(fp);
	snprintf(h, 100, "%s", name);
	snprintf(h + 124, 12, "%011o", (unsigned)(len & 07777777));
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	assert_int_equal(fwrite(h, 1, 512, fp), 512);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fwrite(zero, 1, 512 - len % 512 + 1024, fp),
			 512 - len % 512 + 1024);
	fclose(fp);
}

/*
 * With defer_artifacts, a file artifact and a docker_load tarball are
 * pushes: placeholders in the text; the probe asks the host what it has
 * (the file's digest, the image's ID from the tarball's manifest); the
 * text sent has '' for what the host has and '@STAGED' (or '@=STAGED'
 * when a later step takes the same copy) for what is sent beside it.
 */
static void test_artifacts_travel_beside_the_script(void **s)
{
	char dir[] = "/tmp/deploy-test-push.XXXXXX", bin[64], tarball[64];
	char topo[2048];
	struct artifact_pin pins[2];
	enum script_have have[3];
	struct buf cmd = BUF_INIT, text = BUF_INIT;
	struct compile_opts o = { .nonce = "0123abcd",
				  .defer_artifacts = true };
	struct fixture f;

	(void)s;
	assert_non_null(mkdtemp(dir));
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	snprintf(tarball, sizeof(tarball), "%s/image.tar", dir);
	write_tar(bin, "x", "a binary");
	write_tar(tarball, "manifest.json",
		  "[{\"Config\":\"blobs/sha256/" CFG "\","
		  "\"RepoTags\":[\"node:1\"],\"Layers\":[]}]");
	snprintf(topo, sizeof(topo),
		 "version: 1\nname: t\nproviders: {ssh: {}}\n"
		 "artifacts:\n"
		 "  bin: {url: 'file://%s', sha256: " SHA_A "}\n"
		 "  img: {url: 'file://%s', sha256: " SHA_D
		 ", docker_load: true, image: 'node:1'}\n"
		 "roles:\n  n: {hosts: [{name: h, address: 192.0.2.1}]}\n",
		 bin, tarball);
	setup_topo(&f, topo,
		   "name: p\nsteps:\n"
		   "  - artifact: {name: bin, dest: /usr/local/bin/a}\n"
		   "  - artifact: {name: bin, dest: /opt/b, mode: '0700'}\n"
		   "  - docker_image: {ref: 'node:1'}\n");
	pins[0] = (struct artifact_pin){ &f.t->artifacts[0], SHA_A, bin, false,
					 false };
	pins[1] = (struct artifact_pin){ &f.t->artifacts[1], SHA_D, tarball,
					 false, false };
	o.artifacts = pins;
	o.nr_artifacts = 2;
	f.rc = compile_script(f.ctx, f.pb, f.nr, &o, &f.s, &f.err);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.s->nr_pushes, 3);
	assert_int_equal(f.s->pushes[2].kind, PUSH_DOCKER);
	assert_string_equal(f.s->pushes[2].image_ids, "sha256:" CFG);
	assert_string_equal(f.s->pushes[0].staged,
			    "/var/lib/deploy/artifacts/h/" SHA_A);
	assert_int_equal(f.s->pushes[0].size, 2048);

	script_probe(f.s, &cmd);
	assert_non_null(strstr(cmd.data,
			       "h=$(sha256sum <'/usr/local/bin/a' "
			       "2>/dev/null) && [ \"${h%% *}\" = " SHA_A
			       " ] && echo '0 present' || { [ -f "
			       "'/var/lib/deploy/artifacts/h/" SHA_A
			       "' ] && echo '0 staged'; }; "));
	assert_non_null(strstr(cmd.data,
			       "h=$(docker image inspect -f '{{.Id}}' 'node:1' "
			       "2>/dev/null) && case ' sha256:" CFG " ' in "));
	buf_free(&cmd);

	/* The host has /opt/b and the image; /usr/local/bin/a is staged. */
	script_probe_parse(f.s, "1 present\n0 staged\n2 present\n9 present\n",
			   have);
	assert_int_equal(have[0], HAVE_STAGED);
	assert_int_equal(have[1], HAVE_DEST);
	assert_int_equal(have[2], HAVE_DEST);
	assert_int_equal(script_expand(f.s, have, &text, &f.err), 0);
	assert_non_null(strstr(text.data,
			       " dp_artifact 'bin' '/usr/local/bin/a' "
			       "'' '' '' '' '" SHA_A
			       "' '@/var/lib/deploy/artifacts/h/" SHA_A "'\n"));
	assert_non_null(strstr(text.data,
			       " dp_docker_image load 'img' 'node:1' "
			       "'sha256:" CFG "' '" SHA_D "' ''\n"));
	assert_null(strstr(text.data, "@@deploy-artifact"));
	buf_free_secret(&text);
	/* Nothing in place: the first of two steps with one copy copies it. */
	assert_int_equal(script_expand(f.s, NULL, &text, &f.err), 0);
	assert_non_null(strstr(text.data,
			       "'@=/var/lib/deploy/artifacts/h/" SHA_A "'\n"));
	assert_non_null(strstr(text.data,
			       "'700' '' '' '" SHA_A
			       "' '@/var/lib/deploy/artifacts/h/" SHA_A "'\n"));
	buf_free_secret(&text);

	/* The transfer: into a part file, checked, renamed. */
	script_transfer(&f.s->pushes[0], &cmd);
	assert_non_null(strstr(cmd.data,
			       "f='/var/lib/deploy/artifacts/h/" SHA_A "'; "
			       "d='/var/lib/deploy/artifacts/h'; "));
	assert_non_null(strstr(cmd.data, "cat >\"$f.part\" || exit 1; "));
	assert_non_null(strstr(cmd.data, "if [ \"$h\" != " SHA_A " ]; then "));
	assert_non_null(strstr(cmd.data, "mv -f \"$f.part\" \"$f\""));
	buf_free(&cmd);
	teardown(&f);

	/* A tarball without a manifest naming the image: at the step. */
	write_tar(tarball, "manifest.json",
		  "[{\"Config\":\"" CFG ".json\",\"RepoTags\":[\"a:1\"]},"
		  "{\"Config\":\"" CFG ".json\",\"RepoTags\":[\"b:1\"]}]");
	setup_topo(&f, topo,
		   "name: p\nsteps:\n"
		   "  - docker_image: {ref: 'node:1'}\n");
	pins[0].a = &f.t->artifacts[0];
	pins[1].a = &f.t->artifacts[1];
	f.rc = compile_script(f.ctx, f.pb, f.nr, &o, &f.s, &f.err);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_non_null(strstr(f.err.msg, "steps[0].docker_image: artifact "
					  "'img': "));
	assert_non_null(strstr(f.err.msg, "not a 'docker save' tarball "
					  "holding 'node:1' (its manifest.json "
					  "names no such image)"));
	teardown(&f);
	snprintf(topo, sizeof(topo), "rm -rf '%s'", dir);
	assert_int_equal(system(topo), 0);
}

#define LOOP_TOPO                                                      \
	"version: 1\nname: t\nproviders: {ssh: {}}\n"                  \
	"ssh: {admin_cidrs: [203.0.113.7/32]}\n"                       \
	"vars:\n"                                                      \
	"  user: app\n"                                                \
	"  files:\n"                                                   \
	"    - {path: /etc/a, text: one}\n"                            \
	"    - {path: /etc/b, text: two, mode: \"0600\"}\n"            \
	"  bad: [{path: /etc/c, txet: x}]\n"                           \
	"  short: [{text: x}]\n"                                       \
	"  str: not a list\n"                                          \
	"  none: null\n"                                               \
	"  keys: [{path: /etc/k, secret: pw}, {path: /etc/m, secret: " \
	"nope}]\n"                                                     \
	"roles:\n  n: {hosts: [{name: h, address: 192.0.2.1}]}\n"

#define LOOP_STEP(LIST)                                                    \
	"name: p\nsteps:\n"                                                \
	"  - name: conf\n"                                                 \
	"    loop: \"{{vars." LIST "}}\"\n"                                \
	"    item:\n"                                                      \
	"      required: [path, text]\n"                                   \
	"      defaults: {mode: \"0644\", owner: \"{{vars.user}}\"}\n"     \
	"    file: {path: \"{{item.path}}\", content: \"{{item.text}}\", " \
	"mode: \"{{item.mode}}\", owner: \"{{item.owner}}\"}\n"            \
	"    notify: again\n"                                              \
	"  - name: after\n    shell: x\n"                                  \
	"handlers:\n  - name: again\n    shell: y\n"

static void test_a_loop_makes_one_step_per_item(void **s)
{
	struct fixture f;

	(void)s;
	setup_topo(&f, LOOP_TOPO, LOOP_STEP("files"));
	compile(&f);
	assert_int_equal(f.rc, 0);
	/* Each item its own step, numbered on, labelled with its first
	 * required key; the defaults fill what an item leaves out. */
	expect_line(&f, "\t_dp_step 1 'p: conf (/etc/a)' 'p.again' '0' "
			"dp_file '/etc/a' 'present' '644' 'app' '' "
			"'7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0"
			"add73ff431ed' ':one' ''");
	expect_line(&f, "\t_dp_step 2 'p: conf (/etc/b)' 'p.again' '0' "
			"dp_file '/etc/b' 'present' '600' 'app' '' "
			"'3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376"
			"b0dbe685e2f3' ':two' ''");
	expect_line(&f, "\t_dp_step 3 'p: after' '' '0' dp_shell 'x' '' '' "
			"'/' ''");
	expect_line(&f, "\t_dp_want 1 sa '/etc/a' 2 sa '/etc/b'");
	assert_int_equal(f.s->nr_steps, 3);
	assert_int_equal(f.s->nr_handlers, 1);
	assert_string_equal(f.s->items[1].label, "p: conf (/etc/b)");
	assert_string_equal(f.s->items[3].label, "p: again");
	assert_non_null(strstr(f.s->text.data, "\nDP_STEPS=3\n"));
	teardown(&f);

	/* null (and []) make no step; the rest are numbered on. */
	setup_topo(&f, LOOP_TOPO, LOOP_STEP("none"));
	compile(&f);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.s->nr_steps, 1);
	expect_line(&f, "\t_dp_step 1 'p: after' '' '0' dp_shell 'x' '' '' "
			"'/' ''");
	teardown(&f);
}

static void test_a_loop_over_a_written_list_with_when_per_item(void **s)
{
	struct fixture f;

	(void)s;
	setup(&f, "name: p\nsteps:\n"
		  "  - shell: echo {{item}}\n"
		  "    loop: [a, \"b c\", d]\n"
		  "    when: \"item != 'd'\"\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	expect_line(&f, "\t_dp_step 1 'p: shell (a)' '' '0' dp_shell "
			"'echo '\\''a'\\''' '' '' '/' ''");
	expect_line(&f, "\t_dp_step 2 'p: shell (b c)' '' '0' dp_shell "
			"'echo '\\''b c'\\''' '' '' '/' ''");
	expect_line(&f, "\t_dp_skip 3 'p: shell (d)' 'when: item != '\\''d"
			"'\\'''");
	teardown(&f);
}

/* Errors name the item where it is written: the topology here. */
static void expect_loop_error(const char *pb, const char *file, int line,
			      int col, const char *msg)
{
	struct fixture f;

	setup_topo(&f, LOOP_TOPO, pb);
	compile(&f);
	assert_int_equal(f.rc, DEPLOY_ERR_INVALID);
	assert_null(f.s);
	assert_string_equal(f.err.msg, msg);
	assert_string_equal(f.err.file, file);
	assert_int_equal(f.err.line, line);
	assert_int_equal(f.err.col, col);
	teardown(&f);
}

static void test_loop_errors_name_the_item_where_it_is_written(void **s)
{
	(void)s;
	expect_loop_error(LOOP_STEP("bad"), "t.yml", 10, 24,
			  "unknown key 'txet' in vars.bad[0] (did you mean "
			  "'text'?) (steps[0] loops over it)");
	expect_loop_error(LOOP_STEP("short"), "t.yml", 11, 11,
			  "missing key 'path' in vars.short[0] (steps[0] loops "
			  "over it and needs path)");
	expect_loop_error(LOOP_STEP("str"), "t.yml", 12, 8,
			  "vars.str is a string, not a list (steps[0] loops "
			  "over it)");
	expect_loop_error(LOOP_STEP("nothere"), "pb.yml", 4, 11,
			  "steps[0].loop: 'vars.nothere' is not defined (give "
			  "it a default under the playbook's 'vars')");
}

static void test_a_secret_file_is_quiet_and_never_in_the_text(void **s)
{
	struct fixture f;

	(void)s;
	setup_topo(&f, LOOP_TOPO,
		   "name: p\nsteps:\n"
		   "  - name: key\n"
		   "    loop: \"{{vars.keys}}\"\n"
		   "    item: {required: [path, secret]}\n"
		   "    file: {path: \"{{item.path}}\", secret: "
		   "\"{{item.secret}}\", mode: \"0600\"}\n");
	compile(&f);
	/* The second item names a secret the topology does not have. */
	assert_int_equal(f.rc, DEPLOY_ERR_NOT_FOUND);
	assert_string_equal(f.err.msg,
			    "steps[0].loop[1].file.secret: no secret 'nope' "
			    "(is it under 'secrets' in the topology, with its "
			    "variable set or its file readable?)");
	assert_int_equal(f.err.line, 6);
	teardown(&f);

	setup_topo(&f, LOOP_TOPO,
		   "name: p\nsteps:\n"
		   "  - file: {path: /etc/k, secret: pw, mode: \"0600\"}\n");
	compile(&f);
	assert_int_equal(f.rc, 0);
	/* Quiet, in base64, under its name alone. */
	assert_non_null(strstr(f.s->text.data,
			       "\t_dp_step 1 'p: file /etc/k' '' '1' dp_file "
			       "'/etc/k' 'present' '600' '' '' "));
	assert_null(strstr(f.s->text.data, "s3cr3t-value"));
	assert_non_null(strstr(f.s->text.data, "'czNjcjN0LXZhbHVl'"));
	assert_string_equal(f.s->items[0].secret, "pw");
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_hostile_values_reach_the_shell_as_one_quoted_word),
		cmocka_unit_test(
			test_file_content_travels_as_text_with_its_digest),
		cmocka_unit_test(test_when_false_compiles_to_a_skip),
		cmocka_unit_test(test_notify_and_handlers),
		cmocka_unit_test(
			test_secrets_stay_out_of_labels_messages_and_errors),
		cmocka_unit_test(test_template_errors_name_their_position),
		cmocka_unit_test(test_docker_images_are_pinned),
		cmocka_unit_test(test_artifacts_travel_beside_the_script),
		cmocka_unit_test(
			test_height_checks_compile_with_each_reference),
		cmocka_unit_test(test_height_check_errors_name_their_position),
		cmocka_unit_test(test_two_playbooks_with_one_name_are_refused),
		cmocka_unit_test(test_markers_parse),
		cmocka_unit_test(test_random_nonces_differ),
		cmocka_unit_test(test_a_loop_makes_one_step_per_item),
		cmocka_unit_test(
			test_a_loop_over_a_written_list_with_when_per_item),
		cmocka_unit_test(
			test_loop_errors_name_the_item_where_it_is_written),
		cmocka_unit_test(
			test_a_secret_file_is_quiet_and_never_in_the_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
