/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_BASE64_H
#define DEPLOY_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/*
 * Base64 (RFC 4648, the standard alphabet), as OpenSSH writes keys and
 * fingerprints. Encoding appends to `out`; `pad` adds the trailing '='
 * (OpenSSH's SHA256 fingerprints leave it out). Decoding accepts text with
 * or without padding and refuses anything else (whitespace included):
 * 0, or DEPLOY_ERR_SYNTAX with `out` as it was.
 */
int base64_encode(struct buf *out, const void *data, size_t len, bool pad);
int base64_decode(struct buf *out, const char *text, size_t len);

#endif
