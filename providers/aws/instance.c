/* SPDX-License-Identifier: MIT */
/* AWS instances: image, run or adopt, wait for running, Elastic IP. */
#include "providers/aws/aws-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/base64.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WAIT_RUNNING_S 600

/* Images --------------------------------------------------------------- */

struct image_alias {
	const char *name;
	const char *owner;
	const char *pattern; /* %s: the architecture */
	const char *amd64;   /* the architecture as the name spells it */
	const char *arm64;
};

static const struct image_alias images[] = {
	{ "debian-11", "136693071363", "debian-11-%s-*", "amd64", "arm64" },
	{ "debian-12", "136693071363", "debian-12-%s-*", "amd64", "arm64" },
	{ "debian-13", "136693071363", "debian-13-%s-*", "amd64", "arm64" },
	{ "ubuntu-16.04", "099720109477",
	  "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-%s-server-*", "amd64",
	  "arm64" },
	{ "ubuntu-18.04", "099720109477",
	  "ubuntu/images/hvm-ssd/ubuntu-bionic-18.04-%s-server-*", "amd64",
	  "arm64" },
	{ "ubuntu-20.04", "099720109477",
	  "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-%s-server-*", "amd64",
	  "arm64" },
	{ "ubuntu-22.04", "099720109477",
	  "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-%s-server-*", "amd64",
	  "arm64" },
	{ "ubuntu-24.04", "099720109477",
	  "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-%s-server-*", "amd64",
	  "arm64" },
};

/* Graviton sizes (t4g, m6g, c7gn …) run arm64 images. */
static bool arm_size(const char *size)
{
	size_t i = strspn(size, "abcdefghijklmnopqrstuvwxyz");

	if (!strncmp(size, "a1.", 3))
		return true;
	if (!i || !size[i] || !strchr("0123456789", size[i]))
		return false;
	i += strspn(size + i, "0123456789");
	for (; size[i] && size[i] != '.'; i++)
		if (size[i] == 'g')
			return true;
	return false;
}

struct newest {
	char *id;
	char *date;
};

static int pick_newest(xmlNodePtr root, void *ud)
{
	struct newest *n = ud;

	for (xmlNodePtr it = x_child(x_child(root, "imagesSet"), "item"); it;
	     it = x_next(it, "item")) {
		char *date = x_text(it, "creationDate");
		char *id = x_text(it, "imageId");

		if (id && (!n->id ||
			   (date && n->date && strcmp(date, n->date) > 0))) {
			free(n->id);
			free(n->date);
			n->id = id;
			n->date = date;
			continue;
		}
		free(id);
		free(date);
	}
	return 0;
}

static int resolve_image(struct provider_run *run, struct region *rg,
			 const struct role *role, const char *size, char **out,
			 struct error *err)
{
	const char *image = role->image ? role->image : "debian-12";
	const struct image_alias *al = NULL;
	struct newest n = { 0 };
	struct ec2_params p;
	char pattern[256];
	bool arm = arm_size(size);
	int rc;

	if (!strncmp(image, "ami-", 4)) {
		*out = xstrdup(image);
		return 0;
	}
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		if (!strcmp(images[i].name, image))
			al = &images[i];
	if (!al) {
		struct buf known = BUF_INIT;

		for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
			buf_addf(&known, "%s%s", i ? ", " : "", images[i].name);
		rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file,
			       role->node->line, role->node->col,
			       "role '%s': image '%s' is neither an AMI id "
			       "(ami-…) nor a known name (%s)",
			       role->name, image, known.data);
		buf_free(&known);
		return rc;
	}
	{
		/* The pattern with its one %s replaced by the architecture. */
		const char *at = strstr(al->pattern, "%s");
		int head = at ? (int)(at - al->pattern) : 0;

		snprintf(pattern, sizeof(pattern), "%.*s%s%s", head,
			 al->pattern, at ? (arm ? al->arm64 : al->amd64) : "",
			 at ? at + 2 : al->pattern);
	}
	ec2_params_init(&p);
	ec2_param(&p, "Owner.1", al->owner);
	ec2_filter(&p, 1, "name", pattern);
	ec2_filter(&p, 2, "state", "available");
	ec2_filter(&p, 3, "architecture", arm ? "arm64" : "x86_64");
	rc = ec2_call_pages(rg->ec2, "DescribeImages", &p, pick_newest, &n,
			    err);
	ec2_params_free(&p);
	free(n.date);
	if (!rc && !n.id)
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, run->t->file,
			       role->node->line, role->node->col,
			       "role '%s': no image '%s' (owner %s, name %s) "
			       "in region '%s': use an AMI id",
			       role->name, image, al->owner, pattern, rg->name);
	*out = n.id;
	return rc;
}

/* Instances ------------------------------------------------------------ */

void inst_free(struct inst *in)
{
	free(in->key);
	free(in->id);
	free(in->state);
	free(in->public_ip);
	free(in->private_ip);
	free(in->reason);
	free(in->image);
	free(in->data_volume);
}

bool live_state(const char *s)
{
	return s && strcmp(s, "terminated") && strcmp(s, "shutting-down");
}

/* The instance after `it` in a DescribeInstances answer (NULL: the
 * first), across its reservations. */
xmlNodePtr next_instance(xmlNodePtr root, xmlNodePtr it)
{
	xmlNodePtr r, n;

	if (!it)
		r = x_child(x_child(root, "reservationSet"), "item");
	else if ((n = x_next(it, "item")))
		return n;
	else /* it's instancesSet, then its reservation */
		r = x_next(it->parent->parent, "item");
	for (; r; r = x_next(r, "item")) {
		n = x_child(x_child(r, "instancesSet"), "item");
		if (n)
			return n;
	}
	return NULL;
}

/* DescribeInstances for the topology's instances in the region (with
 * host, only those tagged as that host), each page handed to fn. */
int topology_describe(struct provider_run *run, struct region *rg,
		      const char *host, int (*fn)(xmlNodePtr root, void *ud),
		      void *ud, struct error *err)
{
	struct ec2_params p;
	int rc;

	ec2_params_init(&p);
	ec2_filter(&p, 1, "tag:deploy:topology", run->t->name);
	if (host)
		ec2_filter(&p, 2, "tag:deploy:host", host);
	ec2_page_size(rg->ec2, &p);
	rc = ec2_call_pages(rg->ec2, "DescribeInstances", &p, fn, ud, err);
	ec2_params_free(&p);
	return rc;
}

const char *role_size(const struct role *role)
{
	return role->size ? role->size : "t3.micro";
}

/* RunInstances' parameters for `count` instances of in's role, added to
 * p: with count 1 tagged as in's host; else as a launch, tagged with its
 * token (each tagged as its host once made: host_tag_params()). */
static int instance_params(struct provider_run *run, struct inst *in,
			   const char *token, long count, struct ec2_params *p,
			   struct error *err)
{
	const struct role *role = in->host->role;
	struct region *rg = in->rg;
	const char *zone, *subnet;
	struct tags host = { "host", in->host->name, role->name, in->host->name,
			     NULL };
	struct tags launch = { "launch", token, role->name, NULL, token };
	const struct tags *t = count > 1 ? &launch : &host;
	const char *image;
	char *group, n[24];
	int rc = 0;

	zone = role->zone ? role->zone : rg->zones[0];
	subnet = subnet_in(rg, zone);
	if (!role->zone && rg->nr_subnets) {
		/* The first zone in name order. */
		subnet = rg->subnets[0];
		for (size_t i = 1; i < rg->nr_subnets; i++)
			if (strcmp(rg->zones[i], zone) < 0) {
				zone = rg->zones[i];
				subnet = rg->subnets[i];
			}
	}
	group = (char *)group_of(run, role->name);
	image = in->image;
	p->mutating_safe = true; /* ClientToken */
	ec2_param(p, "ImageId", image);
	ec2_param(p, "InstanceType", role_size(role));
	snprintf(n, sizeof(n), "%ld", count);
	ec2_param(p, "MinCount", n);
	ec2_param(p, "MaxCount", n);
	ec2_param(p, "ClientToken", token);
	ec2_param(p, "KeyName", rg->key_name);
	ec2_param(p, "SubnetId", subnet);
	ec2_param(p, "SecurityGroupId.1", group);
	/* IMDSv2 only: no token-less metadata requests from the host. */
	ec2_param(p, "MetadataOptions.HttpTokens", "required");
	ec2_param(p, "MetadataOptions.HttpEndpoint", "enabled");
	add_tags(p, run, 1, "instance", t);
	add_tags(p, run, 2, "volume", t);
	if (role->disk_size) {
		char size[16];

		snprintf(size, sizeof(size), "%d", role->disk_size);
		ec2_param(p, "BlockDeviceMapping.1.DeviceName",
			  AWS_DATA_DEVICE);
		ec2_param(p, "BlockDeviceMapping.1.Ebs.VolumeSize", size);
		ec2_param(p, "BlockDeviceMapping.1.Ebs.VolumeType",
			  role->disk_type ? role->disk_type : "gp3");
		ec2_param(p, "BlockDeviceMapping.1.Ebs.DeleteOnTermination",
			  "true");
		ec2_param(p, "BlockDeviceMapping.1.Ebs.Encrypted", "true");
	}
	if (role->user_data) {
		struct buf text, b64 = BUF_INIT;

		buf_init(&text, 16 << 10);
		rc = buf_read_file(&text, role->user_data);
		if (rc)
			rc = error_set(err, rc, run->t->file,
				       role->user_data_node->line,
				       role->user_data_node->col,
				       "role '%s': user_data '%s': %s",
				       role->name, role->user_data,
				       rc == DEPLOY_ERR_TOO_BIG
					       ? "larger than EC2's 16 KiB"
					       : "cannot be read");
		else
			base64_encode(&b64, text.data, text.len, true);
		if (!rc)
			ec2_param(p, "UserData", b64.data);
		buf_free(&text);
		buf_free(&b64);
	}
	return rc;
}

/* The error of one RunInstances, with a hint for a token reused with
 * other settings. */
static int run_failed(struct inst *in, const struct ec2_call *call,
		      struct error *err)
{
	error_set(err, call->rc, NULL, 0, 0, "%s", call->err.msg);
	if (!strcmp(call->code, "IdempotentParameterMismatch"))
		error_append(err,
			     "; a run that stopped asked for '%s' with other "
			     "settings: deploy down --limit %s, then up",
			     in->host->name, in->host->name);
	return call->rc;
}

/* CreateTags' parameters naming instance id as in's host, as a
 * RunInstances for it alone would have (add_tags()). */
static void host_tag_params(const struct provider_run *run,
			    const struct inst *in, const char *id,
			    struct ec2_params *p)
{
	char res[256];

	(void)run;
	snprintf(res, sizeof(res), "host/%s", in->host->name);
	p->mutating_safe = true; /* the same tags again */
	ec2_param(p, "ResourceId.1", id);
	ec2_param(p, "Tag.1.Key", "Name");
	ec2_param(p, "Tag.1.Value", in->host->name);
	ec2_param(p, "Tag.2.Key", "deploy:resource");
	ec2_param(p, "Tag.2.Value", res);
	ec2_param(p, "Tag.3.Key", "deploy:host");
	ec2_param(p, "Tag.3.Value", in->host->name);
}

/* The provider kit's hooks for an instance (resource.h). */
static int inst_find_by_tags(struct provider_run *run,
			     const struct resource_ref *ref, char **id,
			     struct error *err)
{
	const struct inst *in = ref->arg;

	return cached_tagged_instance(run, in->rg, ref->name, id, err);
}

/* One of a launch's hosts: the instance at its index in the launch (a run
 * stopped before tagging it as its host). */
static int inst_find_by_key(struct provider_run *run,
			    const struct resource_ref *ref, char **id,
			    struct error *err)
{
	const struct inst *in = ref->arg;
	char token[LAUNCH_TOKEN_MAX];
	long index, count;

	*id = NULL;
	if (!launch_key(ref->key, token, &index, &count))
		return 0;
	return cached_launched_instance(run, in->rg, token, index, id, err);
}

/* An instance found and not tagged as its host yet (found by its launch
 * key) is tagged now, before its id is recorded. */
static int inst_adopted(struct provider_run *run,
			const struct resource_ref *ref, const char *id,
			struct error *err)
{
	const struct inst *in = ref->arg;
	const struct seen_inst *s;
	struct ec2_params p;
	int rc = seen_instance(run, in->rg, id, &s, err);

	if (rc || (s && s->host && !strcmp(s->host, ref->name)))
		return rc;
	ec2_params_init(&p);
	host_tag_params(run, in, id, &p);
	rc = simple_call(in->rg, "CreateTags", &p, err);
	ec2_params_free(&p);
	return rc;
}

/* A new host's key: its launch key when instances_up() gave it one. */
static char *inst_new_key(struct provider_run *run,
			  const struct resource_ref *ref)
{
	const struct inst *in = ref->arg;
	char fresh[37];

	(void)run;
	if (in->key)
		return xstrdup(in->key);
	uuid4(fresh);
	return xstrdup(fresh);
}

/* The id of the instance at launch index `index` in a RunInstances
 * answer, malloc'd (NULL: none). */
static char *launched_id(xmlDocPtr doc, long index)
{
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

	for (xmlNodePtr it = x_child(x_child(root, "instancesSet"), "item"); it;
	     it = x_next(it, "item"))
		if (instance_launch_index(it) == index)
			return x_text(it, "instanceId");
	return NULL;
}

/*
 * Which of refs[] go together: refs[i] is made by RunInstances call[i]
 * (of `count[call[i]]` instances) as its instance at index[i]. A launch
 * (hosts keyed by launch_key() with one token) is one call when all its
 * hosts are asked for; one asked for without the others (the rest were
 * found) is made alone, under its own key as its token.
 */
static size_t plan_calls(const struct resource_ref *const *refs, size_t n,
			 const bool *round, size_t *call, long *index,
			 long *count, const char **token,
			 char (*tokens)[LAUNCH_TOKEN_MAX])
{
	size_t nr = 0;

	for (size_t i = 0; i < n; i++)
		call[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		long idx, k, have = 0;
		unsigned long long seen = 0;
		bool whole = true;

		if (!round[i] || call[i] != SIZE_MAX)
			continue;
		if (launch_key(refs[i]->key, tokens[nr], &idx, &k) && k > 1) {
			/* All k of its launch, each index once? */
			for (size_t j = i; whole && j < n; j++) {
				char t[LAUNCH_TOKEN_MAX];
				long jdx, jk;

				if (!round[j] ||
				    !launch_key(refs[j]->key, t, &jdx, &jk) ||
				    strcmp(t, tokens[nr]))
					continue;
				/* launch_key(): below LAUNCH_MAX (64) */
				whole = jk == k && !(seen & (1ULL << jdx));
				seen |= 1ULL << jdx;
				have++;
			}
			if (whole && have == k) {
				for (size_t j = i; j < n; j++) {
					char t[LAUNCH_TOKEN_MAX];
					long jk;

					if (round[j] &&
					    launch_key(refs[j]->key, t,
						       &index[j], &jk) &&
					    !strcmp(t, tokens[nr]))
						call[j] = nr;
				}
				token[nr] = tokens[nr];
				count[nr++] = k;
				continue;
			}
		}
		call[i] = nr;
		index[i] = 0;
		token[nr] = refs[i]->key;
		count[nr++] = 1;
	}
	return nr;
}

/*
 * RunInstances for each host (per region, the calls at once): a launch's
 * hosts in one call whose ClientToken is the launch's token, tagged with
 * it, then each instance tagged as its host (CreateTags, at once); a host
 * alone with its key as ClientToken, tagged as itself. Asked again (a run
 * stopped before the answer was recorded), EC2 answers with the same
 * instances. A launch's instance is recorded once tagged: one whose
 * CreateTags failed stays pending, found by its key next time
 * (inst_find_by_key()) and tagged then (inst_adopted()).
 */
static int inst_create_many(struct provider_run *run,
			    const struct resource_ref *const *refs, size_t n,
			    char **ids, struct error *err)
{
	struct ec2_call *calls = xcalloc(n + 1, sizeof(*calls));
	struct ec2_call *tags = xcalloc(n + 1, sizeof(*tags));
	struct ec2_params *p = xcalloc(n + 1, sizeof(*p));
	struct ec2_params *tp = xcalloc(n + 1, sizeof(*tp));
	size_t *call = xcalloc(n + 1, sizeof(*call));
	size_t *tagged = xcalloc(n + 1, sizeof(*tagged));
	long *index = xcalloc(n + 1, sizeof(*index));
	long *count = xcalloc(n + 1, sizeof(*count));
	const char **token = xcalloc(n + 1, sizeof(*token));
	char(*tokens)[LAUNCH_TOKEN_MAX] = xcalloc(n + 1, sizeof(*tokens));
	bool *round = xcalloc(n + 1, sizeof(*round));
	bool *asked = xcalloc(n + 1, sizeof(*asked));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		ec2_params_init(&p[i]);
		ec2_params_init(&tp[i]);
	}
	/* Each region's instances together. */
	for (size_t first = 0; !rc && first < n; first++) {
		struct region *rg = ((struct inst *)refs[first]->arg)->rg;
		size_t nr, nt = 0;

		if (asked[first])
			continue;
		for (size_t i = 0; i < n; i++) {
			round[i] = !asked[i] &&
				   ((struct inst *)refs[i]->arg)->rg == rg;
			asked[i] = asked[i] || round[i];
		}
		nr = plan_calls(refs, n, round, call, index, count, token,
				tokens);
		for (size_t k = 0; !rc && k < nr; k++) {
			size_t i = 0;

			while (call[i] != k) /* the call's first host */
				i++;
			rc = instance_params(run, refs[i]->arg, token[k],
					     count[k], &p[i], err);
			calls[k] = (struct ec2_call){ .action = "RunInstances",
						      .p = &p[i] };
		}
		if (rc)
			break;
		ec2_call_many(rg->ec2, calls, nr);
		for (size_t i = 0; i < n; i++) {
			struct inst *in = refs[i]->arg;
			const struct ec2_call *c;
			char *id;

			if (!round[i])
				continue;
			c = &calls[call[i]];
			id = count[call[i]] > 1
				     ? launched_id(c->doc, index[i])
				     : (c->doc ? x_text(xmlDocGetRootElement(
								c->doc),
							"instancesSet/item/"
							"instanceId")
					       : NULL);
			if (id && *id) {
				free(in->id);
				in->id = id;
				if (count[call[i]] > 1) {
					host_tag_params(run, in, id, &tp[i]);
					tags[nt] = (struct ec2_call){
						.action = "CreateTags",
						.p = &tp[i]
					};
					tagged[nt++] = i;
				} else {
					ids[i] = xstrdup(id);
				}
				continue;
			}
			free(id);
			if (!rc && c->rc)
				rc = run_failed(in, c, err);
			else if (!rc)
				rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0,
					       0,
					       "aws RunInstances: the answer "
					       "has no instance for '%s'",
					       in->host->name);
		}
		for (size_t k = 0; k < nr; k++) {
			xmlFreeDoc(calls[k].doc);
			calls[k].doc = NULL;
			error_clear(&calls[k].err);
		}
		if (nt)
			ec2_call_many(rg->ec2, tags, nt);
		for (size_t t = 0; t < nt; t++) {
			struct inst *in = refs[tagged[t]]->arg;

			if (!tags[t].rc)
				ids[tagged[t]] = xstrdup(in->id);
			else if (!rc)
				rc = error_set(err, tags[t].rc, NULL, 0, 0,
					       "%s", tags[t].err.msg);
			xmlFreeDoc(tags[t].doc);
			error_clear(&tags[t].err);
		}
	}
	for (size_t i = 0; i < n; i++) {
		ec2_params_free(&p[i]);
		ec2_params_free(&tp[i]);
	}
	free(calls);
	free(tags);
	free(p);
	free(tp);
	free(call);
	free(tagged);
	free(index);
	free(count);
	free(token);
	free(tokens);
	free(round);
	free(asked);
	return rc;
}

static int inst_create(struct provider_run *run, const struct resource_ref *ref,
		       char **id, struct error *err)
{
	return inst_create_many(run, &ref, 1, id, err);
}

static void inst_attributes(struct provider_run *run,
			    const struct resource_ref *ref,
			    struct state_resource *res)
{
	const struct inst *in = ref->arg;

	(void)run;
	set_attr(res, "region", in->rg->name);
}

/*
 * An instance: found by its tags (a run stopped after asking for it, or
 * --adopt) or, one of a launch, by its launch key; else run. A host
 * recorded as made is gone (the plan asks only for missing hosts): it is
 * made anew under a new token, as EC2 would answer an old one with the
 * terminated instance.
 */
static const struct resource_kind aws_instance = {
	.kind = "host",
	.flags = RESOURCE_NEW_KEY,
	.find_by_key = inst_find_by_key,
	.find_by_tags = inst_find_by_tags,
	.create = inst_create,
	.create_many = inst_create_many,
	.adopted = inst_adopted,
	.new_key = inst_new_key,
	.attributes = inst_attributes,
};

static bool unrecorded(struct provider_run *run, const struct inst *in)
{
	return !state_resource_find(run->state, provider_name(run->provider),
				    "host", in->host->name);
}

/*
 * The hosts with no record yet, a role's in a region, are one launch (up
 * to LAUNCH_MAX each): one RunInstances makes them all. Each is keyed
 * TOKEN.INDEX.COUNT (launch_key()), INDEX its amiLaunchIndex in the call.
 */
static void plan_launches(struct provider_run *run, struct inst *v, size_t nr)
{
	bool *in_launch = xcalloc(nr + 1, sizeof(*in_launch));

	for (size_t i = 0; i < nr; i++)
		in_launch[i] = unrecorded(run, &v[i]);
	for (size_t i = 0; i < nr; i++) {
		size_t left = 0, k, idx = 0;
		char token[37], key[64];

		if (!in_launch[i])
			continue;
		for (size_t j = i; j < nr; j++)
			if (in_launch[j] && v[j].rg == v[i].rg &&
			    v[j].host->role == v[i].host->role)
				left++;
		k = left > LAUNCH_MAX ? LAUNCH_MAX : left;
		uuid4(token);
		for (size_t j = i; k > 1 && idx < k && j < nr; j++) {
			if (!in_launch[j] || v[j].rg != v[i].rg ||
			    v[j].host->role != v[i].host->role)
				continue;
			snprintf(key, sizeof(key), "%s.%zu.%zu", token, idx++,
				 k);
			free(v[j].key);
			v[j].key = xstrdup(key);
			in_launch[j] = false;
		}
		in_launch[i] = false;
	}
	free(in_launch);
}

/* Make (or adopt) the instances, their RunInstances at once; each id
 * recorded before returning. */
static int instances_up(struct provider_run *run, struct inst *v, size_t nr,
			struct error *err)
{
	struct resource_want *w = xcalloc(nr + 1, sizeof(*w));
	int rc;

	plan_launches(run, v, nr);
	for (size_t i = 0; i < nr; i++) {
		/* What the topology has in the region is read once for all
		 * of them (inst_find_by_tags). */
		v[i].rg->inst_known = false;
		w[i] = (struct resource_want){ .name = v[i].host->name,
					       .role = v[i].host->role->name,
					       .arg = &v[i] };
	}
	rc = resource_ensure_many(run, &aws_instance, w, nr, err);
	for (size_t i = 0; i < nr; i++) {
		if (w[i].id) {
			free(v[i].id);
			v[i].id = w[i].id;
		}
	}
	free(w);
	return rc;
}

/* The volume id of the data disk in an instance's block device mapping. */
static void read_data_volume(xmlNodePtr it, struct inst *in)
{
	xmlNodePtr m = x_child(it, "blockDeviceMapping");

	for (xmlNodePtr i = m ? x_child(m, "item") : NULL; i;
	     i = x_next(i, "item")) {
		if (!x_text_is(i, "deviceName", AWS_DATA_DEVICE))
			continue;
		free(in->data_volume);
		in->data_volume = x_text(i, "ebs/volumeId");
	}
}

struct describe_ctx {
	struct inst *v;
	size_t nr;
};

static int read_instances(xmlNodePtr root, void *ud)
{
	struct describe_ctx *d = ud;

	for (xmlNodePtr it = next_instance(root, NULL); it;
	     it = next_instance(root, it)) {
		char *id = x_text(it, "instanceId");

		for (size_t i = 0; id && i < d->nr; i++) {
			struct inst *in = &d->v[i];

			if (!in->id || strcmp(in->id, id))
				continue;
			free(in->state);
			free(in->public_ip);
			free(in->private_ip);
			free(in->reason);
			in->state = x_text(it, "instanceState/name");
			in->public_ip = x_text(it, "ipAddress");
			in->private_ip = x_text(it, "privateIpAddress");
			in->reason = x_text(it, "stateReason/message");
			read_data_volume(it, in);
		}
		free(id);
	}
	return 0;
}

/*
 * One DescribeInstances for every instance of the region still waited
 * for, again with backoff and jitter, until each is in `want` (with an
 * address when running) or the deadline passes. An id EC2 does not know
 * yet (just made: eventual consistency) is asked for again.
 */
int wait_instances(struct provider_run *run, struct inst *v, size_t nr,
		   const char *want, int deadline_s, struct error *err)
{
	long long deadline = now_ms() + (long long)deadline_s * 1000;
	long delay = 500;
	int rc = 0;

	for (;;) {
		struct aws *a = aws_of(run);
		size_t left = 0;

		for (size_t g = 0; !rc && g < a->nr_regions; g++) {
			struct describe_ctx d = { v, nr };
			struct ec2_params p;
			int n = 0;

			ec2_params_init(&p);
			for (size_t i = 0; i < nr; i++)
				if (!v[i].done && v[i].rg == &a->regions[g])
					ec2_paramf(&p, v[i].id, "InstanceId.%d",
						   ++n);
			if (n)
				rc = ec2_call_pages(a->regions[g].ec2,
						    "DescribeInstances", &p,
						    read_instances, &d, err);
			ec2_params_free(&p);
			if (rc == DEPLOY_ERR_NOT_FOUND &&
			    !strcmp(ec2_error_code(a->regions[g].ec2),
				    "InvalidInstanceID.NotFound")) {
				error_clear(err);
				rc = 0;
				left++;
			}
		}
		if (rc)
			return rc;
		for (size_t i = 0; i < nr; i++) {
			struct inst *in = &v[i];

			if (in->done)
				continue;
			if (!strcmp(want, "running") && in->state &&
			    !live_state(in->state))
				return error_set(
					err, DEPLOY_ERR_REMOTE, NULL, 0, 0,
					"aws instance %s of '%s' is %s "
					"instead of running%s%s",
					in->id, in->host->name, in->state,
					in->reason ? ": " : "",
					in->reason ? in->reason : "");
			if (in->state && !strcmp(in->state, want) &&
			    (strcmp(want, "running") || in->private_ip ||
			     in->public_ip))
				in->done = true;
			else
				left++;
		}
		if (!left)
			return 0;
		if (run->stop && *run->stop)
			return error_set(err, DEPLOY_ERR_INTERRUPTED, NULL, 0,
					 0,
					 "interrupted while waiting for "
					 "instances; recorded, a new run "
					 "goes on");
		if (now_ms() > deadline) {
			for (size_t i = 0; i < nr; i++)
				if (!v[i].done)
					return error_set(
						err, DEPLOY_ERR_TIMEOUT, NULL,
						0, 0,
						"aws instance %s of '%s' is "
						"%s, not %s, after %d s",
						v[i].id, v[i].host->name,
						v[i].state ? v[i].state : "?",
						want, deadline_s);
		}
		/* Full jitter on a growing window, at most 10 s. */
		provider_sleep(run, (long)jitter((unsigned long)delay) + 200);
		delay = delay * 2 > 10000 ? 10000 : delay * 2;
	}
}

/* Elastic IPs ------------------------------------------------------------ */

static int create_eip(struct provider_run *run, struct region *rg,
		      const struct tags *t, void *arg, char **id,
		      struct error *err)
{
	struct ec2_params p;
	int rc;

	(void)arg;
	ec2_params_init(&p);
	ec2_param(&p, "Domain", "vpc");
	add_tags(&p, run, 1, "elastic-ip", t);
	rc = call_for_id(rg, "AllocateAddress", &p, "allocationId", id, err);
	ec2_params_free(&p);
	return rc;
}

/* The host's Elastic IP, allocated once and associated; its address in
 * *ip. */
static int static_ip(struct provider_run *run, struct inst *in, char **ip,
		     struct error *err)
{
	struct region *rg = in->rg;
	char *alloc = NULL;
	struct ec2_params p;
	xmlDocPtr doc;
	xmlNodePtr it;
	int rc;

	rc = aws_resource(run, rg, &K_EIP, in->host->name, in->host->role->name,
			  create_eip, NULL, &alloc, err);
	if (rc)
		return rc;
	rc = describe_one(rg, &K_EIP, alloc, &doc, err);
	if (rc) {
		free(alloc);
		return rc;
	}
	it = x_path(xmlDocGetRootElement(doc), "addressesSet/item");
	*ip = x_text(it, "publicIp");
	if (!x_text_is(it, "instanceId", in->id)) {
		ec2_params_init(&p);
		ec2_param(&p, "AllocationId", alloc);
		ec2_param(&p, "InstanceId", in->id);
		rc = simple_call(rg, "AssociateAddress", &p, err);
		ec2_params_free(&p);
	}
	xmlFreeDoc(doc);
	free(alloc);
	return rc;
}

/* The provider's operations ------------------------------------------- */

int aws_hosts_up(struct provider_run *run, struct host *const *hosts, size_t nr,
		 struct error *err)
{
	struct inst *v = xcalloc(nr + 1, sizeof(*v));
	int rc = 0;

	/* What can be checked is, before anything is made: the region,
	 * its zones, each role's image. */
	for (size_t i = 0; !rc && i < nr; i++) {
		const struct role *role = hosts[i]->role;
		char *name = NULL;

		v[i].host = hosts[i];
		rc = region_name(run, role, &name, err);
		if (!rc)
			rc = open_region(run, name, &v[i].rg, err);
		if (!rc)
			rc = check_region(run, v[i].rg, err);
		for (size_t j = 0; !rc && !v[i].image && j < i; j++)
			if (hosts[j]->role == role)
				v[i].image = xstrdup(v[j].image);
		if (!rc && !v[i].image)
			rc = resolve_image(run, v[i].rg, role, role_size(role),
					   &v[i].image, err);
		free(name);
	}
	for (size_t i = 0; !rc && i < nr; i++)
		rc = network_up(run, v[i].rg, err);
	if (!rc)
		rc = instances_up(run, v, nr, err);
	if (!rc)
		rc = wait_instances(run, v, nr, "running", WAIT_RUNNING_S, err);
	for (size_t i = 0; !rc && i < nr; i++) {
		struct state_host *sh;
		char *eip = NULL;

		if (hosts[i]->role->static_ip)
			rc = static_ip(run, &v[i], &eip, err);
		if (rc)
			break;
		sh = state_host_get(run->state, hosts[i]->name, true);
		state_host_set(&sh->address,
			       eip ? eip
				   : (v[i].public_ip ? v[i].public_ip
						     : v[i].private_ip));
		state_host_set(&sh->private_address, v[i].private_ip);
		sh->port = hosts[i]->port ? hosts[i]->port : 22;
		free(eip);
		/* The disk step looks for it by that (aws_disk_devices). */
		if (v[i].data_volume) {
			struct state_resource *res = state_resource_find(
				run->state, "aws", "host", hosts[i]->name);

			if (res)
				set_attr(res, "data_volume", v[i].data_volume);
		}
	}
	if (!rc)
		rc = run->save(run, err);
	/* The runner waits for SSH (core/ssh/probe.h). */
	for (size_t i = 0; i < nr; i++)
		inst_free(&v[i]);
	free(v);
	return rc;
}

/*
 * The data disk on the host: on Nitro instances an NVMe device, whose
 * stable name udev makes from the volume id (vol-0abc: ..._vol0abc); on
 * Xen ones the name asked for, which Linux calls xvdf.
 */
void aws_disk_devices(const struct topology *t, struct state *s,
		      const struct host *h, cJSON *paths)
{
	const struct state_resource *r =
		state_resource_find(s, "aws", "host", h->name);
	const cJSON *vol = r ? cJSON_GetObjectItemCaseSensitive(r->attributes,
								"data_volume")
			     : NULL;

	(void)t;
	if (cJSON_IsString(vol) && !strncmp(vol->valuestring, "vol-", 4)) {
		struct buf b = BUF_INIT;

		buf_addf(
			&b,
			"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol%s",
			vol->valuestring + 4);
		cJSON_AddItemToArray(paths, cJSON_CreateString(b.data));
		buf_free(&b);
	}
	cJSON_AddItemToArray(paths, cJSON_CreateString(AWS_DATA_DEVICE));
	cJSON_AddItemToArray(paths, cJSON_CreateString("/dev/xvdf"));
}
