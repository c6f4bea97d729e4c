/* SPDX-License-Identifier: MIT */
/* util/redact: secrets in every form cut out of a stream, split anywhere. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/redact.h"

#define SECRET "hunter2 p@ss/w0rd"

/* The forms a secret takes in output: raw, base64, URL-encoded. */
static const char *const forms[] = {
	SECRET,
	"aHVudGVyMiBwQHNzL3cwcmQ=", /* printf %s SECRET | base64 */
	"hunter2%20p%40ss%2Fw0rd",
	"hunter2+p%40ss%2fw0rd",
};

static void setup(struct redactor *r)
{
	redactor_init(r);
	redactor_add(r, "pw", SECRET, strlen(SECRET));
	redactor_add(r, "tiny", "abc", 3); /* too short: not looked for */
}

static void test_every_form_split_anywhere_is_replaced(void **state)
{
	(void)state;
	for (size_t f = 0; f < sizeof(forms) / sizeof(*forms); f++) {
		char text[256];
		size_t len = (size_t)snprintf(text, sizeof(text),
					      "before %s middle %s after",
					      forms[f], forms[f]);

		/* Two writes, cut at every place. */
		for (size_t cut = 0; cut <= len; cut++) {
			struct redactor r;
			struct buf out = BUF_INIT;

			setup(&r);
			redactor_feed(&r, text, cut, &out);
			redactor_feed(&r, text + cut, len - cut, &out);
			redactor_flush(&r, &out);
			assert_string_equal(out.data,
					    "before [secret pw] middle "
					    "[secret pw] after");
			buf_free(&out);
			redactor_free(&r);
		}
	}
}

static void test_other_bytes_pass_unchanged(void **state)
{
	static const char text[] = "abc hunter2 p@ss/w0r\0\xff\xfe h";
	struct redactor r;
	struct buf out = BUF_INIT;

	(void)state;
	setup(&r);
	for (size_t i = 0; i < sizeof(text) - 1; i++)
		redactor_feed(&r, text + i, 1, &out);
	/* "hunter2 p@ss/w0r" may still become the secret: held back. */
	assert_true(out.len < sizeof(text) - 1);
	redactor_flush(&r, &out);
	assert_int_equal(out.len, sizeof(text) - 1);
	assert_memory_equal(out.data, text, sizeof(text) - 1);
	buf_free(&out);
	redactor_free(&r);
}

static void test_without_secrets_nothing_is_held(void **state)
{
	struct redactor r;
	struct buf out = BUF_INIT;

	(void)state;
	redactor_init(&r);
	redactor_feed(&r, "hunter2", 7, &out);
	assert_int_equal(out.len, 7);
	buf_free(&out);
	redactor_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_form_split_anywhere_is_replaced),
		cmocka_unit_test(test_other_bytes_pass_unchanged),
		cmocka_unit_test(test_without_secrets_nothing_is_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
