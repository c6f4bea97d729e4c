/* SPDX-License-Identifier: MIT */
/* The DigitalOcean token (environment, doctl's config) and API address. */
#include "providers/digitalocean/credentials.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "yamltree/ytree.h"
#include "util/banned.h"

#define DOCTL_MAX_CONFIG (1u << 20)

void do_token_free(struct do_token *t)
{
	if (!t)
		return;
	if (t->token)
		freezero(t->token, strlen(t->token) + 1);
	free(t->source);
	t->token = NULL;
	t->source = NULL;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* A token goes into an HTTP header: printable ASCII, no space. */
static bool token_ok(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static char *config_path(void)
{
	const char *xdg = env("XDG_CONFIG_HOME");
	struct buf b = BUF_INIT;

	if (xdg)
		buf_addf(&b, "%s/doctl/config.yaml", xdg);
	else
		buf_addf(&b, "%s/.config/doctl/config.yaml", home_dir());
	return buf_release(&b);
}

/* Overwrite every scalar of doc: the config file holds tokens. */
static void wipe_doc(struct ydoc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->nr_all; i++)
		if (doc->all[i]->kind == YNODE_SCALAR && doc->all[i]->value)
			explicit_bzero(doc->all[i]->value, doc->all[i]->len);
}

static int from_env(struct do_token *out, struct error *err)
{
	static const char *const vars[] = { "DIGITALOCEAN_TOKEN",
					    "DIGITALOCEAN_ACCESS_TOKEN" };

	for (size_t i = 0; i < 2; i++) {
		const char *v = env(vars[i]);

		if (!v)
			continue;
		if (!token_ok(v, strlen(v)))
			return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					 "%s holds a character a token "
					 "cannot (a space, a newline or a "
					 "control character)",
					 vars[i]);
		out->token = xstrdup(v);
		out->source = xstrdup(vars[i]);
		return 1;
	}
	return 0;
}

/* The names of the contexts in the file, for a message. */
static void list_contexts(const struct ynode *root, struct buf *b)
{
	const struct ynode *ac = ynode_get(root, "auth-contexts");

	buf_adds(b, "default");
	for (size_t i = 0; ac && ac->kind == YNODE_MAP && i < ac->nr; i++)
		if (strcmp(ac->pairs[i].key->value, "default"))
			buf_addf(b, ", %s", ac->pairs[i].key->value);
}

static int from_doctl(const char *path, const char *named, const char *origin,
		      struct do_token *out, struct error *err)
{
	struct buf text;
	struct ydoc *doc = NULL;
	struct diag_list dl;
	const struct ynode *root, *cur, *tok;
	const char *context = named;
	int rc;

	buf_init(&text, DOCTL_MAX_CONFIG);
	diag_list_init(&dl);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		rc = 0; /* no file: the caller says where it looked */
		goto out;
	}
	if (rc) {
		rc = error_set(err, rc, path, 0, 0,
			       "cannot read doctl's config file: %s",
			       rc == DEPLOY_ERR_TOO_BIG ? "too large"
							: strerror(errno));
		goto out;
	}
	rc = ydoc_parse(path, text.data, text.len, &doc, &dl, err);
	if (rc)
		goto out;
	root = doc->root;
	if (root && root->kind != YNODE_MAP) {
		rc = error_set(err, DEPLOY_ERR_SYNTAX, path, root->line,
			       root->col,
			       "doctl's config file is not a mapping");
		goto out;
	}
	cur = ynode_get(root, "context");
	if (!context && cur && cur->kind == YNODE_SCALAR && cur->len) {
		context = cur->value;
		origin = "the file's context:";
	}
	if (!context) {
		context = "default";
		origin = NULL;
	}
	if (!strcmp(context, "default")) {
		tok = ynode_get(root, "access-token");
	} else {
		const struct ynode *ac = ynode_get(root, "auth-contexts");

		tok = ac && ac->kind == YNODE_MAP ? ynode_get(ac, context)
						  : NULL;
		if (!tok) {
			struct buf names = BUF_INIT;

			list_contexts(root, &names);
			rc = error_set(err, DEPLOY_ERR_NOT_FOUND, path, 0, 0,
				       "doctl context '%s'%s%s%s is not in "
				       "the file (contexts there: %s)",
				       context, origin ? " (from " : "",
				       origin ? origin : "", origin ? ")" : "",
				       names.data);
			buf_free(&names);
			goto out;
		}
	}
	if (!tok || (tok->kind == YNODE_SCALAR && !tok->len)) {
		rc = 0; /* the context has no token: the caller says so */
		goto out;
	}
	if (tok->kind != YNODE_SCALAR || !token_ok(tok->value, tok->len)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, path, tok->line,
			       tok->col,
			       "the token of doctl context '%s' is not a "
			       "token (it holds a space, a newline or a "
			       "control character)",
			       context);
		goto out;
	}
	out->token = xstrndup(tok->value, tok->len);
	{
		struct buf src = BUF_INIT;

		buf_addf(&src, "doctl context '%s' in %s", context, path);
		out->source = buf_release(&src);
	}
	rc = 1;
out:
	wipe_doc(doc);
	ydoc_free(doc);
	diag_list_free(&dl);
	buf_free_secret(&text);
	return rc;
}

int do_token_load(const char *context, struct do_token *out, struct error *err)
{
	const char *origin = "the provider block's context:";
	char *path = config_path();
	int rc = 0;

	out->token = NULL;
	out->source = NULL;
	if (context && !*context)
		context = NULL;
	if (!context) {
		rc = from_env(out, err);
		if (rc)
			goto out;
		context = env("DIGITALOCEAN_CONTEXT");
		origin = "DIGITALOCEAN_CONTEXT";
	}
	rc = from_doctl(path, context, context ? origin : NULL, out, err);
	if (rc)
		goto out;
	rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
		       "no DigitalOcean token: %s%s has none for context "
		       "'%s' (set DIGITALOCEAN_TOKEN, or run 'doctl auth "
		       "init'%s)",
		       context ? ""
			       : "DIGITALOCEAN_TOKEN and "
				 "DIGITALOCEAN_ACCESS_TOKEN are unset, ",
		       path, context ? context : "default",
		       context ? " --context with that name" : "");
out:
	free(path);
	if (rc > 0)
		return 0;
	do_token_free(out);
	return rc;
}

int do_endpoint_resolve(const char *block_endpoint, char **out,
			struct error *err)
{
	const char *url = block_endpoint && *block_endpoint
				  ? block_endpoint
				  : env("DIGITALOCEAN_API_URL");
	const char *what = block_endpoint && *block_endpoint
				   ? "the provider block's endpoint"
				   : "DIGITALOCEAN_API_URL";
	size_t len;

	*out = NULL;
	if (!url)
		url = DO_DEFAULT_ENDPOINT;
	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "%s '%s' is not an http or https URL", what,
				 url);
	if (strpbrk(url, "?# \t\r\n"))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "%s '%s' must be scheme://host[:port][/path] "
				 "without a query",
				 what, url);
	len = strlen(url);
	while (len > 8 && url[len - 1] == '/')
		len--;
	*out = xstrndup(url, len);
	return 0;
}
