/* SPDX-License-Identifier: MIT */
/* libFuzzer target: SSH private key files. */

/*
 * libFuzzer target: any bytes as an SSH private key file (OpenSSH's own
 * format, PEM, anything else). Nothing may crash, leak or read past the
 * input; a public key blob, when found, lies within what was decoded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ssh/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyfile_info info = { 0 };
	struct error err;
	int rc;

	error_init(&err);
	rc = keyfile_inspect_text("fuzz_key", (const char *)data, size, &info,
				  &err);
	if (!rc && info.pub) {
		unsigned char sum = 0;

		if (!info.pub_len || info.pub_len > size)
			abort();
		for (size_t i = 0; i < info.pub_len; i++)
			sum ^= info.pub[i]; /* ASan checks every byte */
		__asm__ volatile("" : : "r"(sum));
	}
	if (rc && !err.msg[0])
		abort(); /* a failure always says why */
	keyfile_info_free(&info);
	error_clear(&err);
	return 0;
}
