/* SPDX-License-Identifier: MIT */
/* One HTTP exchange through libcurl, with connect and total timeouts. */
#include "http/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/strutil.h"
#include "util/xalloc.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_response_init(struct http_response *r)
{
	r->status = 0;
	r->secret = false;
	buf_init(&r->body, HTTP_MAX_BODY);
	buf_init(&r->headers, 256u << 10);
}

void http_response_free(struct http_response *r)
{
	if (r->secret)
		buf_free_secret(&r->body);
	else
		buf_free(&r->body);
	buf_free(&r->headers);
	r->status = 0;
}

struct sink {
	struct buf *b;
	bool too_big;
	FILE *f; /* instead of b */
	size_t written, max;
	bool write_failed;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;

	if (s->f) {
		if (size * n > s->max - s->written) {
			s->too_big = true;
			return 0;
		}
		if (fwrite(p, 1, size * n, s->f) != size * n) {
			s->write_failed = true;
			return 0;
		}
		s->written += size * n;
		return size * n;
	}
	if (buf_add(s->b, p, size * n)) {
		s->too_big = true;
		return 0;
	}
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct buf *h = ud;
	size_t len = size * n;

	/* A new status line starts the headers of a later response (after
	 * 100 Continue or a redirect): keep only the final one's. */
	if (len >= 5 && !memcmp(p, "HTTP/", 5))
		buf_reset(h);
	if (buf_add(h, p, len))
		return 0;
	return len;
}

char *http_response_header(const struct http_response *r, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = r->headers.data;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nlen && p[nlen] == ':' &&
		    !strncasecmp(p, name, nlen)) {
			const char *v = p + nlen + 1;
			const char *end = p + len;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' ' ||
					   end[-1] == '\t'))
				end--;
			return xstrndup(v, (size_t)(end - v));
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

void http_url_for_humans(const char *url, char *out, size_t size)
{
	const char *scheme_end = strstr(url, "://");
	const char *host = scheme_end ? scheme_end + 3 : url;
	const char *end = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(end - host));
	const char *path_end;

	if (at)
		host = at + 1;
	path_end = end + strcspn(end, "?#");
	snprintf(out, size, "%.*s%.*s%.*s",
		 scheme_end ? (int)(scheme_end + 3 - url) : 0, url,
		 (int)(end - host), host, (int)(path_end - end), end);
}

int http_uri_encode(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			rc = buf_addch(out, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			rc = buf_add(out, e, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int http_do(const struct http_request *req, struct http_response *resp,
	    struct error *err)
{
	char where[256];
	struct curl_slist *hdrs = NULL;
	struct sink sink = { .b = &resp->body };
	char cerr[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	CURL *c;
	int rc = 0;

	pthread_once(&curl_once, curl_init_once);
	http_url_for_humans(req->url, where, sizeof(where));
	resp->status = 0;
	buf_reset(&resp->body);
	buf_reset(&resp->headers);
	resp->body.max = req->max_body ? req->max_body : HTTP_MAX_BODY;
	sink.f = req->sink;
	sink.max = resp->body.max;

	c = curl_easy_init();
	if (!c)
		return error_set(err, DEPLOY_ERR_NOMEM, NULL, 0, 0,
				 "%s %s: cannot start a request", req->method,
				 where);
	for (size_t i = 0; i < req->nr_headers; i++) {
		struct curl_slist *n = curl_slist_append(hdrs, req->headers[i]);

		if (!n) {
			rc = error_set(err, DEPLOY_ERR_NOMEM, NULL, 0, 0,
				       "out of memory");
			goto out;
		}
		hdrs = n;
	}
	/* Without a body, curl would send "Expect:" handling or a chunked
	 * request for PUT; say there is none. */
	if (!req->body) {
		struct curl_slist *n = curl_slist_append(hdrs, "Expect:");

		if (n)
			hdrs = n;
	}

	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (!strcmp(req->method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (req->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
	} else if (!strcmp(req->method, "PUT") ||
		   !strcmp(req->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp->headers);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms ? req->connect_timeout_ms
						 : 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 req->timeout_ms ? req->timeout_ms : 60000L);
	/* The environment's proxies apply (https_proxy, no_proxy) as for
	 * every curl; nothing else is taken from outside. */
	if (req->no_proxy)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	resp->secret |= req->secret;
	curl_easy_setopt(c, CURLOPT_USERAGENT, "deploy/0.1");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");

	cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	} else if (sink.write_failed) {
		rc = error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
			       "%s %s: cannot write the answer to a file",
			       req->method, where);
	} else if (sink.too_big) {
		rc = error_set(err, DEPLOY_ERR_TOO_BIG, NULL, 0, 0,
			       "%s %s: the answer is larger than %zu bytes",
			       req->method, where, resp->body.max);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = error_set(err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
			       "%s %s: no answer within %ld ms", req->method,
			       where,
			       req->timeout_ms ? req->timeout_ms : 60000L);
	} else {
		rc = error_set(err, DEPLOY_ERR_UNREACHABLE, NULL, 0, 0,
			       "%s %s: %s", req->method, where,
			       cerr[0] ? cerr : curl_easy_strerror(cc));
	}
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}
