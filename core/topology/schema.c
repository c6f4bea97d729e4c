/* SPDX-License-Identifier: MIT */
/* The topology's keys as tables (type, bounds, default) and their check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/schema.h"
#include "topology/image.h"
#include "providers/provider.h"
#include "providers/aws/s3.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

void check_dns_label(struct vctx *v, const struct ynode *n, const char *what)
{
	if (!is_dns_label(n->value))
		verror(v, n,
		       "%s '%s' is not a DNS label: use 1 to 63 lowercase "
		       "letters, digits and '-', not starting or ending "
		       "with '-'",
		       what, n->value);
}

void check_identifier(struct vctx *v, const struct ynode *n, const char *what)
{
	if (!is_identifier(n->value))
		verror(v, n,
		       "%s '%s' is not a valid name: use letters, digits "
		       "and '_', not starting with a digit",
		       what, n->value);
}

void check_cidr(struct vctx *v, const struct ynode *n, const char *what)
{
	struct cidr c;
	const char *why;
	char net[64];

	if (cidr_parse(n->value, &c, &why)) {
		if (is_ip_address(n->value))
			verror(v, n,
			       "%s '%s' is an address, not a CIDR: write "
			       "'%s/%d' for this one address",
			       what, n->value, n->value,
			       strchr(n->value, ':') ? 128 : 32);
		else
			verror(v, n,
			       "%s '%s' is not a CIDR (%s), e.g. "
			       "203.0.113.0/24",
			       what, n->value, why);
		return;
	}
	if (cidr_has_host_bits(&c)) {
		cidr_format_network(&c, net, sizeof(net));
		verror(v, n,
		       "%s '%s' has bits set past its prefix length (did you "
		       "mean '%s'?)",
		       what, n->value, net);
	}
}

void check_url(struct vctx *v, const struct ynode *n, const char *what)
{
	const char *s = n->value;

	if ((strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) ||
	    !strchr(s, ':')[3])
		verror(v, n, "%s '%s' is not an http:// or https:// URL", what,
		       s);
}

static void check_version(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	long ver = 0;

	(void)what;
	ynode_int(n, &ver);
	if (ver != 1)
		verror(v, n,
		       "unsupported version %ld: this deploy reads version 1 "
		       "(see docs/topology.md)",
		       ver);
}

static void check_user(struct vctx *v, const struct ynode *n, const char *what)
{
	if (!is_user_name(n->value))
		verror(v, n,
		       "%s '%s' is not a user name: lowercase letters, "
		       "digits, '_' and '-', starting with a letter or '_'",
		       what, n->value);
}

static void check_address(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	if (!is_ip_address(n->value) && !is_dns_name(n->value))
		verror(v, n, "%s '%s' is neither an IP address nor a host name",
		       what, n->value);
}

int parse_port_range(const struct ynode *n, int *lo, int *hi)
{
	long a, b;
	char *end;

	if (!ynode_int(n, &a)) {
		*lo = *hi = (int)(a >= 0 && a <= 65535 ? a : -1);
		return a >= 1 && a <= 65535 ? 0 : -1;
	}
	/* Quoted "9000" or "8000-8100": digits, at most one '-'. */
	if (n->kind != YNODE_SCALAR || n->value[0] < '0' || n->value[0] > '9' ||
	    n->len > 11)
		return -1;
	a = strtol(n->value, &end, 10);
	if (!*end) {
		b = a;
		goto range;
	}
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtol(end + 1, &end, 10);
range:
	if (*end || a < 1 || b > 65535 || a > b)
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

static void check_port(struct vctx *v, const struct ynode *n, const char *what)
{
	int lo, hi;

	if (n->kind == YNODE_SCALAR && !parse_port_range(n, &lo, &hi))
		return;
	if (n->kind == YNODE_SCALAR)
		verror(v, n,
		       "%s must be a port from 1 to 65535 or a range such as "
		       "'8000-8100', not '%s'",
		       what, n->value);
	else
		verror(v, n,
		       "%s must be a port from 1 to 65535 or a range such as "
		       "'8000-8100', not %s",
		       what, ynode_describe(n));
}

static void check_from_item(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	if (!ynode_is_string(n)) {
		verror(v, n,
		       "%s entries are 'world', role names or CIDRs, not %s",
		       what, ynode_describe(n));
		return;
	}
	/* Role names are checked against the roles in validate.c. */
	if (strchr(n->value, '/') || is_ip_address(n->value))
		check_cidr(v, n, what);
}

static void check_from(struct vctx *v, const struct ynode *n, const char *what)
{
	if (n->kind == YNODE_MAP) {
		verror(v, n,
		       "%s must be 'world', a role name, a CIDR or a list of "
		       "them, not a mapping",
		       what);
		return;
	}
	if (n->kind == YNODE_SCALAR) {
		check_from_item(v, n, what);
		return;
	}
	if (!n->nr)
		verror(v, n, "%s is empty: the rule would allow nothing", what);
	for (size_t i = 0; i < n->nr; i++)
		check_from_item(v, n->items[i], what);
}

static void check_path(struct vctx *v, const struct ynode *n, const char *what)
{
	if (!n->len)
		verror(v, n, "%s is empty", what);
}

static void check_playbook(struct vctx *v, const struct ynode *n,
			   const char *what)
{
	const char *s = n->value;
	const char *slash = strchr(s, '/');

	if (!*s) {
		verror(v, n, "%s: empty playbook name", what);
		return;
	}
	if (s[0] == '.' || s[0] == '/' || s[0] == '~')
		return; /* a path beside the topology or absolute */
	if (!slash) {
		if (!is_dns_label(s) && !is_identifier(s))
			verror(v, n,
			       "%s '%s' is not a playbook name: use a built-in "
			       "name (harden), SOURCE/PATH from 'sources', or "
			       "a path starting with './'",
			       what, s);
		return;
	}
	/* SOURCE/PATH: the source is checked against 'sources' later. */
	if (slash == s || !slash[1])
		verror(v, n, "%s '%s' is not SOURCE/PATH", what, s);
}

static void check_absolute_path(struct vctx *v, const struct ynode *n,
				const char *what)
{
	if (n->value[0] != '/')
		verror(v, n, "%s '%s' must be an absolute path", what,
		       n->value);
}

static void check_source_path(struct vctx *v, const struct ynode *n,
			      const char *what)
{
	const char *s = n->value;

	if (s[0] == '/' || !strcmp(s, "..") || !strncmp(s, "../", 3) ||
	    strstr(s, "/../") ||
	    (strlen(s) >= 3 && !strcmp(s + strlen(s) - 3, "/..")))
		verror(v, n,
		       "%s '%s' must be a directory inside the repository "
		       "(relative, without '..')",
		       what, s);
}

static void check_git_url(struct vctx *v, const struct ynode *n,
			  const char *what)
{
	const char *s = n->value;
	const char *colon = strchr(s, ':');

	if (!strncmp(s, "https://", 8) || !strncmp(s, "ssh://", 6) ||
	    !strncmp(s, "file://", 7) || !strncmp(s, "http://", 7))
		return;
	/* scp-like user@host:path */
	if (colon && colon != s && colon[1] && !strchr(s, ' ') &&
	    strchr(s, '@') && strchr(s, '@') < colon)
		return;
	verror(v, n,
	       "%s '%s' is not a git URL: use https://, ssh://, file:// or "
	       "user@host:path",
	       what, s);
}

/* A secret says where its value comes from: exactly one of env or file. */
static void check_secret(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	bool env = ynode_get(n, "env") != NULL;
	bool file = ynode_get(n, "file") != NULL;

	if (env == file)
		verror(v, n,
		       "%s needs exactly one of 'env: VARIABLE' or 'file: "
		       "PATH'",
		       what);
}

/* Common value specs */

const struct vspec vs_string = { .type = VT_STRING };
const struct vspec vs_url = { .type = VT_STRING, .check = check_url };
const struct vspec vs_cidr = { .type = VT_STRING, .check = check_cidr };
const struct vspec vs_string_list = { .type = VT_SEQ, .items = &vs_string };

static const struct vspec vs_bool = { .type = VT_BOOL };
static const struct vspec vs_any = { .type = VT_ANY };
static const struct vspec vs_dns_label = { .type = VT_STRING,
					   .check = check_dns_label };
static const struct vspec vs_user = { .type = VT_STRING, .check = check_user };
static const struct vspec vs_path = { .type = VT_STRING, .check = check_path };
static const struct vspec vs_vars = { .type = VT_DICT,
				      .items = &vs_any,
				      .check_key = check_identifier,
				      .key_what = "variable name" };

/* ssh */

static const struct vspec vs_cidr_list = { .type = VT_SEQ, .items = &vs_cidr };
static const char *const host_key_modes[] = { "accept-new", "strict", NULL };
static const struct vspec vs_host_keys = { .type = VT_STRING,
					   .choices = host_key_modes };

static const struct key_spec ssh_keys[] = {
	{ "user", &vs_user, 0, "root", "user: admin" },
	{ "key", &vs_path, 0, "ssh-agent, then ~/.ssh/id_ed25519",
	  "key: ~/.ssh/id_ed25519" },
	{ "known_hosts", &vs_path, 0, "~/.ssh/known_hosts", NULL },
	{ "admin_cidrs", &vs_cidr_list, 0, "[]",
	  "admin_cidrs: [203.0.113.7/32]" },
	{ "allow_world_ssh", &vs_bool, 0, "false", NULL },
	{ "host_keys", &vs_host_keys, 0, "accept-new", NULL },
	{ 0 },
};

static const struct vspec vs_ssh = { .type = VT_MAP, .keys = ssh_keys };

/* providers: each key a registered provider, checked with its own table */

static void unknown_provider(struct vctx *v, const struct ynode *key)
{
	char *known = provider_list(-1, ", ");

	verror(v, key, "unknown provider '%s' (known: %s)", key->value, known);
	free(known);
}

static void check_providers(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	if (n->kind != YNODE_MAP) {
		verror(v, n,
		       "%s must be a mapping of provider names to "
		       "settings, not %s",
		       what, ynode_describe(n));
		return;
	}
	for (size_t i = 0; i < n->nr; i++) {
		const struct ynode *key = n->pairs[i].key;
		const struct ynode *val = n->pairs[i].value;
		const struct provider_ops *p = provider_find(key->value);
		struct vspec spec = { .type = VT_MAP };
		struct buf w = BUF_INIT;
		const char *hint;

		if (!p) {
			hint = suggest(key->value, provider_names(), SIZE_MAX);
			if (hint)
				verror(v, key,
				       "unknown provider '%s' (did you mean "
				       "'%s'?)",
				       key->value, hint);
			else
				unknown_provider(v, key);
			continue;
		}
		spec.keys = provider_config_keys(p);
		buf_addf(&w, "providers.%s", key->value);
		/* "local:" alone takes the defaults, if there are any. */
		if (ynode_is_null(val) && provider_needs_config(p))
			verror(v, key,
			       "%s needs settings (see docs/topology.md), "
			       "e.g. '%s: {%s}'",
			       w.data, key->value,
			       provider_config_keys(p)->example);
		else if (!ynode_is_null(val))
			schema_check(v, val, &spec, w.data);
		buf_free(&w);
	}
}

static const struct vspec vs_providers = { .type = VT_ANY,
					   .check = check_providers };

/* secrets */

static const struct key_spec secret_keys[] = {
	{ "env", &vs_string, 0, NULL, "env: KEY_PASSWORD" },
	{ "file", &vs_path, 0, NULL, "file: ./keystore.json" },
	{ 0 },
};

static const struct vspec vs_secret = { .type = VT_MAP,
					.keys = secret_keys,
					.check = check_secret };
static const struct vspec vs_secrets = { .type = VT_DICT,
					 .items = &vs_secret,
					 .check_key = check_identifier,
					 .key_what = "secret name" };

/* sources */

static const struct vspec vs_git_url = { .type = VT_STRING,
					 .check = check_git_url };
static const struct vspec vs_source_path = { .type = VT_STRING,
					     .check = check_source_path };

static const struct key_spec source_keys[] = {
	{ "git", &vs_git_url, KEY_REQUIRED, NULL,
	  "git: https://github.com/team/playbooks.git" },
	{ "ref", &vs_string, 0, "the remote's default branch", "ref: v1.2.0" },
	{ "path", &vs_source_path, 0, "the repository's top", "path: ops" },
	{ 0 },
};

static const struct vspec vs_source = { .type = VT_MAP, .keys = source_keys };
static const struct vspec vs_sources = { .type = VT_DICT,
					 .items = &vs_source,
					 .check_key = check_dns_label,
					 .key_what = "source name" };

/* artifacts */

static void check_artifact_url(struct vctx *v, const struct ynode *n,
			       const char *what)
{
	const char *s = n->value;
	bool ok = false;

	if (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7))
		ok = strchr(s, ':')[3] != '\0';
	else if (!strncmp(s, "file://", 7))
		ok = s[7] == '/';
	for (const char *p = s; ok && *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			ok = false;
	if (!ok)
		verror(v, n,
		       "%s '%s' is not an https://, http:// or file:///PATH "
		       "URL",
		       what, s);
}

static void check_sha256(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	const char *s = n->value;
	size_t len, bad;

	/* Any scalar: a digest of digits only reads as a number in YAML. */
	if (n->kind != YNODE_SCALAR || !s) {
		verror(v, n, "%s must be 64 hex digits, not %s", what,
		       ynode_describe(n));
		return;
	}
	len = strlen(s);
	bad = strspn(s, "0123456789abcdefABCDEF");
	if (!strncmp(s, "sha256:", 7))
		verror(v, n,
		       "%s starts with 'sha256:': write the 64 hex digits "
		       "alone",
		       what);
	else if (bad < len)
		verror(v, n,
		       "%s is not hexadecimal ('%c' at character %zu): a "
		       "SHA-256 digest is 64 hex digits (sha256sum FILE)",
		       what, s[bad], bad + 1);
	else if (len != 64)
		verror(v, n,
		       "%s has %zu hex digits, not 64: a SHA-256 digest is "
		       "64 hex digits (sha256sum FILE)",
		       what, len);
}

static void check_image_tag(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	struct buf why = BUF_INIT;

	if (image_tag_check(n->value, &why))
		verror(v, n, "%s '%s' %s", what, n->value, why.data);
	buf_free(&why);
}

static const struct vspec vs_artifact_url = { .type = VT_STRING,
					      .check = check_artifact_url };
static const struct vspec vs_image_tag = { .type = VT_STRING,
					   .check = check_image_tag };
static const struct vspec vs_sha256 = { .type = VT_ANY, .check = check_sha256 };
static const char *const artifact_fetches[] = { "operator", "host", NULL };
static const struct vspec vs_artifact_fetch = { .type = VT_STRING,
						.choices = artifact_fetches };
static void check_artifact_version(struct vctx *v, const struct ynode *n,
				   const char *what)
{
	/* Any scalar: 2.4 reads as a number in YAML. */
	if (n->kind != YNODE_SCALAR || !n->value || !n->value[0] ||
	    strlen(n->value) > 64 || strpbrk(n->value, " \t\r\n"))
		verror(v, n,
		       "%s must be a version without blanks, at most 64 "
		       "characters (2.4.0)",
		       what);
}
static const struct vspec vs_artifact_version = {
	.type = VT_ANY, .check = check_artifact_version
};

static const struct key_spec artifact_keys[] = {
	{ "url", &vs_artifact_url, KEY_REQUIRED, NULL,
	  "url: https://example.com/neard-2.4.0.tar.gz" },
	{ "sha256", &vs_sha256, KEY_REQUIRED, NULL,
	  "sha256: 64 hex digits from sha256sum" },
	{ "unpack", &vs_bool, 0, "false", NULL },
	{ "docker_load", &vs_bool, 0, "false", NULL },
	{ "image", &vs_image_tag, 0, "none",
	  "image: iconloop/icon2-node:v1.4.4" },
	{ "version", &vs_artifact_version, 0, "none", "version: 2.4.0" },
	{ "fetch", &vs_artifact_fetch, 0, "operator", "fetch: host" },
	{ 0 },
};

/* docker_load: true and image: go together; a loaded image is no tarball
 * to unpack. */
static void check_artifact(struct vctx *v, const struct ynode *n,
			   const char *what)
{
	const struct ynode *load = ynode_get(n, "docker_load");
	const struct ynode *image = ynode_get(n, "image");
	const struct ynode *unpack = ynode_get(n, "unpack");
	bool on = false, un = false;

	if (load)
		ynode_bool(load, &on);
	if (unpack)
		ynode_bool(unpack, &un);
	if (on && !image)
		verror(v, n,
		       "%s has docker_load: true but no 'image:' (the "
		       "REPO:TAG the tarball holds, e.g. 'image: "
		       "iconloop/icon2-node:v1.4.4')",
		       what);
	else if (image && !on)
		verror(v, image,
		       "%s.image is for 'docker save' tarballs: add "
		       "'docker_load: true'",
		       what);
	if (on && un)
		verror(v, unpack,
		       "%s: docker_load and unpack exclude each other "
		       "(docker load reads the tarball itself)",
		       what);
}

static const struct vspec vs_artifact = { .type = VT_MAP,
					  .keys = artifact_keys,
					  .check = check_artifact };
static const struct vspec vs_artifacts = { .type = VT_DICT,
					   .items = &vs_artifact,
					   .check_key = check_dns_label,
					   .key_what = "artifact name" };

/* roles */

static const struct vspec vs_count = { .type = VT_INT, .min = 0, .max = 1000 };
static const struct vspec vs_serial = { .type = VT_INT, .min = 1, .max = 1000 };
static const char *const on_failures[] = { "stop", "rollback", NULL };
static const struct vspec vs_on_failure = { .type = VT_STRING,
					    .choices = on_failures };
static const struct vspec vs_port = { .type = VT_INT, .min = 1, .max = 65535 };
static const struct vspec vs_address = { .type = VT_STRING,
					 .check = check_address };

static const struct key_spec host_keys[] = {
	{ "name", &vs_dns_label, KEY_REQUIRED, NULL, "name: metal-1" },
	{ "address", &vs_address, KEY_REQUIRED, NULL,
	  "address: 198.51.100.10" },
	{ "port", &vs_port, 0, "22", NULL },
	{ "user", &vs_user, 0, "ssh.user", NULL },
	{ "key", &vs_path, 0, "ssh.key", NULL },
	{ "vars", &vs_vars, 0, "{}", NULL },
	{ 0 },
};

static const struct vspec vs_host = { .type = VT_MAP, .keys = host_keys };
static const struct vspec vs_hosts = { .type = VT_SEQ,
				       .min = 1,
				       .items = &vs_host };

/* An Ansible inventory group: any name the inventory has. */
static void check_group(struct vctx *v, const struct ynode *n, const char *what)
{
	if (!n->len)
		verror(v, n, "%s is empty", what);
}

static const struct vspec vs_group = { .type = VT_STRING,
				       .check = check_group };

static const struct vspec vs_provider_name = { .type = VT_STRING };
static const struct vspec vs_playbook = { .type = VT_STRING,
					  .check = check_playbook };
static const struct vspec vs_playbooks = { .type = VT_SEQ,
					   .items = &vs_playbook };

static const struct vspec vs_fw_port = { .type = VT_ANY, .check = check_port };
static const char *const protos[] = { "tcp", "udp", NULL };
static const struct vspec vs_proto = { .type = VT_STRING, .choices = protos };
static const struct vspec vs_from = { .type = VT_ANY, .check = check_from };

static const struct key_spec fw_keys[] = {
	{ "port", &vs_fw_port, KEY_REQUIRED, NULL, "port: 9000" },
	{ "proto", &vs_proto, 0, "tcp", NULL },
	{ "from", &vs_from, KEY_REQUIRED, NULL, "from: [sentry]" },
	{ 0 },
};

static const struct vspec vs_fw_rule = { .type = VT_MAP, .keys = fw_keys };

/* health: checks run on the host (docs/topology.md#rolesnamehealth) */

static bool has(const struct ynode *n, const char *key)
{
	return ynode_get(n, key) != NULL;
}

static void check_health(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	static const char *const http_only[] = { "method", "body", "status",
						 "field", NULL };
	static const char *const ops[] = { "equals", "at_least", "at_most",
					   NULL };
	int kinds = has(n, "http") + has(n, "tcp") + has(n, "command") +
		    has(n, "height");
	int nr_ops = 0;

	if (kinds != 1) {
		verror(v, n,
		       "%s needs exactly one of 'http: URL', 'tcp: "
		       "HOST:PORT', 'command: CODE' or 'height: {...}'",
		       what);
		return;
	}
	for (size_t i = 0; !has(n, "http") && http_only[i]; i++)
		if (has(n, http_only[i]))
			verror(v, ynode_get(n, http_only[i]),
			       "%s.%s is for http checks", what, http_only[i]);
	for (size_t i = 0; ops[i]; i++)
		nr_ops += has(n, ops[i]);
	if (has(n, "field") && nr_ops != 1)
		verror(v, ynode_get(n, "field"),
		       "%s.field needs exactly one of 'equals', 'at_least' "
		       "or 'at_most'",
		       what);
	else if (!has(n, "field") && nr_ops)
		verror(v, n,
		       "%s compares a JSON field: say which with "
		       "'field: sync_info.syncing'",
		       what);
}

static void check_tcp_target(struct vctx *v, const struct ynode *n,
			     const char *what)
{
	const char *colon = n->kind == YNODE_SCALAR && n->value
				    ? strrchr(n->value, ':')
				    : NULL;
	char *end = NULL;
	long port;

	/* A template ({{host.address}}:{{vars.p2p}}) is checked rendered. */
	if (n->kind == YNODE_SCALAR && n->value && strstr(n->value, "{{"))
		return;
	if (colon && colon != n->value && colon[1]) {
		port = strtol(colon + 1, &end, 10);
		if (!*end && port >= 1 && port <= 65535)
			return;
	}
	if (!colon && n->kind == YNODE_SCALAR && n->value && n->value[0]) {
		port = strtol(n->value, &end, 10);
		if (!*end && port >= 1 && port <= 65535)
			return;
	}
	verror(v, n, "%s must be HOST:PORT or a port (1 to 65535)", what);
}

static void check_scalar(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	if (n->kind != YNODE_SCALAR)
		verror(v, n, "%s must be a single value, not %s", what,
		       ynode_describe(n));
}

static void check_number(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	char *end = NULL;

	if (n->kind == YNODE_SCALAR && n->value && n->value[0]) {
		strtod(n->value, &end);
		if (!*end)
			return;
	}
	verror(v, n, "%s must be a number", what);
}

static const char *const http_methods[] = { "GET", "POST", "HEAD", NULL };
static const struct vspec vs_tcp_target = { .type = VT_ANY,
					    .check = check_tcp_target };
static const struct vspec vs_method = { .type = VT_STRING,
					.choices = http_methods };
static const struct vspec vs_http_status = { .type = VT_INT,
					     .min = 100,
					     .max = 599 };
static const struct vspec vs_scalar = { .type = VT_ANY, .check = check_scalar };
static const struct vspec vs_number = { .type = VT_ANY, .check = check_number };
static const struct vspec vs_health_interval = { .type = VT_INT,
						 .min = 1,
						 .max = 3600 };
static const struct vspec vs_health_timeout = { .type = VT_INT,
						.min = 1,
						.max = 604800 };

/* A URL, or a template that renders to URLs (checked when compiled). */
static void check_reference_url(struct vctx *v, const struct ynode *n,
				const char *what)
{
	if (!strstr(n->value, "{{"))
		check_url(v, n, what);
}

static void check_reference(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	static const struct vspec url = { .type = VT_STRING,
					  .check = check_reference_url };
	static const struct vspec urls = { .type = VT_SEQ,
					   .min = 1,
					   .items = &url };

	schema_check(v, n, n->kind == YNODE_SEQ ? &urls : &url, what);
}

/* A count of blocks, or a template ({{vars.icon_health_within}}). */
static void check_within(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	long b;

	if (n->kind == YNODE_SCALAR && n->value && strstr(n->value, "{{"))
		return;
	if (ynode_int(n, &b) || b < 0 || b > 1000000000)
		verror(v, n, "%s must be a number of blocks, 0 to 1000000000",
		       what);
}

static const struct vspec vs_reference = { .type = VT_ANY,
					   .check = check_reference };
static const struct vspec vs_within = { .type = VT_ANY, .check = check_within };

/* height: the node's block height against reference endpoints */
static const struct key_spec height_keys[] = {
	{ "rpc", &vs_url, KEY_REQUIRED, NULL,
	  "rpc: http://127.0.0.1:9000/api/v3" },
	{ "method", &vs_string, 0, "none: GET", NULL },
	{ "field", &vs_string, KEY_REQUIRED, NULL, "field: result.height" },
	{ "reference", &vs_reference, KEY_REQUIRED, NULL,
	  "reference: [https://ctz.solidwallet.io/api/v3]" },
	{ "within", &vs_within, 0, "30", NULL },
	{ 0 },
};

static const struct vspec vs_height = { .type = VT_MAP, .keys = height_keys };

static const struct key_spec health_keys[] = {
	{ "name", &vs_string, 0, "the check as written", NULL },
	{ "http", &vs_url, 0, NULL, "http: http://127.0.0.1:3030/status" },
	{ "tcp", &vs_tcp_target, 0, NULL, "tcp: 127.0.0.1:24567" },
	{ "command", &vs_string, 0, NULL,
	  "command: systemctl is-active neard" },
	{ "height", &vs_height, 0, NULL, NULL },
	{ "method", &vs_method, 0, "GET; POST with a body", NULL },
	{ "body", &vs_string, 0, "none", NULL },
	{ "status", &vs_http_status, 0, "200", NULL },
	{ "field", &vs_string, 0, "none", "field: sync_info.syncing" },
	{ "equals", &vs_scalar, 0, NULL, NULL },
	{ "at_least", &vs_number, 0, NULL, NULL },
	{ "at_most", &vs_number, 0, NULL, NULL },
	{ "interval", &vs_health_interval, 0, "5", NULL },
	{ "timeout", &vs_health_timeout, 0, "300", NULL },
	{ 0 },
};

static const struct vspec vs_health_check = { .type = VT_MAP,
					      .keys = health_keys,
					      .check = check_health };
const struct vspec vs_health = { .type = VT_SEQ, .items = &vs_health_check };
static const struct vspec vs_firewall = { .type = VT_SEQ,
					  .items = &vs_fw_rule };

static const struct vspec vs_disk_size = { .type = VT_INT,
					   .min = 1,
					   .max = 65536 };
static const struct vspec vs_mount = { .type = VT_STRING,
				       .check = check_absolute_path };

static const struct key_spec disk_keys[] = {
	{ "size", &vs_disk_size, KEY_REQUIRED, NULL, "size: 500" },
	{ "type", &vs_string, 0, "the provider's default", NULL },
	{ "mount", &vs_mount, 0, "/data", NULL },
	{ 0 },
};

static const struct vspec vs_disk_map = { .type = VT_MAP, .keys = disk_keys };

/* disk: 500 is short for disk: {size: 500} */
static void check_disk(struct vctx *v, const struct ynode *n, const char *what)
{
	long size;

	if (n->kind == YNODE_MAP) {
		schema_check(v, n, &vs_disk_map, what);
		return;
	}
	if (ynode_int(n, &size)) {
		verror(v, n,
		       "%s must be a size in GiB or a mapping {size, type, "
		       "mount}, not %s",
		       what, ynode_describe(n));
		return;
	}
	schema_check(v, n, &vs_disk_size, what);
}

static const struct vspec vs_disk = { .type = VT_ANY, .check = check_disk };

static const struct key_spec role_keys[] = {
	{ "provider", &vs_provider_name, 0,
	  "the only provider under 'providers', if there is one",
	  "provider: aws" },
	{ "count", &vs_count, 0, "1", NULL },
	{ "hosts", &vs_hosts, 0, NULL,
	  "hosts: [{name: metal-1, address: 198.51.100.10}]" },
	{ "inventory", &vs_path, 0, NULL, "inventory: hosts.ini" },
	{ "group", &vs_group, 0, "the role's name", "group: validators" },
	{ "size", &vs_string, 0, "the provider's default", NULL },
	{ "image", &vs_string, 0, "debian-12", NULL },
	{ "region", &vs_string, 0, "providers.NAME.region", NULL },
	{ "zone", &vs_string, 0, "the provider's choice", NULL },
	{ "via", &vs_dns_label, 0, NULL, "via: bastion" },
	{ "after", &vs_string_list, 0, "[]", "after: [validator]" },
	{ "sentry_of", &vs_dns_label, 0, NULL, "sentry_of: validator" },
	{ "serial", &vs_serial, 0, "all hosts at once", NULL },
	{ "on_failure", &vs_on_failure, 0, "stop", "on_failure: rollback" },
	{ "playbooks", &vs_playbooks, 0, "[]", "playbooks: [harden]" },
	{ "health", &vs_health, 0, "[]", NULL },
	{ "firewall", &vs_firewall, 0, "[]", NULL },
	{ "vars", &vs_vars, 0, "{}", NULL },
	{ "disk", &vs_disk, 0, "none", NULL },
	{ "static_ip", &vs_bool, 0, "false", NULL },
	{ "user_data", &vs_path, 0, "none", "user_data: cloud-init.yml" },
	{ "protect", &vs_bool, 0, "false", NULL },
	{ 0 },
};

/* "world" in a firewall rule's from: means everyone, never a role. */
static void check_role_name(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	check_dns_label(v, n, what);
	if (!strcmp(n->value, "world"))
		verror(v, n,
		       "%s 'world' is reserved: in a firewall rule's 'from' it "
		       "means every address; rename the role",
		       what);
}

static const struct vspec vs_role = { .type = VT_MAP, .keys = role_keys };
static const struct vspec vs_roles = { .type = VT_DICT,
				       .min = 1,
				       .items = &vs_role,
				       .check_key = check_role_name,
				       .key_what = "role name" };

/* state: where the state lives (docs/state.md) */

static void check_bucket(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	if (!s3_bucket_ok(n->value))
		verror(v, n,
		       "%s '%s' is not an S3 bucket name: use 3 to 63 "
		       "lowercase letters, digits, '.' and '-'",
		       what, n->value);
}

static void check_s3_key(struct vctx *v, const struct ynode *n,
			 const char *what)
{
	if (!s3_key_ok(n->value))
		verror(v, n,
		       "%s '%s' is not a key deploy can use: use letters, "
		       "digits, '.', '_', '-' and '/' between non-empty "
		       "parts",
		       what, n->value);
}

static void check_state_s3(struct vctx *v, const struct ynode *n,
			   const char *what)
{
	const struct ynode *kms = ynode_get(n, "kms_key_id");
	const struct ynode *enc = ynode_get(n, "encrypt");
	bool on = true;

	if (kms && enc && !ynode_bool(enc, &on) && !on)
		verror(v, kms, "%s.kms_key_id needs encrypt: true", what);
}

static const struct vspec vs_bucket = { .type = VT_STRING,
					.check = check_bucket };
static const struct vspec vs_s3_key = { .type = VT_STRING,
					.check = check_s3_key };

static const struct key_spec state_s3_keys[] = {
	{ "bucket", &vs_bucket, KEY_REQUIRED, NULL, "bucket: my-team-state" },
	{ "key", &vs_s3_key, 0, "NAME.state.json", NULL },
	{ "region", &vs_string, 0, "providers.aws.region, AWS_REGION", NULL },
	{ "endpoint", &vs_url, 0, "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL",
	  NULL },
	{ "profile", &vs_string, 0, "AWS_PROFILE", NULL },
	{ "encrypt", &vs_bool, 0, "true", NULL },
	{ "kms_key_id", &vs_string, 0, "none: SSE-S3 (AES256)", NULL },
	{ "path_style", &vs_bool, 0, "true with an endpoint", NULL },
	{ 0 },
};

static const struct vspec vs_state_s3 = { .type = VT_MAP,
					  .keys = state_s3_keys,
					  .check = check_state_s3 };

static const struct key_spec state_keys[] = {
	{ "s3", &vs_state_s3, 0, "none: the local file", "s3: {bucket: b}" },
	{ 0 },
};

static const struct vspec vs_state = { .type = VT_MAP, .keys = state_keys };

/* the topology */

static const struct vspec vs_version = {
	.type = VT_INT, .min = 0, .max = 1000000, .check = check_version
};

static const struct key_spec topology_keys[] = {
	{ "version", &vs_version, KEY_REQUIRED, NULL, "version: 1" },
	{ "name", &vs_dns_label, KEY_REQUIRED, NULL, "name: icon-mainnet" },
	{ "network", &vs_dns_label, 0, "none", "network: mainnet" },
	{ "ssh", &vs_ssh, 0, "{}", NULL },
	{ "providers", &vs_providers, 0, "{}", "providers: {local: {}}" },
	{ "vars", &vs_vars, 0, "{}", NULL },
	{ "secrets", &vs_secrets, 0, "{}", NULL },
	{ "sources", &vs_sources, 0, "{}", NULL },
	{ "artifacts", &vs_artifacts, 0, "{}", NULL },
	{ "state", &vs_state, 0, "{}: .deploy/NAME.state.json", NULL },
	{ "roles", &vs_roles, KEY_REQUIRED, NULL,
	  "roles: {validator: {provider: local}}" },
	{ 0 },
};

const struct vspec topology_spec = { .type = VT_MAP, .keys = topology_keys };
