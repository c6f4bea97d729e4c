/* SPDX-License-Identifier: MIT */
/* Local hosts: Debian systemd-nspawn containers on a bridge (nspawn.h). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "providers/local/nspawn.h"
#include "providers/local/proxy.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/proc.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define SUITE  "bookworm"
#define MIRROR "http://deb.debian.org/debian"
/*
 * What every local host has: enough to boot, log in and be configured, and
 * the packages the built-in playbooks install (local hosts have no route
 * out: with apt_proxy none their apt steps must find them there already).
 */
#define PACKAGES                                                  \
	"systemd,systemd-sysv,dbus,openssh-server,iproute2,sudo," \
	"ca-certificates,curl,nftables,procps,python3,"           \
	"unattended-upgrades,fail2ban,python3-systemd,systemd-timesyncd"
#define IP_TIMEOUT	    10000
#define DEBOOTSTRAP_TIMEOUT (20 * 60 * 1000)

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static const char *hosts_root(void)
{
	return env_or("DEPLOY_LOCAL_DIR", "/var/lib/deploy/local");
}

static const char *cache_root(void)
{
	return env_or("DEPLOY_LOCAL_CACHE", "/var/cache/deploy/local");
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Interface names are at most 15 characters: dpl + 8 hex, dv + 8 hex. */
static void bridge_name(const struct local_net *net, char out[16])
{
	snprintf(out, 16, "dpl%08x", fnv1a(net->topology));
}

static void veth_name(const struct local_net *net, const char *host,
		      char out[16])
{
	struct buf key = BUF_INIT;

	buf_addf(&key, "%s/%s", net->topology, host);
	snprintf(out, 16, "dv%08x", fnv1a(key.data));
	buf_free(&key);
}

static char *netns_name(const struct local_net *net, const char *host)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "deploy-%s-%s", net->topology, host);
	return buf_release(&b);
}

static char *host_dir(const struct local_net *net, const char *host)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/%s/%s", hosts_root(), net->topology, host);
	return buf_release(&b);
}

static char *path_in(const char *dir, const char *rel)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/%s", dir, rel);
	return buf_release(&b);
}

static int write_file(const char *path, const char *text, mode_t mode,
		      struct error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write_all(fd, text, strlen(text)) || fchmod(fd, mode)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
				 "cannot write: %s", strerror(e));
	}
	close(fd);
	return 0;
}

static int read_small(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

/* rm -rf, not crossing into other filesystems (a stuck mount stays). */
static int remove_tree(const char *path, struct error *err)
{
	if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) &&
	    errno != ENOENT)
		return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
				 "cannot remove: %s", strerror(errno));
	return 0;
}

int local_check_root(struct error *err)
{
	if (geteuid() == 0)
		return 0;
	return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
			 "the local provider needs root: it makes network "
			 "namespaces, mounts and containers (run deploy as "
			 "root, e.g. with sudo)");
}

static int host_address(const struct local_net *net, int slot, char *out,
			struct error *err)
{
	struct cidr c;
	const char *why;
	uint32_t base, addr;
	struct in_addr in;

	if (cidr_parse(net->subnet, &c, &why) || c.family != AF_INET)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "providers.local.subnet '%s' is not an IPv4 "
				 "CIDR",
				 net->subnet);
	memcpy(&base, c.addr, 4);
	base = ntohl(base);
	/* .0 network, .1 the bridge, then the hosts, not the broadcast. */
	if (c.prefix > 30 || (uint32_t)slot + 3 > (1u << (32 - c.prefix)) - 1)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "providers.local.subnet '%s' has no room for "
				 "host %d",
				 net->subnet, slot + 1);
	addr = base + 2 + (uint32_t)slot;
	in.s_addr = htonl(addr);
	inet_ntop(AF_INET, &in, out, 16);
	return 0;
}

static void bridge_address(const struct local_net *net, char *out)
{
	struct cidr c;
	const char *why;
	uint32_t a;
	struct in_addr in;

	out[0] = '\0';
	if (cidr_parse(net->subnet, &c, &why))
		return;
	memcpy(&a, c.addr, 4);
	in.s_addr = htonl(ntohl(a) + 1);
	inet_ntop(AF_INET, &in, out, 16);
	snprintf(out + strlen(out), 8, "/%d", c.prefix);
}

int local_bridge_ip(const struct local_net *net, char out[16])
{
	char cidr[32];
	char *slash;

	bridge_address(net, cidr);
	slash = strchr(cidr, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	memcpy(out, cidr, (size_t)(slash - cidr) + 1); /* at most 16 */
	return 0;
}

void local_mirror_host(char *out, size_t size)
{
	const char *m = env_or("DEPLOY_LOCAL_MIRROR", MIRROR);
	const char *host = strstr(m, "://");
	size_t n;

	host = host ? host + 3 : m;
	n = strcspn(host, ":/");
	snprintf(out, size, "%.*s", (int)n, host);
}

/* Base image */

static char *base_path(void)
{
	struct buf b = BUF_INIT;

	/* The package list is part of the name: a new list, a new image. */
	buf_addf(&b, "%s/debian-%s-%08x", cache_root(), SUITE, fnv1a(PACKAGES));
	return buf_release(&b);
}

static int finish_base(const char *root, struct error *err)
{
	const char *keys[] = { "etc/ssh/ssh_host_ed25519_key",
			       "etc/ssh/ssh_host_ed25519_key.pub",
			       "etc/ssh/ssh_host_ecdsa_key",
			       "etc/ssh/ssh_host_ecdsa_key.pub",
			       "etc/ssh/ssh_host_rsa_key",
			       "etc/ssh/ssh_host_rsa_key.pub" };
	char *p;
	int rc;

	/* Each host gets its own keys: the image's must not be shared. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		p = path_in(root, keys[i]);
		unlink(p);
		free(p);
	}
	p = path_in(root, "etc/ssh/sshd_config.d/00-deploy-local.conf");
	rc = write_file(p,
			"# written by deploy's local provider\n"
			"HostKey /etc/ssh/ssh_host_ed25519_key\n",
			0644, err);
	free(p);
	if (rc)
		return rc;
	p = path_in(root, "etc/machine-id");
	rc = write_file(p, "", 0444, err);
	free(p);
	return rc;
}

int local_base_image(const struct local_net *net, char **path,
		     struct error *err)
{
	char *final = base_path(), *tmp = NULL, *lock = NULL;
	struct stat st;
	struct buf proxy = BUF_INIT;
	char *env[2] = { NULL, NULL };
	int fd = -1, rc;

	*path = NULL;
	rc = mkdir_p(cache_root(), 0700, err);
	if (rc)
		goto out;
	lock = path_in(cache_root(), ".lock");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		rc = error_set(err, DEPLOY_ERR_IO, lock, 0, 0,
			       "cannot lock: %s", strerror(errno));
		goto out;
	}
	if (!stat(final, &st))
		goto done; /* made before, maybe by the process we waited for */
	tmp = path_in(cache_root(), ".building");
	remove_tree(tmp, NULL);
	if (net->apt_proxy) {
		buf_addf(&proxy, "http_proxy=%s", net->apt_proxy);
		env[0] = proxy.data;
	}
	{
		char *argv[] = { "debootstrap",
				 "--variant=minbase",
				 "--include=" PACKAGES,
				 SUITE,
				 tmp,
				 (char *)env_or("DEPLOY_LOCAL_MIRROR", MIRROR),
				 NULL };

		rc = proc_check(argv, env, DEBOOTSTRAP_TIMEOUT, err);
	}
	if (rc) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		error_set(err, rc, NULL, 0, 0,
			  "making the local base image failed: %s", msg);
		goto out;
	}
	rc = finish_base(tmp, err);
	if (rc)
		goto out;
	if (rename(tmp, final)) {
		rc = error_set(err, DEPLOY_ERR_IO, final, 0, 0,
			       "cannot move the base image in place: %s",
			       strerror(errno));
		goto out;
	}
done:
	*path = final;
	final = NULL;
out:
	if (rc && tmp)
		remove_tree(tmp, NULL);
	if (fd >= 0)
		close(fd); /* releases the lock */
	buf_free(&proxy);
	free(lock);
	free(tmp);
	free(final);
	return rc;
}

/* Network */

static bool link_exists(const char *name, const char *netns)
{
	struct proc_result res;
	char *in_ns[] = { "ip",	  "-n",		(char *)netns, "link",
			  "show", (char *)name, NULL };
	char *here[] = { "ip", "link", "show", (char *)name, NULL };
	bool ok;

	if (proc_run(netns ? in_ns : here, NULL, IP_TIMEOUT, 4096, &res, NULL))
		return false;
	ok = res.status == 0;
	proc_result_free(&res);
	return ok;
}

/* The bridge's address must not be another interface's already (another
 * topology on the same subnet would make both unreachable). */
static int address_free(const struct local_net *net, const char *cidr,
			struct error *err)
{
	char *argv[] = { "ip", "-o", "-4", "addr", "show", NULL };
	struct proc_result res;
	struct buf want = BUF_INIT;
	const char *hit;
	int rc = 0;

	if (proc_run(argv, NULL, IP_TIMEOUT, 1 << 20, &res, err))
		return DEPLOY_ERR_IO;
	buf_addf(&want, " inet %s ", cidr);
	hit = strstr(res.out.data, want.data);
	if (hit) {
		const char *line = hit;
		char ifname[64] = "?";

		while (line > res.out.data && line[-1] != '\n')
			line--;
		sscanf(line, "%*d: %63s", ifname);
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "providers.local.subnet '%s': its first address "
			       "is taken by interface '%s' (another topology "
			       "on this machine?): choose another subnet",
			       net->subnet, ifname);
	}
	buf_free(&want);
	proc_result_free(&res);
	return rc;
}

int local_net_up(const struct local_net *net, struct error *err)
{
	char br[16], addr[32];
	int rc;

	bridge_name(net, br);
	bridge_address(net, addr);
	if (link_exists(br, NULL))
		return 0;
	rc = address_free(net, addr, err);
	if (rc)
		return rc;
	{
		char *add[] = {
			"ip", "link", "add", br, "type", "bridge", NULL
		};
		char *ad[] = { "ip", "addr", "add", addr, "dev", br, NULL };
		char *up[] = { "ip", "link", "set", br, "up", NULL };

		rc = proc_check(add, NULL, IP_TIMEOUT, err);
		if (!rc)
			rc = proc_check(ad, NULL, IP_TIMEOUT, err);
		if (!rc)
			rc = proc_check(up, NULL, IP_TIMEOUT, err);
		if (rc) {
			char *del[] = { "ip", "link", "del", br, NULL };

			proc_check(del, NULL, IP_TIMEOUT, NULL);
		}
	}
	return rc;
}

static int net_host_up(const struct local_net *net, const char *host,
		       const char *address, struct error *err)
{
	char br[16], veth[16], gw[32], cidr[40];
	char *ns = netns_name(net, host);
	struct cidr c;
	const char *why;
	int rc;

	bridge_name(net, br);
	veth_name(net, host, veth);
	bridge_address(net, gw);
	*strchr(gw, '/') = '\0';
	cidr_parse(net->subnet, &c, &why);
	snprintf(cidr, sizeof(cidr), "%s/%d", address, c.prefix);
	{
		char *add_ns[] = { "ip", "netns", "add", ns, NULL };
		char *veth_add[] = { "ip",   "link",  "add",  veth,
				     "type", "veth",  "peer", "name",
				     "eth0", "netns", ns,     NULL };
		char *master[] = { "ip",     "link", "set", veth,
				   "master", br,     "up",  NULL };
		char *lo[] = {
			"ip", "-n", ns, "link", "set", "lo", "up", NULL
		};
		char *ad[] = { "ip", "-n",  ns,	    "addr", "add",
			       cidr, "dev", "eth0", NULL };
		char *up[] = {
			"ip", "-n", ns, "link", "set", "eth0", "up", NULL
		};
		char *route[] = { "ip",	     "-n",  ns, "route", "add",
				  "default", "via", gw, NULL };
		char **steps[] = {
			add_ns, veth_add, master, lo, ad, up, route
		};

		rc = 0;
		for (size_t i = 0; !rc && i < sizeof(steps) / sizeof(steps[0]);
		     i++)
			rc = proc_check(steps[i], NULL, IP_TIMEOUT, err);
	}
	free(ns);
	return rc;
}

/* Host files in the overlay's upper layer, written before the boot. */
static int prepare_upper(const struct local_net *net, const char *upper,
			 struct local_host *h, struct error *err)
{
	struct buf text = BUF_INIT;
	char *p = NULL;
	int rc;

	rc = mkdir_p(upper, 0755, err);
	if (!rc) {
		p = path_in(upper, "etc/ssh");
		rc = mkdir_p(p, 0755, err);
		free(p);
	}
	if (!rc) {
		p = path_in(upper, "root/.ssh");
		rc = mkdir_p(p, 0700, err);
		free(p);
	}
	if (!rc) {
		p = path_in(upper, "etc/apt/apt.conf.d");
		rc = mkdir_p(p, 0755, err);
		free(p);
	}
	if (rc)
		return rc;
	buf_addf(&text, "%s\n", h->name);
	p = path_in(upper, "etc/hostname");
	rc = write_file(p, text.data, 0644, err);
	free(p);
	buf_reset(&text);
	buf_addf(&text, "127.0.0.1\tlocalhost\n%s\t%s\n::1\tlocalhost\n",
		 h->address, h->name);
	p = path_in(upper, "etc/hosts");
	if (!rc)
		rc = write_file(p, text.data, 0644, err);
	free(p);
	p = path_in(upper, "root/.ssh/authorized_keys");
	if (!rc)
		rc = write_file(p, h->authorized_keys ? h->authorized_keys : "",
				0600, err);
	free(p);
	if (!rc && (net->apt_proxy || net->own_proxy)) {
		char ip[16] = "";
		struct buf url = BUF_INIT;

		if (net->own_proxy) {
			local_bridge_ip(net, ip);
			buf_addf(&url, "http://%s:%d", ip, LOCAL_PROXY_PORT);
		} else {
			buf_adds(&url, net->apt_proxy);
		}
		buf_reset(&text);
		/* One request per connection for deploy's own proxy. */
		buf_addf(&text,
			 "Acquire::http::Proxy \"%s\";\n"
			 "Acquire::https::Proxy \"%s\";\n%s",
			 url.data, url.data,
			 net->own_proxy
				 ? "Acquire::http::Pipeline-Depth \"0\";\n"
				 : "");
		buf_free(&url);
		p = path_in(upper, "etc/apt/apt.conf.d/01deploy-proxy");
		rc = write_file(p, text.data, 0644, err);
		free(p);
	}
	buf_free(&text);
	if (rc)
		return rc;
	/* Its own host key, made here so deploy knows it before it boots. */
	p = path_in(upper, "etc/ssh/ssh_host_ed25519_key");
	{
		char *pub = path_in(upper, "etc/ssh/ssh_host_ed25519_key.pub");
		struct stat st;

		if (stat(p, &st)) {
			char *argv[] = {
				"ssh-keygen", "-q", "-t", "ed25519",
				"-N",	      "",   "-C", (char *)h->name,
				"-f",	      p,    NULL
			};

			rc = proc_check(argv, NULL, IP_TIMEOUT, err);
		}
		if (!rc && read_small(pub, h->host_key, sizeof(h->host_key)))
			rc = error_set(err, DEPLOY_ERR_IO, pub, 0, 0,
				       "cannot read the host key");
		free(pub);
	}
	free(p);
	return rc;
}

static bool pid_is_our_nspawn(pid_t pid, const char *root)
{
	char path[64], cmd[4096];
	int fd;
	ssize_t n;
	bool nspawn = false, ours = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = '\0';
	/* NUL-separated arguments: look at each. */
	for (char *a = cmd; a < cmd + n; a += strlen(a) + 1) {
		if (strstr(a, "systemd-nspawn"))
			nspawn = true;
		if (!strcmp(a, root))
			ours = true;
	}
	return nspawn && ours;
}

/* The systemd-nspawn whose -D is root, found in /proc. */
static pid_t scan_for_nspawn(const char *root)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (pid_is_our_nspawn((pid_t)pid, root))
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

/*
 * The host's container, if it runs. The pid file is a hint: a run killed
 * between starting systemd-nspawn and writing the file must not lead the
 * next run to boot a second container on the same root, so when the file
 * is missing or stale the process is looked for by its root directory.
 */
static pid_t running_pid(const char *dir)
{
	char *pidfile = path_in(dir, "pid"), *root = path_in(dir, "root");
	char text[32];
	pid_t pid = 0;

	if (!read_small(pidfile, text, sizeof(text))) {
		pid = (pid_t)strtol(text, NULL, 10);
		if (pid <= 0 || !pid_is_our_nspawn(pid, root))
			pid = 0;
	}
	if (!pid)
		pid = scan_for_nspawn(root);
	free(pidfile);
	free(root);
	return pid;
}

/*
 * Whether the host's container runs: systemd-nspawn holds DIR/lock (an
 * flock it inherits from the deploy that started it) for as long as it
 * runs. Unlike a pid file or a process scan, this has no window: a deploy
 * killed while starting the container leaves a child that holds it too.
 * With take, a free lock is taken and its fd returned (else -1).
 */
static int host_lock(const char *dir, bool take, bool *running)
{
	char *path = path_in(dir, "lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	free(path);
	*running = false;
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		*running = true;
		close(fd);
		return -1;
	}
	if (take)
		return fd;
	close(fd);
	return -1;
}

static bool dir_exists(const char *dir)
{
	struct stat st;

	return !stat(dir, &st) && S_ISDIR(st.st_mode);
}

bool local_host_running(const struct local_net *net, const char *name)
{
	char *dir = host_dir(net, name);
	bool up = false;

	if (dir_exists(dir))
		host_lock(dir, false, &up);
	free(dir);
	return up;
}

/* Data disks */

#define DISK_FILE	"disk.img"
#define LOSETUP_TIMEOUT 20000

/*
 * The loop devices attached to file, one a line ("/dev/loop3\n"), into
 * out; empty when none. losetup finds them by the file, so a run killed
 * between attaching one and writing anything down leaves none unknown.
 */
static int disk_loops(const char *file, struct buf *out, struct error *err)
{
	char *argv[] = { "losetup", "--list",	    "--noheadings", "--output",
			 "NAME",    "--associated", (char *)file,   NULL };
	struct proc_result res;
	int rc;

	rc = proc_run(argv, NULL, LOSETUP_TIMEOUT, 64 * 1024, &res, err);
	if (rc)
		return rc;
	if (res.status)
		rc = error_set(err, DEPLOY_ERR_IO, file, 0, 0,
			       "losetup --associated failed (exit %d): %s",
			       res.status, res.out.data);
	else
		buf_add(out, res.out.data, res.out.len);
	proc_result_free(&res);
	return rc;
}

/*
 * The host's data disk: DIR/disk.img of gib GiB (sparse; made when
 * missing, never resized), on a loop device (the one it is on already,
 * else a free one), whose name goes into loop.
 */
static int disk_attach(const char *dir, int gib, char loop[32],
		       struct error *err)
{
	char *file = path_in(dir, DISK_FILE);
	struct buf have = BUF_INIT;
	int fd, rc = 0;

	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)gib << 30))
			rc = error_set(err, DEPLOY_ERR_IO, file, 0, 0,
				       "cannot make the data disk of %d GiB: "
				       "%s",
				       gib, strerror(errno));
		close(fd);
	} else if (errno != EEXIST) {
		rc = error_set(err, DEPLOY_ERR_IO, file, 0, 0,
			       "cannot make the data disk: %s",
			       strerror(errno));
	}
	if (!rc)
		rc = disk_loops(file, &have, err);
	if (!rc && !have.len) {
		char *argv[] = { "losetup", "--find", "--show", file, NULL };
		struct proc_result res;

		rc = proc_run(argv, NULL, LOSETUP_TIMEOUT, 4096, &res, err);
		if (!rc && res.status)
			rc = error_set(err, DEPLOY_ERR_IO, file, 0, 0,
				       "losetup --find cannot attach it "
				       "(exit %d): %s",
				       res.status, res.out.data);
		if (!rc)
			buf_add(&have, res.out.data, res.out.len);
		if (!rc)
			proc_result_free(&res);
	}
	if (!rc) {
		size_t n = strcspn(have.data, "\n");

		if (strncmp(have.data, "/dev/loop", 9) || n >= 32)
			rc = error_set(err, DEPLOY_ERR_IO, file, 0, 0,
				       "losetup named no loop device");
		else
			snprintf(loop, 32, "%.*s", (int)n, have.data);
	}
	buf_free(&have);
	free(file);
	return rc;
}

/* The loop device DIR/disk.img is on into loop, or "" (no file, none). */
static void disk_find(const char *dir, char loop[32])
{
	char *file = path_in(dir, DISK_FILE);
	struct buf have = BUF_INIT;
	struct stat st;

	loop[0] = '\0';
	if (!stat(file, &st) && !disk_loops(file, &have, NULL) &&
	    !strncmp(have.data, "/dev/loop", 9) &&
	    strcspn(have.data, "\n") < 32)
		snprintf(loop, 32, "%.*s", (int)strcspn(have.data, "\n"),
			 have.data);
	buf_free(&have);
	free(file);
}

/* Detach every loop device DIR/disk.img is on (none: nothing to do). */
static int disk_detach(const char *dir, struct error *err)
{
	char *file = path_in(dir, DISK_FILE);
	struct buf have = BUF_INIT;
	struct stat st;
	int rc = 0;

	if (!stat(file, &st))
		rc = disk_loops(file, &have, err);
	for (char *p = have.data; !rc && p && *p;) {
		char *end = strchr(p, '\n');
		char *argv[] = { "losetup", "--detach", p, NULL };

		if (end)
			*end = '\0';
		if (*p)
			rc = proc_check(argv, NULL, LOSETUP_TIMEOUT, err);
		p = end ? end + 1 : NULL;
	}
	buf_free(&have);
	free(file);
	return rc;
}

/*
 * Start systemd-nspawn on root, in the host's network namespace; the
 * container holds the host's lock for its life. A host that runs Docker
 * gets the privileged profile (nspawn.h); its /var/lib/docker is a
 * directory of this machine's file system, not the overlay, so that
 * Docker's overlay2 driver can work there (overlayfs takes no overlayfs
 * as its upper layer).
 */
static int boot(const struct local_host *h, char *root, const char *nspath,
		const char *docker, const char *log, int lock, pid_t *pid,
		struct error *err)
{
	/* The cgroup trees and /proc/sys writable: dockerd makes its
	 * containers' cgroups and turns forwarding on (in the host's own
	 * network namespace). */
	static char *docker_env[] = { "SYSTEMD_NSPAWN_API_VFS_WRITABLE=yes",
				      "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1",
				      NULL };
	struct buf nsopt = BUF_INIT, bind = BUF_INIT, disk = BUF_INIT;
	struct buf loop = BUF_INIT;
	char *argv[28];
	size_t n = 0;
	int rc;

	argv[n++] = "systemd-nspawn";
	argv[n++] = "--quiet";
	argv[n++] = "--register=no";
	argv[n++] = "--keep-unit";
	argv[n++] = "--boot";
	argv[n++] = "--console=read-only";
	argv[n++] = "--resolv-conf=off";
	argv[n++] = "--timezone=off";
	argv[n++] = "--link-journal=no";
	if (h->docker) {
		/* runc needs keyctl (@keyring) and bpf (device rules),
		 * which nspawn's filter refuses by default, and capabilities
		 * beyond nspawn's set; sync stays real (--suppress-sync
		 * breaks docker run: systemd#36029). */
		argv[n++] = "--capability=all";
		argv[n++] = "--system-call-filter=@keyring bpf";
		buf_addf(&bind, "--bind=%s:/var/lib/docker", docker);
		argv[n++] = bind.data;
	} else {
		/* Its own network namespace: nftables and net.* sysctls there
		 * touch nothing else. */
		argv[n++] = "--capability=CAP_NET_ADMIN";
	}
	if (h->disk_loop[0]) {
		/* The loop device at the path the disk step looks for, and
		 * under its own name, where blkid finds it by its UUID (no
		 * udev in the container to make /dev/disk/by-uuid). nspawn's
		 * container made with --keep-unit has no device policy of its
		 * own: it may open them. */
		buf_addf(&disk, "--bind=%s:%s", h->disk_loop,
			 LOCAL_DISK_DEVICE);
		argv[n++] = disk.data;
		buf_addf(&loop, "--bind=%s", h->disk_loop);
		argv[n++] = loop.data;
	}
	buf_addf(&nsopt, "--network-namespace-path=%s", nspath);
	argv[n++] = nsopt.data;
	argv[n++] = "-M";
	argv[n++] = (char *)h->name;
	argv[n++] = "-D";
	argv[n++] = root;
	argv[n] = NULL;
	rc = proc_spawn_detached(argv, h->docker ? docker_env : NULL, log, lock,
				 pid, err);
	buf_free(&nsopt);
	buf_free(&bind);
	buf_free(&disk);
	buf_free(&loop);
	return rc;
}

int local_host_up(const struct local_net *net, const char *base,
		  struct local_host *h, struct error *err)
{
	char *dir = host_dir(net, h->name);
	char *docker = path_in(dir, "docker");
	char *upper = path_in(dir, "upper"), *work = path_in(dir, "work");
	char *root = path_in(dir, "root"), *ns = netns_name(net, h->name);
	char *log = path_in(dir, "console.log"), *pidfile = path_in(dir, "pid");
	char *nspath = NULL;
	struct buf opts = BUF_INIT, text = BUF_INIT;
	bool running;
	pid_t pid;
	int rc, lock = -1;

	rc = host_address(net, h->slot, h->address, err);
	if (rc)
		goto out;
	rc = mkdir_p(dir, 0700, err);
	if (!rc)
		rc = prepare_upper(net, upper, h, err);
	if (rc)
		goto out;
	h->booted = false;
	h->disk_loop[0] = '\0';
	lock = host_lock(dir, true, &running);
	/* The data disk before a boot (attached again after this machine
	 * restarted); a running container has the one it booted with. */
	if (h->disk_gib > 0 && running)
		disk_find(dir, h->disk_loop);
	else if (h->disk_gib > 0 && lock >= 0)
		rc = disk_attach(dir, h->disk_gib, h->disk_loop, err);
	if (rc || running)
		goto out; /* up already: address and key are known */
	if (lock < 0) {
		rc = error_set(err, DEPLOY_ERR_IO, dir, 0, 0,
			       "cannot lock the host: %s", strerror(errno));
		goto out;
	}
	rc = mkdir_p(work, 0700, err);
	if (!rc)
		rc = mkdir_p(root, 0755, err);
	if (rc)
		goto out;
	umount2(root, MNT_DETACH); /* a mount left by a crash */
	buf_addf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s", base, upper,
		 work);
	if (mount("overlay", root, "overlay", 0, opts.data)) {
		rc = error_set(err, DEPLOY_ERR_IO, root, 0, 0,
			       "cannot mount the overlay: %s", strerror(errno));
		goto out;
	}
	{
		char *del[] = { "ip", "netns", "del", ns, NULL };

		proc_check(del, NULL, IP_TIMEOUT, NULL); /* a stale one */
	}
	rc = net_host_up(net, h->name, h->address, err);
	if (rc)
		goto out;
	nspath = path_in("/run/netns", ns);
	if (h->docker)
		rc = mkdir_p(docker, 0700, err);
	if (rc)
		goto out;
	rc = boot(h, root, nspath, docker, log, lock, &pid, err);
	h->booted = !rc;
	if (rc)
		goto out;
	buf_addf(&text, "%d\n", (int)pid);
	rc = write_file(pidfile, text.data, 0600, err);
	buf_reset(&text);
	buf_addf(&text, "%s\n", h->address);
	if (!rc) {
		char *a = path_in(dir, "address");

		rc = write_file(a, text.data, 0600, err);
		free(a);
	}
out:
	if (lock >= 0)
		close(lock);
	buf_free(&opts);
	buf_free(&text);
	free(dir);
	free(upper);
	free(work);
	free(root);
	free(ns);
	free(log);
	free(pidfile);
	free(nspath);
	free(docker);
	return rc;
}

/*
 * Whether the host's container is gone: its lock free AND no
 * systemd-nspawn of its root left in /proc. nspawn lets the lock go while
 * it is still exiting (up to a second): a `down` that returned then would
 * let a `down && up`, or a count right after, see it.
 */
static bool container_gone(const char *dir)
{
	char *root = path_in(dir, "root");
	bool running = true, gone;

	host_lock(dir, false, &running);
	gone = !running && !scan_for_nspawn(root);
	free(root);
	return gone;
}

/* Wait up to timeout_ms for the host's container to be gone, looking
 * often at first and less often as it takes longer. */
static bool wait_stopped(const char *dir, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	useconds_t pause = 10000;

	while (!container_gone(dir)) {
		if (now_ms() > deadline)
			return false;
		usleep(pause);
		if (pause < 250000)
			pause *= 2;
	}
	return true;
}

/*
 * Stop the container: SIGTERM (nspawn powers the container off), then
 * SIGKILL; by its pid, found from the pid file or by its root. Returns
 * once its systemd-nspawn is gone: exited, and reaped too, for until its
 * parent reaps it the pid stays (a zombie that ps and pgrep list). The
 * deploy that started it has exited, so its parent is init, which may
 * reap late (seconds on some machines): wait for that, bounded; it has
 * exited either way.
 */
/*
 * SIGKILL the children of pid: the container's init. The kernel then kills
 * every process of its PID namespace and of the namespaces below it, such
 * as Docker's containers, which a container still shutting down may not
 * have stopped (a process that is PID 1 of its own namespace ignores the
 * SIGTERM it gets). Killing systemd-nspawn alone would leave them running.
 */
static void kill_children(pid_t pid)
{
	char path[64], line[4096], *p, *end;
	FILE *f;
	long c;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f))
		for (p = line; (c = strtol(p, &end, 10)) > 0; p = end)
			kill((pid_t)c, SIGKILL);
	fclose(f);
}

static int stop_container(const char *dir, struct error *err)
{
	pid_t pid;

	if (!dir_exists(dir) || container_gone(dir))
		return 0;
	/* A container just being started may not show in /proc yet. */
	for (int tries = 0; !(pid = running_pid(dir)) && tries < 40; tries++)
		usleep(50000);
	if (pid > 0) {
		kill(pid, SIGTERM);
		if (!wait_stopped(dir, 20000)) {
			kill_children(pid);
			kill(pid, SIGKILL);
		}
	}
	if (!wait_stopped(dir, 10000))
		return error_set(err, DEPLOY_ERR_IO, dir, 0, 0,
				 "the host's container did not stop");
	if (pid > 0)
		proc_wait_gone(pid, 10000);
	return 0;
}

int local_host_down(const struct local_net *net, const char *name,
		    struct error *err)
{
	char *dir = host_dir(net, name), *root = path_in(dir, "root");
	char *ns = netns_name(net, name);
	char veth[16];
	int rc;

	rc = stop_container(dir, err);
	if (!rc)
		rc = disk_detach(dir, err);
	if (rc)
		goto out;
	if (umount2(root, 0) && errno != EINVAL && errno != ENOENT &&
	    umount2(root, MNT_DETACH) && errno != EINVAL)
		rc = error_set(err, DEPLOY_ERR_IO, root, 0, 0,
			       "cannot unmount: %s", strerror(errno));
	{
		char *del[] = { "ip", "netns", "del", ns, NULL };
		char *link[] = { "ip", "link", "del", veth, NULL };
		struct proc_result res;
		struct stat st;
		char *nspath = path_in("/run/netns", ns);

		veth_name(net, name, veth);
		if (!stat(nspath, &st))
			proc_check(del, NULL, IP_TIMEOUT, rc ? NULL : err);
		if (link_exists(veth, NULL) &&
		    !proc_run(link, NULL, IP_TIMEOUT, 4096, &res, NULL))
			proc_result_free(&res);
		free(nspath);
	}
	if (!rc)
		rc = remove_tree(dir, err);
out:
	free(dir);
	free(root);
	free(ns);
	return rc;
}

int local_net_down(const struct local_net *net, struct error *err)
{
	struct buf dir = BUF_INIT;
	char br[16];
	int rc = 0;

	buf_addf(&dir, "%s/%s", hosts_root(), net->topology);
	if (rmdir(dir.data) && errno != ENOENT) {
		buf_free(&dir);
		return 0; /* hosts are left: keep the bridge */
	}
	buf_free(&dir);
	bridge_name(net, br);
	if (link_exists(br, NULL)) {
		char *del[] = { "ip", "link", "del", br, NULL };

		rc = proc_check(del, NULL, IP_TIMEOUT, err);
	}
	return rc;
}

int local_list_hosts(const struct local_net *net, char ***names, size_t *nr,
		     struct error *err)
{
	struct buf dir = BUF_INIT;
	struct dirent *e;
	size_t alloc = 0;
	DIR *d;

	*names = NULL;
	*nr = 0;
	buf_addf(&dir, "%s/%s", hosts_root(), net->topology);
	d = opendir(dir.data);
	if (!d) {
		int rc =
			errno == ENOENT
				? 0
				: error_set(err, DEPLOY_ERR_IO, dir.data, 0, 0,
					    "cannot list: %s", strerror(errno));

		buf_free(&dir);
		return rc;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !is_dns_label(e->d_name))
			continue;
		XGROW(*names, alloc, *nr + 1);
		(*names)[(*nr)++] = xstrdup(e->d_name);
	}
	closedir(d);
	buf_free(&dir);
	return 0;
}
