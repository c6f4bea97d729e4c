/* SPDX-License-Identifier: MIT */
/* providers/aws/profile: ~/.aws files' profiles, sections, errors. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/aws/profile.h"

static int parse(const char *text, enum aws_file_kind kind, const char *profile,
		 struct aws_profile *p, struct error *err)
{
	error_init(err);
	return aws_profile_parse("f", text, strlen(text), kind, profile, p,
				 err);
}

static void test_reads_keys_with_spaces_and_comments(void **state)
{
	struct aws_profile p;
	struct error err;

	(void)state;
	assert_int_equal(
		parse("# top\n"
		      "; also a comment\n"
		      "[other]\n"
		      "aws_access_key_id = OTHER\n"
		      "[ dev ]  ; trailing\n"
		      "AWS_Access_Key_ID=AKID\n"
		      "aws_secret_access_key   =   s/e+c#r=t   # note\n"
		      "aws_session_token\t=\ttok\r\n"
		      "region = eu-west-1 ;x\n",
		      AWS_FILE_CREDENTIALS, "dev", &p, &err),
		0);
	assert_true(p.found);
	assert_int_equal(p.line, 5);
	assert_string_equal(p.access_key, "AKID");
	assert_string_equal(p.secret_key, "s/e+c#r=t");
	assert_string_equal(p.token, "tok");
	assert_string_equal(p.region, "eu-west-1");
	assert_null(p.unsupported);
	aws_profile_free(&p);
}

static void test_config_sections_need_the_profile_prefix(void **state)
{
	struct aws_profile p;
	struct error err;
	const char *text = "[dev]\nregion = a\n"
			   "[profile  dev]\nregion = b\n"
			   "[default]\nregion = c\n";

	(void)state;
	assert_int_equal(parse(text, AWS_FILE_CONFIG, "dev", &p, &err), 0);
	assert_true(p.found);
	assert_int_equal(p.line, 3);
	assert_string_equal(p.region, "b");
	aws_profile_free(&p);

	assert_int_equal(parse(text, AWS_FILE_CONFIG, "default", &p, &err), 0);
	assert_string_equal(p.region, "c");
	aws_profile_free(&p);

	/* In the credentials file, the name alone. */
	assert_int_equal(parse(text, AWS_FILE_CREDENTIALS, "dev", &p, &err), 0);
	assert_string_equal(p.region, "a");
	aws_profile_free(&p);
	assert_int_equal(parse("[profile dev]\nregion = b\n",
			       AWS_FILE_CREDENTIALS, "dev", &p, &err),
			 0);
	assert_false(p.found);
	aws_profile_free(&p);
}

static void test_profile_default_is_the_default_section_too(void **state)
{
	struct aws_profile p;
	struct error err;

	(void)state;
	assert_int_equal(parse("[profile default]\nregion = x\n",
			       AWS_FILE_CONFIG, "default", &p, &err),
			 0);
	assert_true(p.found);
	assert_string_equal(p.region, "x");
	aws_profile_free(&p);
}

static void test_sub_settings_are_skipped(void **state)
{
	struct aws_profile p;
	struct error err;

	(void)state;
	assert_int_equal(parse("[default]\n"
			       "s3 =\n"
			       "  aws_access_key_id = NOT_THIS\n"
			       "  region = nor-this\n"
			       "region = yes\n"
			       "aws_access_key_id = AKID\n"
			       "  aws_secret_access_key = indented\n",
			       AWS_FILE_CREDENTIALS, "default", &p, &err),
			 0);
	assert_string_equal(p.access_key, "AKID");
	assert_string_equal(p.region, "yes");
	/* An indented line after a key with a value is a key of its own. */
	assert_string_equal(p.secret_key, "indented");
	aws_profile_free(&p);
}

static void test_repeated_sections_merge_and_last_value_wins(void **state)
{
	struct aws_profile p;
	struct error err;

	(void)state;
	assert_int_equal(parse("\n[a]\nregion = one\n[b]\n[a]\nregion = two\n"
			       "aws_access_key_id = K\n",
			       AWS_FILE_CREDENTIALS, "a", &p, &err),
			 0);
	assert_int_equal(p.line, 2);
	assert_string_equal(p.region, "two");
	assert_string_equal(p.access_key, "K");
	aws_profile_free(&p);
}

static void test_empty_values_count_as_unset(void **state)
{
	struct aws_profile p;
	struct error err;

	(void)state;
	assert_int_equal(parse("[a]\naws_secret_access_key = x\n"
			       "aws_secret_access_key =\n",
			       AWS_FILE_CREDENTIALS, "a", &p, &err),
			 0);
	assert_null(p.secret_key);
	aws_profile_free(&p);
}

static void test_unsupported_sources_are_named(void **state)
{
	struct aws_profile p;
	struct error err;

	(void)state;
	assert_int_equal(parse("[profile r]\nregion = x\n"
			       "role_arn = arn:aws:iam::1:role/r\n"
			       "credential_process = /bin/true\n",
			       AWS_FILE_CONFIG, "r", &p, &err),
			 0);
	assert_string_equal(p.unsupported, "role_arn");
	aws_profile_free(&p);
}

static void expect_syntax_error(const char *text, int line, const char *msg)
{
	struct aws_profile p;
	struct error err;

	assert_int_equal(parse(text, AWS_FILE_CREDENTIALS, "a", &p, &err),
			 DEPLOY_ERR_SYNTAX);
	assert_string_equal(err.file, "f");
	assert_int_equal(err.line, line);
	assert_string_equal(err.msg, msg);
	/* Nothing is left allocated, and no value is quoted. */
	assert_null(p.access_key);
	assert_null(strstr(err.msg, "SECRET"));
	error_clear(&err);
}

static void test_malformed_lines_name_their_line(void **state)
{
	(void)state;
	expect_syntax_error("[a]\naws_access_key_id = K\nSECRETVALUE\n", 3,
			    "expected '[section]' or 'key = value'");
	expect_syntax_error("region = x\n[a]\n", 1,
			    "a setting before any '[section]'");
	expect_syntax_error("[a]\n[b\n", 2, "section header without ']'");
	expect_syntax_error("[a] SECRET\n", 1,
			    "unexpected text after the section header");
	expect_syntax_error("[a]\n = SECRET\n", 2, "a setting without a name");
}

static void test_load_missing_file_is_not_found_not_an_error(void **state)
{
	struct aws_profile p;
	struct error err;

	(void)state;
	error_init(&err);
	assert_int_equal(aws_profile_load("/nonexistent/deploy/credentials",
					  AWS_FILE_CREDENTIALS, "default", &p,
					  &err),
			 0);
	assert_false(p.found);
	aws_profile_free(&p);
}

static void test_load_reads_a_file_and_refuses_a_huge_one(void **state)
{
	char path[] = "/tmp/test-aws-profile.XXXXXX";
	struct aws_profile p;
	struct error err;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("[x]\naws_access_key_id = K\naws_secret_access_key = S\n", f);
	fflush(f);
	error_init(&err);
	assert_int_equal(
		aws_profile_load(path, AWS_FILE_CREDENTIALS, "x", &p, &err), 0);
	assert_string_equal(p.access_key, "K");
	assert_string_equal(p.secret_key, "S");
	aws_profile_free(&p);

	assert_int_equal(ftruncate(fd, (2 << 20)), 0);
	assert_int_equal(
		aws_profile_load(path, AWS_FILE_CREDENTIALS, "x", &p, &err),
		DEPLOY_ERR_TOO_BIG);
	assert_string_equal(err.file, path);
	assert_string_equal(err.msg, "larger than 1024 KiB");
	error_clear(&err);
	fclose(f);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_keys_with_spaces_and_comments),
		cmocka_unit_test(test_config_sections_need_the_profile_prefix),
		cmocka_unit_test(
			test_profile_default_is_the_default_section_too),
		cmocka_unit_test(test_sub_settings_are_skipped),
		cmocka_unit_test(
			test_repeated_sections_merge_and_last_value_wins),
		cmocka_unit_test(test_empty_values_count_as_unset),
		cmocka_unit_test(test_unsupported_sources_are_named),
		cmocka_unit_test(test_malformed_lines_name_their_line),
		cmocka_unit_test(
			test_load_missing_file_is_not_found_not_an_error),
		cmocka_unit_test(test_load_reads_a_file_and_refuses_a_huge_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
