/* SPDX-License-Identifier: MIT */
/*
 * Compiling a host's playbooks into one POSIX sh script.
 *
 * The script is the runtime library (runtime.sh, embedded at build time),
 * then one line per step inside a function that is called on the last
 * line. Each line calls a step kind of the library with every value as one
 * single-quoted word: what a value holds ($(...), backquotes, quotes,
 * newlines) is never seen by the shell as code. Values are rendered here,
 * as Mustache templates with the host's data; in shell code (shell:,
 * unless:, validate:, wait's command:) the tags render shell-quoted and may
 * only stand where a word can (values.h). File contents travel in base64
 * with their SHA-256, which the host compares before it writes anything.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "playbook/compile.h"
#include "playbook/values.h"
#include "template/template.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

extern const char playbook_runtime[];

#define MAX_LABEL 200

/* One compilation: the host, the playbook and the step at hand. */
struct cc {
	const struct host_context *ctx;
	const struct compile_opts *opts;
	struct error *err;
	const struct playbook *pb;
	cJSON *data; /* the playbook's view of the host */
	const struct step *step;
	bool quiet; /* a rendered value of this step holds a secret */
};

/* Small helpers */

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* Base64 in lines of 76 characters, as base64(1) writes it. */
static void base64_lines(struct buf *out, const unsigned char *s, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		q[0] = abc[(v >> 18) & 63];
		q[1] = abc[(v >> 12) & 63];
		q[2] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? abc[v & 63] : '=';
		if (col == 76) {
			buf_addch(out, '\n');
			col = 0;
		}
		buf_add(out, q, 4);
		col += 4;
	}
}

/* Append one single-quoted word, after a space. */
static void arg(struct buf *call, const char *s, size_t len)
{
	buf_addch(call, ' ');
	template_shell_quote(call, s, len);
}

static void args(struct buf *call, const char *s)
{
	arg(call, s, strlen(s));
}

static bool has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* "steps[2].file.mode": a key of the step at hand, for messages. */
static const char *key_what(struct cc *c, const char *key)
{
	static char what[128];

	snprintf(what, sizeof(what), "%s.%s.%s", c->step->what,
		 step_kind_name(c->step->kind), key);
	return what;
}

/* Errors, at the node they come from; never with a rendered value. */
static int fail_at(struct cc *c, const struct ynode *n, int code,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_at(struct cc *c, const struct ynode *n, int code,
		   const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	error_set(c->err, code, c->pb->file, n ? n->line : 0, n ? n->col : 0,
		  "%s", msg.data);
	buf_free(&msg);
	return code;
}

/* Rendering */

struct partial_ctx {
	const struct playbook *pb;
};

static int load_partial(void *ctx, const char *name, char **text, char **origin,
			struct error *err)
{
	const struct partial_ctx *p = ctx;
	struct buf b, alt = BUF_INIT;
	char *path = NULL;
	int rc;

	buf_addf(&alt, "%s.mustache", name);
	if (playbook_find_file(p->pb, name, true, &path) &&
	    playbook_find_file(p->pb, alt.data, true, &path)) {
		buf_free(&alt);
		return DEPLOY_ERR_NOT_FOUND;
	}
	buf_free(&alt);
	buf_init(&b, YTREE_MAX_BYTES);
	rc = buf_read_file(&b, path);
	if (rc) {
		error_set(err, rc, path, 0, 0, "cannot read partial '%s'",
			  name);
		free(path);
		buf_free(&b);
		return rc;
	}
	*text = buf_release(&b);
	*origin = path;
	return 0;
}

/* The reason behind a template error, when the data could not have it. */
static void add_hint(struct cc *c, struct error *terr)
{
	size_t n = strlen(terr->msg);

	if (c->ctx->firewall_error && strstr(terr->msg, "'firewall"))
		snprintf(terr->msg + n, sizeof(terr->msg) - n,
			 " (the firewall rules of host '%s' cannot be built: "
			 "%s)",
			 c->ctx->host->name, c->ctx->firewall_error);
	else if (strstr(terr->msg, "variable 'secrets."))
		snprintf(terr->msg + n, sizeof(terr->msg) - n,
			 " (is the secret under 'secrets' in the topology, "
			 "with its variable set or its file readable?)");
}

/* Render template text; `what` names it for errors. */
static int render_text(struct cc *c, const char *name, const char *text,
		       size_t len, enum template_escape esc, struct buf *out,
		       const struct ynode *at, const char *what)
{
	struct partial_ctx pc = { c->pb };
	struct template_opts o = {
		.escape = esc,
		.missing = TEMPLATE_MISSING_ERROR,
		.partial = load_partial,
		.partial_ctx = &pc,
	};
	struct error terr;
	int rc;

	error_init(&terr);
	out->max = COMPILE_MAX_FILE;
	rc = template_render_string(name, text, len, c->data, &o, out, &terr);
	if (rc == DEPLOY_ERR_TOO_BIG) {
		rc = fail_at(c, at, rc,
			     "%s is larger than %u bytes once "
			     "rendered",
			     what, COMPILE_MAX_FILE);
	} else if (rc) {
		add_hint(c, &terr);
		if (terr.file && strcmp(terr.file, c->pb->file) && terr.line)
			error_set(c->err, rc, terr.file, terr.line, terr.col,
				  "%s", terr.msg);
		else
			fail_at(c, at, rc, "%s: %s", what, terr.msg);
	}
	error_clear(&terr);
	if (!rc && context_has_secret(c->ctx, out->data, out->len))
		c->quiet = true;
	return rc;
}

/*
 * Render the value of `key` in step arguments a; absent renders empty.
 * Shell code renders with every tag shell-quoted.
 */
static int render(struct cc *c, const struct ynode *a, const char *key,
		  enum template_escape esc, struct buf *out)
{
	const struct ynode *n = ynode_get(a, key);
	struct buf what = BUF_INIT;
	int rc;

	buf_reset(out);
	if (!n || ynode_is_null(n))
		return 0;
	buf_addf(&what, "%s.%s.%s", c->step->what,
		 step_kind_name(c->step->kind), key);
	rc = render_text(c, c->pb->file, n->value, n->len, esc, out, n,
			 what.data);
	if (!rc && memchr(out->data, '\0', out->len))
		rc = fail_at(c, n, DEPLOY_ERR_INVALID, "%s holds a NUL byte",
			     what.data);
	buf_free(&what);
	return rc;
}

static const char *src_text(const struct ynode *a, const char *key)
{
	const struct ynode *n = ynode_get(a, key);

	return n && n->kind == YNODE_SCALAR ? n->value : "";
}

/* A rendered absolute path, without control characters. */
static int render_path(struct cc *c, const struct ynode *a, const char *key,
		       struct buf *out)
{
	const struct ynode *n = ynode_get(a, key);
	int rc = render(c, a, key, TEMPLATE_ESCAPE_NONE, out);

	if (rc || !n)
		return rc;
	if (out->data[0] != '/')
		return fail_at(c, n, DEPLOY_ERR_INVALID,
			       "%s '%s' does not render to an absolute path",
			       key_what(c, key), n->value);
	if (has_control(out->data, out->len))
		return fail_at(c, n, DEPLOY_ERR_INVALID,
			       "%s '%s' renders to a path with a newline or "
			       "another control character",
			       key_what(c, key), n->value);
	return 0;
}

static int render_one_line(struct cc *c, const struct ynode *n,
			   const char *what, struct buf *out)
{
	int rc;

	buf_reset(out);
	rc = render_text(c, c->pb->file, n->value, n->len, TEMPLATE_ESCAPE_NONE,
			 out, n, what);
	if (!rc && (memchr(out->data, '\n', out->len) ||
		    memchr(out->data, '\0', out->len)))
		rc = fail_at(c, n, DEPLOY_ERR_INVALID,
			     "%s '%s' renders to more than one line", what,
			     n->value);
	return rc;
}

/* Mode, owner, group: rendered and checked; empty when not given. */
static int render_mode(struct cc *c, const struct ynode *a, struct buf *out)
{
	const struct ynode *n = ynode_get(a, "mode");
	unsigned m;
	int rc = render(c, a, "mode", TEMPLATE_ESCAPE_NONE, out);

	if (rc || !n)
		return rc;
	if (val_parse_mode(out->data, &m))
		return fail_at(c, n, DEPLOY_ERR_INVALID,
			       "%s '%s' does not render to an octal mode such "
			       "as 0644",
			       key_what(c, "mode"), n->value);
	buf_reset(out);
	buf_addf(out, "%o", m);
	return 0;
}

static bool is_owner(const char *s)
{
	if (!*s || *s == '-' || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-", *s) ||
		      (*s == '$' && !s[1])))
			return false;
	return true;
}

static int render_owner(struct cc *c, const struct ynode *a, const char *key,
			struct buf *out)
{
	const struct ynode *n = ynode_get(a, key);
	int rc = render(c, a, key, TEMPLATE_ESCAPE_NONE, out);

	if (rc || !n)
		return rc;
	if (!is_owner(out->data))
		return fail_at(c, n, DEPLOY_ERR_INVALID,
			       "%s '%s' does not render to a user or group "
			       "name, or a number",
			       key_what(c, key), n->value);
	return 0;
}

static bool get_bool(const struct ynode *a, const char *key, bool def)
{
	bool b;

	return ynode_bool(ynode_get(a, key), &b) ? def : b;
}

/* An integer, written as one or rendered from a template. */
static int render_int(struct cc *c, const struct ynode *a, const char *key,
		      long def, long lo, long hi, long *out)
{
	const struct ynode *n = ynode_get(a, key);
	struct buf b = BUF_INIT;
	char *end;
	long v;
	int rc;

	*out = def;
	if (!n)
		return 0;
	if (!ynode_int(n, out))
		return 0;
	rc = render(c, a, key, TEMPLATE_ESCAPE_NONE, &b);
	if (rc)
		goto out;
	errno = 0;
	v = strtol(b.data, &end, 10);
	if (!b.len || *end || errno || v < lo || v > hi)
		rc = fail_at(c, n, DEPLOY_ERR_INVALID,
			     "%s '%s' does not render to an integer from %ld "
			     "to %ld",
			     key_what(c, key), n->value, lo, hi);
	else
		*out = v;
out:
	buf_free_secret(&b);
	return rc;
}

static void add_int(struct buf *call, long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%ld", v);
	args(call, s);
}

/* Content: the digest and the base64 text, as two words. */
static void add_content(struct buf *call, const struct buf *content)
{
	struct buf b64 = BUF_INIT;
	char sum[65];

	sha256_hex(content->data, content->len, sum);
	args(call, sum);
	base64_lines(&b64, (const unsigned char *)content->data, content->len);
	arg(call, b64.data, b64.len);
	buf_free_secret(&b64);
}

/* Step kinds: each appends " dp_KIND ARGS..." to call. */

static int file_content(struct cc *c, const struct ynode *a,
			struct buf *content)
{
	const struct ynode *n;
	struct buf text, what = BUF_INIT;
	char *path = NULL;
	int rc = 0;

	if ((n = ynode_get(a, "content")))
		return render(c, a, "content", TEMPLATE_ESCAPE_NONE, content);
	buf_init(&text, COMPILE_MAX_FILE);
	n = ynode_get(a, "template");
	if (!n)
		n = ynode_get(a, "src");
	rc = render_one_line(
		c, n,
		key_what(c, ynode_get(a, "template") ? "template" : "src"),
		&what);
	if (rc)
		goto out;
	if (playbook_find_file(c->pb, what.data, ynode_get(a, "template"),
			       &path)) {
		rc = fail_at(c, n, DEPLOY_ERR_NOT_FOUND,
			     "%s.file: no such file '%s'", c->step->what,
			     n->value);
		goto out;
	}
	rc = buf_read_file(&text, path);
	if (rc) {
		rc = fail_at(c, n, rc, "%s.file: cannot read '%s': %s",
			     c->step->what, path, deploy_strerror(rc));
		goto out;
	}
	if (!ynode_get(a, "template")) {
		buf_add(content, text.data, text.len);
		goto out;
	}
	buf_reset(&what);
	buf_addf(&what, "%s.file.template", c->step->what);
	rc = render_text(c, path, text.data, text.len, TEMPLATE_ESCAPE_NONE,
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
	const char *state = src_text(a, "state");
	bool absent = !strcmp(state, "absent");
	int rc;

	rc = render_path(c, a, "path", &path);
	if (rc)
		goto out;
	buf_adds(call, " dp_file");
	arg(call, path.data, path.len);
	args(call, absent ? "absent" : "present");
	rc = render_mode(c, a, &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render_owner(c, a, "owner", &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render_owner(c, a, "group", &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	if (!absent) {
		rc = file_content(c, a, &content);
		if (rc)
			goto out;
	}
	add_content(call, &content);
	rc = render(c, a, "validate", TEMPLATE_ESCAPE_SHELL, &v);
	if (!rc)
		arg(call, v.data, v.len);
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

	rc = render_path(c, a, "path", &v);
	if (rc)
		goto out;
	buf_adds(call, " dp_directory");
	arg(call, v.data, v.len);
	rc = render_mode(c, a, &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render_owner(c, a, "owner", &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render_owner(c, a, "group", &v);
	if (!rc)
		arg(call, v.data, v.len);
out:
	buf_free_secret(&v);
	return rc;
}

static int c_line(struct cc *c, const struct ynode *a, struct buf *call)
{
	struct buf v = BUF_INIT, what = BUF_INIT;
	const struct ynode *n;
	const char *state = src_text(a, "state");
	regex_t re;
	int rc;

	rc = render_path(c, a, "path", &v);
	if (rc)
		goto out;
	buf_adds(call, " dp_line");
	arg(call, v.data, v.len);
	args(call, !strcmp(state, "absent") ? "absent" : "present");
	buf_reset(&v);
	buf_addf(&what, "%s.line.line", c->step->what);
	if ((n = ynode_get(a, "line")) &&
	    (rc = render_one_line(c, n, what.data, &v)))
		goto out;
	arg(call, v.data, v.len);
	buf_reset(&v);
	buf_reset(&what);
	buf_addf(&what, "%s.line.regexp", c->step->what);
	if ((n = ynode_get(a, "regexp"))) {
		rc = render_one_line(c, n, what.data, &v);
		if (rc)
			goto out;
		if (regcomp(&re, v.data, REG_EXTENDED | REG_NOSUB)) {
			rc = fail_at(c, n, DEPLOY_ERR_INVALID,
				     "%s '%s' does not render to a POSIX "
				     "extended regular expression",
				     what.data, n->value);
			goto out;
		}
		regfree(&re);
	}
	arg(call, v.data, v.len);
	args(call, get_bool(a, "create", false) ? "1" : "0");
out:
	buf_free_secret(&v);
	buf_free(&what);
	return rc;
}

static int c_apt(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *pk = ynode_get(a, "packages");
	size_t nr = pk->kind == YNODE_SEQ ? pk->nr : 1;
	const char *state = src_text(a, "state");
	struct buf v = BUF_INIT, what = BUF_INIT;
	long age;
	int rc;

	rc = render_int(c, a, "cache_valid_time", 3600, 0, 31536000, &age);
	if (rc)
		return rc;
	buf_adds(call, " dp_apt");
	args(call, !strcmp(state, "absent") ? "absent" : "present");
	add_int(call, age);
	for (size_t i = 0; i < nr && !rc; i++) {
		const struct ynode *n =
			pk->kind == YNODE_SEQ ? pk->items[i] : pk;

		buf_reset(&what);
		buf_addf(&what, "%s.apt.packages", c->step->what);
		rc = render_one_line(c, n, what.data, &v);
		if (!rc && !val_is_package(v.data))
			rc = fail_at(c, n, DEPLOY_ERR_INVALID,
				     "%s '%s' does not render to a Debian "
				     "package name",
				     what.data, n->value);
		if (!rc)
			arg(call, v.data, v.len);
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

	rc = render(c, a, "name", TEMPLATE_ESCAPE_NONE, &v);
	if (!rc && !val_is_unit(v.data))
		rc = fail_at(c, n, DEPLOY_ERR_INVALID,
			     "%s.service.name '%s' does not render to a unit "
			     "name",
			     c->step->what, n->value);
	if (rc)
		goto out;
	buf_adds(call, " dp_service");
	arg(call, v.data, v.len);
	if (ynode_bool(ynode_get(a, "enabled"), &b))
		args(call, "");
	else
		args(call, b ? "1" : "0");
	args(call, src_text(a, "state"));
	args(call, get_bool(a, "daemon_reload", false) ? "1" : "0");
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

	rc = render(c, a, "name", TEMPLATE_ESCAPE_NONE, &name);
	if (!rc && !val_is_user(name.data))
		rc = fail_at(c, n, DEPLOY_ERR_INVALID,
			     "%s.user.name '%s' does not render to a user "
			     "name",
			     c->step->what, n->value);
	if (!rc)
		rc = render_path(c, a, "shell", &v);
	if (rc)
		goto out;
	buf_adds(call, " dp_user");
	arg(call, name.data, name.len);
	arg(call, v.data, v.len);
	buf_addf(&what, "%s.user.groups", c->step->what);
	for (size_t i = 0; groups && i < groups->nr && !rc; i++) {
		rc = render_one_line(c, groups->items[i], what.data, &v);
		if (!rc && !val_is_user(v.data))
			rc = fail_at(c, groups->items[i], DEPLOY_ERR_INVALID,
				     "%s '%s' does not render to a group name",
				     what.data, groups->items[i]->value);
		buf_addf(&list, "%s%s", i ? "," : "", v.data);
	}
	if (rc)
		goto out;
	arg(call, list.data, list.len);
	/* The exact set of keys, one per line. */
	buf_reset(&list);
	buf_reset(&what);
	buf_addf(&what, "%s.user.authorized_keys", c->step->what);
	for (size_t i = 0; keys && i < keys->nr && !rc; i++) {
		rc = render_one_line(c, keys->items[i], what.data, &v);
		buf_add(&list, v.data, v.len);
		buf_addch(&list, '\n');
	}
	if (rc)
		goto out;
	args(call, keys ? "1" : "0");
	add_content(call, &list);
	/* sudo: a NOPASSWD drop-in, checked with visudo before it is used */
	args(call, ynode_bool(ynode_get(a, "sudo"), &sudo) ? ""
		   : sudo				   ? "1"
							   : "0");
	buf_reset(&v);
	buf_addf(&v, "/etc/sudoers.d/deploy-%s", name.data);
	arg(call, v.data, v.len);
	buf_reset(&list);
	buf_addf(&list,
		 "# Written by deploy (playbook %s); changes here are "
		 "overwritten.\n%s ALL=(ALL:ALL) NOPASSWD: ALL\n",
		 c->pb->name, name.data);
	add_content(call, &list);
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

	rc = render_path(c, a, "file", &path);
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
		rc = render_one_line(c, set->pairs[i].value, what.data, &v);
		buf_addf(&content, "%s = %s\n", set->pairs[i].key->value,
			 v.data);
	}
	if (rc)
		goto out;
	buf_adds(call, " dp_sysctl");
	arg(call, path.data, path.len);
	args(call, get_bool(a, "apply", true) ? "1" : "0");
	add_content(call, &content);
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
	int rc = render(c, a, "url", TEMPLATE_ESCAPE_NONE, out);

	if (!rc && !is_http_url(out->data))
		rc = fail_at(c, n, DEPLOY_ERR_INVALID,
			     "%s.%s.url '%s' does not render to an http:// or "
			     "https:// URL",
			     c->step->what, step_kind_name(c->step->kind),
			     n->value);
	return rc;
}

static int c_download(struct cc *c, const struct ynode *a, struct buf *call)
{
	const struct ynode *n = ynode_get(a, "sha256");
	struct buf url = BUF_INIT, v = BUF_INIT;
	int rc;

	rc = render_url(c, a, &url);
	if (!rc)
		rc = render(c, a, "sha256", TEMPLATE_ESCAPE_NONE, &v);
	if (!rc && !val_is_sha256(v.data))
		rc = fail_at(c, n, DEPLOY_ERR_INVALID,
			     "%s.download.sha256 '%s' does not render to a "
			     "SHA-256 digest (64 hex digits)",
			     c->step->what, n->value);
	if (rc)
		goto out;
	buf_adds(call, " dp_download");
	arg(call, url.data, url.len);
	for (size_t i = 0; i < v.len; i++)
		if (v.data[i] >= 'A' && v.data[i] <= 'F')
			v.data[i] = (char)(v.data[i] - 'A' + 'a');
	arg(call, v.data, v.len);
	rc = render_path(c, a, "dest", &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render_mode(c, a, &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render_owner(c, a, "owner", &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render_owner(c, a, "group", &v);
	if (!rc)
		arg(call, v.data, v.len);
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
	rc = render_path(c, a, "creates", &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render(c, a, "unless", TEMPLATE_ESCAPE_SHELL, &v);
	if (rc)
		goto out;
	arg(call, v.data, v.len);
	rc = render_path(c, a, "chdir", &v);
	if (rc)
		goto out;
	if (!v.len)
		buf_adds(&v, "/");
	arg(call, v.data, v.len);
	buf_free_secret(&v);
changed:
	args(call, get_bool(c->step->node, "changed", true) ? "" : "no");
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
	rc = render_text(c, c->pb->file, cmd->value, cmd->len,
			 TEMPLATE_ESCAPE_SHELL, &v, cmd, what.data);
	if (rc)
		goto out;
	buf_adds(call, " dp_shell");
	arg(call, v.data, v.len);
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
			rc = render_text(c, c->pb->file, argv->items[i]->value,
					 argv->items[i]->len,
					 TEMPLATE_ESCAPE_NONE, &v,
					 argv->items[i], what.data);
			if (!rc && memchr(v.data, '\0', v.len))
				rc = fail_at(c, argv->items[i],
					     DEPLOY_ERR_INVALID,
					     "%s holds a NUL byte", what.data);
			if (!rc)
				arg(call, v.data, v.len);
		}
		goto out;
	}
	if (command_split(cmd->value, &words, &nr, &why)) {
		rc = fail_at(c, cmd, DEPLOY_ERR_INVALID, "%s: %s", what.data,
			     why);
		goto out;
	}
	/* Each word renders on its own: a value never splits into two. */
	for (size_t i = 0; i < nr && !rc; i++) {
		buf_reset(&v);
		rc = render_text(c, c->pb->file, words[i], strlen(words[i]),
				 TEMPLATE_ESCAPE_NONE, &v, cmd, what.data);
		if (!rc && memchr(v.data, '\0', v.len))
			rc = fail_at(c, cmd, DEPLOY_ERR_INVALID,
				     "%s holds a NUL byte", what.data);
		if (!rc)
			arg(call, v.data, v.len);
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

	rc = render_int(c, a, "timeout", 60, 1, 86400, &timeout);
	if (!rc)
		rc = render_int(c, a, "interval", 2, 1, 86400, &interval);
	if (rc)
		goto out;
	buf_adds(call, " dp_wait");
	if (ynode_get(a, "port")) {
		rc = render_int(c, a, "port", 0, 1, 65535, &n);
		if (!rc)
			rc = render(c, a, "host", TEMPLATE_ESCAPE_NONE, &host);
		if (!rc && !host.len)
			buf_adds(&host, "127.0.0.1");
		if (!rc && !is_ip_address(host.data) && !is_dns_name(host.data))
			rc = fail_at(c, ynode_get(a, "host"),
				     DEPLOY_ERR_INVALID,
				     "%s.wait.host '%s' does not render to an "
				     "address or a host name",
				     c->step->what, src_text(a, "host"));
		if (rc)
			goto out;
		args(call, "tcp");
		add_int(call, timeout);
		add_int(call, interval);
		arg(call, host.data, host.len);
		add_int(call, n);
	} else if (ynode_get(a, "url")) {
		rc = render_url(c, a, &v);
		if (!rc)
			rc = render_int(c, a, "status", 200, 100, 599, &n);
		if (rc)
			goto out;
		args(call, "http");
		add_int(call, timeout);
		add_int(call, interval);
		arg(call, v.data, v.len);
		add_int(call, n);
	} else {
		rc = render(c, a, "command", TEMPLATE_ESCAPE_SHELL, &v);
		if (rc)
			goto out;
		args(call, "command");
		add_int(call, timeout);
		add_int(call, interval);
		arg(call, v.data, v.len);
		args(call, "");
	}
out:
	buf_free_secret(&v);
	buf_free_secret(&host);
	return rc;
}

typedef int (*kind_fn)(struct cc *c, const struct ynode *a, struct buf *call);

static const kind_fn kinds[STEP_KIND_COUNT] = {
	[STEP_FILE] = c_file,	    [STEP_DIRECTORY] = c_directory,
	[STEP_LINE] = c_line,	    [STEP_APT] = c_apt,
	[STEP_SERVICE] = c_service, [STEP_USER] = c_user,
	[STEP_SYSCTL] = c_sysctl,   [STEP_DOWNLOAD] = c_download,
	[STEP_SHELL] = c_shell,	    [STEP_COMMAND] = c_command,
	[STEP_WAIT] = c_wait,
};

/* Labels: what the markers call a step; never a secret, one line. */

static void summary(const struct step *s, struct buf *out)
{
	const struct ynode *a = s->args;
	const struct ynode *n = NULL;

	buf_adds(out, step_kind_name(s->kind));
	switch (s->kind) {
	case STEP_FILE:
	case STEP_DIRECTORY:
	case STEP_LINE:
		n = ynode_get(a, "path");
		break;
	case STEP_SYSCTL:
		n = ynode_get(a, "file");
		break;
	case STEP_DOWNLOAD:
		n = ynode_get(a, "dest");
		break;
	case STEP_SERVICE:
	case STEP_USER:
		n = ynode_get(a, "name");
		break;
	case STEP_APT:
		n = ynode_get(a, "packages");
		if (n && n->kind == YNODE_SEQ)
			n = n->nr ? n->items[0] : NULL;
		break;
	case STEP_WAIT:
		n = ynode_get(a, "port");
		if (!n)
			n = ynode_get(a, "url");
		break;
	case STEP_SHELL:
	case STEP_COMMAND:
	case STEP_KIND_COUNT:
		break;
	}
	if (n && n->kind == YNODE_SCALAR)
		buf_addf(out, " %s", n->value);
}

static char *make_label(struct cc *c, const struct step *s)
{
	struct buf raw = BUF_INIT, out = BUF_INIT;

	buf_addf(&raw, "%s: ", c->pb->name);
	if (s->name)
		buf_adds(&raw, s->name);
	else
		summary(s, &raw);
	context_redact(c->ctx, raw.data, raw.len, &out);
	for (size_t i = 0; i < out.len; i++)
		if ((unsigned char)out.data[i] < 0x20 || out.data[i] == 0x7f)
			out.data[i] = ' ';
	if (out.len > MAX_LABEL) {
		out.len = MAX_LABEL;
		out.data[out.len] = '\0';
	}
	buf_free(&raw);
	return buf_release(&out);
}

/* when: the first condition that does not hold, or NULL. */
static int check_when(struct cc *c, const struct step *s,
		      const struct when_expr **failed)
{
	struct error e;
	bool ok;

	*failed = NULL;
	for (size_t i = 0; i < s->nr_when; i++) {
		error_init(&e);
		if (when_eval(&s->when[i], c->data, &ok, &e)) {
			fail_at(c, s->when[i].node, DEPLOY_ERR_INVALID, "%s.%s",
				s->what, e.msg);
			error_clear(&e);
			return DEPLOY_ERR_INVALID;
		}
		error_clear(&e);
		if (!ok) {
			*failed = &s->when[i];
			return 0;
		}
	}
	return 0;
}

static void when_reason(struct cc *c, const struct when_expr *w,
			struct buf *call)
{
	struct buf raw = BUF_INIT, out = BUF_INIT;

	buf_addf(&raw, "when: %s", w->node->value);
	context_redact(c->ctx, raw.data, raw.len, &out);
	for (size_t i = 0; i < out.len; i++)
		if ((unsigned char)out.data[i] < 0x20)
			out.data[i] = ' ';
	arg(call, out.data, out.len);
	buf_free(&raw);
	buf_free(&out);
}

/* One step or handler as a line of _dp_main; *label for the runner. */
static int compile_step(struct cc *c, const struct step *s, bool handler,
			size_t n, struct buf *body, char **label)
{
	struct buf line = BUF_INIT, kind = BUF_INIT, flags = BUF_INIT;
	const struct when_expr *failed;
	int rc;

	c->step = s;
	c->quiet = false;
	*label = make_label(c, s);
	rc = check_when(c, s, &failed);
	if (rc)
		goto out;
	if (failed) {
		buf_addf(&line, "\t%s %zu",
			 handler ? "_dp_handler_skip" : "_dp_skip", n);
		args(&line, *label);
		if (handler)
			args(&line, s->flag);
		when_reason(c, failed, &line);
		buf_addch(&line, '\n');
		goto add;
	}
	rc = kinds[s->kind](c, s->args, &kind);
	if (rc)
		goto out;
	buf_addf(&line, "\t%s %zu", handler ? "_dp_handler" : "_dp_step", n);
	args(&line, *label);
	if (handler) {
		args(&line, s->flag);
	} else {
		for (size_t i = 0; i < s->nr_notify; i++)
			buf_addf(&flags, "%s%s", i ? " " : "",
				 c->pb->handlers[s->notify[i]].flag);
		arg(&line, flags.data, flags.len);
	}
	args(&line, c->quiet ? "1" : "0");
	buf_add(&line, kind.data, kind.len);
	buf_addch(&line, '\n');
add:
	rc = buf_add(body, line.data, line.len);
	if (rc)
		rc = error_set(c->err, rc, NULL, 0, 0,
			       "the script for host '%s' is larger than %u "
			       "bytes",
			       c->ctx->host->name, COMPILE_MAX_SCRIPT);
out:
	if (rc) {
		free(*label);
		*label = NULL;
	}
	buf_free_secret(&line);
	buf_free_secret(&kind);
	buf_free(&flags);
	return rc;
}

static int make_nonce(const struct compile_opts *o, char *out, size_t size,
		      struct error *err)
{
	unsigned char r[COMPILE_NONCE_LEN / 2];

	if (o && o->nonce) {
		size_t n = strlen(o->nonce);

		if (!n || n >= size || n > 32)
			return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
					 "a nonce is 1 to 32 hex digits");
		for (size_t i = 0; i < n; i++)
			if (!strchr("0123456789abcdef", o->nonce[i]))
				return error_set(err, DEPLOY_ERR_USAGE, NULL, 0,
						 0,
						 "a nonce is 1 to 32 hex "
						 "digits");
		memcpy(out, o->nonce, n + 1);
		return 0;
	}
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "cannot read random bytes: %s",
				 strerror(errno));
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static void add_item(struct script *s, size_t *nr_items, char *label,
		     const struct step *step, bool handler)
{
	s->items[*nr_items].label = label;
	s->items[*nr_items].kind = step_kind_name(step->kind);
	s->items[*nr_items].handler = handler;
	(*nr_items)++;
}

int compile_script(const struct host_context *ctx, struct playbook *const *pbs,
		   size_t nr, const struct compile_opts *opts,
		   struct script **out, struct error *err)
{
	struct script *s = xcalloc(1, sizeof(*s));
	struct cc c = { .ctx = ctx, .opts = opts, .err = err };
	struct buf steps = BUF_INIT, handlers = BUF_INIT, names = BUF_INIT;
	const char *dir = opts && opts->notify_dir ? opts->notify_dir
						   : COMPILE_DEFAULT_NOTIFY_DIR;
	size_t nr_items = 0, n_step = 0, n_handler = 0;
	char *label;
	int rc;

	*out = NULL;
	buf_init(&s->text, COMPILE_MAX_SCRIPT);
	buf_init(&steps, COMPILE_MAX_SCRIPT);
	buf_init(&handlers, COMPILE_MAX_SCRIPT);
	rc = make_nonce(opts, s->nonce, sizeof(s->nonce), err);
	if (rc)
		goto out;
	for (size_t i = 0; i < nr; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(pbs[i]->name, pbs[j]->name))
				continue;
			rc = error_set(err, DEPLOY_ERR_INVALID, pbs[i]->file, 0,
				       0,
				       "host '%s' runs two playbooks named "
				       "'%s' (%s and %s); give one another "
				       "name",
				       ctx->host->name, pbs[i]->name,
				       pbs[j]->file, pbs[i]->file);
			goto out;
		}
		s->nr_steps += pbs[i]->nr_steps;
		s->nr_handlers += pbs[i]->nr_handlers;
		buf_addf(&names, "%s%s", i ? ", " : "", pbs[i]->name);
	}
	if (dir[0] != '/' || has_control(dir, strlen(dir))) {
		rc = error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
			       "the notification directory must be an "
			       "absolute path");
		goto out;
	}
	s->items = xcalloc(s->nr_steps + s->nr_handlers + 1, sizeof(*s->items));
	for (size_t i = 0; i < nr && !rc; i++) {
		c.pb = pbs[i];
		c.data = context_playbook_data(ctx, pbs[i]);
		for (size_t j = 0; j < pbs[i]->nr_steps && !rc; j++) {
			rc = compile_step(&c, &pbs[i]->steps[j], false,
					  ++n_step, &steps, &label);
			if (!rc)
				add_item(s, &nr_items, label, &pbs[i]->steps[j],
					 false);
		}
		context_data_free(c.data);
		c.data = NULL;
	}
	/* Handlers after every step, in playbook then handler order. */
	for (size_t i = 0; i < nr && !rc; i++) {
		c.pb = pbs[i];
		c.data = context_playbook_data(ctx, pbs[i]);
		for (size_t j = 0; j < pbs[i]->nr_handlers && !rc; j++) {
			rc = compile_step(&c, &pbs[i]->handlers[j], true,
					  ++n_handler, &handlers, &label);
			if (!rc)
				add_item(s, &nr_items, label,
					 &pbs[i]->handlers[j], true);
		}
		context_data_free(c.data);
		c.data = NULL;
	}
	if (rc)
		goto out;
	buf_addf(&s->text,
		 "#!/bin/sh\n"
		 "# Written by deploy for host %s: %zu steps and %zu "
		 "handlers from %s.\n"
		 "# Run it with --check to see what it would change, changing "
		 "nothing.\n"
		 "DP_NONCE=%s\nDP_STEPS=%zu\nDP_HANDLERS=%zu\nDP_CHECK=%d\n"
		 "DP_NOTIFY_DIR=",
		 ctx->host->name, s->nr_steps, s->nr_handlers,
		 nr ? names.data : "no playbook", s->nonce, s->nr_steps,
		 s->nr_handlers, opts && opts->check ? 1 : 0);
	template_shell_quote(&s->text, dir, strlen(dir));
	buf_addf(&s->text, "\n\n%s\n_dp_main() {\n\t_dp_begin \"$@\"\n",
		 playbook_runtime);
	buf_add(&s->text, steps.data, steps.len);
	buf_add(&s->text, handlers.data, handlers.len);
	rc = buf_adds(&s->text, "\t_dp_end\n}\n\n_dp_main \"$@\"\n");
	if (rc) {
		rc = error_set(err, rc, NULL, 0, 0,
			       "the script for host '%s' is larger than %u "
			       "bytes",
			       ctx->host->name, COMPILE_MAX_SCRIPT);
		goto out;
	}
	*out = s;
	s = NULL;
out:
	context_data_free(c.data);
	buf_free_secret(&steps);
	buf_free_secret(&handlers);
	buf_free(&names);
	script_free(s);
	return rc;
}

void script_free(struct script *s)
{
	if (!s)
		return;
	buf_free_secret(&s->text);
	for (size_t i = 0; s->items && i < s->nr_steps + s->nr_handlers; i++)
		free(s->items[i].label);
	free(s->items);
	free(s);
}

/* Markers */

const char *step_status_name(enum step_status s)
{
	switch (s) {
	case STATUS_OK:
		return "ok";
	case STATUS_CHANGED:
		return "changed";
	case STATUS_FAILED:
		return "failed";
	case STATUS_SKIPPED:
		return "skipped";
	}
	return "?";
}

/* A decimal number at *p, then a space or the end; *p moves past it. */
static int number(const char **p, const char *end, size_t *out)
{
	size_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > 100000000)
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/* The word at *p (up to a space or the end) equals w; *p moves past. */
static bool word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - *p) < n || memcmp(*p, w, n) ||
	    (*p + n < end && (*p)[n] != ' '))
		return false;
	*p += n;
	return true;
}

static bool space(const char **p, const char *end)
{
	if (*p >= end || **p != ' ')
		return false;
	(*p)++;
	return true;
}

static int status_word(const char **p, const char *end, enum step_status *st)
{
	static const enum step_status all[] = { STATUS_OK, STATUS_CHANGED,
						STATUS_FAILED, STATUS_SKIPPED };

	for (size_t i = 0; i < 4; i++) {
		if (word(p, end, step_status_name(all[i]))) {
			*st = all[i];
			return 0;
		}
	}
	return -1;
}

int marker_parse(const char *line, size_t len, const char *nonce,
		 struct marker *m)
{
	const char *p = line, *end = line + len;
	bool handler;

	memset(m, 0, sizeof(*m));
	if (!nonce || !*nonce)
		return DEPLOY_ERR_NOT_FOUND;
	if (len && end[-1] == '\n')
		end--;
	if (end > p && end[-1] == '\r')
		end--;
	if (!word(&p, end, "@@deploy") || !space(&p, end) ||
	    !word(&p, end, nonce) || !space(&p, end))
		return DEPLOY_ERR_NOT_FOUND;
	if (word(&p, end, "start")) {
		m->type = MARKER_START;
		if (!space(&p, end) || number(&p, end, &m->total) ||
		    !space(&p, end) || number(&p, end, &m->handlers) ||
		    !space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
		if (word(&p, end, "check"))
			m->check = true;
		else if (!word(&p, end, "apply"))
			return DEPLOY_ERR_NOT_FOUND;
		return p == end ? 0 : DEPLOY_ERR_NOT_FOUND;
	}
	if (word(&p, end, "end")) {
		m->type = MARKER_END;
		if (!space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
		if (word(&p, end, "ok"))
			m->status = STATUS_OK;
		else if (word(&p, end, "failed"))
			m->status = STATUS_FAILED;
		else
			return DEPLOY_ERR_NOT_FOUND;
		return p == end ? 0 : DEPLOY_ERR_NOT_FOUND;
	}
	if (word(&p, end, "step"))
		handler = false;
	else if (word(&p, end, "handler"))
		handler = true;
	else
		return DEPLOY_ERR_NOT_FOUND;
	if (!space(&p, end) || number(&p, end, &m->n) || p >= end ||
	    *p++ != '/' || number(&p, end, &m->total) || !space(&p, end) ||
	    !m->n || m->n > m->total)
		return DEPLOY_ERR_NOT_FOUND;
	if (word(&p, end, "begin")) {
		m->type = handler ? MARKER_HANDLER_BEGIN : MARKER_STEP_BEGIN;
		if (!space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
	} else if (!status_word(&p, end, &m->status)) {
		m->type = handler ? MARKER_HANDLER_END : MARKER_STEP_END;
		if (p < end && !space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
	} else {
		return DEPLOY_ERR_NOT_FOUND;
	}
	m->text = p;
	m->text_len = (size_t)(end - p);
	return 0;
}
