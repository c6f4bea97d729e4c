/* SPDX-License-Identifier: MIT */
/* A playbook's key tables and the checks of its values (check.h). */

/*
 * The key tables below are walked by schema_check()
 * (core/topology/schema.c), as the topology's are, so a playbook reports
 * problems the same way: every one of them, at its file:line:col, unknown
 * keys with a "did you mean". Values that hold no template tag are checked
 * here too (absolute paths, modes, package names, regular expressions, that
 * a template exists and parses); values with tags are checked again once
 * rendered, by the compiler. Building the typed playbook is playbook.c's.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/check.h"
#include "playbook/playbook.h"
#include "playbook/values.h"
#include "template/template.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *const kind_names[STEP_KIND_COUNT + 1] = {
	[STEP_FILE] = "file",
	[STEP_DIRECTORY] = "directory",
	[STEP_LINE] = "line",
	[STEP_APT] = "apt",
	[STEP_SERVICE] = "service",
	[STEP_USER] = "user",
	[STEP_SYSCTL] = "sysctl",
	[STEP_DOWNLOAD] = "download",
	[STEP_SHELL] = "shell",
	[STEP_COMMAND] = "command",
	[STEP_WAIT] = "wait",
	[STEP_ARTIFACT] = "artifact",
	[STEP_DOCKER_IMAGE] = "docker_image",
	[STEP_MOUNT] = "mount",
	[STEP_KIND_COUNT] = NULL,
};

const char *step_kind_name(enum step_kind kind)
{
	return kind < STEP_KIND_COUNT ? kind_names[kind] : "?";
}

static struct playbook *pb_of(struct vctx *v)
{
	return ((struct pctx *)v)->pb;
}

static bool has_tag(const struct ynode *n)
{
	return n->kind == YNODE_SCALAR && strstr(n->value, "{{");
}

static bool is_scalar_value(const struct ynode *n)
{
	bool b;

	return n->kind == YNODE_SCALAR && !ynode_is_null(n) &&
	       ynode_bool(n, &b);
}

/* Checkers for values */

static void check_pb_name(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	if (!is_dns_label(n->value) && !is_identifier(n->value))
		verror(v, n,
		       "%s '%s' is not a playbook name: use lowercase letters, "
		       "digits, '-' and '_' (it names notification files)",
		       what, n->value);
}

static void check_step_name(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	if (!n->len || n->len > 200) {
		verror(v, n, "%s must be 1 to 200 characters", what);
		return;
	}
	for (size_t i = 0; i < n->len; i++) {
		if ((unsigned char)n->value[i] < 0x20 || n->value[i] == 0x7f) {
			verror(v, n,
			       "%s must be one line of text, without control "
			       "characters",
			       what);
			return;
		}
	}
}

static void check_mode(struct vctx *v, const struct ynode *n, const char *what)
{
	unsigned m;

	if (!is_scalar_value(n)) {
		verror(v, n,
		       "%s must be an octal mode such as \"0644\", not %s",
		       what, ynode_describe(n));
		return;
	}
	if (!has_tag(n) && val_parse_mode(n->value, &m))
		verror(v, n,
		       "%s '%s' is not an octal mode such as \"0644\" or "
		       "\"0755\"",
		       what, n->value);
}

static void check_owner(struct vctx *v, const struct ynode *n, const char *what)
{
	if (!is_scalar_value(n) || !n->len)
		verror(v, n, "%s must be a name or a number, not %s", what,
		       ynode_describe(n));
}

static void check_abs_path(struct vctx *v, const struct ynode *n,
			   const char *what)
{
	if (!n->len)
		verror(v, n, "%s is empty", what);
	else if (!has_tag(n) && n->value[0] != '/')
		verror(v, n, "%s '%s' must be an absolute path", what,
		       n->value);
	else if (strlen(n->value) != n->len)
		verror(v, n, "%s holds a NUL character", what);
}

/* A template or a file beside the playbook: it must be there. */
static void check_file_ref(struct vctx *v, const struct ynode *n,
			   const char *what, bool is_template)
{
	struct playbook *pb = pb_of(v);
	struct buf text = BUF_INIT;
	struct template *t = NULL;
	struct error err;
	char *path = NULL;

	if (!n->len) {
		verror(v, n, "%s is empty", what);
		return;
	}
	if (has_tag(n))
		return;
	if (playbook_find_file(pb, n->value, is_template, &path)) {
		verror(v, n, "%s: no such file '%s'%s", what, n->value,
		       is_template ? " (looked beside the playbook and in "
				     "the built-in templates)"
				   : " (paths are relative to the playbook)");
		return;
	}
	if (!is_template)
		goto out;
	/* Report a template's syntax error now, at its own position. */
	error_init(&err);
	buf_init(&text, YTREE_MAX_BYTES);
	if (buf_read_file(&text, path)) {
		verror(v, n, "%s: cannot read '%s'", what, path);
	} else if (template_parse(path, text.data, text.len, &t, &err)) {
		diag_add(v->dl, DIAG_ERROR, err.file, err.line, err.col, "%s",
			 err.msg);
	}
	template_free(t);
	error_clear(&err);
	buf_free(&text);
out:
	free(path);
}

static void check_template_ref(struct vctx *v, const struct ynode *n,
			       const char *what)
{
	check_file_ref(v, n, what, true);
}

static void check_src_ref(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	check_file_ref(v, n, what, false);
}

/* A secret of the topology's by its name: the file's content. */
static void check_secret_ref(struct vctx *v, const struct ynode *n,
			     const char *what)
{
	if (!n->len)
		verror(v, n, "%s is empty", what);
	else if (!has_tag(n) && !is_identifier(n->value))
		verror(v, n,
		       "%s '%s' is not a secret's name (a key of the "
		       "topology's 'secrets')",
		       what, n->value);
}

static void check_regexp(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	regex_t re;
	char why[200];
	int rc;

	if (has_tag(n))
		return;
	rc = regcomp(&re, n->value, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, &re, why, sizeof(why));
		verror(v, n,
		       "%s '%s' is not a POSIX extended regular "
		       "expression: %s",
		       what, n->value, why);
		return;
	}
	regfree(&re);
}

static void check_one_line(struct vctx *v, const struct ynode *n,
			   const char *what)
{
	if (strchr(n->value, '\n') || strlen(n->value) != n->len)
		verror(v, n, "%s must be one line", what);
}

static void check_package(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	if (!ynode_is_string(n)) {
		verror(v, n, "%s must be a package name, not %s", what,
		       ynode_describe(n));
		return;
	}
	if (has_tag(n))
		return;
	if (strchr(n->value, '='))
		verror(v, n,
		       "%s '%s': version pins are not supported; name the "
		       "package alone",
		       what, n->value);
	else if (!val_is_package(n->value))
		verror(v, n, "%s '%s' is not a Debian package name", what,
		       n->value);
}

static void check_packages(struct vctx *v, const struct ynode *n,
			   const char *what)
{
	struct buf w = BUF_INIT;

	if (n->kind == YNODE_SCALAR) {
		check_package(v, n, what);
		return;
	}
	if (n->kind != YNODE_SEQ) {
		verror(v, n, "%s must be a package name or a list of them",
		       what);
		return;
	}
	if (!n->nr)
		verror(v, n, "%s is empty", what);
	for (size_t i = 0; i < n->nr; i++) {
		buf_reset(&w);
		buf_addf(&w, "%s[%zu]", what, i);
		check_package(v, n->items[i], w.data);
	}
	buf_free(&w);
}

/* An integer, or a string with a template that renders to one. */
static void check_int_or_tag(struct vctx *v, const struct ynode *n,
			     const char *what, long lo, long hi)
{
	long i;

	if (!ynode_int(n, &i)) {
		if (i < lo || i > hi)
			verror(v, n, "%s must be from %ld to %ld, not %ld",
			       what, lo, hi, i);
		return;
	}
	if (!ynode_is_string(n) || !has_tag(n))
		verror(v, n, "%s must be an integer from %ld to %ld, not %s",
		       what, lo, hi, ynode_describe(n));
}

static void check_port(struct vctx *v, const struct ynode *n, const char *what)
{
	check_int_or_tag(v, n, what, 1, 65535);
}

static void check_status(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	check_int_or_tag(v, n, what, 100, 599);
}

static void check_seconds(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	check_int_or_tag(v, n, what, 1, 86400);
}

static void check_age(struct vctx *v, const struct ynode *n, const char *what)
{
	check_int_or_tag(v, n, what, 0, 31536000);
}

/* A scalar of any type: a digest of digits alone reads as a number. */
static void check_sha256(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	if (n->kind != YNODE_SCALAR)
		verror(v, n, "%s must be a SHA-256 digest, not %s", what,
		       ynode_describe(n));
	else if (!has_tag(n) && !val_is_sha256(n->value))
		verror(v, n, "%s '%s' is not a SHA-256 digest (64 hex digits)",
		       what, n->value);
}

static void check_pb_url(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	if (!has_tag(n))
		check_url(v, n, what);
}

static void check_unit(struct vctx *v, const struct ynode *n, const char *what)
{
	if (!has_tag(n) && !val_is_unit(n->value))
		verror(v, n, "%s '%s' is not a systemd unit name", what,
		       n->value);
}

static void check_user_name(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	if (!has_tag(n) && !val_is_user(n->value))
		verror(v, n,
		       "%s '%s' is not a user name: lowercase letters, digits, "
		       "'_' and '-', starting with a letter or '_'",
		       what, n->value);
}

static void check_sysctl_key(struct vctx *v, const struct ynode *n,
			     const char *what)
{
	(void)what;
	if (!val_is_sysctl_key(n->value))
		verror(v, n,
		       "sysctl key '%s' is not a kernel parameter name such "
		       "as net.ipv4.tcp_syncookies",
		       n->value);
}

static void check_sysctl_value(struct vctx *v, const struct ynode *n,
			       const char *what)
{
	if (!is_scalar_value(n))
		verror(v, n, "%s must be a number or a string, not %s", what,
		       ynode_describe(n));
	else if (strchr(n->value, '\n'))
		verror(v, n, "%s must be one line", what);
}

static void check_shell_code(struct vctx *v, const struct ynode *n,
			     const char *what)
{
	const char *why = shell_code_problem(n->value);

	if (!n->len)
		verror(v, n, "%s is empty", what);
	else if (why)
		verror(v, n, "%s: %s", what, why);
}

static void check_notify(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	if (n->kind == YNODE_SEQ) {
		for (size_t i = 0; i < n->nr; i++)
			if (!ynode_is_string(n->items[i]))
				verror(v, n->items[i],
				       "%s entries are handler names, not %s",
				       what, ynode_describe(n->items[i]));
		return;
	}
	if (!ynode_is_string(n))
		verror(v, n, "%s must be a handler's name or a list of them",
		       what);
}

/* Value specs */

static const struct vspec vs_str = { .type = VT_STRING };
static const struct vspec vs_bool = { .type = VT_BOOL };
static const struct vspec vs_any = { .type = VT_ANY };
static const struct vspec vs_abs_path = { .type = VT_STRING,
					  .check = check_abs_path };
static const struct vspec vs_mode = { .type = VT_ANY, .check = check_mode };
static const struct vspec vs_owner = { .type = VT_ANY, .check = check_owner };
static const struct vspec vs_template = { .type = VT_STRING,
					  .check = check_template_ref };
static const struct vspec vs_src = { .type = VT_STRING,
				     .check = check_src_ref };
static const struct vspec vs_secret_ref = { .type = VT_STRING,
					    .check = check_secret_ref };
static const struct vspec vs_shell_code = { .type = VT_STRING,
					    .check = check_shell_code };
static const char *const present_absent[] = { "present", "absent", NULL };
static const struct vspec vs_state = { .type = VT_STRING,
				       .choices = present_absent };

static bool has_unknown_key(const struct ynode *n, const struct key_spec *keys)
{
	for (size_t i = 0; i < n->nr; i++) {
		const struct key_spec *k = keys;

		while (k->name && strcmp(k->name, n->pairs[i].key->value))
			k++;
		if (!k->name)
			return true;
	}
	return false;
}

/* file */

static const struct key_spec file_keys[] = {
	{ "path", &vs_abs_path, KEY_REQUIRED, NULL, "path: /etc/app.conf" },
	{ "content", &vs_str, 0, NULL, "content: \"key = value\\n\"" },
	{ "template", &vs_template, 0, NULL, "template: app.conf.mustache" },
	{ "src", &vs_src, 0, NULL, "src: files/app.conf" },
	{ "secret", &vs_secret_ref, 0, NULL, "secret: node_key" },
	{ "mode", &vs_mode, 0, "0644 for a new file, else kept", NULL },
	{ "owner", &vs_owner, 0, "root for a new file, else kept", NULL },
	{ "group", &vs_owner, 0, "root for a new file, else kept", NULL },
	{ "state", &vs_state, 0, "present", NULL },
	{ "validate", &vs_shell_code, 0, "none", "validate: sshd -t" },
	{ 0 },
};

static void check_file(struct vctx *v, const struct ynode *n, const char *what)
{
	static const char *const sources[] = { "content", "template", "src",
					       "secret" };
	const struct ynode *state = ynode_get(n, "state");
	bool absent = ynode_is_string(state) && !strcmp(state->value, "absent");
	const struct ynode *first = NULL;
	size_t nr = 0;

	for (size_t i = 0; i < 4; i++) {
		const struct ypair *p = ynode_get_pair(n, sources[i]);

		if (!p)
			continue;
		if (absent) {
			verror(v, p->key,
			       "%s: '%s' makes no sense with 'state: absent'",
			       what, sources[i]);
		} else if (first) {
			verror(v, p->key,
			       "%s has both '%s' and '%s': give exactly one of "
			       "content, template, src and secret",
			       what, first->value, sources[i]);
		}
		if (!first)
			first = p->key;
		nr++;
	}
	if (!nr && !absent && !has_unknown_key(n, file_keys))
		verror(v, n,
		       "%s needs one of 'content', 'template', 'src' or "
		       "'secret' (or 'state: absent')",
		       what);
}

static const struct vspec vs_file = { .type = VT_MAP,
				      .keys = file_keys,
				      .check = check_file };

/* directory */

static const struct key_spec directory_keys[] = {
	{ "path", &vs_abs_path, KEY_REQUIRED, NULL, "path: /srv/app" },
	{ "mode", &vs_mode, 0, "0755 for a new directory, else kept", NULL },
	{ "owner", &vs_owner, 0, "root for a new directory, else kept", NULL },
	{ "group", &vs_owner, 0, "root for a new directory, else kept", NULL },
	{ 0 },
};

static const struct vspec vs_directory = { .type = VT_MAP,
					   .keys = directory_keys };

/* line */

static const struct vspec vs_line_text = { .type = VT_STRING,
					   .check = check_one_line };
static const struct vspec vs_regexp = { .type = VT_STRING,
					.check = check_regexp };

static const struct key_spec line_keys[] = {
	{ "path", &vs_abs_path, KEY_REQUIRED, NULL, "path: /etc/hosts" },
	{ "line", &vs_line_text, 0, NULL, "line: \"10.0.0.2 validator\"" },
	{ "regexp", &vs_regexp, 0, "none",
	  "regexp: \"^10\\\\.0\\\\.0\\\\.2 \"" },
	{ "state", &vs_state, 0, "present", NULL },
	{ "create", &vs_bool, 0, "false", NULL },
	{ 0 },
};

static void check_line(struct vctx *v, const struct ynode *n, const char *what)
{
	const struct ynode *state = ynode_get(n, "state");
	bool absent = ynode_is_string(state) && !strcmp(state->value, "absent");

	if (!absent && !ynode_get(n, "line"))
		verror(v, n, "missing key 'line' in %s (e.g. '%s')", what,
		       line_keys[1].example);
	if (absent && !ynode_get(n, "line") && !ynode_get(n, "regexp"))
		verror(v, n,
		       "%s with 'state: absent' needs 'regexp' or 'line': "
		       "which lines to remove",
		       what);
}

static const struct vspec vs_line = { .type = VT_MAP,
				      .keys = line_keys,
				      .check = check_line };

/* apt */

static const struct vspec vs_packages = { .type = VT_ANY,
					  .check = check_packages };
static const struct vspec vs_age = { .type = VT_ANY, .check = check_age };

static const struct key_spec apt_keys[] = {
	{ "packages", &vs_packages, KEY_REQUIRED, NULL,
	  "packages: [nginx, curl]" },
	{ "state", &vs_state, 0, "present", NULL },
	{ "cache_valid_time", &vs_age, 0, "3600", NULL },
	{ "recommends", &vs_bool, 0, "true", NULL },
	{ 0 },
};

static const struct vspec vs_apt = { .type = VT_MAP, .keys = apt_keys };

/* service */

static const struct vspec vs_unit = { .type = VT_STRING, .check = check_unit };
static const char *const service_states[] = { "started", "stopped", "restarted",
					      "reloaded", NULL };
static const struct vspec vs_service_state = { .type = VT_STRING,
					       .choices = service_states };

static const struct key_spec service_keys[] = {
	{ "name", &vs_unit, KEY_REQUIRED, NULL, "name: nginx" },
	{ "enabled", &vs_bool, 0, "left as it is", NULL },
	{ "state", &vs_service_state, 0, "left as it is", NULL },
	{ "daemon_reload", &vs_bool, 0, "false", NULL },
	{ 0 },
};

static void check_service(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	if (!ynode_get(n, "enabled") && !ynode_get(n, "state") &&
	    !ynode_get(n, "daemon_reload"))
		verror(v, n,
		       "%s does nothing: add 'enabled', 'state' or "
		       "'daemon_reload'",
		       what);
}

static const struct vspec vs_service = { .type = VT_MAP,
					 .keys = service_keys,
					 .check = check_service };

/* user */

static const struct vspec vs_user_name = { .type = VT_STRING,
					   .check = check_user_name };
static const struct vspec vs_user_names = { .type = VT_SEQ,
					    .items = &vs_user_name };
static const struct vspec vs_key_line = { .type = VT_STRING,
					  .check = check_one_line };
static const struct vspec vs_keys = { .type = VT_SEQ, .items = &vs_key_line };

static const struct key_spec user_keys[] = {
	{ "name", &vs_user_name, KEY_REQUIRED, NULL, "name: admin" },
	{ "groups", &vs_user_names, 0, "[]", "groups: [docker]" },
	{ "shell", &vs_abs_path, 0, "useradd's default", "shell: /bin/bash" },
	{ "authorized_keys", &vs_keys, 0, "left as they are",
	  "authorized_keys: [\"ssh-ed25519 AAAA... admin@laptop\"]" },
	{ "sudo", &vs_bool, 0, "left as it is", NULL },
	{ 0 },
};

static const struct vspec vs_user = { .type = VT_MAP, .keys = user_keys };

/* sysctl */

static const struct vspec vs_sysctl_value = { .type = VT_ANY,
					      .check = check_sysctl_value };
static const struct vspec vs_sysctl_settings = { .type = VT_DICT,
						 .min = 1,
						 .items = &vs_sysctl_value,
						 .check_key = check_sysctl_key,
						 .key_what = "sysctl key" };

static const struct key_spec sysctl_keys[] = {
	{ "file", &vs_abs_path, KEY_REQUIRED, NULL,
	  "file: /etc/sysctl.d/60-app.conf" },
	{ "settings", &vs_sysctl_settings, KEY_REQUIRED, NULL,
	  "settings: {vm.swappiness: 10}" },
	{ "apply", &vs_bool, 0, "true", NULL },
	{ 0 },
};

static const struct vspec vs_sysctl = { .type = VT_MAP, .keys = sysctl_keys };

/* download */

static const struct vspec vs_pb_url = { .type = VT_STRING,
					.check = check_pb_url };
static const struct vspec vs_sha256 = { .type = VT_ANY, .check = check_sha256 };

static const struct key_spec download_keys[] = {
	{ "url", &vs_pb_url, KEY_REQUIRED, NULL,
	  "url: https://example.com/tool.tar.gz" },
	{ "sha256", &vs_sha256, KEY_REQUIRED, NULL,
	  "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
	{ "dest", &vs_abs_path, KEY_REQUIRED, NULL,
	  "dest: /usr/local/bin/tool" },
	{ "mode", &vs_mode, 0, "0644 for a new file, else kept", NULL },
	{ "owner", &vs_owner, 0, "root for a new file, else kept", NULL },
	{ "group", &vs_owner, 0, "root for a new file, else kept", NULL },
	{ 0 },
};

static const struct vspec vs_download = { .type = VT_MAP,
					  .keys = download_keys };

/* artifact: a file from the topology's artifacts: */

static const struct key_spec artifact_keys[] = {
	{ "name", &vs_string, KEY_REQUIRED, NULL, "name: neard" },
	{ "dest", &vs_abs_path, KEY_REQUIRED, NULL,
	  "dest: /usr/local/bin/neard" },
	{ "unpack", &vs_bool, 0, "the artifact's unpack", NULL },
	{ "mode", &vs_mode, 0, "0644 for a new file, else kept", NULL },
	{ "owner", &vs_owner, 0, "root for a new file, else kept", NULL },
	{ "group", &vs_owner, 0, "root for a new file, else kept", NULL },
	{ 0 },
};

static const struct vspec vs_artifact = { .type = VT_MAP,
					  .keys = artifact_keys };

/* docker_image: a pinned image on the host (topology/image.h) */

static const struct key_spec docker_image_keys[] = {
	{ "ref", &vs_string, KEY_REQUIRED, NULL,
	  "ref: \"{{vars.icon_image}}\"" },
	{ 0 },
};

static const struct vspec vs_docker_image = { .type = VT_MAP,
					      .keys = docker_image_keys };

/* shell and command: a string, or a mapping with guards */

static const struct vspec vs_dir = { .type = VT_STRING,
				     .check = check_abs_path };

static const struct key_spec shell_keys[] = {
	{ "cmd", &vs_shell_code, KEY_REQUIRED, NULL,
	  "cmd: ./configure && make" },
	{ "creates", &vs_abs_path, 0, "none", "creates: /usr/local/bin/app" },
	{ "unless", &vs_shell_code, 0, "none", "unless: test -e /srv/done" },
	{ "chdir", &vs_dir, 0, "/", NULL },
	{ 0 },
};

static const struct vspec vs_shell_map = { .type = VT_MAP, .keys = shell_keys };

static void check_shell(struct vctx *v, const struct ynode *n, const char *what)
{
	if (n->kind == YNODE_MAP)
		schema_check(v, n, &vs_shell_map, what);
	else if (ynode_is_string(n))
		check_shell_code(v, n, what);
	else
		verror(v, n,
		       "%s must be a command or a mapping with 'cmd', "
		       "not %s",
		       what, ynode_describe(n));
}

static void check_command_text(struct vctx *v, const struct ynode *n,
			       const char *what)
{
	const char *why = NULL;
	char **argv = NULL;
	size_t argc = 0;

	if (!n->len) {
		verror(v, n, "%s is empty", what);
		return;
	}
	if (command_split(n->value, &argv, &argc, &why))
		verror(v, n, "%s: %s", what, why);
	command_argv_free(argv, argc);
}

static const struct vspec vs_command_text = { .type = VT_STRING,
					      .check = check_command_text };
static const struct vspec vs_argv = { .type = VT_SEQ,
				      .min = 1,
				      .items = &vs_str };

static const struct key_spec command_keys[] = {
	{ "cmd", &vs_command_text, 0, NULL, "cmd: systemctl daemon-reload" },
	{ "argv", &vs_argv, 0, NULL, "argv: [touch, /srv/done]" },
	{ "creates", &vs_abs_path, 0, "none", "creates: /srv/done" },
	{ "unless", &vs_shell_code, 0, "none", "unless: test -e /srv/done" },
	{ "chdir", &vs_dir, 0, "/", NULL },
	{ 0 },
};

static void check_command_map(struct vctx *v, const struct ynode *n,
			      const char *what)
{
	bool cmd = ynode_get(n, "cmd"), argv = ynode_get(n, "argv");

	if (cmd == argv)
		verror(v, n, "%s needs exactly one of 'cmd' and 'argv'", what);
}

static const struct vspec vs_command_map = { .type = VT_MAP,
					     .keys = command_keys,
					     .check = check_command_map };

static void check_command(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	if (n->kind == YNODE_MAP)
		schema_check(v, n, &vs_command_map, what);
	else if (ynode_is_string(n))
		check_command_text(v, n, what);
	else
		verror(v, n,
		       "%s must be a command or a mapping with 'cmd' or "
		       "'argv', not %s",
		       what, ynode_describe(n));
}

/* wait */

static const struct vspec vs_port = { .type = VT_ANY, .check = check_port };
static const struct vspec vs_status = { .type = VT_ANY, .check = check_status };
static const struct vspec vs_seconds = { .type = VT_ANY,
					 .check = check_seconds };

static const struct key_spec wait_keys[] = {
	{ "port", &vs_port, 0, NULL, "port: 9000" },
	{ "host", &vs_str, 0, "127.0.0.1", NULL },
	{ "url", &vs_pb_url, 0, NULL, "url: http://127.0.0.1:9000/health" },
	{ "status", &vs_status, 0, "200", NULL },
	{ "command", &vs_shell_code, 0, NULL,
	  "command: test -S /run/app.sock" },
	{ "timeout", &vs_seconds, 0, "60", NULL },
	{ "interval", &vs_seconds, 0, "2", NULL },
	{ 0 },
};

static void check_wait(struct vctx *v, const struct ynode *n, const char *what)
{
	int nr = !!ynode_get(n, "port") + !!ynode_get(n, "url") +
		 !!ynode_get(n, "command");
	const struct ypair *p;

	if (nr != 1)
		verror(v, n,
		       "%s needs exactly one of 'port' (TCP), 'url' (HTTP) and "
		       "'command'",
		       what);
	p = ynode_get_pair(n, "host");
	if (p && !ynode_get(n, "port"))
		verror(v, p->key, "%s: 'host' goes with 'port'", what);
	p = ynode_get_pair(n, "status");
	if (p && !ynode_get(n, "url"))
		verror(v, p->key, "%s: 'status' goes with 'url'", what);
}

static const struct vspec vs_wait = { .type = VT_MAP,
				      .keys = wait_keys,
				      .check = check_wait };

/* mount: a block device's file system, made when it has none, mounted */

/* device: a path, a list of them (the first that appears), or one
 * variable naming such a list ("{{role.disk.devices}}"). */
static void check_device(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	char *path;

	if (n->kind == YNODE_SEQ) {
		if (!n->nr)
			verror(v, n, "%s is an empty list", what);
		for (size_t i = 0; i < n->nr; i++)
			if (!ynode_is_string(n->items[i]))
				verror(v, n->items[i],
				       "%s entries are device paths, not %s",
				       what, ynode_describe(n->items[i]));
			else
				check_abs_path(v, n->items[i], what);
		return;
	}
	if (!ynode_is_string(n)) {
		verror(v, n,
		       "%s must be a device path or a list of them, not %s",
		       what, ynode_describe(n));
		return;
	}
	path = loop_var_path(n->value);
	if (!path)
		check_abs_path(v, n, what);
	free(path);
}

static void check_fstype(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	size_t i = 0;

	if (has_tag(n))
		return;
	while (n->value[i] >= 'a' && n->value[i] <= 'z')
		i++;
	while ((n->value[i] >= 'a' && n->value[i] <= 'z') ||
	       (n->value[i] >= '0' && n->value[i] <= '9'))
		i++;
	if (!n->len || i != n->len)
		verror(v, n, "%s '%s' is not a file system type such as ext4",
		       what, n->value);
}

static void check_mount_options(struct vctx *v, const struct ynode *n,
				const char *what)
{
	if (has_tag(n))
		return;
	for (size_t i = 0; i < n->len; i++)
		if ((unsigned char)n->value[i] <= ' ' || n->value[i] == '#') {
			verror(v, n,
			       "%s '%s' must be options separated by commas, "
			       "without blanks",
			       what, n->value);
			return;
		}
}

static const struct vspec vs_device = { .type = VT_ANY, .check = check_device };
static const struct vspec vs_fstype = { .type = VT_STRING,
					.check = check_fstype };
static const struct vspec vs_mount_options = { .type = VT_STRING,
					       .check = check_mount_options };

static const struct key_spec mount_keys[] = {
	{ "path", &vs_abs_path, KEY_REQUIRED, NULL, "path: /data" },
	{ "device", &vs_device, KEY_REQUIRED, NULL,
	  "device: /dev/disk/by-id/google-data" },
	{ "fstype", &vs_fstype, 0, "ext4", NULL },
	{ "options", &vs_mount_options, 0, "defaults", NULL },
	{ "timeout", &vs_seconds, 0, "120", NULL },
	{ 0 },
};

static const struct vspec vs_mount = { .type = VT_MAP, .keys = mount_keys };

/* loop and item: a step run once per item of a list */

char *loop_var_path(const char *text)
{
	const char *p = text, *end;
	size_t n;

	if (strncmp(p, "{{", 2))
		return NULL;
	p += 2;
	while (*p == ' ')
		p++;
	end = p;
	while ((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z') ||
	       (*end >= '0' && *end <= '9') || *end == '_' || *end == '-' ||
	       *end == '.')
		end++;
	n = (size_t)(end - p);
	if (!n || p[0] == '.' || p[n - 1] == '.')
		return NULL;
	for (size_t i = 1; i < n; i++)
		if (p[i] == '.' && p[i - 1] == '.')
			return NULL;
	while (*end == ' ')
		end++;
	if (strcmp(end, "}}"))
		return NULL;
	return xstrndup(p, n);
}

static void check_loop(struct vctx *v, const struct ynode *n, const char *what)
{
	char *path;

	if (n->kind == YNODE_SEQ) {
		if (n->nr > PLAYBOOK_MAX_LOOP)
			verror(v, n, "%s has more than %d items", what,
			       PLAYBOOK_MAX_LOOP);
		return;
	}
	path = ynode_is_string(n) ? loop_var_path(n->value) : NULL;
	if (!path)
		verror(v, n,
		       "%s must be a list or one variable such as "
		       "\"{{vars.files}}\" (nothing around it), not %s",
		       what, ynode_describe(n));
	free(path);
}

static bool in_names(const struct ynode *seq, const char *name)
{
	for (size_t i = 0; seq && seq->kind == YNODE_SEQ && i < seq->nr; i++)
		if (ynode_is_string(seq->items[i]) &&
		    !strcmp(seq->items[i]->value, name))
			return true;
	return false;
}

/* Each of files: is a key an item has (required or with a default); a
 * key is not both required and defaulted. */
static void check_item(struct vctx *v, const struct ynode *n, const char *what)
{
	const struct ynode *req = ynode_get(n, "required");
	const struct ynode *def = ynode_get(n, "defaults");
	const struct ynode *files = ynode_get(n, "files");

	for (size_t i = 0; files && files->kind == YNODE_SEQ && i < files->nr;
	     i++) {
		const struct ynode *f = files->items[i];

		if (ynode_is_string(f) && !in_names(req, f->value) &&
		    !ynode_get(def, f->value))
			verror(v, f,
			       "%s.files: '%s' is not a key of the item: name "
			       "it under 'required' or 'defaults'",
			       what, f->value);
	}
	for (size_t i = 0; req && req->kind == YNODE_SEQ && i < req->nr; i++)
		if (ynode_is_string(req->items[i]) &&
		    ynode_get(def, req->items[i]->value))
			verror(v, req->items[i],
			       "%s: '%s' is both required and given a "
			       "default; keep one",
			       what, req->items[i]->value);
}

static const struct vspec vs_loop = { .type = VT_ANY, .check = check_loop };
static const struct vspec vs_item_key = { .type = VT_STRING,
					  .check = check_identifier };
static const struct vspec vs_item_keys = { .type = VT_SEQ,
					   .min = 1,
					   .items = &vs_item_key };
static const struct vspec vs_item_defaults = { .type = VT_DICT,
					       .items = &vs_any,
					       .check_key = check_identifier,
					       .key_what = "item key" };

static const struct key_spec item_keys[] = {
	{ "required", &vs_item_keys, 0, "[]", "required: [path, template]" },
	{ "defaults", &vs_item_defaults, 0, "{}",
	  "defaults: {mode: \"0640\"}" },
	{ "files", &vs_item_keys, 0, "[]", "files: [template]" },
	{ 0 },
};

static const struct vspec vs_item = { .type = VT_MAP,
				      .keys = item_keys,
				      .check = check_item };

/* steps and handlers */

static const struct vspec vs_shell = { .type = VT_ANY, .check = check_shell };
static const struct vspec vs_command = { .type = VT_ANY,
					 .check = check_command };
static const struct vspec vs_step_name = { .type = VT_STRING,
					   .check = check_step_name };
static const struct vspec vs_when = { .type = VT_ANY, .check = when_check };
static const struct vspec vs_notify = { .type = VT_ANY, .check = check_notify };

/* A handler is a step with a name and no notify (check_handler). */
static const struct key_spec step_keys[] = {
	{ "name", &vs_step_name, 0, NULL, NULL },
	{ "when", &vs_when, 0, NULL, NULL },
	{ "notify", &vs_notify, 0, NULL, NULL },
	{ "changed", &vs_bool, 0, "true", NULL },
	{ "loop", &vs_loop, 0, NULL, NULL },
	{ "item", &vs_item, 0, NULL, NULL },
	{ "file", &vs_file, 0, NULL, NULL },
	{ "directory", &vs_directory, 0, NULL, NULL },
	{ "line", &vs_line, 0, NULL, NULL },
	{ "apt", &vs_apt, 0, NULL, NULL },
	{ "service", &vs_service, 0, NULL, NULL },
	{ "user", &vs_user, 0, NULL, NULL },
	{ "sysctl", &vs_sysctl, 0, NULL, NULL },
	{ "download", &vs_download, 0, NULL, NULL },
	{ "shell", &vs_shell, 0, NULL, NULL },
	{ "command", &vs_command, 0, NULL, NULL },
	{ "wait", &vs_wait, 0, NULL, NULL },
	{ "artifact", &vs_artifact, 0, NULL, NULL },
	{ "docker_image", &vs_docker_image, 0, NULL, NULL },
	{ "mount", &vs_mount, 0, NULL, NULL },
	{ 0 },
};

static const struct vspec vs_step_map = { .type = VT_MAP, .keys = step_keys };

int step_kind_of(const char *key)
{
	for (int k = 0; k < STEP_KIND_COUNT; k++)
		if (!strcmp(kind_names[k], key))
			return k;
	return -1;
}

static void check_kinds(struct vctx *v, const struct ynode *n, const char *what,
			const struct key_spec *keys)
{
	const struct ynode *first = NULL;

	if (n->kind != YNODE_MAP)
		return;
	for (size_t i = 0; i < n->nr; i++) {
		const struct ynode *key = n->pairs[i].key;

		if (step_kind_of(key->value) < 0)
			continue;
		if (first)
			verror(v, key,
			       "%s has two kinds, '%s' and '%s': a step does "
			       "one thing; split it in two",
			       what, first->value, key->value);
		else
			first = key;
	}
	/* An unknown key already said what is wrong ("did you mean"). */
	if (!first && !has_unknown_key(n, keys))
		verror(v, n,
		       "%s has no kind: add one of file, directory, line, apt, "
		       "service, user, sysctl, download, shell, command, wait, "
		       "artifact, docker_image, mount",
		       what);
}

/*
 * changed: false marks a shell or command step read-only: it reports ok
 * when it ran, so it can neither count as a change nor notify.
 */
static void check_changed(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	const struct ypair *p = ynode_get_pair(n, "changed");
	bool b;

	if (!p || ynode_bool(p->value, &b))
		return;
	if (!ynode_get(n, "shell") && !ynode_get(n, "command"))
		verror(v, p->key,
		       "%s: 'changed' applies to shell and command steps "
		       "only; the other kinds report changes themselves",
		       what);
	else if (!b && ynode_get(n, "notify"))
		verror(v, ynode_get_pair(n, "notify")->key,
		       "%s: a step with 'changed: false' never changes, so "
		       "it would never notify; remove one of the two",
		       what);
}

static void check_step(struct vctx *v, const struct ynode *n, const char *what)
{
	if (n->kind != YNODE_MAP) {
		verror(v, n,
		       "%s must be a mapping such as '{name: ..., file: "
		       "{...}}', not %s",
		       what, ynode_describe(n));
		return;
	}
	schema_check(v, n, &vs_step_map, what);
	check_kinds(v, n, what, step_keys);
	check_changed(v, n, what);
	if (ynode_get(n, "item") && !ynode_get(n, "loop"))
		verror(v, ynode_get_pair(n, "item")->key,
		       "%s: 'item' describes the items of a 'loop'; the step "
		       "has none",
		       what);
}

static void check_handler(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	if (n->kind != YNODE_MAP) {
		verror(v, n,
		       "%s must be a mapping with a name and a kind, not "
		       "%s",
		       what, ynode_describe(n));
		return;
	}
	if (ynode_get(n, "notify"))
		verror(v, ynode_get_pair(n, "notify")->key,
		       "%s: a handler cannot notify other handlers; give the "
		       "step that notifies it both names",
		       what);
	if (!ynode_get(n, "name"))
		verror(v, n,
		       "missing key 'name' in %s (e.g. 'name: reload "
		       "nginx'): steps notify a handler by its name",
		       what);
	if (ynode_get(n, "loop") || ynode_get(n, "item"))
		verror(v,
		       ynode_get_pair(n, ynode_get(n, "loop") ? "loop" : "item")
			       ->key,
		       "%s: a handler runs once; loop in the step that "
		       "notifies it",
		       what);
	schema_check(v, n, &vs_step_map, what);
	check_kinds(v, n, what, step_keys);
	check_changed(v, n, what);
}

static const struct vspec vs_step = { .type = VT_ANY, .check = check_step };
static const struct vspec vs_handler = { .type = VT_ANY,
					 .check = check_handler };
static const struct vspec vs_steps = { .type = VT_SEQ, .items = &vs_step };
static const struct vspec vs_handlers = { .type = VT_SEQ,
					  .items = &vs_handler };
static const struct vspec vs_pb_name = { .type = VT_STRING,
					 .check = check_pb_name };
static const struct vspec vs_vars = { .type = VT_DICT,
				      .items = &vs_any,
				      .check_key = check_identifier,
				      .key_what = "variable name" };

/* disk_vars: a path relative to the data disk's mount, inside it. */
static void check_disk_path(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	const char *p = n->value;
	bool bad = !n->len || p[0] == '/' || strlen(p) != n->len ||
		   strstr(p, "{{");

	for (size_t i = 0; !bad && i < n->len; i++) {
		size_t len = strcspn(p + i, "/");

		bad = (unsigned char)p[i] < 0x20 || !len ||
		      (len == 2 && !strncmp(p + i, "..", 2));
		for (size_t j = i; !bad && j < i + len; j++)
			bad = (unsigned char)p[j] <= 0x20 || p[j] == 0x7f;
		i += len;
	}
	if (bad)
		verror(v, n,
		       "%s '%s' must be a path under the data disk's mount, "
		       "such as 'node' (relative, no '..', no blanks)",
		       what, p);
}

static const struct vspec vs_disk_path = { .type = VT_STRING,
					   .check = check_disk_path };
static const struct vspec vs_disk_vars = { .type = VT_DICT,
					   .items = &vs_disk_path,
					   .check_key = check_identifier,
					   .key_what = "variable name" };

static const struct key_spec playbook_keys[] = {
	{ "name", &vs_pb_name, KEY_REQUIRED, NULL, "name: node" },
	{ "description", &vs_str, 0, "none", NULL },
	{ "vars", &vs_vars, 0, "{}", NULL },
	{ "disk_vars", &vs_disk_vars, 0, "{}",
	  "disk_vars: {node_data_dir: node}" },
	{ "steps", &vs_steps, KEY_REQUIRED, NULL,
	  "steps: [{name: ..., file: {...}}]" },
	{ "handlers", &vs_handlers, 0, "[]", NULL },
	{ "health", &vs_health, 0, "[]", NULL },
	{ 0 },
};

const struct vspec playbook_schema = { .type = VT_MAP, .keys = playbook_keys };
