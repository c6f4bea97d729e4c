/* SPDX-License-Identifier: MIT */
/* deploy-test-tool sigv4: sign a raw request, for the SigV4 test suite. */

/*
 * deploy-test-tool sigv4 --request FILE.req --access-key K --secret S
 *	--region R --service SVC --date YYYYMMDDTHHMMSSZ [--token T]
 *
 * Signs the raw HTTP request in FILE.req (the aws-sig-v4-test-suite's .req
 * format: a request line, header lines, an optional blank line and body;
 * LF or CRLF line ends; a header line starting with a space or a tab
 * continues the one before) and prints the canonical request, a blank
 * line, the string to sign, a blank line, and the Authorization header's
 * value as the last line.
 *
 * --token T adds an "X-Amz-Security-Token: T" header before signing, so the
 * session token is one of the signed headers (as EC2 and STS want it, and
 * as the suite's get-vanilla-with-session-token case expects). A request
 * that already has that header is refused. To send the token unsigned (the
 * suite's post-sts-header-after), sign without --token and add the header
 * afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/sigv4.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "test-tool.h"
#include "util/banned.h"

#define USAGE                                                                  \
	"usage: deploy-test-tool sigv4 --request FILE.req --access-key K "     \
	"--secret S --region R --service SVC --date YYYYMMDDTHHMMSSZ "         \
	"[--token T]\n"                                                        \
	"  --token T  add X-Amz-Security-Token: T to the request and sign it " \
	"too\n"

#define REQUEST_MAX  (1024 * 1024)
#define TOKEN_HEADER "X-Amz-Security-Token"

struct parsed_request {
	char *method;
	char *target;
	struct sigv4_header *headers; /* names and values owned */
	size_t nr_headers;
	size_t alloc_headers;
	const char *body; /* into the file's buffer */
	size_t body_len;
};

static void parsed_request_free(struct parsed_request *r)
{
	free(r->method);
	free(r->target);
	for (size_t i = 0; i < r->nr_headers; i++) {
		free((char *)r->headers[i].name);
		free((char *)r->headers[i].value);
	}
	free(r->headers);
}

/* The next line of [*pos, end) without its LF or CRLF; false at the end. */
static bool next_line(const char **pos, const char *end, const char **line,
		      size_t *len, int *lineno)
{
	const char *p = *pos, *nl;

	if (p >= end)
		return false;
	nl = memchr(p, '\n', (size_t)(end - p));
	*line = p;
	*len = nl ? (size_t)(nl - p) : (size_t)(end - p);
	*pos = nl ? nl + 1 : end;
	if (*len && p[*len - 1] == '\r')
		(*len)--;
	(*lineno)++;
	return true;
}

static int parse_request_line(const char *path, const char *line, size_t len,
			      struct parsed_request *r, struct error *err)
{
	const char *sp1 = memchr(line, ' ', len);
	const char *sp2 = NULL;

	/* The target may hold spaces (the suite's get-space): it runs from
	 * the first space to the last one. */
	for (const char *p = line + len; p > line; p--)
		if (p[-1] == ' ') {
			sp2 = p - 1;
			break;
		}
	if (!sp1 || sp2 == sp1 || sp1 == line ||
	    (size_t)(line + len - (sp2 + 1)) < 5 || memcmp(sp2 + 1, "HTTP/", 5))
		return error_set(err, DEPLOY_ERR_SYNTAX, path, 1, 1,
				 "request line is not 'METHOD TARGET "
				 "HTTP/VERSION'");
	r->method = xstrndup(line, (size_t)(sp1 - line));
	r->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	return 0;
}

static int parse_request(const char *path, const char *data, size_t size,
			 struct parsed_request *r, struct error *err)
{
	const char *pos = data, *end = data + size, *line;
	size_t len;
	int lineno = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!next_line(&pos, end, &line, &len, &lineno))
		return error_set(err, DEPLOY_ERR_SYNTAX, path, 0, 0,
				 "empty request");
	rc = parse_request_line(path, line, len, r, err);
	if (rc)
		return rc;
	while (next_line(&pos, end, &line, &len, &lineno)) {
		const char *colon;
		struct sigv4_header *h;

		if (!len)
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			/* A folded line: kept with its line break, which the
			 * signer folds to one space. */
			struct buf v = BUF_INIT;

			if (!r->nr_headers)
				return error_set(err, DEPLOY_ERR_SYNTAX, path,
						 lineno, 1,
						 "continuation line before "
						 "any header");
			h = &r->headers[r->nr_headers - 1];
			buf_adds(&v, h->value);
			buf_addch(&v, '\n');
			buf_add(&v, line, len);
			free((char *)h->value);
			h->value = buf_release(&v);
			continue;
		}
		colon = memchr(line, ':', len);
		if (!colon || colon == line)
			return error_set(err, DEPLOY_ERR_SYNTAX, path, lineno,
					 1, "header line has no 'NAME:'");
		XGROW(r->headers, r->alloc_headers, r->nr_headers + 1);
		h = &r->headers[r->nr_headers++];
		h->name = xstrndup(line, (size_t)(colon - line));
		h->value =
			xstrndup(colon + 1, (size_t)(line + len - (colon + 1)));
	}
	r->body = pos;
	r->body_len = (size_t)(end - pos);
	return 0;
}

static bool has_header(const struct parsed_request *r, const char *name)
{
	for (size_t i = 0; i < r->nr_headers; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return true;
	return false;
}

int cmd_sigv4(int argc, char **argv)
{
	const char *request = NULL, *token = NULL;
	struct sigv4_key key = { 0 };
	struct parsed_request r = { 0 };
	struct sigv4_request req = { 0 };
	struct sigv4_result res = { 0 };
	struct buf file = BUF_INIT;
	struct error err;
	char msg[1024];
	int rc, status = 1;

	error_init(&err);
	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;

		if (!strcmp(argv[i], "--request"))
			slot = &request;
		else if (!strcmp(argv[i], "--access-key"))
			slot = &key.access_key;
		else if (!strcmp(argv[i], "--secret"))
			slot = &key.secret_key;
		else if (!strcmp(argv[i], "--region"))
			slot = &key.region;
		else if (!strcmp(argv[i], "--service"))
			slot = &key.service;
		else if (!strcmp(argv[i], "--date"))
			slot = &key.amz_date;
		else if (!strcmp(argv[i], "--token"))
			slot = &token;
		if (!slot || i + 1 >= argc) {
			fputs(USAGE, stderr);
			return 64;
		}
		*slot = argv[++i];
	}
	if (!request || !key.access_key || !key.secret_key || !key.region ||
	    !key.service || !key.amz_date) {
		fputs(USAGE, stderr);
		return 64;
	}

	buf_init(&file, REQUEST_MAX);
	rc = buf_read_file(&file, request);
	if (rc) {
		error_set(&err, rc, request, 0, 0, "cannot read: %s",
			  deploy_strerror(rc));
		goto out;
	}
	rc = parse_request(request, file.data, file.len, &r, &err);
	if (rc)
		goto out;
	if (token) {
		if (has_header(&r, TOKEN_HEADER)) {
			error_set(&err, DEPLOY_ERR_USAGE, request, 0, 0,
				  "request already has an '" TOKEN_HEADER
				  "' header (drop --token)");
			goto out;
		}
		XGROW(r.headers, r.alloc_headers, r.nr_headers + 1);
		r.headers[r.nr_headers].name = xstrdup(TOKEN_HEADER);
		r.headers[r.nr_headers].value = xstrdup(token);
		r.nr_headers++;
	}

	req.method = r.method;
	req.target = r.target;
	req.headers = r.headers;
	req.nr_headers = r.nr_headers;
	req.payload = r.body;
	req.payload_len = r.body_len;
	if (sigv4_sign(&req, &key, &res, &err))
		goto out;
	printf("%s\n\n%s\n\n%s\n", res.canonical_request, res.string_to_sign,
	       res.authorization);
	status = fflush(stdout) ? 1 : 0;
out:
	if (err.code) {
		error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "deploy-test-tool: %s\n", msg);
	}
	sigv4_result_free(&res);
	parsed_request_free(&r);
	buf_free(&file);
	error_clear(&err);
	return status;
}
