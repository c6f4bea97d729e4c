/* SPDX-License-Identifier: MIT */
/* AWS security groups: one per role, their ingress rules kept in sync. */
#include "providers/aws/aws-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/rules.h"
#include "util/xalloc.h"
#include "util/banned.h"

char *group_name(const struct provider_run *run, const char *role)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "deploy-%s-%s", run->t->name, role);
	return buf_release(&b);
}

static int create_group(struct provider_run *run, struct region *rg,
			const struct tags *t, void *arg, char **id,
			struct error *err)
{
	const struct role *role = arg;
	char *name = group_name(run, role->name);
	char desc[256];
	struct ec2_params p;
	int rc;

	snprintf(desc, sizeof(desc), "deploy %s: role %s", run->t->name,
		 role->name);
	ec2_params_init(&p);
	ec2_param(&p, "GroupName", name);
	ec2_param(&p, "GroupDescription", desc);
	ec2_param(&p, "VpcId", rg->vpc);
	add_tags(&p, run, 1, "security-group", t);
	rc = call_for_id(rg, "CreateSecurityGroup", &p, "groupId", id, err);
	ec2_params_free(&p);
	if (rc && !strcmp(ec2_error_code(rg->ec2), "InvalidGroup.Duplicate"))
		error_append(err,
			     "; a group named '%s' exists without this "
			     "topology's tags: deploy does not take it over",
			     name);
	free(name);
	return rc;
}

/* One ingress rule as EC2 holds it: proto, ports and one source. */
struct rule {
	char proto[8];
	int lo, hi;
	char src[128]; /* "sg-…" or a CIDR */
	bool v6;
	bool seen;
};

struct rules {
	struct rule *v;
	size_t nr;
};

static bool rule_is(const struct rule *r, const char *proto, int lo, int hi,
		    const char *src)
{
	return !strcmp(r->proto, proto) && r->lo == lo && r->hi == hi &&
	       !strcmp(r->src, src);
}

static void rules_add(struct rules *r, const char *proto, int lo, int hi,
		      const char *src)
{
	struct rule *n;

	for (size_t i = 0; i < r->nr; i++)
		if (rule_is(&r->v[i], proto, lo, hi, src))
			return;
	r->v = xrealloc(r->v, (r->nr + 1) * sizeof(*r->v));
	n = &r->v[r->nr++];
	memset(n, 0, sizeof(*n));
	snprintf(n->proto, sizeof(n->proto), "%s", proto);
	n->lo = lo;
	n->hi = hi;
	snprintf(n->src, sizeof(n->src), "%s", src);
	n->v6 = strchr(src, ':') != NULL;
}

const char *group_of(struct provider_run *run, const char *role)
{
	struct state_resource *res =
		state_resource_find(run->state, "aws", "security-group", role);

	return res && res->status == RESOURCE_CREATED ? res->id : NULL;
}

struct want {
	struct provider_run *run;
	struct rules *r;
};

static void want_cidr(const struct rule_sink *s, const char *proto, int lo,
		      int hi, const char *cidr)
{
	struct want *w = s->arg;

	rules_add(w->r, proto, lo, hi, cidr);
}

/* A role as a source: its group when it is an AWS role that has one, else
 * the addresses of its hosts (another provider's role). */
static void want_role(const struct rule_sink *s, const struct role *src,
		      const char *proto, int lo, int hi)
{
	struct want *w = s->arg;
	const char *g = src->provider == &aws_provider
				? group_of(w->run, src->name)
				: NULL;

	if (g)
		rules_add(w->r, proto, lo, hi, g);
	else
		rules_role_addresses(w->run, src, proto, lo, hi, s);
}

/* What the role's group should let in. */
static void wanted_rules(struct provider_run *run, const struct role *role,
			 struct rules *r)
{
	struct want w = { run, r };
	struct rule_sink s = { want_cidr, want_role, &w };

	rules_wanted(run, role, &s);
}

/* The parameters to authorize or revoke the one rule r of the group. */
static void rule_params(struct ec2_params *p, const char *group,
			const struct rule *r)
{
	char lo[16], hi[16];

	snprintf(lo, sizeof(lo), "%d", r->lo);
	snprintf(hi, sizeof(hi), "%d", r->hi);
	ec2_params_init(p);
	ec2_param(p, "GroupId", group);
	ec2_param(p, "IpPermissions.1.IpProtocol", r->proto);
	ec2_param(p, "IpPermissions.1.FromPort", lo);
	ec2_param(p, "IpPermissions.1.ToPort", hi);
	if (!strncmp(r->src, "sg-", 3))
		ec2_param(p, "IpPermissions.1.Groups.1.GroupId", r->src);
	else if (r->v6)
		ec2_param(p, "IpPermissions.1.Ipv6Ranges.1.CidrIpv6", r->src);
	else
		ec2_param(p, "IpPermissions.1.IpRanges.1.CidrIp", r->src);
}

/*
 * Authorize or revoke (action) each rule of v not seen (seen == skip), all
 * at once; a rule there already (InvalidPermission.Duplicate) is fine.
 * Returns the first error.
 */
static int rule_calls(struct region *rg, const char *action, const char *group,
		      const struct rule *v, size_t nr, bool skip,
		      struct error *err)
{
	struct ec2_call *calls = xcalloc(nr + 1, sizeof(*calls));
	struct ec2_params *p = xcalloc(nr + 1, sizeof(*p));
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < nr; i++) {
		if (v[i].seen == skip)
			continue;
		rule_params(&p[n], group, &v[i]);
		calls[n] = (struct ec2_call){ .action = action, .p = &p[n] };
		n++;
	}
	if (n)
		ec2_call_many(rg->ec2, calls, n);
	for (size_t i = 0; i < n; i++) {
		if (!rc && calls[i].rc &&
		    strcmp(calls[i].code, "InvalidPermission.Duplicate"))
			rc = error_set(err, calls[i].rc, NULL, 0, 0, "%s",
				       calls[i].err.msg);
		xmlFreeDoc(calls[i].doc);
		error_clear(&calls[i].err);
		ec2_params_free(&p[i]);
	}
	free(calls);
	free(p);
	return rc;
}

/* The group's ingress rules now, one per source. */
static void held_rules(xmlNodePtr group, struct rules *r)
{
	xmlNodePtr perms = x_child(group, "ipPermissions");

	for (xmlNodePtr it = x_child(perms, "item"); it;
	     it = x_next(it, "item")) {
		char *proto = x_text(it, "ipProtocol");
		char *lo = x_text(it, "fromPort"), *hi = x_text(it, "toPort");
		int l = lo ? (int)strtol(lo, NULL, 10) : -1,
		    h = hi ? (int)strtol(hi, NULL, 10) : -1;
		static const char *const sets[][2] = {
			{ "groups", "groupId" },
			{ "ipRanges", "cidrIp" },
			{ "ipv6Ranges", "cidrIpv6" },
		};

		for (size_t s = 0; proto && s < 3; s++)
			for (xmlNodePtr g =
				     x_child(x_child(it, sets[s][0]), "item");
			     g; g = x_next(g, "item")) {
				char *src = x_text(g, sets[s][1]);

				if (src)
					rules_add(r, proto, l, h, src);
				free(src);
			}
		free(proto);
		free(lo);
		free(hi);
	}
}

/* The ingress rules the group holds at EC2 now. */
static int group_rules(struct region *rg, const char *group, struct rules *r,
		       struct error *err)
{
	xmlDocPtr doc;
	int rc = describe_one(rg, &K_SG, group, &doc, err);

	if (rc)
		return rc;
	held_rules(x_path(xmlDocGetRootElement(doc), "securityGroupInfo/item"),
		   r);
	xmlFreeDoc(doc);
	return 0;
}

/* A rule as plan shows it: groups by their roles' names. */
static void describe_rule(struct provider_run *run, struct buf *out,
			  const char *role, char sign, const struct rule *r)
{
	const char *src = r->src;

	for (size_t i = 0; i < run->state->nr_resources; i++) {
		const struct state_resource *res = &run->state->resources[i];

		if (!strcmp(res->provider, "aws") &&
		    !strcmp(res->kind, "security-group") && res->id &&
		    !strcmp(res->id, r->src))
			src = res->name;
	}
	buf_addf(out, "~ aws security-group %s: %c %s %d", role, sign, r->proto,
		 r->lo);
	if (r->hi != r->lo)
		buf_addf(out, "-%d", r->hi);
	buf_addf(out, " from %s\n", src);
}

/* Make the group's rules what the topology says: each missing rule added
 * alone (groups that name each other never wait on each other), each
 * extra one revoked. */
int sync_rules(struct provider_run *run, struct region *rg,
	       const struct role *role, const char *group, struct buf *dry,
	       struct error *err)
{
	struct rules want = { 0 }, have = { 0 };
	int rc;

	rc = group_rules(rg, group, &have, err);
	if (rc)
		return rc;
	wanted_rules(run, role, &want);
	for (size_t i = 0; i < want.nr; i++)
		for (size_t j = 0; j < have.nr; j++)
			if (rule_is(&want.v[i], have.v[j].proto, have.v[j].lo,
				    have.v[j].hi, have.v[j].src))
				want.v[i].seen = have.v[j].seen = true;
	for (size_t i = 0; dry && i < want.nr + have.nr; i++) {
		const struct rule *r =
			i < want.nr ? &want.v[i] : &have.v[i - want.nr];

		if (!r->seen)
			describe_rule(run, dry, role->name,
				      i < want.nr ? '+' : '-', r);
	}
	/* The missing rules at once, then the extra ones at once. */
	if (!dry)
		rc = rule_calls(rg, "AuthorizeSecurityGroupIngress", group,
				want.v, want.nr, true, err);
	if (!dry && !rc)
		rc = rule_calls(rg, "RevokeSecurityGroupIngress", group, have.v,
				have.nr, true, err);
	free(want.v);
	free(have.v);
	return rc;
}

bool role_in_region(struct provider_run *run, const struct role *role,
		    const struct region *rg)
{
	char *name = NULL;
	struct error e;
	bool in;

	if (role->provider != &aws_provider)
		return false;
	error_init(&e);
	in = !region_name(run, role, &name, &e) && !strcmp(name, rg->name);
	error_clear(&e);
	free(name);
	return in;
}

/* Every aws role of the region gets its group first (rules may name any
 * of them), then each group's rules. */
int security_groups(struct provider_run *run, struct region *rg,
		    struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];
		char *id = NULL;

		if (!role_in_region(run, role, rg))
			continue;
		rc = aws_resource(run, rg, &K_SG, role->name, role->name,
				  create_group, (void *)role, &id, err);
		free(id);
	}
	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];

		if (role_in_region(run, role, rg))
			rc = sync_rules(run, rg, role,
					group_of(run, role->name), NULL, err);
	}
	return rc;
}

/* Revoke every ingress rule of the group that names another group, so
 * that groups naming each other can be deleted in any order. */
int unlink_group(struct region *rg, const char *group, struct error *err)
{
	struct rules have = { 0 };
	int rc;

	rc = group_rules(rg, group, &have, err);
	/* Those naming a group, at once (the others marked to skip). */
	for (size_t i = 0; !rc && i < have.nr; i++)
		have.v[i].seen = strncmp(have.v[i].src, "sg-", 3) != 0;
	if (!rc)
		rc = rule_calls(rg, "RevokeSecurityGroupIngress", group, have.v,
				have.nr, true, err);
	free(have.v);
	return rc;
}
