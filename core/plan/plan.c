/* SPDX-License-Identifier: MIT */
/* The plan (the topology against the state) and carrying it out. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "ssh/probe.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

void lifecycle_init(struct lifecycle *lc, const struct topology *t,
		    const struct graph *g, struct state *state)
{
	memset(lc, 0, sizeof(*lc));
	pthread_mutex_init(&lc->lock, NULL);
	lc->t = t;
	lc->g = g;
	lc->state = state;
}

static const struct ynode *config_of(const struct topology *t,
				     const struct provider_ops *p)
{
	for (size_t i = 0; i < t->nr_providers; i++)
		if (t->providers[i].provider == p)
			return t->providers[i].config;
	return NULL;
}

bool lifecycle_selected(const struct lifecycle *lc, const char *name,
			const char *role)
{
	if (!lc->limit)
		return true;
	for (size_t i = 0; i < lc->nr_limit; i++) {
		if (!strcmp(lc->limit[i]->name, name))
			return true;
		/* A host the topology no longer has goes with its role. */
		if (role && !strcmp(lc->limit[i]->role->name, role) &&
		    !topology_find_host(lc->t, name))
			return true;
	}
	return false;
}

struct provider_run *lifecycle_run(struct lifecycle *lc,
				   const struct provider_ops *p)
{
	struct provider_run *run;

	for (size_t i = 0; i < lc->nr_runs; i++) {
		if (lc->runs[i].provider != p)
			continue;
		/* The keys may be known only now: after plan's refresh. */
		lc->runs[i].authorized_keys = lc->authorized_keys;
		return &lc->runs[i];
	}
	if (lc->nr_runs == sizeof(lc->runs) / sizeof(lc->runs[0]))
		abort(); /* more providers than the registry has */
	run = &lc->runs[lc->nr_runs++];
	run->provider = p;
	run->t = lc->t;
	run->config = config_of(lc->t, p);
	run->state = lc->state;
	run->authorized_keys = lc->authorized_keys;
	run->save = lc->save;
	run->ctx = lc->ctx;
	run->stop = lc->stop;
	run->lock = &lc->lock;
	return run;
}

/* Each provider the topology's roles use, once. */
static size_t providers_used(const struct topology *t,
			     const struct provider_ops **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nr_roles; i++) {
		bool seen = false;

		for (size_t j = 0; j < n; j++)
			seen |= out[j] == t->roles[i].provider;
		if (!seen && n < max)
			out[n++] = t->roles[i].provider;
	}
	return n;
}

static int sync_all(struct lifecycle *lc, struct buf *dry, struct error *err)
{
	const struct provider_ops *used[16];
	size_t n = providers_used(lc->t, used, 16);
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++)
		rc = provider_sync(lifecycle_run(lc, used[i]), dry, err);
	return rc;
}

int lifecycle_sync(struct lifecycle *lc, struct error *err)
{
	return sync_all(lc, NULL, err);
}

int lifecycle_configure_begin(struct lifecycle *lc, struct error *err)
{
	const struct provider_ops *used[16];
	size_t n = providers_used(lc->t, used, 16);
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++)
		rc = provider_configure_begin(lifecycle_run(lc, used[i]), err);
	return rc;
}

void lifecycle_release(struct lifecycle *lc)
{
	for (size_t i = 0; i < lc->nr_runs; i++)
		provider_release(&lc->runs[i]);
}

static struct plan_item *add(struct plan *p, enum plan_op op)
{
	struct plan_item *it;

	XGROW(p->items, p->alloc, p->nr + 1);
	it = &p->items[p->nr++];
	memset(it, 0, sizeof(*it));
	it->op = op;
	it->kind = "host";
	if (op == PLAN_CREATE)
		p->creates++;
	else if (op == PLAN_DESTROY)
		p->destroys++;
	else
		p->keeps++;
	return it;
}

static size_t level_of(const struct graph *g, const char *role)
{
	for (size_t i = 0; role && i < g->nr; i++)
		if (!strcmp(g->nodes[i].role->name, role))
			return g->nodes[i].level;
	return 0;
}

static char *reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *reason(const char *fmt, ...)
{
	struct buf r = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&r, fmt, ap);
	va_end(ap);
	return buf_release(&r);
}

static bool has_address(struct state *s, const char *host)
{
	const struct state_host *sh = state_host_get(s, host, false);

	return sh && sh->address;
}

static int plan_host(struct lifecycle *lc, struct plan *p, struct host *h,
		     bool refresh, struct error *err)
{
	const struct provider_ops *prov = h->role->provider;
	struct state_resource *r =
		state_resource_find(lc->state, prov->name, "host", h->name);
	struct plan_item *it;
	bool exists = true;
	int rc;

	if (r && r->status == RESOURCE_CREATED && refresh) {
		rc = provider_exists(lifecycle_run(lc, prov), r, &exists, err);
		if (rc)
			return rc;
	}
	it = add(p, r && r->status == RESOURCE_CREATED && exists ? PLAN_KEEP
								 : PLAN_CREATE);
	it->provider = prov;
	it->name = h->name;
	it->role = h->role->name;
	it->host = h;
	it->res = r;
	it->level = level_of(lc->g, it->role);
	if (it->op == PLAN_KEEP && refresh) {
		struct buf lines = BUF_INIT;

		rc = provider_drift(lifecycle_run(lc, prov), h, r, &lines, err);
		for (size_t i = 0; !rc && i < lines.len; i++)
			p->drifts += lines.data[i] == '\n';
		if (!rc && lines.len) {
			struct buf all = BUF_INIT;

			if (p->drift_lines)
				buf_adds(&all, p->drift_lines);
			buf_add(&all, lines.data, lines.len);
			free(p->drift_lines);
			p->drift_lines = buf_release(&all);
		}
		buf_free(&lines);
		if (rc)
			return rc;
	}
	if (r && r->status == RESOURCE_PENDING)
		it->reason = reason("a run stopped while creating it; it is "
				    "adopted if it exists");
	else if (r && r->status == RESOURCE_DELETING)
		it->reason =
			reason("a run stopped while deleting it%s%s", "", "");
	else if (r && !exists && !has_address(lc->state, h->name))
		it->reason = reason("a run stopped before it was seen "
				    "running; it is adopted if it exists");
	else if (r && !exists)
		it->reason = reason("it is in the state but gone at provider "
				    "'%s': deleted outside deploy?",
				    prov->name);
	return 0;
}

/*
 * Hosts of a role with protect: true or static_ip: true are kept. The
 * state records it with each host ("protect" in its attributes), so the
 * hosts of a role removed from the topology are kept too.
 */
static bool protected_host(const struct lifecycle *lc,
			   const struct state_resource *res)
{
	const struct role *r =
		res->role ? topology_find_role(lc->t, res->role) : NULL;
	const cJSON *p =
		cJSON_GetObjectItemCaseSensitive(res->attributes, "protect");

	if (lc->include_protected)
		return false;
	if (r)
		return r->protect || r->static_ip;
	return cJSON_IsTrue(p);
}

/* Record each recorded host's protection as its role says now; saved with
 * the state's next save. */
static void record_protection(struct lifecycle *lc)
{
	for (size_t i = 0; i < lc->state->nr_resources; i++) {
		struct state_resource *res = &lc->state->resources[i];
		const struct role *r =
			res->role ? topology_find_role(lc->t, res->role) : NULL;

		if (!r || strcmp(res->kind, "host"))
			continue;
		if (!res->attributes)
			res->attributes = cJSON_CreateObject();
		cJSON_DeleteItemFromObjectCaseSensitive(res->attributes,
							"protect");
		if (r->protect || r->static_ip)
			cJSON_AddTrueToObject(res->attributes, "protect");
	}
}

static bool in_state(const struct state *s, const char *provider,
		     const char *name)
{
	for (size_t i = 0; i < s->nr_resources; i++)
		if (!strcmp(s->resources[i].provider, provider) &&
		    !strcmp(s->resources[i].kind, "host") &&
		    !strcmp(s->resources[i].name, name))
			return true;
	return false;
}

/*
 * Hosts that exist at a provider but not in the state (a state restored
 * from an old backup, or lost): reported, and adopted only when asked. A
 * host the topology has is then created, which for a provider that finds
 * its hosts by name or tag means adopted; one it does not have is left
 * alone and named.
 */
static int find_unrecorded(struct lifecycle *lc, struct plan *p,
			   struct error *err)
{
	size_t nr_providers;
	const struct provider_ops *const *all = provider_all(&nr_providers);
	int rc = 0;

	for (size_t i = 0; !rc && i < nr_providers; i++) {
		bool used = false;
		char **names;
		size_t nr;

		for (size_t j = 0; j < lc->t->nr_roles; j++)
			used |= lc->t->roles[j].provider == all[i];
		if (!used || !all[i]->list_hosts)
			continue;
		rc = provider_list_hosts(lifecycle_run(lc, all[i]), &names, &nr,
					 err);
		for (size_t j = 0; !rc && j < nr; j++) {
			const struct host *h =
				topology_find_host(lc->t, names[j]);
			struct plan_item *it = NULL;

			if (in_state(lc->state, all[i]->name, names[j]) ||
			    !lifecycle_selected(lc, names[j],
						h ? h->role->name : NULL))
				continue;
			for (size_t k = 0; k < p->nr && !it; k++)
				if (p->items[k].op == PLAN_CREATE &&
				    !strcmp(p->items[k].name, names[j]))
					it = &p->items[k];
			if (it && lc->adopt) {
				free(it->reason);
				it->reason =
					reason("found at provider '%s' but "
					       "not in the state: adopted",
					       all[i]->name);
				continue;
			}
			if (!it) {
				it = add(p, PLAN_KEEP);
				p->keeps--;
				it->provider = all[i];
				it->name = xstrdup(names[j]);
				it->owned_name = true;
			} else {
				it->op = PLAN_KEEP;
				p->creates--;
			}
			it->unrecorded = true;
			p->unrecorded++;
			free(it->reason);
			it->reason = reason(
				h ? "exists at provider '%s' but not in the "
				    "state: 'deploy up --adopt' records it"
				  : "exists at provider '%s' but neither in the "
				    "state nor in the topology: left alone",
				all[i]->name);
		}
		for (size_t j = 0; j < nr; j++)
			free(names[j]);
		free(names);
	}
	return rc;
}

int plan_build(struct lifecycle *lc, bool destroy_all, bool refresh,
	       struct plan **out, struct error *err)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	const struct topology *t = lc->t;
	int rc = 0;

	*out = NULL;
	record_protection(lc);
	for (size_t i = 0; !destroy_all && !rc && i < t->nr_roles; i++) {
		struct role *role = &t->roles[i];

		if (provider_uses_existing_hosts(role->provider))
			continue;
		if (!provider_creates_hosts(role->provider)) {
			char *makers = provider_list(1, ", ");
			char *takers = provider_list(0, ", ");

			rc = error_set(err, DEPLOY_ERR_INVALID, t->file,
				       role->node->line, role->node->col,
				       "role '%s': provider '%s' cannot create "
				       "hosts yet (providers that can create "
				       "hosts: %s; that take existing ones: "
				       "%s)",
				       role->name,
				       provider_name(role->provider), makers,
				       takers);
			free(makers);
			free(takers);
			break;
		}
		for (size_t j = 0; !rc && j < role->nr_hosts; j++)
			if (lifecycle_selected(lc, role->hosts[j].name,
					       role->name))
				rc = plan_host(lc, p, &role->hosts[j], refresh,
					       err);
	}
	/* Recorded hosts the topology does not want (any more). */
	for (size_t i = 0; !rc && i < lc->state->nr_resources; i++) {
		struct state_resource *r = &lc->state->resources[i];
		const struct host *h = topology_find_host(t, r->name);
		struct plan_item *it;

		if (strcmp(r->kind, "host") ||
		    !lifecycle_selected(lc, r->name, r->role))
			continue;
		if (!destroy_all && h &&
		    !strcmp(h->role->provider->name, r->provider))
			continue;
		if (protected_host(lc, r)) {
			it = add(p, PLAN_KEEP);
			it->provider = provider_find(r->provider);
			it->name = r->name;
			it->role = r->role;
			it->res = r;
			it->reason =
				reason("role '%s' is protected (protect or "
				       "static_ip): kept unless "
				       "--include-protected",
				       r->role);
			if (!it->provider)
				rc = error_set(
					err, DEPLOY_ERR_INVALID,
					lc->state->path, 0, 0,
					"state names provider '%s', "
					"which this deploy does not know",
					r->provider);
			continue;
		}
		it = add(p, PLAN_DESTROY);
		it->provider = provider_find(r->provider);
		/* Copies: destroying r frees its strings, and the item is
		 * still reported after that (plan_apply's progress). */
		it->name = xstrdup(r->name);
		it->owned_name = true;
		it->role = r->role ? xstrdup(r->role) : NULL;
		it->owned_role = true;
		it->res = r;
		it->level = level_of(lc->g, r->role);
		if (!it->provider)
			rc = error_set(err, DEPLOY_ERR_INVALID, lc->state->path,
				       0, 0,
				       "state names provider '%s', which this "
				       "deploy does not know",
				       r->provider);
		else if (!destroy_all && !h)
			it->reason = reason("not in the topology any more");
	}
	if (!rc && !destroy_all)
		rc = find_unrecorded(lc, p, err);
	if (!rc && !destroy_all && refresh) {
		struct buf lines = BUF_INIT;

		rc = sync_all(lc, &lines, err);
		for (size_t i = 0; i < lines.len; i++)
			p->syncs += lines.data[i] == '\n';
		p->sync_lines = buf_release(&lines);
	}
	/* Every provider with something recorded takes part, so that what
	 * it shares is removed once its last host is gone, even when a run
	 * that stopped left no host of it to destroy. */
	for (size_t i = 0; !rc && i < lc->state->nr_resources; i++) {
		const struct provider_ops *prov =
			provider_find(lc->state->resources[i].provider);

		if (prov)
			lifecycle_run(lc, prov);
	}
	if (rc) {
		plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nr; i++) {
		free(p->items[i].reason);
		if (p->items[i].owned_name)
			free((char *)p->items[i].name);
		if (p->items[i].owned_role)
			free((char *)p->items[i].role);
	}
	free(p->items);
	free(p->sync_lines);
	free(p->drift_lines);
	free(p);
}

/* Whether a host of provider p is still recorded: what a provider shares
 * between hosts (a network, a key) is removed only once none is. */
static bool provider_left(const struct state *s, const struct provider_ops *p)
{
	for (size_t i = 0; i < s->nr_resources; i++)
		if (!strcmp(s->resources[i].provider, p->name) &&
		    !strcmp(s->resources[i].kind, "host"))
			return true;
	return false;
}

static size_t top_level(const struct plan *p)
{
	size_t top = 0;

	for (size_t i = 0; i < p->nr; i++)
		if (p->items[i].level > top)
			top = p->items[i].level;
	return top;
}

static int stopped(const struct lifecycle *lc, struct error *err)
{
	if (!lc->stop || !*lc->stop)
		return 0;
	return error_set(err, PLAN_STOPPED, NULL, 0, 0,
			 "interrupted: the work under way was finished and "
			 "recorded; run again to go on");
}

/* The hosts of one level at a provider that deletes them at once: one
 * provider_destroy_hosts() for them all. */
static int destroy_hosts_at_once(struct lifecycle *lc, struct plan *p,
				 size_t level, const struct provider_ops *prov,
				 plan_progress_fn *progress, void *ctx,
				 struct error *err)
{
	const char **names = xcalloc(p->nr + 1, sizeof(*names));
	struct plan_item **items = xcalloc(p->nr + 1, sizeof(*items));
	size_t nr = 0;
	int rc;

	for (size_t i = 0; i < p->nr; i++) {
		struct plan_item *it = &p->items[i];

		if (it->op != PLAN_DESTROY || it->level != level ||
		    it->provider != prov || strcmp(it->kind, "host"))
			continue;
		it->res = NULL;
		if (progress)
			progress(ctx, it, PLAN_ITEM_START);
		items[nr] = it;
		if (state_resource_find(lc->state, prov->name, it->kind,
					it->name))
			names[nr] = it->name;
		nr++;
	}
	/* Those with no record any more are done already. */
	{
		const char **v = xcalloc(nr + 1, sizeof(*v));
		size_t n = 0;

		for (size_t i = 0; i < nr; i++)
			if (names[i])
				v[n++] = names[i];
		rc = n ? provider_destroy_hosts(lifecycle_run(lc, prov), v, n,
						err)
		       : 0;
		free(v);
	}
	for (size_t i = 0; progress && i < nr; i++)
		progress(ctx, items[i],
			 rc && names[i] &&
					 state_resource_find(lc->state,
							     prov->name, "host",
							     names[i])
				 ? PLAN_ITEM_FAILED
				 : PLAN_ITEM_DONE);
	free(names);
	free(items);
	return rc;
}

static int destroy_level(struct lifecycle *lc, struct plan *p, size_t level,
			 plan_progress_fn *progress, void *ctx,
			 struct error *err)
{
	size_t nr_providers;
	const struct provider_ops *const *all = provider_all(&nr_providers);

	/* Hosts at providers that delete them at once, then the rest. */
	for (size_t k = 0; k < nr_providers; k++) {
		bool any = false;
		int rc;

		if (!provider_destroys_hosts_at_once(all[k]))
			continue;
		for (size_t i = 0; !any && i < p->nr; i++)
			any = p->items[i].op == PLAN_DESTROY &&
			      p->items[i].level == level &&
			      p->items[i].provider == all[k] &&
			      !strcmp(p->items[i].kind, "host");
		if (!any)
			continue;
		rc = stopped(lc, err);
		if (!rc)
			rc = destroy_hosts_at_once(lc, p, level, all[k],
						   progress, ctx, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < p->nr; i++) {
		struct plan_item *it = &p->items[i];
		struct state_resource *r;
		int rc;

		if (it->op != PLAN_DESTROY || it->level != level)
			continue;
		if (provider_destroys_hosts_at_once(it->provider) &&
		    !strcmp(it->kind, "host"))
			continue;
		rc = stopped(lc, err);
		if (rc)
			return rc;
		if (progress)
			progress(ctx, it, PLAN_ITEM_START);
		/* Removing resources moves the others: look it up anew. */
		r = state_resource_find(lc->state, it->provider->name, it->kind,
					it->name);
		it->res = NULL;
		rc = r ? provider_destroy(lifecycle_run(lc, it->provider), r,
					  err)
		       : 0;
		if (progress)
			progress(ctx, it,
				 rc ? PLAN_ITEM_FAILED : PLAN_ITEM_DONE);
		if (rc)
			return rc;
	}
	return 0;
}

/* Whether hosts_up said it started h now. */
static bool started(const struct provider_run *run, const struct host *h)
{
	for (size_t i = 0; i < run->nr_started; i++)
		if (run->started[i] == h)
			return true;
	return false;
}

/*
 * Wait for the SSH banner of the new hosts that will be contacted
 * directly (roles with playbooks and no via: the others are never
 * contacted, or through their bastion) and of those the provider started
 * now. Called without the state lock.
 */
static int wait_ssh(struct lifecycle *lc, struct provider_run *run,
		    struct host **hosts, size_t n, struct error *err)
{
	struct ssh_probe_target *v = xcalloc(n + 1, sizeof(*v));
	char **addr = xcalloc(n + 1, sizeof(*addr));
	size_t nr = 0;
	int rc;

	pthread_mutex_lock(&lc->lock);
	for (size_t i = 0; i < n; i++) {
		const struct role *role = hosts[i]->role;
		const struct state_host *sh =
			state_host_get(lc->state, hosts[i]->name, false);

		if (!started(run, hosts[i]) &&
		    (!role->nr_playbooks || role->via.name))
			continue;
		if (!sh || !sh->address)
			continue;
		addr[nr] = xstrdup(sh->address);
		v[nr].name = hosts[i]->name;
		v[nr].address = addr[nr];
		v[nr].port = sh->port;
		v[nr].hint = provider_ssh_hint(run->provider);
		nr++;
	}
	pthread_mutex_unlock(&lc->lock);
	rc = ssh_probe_wait(v, nr, provider_ssh_wait_ms(run->provider),
			    lc->stop, NULL, NULL, err);
	for (size_t i = 0; i < nr; i++)
		free(addr[i]);
	free(addr);
	free(v);
	return rc;
}

/* One provider's creates of one level: its hosts_up, the save, the wait
 * for SSH. */
struct level_job {
	struct lifecycle *lc;
	struct provider_run *run;
	struct host **hosts;
	size_t n;
	int rc;
	struct error err;
	pthread_t thread;
	bool threaded;
};

static int up_and_wait(struct level_job *j)
{
	struct lifecycle *lc = j->lc;
	int rc = provider_hosts_up(j->run, j->hosts, j->n, &j->err);

	if (!rc) {
		pthread_mutex_lock(&lc->lock);
		record_protection(lc);
		rc = lc->save(j->run, &j->err);
		pthread_mutex_unlock(&lc->lock);
	}
	if (!rc)
		rc = wait_ssh(lc, j->run, j->hosts, j->n, &j->err);
	return rc;
}

static void *level_thread(void *arg)
{
	struct level_job *j = arg;

	j->rc = up_and_wait(j);
	return NULL;
}

static const struct plan_item *item_of(const struct plan *p,
				       const struct host *h)
{
	for (size_t i = 0; i < p->nr; i++)
		if (p->items[i].op == PLAN_CREATE && p->items[i].host == h)
			return &p->items[i];
	return NULL;
}

/*
 * The creates of one level: each provider's hosts at once, and the
 * providers at the same time (a thread each) when there are several.
 */
static int create_level(struct lifecycle *lc, struct plan *p, size_t level,
			plan_progress_fn *progress, void *ctx,
			struct error *err)
{
	size_t nr_providers, nr_jobs = 0;
	const struct provider_ops *const *all = provider_all(&nr_providers);
	struct level_job *jobs;
	int rc = stopped(lc, err);

	if (rc)
		return rc;
	jobs = xcalloc(nr_providers + 1, sizeof(*jobs));
	for (size_t k = 0; k < nr_providers; k++) {
		struct level_job *j = &jobs[nr_jobs];

		for (size_t i = 0; i < p->nr; i++) {
			struct plan_item *it = &p->items[i];

			if (it->op != PLAN_CREATE || it->level != level ||
			    it->provider != all[k])
				continue;
			if (progress)
				progress(ctx, it, PLAN_ITEM_START);
			if (!j->hosts)
				j->hosts =
					xcalloc(p->nr + 1, sizeof(*j->hosts));
			j->hosts[j->n++] = it->host;
		}
		if (!j->n)
			continue;
		j->lc = lc;
		j->run = lifecycle_run(lc, all[k]);
		error_init(&j->err);
		nr_jobs++;
	}
	for (size_t i = 0; nr_jobs > 1 && i < nr_jobs; i++)
		jobs[i].threaded = !pthread_create(&jobs[i].thread, NULL,
						   level_thread, &jobs[i]);
	for (size_t i = 0; i < nr_jobs; i++) {
		if (jobs[i].threaded)
			pthread_join(jobs[i].thread, NULL);
		else
			jobs[i].rc = up_and_wait(&jobs[i]);
	}
	/* The first failure, in registry order, is the run's. */
	for (size_t i = 0; i < nr_jobs; i++) {
		for (size_t k = 0; progress && k < jobs[i].n; k++) {
			const struct plan_item *it =
				item_of(p, jobs[i].hosts[k]);

			if (it)
				progress(ctx, it,
					 jobs[i].rc ? PLAN_ITEM_FAILED
						    : PLAN_ITEM_DONE);
		}
		if (jobs[i].rc && !rc) {
			rc = jobs[i].rc;
			*err = jobs[i].err;
		} else {
			error_clear(&jobs[i].err);
		}
		free(jobs[i].hosts);
	}
	free(jobs);
	return rc;
}

int plan_apply(struct lifecycle *lc, struct plan *p, plan_progress_fn *progress,
	       void *ctx, struct error *err)
{
	size_t top = top_level(p);
	int rc;

	/* Roles no longer in the topology first, then from the top down. */
	rc = destroy_level(lc, p, 0, progress, ctx, err);
	for (size_t level = top; !rc && level >= 1; level--)
		rc = destroy_level(lc, p, level, progress, ctx, err);
	for (size_t level = 1; !rc && level <= top; level++)
		rc = create_level(lc, p, level, progress, ctx, err);
	for (size_t i = 0; !rc && i < lc->nr_runs; i++)
		if (!provider_left(lc->state, lc->runs[i].provider))
			rc = provider_finish_down(&lc->runs[i], err);
	return rc;
}

void plan_bind_addresses(const struct topology *t, const struct state *s)
{
	for (size_t i = 0; i < t->nr_roles; i++) {
		struct role *r = &t->roles[i];

		if (!provider_creates_hosts(r->provider))
			continue;
		for (size_t j = 0; j < r->nr_hosts; j++) {
			const struct state_host *h = NULL;

			for (size_t k = 0; k < s->nr_hosts; k++)
				if (!strcmp(s->hosts[k].name, r->hosts[j].name))
					h = &s->hosts[k];
			r->hosts[j].address = h ? h->address : NULL;
		}
	}
}
