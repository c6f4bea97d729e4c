/* SPDX-License-Identifier: MIT */
/* run/progress: reading markers, and catching a host that lies. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/progress.h"

#define N    "0123456789abcdef"
#define M(s) "@@deploy " N " " s "\n"

static size_t nr_markers;

static void count(void *data, const struct marker *m)
{
	(void)data;
	(void)m;
	nr_markers++;
}

/* Feed text in pieces of `piece` bytes; the verdict in p. */
static void read_text(struct progress *p, const char *text, size_t len,
		      size_t steps, size_t handlers, size_t piece)
{
	nr_markers = 0;
	progress_init(p, N, steps, handlers);
	for (size_t i = 0; i < len; i += piece)
		progress_feed(p, text + i, len - i < piece ? len - i : piece,
			      count, NULL);
	progress_close(p, count, NULL);
}

static void test_an_honest_run_ends_ok_whatever_the_pieces(void **state)
{
	static const char text[] = M("start 2 1 apply")
		M("step 1/2 begin a") "\xff\xfe\0noise\n" M("step 1/2 diff  a")
			M("step 1/2 changed wrote") M("step 2/2 begin b")
				M("step 2/2 skipped when")
					M("handler 1/1 begin h")
						M("handler 1/1 ok") M("end ok");

	(void)state;
	for (size_t piece = 1; piece < sizeof(text); piece *= 3) {
		struct progress p;

		read_text(&p, text, sizeof(text) - 1, 2, 1, piece);
		assert_false(p.lied);
		assert_true(p.ended && p.end_ok);
		assert_int_equal(nr_markers, 9);
		assert_int_equal(p.other, 1);
		progress_free(&p);
	}
}

static void test_lies_are_caught_and_named(void **state)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ M("step 1/1 begin a"), "a marker before the start" },
		{ M("start 5 0 apply"), "start with 5 steps" },
		{ M("start 1 0 apply") M("step 1/1 begin a") M("end ok"),
		  "end ok after 1 of 1 steps, one still running" },
		{ M("start 1 0 apply") M("end ok"), "end ok after 0 of 1" },
		{ M("start 1 0 apply") M("step 1/1 ok"),
		  "step 1 ended, but it was not running" },
		{ M("start 2 0 apply") M("step 2/2 begin b"),
		  "step 2 began after step 0" },
		{ M("start 2 0 apply") M("step 1/2 begin a")
			  M("step 1/2 failed x") M("step 2/2 begin b"),
		  "step 1 failed, yet the script went on" },
		{ M("start 1 0 apply") M("step 1/1 begin a") M("step 1/1 ok")
			  M("end ok") M("end ok"),
		  "a marker after the end" },
		{ M("start 1 0 apply") M("step 1/9 begin a"),
		  "step 1/9: this script has 1" },
		{ M("start 1 0 apply") "@@deploy " N " step one\n",
		  "a damaged marker" },
		{ M("start 1 0 apply") M("step 1/1 diff +x"),
		  "a diff of step 1, which is not running" },
		{ M("start 2 0 apply") M("step 1/2 begin a")
			  M("step 2/2 diff +x"),
		  "a diff of step 2, which is not running" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct progress p;

		read_text(&p, cases[i].text, strlen(cases[i].text),
			  strstr(cases[i].text, "start 2") ? 2 : 1, 0, 7);
		assert_true(p.lied);
		assert_non_null(strstr(p.why, cases[i].why));
		progress_free(&p);
	}
}

static void test_other_nonces_and_long_lines_are_only_counted(void **state)
{
	size_t big = 3 * PROGRESS_LINE_MAX;
	char *text = malloc(big + 200);
	struct progress p;
	size_t n = 0;

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text, 64, "@@deploy ffff end ok\n");
	memset(text + n, '@', big);
	n += big;
	text[n++] = '\n';
	n += (size_t)snprintf(text + n, 200, "%s",
			      M("start 0 0 apply") M("end ok"));
	read_text(&p, text, n, 0, 0, 4096);
	assert_false(p.lied);
	assert_true(p.ended && p.end_ok);
	assert_int_equal(p.other, 2);
	assert_true(p.line.cap <= PROGRESS_LINE_MAX + 1);
	progress_free(&p);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_an_honest_run_ends_ok_whatever_the_pieces),
		cmocka_unit_test(test_lies_are_caught_and_named),
		cmocka_unit_test(
			test_other_nonces_and_long_lines_are_only_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
