/* SPDX-License-Identifier: MIT */
/* AWS Signature Version 4: signing a request. */

/*
 * AWS Signature Version 4: the canonical request, the string to sign, the
 * derived signing key and the Authorization header, as the AWS General
 * Reference ("Create a signed AWS API request") describes them. Checked
 * against every case of the classic aws-sig-v4-test-suite
 * (tests/conformance/aws-sigv4.sh).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "providers/aws/sigv4.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SHA256_LEN	32

/* The foreign library's error, wrapped once with its own text. */
static int crypto_error(struct error *err, const char *what)
{
	char text[256] = "unknown error";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			 "sigv4: %s failed: %s", what, text);
}

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[65],
		      struct error *err)
{
	unsigned char md[SHA256_LEN];
	unsigned int md_len = 0;

	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) ||
	    md_len != SHA256_LEN) {
		out[0] = '\0';
		return crypto_error(err, "sha-256");
	}
	hex_encode(md, SHA256_LEN, out);
	return 0;
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	sha256_hex(data, len, out, NULL);
}

static int hmac_sha256(const void *key, size_t key_len, const void *data,
		       size_t len, unsigned char out[SHA256_LEN],
		       struct error *err)
{
	unsigned int out_len = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) ||
	    out_len != SHA256_LEN) {
		OPENSSL_cleanse(out, SHA256_LEN);
		return crypto_error(err, "hmac-sha256");
	}
	return 0;
}

void sigv4_amz_date(long long t, char out[17])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((long long)tt != t || !gmtime_r(&tt, &tm) ||
	    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		memcpy(out, "19700101T000000Z", 17);
}

/* ------------------------------------------------------------------------
 * Encoding
 */

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* AWS's UriEncode(): the unreserved characters as they are, every other
 * byte as %XY with upper-case hex (a space is %20, never '+'). */
static int uri_encode(struct buf *b, const char *s, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	int rc = 0;

	for (size_t i = 0; i < len && !rc; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c)) {
			rc = buf_addch(b, (char)c);
		} else {
			char pct[3] = { '%', digits[c >> 4], digits[c & 0xf] };

			rc = buf_add(b, pct, 3);
		}
	}
	return rc;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s into b. A '%' not followed by two hex digits stays a
 * literal '%'; '+' stays a literal '+' (RFC 3986, not form encoding). */
static int uri_decode(struct buf *b, const char *s, size_t len)
{
	int rc = 0;

	for (size_t i = 0; i < len && !rc; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len &&
		    (hi = hex_value(s[i + 1])) >= 0 &&
		    (lo = hex_value(s[i + 2])) >= 0) {
			rc = buf_addch(b, (char)(hi << 4 | lo));
			i += 2;
		} else {
			rc = buf_addch(b, s[i]);
		}
	}
	return rc;
}

/* ------------------------------------------------------------------------
 * The canonical URI: the path with its dot segments removed and empty
 * segments dropped (every service but S3 normalises), then each segment
 * UriEncode()d. The path is taken as sent, so a '%' in it becomes %25: the
 * "encode twice" rule of the non-S3 services.
 */

struct segment {
	const char *s;
	size_t len;
};

static int canonical_uri(struct buf *b, const char *path, size_t len)
{
	struct segment *segs = NULL;
	size_t nr = 0, alloc = 0;
	size_t i = 0;
	int rc = 0;

	while (i < len) {
		size_t start = i;

		while (i < len && path[i] != '/')
			i++;
		if (i - start == 0 || (i - start == 1 && path[start] == '.')) {
			/* "//" and "/./" */
		} else if (i - start == 2 && path[start] == '.' &&
			   path[start + 1] == '.') {
			if (nr)
				nr--;
		} else {
			XGROW(segs, alloc, nr + 1);
			segs[nr].s = path + start;
			segs[nr].len = i - start;
			nr++;
		}
		i++;
	}
	rc = buf_addch(b, '/');
	for (size_t k = 0; k < nr && !rc; k++) {
		if (k)
			rc = buf_addch(b, '/');
		if (!rc)
			rc = uri_encode(b, segs[k].s, segs[k].len);
	}
	/* A trailing slash is kept when the path had one (and something is
	 * left before it), as botocore and aws-c-auth do. */
	if (!rc && nr && len && path[len - 1] == '/')
		rc = buf_addch(b, '/');
	free(segs);
	return rc;
}

/* ------------------------------------------------------------------------
 * The canonical query string: each name and value decoded then
 * UriEncode()d, sorted by encoded name then encoded value (byte order),
 * "name=value" joined with '&'. A parameter with no '=' has an empty value.
 */

struct param {
	char *name;
	char *value;
};

static int param_cmp(const void *a, const void *b)
{
	const struct param *pa = a, *pb = b;
	int c = strcmp(pa->name, pb->name);

	return c ? c : strcmp(pa->value, pb->value);
}

static int encode_component(const char *s, size_t len, char **out)
{
	struct buf raw = BUF_INIT, enc = BUF_INIT;
	int rc;

	rc = uri_decode(&raw, s, len);
	if (!rc)
		rc = uri_encode(&enc, raw.data, raw.len);
	buf_free(&raw);
	if (rc) {
		buf_free(&enc);
		return rc;
	}
	*out = buf_release(&enc);
	return 0;
}

static int canonical_query(struct buf *b, const char *query, size_t len)
{
	struct param *params = NULL;
	size_t nr = 0, alloc = 0;
	size_t i = 0;
	int rc = 0;

	while (i < len && !rc) {
		size_t start = i, eq;

		while (i < len && query[i] != '&')
			i++;
		if (i > start) {
			eq = start;
			while (eq < i && query[eq] != '=')
				eq++;
			XGROW(params, alloc, nr + 1);
			params[nr].name = params[nr].value = NULL;
			nr++;
			rc = encode_component(query + start, eq - start,
					      &params[nr - 1].name);
			if (!rc)
				rc = encode_component(query + eq + (eq < i),
						      i - eq - (eq < i),
						      &params[nr - 1].value);
		}
		i++;
	}
	if (!rc && nr)
		qsort(params, nr, sizeof(*params), param_cmp);
	for (size_t k = 0; k < nr && !rc; k++)
		rc = buf_addf(b, "%s%s=%s", k ? "&" : "", params[k].name,
			      params[k].value);
	for (size_t k = 0; k < nr; k++) {
		free(params[k].name);
		free(params[k].value);
	}
	free(params);
	return rc;
}

/* ------------------------------------------------------------------------
 * Canonical headers: names lower-cased and sorted (a stable sort, so a
 * repeated name keeps its values in the order sent, joined with ','),
 * values with leading and trailing white space removed and every run of
 * white space inside (line breaks of a folded value among them) made one
 * space.
 */

struct hdr {
	char *name; /* lower-cased */
	size_t index;
	const char *value;
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *ha = a, *hb = b;
	int c = strcmp(ha->name, hb->name);

	if (c)
		return c;
	return ha->index < hb->index ? -1 : ha->index > hb->index;
}

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int add_trimmed(struct buf *b, const char *v)
{
	bool space = false;
	int rc = 0;

	while (is_lws(*v))
		v++;
	for (; *v && !rc; v++) {
		if (is_lws(*v)) {
			space = true;
			continue;
		}
		if (space)
			rc = buf_addch(b, ' ');
		space = false;
		if (!rc)
			rc = buf_addch(b, *v);
	}
	return rc;
}

static int check_header(const struct sigv4_header *h, struct error *err)
{
	if (!h->name || !*h->name)
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: header with no name");
	if (!h->value)
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: header '%s' has no value", h->name);
	for (const char *p = h->name; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ':' || *p == ';' ||
		    *p == 0x7f)
			return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
					 "sigv4: header name '%s' is not a "
					 "token",
					 h->name);
	return 0;
}

static int canonical_headers(struct buf *creq, struct buf *signed_headers,
			     const struct sigv4_request *req, struct error *err)
{
	struct hdr *hdrs = NULL;
	size_t nr = req->nr_headers;
	int rc = 0;

	if (!nr)
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: no header to sign (Host is needed)");
	hdrs = xcalloc(nr, sizeof(*hdrs));
	for (size_t i = 0; i < nr && !rc; i++) {
		rc = check_header(&req->headers[i], err);
		if (rc)
			break;
		hdrs[i].name = xstrdup(req->headers[i].name);
		for (char *p = hdrs[i].name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		hdrs[i].index = i;
		hdrs[i].value = req->headers[i].value;
	}
	if (rc)
		goto out;
	qsort(hdrs, nr, sizeof(*hdrs), hdr_cmp);
	for (size_t i = 0; i < nr && !rc; i++) {
		bool same = i && !strcmp(hdrs[i].name, hdrs[i - 1].name);
		bool last =
			i + 1 == nr || strcmp(hdrs[i].name, hdrs[i + 1].name);

		if (same) {
			rc = buf_addch(creq, ',');
		} else {
			rc = buf_addf(creq, "%s:", hdrs[i].name);
			if (!rc)
				rc = buf_addf(signed_headers, "%s%s",
					      i ? ";" : "", hdrs[i].name);
		}
		if (!rc)
			rc = add_trimmed(creq, hdrs[i].value);
		if (!rc && last)
			rc = buf_addch(creq, '\n');
	}
	if (rc)
		rc = error_set(err, rc, NULL, 0, 0, "sigv4: %s",
			       deploy_strerror(rc));
out:
	for (size_t i = 0; i < nr; i++)
		free(hdrs[i].name);
	free(hdrs);
	return rc;
}

/* ------------------------------------------------------------------------
 * Signing
 */

static bool is_amz_date(const char *d)
{
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return false;
	return true;
}

/* Region, service and access key go into the credential scope and the
 * Authorization header: nothing that would break either. */
static bool is_scope_part(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/' || *s == ',' ||
		    *s == '=' || *s == 0x7f)
			return false;
	return true;
}

static int check_key(const struct sigv4_key *key, struct error *err)
{
	if (!is_scope_part(key->access_key))
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: access key id is missing or has "
				 "characters not allowed in a credential");
	if (!key->secret_key || !*key->secret_key)
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: secret access key is missing");
	if (!is_scope_part(key->region))
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: region '%s' is not valid",
				 key->region ? key->region : "");
	if (!is_scope_part(key->service))
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: service '%s' is not valid",
				 key->service ? key->service : "");
	if (!is_amz_date(key->amz_date))
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: date '%s' is not YYYYMMDDTHHMMSSZ",
				 key->amz_date ? key->amz_date : "");
	return 0;
}

/*
 * kSecret = "AWS4" + secret, kDate = HMAC(kSecret, date),
 * kRegion = HMAC(kDate, region), kService = HMAC(kRegion, service),
 * kSigning = HMAC(kService, "aws4_request"), signature =
 * hex(HMAC(kSigning, string to sign)). Every intermediate key is wiped.
 */
static int compute_signature(const struct sigv4_key *key, const char *sts,
			     char out[65], struct error *err)
{
	const char *steps[4] = { NULL, key->region, key->service,
				 "aws4_request" };
	char date[9];
	size_t secret_len = strlen(key->secret_key);
	size_t ksecret_len = secret_len + 4;
	unsigned char *ksecret = xmalloc(ksecret_len);
	unsigned char k[SHA256_LEN], next[SHA256_LEN], sig[SHA256_LEN];
	int rc;

	memcpy(date, key->amz_date, 8);
	date[8] = '\0';
	steps[0] = date;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, key->secret_key, secret_len);
	rc = hmac_sha256(ksecret, ksecret_len, steps[0], strlen(steps[0]), k,
			 err);
	for (int i = 1; i < 4 && !rc; i++) {
		rc = hmac_sha256(k, sizeof(k), steps[i], strlen(steps[i]), next,
				 err);
		memcpy(k, next, sizeof(k));
	}
	if (!rc)
		rc = hmac_sha256(k, sizeof(k), sts, strlen(sts), sig, err);
	if (!rc)
		hex_encode(sig, sizeof(sig), out);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(next, sizeof(next));
	OPENSSL_cleanse(sig, sizeof(sig));
	freezero(ksecret, ksecret_len);
	return rc;
}

static int canonical_request(struct buf *creq, struct buf *signed_headers,
			     const struct sigv4_request *req, struct error *err)
{
	const char *target = req->target;
	const char *q;
	size_t path_len;
	char payload_hash[65];
	int rc;

	if (!req->method || !*req->method)
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: request has no method");
	if (!target || (*target && *target != '/'))
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: request target '%s' is not a path",
				 target ? target : "");
	if (!req->payload && req->payload_len)
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "sigv4: payload length without a payload");
	q = strchr(target, '?');
	path_len = q ? (size_t)(q - target) : strlen(target);

	rc = buf_addf(creq, "%s\n", req->method);
	if (!rc)
		rc = canonical_uri(creq, target, path_len);
	if (!rc)
		rc = buf_addch(creq, '\n');
	if (!rc && q)
		rc = canonical_query(creq, q + 1, strlen(q + 1));
	if (!rc)
		rc = buf_addch(creq, '\n');
	if (rc)
		return error_set(err, rc, NULL, 0, 0, "sigv4: %s",
				 deploy_strerror(rc));
	rc = canonical_headers(creq, signed_headers, req, err);
	if (rc)
		return rc;
	rc = sha256_hex(req->payload ? req->payload : "", req->payload_len,
			payload_hash, err);
	if (rc)
		return rc;
	rc = buf_addf(creq, "\n%s\n%s", signed_headers->data, payload_hash);
	if (rc)
		return error_set(err, rc, NULL, 0, 0, "sigv4: %s",
				 deploy_strerror(rc));
	return 0;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
	       struct sigv4_result *out, struct error *err)
{
	struct buf creq = BUF_INIT, signed_headers = BUF_INIT;
	struct buf sts = BUF_INIT, authz = BUF_INIT;
	char creq_hash[65], signature[65];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_key(key, err);
	if (rc)
		goto out;
	rc = canonical_request(&creq, &signed_headers, req, err);
	if (rc)
		goto out;
	rc = sha256_hex(creq.data, creq.len, creq_hash, err);
	if (rc)
		goto out;
	if (buf_addf(&sts, SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s",
		     key->amz_date, key->amz_date, key->region, key->service,
		     creq_hash)) {
		rc = error_set(err, DEPLOY_ERR_NOMEM, NULL, 0, 0, "sigv4: %s",
			       deploy_strerror(DEPLOY_ERR_NOMEM));
		goto out;
	}
	rc = compute_signature(key, sts.data, signature, err);
	if (rc)
		goto out;
	if (buf_addf(&authz,
		     SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
				     "SignedHeaders=%s, Signature=%s",
		     key->access_key, key->amz_date, key->region, key->service,
		     signed_headers.data, signature)) {
		rc = error_set(err, DEPLOY_ERR_NOMEM, NULL, 0, 0, "sigv4: %s",
			       deploy_strerror(DEPLOY_ERR_NOMEM));
		goto out;
	}
	out->canonical_request = buf_release(&creq);
	out->string_to_sign = buf_release(&sts);
	out->signed_headers = buf_release(&signed_headers);
	out->signature = xstrdup(signature);
	out->authorization = buf_release(&authz);
out:
	OPENSSL_cleanse(signature, sizeof(signature));
	buf_free_secret(&creq);
	buf_free_secret(&signed_headers);
	buf_free_secret(&sts);
	buf_free_secret(&authz);
	return rc;
}

static void free_string(char **s)
{
	if (*s)
		freezero(*s, strlen(*s));
	*s = NULL;
}

void sigv4_result_free(struct sigv4_result *r)
{
	if (!r)
		return;
	free_string(&r->canonical_request);
	free_string(&r->string_to_sign);
	free_string(&r->signed_headers);
	free_string(&r->signature);
	free_string(&r->authorization);
}
