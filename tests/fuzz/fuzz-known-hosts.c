/* SPDX-License-Identifier: MIT */
/* libFuzzer target: known_hosts files and lookups in them. */

/*
 * libFuzzer target: any bytes as a known_hosts file (patterns, negation,
 * hashed names, [host]:port, markers, comments), then looked up for a few
 * hosts and ports with a key. A key just added for a host must then match
 * (or be refused as revoked): what deploy pins, it finds again. Nothing
 * may crash, leak or overflow the fixed-size fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssh/known_hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An SSH wire blob: string "ssh-ed25519", string of 32 key bytes. */
static size_t ed25519_blob(unsigned char *out, unsigned char fill)
{
	static const char type[] = "ssh-ed25519";
	size_t n = 0;

	out[n++] = 0, out[n++] = 0, out[n++] = 0;
	out[n++] = sizeof(type) - 1;
	memcpy(out + n, type, sizeof(type) - 1);
	n += sizeof(type) - 1;
	out[n++] = 0, out[n++] = 0, out[n++] = 0, out[n++] = 32;
	memset(out + n, fill, 32);
	return n + 32;
}

static void check_fields(const struct kh_check *c)
{
	if (strnlen(c->known_type, KH_TYPE_SIZE) >= KH_TYPE_SIZE ||
	    strnlen(c->known_fingerprint, KH_FINGERPRINT_SIZE) >=
		    KH_FINGERPRINT_SIZE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char *host;
		int port;
	} hosts[] = {
		{ "example.com", 22 }, { "10.0.0.1", 22 }, { "10.0.0.1", 2222 },
		{ "a.b", 22 },	       { "bastion", 22 },  { "[", 22 },
	};
	struct known_hosts *kh = NULL;
	unsigned char blob[64];
	size_t len = ed25519_blob(blob, size ? data[0] : 0);
	char types[256];
	struct error err;

	error_init(&err);
	if (known_hosts_parse("/nonexistent/known_hosts", (const char *)data,
			      size, &kh, &err)) {
		error_clear(&err);
		return 0;
	}
	for (size_t i = 0; i < sizeof(hosts) / sizeof(*hosts); i++) {
		struct kh_check c;

		known_hosts_check(kh, hosts[i].host, hosts[i].port, blob, len,
				  &c);
		check_fields(&c);
		known_hosts_types(kh, hosts[i].host, hosts[i].port, types,
				  sizeof(types));
		if (strnlen(types, sizeof(types)) >= sizeof(types))
			abort();
		if (c.status == KH_NOT_FOUND) {
			if (known_hosts_add(kh, hosts[i].host, hosts[i].port,
					    blob, len, &err))
				abort();
			known_hosts_check(kh, hosts[i].host, hosts[i].port,
					  blob, len, &c);
			check_fields(&c);
			if (c.status != KH_MATCH && c.status != KH_REVOKED)
				abort();
		}
	}
	known_hosts_free(kh);
	error_clear(&err);
	return 0;
}
