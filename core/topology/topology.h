/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_TOPOLOGY_H
#define DEPLOY_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "util/strutil.h"
#include "yamltree/ytree.h"

struct provider_ops;
struct inventory;

/*
 * A topology as typed data, built from a YAML tree that passed the schema
 * (docs/topology.md is the reference). Strings point into the tree, which
 * the topology owns; every part keeps the node it came from so later checks
 * and commands can name file:line:col.
 */

#define DEFAULT_SSH_PORT   22
#define DEFAULT_SSH_USER   "root"
#define DEFAULT_DISK_MOUNT "/data"
#define MAX_HOSTS	   10000

enum host_key_mode {
	HOST_KEYS_ACCEPT_NEW,
	HOST_KEYS_STRICT,
};

enum fw_proto {
	FW_TCP,
	FW_UDP,
};

struct fw_source {
	enum {
		FW_FROM_WORLD,
		FW_FROM_ROLE,
		FW_FROM_CIDR,
	} kind;
	const char *text;  /* role name or CIDR */
	struct role *role; /* FW_FROM_ROLE, once resolved */
	struct cidr cidr;  /* FW_FROM_CIDR */
	const struct ynode *node;
};

struct fw_rule {
	int port_lo;
	int port_hi;
	enum fw_proto proto;
	struct fw_source *from;
	size_t nr_from;
	const struct ynode *node;
};

struct role;

struct host {
	char *name; /* owned: generated as ROLE-INDEX for created hosts */
	const char *address; /* NULL until known (created hosts) */
	int port;
	const char *user;
	const char *key;
	const struct ynode *vars;
	struct role *role;
	int index;		  /* within the role, from 0 */
	const struct ynode *node; /* the hosts entry, or the role */
	const char *file; /* where node is: the topology, or an inventory */
};

struct role_ref {
	const char *name;
	struct role *role; /* once resolved */
	const struct ynode *node;
};

struct role {
	const char *name;
	const struct ynode *node; /* the role's key */
	const struct provider_ops *provider;
	const struct ynode *provider_node; /* NULL when defaulted */
	int count;
	struct host *hosts;
	size_t nr_hosts;
	const char *inventory; /* as written; NULL when hosts are not in one */
	const char *group;     /* the inventory group the hosts come from */
	const char *size;
	const char *image;
	const char *region;
	const char *zone;
	struct role_ref via;	   /* name NULL when none */
	struct role_ref sentry_of; /* the role it fronts; name NULL: none */
	struct role_ref *after;
	size_t nr_after;
	int serial; /* 0: all at once */
	/* on_failure: rollback: a host whose gate fails after a new artifact
	 * gets the previous one back, restarted. */
	bool rollback;
	const char **playbooks;
	const struct ynode **playbook_nodes;
	size_t nr_playbooks;
	struct fw_rule *firewall;
	size_t nr_firewall;
	const struct ynode *health; /* the checks' list; NULL: none */
	const struct ynode *vars;
	int disk_size; /* GiB; 0: no data disk */
	const char *disk_type;
	const char *disk_mount;
	bool static_ip;
	char *user_data; /* owned: the file's path, resolved; NULL: none */
	const struct ynode *user_data_node;
	bool protect; /* down keeps its hosts unless --include-protected */
};

struct provider_conf {
	const struct provider_ops *provider;
	const struct ynode *node;   /* the key */
	const struct ynode *config; /* the settings (may be null) */
};

struct secret {
	const char *name;
	bool from_env;
	const char *ref; /* variable name or file path, never the value */
	const struct ynode *node;
};

struct source {
	const char *name;
	const char *git;
	const char *ref;
	const char *path;
	const struct ynode *node;
};

/*
 * artifacts: NAME: {url, sha256, unpack, docker_load, image}
 * (docs/topology.md#artifacts).
 */
struct artifact {
	const char *name;
	const char *url;    /* https://, http:// or file:// */
	const char *sha256; /* 64 hex digits, as written */
	bool unpack; /* a tarball, unpacked into a directory on the host */
	/* A `docker save` tarball the hosts `docker load`; image is the
	 * REPO:TAG it holds (topology/image.h). */
	bool docker_load;
	const char *image;
	const char *version; /* as written; NULL: none (plan shows digests) */
	bool fetch_host;     /* fetch: host: the host downloads it itself */
	const struct ynode *node; /* the key */
	const struct ynode *url_node;
	const struct ynode *sha256_node;
};

struct ssh_conf {
	const char *user;
	const char *key;
	const char *known_hosts;
	struct cidr *admin_cidrs;
	const struct ynode **admin_cidr_nodes;
	size_t nr_admin_cidrs;
	bool allow_world_ssh;
	const struct ynode *allow_world_node;
	enum host_key_mode host_keys;
};

/* state: {s3: {...}} (docs/state.md); NULL members when not given. */
struct state_conf {
	bool s3;
	const char *bucket;
	const char *key;
	const char *region;
	const char *endpoint;
	const char *profile;
	const char *kms_key_id;
	bool encrypt;
	int path_style; /* -1: not given */
	const struct ynode *node;
};

struct topology {
	char *file;
	char *dir; /* the topology's directory, for relative paths */
	struct ydoc *doc;
	int version;
	const char *name;
	const char *network;
	struct ssh_conf ssh;
	struct provider_conf *providers;
	size_t nr_providers;
	const struct ynode *vars;
	struct secret *secrets;
	size_t nr_secrets;
	struct source *sources;
	size_t nr_sources;
	struct artifact *artifacts;
	size_t nr_artifacts;
	struct state_conf state;
	struct role *roles;
	size_t nr_roles;
	size_t nr_hosts;
	struct inventory **inventories; /* each file read once, for roles */
	size_t nr_inventories;
};

/*
 * Load and validate the topology in `path`. Every problem found goes to
 * `dl` (errors and warnings, sorted by position). Returns 0 with *out set
 * when there is no error (warnings allowed); DEPLOY_ERR_INVALID when dl
 * holds errors; another code with err set when the file could not be read
 * or parsed at all (err then names file:line:col).
 */
int topology_load(const char *path, struct topology **out, struct diag_list *dl,
		  struct error *err);
/* The same for text in memory (tests, the fuzzer). */
int topology_parse(const char *file, const char *text, size_t len,
		   struct topology **out, struct diag_list *dl,
		   struct error *err);
void topology_free(struct topology *t);

struct role *topology_find_role(const struct topology *t, const char *name);
struct host *topology_find_host(const struct topology *t, const char *name);
const struct artifact *topology_find_artifact(const struct topology *t,
					      const char *name);
/* Whether r's playbooks list the built-in (or path) name, as written. */
bool role_runs_playbook(const struct role *r, const char *name);

/* Internal to core/topology: build from a checked tree, then cross-check. */
void topology_build(struct topology *t, struct diag_list *dl);
void topology_check(struct topology *t, struct diag_list *dl);
/*
 * builtins.c: the variables of the built-in node-exporter, monitoring,
 * icon-node, near-node and sentry playbooks (and the metrics_* and
 * public_rpc_* role variables they read) checked where the topology sets
 * them (its vars, the roles' and the listed hosts'), then the firewall rules
 * they bring added to the roles: 9100 to node-exporter's roles from
 * node_exporter_from (default: the roles running monitoring), a role's
 * metrics_port from the roles running monitoring, 9090 and 9093 to
 * monitoring's roles from monitoring_ui_from (default: the role's bastion,
 * or ssh.admin_cidrs). docs/playbooks.md has the list.
 */
void topology_check_builtins(struct topology *t, struct diag_list *dl);

#endif
