/* SPDX-License-Identifier: MIT */
/* Strings: did-you-mean, DNS labels, identifiers, addresses, CIDRs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *prev2, *prev, *cur, d;

	if (la > 256 || lb > 256)
		return (size_t)-1;
	prev2 = xcalloc(lb + 1, sizeof(*prev2));
	prev = xcalloc(lb + 1, sizeof(*prev));
	cur = xcalloc(lb + 1, sizeof(*cur));
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *t;

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	free(prev2);
	free(prev);
	free(cur);
	return d;
}

const char *suggest(const char *word, const char *const *candidates, size_t nr)
{
	size_t len = strlen(word), best_d = (size_t)-1;
	size_t limit = len <= 4 ? 1 : len / 3 + 1;
	const char *best = NULL;

	for (size_t i = 0; nr == SIZE_MAX ? candidates[i] != NULL : i < nr;
	     i++) {
		size_t d;

		if (!candidates[i])
			continue; /* a counted list may have gaps */
		d = edit_distance(word, candidates[i]);

		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best && best_d <= limit && best_d > 0 ? best : NULL;
}

bool is_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) ||
		      isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

bool is_dns_name(const char *s)
{
	size_t n = strlen(s), start = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t l = i - start;

			if (l == 0 || l > 63 || s[start] == '-' ||
			    s[i - 1] == '-')
				return false;
			start = i + 1;
		} else if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
			return false;
		}
	}
	return true;
}

bool is_identifier(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

bool is_user_name(const char *s)
{
	bool ok = (*s == '_' || (*s >= 'a' && *s <= 'z')) && strlen(s) <= 32;

	for (const char *p = s; ok && *p; p++)
		ok = *p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
		     (*p >= '0' && *p <= '9');
	return ok;
}

bool is_ip_address(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

int cidr_parse(const char *s, struct cidr *out, const char **why)
{
	const char *slash = strchr(s, '/');
	char addr[INET6_ADDRSTRLEN + 1];
	size_t alen;
	long prefix = 0;
	int max;

	memset(out, 0, sizeof(*out));
	if (!slash) {
		*why = "no prefix length";
		return -1;
	}
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr)) {
		*why = "not an IP address";
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		*why = "not an IP address";
		return -1;
	}
	slash++;
	if (!*slash || strlen(slash) > 3) {
		*why = "bad prefix length";
		return -1;
	}
	for (const char *p = slash; *p; p++) {
		if (!isdigit((unsigned char)*p)) {
			*why = "bad prefix length";
			return -1;
		}
		prefix = prefix * 10 + (*p - '0');
	}
	if (prefix > max) {
		*why = out->family == AF_INET ? "prefix length above 32"
					      : "prefix length above 128";
		return -1;
	}
	out->prefix = (int)prefix;
	return 0;
}

static void network_bytes(const struct cidr *c, uint8_t *net)
{
	int bytes = c->family == AF_INET ? 4 : 16;

	for (int i = 0; i < bytes; i++) {
		int bits = c->prefix - i * 8;
		uint8_t mask = bits >= 8   ? 0xff
			       : bits <= 0 ? 0
					   : (uint8_t)(0xff << (8 - bits));

		net[i] = c->addr[i] & mask;
	}
}

bool cidr_has_host_bits(const struct cidr *c)
{
	uint8_t net[16] = { 0 };

	network_bytes(c, net);
	return memcmp(net, c->addr, c->family == AF_INET ? 4 : 16) != 0;
}

void cidr_format_network(const struct cidr *c, char *out, size_t size)
{
	uint8_t net[16] = { 0 };
	char a[INET6_ADDRSTRLEN];

	network_bytes(c, net);
	inet_ntop(c->family, net, a, sizeof(a));
	snprintf(out, size, "%s/%d", a, c->prefix);
}
