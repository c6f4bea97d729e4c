/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648): encoding, and strict decoding, as OpenSSH uses it. */
#include <stdint.h>
#include <string.h>

#include "util/base64.h"
#include "util/error.h"
#include "util/banned.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(struct buf *out, const void *data, size_t len, bool pad)
{
	const unsigned char *p = data;
	size_t start = out->len;
	char quad[4];
	int rc = 0;

	for (size_t i = 0; i < len && !rc; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		quad[0] = alphabet[(v >> 18) & 63];
		quad[1] = alphabet[(v >> 12) & 63];
		quad[2] = n > 1 ? alphabet[(v >> 6) & 63] : '=';
		quad[3] = n > 2 ? alphabet[v & 63] : '=';
		rc = buf_add(out, quad, pad ? 4 : n + 1);
	}
	if (rc) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}

static int value_of(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

int base64_decode(struct buf *out, const char *text, size_t len)
{
	size_t start = out->len, n = len;
	uint32_t acc = 0;
	int bits = 0, rc = 0;

	/* Up to two '=' at the end, and only where they belong. */
	while (n > 0 && len - n < 2 && text[n - 1] == '=')
		n--;
	if (n != len && len % 4)
		return DEPLOY_ERR_SYNTAX;
	if (n % 4 == 1)
		return DEPLOY_ERR_SYNTAX;
	for (size_t i = 0; i < n && !rc; i++) {
		int v = value_of(text[i]);

		if (v < 0) {
			rc = DEPLOY_ERR_SYNTAX;
			break;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			rc = buf_addch(out, (char)((acc >> bits) & 0xff));
		}
	}
	/* The bits left over must be zero (canonical encoding). */
	if (!rc && bits && (acc & ((1u << bits) - 1)))
		rc = DEPLOY_ERR_SYNTAX;
	if (rc) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}
