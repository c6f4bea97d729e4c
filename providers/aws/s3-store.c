/* SPDX-License-Identifier: MIT */
/* The state's object store (core/state/objstore.h) over the S3 client. */
#include <stdlib.h>
#include <string.h>

#include "providers/aws/credentials.h"
#include "providers/aws/s3.h"
#include "providers/provider.h"
#include "state/objstore.h"
#include "topology/topology.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * state: {s3: {bucket, key, region, endpoint, profile, encrypt,
 * kms_key_id, path_style}}: credentials, region and endpoint found as the
 * AWS provider finds them; every PUT carries the server-side encryption
 * the block asks for (SSE-S3 by default, SSE-KMS with kms_key_id).
 */

struct s3_store {
	struct objstore base;
	struct s3 *c;
	char *bucket;
	const char *sse; /* "AES256", "aws:kms" or NULL */
	char *kms_key_id;
};

static struct s3_store *store_of(struct objstore *s)
{
	return (struct s3_store *)s;
}

/* The client's answer into r (its etag and body taken over). */
static void take(struct s3_result *from, struct objstore_result *to)
{
	to->status = from->status;
	free(to->etag);
	to->etag = from->etag;
	from->etag = NULL;
	memcpy(to->code, from->code, sizeof(to->code));
	memcpy(to->msg, from->msg, sizeof(to->msg));
	buf_reset(&to->body);
	buf_add(&to->body, from->body.data ? from->body.data : "",
		from->body.len);
	to->retried = from->retried;
}

static int store_get(struct objstore *s, const char *key,
		     struct objstore_result *r, struct error *err)
{
	struct s3_store *st = store_of(s);
	struct s3_result res;
	int rc;

	s3_result_init(&res);
	rc = s3_get(st->c, st->bucket, key, &res, err);
	if (!rc)
		take(&res, r);
	s3_result_free(&res);
	return rc;
}

static int store_put(struct objstore *s, const char *key, const void *body,
		     size_t len, const struct objstore_put_opts *o,
		     struct objstore_result *r, struct error *err)
{
	struct s3_store *st = store_of(s);
	struct s3_put_opts po = { .if_match = o->if_match,
				  .if_none_match = o->if_none_match,
				  .sse = st->sse,
				  .kms_key_id = st->kms_key_id,
				  .content_type = o->content_type };
	struct s3_result res;
	int rc;

	s3_result_init(&res);
	rc = s3_put(st->c, st->bucket, key, body, len, &po, &res, err);
	if (!rc)
		take(&res, r);
	s3_result_free(&res);
	return rc;
}

static int store_del(struct objstore *s, const char *key, const char *if_match,
		     struct objstore_result *r, struct error *err)
{
	struct s3_store *st = store_of(s);
	struct s3_result res;
	int rc;

	s3_result_init(&res);
	rc = s3_delete(st->c, st->bucket, key, if_match, &res, err);
	if (!rc)
		take(&res, r);
	s3_result_free(&res);
	return rc;
}

static int store_answer_error(struct objstore *s,
			      const struct objstore_result *r, const char *what,
			      const char *key, struct error *err)
{
	struct s3_result res = { .status = r->status };

	memcpy(res.code, r->code, sizeof(res.code));
	memcpy(res.msg, r->msg, sizeof(res.msg));
	return s3_answer_error(&res, what, store_of(s)->bucket, key, err);
}

static bool store_no_bucket(const struct objstore_result *r)
{
	return !strcmp(r->code, "NoSuchBucket");
}

static void store_close(struct objstore *s)
{
	struct s3_store *st = store_of(s);

	s3_close(st->c);
	free(st->bucket);
	free(st->kms_key_id);
	free(st);
}

static const struct objstore_ops s3_store_ops = {
	.get = store_get,
	.put = store_put,
	.del = store_del,
	.answer_error = store_answer_error,
	.no_bucket = store_no_bucket,
	.close = store_close,
};

/* providers.aws.region, when the topology has one. */
static const char *aws_block_region(const struct topology *t)
{
	for (size_t i = 0; i < t->nr_providers; i++) {
		const struct provider_conf *p = &t->providers[i];
		const struct ynode *r;

		if (strcmp(p->provider->name, "aws") || !p->config)
			continue;
		r = ynode_get(p->config, "region");
		return ynode_is_string(r) ? r->value : NULL;
	}
	return NULL;
}

int aws_state_store_open(const struct topology *t, struct objstore **out,
			 struct error *err)
{
	const struct state_conf *sc = &t->state;
	struct s3_store *st = NULL;
	struct aws_creds creds = { 0 };
	char *region = NULL, *endpoint = NULL;
	struct buf b = BUF_INIT;
	bool custom;
	int rc;

	*out = NULL;
	rc = aws_region_resolve(sc->region, aws_block_region(t), sc->profile,
				&region, err);
	if (!rc)
		rc = s3_endpoint_resolve(sc->endpoint, region, &endpoint,
					 &custom, err);
	if (!rc)
		rc = aws_creds_load(sc->profile, &creds, err);
	if (rc)
		goto out;
	st = xcalloc(1, sizeof(*st));
	rc = s3_open(&st->c, endpoint, region,
		     sc->path_style >= 0 ? sc->path_style : custom, &creds,
		     err);
	if (rc) {
		free(st);
		goto out;
	}
	st->base.ops = &s3_store_ops;
	st->bucket = xstrdup(sc->bucket);
	if (sc->key) {
		st->base.key = xstrdup(sc->key);
	} else {
		buf_addf(&b, "%s.state.json", t->name);
		st->base.key = buf_release(&b);
	}
	buf_addf(&b, "s3://%s/", st->bucket);
	st->base.prefix = buf_release(&b);
	if (sc->encrypt)
		st->sse = sc->kms_key_id ? "aws:kms" : "AES256";
	st->kms_key_id = sc->kms_key_id ? xstrdup(sc->kms_key_id) : NULL;
	*out = &st->base;
out:
	aws_creds_free(&creds);
	free(region);
	free(endpoint);
	return rc;
}
