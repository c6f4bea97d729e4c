/* SPDX-License-Identifier: MIT */
/* SSH engine: logging in (ssh-agent, then key files), the keys to try. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssh/engine-internal.h"
#include "ssh/keyfile.h"
#include "ssh/known_hosts.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* --- authentication --------------------------------------------------------
 */

void agent_drop(struct ssh_host *h)
{
	if (!h->agent)
		return;
	libssh2_agent_disconnect(h->agent);
	libssh2_agent_free(h->agent);
	h->agent = NULL;
	h->identity = NULL;
}

static void tried(struct ssh_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tried(struct ssh_host *h, const char *fmt, ...)
{
	va_list ap;

	if (h->tried.len)
		buf_adds(&h->tried, "; ");
	va_start(ap, fmt);
	buf_vaddf(&h->tried, fmt, ap);
	va_end(ap);
}

static void auth_done(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;

	agent_drop(h);
	buf_free(&h->tried);
	timer_stop(h);
	h->state = HS_READY;
	/* Hosts behind this one can go on now. */
	for (size_t i = 0; i < e->nr_hosts; i++)
		if (e->hosts[i]->via == h && e->hosts[i]->state == HS_WAIT_VIA)
			begin_attempt(e->hosts[i]);
}

static void auth_failed(struct ssh_host *h)
{
	host_fail(h, SSH_FAILED, DEPLOY_ERR_AUTH,
		  "host '%s': permission denied for user '%s' (%s)", h->name,
		  h->user, h->tried.len ? h->tried.data : "no key to try");
}

/* The session broke during authentication. */
static void auth_broke(struct ssh_host *h)
{
	h->why = SSH_WHY_LOST;
	host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
		  "host '%s' unreachable: connection lost during "
		  "authentication: %s",
		  h->name, ssh_errmsg(h));
}

/*
 * After a userauth call: true when rc settles this step (the call would
 * block, we are in, or the session broke); false when the key was refused.
 */
static bool auth_settled(struct ssh_host *h, int rc)
{
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return true;
	if (!rc) {
		auth_done(h);
		return true;
	}
	if (session_dead(rc)) {
		auth_broke(h);
		return true;
	}
	return false;
}

static bool in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !strncmp(p, word, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

void step_auth_list(struct ssh_host *h)
{
	const char *list;

	list = libssh2_userauth_list(h->session, h->user,
				     (unsigned)strlen(h->user));
	if (!list) {
		if (libssh2_userauth_authenticated(h->session))
			auth_done(h);
		else if (last_errno(h) != LIBSSH2_ERROR_EAGAIN)
			auth_broke(h);
		return;
	}
	if (!in_list(list, "publickey")) {
		host_fail(h, SSH_FAILED, DEPLOY_ERR_AUTH,
			  "host '%s' does not take SSH keys for user '%s' (it "
			  "takes: %s)",
			  h->name, h->user, list);
		return;
	}
	h->key_idx = 0;
	h->state = h->e->agent_sock ? HS_AUTH_AGENT : HS_AUTH_KEY;
}

/* Connect to ssh-agent and take its first identity; false when none. */
static bool agent_begin(struct ssh_host *h)
{
	h->agent = libssh2_agent_init(h->session);
	if (!h->agent)
		return false;
	if (libssh2_agent_connect(h->agent)) {
		tried(h, "ssh-agent: cannot connect to %s", h->e->agent_sock);
		agent_drop(h);
		return false;
	}
	if (libssh2_agent_list_identities(h->agent) ||
	    libssh2_agent_get_identity(h->agent, &h->identity, NULL)) {
		tried(h, "ssh-agent: no keys");
		agent_drop(h);
		return false;
	}
	h->agent_tried = 0;
	return true;
}

void step_auth_agent(struct ssh_host *h)
{
	struct libssh2_agent_publickey *next = NULL;
	int rc;

	if (!h->agent && !agent_begin(h)) {
		h->state = HS_AUTH_KEY;
		return;
	}
	for (;;) {
		rc = libssh2_agent_userauth(h->agent, h->user, h->identity);
		if (auth_settled(h, rc))
			return;
		h->agent_tried++;
		if (libssh2_agent_get_identity(h->agent, &next, h->identity))
			break;
		h->identity = next;
	}
	tried(h, "ssh-agent: %u key%s refused", h->agent_tried,
	      h->agent_tried == 1 ? "" : "s");
	agent_drop(h);
	h->state = HS_AUTH_KEY;
}

void step_auth_key(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;

	for (; h->key_idx < h->nr_keys; h->key_idx++) {
		struct key *k = &e->keys[h->keys[h->key_idx]];
		int rc;

		if (!k->readable) {
			tried(h, "%s", k->why);
			continue;
		}
		if (k->encrypted && (!k->passphrase || k->bad_passphrase)) {
			tried(h, "key '%s' is encrypted and %s", k->path,
			      k->bad_passphrase
				      ? "the passphrase given is wrong"
				      : "no passphrase was given (set "
					"DEPLOY_SSH_KEY_PASSPHRASE, or run "
					"on a terminal)");
			continue;
		}
		rc = libssh2_userauth_publickey_fromfile_ex(
			h->session, h->user, (unsigned)strlen(h->user), NULL,
			k->path, k->passphrase ? k->passphrase : "");
		if (auth_settled(h, rc))
			return;
		if (rc == LIBSSH2_ERROR_FILE && k->encrypted) {
			/* Spare the other hosts the key derivation. */
			k->bad_passphrase = true;
			tried(h,
			      "key '%s' is encrypted and the passphrase "
			      "given is wrong",
			      k->path);
		} else if (rc == LIBSSH2_ERROR_FILE) {
			tried(h, "key '%s' cannot be used: %s", k->path,
			      ssh_errmsg(h));
		} else if (!strcmp(k->type, "ssh-rsa")) {
			/* libssh2 1.10 signs with SHA-1 only (ssh-rsa). */
			tried(h,
			      "key '%s' refused (an RSA key: this build signs "
			      "with ssh-rsa (SHA-1), which OpenSSH 8.8 and "
			      "later refuse by default; use an ed25519 or "
			      "ECDSA key)",
			      k->path);
		} else {
			tried(h, "key '%s' refused", k->path);
		}
	}
	auth_failed(h);
}

/* --- keys ------------------------------------------------------------------
 */

static size_t key_index(struct ssh_engine *e, const char *path)
{
	struct key *k;

	for (size_t i = 0; i < e->nr_keys; i++)
		if (!strcmp(e->keys[i].path, path))
			return i;
	XGROW(e->keys, e->alloc_keys, e->nr_keys + 1);
	k = &e->keys[e->nr_keys];
	memset(k, 0, sizeof(*k));
	k->path = xstrdup(path);
	return e->nr_keys++;
}

/* The keys a host tries: its own, or ~/.ssh/id_{ed25519,ecdsa,rsa}. */
void host_keys(struct ssh_engine *e, struct ssh_host *h, const char *key)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa",
						"id_rsa" };
	struct buf path = BUF_INIT;

	if (key) {
		h->keys = xcalloc(1, sizeof(*h->keys));
		h->keys[h->nr_keys++] = key_index(e, key);
		return;
	}
	h->keys = xcalloc(4, sizeof(*h->keys));
	for (size_t i = 0; i < 3; i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/.ssh/%s", home_dir(), defaults[i]);
		if (!access(path.data, F_OK))
			h->keys[h->nr_keys++] = key_index(e, path.data);
	}
	if (e->opts.fallback_key && !access(e->opts.fallback_key, F_OK))
		h->keys[h->nr_keys++] = key_index(e, e->opts.fallback_key);
	buf_free(&path);
}

/* Whether ssh-agent holds the public key `blob` (no need to decrypt). */
static bool agent_holds(struct ssh_engine *e, const unsigned char *blob,
			size_t len)
{
	LIBSSH2_SESSION *s;
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	bool found = false;

	if (!e->agent_sock || !blob)
		return false;
	s = libssh2_session_init();
	if (!s)
		return false;
	agent = libssh2_agent_init(s);
	if (agent && !libssh2_agent_connect(agent) &&
	    !libssh2_agent_list_identities(agent)) {
		while (!found &&
		       !libssh2_agent_get_identity(agent, &id, prev)) {
			found = id->blob_len == len &&
				!memcmp(id->blob, blob, len);
			prev = id;
		}
		libssh2_agent_disconnect(agent);
	}
	if (agent)
		libssh2_agent_free(agent);
	libssh2_session_free(s);
	return found;
}

/* Look at each key once, and get the passphrases needed before any
 * connection starts (a prompt must not eat into the timeouts). */
void keys_prepare(struct ssh_engine *e)
{
	for (size_t i = 0; i < e->nr_keys; i++) {
		struct key *k = &e->keys[i];
		struct keyfile_info info;
		struct error err;
		char pass[MAX_PASSPHRASE];

		error_init(&err);
		if (keyfile_inspect(k->path, &info, &err)) {
			snprintf(k->why, sizeof(k->why), "key '%s': %s",
				 k->path,
				 err.code == DEPLOY_ERR_NOT_FOUND
					 ? "no such file"
					 : err.msg);
			error_clear(&err);
			continue;
		}
		error_clear(&err);
		k->readable = true;
		k->encrypted = info.encrypted;
		if (!info.pub ||
		    !known_hosts_blob_type(info.pub, info.pub_len, k->type,
					   sizeof(k->type)))
			k->type[0] = '\0';
		if (k->encrypted && e->passphrase) {
			k->passphrase = xstrdup(e->passphrase);
		} else if (k->encrypted &&
			   !agent_holds(e, info.pub, info.pub_len) &&
			   e->opts.ask_passphrase &&
			   !e->opts.ask_passphrase(e->opts.ask_data, k->path,
						   pass, sizeof(pass))) {
			pass[sizeof(pass) - 1] = '\0';
			k->passphrase = xstrdup(pass);
		}
		explicit_bzero(pass, sizeof(pass));
		keyfile_info_free(&info);
	}
}
