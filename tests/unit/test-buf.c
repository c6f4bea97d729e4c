/* SPDX-License-Identifier: MIT */
/* util/buf: growth, NUL termination, release and the size cap. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"

static void test_empty_buffer_is_an_empty_string(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_string_equal(b.data, "");
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_appends_grow_and_stay_nul_terminated(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_addf(&b, "%d,", i % 10), 0);
	assert_int_equal(b.len, 2000);
	assert_int_equal(b.data[b.len], '\0');
	assert_memory_equal(b.data, "0,1,2,", 6);
	buf_free(&b);
}

static void test_append_past_max_fails_and_leaves_buffer_unchanged(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "12345"), 0);
	assert_int_equal(buf_adds(&b, "6789"), DEPLOY_ERR_TOO_BIG);
	assert_string_equal(b.data, "12345");
	assert_int_equal(buf_addf(&b, "%s", "abcd"), DEPLOY_ERR_TOO_BIG);
	assert_string_equal(b.data, "12345");
	assert_int_equal(buf_adds(&b, "678"), 0);
	assert_string_equal(b.data, "12345678");
	buf_free(&b);
}

static void test_release_hands_over_the_string(void **state)
{
	struct buf b = BUF_INIT;
	char *s;

	(void)state;
	s = buf_release(&b);
	assert_string_equal(s, "");
	free(s);
	buf_adds(&b, "held");
	s = buf_release(&b);
	assert_string_equal(s, "held");
	assert_string_equal(b.data, "");
	free(s);
}

static void test_read_file_respects_the_cap(void **state)
{
	char path[] = "/tmp/deploy-test-buf.XXXXXX";
	int fd = mkstemp(path);
	struct buf b;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	buf_init(&b, 100);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_string_equal(b.data, "0123456789");
	buf_free(&b);
	buf_init(&b, 5);
	assert_int_equal(buf_read_file(&b, path), DEPLOY_ERR_TOO_BIG);
	buf_free(&b);
	unlink(path);
	assert_int_equal(buf_read_file(&b, path), DEPLOY_ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_buffer_is_an_empty_string),
		cmocka_unit_test(test_appends_grow_and_stay_nul_terminated),
		cmocka_unit_test(
			test_append_past_max_fails_and_leaves_buffer_unchanged),
		cmocka_unit_test(test_release_hands_over_the_string),
		cmocka_unit_test(test_read_file_respects_the_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
