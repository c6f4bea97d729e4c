/* SPDX-License-Identifier: MIT */
/* util/redact: secrets in every form cut out of a stream, split anywhere. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/redact.h"

#define SECRET "hunter2 p@ss/w0rd"

/* The forms a secret takes in output: raw, base64, URL-encoded, hex,
 * shell-quoted (bash's printf %q). */
static const char *const forms[] = {
	SECRET,
	"aHVudGVyMiBwQHNzL3cwcmQ=", /* printf %s SECRET | base64 */
	"hunter2%20p%40ss%2Fw0rd",
	"hunter2+p%40ss%2fw0rd",
	"68756e7465723220704073732f77307264", /* xxd -p */
	"68756E7465723220704073732F77307264",
	"hunter2\\ p@ss/w0rd", /* printf %q */
	NULL,
};

/* A value with quotes, a backslash, control characters and UTF-8. */
#define HOSTILE "o'ne \"two\" \\three\n\tfour \xc3\xa9<&>/"

/* Its forms as JSON strings (cJSON and Python's json.dumps with
 * ensure_ascii=False; Python's default; PHP's; Go's) and as shell words
 * (sh's '\'' and Python's shlex.quote), and in hex. */
static const char *const hostile_forms[] = {
	HOSTILE,
	"o'ne \\\"two\\\" \\\\three\\n\\tfour \xc3\xa9<&>/",
	"o'ne \\\"two\\\" \\\\three\\n\\tfour \\u00e9<&>/",
	"o'ne \\\"two\\\" \\\\three\\n\\tfour \xc3\xa9<&>\\/",
	"o'ne \\\"two\\\" \\\\three\\n\\tfour "
	"\xc3\xa9\\u003c\\u0026\\u003e/",
	"o'\\''ne \"two\" \\three\n\tfour \xc3\xa9<&>/",
	"o'\"'\"'ne \"two\" \\three\n\tfour \xc3\xa9<&>/",
	"6f276e65202274776f22205c74687265650a09666f757220c3a93c263e2f",
	NULL,
};

/* A value read from a file ends with a newline that `$(cat FILE)` drops:
 * the value without it is found too, in every form. */
static const char *const file_forms[] = {
	"s3cret-tok\n",
	"s3cret-tok",
	"czNjcmV0LXRvaw==",
	NULL,
};

static void setup(struct redactor *r)
{
	redactor_init(r);
	redactor_add(r, "pw", SECRET, strlen(SECRET));
	redactor_add(r, "tiny", "abc", 3); /* too short: not looked for */
}

/* Each form, twice in a text cut at every place into two writes, is
 * replaced by "[secret pw]". */
static void expect_forms_replaced(const char *value, const char *const *list)
{
	for (size_t f = 0; list[f]; f++) {
		char text[512];
		size_t len = (size_t)snprintf(text, sizeof(text),
					      "before %s middle %s after",
					      list[f], list[f]);

		for (size_t cut = 0; cut <= len; cut++) {
			struct redactor r;
			struct buf out = BUF_INIT;

			redactor_init(&r);
			redactor_add(&r, "pw", value, strlen(value));
			redactor_add(&r, "tiny", "abc", 3);
			redactor_feed(&r, text, cut, &out);
			redactor_feed(&r, text + cut, len - cut, &out);
			redactor_flush(&r, &out);
			if (strcmp(out.data, "before [secret pw] middle "
					     "[secret pw] after"))
				fprintf(stderr, "form %zu, cut %zu: %s\n", f,
					cut, out.data);
			assert_string_equal(out.data,
					    "before [secret pw] middle "
					    "[secret pw] after");
			buf_free(&out);
			redactor_free(&r);
		}
	}
}

static void test_every_form_split_anywhere_is_replaced(void **state)
{
	(void)state;
	expect_forms_replaced(SECRET, forms);
}

static void test_json_shell_and_hex_forms_are_replaced(void **state)
{
	(void)state;
	expect_forms_replaced(HOSTILE, hostile_forms);
}

static void test_a_file_value_without_its_newline_is_replaced(void **state)
{
	(void)state;
	expect_forms_replaced("s3cret-tok\n", file_forms);
}

static void test_a_message_quoting_a_credential_is_redacted(void **state)
{
	char msg[64] = "401: you sent Bearer dop_v1_abc (ZG9wX3YxX2FiYw==)";
	char tiny[24] = "bad token dop_v1_abc!";

	(void)state;
	redact_message(msg, sizeof(msg), "tok", "dop_v1_abc", 10);
	assert_string_equal(msg,
			    "401: you sent Bearer [secret tok] ([secret tok])");
	/* Cut to fit, never past its room. */
	redact_message(tiny, sizeof(tiny), "digitalocean token", "dop_v1_abc",
		       10);
	assert_string_equal(tiny, "bad token [secret digit");
}

static void test_redactors_share_one_set(void **state)
{
	struct redact_set set = { 0 };
	struct redactor a, b;
	struct buf out_a = BUF_INIT, out_b = BUF_INIT;

	(void)state;
	redact_set_add(&set, "pw", SECRET, strlen(SECRET));
	redactor_init_shared(&a, &set);
	redactor_init_shared(&b, &set);
	/* Each keeps its own held-back bytes. */
	redactor_feed(&a, "x hunter2 p@", 12, &out_a);
	redactor_feed(&b, "y 68756e74", 10, &out_b);
	redactor_feed(&a, "ss/w0rd z", 9, &out_a);
	redactor_feed(&b, "65723220704073732f77307264", 26, &out_b);
	redactor_flush(&a, &out_a);
	redactor_flush(&b, &out_b);
	assert_string_equal(out_a.data, "x [secret pw] z");
	assert_string_equal(out_b.data, "y [secret pw]");
	redactor_free(&a);
	redactor_free(&b);
	redact_set_free(&set);
	buf_free(&out_a);
	buf_free(&out_b);
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
		cmocka_unit_test(test_json_shell_and_hex_forms_are_replaced),
		cmocka_unit_test(
			test_a_file_value_without_its_newline_is_replaced),
		cmocka_unit_test(
			test_a_message_quoting_a_credential_is_redacted),
		cmocka_unit_test(test_redactors_share_one_set),
		cmocka_unit_test(test_other_bytes_pass_unchanged),
		cmocka_unit_test(test_without_secrets_nothing_is_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
