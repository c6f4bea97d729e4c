/* SPDX-License-Identifier: MIT */
/* source: the lock file's format, credentials kept out of URLs. */
#include "cmocka-setup.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/source.h"
#include "util/buf.h"

#define C1 "0123456789abcdef0123456789abcdef01234567"
#define C2 "89abcdef0123456789abcdef0123456789abcdef"

static void test_the_lock_file_is_named_after_the_topology(void **state)
{
	static const char *const cases[][2] = {
		{ "icon.yml", "icon.lock" },
		{ "dir/topology.yaml", "dir/topology.lock" },
		{ "./a.b/x.yml", "./a.b/x.lock" },
		{ "noext", "noext.lock" },
		{ "d.yml/x", "d.yml/x.lock" },
		{ ".yml", ".yml.lock" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = source_lock_path(cases[i][0]);

		assert_string_equal(p, cases[i][1]);
		free(p);
	}
}

static void test_the_format_is_one_sorted_line_per_source(void **state)
{
	struct source_lock l = { .path = NULL };
	struct buf out = BUF_INIT;

	(void)state;
	source_lock_format(&l, &out);
	assert_string_equal(out.data,
			    "{\n  \"version\": 1,\n  \"sources\": {}\n}\n");
	buf_reset(&out);
	source_lock_set(&l, "tools", "file:///r", NULL, C2);
	source_lock_set(&l, "ops", "https://tok:en@h/x.git", "v\"1", C1);
	source_lock_format(&l, &out);
	assert_string_equal(
		out.data,
		"{\n  \"version\": 1,\n  \"sources\": {\n"
		"    \"ops\": {\"git\": \"https://***@h/x.git\", \"ref\": "
		"\"v\\\"1\", \"commit\": \"" C1 "\"},\n"
		"    \"tools\": {\"git\": \"file:///r\", \"ref\": null, "
		"\"commit\": \"" C2 "\"}\n"
		"  }\n}\n");
	/* Replacing keeps one entry; removing drops it. */
	source_lock_set(&l, "ops", "https://h/x.git", "v2", C2);
	assert_int_equal(l.nr, 2);
	assert_string_equal(source_lock_find(&l, "ops")->ref, "v2");
	source_lock_remove(&l, "ops");
	assert_int_equal(l.nr, 1);
	assert_null(source_lock_find(&l, "ops"));
	assert_string_equal(l.entries[0].name, "tools");
	source_lock_remove(&l, "tools");
	free(l.entries);
	buf_free(&out);
}

static void test_what_is_written_reads_back(void **state)
{
	char dir[] = "/tmp/deploy-test-lock.XXXXXX";
	struct source_lock *l = NULL, *back = NULL;
	struct buf a = BUF_INIT, b = BUF_INIT, path = BUF_INIT;
	struct error err;

	(void)state;
	error_init(&err);
	assert_non_null(mkdtemp(dir));
	buf_addf(&path, "%s/t.lock", dir);
	/* A missing file is an empty lock. */
	assert_int_equal(source_lock_read(path.data, &l, &err), 0);
	assert_false(l->exists);
	assert_int_equal(l->nr, 0);
	source_lock_set(l, "b", "ssh://git@h:2222/x", "main", C1);
	source_lock_set(l, "a", "git@h:y.git", NULL, C2);
	assert_int_equal(source_lock_write(l, &err), 0);
	assert_int_equal(source_lock_read(path.data, &back, &err), 0);
	assert_true(back->exists);
	source_lock_format(l, &a);
	source_lock_format(back, &b);
	assert_string_equal(a.data, b.data);
	assert_null(source_lock_find(back, "a")->ref);
	assert_string_equal(source_lock_find(back, "b")->commit, C1);
	source_lock_free(l);
	source_lock_free(back);
	unlink(path.data);
	rmdir(dir);
	buf_free(&a);
	buf_free(&b);
	buf_free(&path);
	error_clear(&err);
}

/*
 * A write that stops short is continued, and a failure names its own
 * errno: under a file size limit the first write() stops at the limit
 * (short, errno untouched) and the next one fails with EFBIG. The old
 * lock file is kept and no temporary file is left.
 */
static void test_a_short_write_is_continued_and_names_its_errno(void **state)
{
	char dir[] = "/tmp/deploy-test-lock.XXXXXX";
	struct source_lock *l = NULL, *back = NULL;
	struct buf path = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
	struct rlimit old, small;
	struct error err;
	char name[32];
	DIR *d;
	struct dirent *de;
	int files = 0;

	(void)state;
	error_init(&err);
	assert_non_null(mkdtemp(dir));
	buf_addf(&path, "%s/t.lock", dir);
	assert_int_equal(source_lock_read(path.data, &l, &err), 0);
	source_lock_set(l, "a", "git@h:y.git", NULL, C2);
	assert_int_equal(source_lock_write(l, &err), 0);
	source_lock_format(l, &before);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "source-%03d", i);
		source_lock_set(l, name, "ssh://git@h:2222/x", "main", C1);
	}
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	errno = 0;
	assert_int_equal(source_lock_write(l, &err), DEPLOY_ERR_IO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_string_equal(err.msg, "cannot write the lock file: "
				     "File too large");
	/* The old file as it was, and nothing else in the directory. */
	assert_int_equal(source_lock_read(path.data, &back, &err), 0);
	source_lock_format(back, &after);
	assert_string_equal(before.data, after.data);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 1);
	source_lock_free(l);
	source_lock_free(back);
	unlink(path.data);
	rmdir(dir);
	buf_free(&path);
	buf_free(&before);
	buf_free(&after);
	error_clear(&err);
}

static void expect_bad(const char *text, int code, const char *msg)
{
	struct source_lock *l = NULL;
	struct error err;

	error_init(&err);
	assert_int_equal(
		source_lock_parse("t.lock", text, strlen(text), &l, &err),
		code);
	assert_null(l);
	assert_string_equal(err.file, "t.lock");
	assert_string_equal(err.msg, msg);
	error_clear(&err);
}

static void test_a_bad_lock_file_says_what_is_wrong(void **state)
{
	(void)state;
	expect_bad("{", DEPLOY_ERR_SYNTAX, "not a lock file: not JSON");
	expect_bad("{\"version\": 2, \"sources\": {}}", DEPLOY_ERR_INVALID,
		   "lock file version is not 1 (made by a newer deploy?)");
	expect_bad("{\"version\": 1}", DEPLOY_ERR_INVALID,
		   "'sources' is not an object");
	expect_bad("{\"version\": 1, \"sources\": {\"o\": {\"git\": \"x\", "
		   "\"ref\": null, \"commit\": \"abc\"}}}",
		   DEPLOY_ERR_INVALID,
		   "source 'o' needs git, ref and a commit of 40 hex digits");
	expect_bad("{\"version\": 1, \"sources\": {\"o\": {\"git\": \"x\", "
		   "\"ref\": 1, \"commit\": \"" C1 "\"}}}",
		   DEPLOY_ERR_INVALID,
		   "source 'o' needs git, ref and a commit of 40 hex digits");
	expect_bad("{\"version\": 1, \"sources\": {"
		   "\"o\": {\"git\": \"x\", \"ref\": null, \"commit\": \"" C1
		   "\"}, \"o\": {\"git\": \"x\", \"ref\": null, \"commit\": "
		   "\"" C1 "\"}}}",
		   DEPLOY_ERR_INVALID, "source 'o' is there twice");
}

static void test_credentials_never_stay_in_a_url(void **state)
{
	static const char *const cases[][2] = {
		{ "https://token@github.com/t/p.git",
		  "https://***@github.com/t/p.git" },
		{ "https://user:pass@h/x", "https://***@h/x" },
		{ "http://a@b@h/x", "http://***@h/x" },
		{ "https://h/x@y", "https://h/x@y" },
		{ "ssh://git@h:22/x", "ssh://git@h:22/x" },
		{ "ssh://git:pw@h/x", "ssh://git:***@h/x" },
		{ "git@github.com:t/p.git", "git@github.com:t/p.git" },
		{ "file:///srv/repo", "file:///srv/repo" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = source_url_redact(cases[i][0]);

		assert_string_equal(r, cases[i][1]);
		free(r);
	}
}

/* libgit2's messages quote URLs and what servers said, in any encoding. */
static void test_git_messages_never_hold_a_credential(void **state)
{
	static const struct {
		const char *url, *msg, *gone[4], *kept;
	} cases[] = {
		{ "https://user:p%2Fss-w0rd@h/x.git",
		  "too many redirects or authentication replays for "
		  "'https://user:p%2Fss-w0rd@h/x.git' (p/ss-w0rd, p%2fss-w0rd)",
		  { "p%2Fss", "p/ss", "p%2fss", NULL },
		  "'https://***@h/x.git'" },
		{ "https://ghp_tok3n%2Bx@h/x",
		  "remote: token ghp_tok3n+x is invalid (ghp_tok3n%2bx)",
		  { "ghp_tok3n", NULL },
		  "remote: token *** is invalid (***)" },
		{ "ssh://git:s3cr%2Ft@h/x",
		  "cannot fetch ssh://git:s3cr%2Ft@h/x: s3cr/t",
		  { "s3cr", NULL },
		  "ssh://git:***@h/x" },
		{ "https://h/x",
		  "redirect to https://other:pw123@evil/x refused; git is fine",
		  { "pw123", "other", NULL },
		  "git is fine" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = source_scrub(cases[i].msg, cases[i].url);

		for (size_t j = 0; cases[i].gone[j]; j++)
			if (strstr(r, cases[i].gone[j]))
				fail_msg("case %zu: '%s' in '%s'", i,
					 cases[i].gone[j], r);
		assert_non_null(strstr(r, cases[i].kept));
		free(r);
	}
}

static void test_cache_names_are_stable_and_readable(void **state)
{
	char *a =
		source_cache_name("https://github.com/team/node-playbooks.git");
	char *b = source_cache_name(
		"https://tok@github.com/team/node-playbooks.git");
	char *c = source_cache_name("https://github.com/team/other.git/");
	char *d = source_cache_name("file:///");

	(void)state;
	/* 20 hex digits, then the repository's name */
	assert_int_equal(strlen(a), 20 + 1 + strlen("node-playbooks"));
	assert_string_equal(a + 20, "-node-playbooks");
	/* Credentials do not make another entry. */
	assert_string_equal(a, b);
	assert_string_equal(c + 20, "-other");
	assert_string_not_equal(a, c);
	assert_string_equal(d + 20, "-repo");
	free(a);
	free(b);
	free(c);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_the_lock_file_is_named_after_the_topology),
		cmocka_unit_test(test_the_format_is_one_sorted_line_per_source),
		cmocka_unit_test(test_what_is_written_reads_back),
		cmocka_unit_test(
			test_a_short_write_is_continued_and_names_its_errno),
		cmocka_unit_test(test_a_bad_lock_file_says_what_is_wrong),
		cmocka_unit_test(test_credentials_never_stay_in_a_url),
		cmocka_unit_test(test_git_messages_never_hold_a_credential),
		cmocka_unit_test(test_cache_names_are_stable_and_readable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
