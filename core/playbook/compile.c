/* SPDX-License-Identifier: MIT */
/* Compiling a host's playbooks into one sh script, values rendered. */

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
 * The step kinds are in steps.c, the marker lines in marker.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "playbook/compile-internal.h"
#include "playbook/values.h"
#include "template/template.h"
#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

extern const char playbook_runtime[];

#define MAX_LABEL 200

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
	struct buf b64 = BUF_INIT;

	base64_encode(&b64, s, len, true);
	for (size_t i = 0; i < b64.len; i += 76) {
		if (i)
			buf_addch(out, '\n');
		buf_add(out, b64.data + i, b64.len - i < 76 ? b64.len - i : 76);
	}
	buf_free_secret(&b64);
}

/* Append one single-quoted word, after a space. */
void cc_arg(struct buf *call, const char *s, size_t len)
{
	buf_addch(call, ' ');
	template_shell_quote(call, s, len);
}

void cc_args(struct buf *call, const char *s)
{
	cc_arg(call, s, strlen(s));
}

bool cc_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* "steps[2].file.mode": a key of the step at hand, for messages. */
const char *cc_key_what(struct cc *c, const char *key)
{
	static char what[128];

	snprintf(what, sizeof(what), "%s.%s.%s", c->step->what,
		 step_kind_name(c->step->kind), key);
	return what;
}

/*
 * Errors, at the node they come from; never with a rendered value. One
 * that names what a value rendered to has the secrets in it redacted
 * (the artifact a topology lacks, named by a secret).
 */
int cc_fail_at(struct cc *c, const struct ynode *n, int code, const char *fmt,
	       ...)
{
	struct buf msg = BUF_INIT, clean = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	context_redact(c->ctx, msg.data, msg.len, &clean);
	error_set(c->err, code, c->pb->file, n ? n->line : 0, n ? n->col : 0,
		  "%s", clean.data);
	buf_free_secret(&msg);
	buf_free(&clean);
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
int cc_render_text(struct cc *c, const char *name, const char *text, size_t len,
		   enum template_escape esc, struct buf *out,
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
		rc = cc_fail_at(c, at, rc,
				"%s is larger than %u bytes once "
				"rendered",
				what, COMPILE_MAX_FILE);
	} else if (rc) {
		add_hint(c, &terr);
		if (terr.file && strcmp(terr.file, c->pb->file) && terr.line) {
			struct buf clean = BUF_INIT;

			context_redact(c->ctx, terr.msg, strlen(terr.msg),
				       &clean);
			error_set(c->err, rc, terr.file, terr.line, terr.col,
				  "%s", clean.data);
			buf_free(&clean);
		} else {
			cc_fail_at(c, at, rc, "%s: %s", what, terr.msg);
		}
	}
	error_clear(&terr);
	if (!rc && !c->quiet) {
		c->secret = context_secret_in(c->ctx, out->data, out->len);
		c->quiet = c->secret != NULL;
	}
	return rc;
}

/*
 * Render the value of `key` in step arguments a; absent renders empty.
 * Shell code renders with every tag shell-quoted.
 */
int cc_render(struct cc *c, const struct ynode *a, const char *key,
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
	rc = cc_render_text(c, c->pb->file, n->value, n->len, esc, out, n,
			    what.data);
	if (!rc && memchr(out->data, '\0', out->len))
		rc = cc_fail_at(c, n, DEPLOY_ERR_INVALID, "%s holds a NUL byte",
				what.data);
	buf_free(&what);
	return rc;
}

const char *cc_src_text(const struct ynode *a, const char *key)
{
	const struct ynode *n = ynode_get(a, key);

	return n && n->kind == YNODE_SCALAR ? n->value : "";
}

/* A rendered absolute path, without control characters. */
int cc_render_path(struct cc *c, const struct ynode *a, const char *key,
		   struct buf *out)
{
	const struct ynode *n = ynode_get(a, key);
	int rc = cc_render(c, a, key, TEMPLATE_ESCAPE_NONE, out);

	if (rc || !n)
		return rc;
	if (out->data[0] != '/')
		return cc_fail_at(c, n, DEPLOY_ERR_INVALID,
				  "%s '%s' does not render to an absolute path",
				  cc_key_what(c, key), n->value);
	if (cc_has_control(out->data, out->len))
		return cc_fail_at(c, n, DEPLOY_ERR_INVALID,
				  "%s '%s' renders to a path with a newline or "
				  "another control character",
				  cc_key_what(c, key), n->value);
	return 0;
}

int cc_render_one_line(struct cc *c, const struct ynode *n, const char *what,
		       struct buf *out)
{
	int rc;

	buf_reset(out);
	rc = cc_render_text(c, c->pb->file, n->value, n->len,
			    TEMPLATE_ESCAPE_NONE, out, n, what);
	if (!rc && (memchr(out->data, '\n', out->len) ||
		    memchr(out->data, '\0', out->len)))
		rc = cc_fail_at(c, n, DEPLOY_ERR_INVALID,
				"%s '%s' renders to more than one line", what,
				n->value);
	return rc;
}

/* Mode, owner, group: rendered and checked; empty when not given. */
int cc_render_mode(struct cc *c, const struct ynode *a, struct buf *out)
{
	const struct ynode *n = ynode_get(a, "mode");
	unsigned m;
	int rc = cc_render(c, a, "mode", TEMPLATE_ESCAPE_NONE, out);

	if (rc || !n)
		return rc;
	if (val_parse_mode(out->data, &m))
		return cc_fail_at(
			c, n, DEPLOY_ERR_INVALID,
			"%s '%s' does not render to an octal mode such "
			"as 0644",
			cc_key_what(c, "mode"), n->value);
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

int cc_render_owner(struct cc *c, const struct ynode *a, const char *key,
		    struct buf *out)
{
	const struct ynode *n = ynode_get(a, key);
	int rc = cc_render(c, a, key, TEMPLATE_ESCAPE_NONE, out);

	if (rc || !n)
		return rc;
	if (!is_owner(out->data))
		return cc_fail_at(c, n, DEPLOY_ERR_INVALID,
				  "%s '%s' does not render to a user or group "
				  "name, or a number",
				  cc_key_what(c, key), n->value);
	return 0;
}

bool cc_get_bool(const struct ynode *a, const char *key, bool def)
{
	bool b;

	return ynode_bool(ynode_get(a, key), &b) ? def : b;
}

/* An integer, written as one or rendered from a template. */
int cc_render_int(struct cc *c, const struct ynode *a, const char *key,
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
	rc = cc_render(c, a, key, TEMPLATE_ESCAPE_NONE, &b);
	if (rc)
		goto out;
	errno = 0;
	v = strtol(b.data, &end, 10);
	if (!b.len || *end || errno || v < lo || v > hi)
		rc = cc_fail_at(
			c, n, DEPLOY_ERR_INVALID,
			"%s '%s' does not render to an integer from %ld "
			"to %ld",
			cc_key_what(c, key), n->value, lo, hi);
	else
		*out = v;
out:
	buf_free_secret(&b);
	return rc;
}

void cc_add_int(struct buf *call, long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%ld", v);
	cc_args(call, s);
}

/*
 * Content: the digest, then the content as one word: ":" and the text
 * itself, which the host writes with printf (no process); or base64, when
 * it holds a NUL byte (which no shell variable can) or a secret (which no
 * line of the script shows as it is).
 */
/* Content as one word: text as it is (after ':'), else base64. */
static void content_word(struct buf *call, const struct buf *content,
			 bool quiet)
{
	struct buf word = BUF_INIT;

	if (!quiet && !memchr(content->data, '\0', content->len)) {
		buf_addch(&word, ':');
		buf_add(&word, content->data, content->len);
	} else {
		base64_lines(&word, (const unsigned char *)content->data,
			     content->len);
	}
	cc_arg(call, word.data, word.len);
	buf_free_secret(&word);
}

void cc_add_content(struct cc *c, struct buf *call, const struct buf *content)
{
	char sum[65];

	sha256_hex(content->data, content->len, sum);
	cc_args(call, sum);
	content_word(call, content, c->quiet);
}

void cc_add_push(struct cc *c, struct buf *call, enum script_push_kind kind,
		 const char *name, const char *dest, const char *path,
		 const char *sha256, const char *image_ids)
{
	struct script *s = c->script;
	struct script_push *p;
	struct buf ph = BUF_INIT;
	const char *host;
	struct stat st;

	s->pushes = xrealloc(s->pushes, (s->nr_pushes + 1) * sizeof(*p));
	p = &s->pushes[s->nr_pushes];
	s->nr_pushes++;
	p->kind = kind;
	p->name = xstrdup(name);
	p->dest = xstrdup(dest);
	p->path = xstrdup(path);
	p->size = stat(path, &st) ? 0 : (uint64_t)st.st_size;
	snprintf(p->sha256, sizeof(p->sha256), "%s", sha256);
	p->image_ids = image_ids ? xstrdup(image_ids) : NULL;
	buf_adds(&ph, COMPILE_STAGE_DIR "/");
	host = c->ctx && c->ctx->host ? c->ctx->host->name : NULL;
	if (host && host[0] != '.' && strlen(host) < 200 &&
	    strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == strlen(host))
		buf_addf(&ph, "%s/", host);
	buf_adds(&ph, sha256);
	p->staged = buf_release(&ph);
	buf_addf(&ph, "@@deploy-artifact-%s-%zu@@", s->nonce, s->nr_pushes - 1);
	p->placeholder = buf_release(&ph);
	cc_args(call, sha256);
	cc_args(call, p->placeholder);
}

/* A later step takes the same artifact's copy too: this one copies it. */
static bool needed_later(const struct script *s, const enum script_have *have,
			 size_t i)
{
	for (size_t j = i + 1; j < s->nr_pushes; j++)
		if (!strcmp(s->pushes[j].sha256, s->pushes[i].sha256) &&
		    (!have || have[j] != HAVE_DEST))
			return true;
	return false;
}

int script_expand(const struct script *s, const enum script_have *have,
		  struct buf *out, struct error *err)
{
	const char *at = s->text.data, *end = s->text.data + s->text.len;
	int rc = 0;

	buf_init(out, COMPILE_MAX_SCRIPT);
	for (size_t i = 0; i < s->nr_pushes && !rc; i++) {
		const struct script_push *p = &s->pushes[i];
		struct buf word = BUF_INIT;
		size_t n = strlen(p->placeholder);
		const char *hit =
			memmem(at, (size_t)(end - at), p->placeholder, n);

		/* The placeholder stands inside its quotes: 'PLACEHOLDER'. */
		if (!hit || hit == s->text.data || hit[n] != '\'') {
			rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				       "the script lost the place of artifact "
				       "'%s'",
				       p->name);
			break;
		}
		buf_add(out, at, (size_t)(hit - 1 - at));
		if (have && have[i] == HAVE_DEST)
			cc_arg(&word, "", 0);
		else
			buf_addf(&word, " '@%s%s'",
				 needed_later(s, have, i) ? "=" : "",
				 p->staged);
		/* cc_arg adds a space before the word: the call has one. */
		rc = buf_add(out, word.data + 1, word.len - 1);
		at = hit + n + 1;
		buf_free(&word);
	}
	if (!rc)
		rc = buf_add(out, at, (size_t)(end - at));
	if (rc == DEPLOY_ERR_TOO_BIG)
		rc = error_set(err, rc, NULL, 0, 0,
			       "the script is larger than %u bytes",
			       COMPILE_MAX_SCRIPT);
	if (rc)
		buf_free_secret(out);
	return rc;
}

/*
 * The step at hand checks the file or directory at path (flags: "s" its
 * SHA-256, "a" its mode and owner): listed for _dp_want, so that one
 * sha256sum and one stat on the host read them all (runtime.sh, _dp_look).
 * Handlers run after any step may have changed anything: not listed.
 */
void cc_want(struct cc *c, const char *flags, const struct buf *path)
{
	if (c->handler || !c->want || !flags[0])
		return;
	buf_addf(c->want, " %zu %s", c->n, flags);
	cc_arg(c->want, path->data, path->len);
}

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
	case STEP_MOUNT:
		n = ynode_get(a, "path");
		break;
	case STEP_SYSCTL:
		n = ynode_get(a, "file");
		break;
	case STEP_DOWNLOAD:
	case STEP_ARTIFACT:
		n = ynode_get(a, "dest");
		break;
	case STEP_SERVICE:
	case STEP_USER:
		n = ynode_get(a, "name");
		break;
	case STEP_DOCKER_IMAGE:
		n = ynode_get(a, "ref");
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

/* "node: config file (/etc/node.conf)": item names a loop's item. */
static char *make_label(struct cc *c, const struct step *s, const char *item)
{
	struct buf raw = BUF_INIT, out = BUF_INIT;

	buf_addf(&raw, "%s: ", c->pb->name);
	if (s->name)
		buf_adds(&raw, s->name);
	else
		summary(s, &raw);
	if (item)
		buf_addf(&raw, " (%s)", item);
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
			cc_fail_at(c, s->when[i].node, DEPLOY_ERR_INVALID,
				   "%s.%s", s->what, e.msg);
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
	cc_arg(call, out.data, out.len);
	buf_free(&raw);
	buf_free(&out);
}

/* One step or handler as a line of _dp_main; *label for the runner;
 * item names the item of a loop (NULL: none). */
static int compile_step(struct cc *c, const struct step *s, bool handler,
			size_t n, const char *item, struct buf *body,
			char **label)
{
	struct buf line = BUF_INIT, kind = BUF_INIT, flags = BUF_INIT;
	const struct when_expr *failed;
	int rc;

	c->step = s;
	c->n = n;
	c->handler = handler;
	c->quiet = false;
	c->secret = NULL;
	*label = make_label(c, s, item);
	rc = check_when(c, s, &failed);
	if (rc)
		goto out;
	if (failed) {
		buf_addf(&line, "\t%s %zu",
			 handler ? "_dp_handler_skip" : "_dp_skip", n);
		cc_args(&line, *label);
		if (handler)
			cc_args(&line, s->flag);
		when_reason(c, failed, &line);
		buf_addch(&line, '\n');
		goto add;
	}
	rc = compile_kinds[s->kind](c, s->args, &kind);
	if (rc)
		goto out;
	buf_addf(&line, "\t%s %zu", handler ? "_dp_handler" : "_dp_step", n);
	cc_args(&line, *label);
	if (handler) {
		cc_args(&line, s->flag);
	} else {
		for (size_t i = 0; i < s->nr_notify; i++)
			buf_addf(&flags, "%s%s", i ? " " : "",
				 c->pb->handlers[s->notify[i]].flag);
		cc_arg(&line, flags.data, flags.len);
	}
	cc_args(&line, c->quiet ? "1" : "0");
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
		     const struct cc *c, const struct step *step, bool handler)
{
	XGROW(s->items, s->alloc_items, *nr_items + 1);
	s->items[*nr_items].label = label;
	s->items[*nr_items].kind = step_kind_name(step->kind);
	s->items[*nr_items].secret = c->secret ? xstrdup(c->secret) : NULL;
	s->items[*nr_items].handler = handler;
	(*nr_items)++;
}

/* A playbook's check the role replaces: one of the role's has its name. */
static bool health_overridden(const struct ynode *check,
			      const struct ynode *role_health)
{
	const struct ynode *name = ynode_get(check, "name");

	if (!ynode_is_string(name))
		return false;
	for (size_t i = 0; role_health && i < role_health->nr; i++) {
		const struct ynode *n =
			ynode_get(role_health->items[i], "name");

		if (ynode_is_string(n) && !strcmp(n->value, name->value))
			return true;
	}
	return false;
}

/* The checks of the gate: the playbooks' not overridden, the role's. */
static size_t count_health(struct playbook *const *pbs, size_t nr,
			   const struct ynode *role_health)
{
	size_t n = role_health ? role_health->nr : 0;

	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; pbs[i]->health && j < pbs[i]->health->nr;
		     j++)
			n += !health_overridden(pbs[i]->health->items[j],
						role_health);
	return n;
}

static void add_health(struct script *s, size_t *nr_items, char *label)
{
	XGROW(s->items, s->alloc_items, *nr_items + 1);
	s->items[*nr_items].label = label;
	s->items[*nr_items].kind = "health";
	s->items[*nr_items].secret = NULL;
	s->items[*nr_items].handler = true;
	(*nr_items)++;
}

/*
 * on_failure: rollback runs again, without markers, the handlers that the
 * artifact steps which changed notify: a copy of each handler's call
 * (which may span lines: a quoted value holds newlines), made to
 * _dp_rb_handler, for _dp_rollback.
 */
static void rollback_line(struct buf *rb, const char *line, size_t len)
{
	static const char h[] = "\t_dp_handler ";

	if (len < sizeof(h) || strncmp(line, h, sizeof(h) - 1) ||
	    line[len - 1] != '\n')
		return;
	buf_adds(rb, "\t_dp_rb_handler ");
	buf_add(rb, line + sizeof(h) - 1, len - sizeof(h));
	buf_adds(rb, " || _dp_rbf=1\n");
}

/*
 * A step with a loop: one step per item, the item in the data as `item`
 * while it compiles, numbered on from *n_step, labelled with the item.
 */
static int compile_loop(struct cc *c, const struct step *s, size_t *n_step,
			struct buf *body, struct script *script,
			size_t *nr_items)
{
	struct buf what = BUF_INIT;
	cJSON *items = NULL, *item;
	size_t i = 0;
	int rc;

	c->step = s;
	rc = loop_items(c, s, &items);
	cJSON_ArrayForEach(item, items)
	{
		struct step one = *s;
		char *label, *name = loop_label(s, item, i);

		buf_reset(&what);
		buf_addf(&what, "%s.loop[%zu]", s->what, i);
		one.what = what.data;
		cJSON_AddItemToObject(c->data, "item",
				      cJSON_Duplicate(item, true));
		rc = compile_step(c, &one, false, ++*n_step, name, body,
				  &label);
		cJSON_DeleteItemFromObjectCaseSensitive(c->data, "item");
		free(name);
		if (rc)
			break;
		add_item(script, nr_items, label, c, s, false);
		i++;
	}
	c->step = NULL;
	cJSON_Delete(items);
	buf_free(&what);
	return rc;
}

int compile_script(const struct host_context *ctx, struct playbook *const *pbs,
		   size_t nr, const struct compile_opts *opts,
		   struct script **out, struct error *err)
{
	struct script *s = xcalloc(1, sizeof(*s));
	struct buf steps = BUF_INIT, handlers = BUF_INIT, names = BUF_INIT;
	struct buf want = BUF_INIT;
	struct cc c = {
		.ctx = ctx, .opts = opts, .err = err, .want = &want, .script = s
	};
	struct buf rb = BUF_INIT;
	const char *dir = opts && opts->notify_dir ? opts->notify_dir
						   : COMPILE_DEFAULT_NOTIFY_DIR;
	const struct ynode *health =
		ctx->host->role ? ctx->host->role->health : NULL;
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
		s->nr_handlers += pbs[i]->nr_handlers;
		buf_addf(&names, "%s%s", i ? ", " : "", pbs[i]->name);
	}
	if (dir[0] != '/' || cc_has_control(dir, strlen(dir))) {
		rc = error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
			       "the notification directory must be an "
			       "absolute path");
		goto out;
	}
	/* The health gate: checks run after the handlers. */
	s->nr_handlers += count_health(pbs, nr, health);
	for (size_t i = 0; i < nr && !rc; i++) {
		c.pb = pbs[i];
		c.data = context_playbook_data(ctx, pbs[i]);
		for (size_t j = 0; j < pbs[i]->nr_steps && !rc; j++) {
			const struct step *st = &pbs[i]->steps[j];

			if (st->loop) {
				rc = compile_loop(&c, st, &n_step, &steps, s,
						  &nr_items);
				continue;
			}
			rc = compile_step(&c, st, false, ++n_step, NULL, &steps,
					  &label);
			if (!rc)
				add_item(s, &nr_items, label, &c, st, false);
		}
		context_data_free(c.data);
		c.data = NULL;
	}
	/* A loop makes as many steps as its list has items. */
	s->nr_steps = n_step;
	/* Handlers after every step, in playbook then handler order. */
	for (size_t i = 0; i < nr && !rc; i++) {
		c.pb = pbs[i];
		c.data = context_playbook_data(ctx, pbs[i]);
		for (size_t j = 0; j < pbs[i]->nr_handlers && !rc; j++) {
			size_t at = handlers.len;

			rc = compile_step(&c, &pbs[i]->handlers[j], true,
					  ++n_handler, NULL, &handlers, &label);
			if (!rc)
				add_item(s, &nr_items, label, &c,
					 &pbs[i]->handlers[j], true);
			if (!rc)
				rollback_line(&rb, handlers.data + at,
					      handlers.len - at);
		}
		context_data_free(c.data);
		c.data = NULL;
	}
	for (size_t i = 0; i < nr && !rc; i++) {
		c.pb = pbs[i];
		c.data = context_playbook_data(ctx, pbs[i]);
		buf_reset(&names);
		buf_addf(&names, "playbook '%s' health", pbs[i]->name);
		for (size_t j = 0;
		     pbs[i]->health && j < pbs[i]->health->nr && !rc; j++) {
			const struct ynode *check = pbs[i]->health->items[j];

			if (health_overridden(check, health))
				continue;
			label = health_label(check);
			rc = health_compile(ctx, c.data, pbs[i]->file,
					    names.data, check, ++n_handler,
					    label, &handlers, err);
			add_health(s, &nr_items, label);
		}
		context_data_free(c.data);
		c.data = NULL;
	}
	buf_reset(&names);
	buf_addf(&names, "roles.%s.health",
		 ctx->host->role ? ctx->host->role->name : "?");
	for (size_t i = 0; !rc && health && i < health->nr; i++) {
		label = health_label(health->items[i]);
		rc = health_compile(ctx, ctx->data, ctx->t->file, names.data,
				    health->items[i], ++n_handler, label,
				    &handlers, err);
		add_health(s, &nr_items, label);
	}
	if (rc)
		goto out;
	buf_reset(&names);
	for (size_t i = 0; i < nr; i++)
		buf_addf(&names, "%s%s", i ? ", " : "", pbs[i]->name);
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
	buf_addf(&s->text, "\nDP_DIFF=%d\nDP_ROLLBACK=%d\n\n%s\n",
		 opts && opts->diff ? 1 : 0,
		 ctx->host->role && ctx->host->role->rollback ? 1 : 0,
		 playbook_runtime);
	buf_addf(&s->text,
		 "_dp_rb_handlers() {\n\t_dp_rbf=0\n%s\treturn "
		 "\"$_dp_rbf\"\n}\n\n_dp_main() {\n\t_dp_begin \"$@\"\n",
		 rb.data ? rb.data : "");
	if (want.len)
		buf_addf(&s->text, "\t_dp_want%s\n", want.data);
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
	if (s) { /* script_free() frees the items made so far */
		s->nr_steps = nr_items;
		s->nr_handlers = 0;
	}
	context_data_free(c.data);
	buf_free_secret(&rb);
	buf_free_secret(&steps);
	buf_free_secret(&handlers);
	buf_free_secret(&want);
	buf_free(&names);
	script_free(s);
	return rc;
}

void script_free(struct script *s)
{
	if (!s)
		return;
	buf_free_secret(&s->text);
	for (size_t i = 0; s->items && i < s->nr_steps + s->nr_handlers; i++) {
		free(s->items[i].label);
		free(s->items[i].secret);
	}
	free(s->items);
	free(s->artifacts);
	for (size_t i = 0; i < s->nr_pushes; i++) {
		free(s->pushes[i].name);
		free(s->pushes[i].image_ids);
		free(s->pushes[i].staged);
		free(s->pushes[i].dest);
		free(s->pushes[i].path);
		free(s->pushes[i].placeholder);
	}
	free(s->pushes);
	free(s);
}
