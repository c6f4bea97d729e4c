/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAYBOOK_CONTEXT_H
#define DEPLOY_PLAYBOOK_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "playbook/playbook.h"
#include "topology/topology.h"
#include "util/buf.h"
#include "util/error.h"

/*
 * What a host's templates see (docs/playbooks.md, "Template data"): the host
 * (name, index, addresses, port, login user), its role (name, vars, via,
 * whether it is a bastion), the variables merged from every level, the
 * secrets by name, every host by role and in one list, the topology's name
 * and SSH settings, and the host's firewall rules resolved to addresses.
 *
 * Variables, from lowest to highest precedence (a key at a higher level
 * replaces the whole value below it; mappings are not merged):
 *   playbook defaults < topology vars < role vars < host vars
 */

/* A secret's value, resolved by the caller. Wiped when freed. */
struct secret_value {
	char *name;
	char *value; /* NUL-terminated; len bytes, none of them NUL */
	size_t len;
};

/*
 * A host's addresses when the topology does not say them (created hosts):
 * the address deploy reaches it on, and its address inside the provider's
 * network (NULL: the same).
 */
struct host_address {
	const char *host;
	const char *address;
	const char *private_address;
	/* Where its data disk shows on it: device paths (JSON strings),
	 * provider_disk_devices(); NULL: none known. */
	const cJSON *disk_devices;
};

struct context_input {
	const struct secret_value *secrets;
	size_t nr_secrets;
	const struct host_address *addresses;
	size_t nr_addresses;
};

struct host_context {
	const struct topology *t;
	const struct host *host;
	cJSON *data; /* holds the secrets: context_free() wipes them */
	/* Why data.firewall is null (an address not known yet ...). */
	char *firewall_error;
	struct secret_value *secrets; /* copies, for redaction */
	size_t nr_secrets;
};

/*
 * Build host h's data. Unknown addresses are null; when the host's
 * firewall needs one, data.firewall is null and firewall_error says why
 * (the firewall template then fails to render, with that reason).
 */
int context_build(const struct topology *t, const struct host *h,
		  const struct context_input *in, struct host_context **out,
		  struct error *err);
void context_free(struct host_context *c);
/*
 * Free (and wipe) the template data, which holds every host of the
 * topology: a context kept once its script is compiled needs only its
 * secrets, for context_redact(). Kept for each of N hosts, the data would
 * be N times N hosts.
 */
void context_drop_data(struct host_context *c);

/*
 * The data playbook pb sees on this host: the host's data with pb's
 * defaults below the variables (on a host whose role has a data disk,
 * its disk_vars: MOUNT/PATH in place of those defaults), and
 * playbook.name. Free it with
 * context_data_free(), which wipes the secrets in it.
 */
cJSON *context_playbook_data(const struct host_context *c,
			     const struct playbook *pb);
void context_data_free(cJSON *data);

/* Whether s holds the value of any secret. */
bool context_has_secret(const struct host_context *c, const char *s,
			size_t len);
/* The name of the first secret whose value s holds, or NULL. */
const char *context_secret_in(const struct host_context *c, const char *s,
			      size_t len);
/*
 * Append s to out with every secret value in it replaced by
 * "[secret NAME]": for anything shown or logged (markers, messages, the
 * output of a step).
 */
void context_redact(const struct host_context *c, const char *s, size_t len,
		    struct buf *out);

/*
 * Read the topology's secrets (environment variables, files relative to
 * the topology) for the context. A secret that cannot be read is left out
 * with a warning in dl; a template that uses it then fails with
 * "missing variable 'secrets.NAME'". Files are capped at 1 MiB and may not
 * hold NUL bytes.
 */
void secrets_load(const struct topology *t, struct secret_value **out,
		  size_t *nr, struct diag_list *dl);
void secrets_free(struct secret_value *v, size_t nr);

#endif
