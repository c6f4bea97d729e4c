/* SPDX-License-Identifier: MIT */
/* The step kinds, each compiled into one call of the runtime (runtime.sh). */
#include <regex.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/compile-internal.h"
#include "playbook/context.h"
#include "playbook/values.h"
#include "template/template.h"
#include "topology/image.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The step's mode, owner and group rendered (in v, the caller's scratch
 * buffer) and added to call, one argument each, until one fails. */
static int add_mode_owner_group(struct cc *c, const struct ynode *a,
				struct buf *call, struct buf *v)
{
	int rc = cc_render_mode(c, a, v);

	if (!rc) {
		cc_arg(call, v->data, v->len);
		rc = cc_render_owner(c, a, "owner", v);
	}
	if (!rc) {
		cc_arg(call, v->data, v->len);
		rc = cc_render_owner(c, a, "group", v);
	}
	if (!rc)
		cc_arg(call, v->data, v->len);
	return rc;
}

/* secret: NAME, a secret of the topology's: the step is quiet. */
static int file_secret(struct cc *c, const struct ynode *n, struct buf *content)
{
	struct buf name = BUF_INIT;
	const struct secret_value *v = NULL;
	int rc;

	rc = cc_render_one_line(c, n, cc_key_what(c, "secret"), &name);
	for (size_t i = 0; !rc && i < c->ctx->nr_secrets; i++)
		if (!strcmp(c->ctx->secrets[i].name, name.data))
			v = &c->ctx->secrets[i];
	if (!rc && !v)
		rc = cc_fail_at(c, n, DEPLOY_ERR_NOT_FOUND,
				"%s: no secret '%s' (is it under 'secrets' in "
				"the topology, with its variable set or its "
				"file readable?)",
				cc_key_what(c, "secret"), name.data);
	if (!rc) {
		rc = buf_add(content, v->value, v->len);
		c->quiet = true;
		c->secret = v->name;
	}
	buf_free(&name);
	return rc;
}

static int file_content(struct cc *c, const struct ynode *a,
			struct buf *content)
{
	const struct ynode *n;
	struct buf text, what = BUF_INIT;
	char *path = NULL;
	int rc = 0;

	if ((n = ynode_get(a, "content")))
		return cc_render(c, a, "content", TEMPLATE_ESCAPE_NONE,
				 content);
	if ((n = ynode_get(a, "secret")))
		return file_secret(c, n, content);
	buf_init(&text, COMPILE_MAX_FILE);
	n = ynode_get(a, "template");
	if (!n)
		n = ynode_get(a, "src");
	rc = cc_render_one_line(
		c, n,
		cc_key_what(c, ynode_get(a, "template") ? "template" : "src"),
		&what);
	if (rc)
		goto out;
	if (playbook_find_file(c->pb, what.data, ynode_get(a, "template"),
			       &path)) {
		rc = cc_fail_at(c, n, DEPLOY_ERR_NOT_FOUND,
				"%s.file: no such file '%s'", c->step->what,
				n->value);
		goto out;
	}
	rc = buf_read_file(&text, path);
	if (rc) {
		rc = cc_fail_at(c, n, rc, "%s.file: cannot read '%s': %s",
				c->step->what, path, deploy_strerror(rc));
		goto out;
	}
	if (!ynode_get(a, "template")) {
		buf_add(content, text.data, text.len);
		goto out;
	}
	buf_reset(&what);
	buf_addf(&what, "%s.file.template", c->step->what);
	rc = cc_render_text(c, path, text.data, text.len, TEMPLATE_ESCAPE_NONE,
			    content, n, what.data);
out:
	free(path);
	buf_free(&what);
	buf_free(&text);
	return rc;
}

static int c_file(struct cc *c, const struct ynode *a, struct buf *call)
{
	struct buf path = BUF_INIT, v = BUF_INIT, content = BUF_INIT;
	const char *state = cc_src_text(a, "state");
	bool absent = !strcmp(state, "absent");
	int rc;

	rc = cc_render_path(c, a, "path", &path);
	if (rc)
		goto out;
	buf_adds(call, " dp_file");
	cc_arg(call, path.data, path.len);
	cc_args(call, absent ? "absent" : "present");
	rc = add_mode_owner_group(c, a, call, &v);
	if (rc)
		goto out;
	if (!absent) {
		rc = file_content(c, a, &content);
		if (rc)
			goto out;
		cc_want(c,
			ynode_get(a, "mode") || ynode_get(a, "owner") ||
					ynode_get(a, "group")
				? "sa"
				: "s",
			&path);
	}
	cc_add_content(c, call, &content);
	rc = cc_render(c, a, "validate", TEMPLATE_ESCAPE_SHELL, &v);
	if (!rc)
		cc_arg(call, v.data, v.len);
out:
	buf_free_secret(&path);
	buf_free_secret(&v);
	buf_free_secret(&content);
	return rc;
}

static int c_directory(struct cc *c, const struct ynode *a, struct buf *call)
{
	struct buf v = BUF_INIT;
	int rc;

	rc = cc_render_path(c, a, "path", &v);
	if (rc)
		goto out;
	buf_adds(call, " dp_directory");
	cc_arg(call, v.data, v.len);
	if (ynode_get(a, "mode") || ynode_get(a, "owner") ||
	    ynode_get(a, "group"))
		cc_want(c, "a", &v);
	rc = add_mode_owner_group(c, a, call, &v);
out:
	buf_free_secret(&v);
	return rc;
}

static int c_line(struct cc *c, const struct ynode *a, struct buf *call)
{
	struct buf v = BUF_INIT, what = BUF_INIT;
	const struct ynode *n;
	const char *state = cc_src_text(a, "state");
	regex_t re;
	int rc;

	rc = cc_render_path(c, a, "path", &v);
	if (rc)
		goto out;
	buf_adds(call, " dp_line");
	cc_arg(call, v.data, v.len);
	cc_args(call, !strcmp(state, "absent") ? "absent" : "present");
	buf_reset(&v);
	buf_addf(&what, "%s.line.line", c->step->what);
	if ((n = ynode_get(a, "line")) &&
	    (rc = cc_render_one_line(c, n, what.data, &v)))
		goto out;
	cc_arg(call, v.data, v.len);
	buf_reset(&v);
	buf_reset(&what);
	buf_addf(&what, "%s.line.regexp", c->step->what);
	if ((n = ynode_get(a, "regexp"))) {
		rc = cc_render_one_line(c, n, what.data, &v);
		if (rc)
			goto out;
		if (regcomp(&re, v.data, REG_EXTENDED | REG_NOSUB)) {
			rc = cc_fail_at(c, n, DEPLOY_ERR_INVALID,
					"%s '%s' does not render to a POSIX "
					"extended regular expression",
					what.data, n->value);
			goto out;
		}
		regfree(&re);
	}
	cc_arg(call, v.data, v.len);
	cc_args(call, cc_get_bool(a, "create", false) ? "1" : "0");
out:
	buf_free_secret(&v);
	buf_free(&what);
	return rc;
}

static int c_apt(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *pk = ynode_get(a, "packages");
	size_t nr = pk->kind == YNODE_SEQ ? pk->nr : 1;
	const char *state = cc_src_text(a, "state");
	struct buf v = BUF_INIT, what = BUF_INIT;
	long age;
	int rc;

	rc = cc_render_int(c, a, "cache_valid_time", 3600, 0, 31536000, &age);
	if (rc)
		return rc;
	buf_adds(call, " dp_apt");
	cc_args(call, !strcmp(state, "absent") ? "absent" : "present");
	cc_add_int(call, age);
	/* Not a package name, so the runtime tells it from the packages. */
	if (!cc_get_bool(a, "recommends", true))
		cc_args(call, "--no-install-recommends");
	for (size_t i = 0; i < nr && !rc; i++) {
		const struct ynode *n =
			pk->kind == YNODE_SEQ ? pk->items[i] : pk;

		buf_reset(&what);
		buf_addf(&what, "%s.apt.packages", c->step->what);
		rc = cc_render_one_line(c, n, what.data, &v);
		if (!rc && !val_is_package(v.data))
			rc = cc_fail_at(c, n, DEPLOY_ERR_INVALID,
					"%s '%s' does not render to a Debian "
					"package name",
					what.data, n->value);
		if (!rc)
			cc_arg(call, v.data, v.len);
	}
	buf_free_secret(&v);
	buf_free(&what);
	return rc;
}

static int c_service(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *n = ynode_get(a, "name");
	struct buf v = BUF_INIT;
	bool b;
	int rc;

	rc = cc_render(c, a, "name", TEMPLATE_ESCAPE_NONE, &v);
	if (!rc && !val_is_unit(v.data))
		rc = cc_fail_at(
			c, n, DEPLOY_ERR_INVALID,
			"%s.service.name '%s' does not render to a unit "
			"name",
			c->step->what, n->value);
	if (rc)
		goto out;
	buf_adds(call, " dp_service");
	cc_arg(call, v.data, v.len);
	if (ynode_bool(ynode_get(a, "enabled"), &b))
		cc_args(call, "");
	else
		cc_args(call, b ? "1" : "0");
	cc_args(call, cc_src_text(a, "state"));
	cc_args(call, cc_get_bool(a, "daemon_reload", false) ? "1" : "0");
out:
	buf_free_secret(&v);
	return rc;
}

static int c_user(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *n = ynode_get(a, "name");
	const struct ynode *groups = ynode_get(a, "groups");
	const struct ynode *keys = ynode_get(a, "authorized_keys");
	struct buf name = BUF_INIT, v = BUF_INIT, list = BUF_INIT;
	struct buf what = BUF_INIT;
	bool sudo;
	int rc;

	rc = cc_render(c, a, "name", TEMPLATE_ESCAPE_NONE, &name);
	if (!rc && !val_is_user(name.data))
		rc = cc_fail_at(c, n, DEPLOY_ERR_INVALID,
				"%s.user.name '%s' does not render to a user "
				"name",
				c->step->what, n->value);
	if (!rc)
		rc = cc_render_path(c, a, "shell", &v);
	if (rc)
		goto out;
	buf_adds(call, " dp_user");
	cc_arg(call, name.data, name.len);
	cc_arg(call, v.data, v.len);
	buf_addf(&what, "%s.user.groups", c->step->what);
	for (size_t i = 0; groups && i < groups->nr && !rc; i++) {
		rc = cc_render_one_line(c, groups->items[i], what.data, &v);
		if (!rc && !val_is_user(v.data))
			rc = cc_fail_at(
				c, groups->items[i], DEPLOY_ERR_INVALID,
				"%s '%s' does not render to a group name",
				what.data, groups->items[i]->value);
		buf_addf(&list, "%s%s", i ? "," : "", v.data);
	}
	if (rc)
		goto out;
	cc_arg(call, list.data, list.len);
	/* The exact set of keys, one per line. */
	buf_reset(&list);
	buf_reset(&what);
	buf_addf(&what, "%s.user.authorized_keys", c->step->what);
	for (size_t i = 0; keys && i < keys->nr && !rc; i++) {
		rc = cc_render_one_line(c, keys->items[i], what.data, &v);
		buf_add(&list, v.data, v.len);
		buf_addch(&list, '\n');
	}
	if (rc)
		goto out;
	cc_args(call, keys ? "1" : "0");
	cc_add_content(c, call, &list);
	/* sudo: a NOPASSWD drop-in, checked with visudo before it is used */
	cc_args(call, ynode_bool(ynode_get(a, "sudo"), &sudo) ? ""
		      : sudo				      ? "1"
							      : "0");
	buf_reset(&v);
	buf_addf(&v, "/etc/sudoers.d/deploy-%s", name.data);
	cc_arg(call, v.data, v.len);
	buf_reset(&list);
	buf_addf(&list,
		 "# Written by deploy (playbook %s); changes here are "
		 "overwritten.\n%s ALL=(ALL:ALL) NOPASSWD: ALL\n",
		 c->pb->name, name.data);
	cc_add_content(c, call, &list);
out:
	buf_free_secret(&name);
	buf_free_secret(&v);
	buf_free_secret(&list);
	buf_free(&what);
	return rc;
}

static int c_sysctl(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *set = ynode_get(a, "settings");
	struct buf path = BUF_INIT, v = BUF_INIT, content = BUF_INIT;
	struct buf what = BUF_INIT;
	int rc;

	rc = cc_render_path(c, a, "file", &path);
	if (rc)
		goto out;
	buf_addf(&content,
		 "# Written by deploy (playbook %s); changes here are "
		 "overwritten.\n",
		 c->pb->name);
	for (size_t i = 0; i < set->nr && !rc; i++) {
		buf_reset(&what);
		buf_addf(&what, "%s.sysctl.settings.%s", c->step->what,
			 set->pairs[i].key->value);
		rc = cc_render_one_line(c, set->pairs[i].value, what.data, &v);
		buf_addf(&content, "%s = %s\n", set->pairs[i].key->value,
			 v.data);
	}
	if (rc)
		goto out;
	buf_adds(call, " dp_sysctl");
	cc_arg(call, path.data, path.len);
	cc_want(c, "s", &path);
	cc_args(call, cc_get_bool(a, "apply", true) ? "1" : "0");
	cc_add_content(c, call, &content);
out:
	buf_free_secret(&path);
	buf_free_secret(&v);
	buf_free_secret(&content);
	buf_free(&what);
	return rc;
}

static bool is_http_url(const char *s)
{
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int render_url(struct cc *c, const struct ynode *a, struct buf *out)
{
	const struct ynode *n = ynode_get(a, "url");
	int rc = cc_render(c, a, "url", TEMPLATE_ESCAPE_NONE, out);

	if (!rc && !is_http_url(out->data))
		rc = cc_fail_at(
			c, n, DEPLOY_ERR_INVALID,
			"%s.%s.url '%s' does not render to an http:// or "
			"https:// URL",
			c->step->what, step_kind_name(c->step->kind), n->value);
	return rc;
}

static int c_download(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *n = ynode_get(a, "sha256");
	struct buf url = BUF_INIT, v = BUF_INIT;
	int rc;

	rc = render_url(c, a, &url);
	if (!rc)
		rc = cc_render(c, a, "sha256", TEMPLATE_ESCAPE_NONE, &v);
	if (!rc && !val_is_sha256(v.data))
		rc = cc_fail_at(c, n, DEPLOY_ERR_INVALID,
				"%s.download.sha256 '%s' does not render to a "
				"SHA-256 digest (64 hex digits)",
				c->step->what, n->value);
	if (rc)
		goto out;
	buf_adds(call, " dp_download");
	cc_arg(call, url.data, url.len);
	for (size_t i = 0; i < v.len; i++)
		if (v.data[i] >= 'A' && v.data[i] <= 'F')
			v.data[i] = (char)(v.data[i] - 'A' + 'a');
	cc_arg(call, v.data, v.len);
	rc = cc_render_path(c, a, "dest", &v);
	if (rc)
		goto out;
	cc_arg(call, v.data, v.len);
	rc = add_mode_owner_group(c, a, call, &v);
out:
	buf_free_secret(&url);
	buf_free_secret(&v);
	return rc;
}

/*
 * creates, unless and chdir, shared by shell and command, then the word
 * that says whether a run counts as a change: "no" for changed: false.
 */
static int guards(struct cc *c, const struct ynode *a, struct buf *call)
{
	struct buf v = BUF_INIT;
	int rc;

	if (a->kind != YNODE_MAP) {
		buf_adds(call, " '' '' '/'");
		goto changed;
	}
	rc = cc_render_path(c, a, "creates", &v);
	if (rc)
		goto out;
	cc_arg(call, v.data, v.len);
	rc = cc_render(c, a, "unless", TEMPLATE_ESCAPE_SHELL, &v);
	if (rc)
		goto out;
	cc_arg(call, v.data, v.len);
	rc = cc_render_path(c, a, "chdir", &v);
	if (rc)
		goto out;
	if (!v.len)
		buf_adds(&v, "/");
	cc_arg(call, v.data, v.len);
	buf_free_secret(&v);
changed:
	cc_args(call, cc_get_bool(c->step->node, "changed", true) ? "" : "no");
	return 0;
out:
	buf_free_secret(&v);
	return rc;
}

static int c_shell(struct cc *c, const struct ynode *a, struct buf *call)
{
	struct buf v = BUF_INIT;
	const struct ynode *cmd =
		a->kind == YNODE_MAP ? ynode_get(a, "cmd") : a;
	struct buf what = BUF_INIT;
	int rc;

	buf_addf(&what, "%s.shell", c->step->what);
	rc = cc_render_text(c, c->pb->file, cmd->value, cmd->len,
			    TEMPLATE_ESCAPE_SHELL, &v, cmd, what.data);
	if (rc)
		goto out;
	buf_adds(call, " dp_shell");
	cc_arg(call, v.data, v.len);
	rc = guards(c, a, call);
out:
	buf_free_secret(&v);
	buf_free(&what);
	return rc;
}

static int c_command(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *cmd =
		a->kind == YNODE_MAP ? ynode_get(a, "cmd") : a;
	const struct ynode *argv = ynode_get(a, "argv");
	struct buf v = BUF_INIT, what = BUF_INIT;
	char **words = NULL;
	size_t nr = 0;
	const char *why;
	int rc = 0;

	buf_adds(call, " dp_command");
	rc = guards(c, a, call);
	if (rc)
		goto out;
	buf_addf(&what, "%s.command", c->step->what);
	if (argv) {
		for (size_t i = 0; i < argv->nr && !rc; i++) {
			buf_reset(&v);
			rc = cc_render_text(
				c, c->pb->file, argv->items[i]->value,
				argv->items[i]->len, TEMPLATE_ESCAPE_NONE, &v,
				argv->items[i], what.data);
			if (!rc && memchr(v.data, '\0', v.len))
				rc = cc_fail_at(
					c, argv->items[i], DEPLOY_ERR_INVALID,
					"%s holds a NUL byte", what.data);
			if (!rc)
				cc_arg(call, v.data, v.len);
		}
		goto out;
	}
	if (command_split(cmd->value, &words, &nr, &why)) {
		rc = cc_fail_at(c, cmd, DEPLOY_ERR_INVALID, "%s: %s", what.data,
				why);
		goto out;
	}
	/* Each word renders on its own: a value never splits into two. */
	for (size_t i = 0; i < nr && !rc; i++) {
		buf_reset(&v);
		rc = cc_render_text(c, c->pb->file, words[i], strlen(words[i]),
				    TEMPLATE_ESCAPE_NONE, &v, cmd, what.data);
		if (!rc && memchr(v.data, '\0', v.len))
			rc = cc_fail_at(c, cmd, DEPLOY_ERR_INVALID,
					"%s holds a NUL byte", what.data);
		if (!rc)
			cc_arg(call, v.data, v.len);
	}
out:
	command_argv_free(words, nr);
	buf_free_secret(&v);
	buf_free(&what);
	return rc;
}

static int c_wait(struct cc *c, const struct ynode *a, struct buf *call)
{
	struct buf v = BUF_INIT, host = BUF_INIT;
	long timeout, interval, n;
	int rc;

	rc = cc_render_int(c, a, "timeout", 60, 1, 86400, &timeout);
	if (!rc)
		rc = cc_render_int(c, a, "interval", 2, 1, 86400, &interval);
	if (rc)
		goto out;
	buf_adds(call, " dp_wait");
	if (ynode_get(a, "port")) {
		rc = cc_render_int(c, a, "port", 0, 1, 65535, &n);
		if (!rc)
			rc = cc_render(c, a, "host", TEMPLATE_ESCAPE_NONE,
				       &host);
		if (!rc && !host.len)
			buf_adds(&host, "127.0.0.1");
		if (!rc && !is_ip_address(host.data) && !is_dns_name(host.data))
			rc = cc_fail_at(
				c, ynode_get(a, "host"), DEPLOY_ERR_INVALID,
				"%s.wait.host '%s' does not render to an "
				"address or a host name",
				c->step->what, cc_src_text(a, "host"));
		if (rc)
			goto out;
		cc_args(call, "tcp");
		cc_add_int(call, timeout);
		cc_add_int(call, interval);
		cc_arg(call, host.data, host.len);
		cc_add_int(call, n);
	} else if (ynode_get(a, "url")) {
		rc = render_url(c, a, &v);
		if (!rc)
			rc = cc_render_int(c, a, "status", 200, 100, 599, &n);
		if (rc)
			goto out;
		cc_args(call, "http");
		cc_add_int(call, timeout);
		cc_add_int(call, interval);
		cc_arg(call, v.data, v.len);
		cc_add_int(call, n);
	} else {
		rc = cc_render(c, a, "command", TEMPLATE_ESCAPE_SHELL, &v);
		if (rc)
			goto out;
		cc_args(call, "command");
		cc_add_int(call, timeout);
		cc_add_int(call, interval);
		cc_arg(call, v.data, v.len);
		cc_args(call, "");
	}
out:
	buf_free_secret(&v);
	buf_free_secret(&host);
	return rc;
}

/*
 * artifact: the file from the operator's cache (core/artifact) travels in
 * the script as file contents do; the host compares digests first.
 */
/* The script records what its artifact steps put on the host (state). */
static void script_add_artifact(struct cc *c, const struct artifact *a)
{
	struct script *s = c->script;
	struct script_artifact *sa;

	if (!s || c->handler)
		return;
	s->artifacts = xrealloc(s->artifacts,
				(s->nr_artifacts + 1) * sizeof(*s->artifacts));
	sa = &s->artifacts[s->nr_artifacts++];
	sa->a = a;
	sa->playbook = c->pb ? c->pb->name : NULL;
	sa->restart = c->step && c->step->nr_notify > 0;
}

/*
 * The file at path, which a step of kind ("artifact", "docker_image") names
 * name, read into content to travel in the script.
 */
static int read_embedded(struct cc *c, const struct ynode *n, const char *kind,
			 const char *name, const char *path,
			 struct buf *content)
{
	int rc;

	buf_init(content, COMPILE_MAX_ARTIFACT);
	rc = buf_read_file(content, path);
	if (rc == DEPLOY_ERR_TOO_BIG)
		return cc_fail_at(c, n, rc,
				  "%s.%s: '%s' is larger than %u MiB, the most "
				  "a step embeds in the script",
				  c->step->what, kind, name,
				  COMPILE_MAX_ARTIFACT >> 20);
	if (rc)
		return cc_fail_at(c, n, rc, "%s.%s: cannot read '%s': %s",
				  c->step->what, kind, path,
				  deploy_strerror(rc));
	return 0;
}

/*
 * " dp_artifact NAME DEST HOW MODE OWNER GROUP", where every artifact
 * step's call starts: dest rendered into dest, v the caller's scratch.
 */
static int artifact_call(struct cc *c, const struct ynode *a, struct buf *call,
			 const char *name, const char *how, struct buf *dest,
			 struct buf *v)
{
	int rc;

	buf_adds(call, " dp_artifact");
	cc_args(call, name);
	rc = cc_render_path(c, a, "dest", dest);
	if (rc)
		return rc;
	cc_arg(call, dest->data, dest->len);
	cc_args(call, how);
	return add_mode_owner_group(c, a, call, v);
}

static int c_artifact(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *n = ynode_get(a, "name");
	const struct artifact_pin *pin = NULL;
	struct buf v = BUF_INIT, dest = BUF_INIT, content = BUF_INIT;
	bool unpack;
	int rc;

	/* The name may come from a variable ({{vars.node_artifact}}). */
	rc = cc_render(c, a, "name", TEMPLATE_ESCAPE_NONE, &v);
	if (rc)
		goto out;
	if (c->opts)
		pin = artifact_pin_find(c->opts->artifacts,
					c->opts->nr_artifacts, v.data);
	if (!pin || (!pin->path && !pin->a->fetch_host)) {
		rc = cc_fail_at(c, n, DEPLOY_ERR_NOT_FOUND,
				"%s.artifact.name: the topology has no "
				"artifact '%s' (add it under 'artifacts:')",
				c->step->what, v.data);
		goto out;
	}
	unpack = cc_get_bool(a, "unpack", pin->a->unpack);
	if (pin->a->fetch_host && unpack) {
		rc = cc_fail_at(c, n, DEPLOY_ERR_INVALID,
				"%s.artifact: '%s' is fetched by the host "
				"(fetch: host), which unpacks nothing yet: "
				"fetch it from the operator's cache instead",
				c->step->what, pin->a->name);
		goto out;
	}
	script_add_artifact(c, pin->a);
	if (pin->a->fetch_host) {
		/* The host downloads it and checks the digest itself. */
		rc = artifact_call(c, a, call, pin->a->name, "", &dest, &v);
		if (rc)
			goto out;
		cc_args(call, pin->sha256);
		cc_args(call, "");
		cc_args(call, pin->a->url);
		goto out;
	}
	if (c->opts && c->opts->defer_artifacts && c->script) {
		/* The bytes travel beside the script, when the host's copy
		 * is not the artifact (push.c): no size limit. */
		rc = artifact_call(c, a, call, pin->a->name,
				   unpack ? "unpack" : "", &dest, &v);
		if (!rc)
			cc_add_push(c, call, unpack ? PUSH_UNPACK : PUSH_FILE,
				    pin->a->name, dest.data, pin->path,
				    pin->sha256, NULL);
		goto out;
	}
	rc = read_embedded(c, n, "artifact", pin->a->name, pin->path, &content);
	if (!rc)
		rc = artifact_call(c, a, call, pin->a->name,
				   unpack ? "unpack" : "", &dest, &v);
	if (rc)
		goto out;
	cc_add_content(c, call, &content);
out:
	buf_free(&v);
	buf_free(&dest);
	buf_free(&content);
	return rc;
}

/*
 * docker_image: a reference pinned by digest is pulled when the host lacks
 * it; the image of a docker_load artifact travels as the artifact's bytes
 * and is loaded unless the host loaded that tarball already.
 */
static int c_docker_image(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *n = ynode_get(a, "ref");
	const struct topology *t = c->ctx ? c->ctx->t : NULL;
	const struct artifact *art;
	const struct artifact_pin *pin = NULL;
	struct buf v = BUF_INIT, why = BUF_INIT, content = BUF_INIT;
	struct buf ids = BUF_INIT;
	int rc;

	rc = cc_render_one_line(c, n, cc_key_what(c, "ref"), &v);
	if (rc)
		goto out;
	if (image_ref_check(t, v.data, &why)) {
		/* The reference as written when it holds a secret. */
		rc = cc_fail_at(c, n, DEPLOY_ERR_INVALID, "%s '%s' %s",
				cc_key_what(c, "ref"),
				c->quiet ? n->value : v.data, why.data);
		goto out;
	}
	art = image_ref_artifact(t, v.data);
	if (!art) {
		buf_adds(call, " dp_docker_image pull");
		cc_args(call, "");
		cc_arg(call, v.data, v.len);
		goto out;
	}
	if (c->opts)
		pin = artifact_pin_find(c->opts->artifacts,
					c->opts->nr_artifacts, art->name);
	if (!pin || !pin->path) {
		rc = cc_fail_at(c, n, DEPLOY_ERR_NOT_FOUND,
				"%s.docker_image: artifact '%s' is not in "
				"the cache",
				c->step->what, art->name);
		goto out;
	}
	rc = docker_tar_image_ids(pin->path, v.data, &ids, c->err);
	if (rc) {
		rc = cc_fail_at(c, n, rc, "%s.docker_image: artifact '%s': %s",
				c->step->what, art->name, c->err->msg);
		goto out;
	}
	buf_adds(call, " dp_docker_image load");
	cc_args(call, art->name);
	cc_arg(call, v.data, v.len);
	cc_arg(call, ids.data, ids.len);
	if (c->opts->defer_artifacts && c->script) {
		/* The tarball travels beside the script, when the host's
		 * docker lacks the image (push.c). */
		cc_add_push(c, call, PUSH_DOCKER, art->name, v.data, pin->path,
			    pin->sha256, ids.data);
		goto out;
	}
	rc = read_embedded(c, n, "docker_image", art->name, pin->path,
			   &content);
	if (rc)
		goto out;
	cc_add_content(c, call, &content);
out:
	buf_free(&v);
	buf_free(&why);
	buf_free(&ids);
	buf_free(&content);
	return rc;
}

const compile_kind_fn compile_kinds[STEP_KIND_COUNT] = {
	[STEP_FILE] = c_file,
	[STEP_DIRECTORY] = c_directory,
	[STEP_LINE] = c_line,
	[STEP_APT] = c_apt,
	[STEP_SERVICE] = c_service,
	[STEP_USER] = c_user,
	[STEP_SYSCTL] = c_sysctl,
	[STEP_DOWNLOAD] = c_download,
	[STEP_SHELL] = c_shell,
	[STEP_COMMAND] = c_command,
	[STEP_WAIT] = c_wait,
	[STEP_ARTIFACT] = c_artifact,
	[STEP_DOCKER_IMAGE] = c_docker_image,
};
