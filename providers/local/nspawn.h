/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_LOCAL_NSPAWN_H
#define DEPLOY_LOCAL_NSPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/*
 * Local hosts: Debian containers on this machine, for rehearsing a
 * topology. A base image is made once with debootstrap and cached; each
 * host is an overlayfs over it, with its own host key, booted with
 * `systemd-nspawn -b` in its own network namespace, attached by a veth pair
 * to one bridge per topology that holds the subnet's first address. Nothing
 * is routed out: apt goes through a proxy, deploy's own on the bridge's
 * address (proxy.h) unless apt_proxy names another or none.
 *
 * Everything here needs root. Paths:
 *   base images  $DEPLOY_LOCAL_CACHE or /var/cache/deploy/local
 *   hosts        $DEPLOY_LOCAL_DIR or /var/lib/deploy/local, then
 *                TOPOLOGY/HOST/{upper,work,root,console.log,pid,address}
 *                and disk.img, a data disk's sparse backing file
 */

/* Where a host's data disk shows inside its container. */
#define LOCAL_DISK_DEVICE "/dev/disk/by-id/deploy-data"

struct local_net {
	const char *topology;  /* topology name: names the bridge */
	const char *subnet;    /* IPv4 CIDR, e.g. 10.231.0.0/24 */
	const char *apt_proxy; /* URL or NULL */
	bool own_proxy; /* apt goes through deploy's proxy (apt_proxy NULL) */
};

struct local_host {
	const char *name;
	int slot;		     /* address = subnet + 2 + slot */
	const char *authorized_keys; /* public key lines for root */
	/*
	 * The host runs Docker (its role runs the docker playbook): all
	 * capabilities, keyctl and bpf allowed, and /var/lib/docker on this
	 * machine's file system (docs/providers.md, "Local hosts").
	 */
	bool docker;
	/*
	 * GiB of its data disk (roles.NAME.disk), 0: none. The disk is
	 * HOST/disk.img (sparse, made once, never resized) on a loop device,
	 * handed to the container at LOCAL_DISK_DEVICE when it boots.
	 */
	int disk_gib;
	/* out */
	char disk_loop[32]; /* the loop device ("/dev/loop3"), or "" */
	char address[16];
	char host_key[512]; /* "ssh-ed25519 AAAA..." */
	bool booted;	    /* started now (false: it was running already) */
};

/* The bridge's address ("10.231.0.1") into out; -1 for a bad subnet. */
int local_bridge_ip(const struct local_net *net, char out[16]);

/* The host name of the mirror the base image is made from (and its apt
 * sources name): DEPLOY_LOCAL_MIRROR's, else deb.debian.org. */
void local_mirror_host(char *out, size_t size);

/* DEPLOY_ERR_USAGE with a message saying what to do, unless root. */
int local_check_root(struct error *err);

/* The cached base image's root directory (made now if missing); the caller
 * frees *path. Serialized across processes with a lock file. */
int local_base_image(const struct local_net *net, char **path,
		     struct error *err);

/* The topology's bridge, made if missing; idempotent. */
int local_net_up(const struct local_net *net, struct error *err);

/*
 * Make and boot one host (idempotent: a running host is left as it is and
 * its address and key are read back). Returns once systemd-nspawn runs;
 * core/ssh/probe.h waits for sshd.
 */
int local_host_up(const struct local_net *net, const char *base,
		  struct local_host *h, struct error *err);

/* Stop one host and remove its overlay, namespace, data disk (its loop
 * devices detached) and files. Idempotent. */
int local_host_down(const struct local_net *net, const char *name,
		    struct error *err);

/* Remove the bridge once no host of the topology is left. Idempotent. */
int local_net_down(const struct local_net *net, struct error *err);

/* The hosts the topology has on this machine (directories), malloc'd. */
int local_list_hosts(const struct local_net *net, char ***names, size_t *nr,
		     struct error *err);

/* Whether the host exists and its container runs. */
bool local_host_running(const struct local_net *net, const char *name);

#endif
