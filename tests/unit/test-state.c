/* SPDX-License-Identifier: MIT */
/* state: save and load, backup, refusals, the lock, short writes. */
#include "cmocka-setup.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state/state.h"
#include "util/buf.h"

static char dir[] = "/tmp/deploy-test-state.XXXXXX";

static int setup(void **state)
{
	(void)state;
	memcpy(dir, "/tmp/deploy-test-state.XXXXXX", sizeof(dir));
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static char *path(const char *rel)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return p;
}

static void write_text(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *p)
{
	struct buf b = BUF_INIT;

	assert_int_equal(buf_read_file(&b, p), 0);
	return buf_release(&b);
}

static void test_path_is_beside_the_topology(void **state)
{
	char *p = state_path_for("examples/local.yml", "rehearsal",
				 ".state.json");

	(void)state;
	assert_string_equal(p, "examples/.deploy/rehearsal.state.json");
	free(p);
	p = state_path_for("t.yml", "x", ".lock");
	assert_string_equal(p, "./.deploy/x.lock");
	free(p);
}

static void test_missing_file_is_a_new_state_with_a_lineage(void **state)
{
	struct state *s;
	struct error err;

	(void)state;
	error_init(&err);
	assert_int_equal(
		state_load(path(".deploy/t.state.json"), "t", &s, &err), 0);
	assert_false(s->exists);
	assert_int_equal(s->serial, 0);
	assert_int_equal(strlen(s->lineage), 36);
	assert_int_equal(s->lineage[14], '4');
	state_free(s);
}

static void test_save_and_load_round_trip(void **state)
{
	struct state *s, *t;
	struct state_resource *r;
	struct state_host *h;
	struct error err;
	struct stat st;
	char lineage[37];

	(void)state;
	error_init(&err);
	assert_int_equal(
		state_load(path(".deploy/t.state.json"), "t", &s, &err), 0);
	r = state_resource_pending(s, "local", "host", "validator-0",
				   "validator", "t-validator-0");
	assert_int_equal(r->status, RESOURCE_PENDING);
	assert_int_equal(state_save(s, &err), 0);
	assert_int_equal(s->serial, 1);
	state_resource_set_id(r, "container-1");
	h = state_host_get(s, "validator-0", true);
	state_host_set(&h->address, "10.231.0.2");
	state_host_set(&h->host_key, "ssh-ed25519 AAAAC3Nza");
	h->pending = calloc(1, sizeof(char *));
	h->pending[0] = strdup("restart sshd");
	h->nr_pending = 1;
	assert_int_equal(state_save(s, &err), 0);
	memcpy(lineage, s->lineage, 37);
	assert_int_equal(stat(s->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(
		state_load(path(".deploy/t.state.json"), "t", &t, &err), 0);
	assert_true(t->exists);
	assert_int_equal(t->serial, 2);
	assert_string_equal(t->lineage, lineage);
	r = state_resource_find(t, "local", "host", "validator-0");
	assert_non_null(r);
	assert_int_equal(r->status, RESOURCE_CREATED);
	assert_string_equal(r->id, "container-1");
	assert_string_equal(r->key, "t-validator-0");
	assert_string_equal(r->role, "validator");
	h = state_host_get(t, "validator-0", false);
	assert_string_equal(h->address, "10.231.0.2");
	assert_string_equal(h->host_key, "ssh-ed25519 AAAAC3Nza");
	assert_int_equal(h->nr_pending, 1);
	assert_string_equal(h->pending[0], "restart sshd");
	state_free(s);
	state_free(t);
}

static void test_previous_copy_is_kept_as_backup(void **state)
{
	struct state *s;
	struct error err;
	char *before, *backup;

	(void)state;
	error_init(&err);
	assert_int_equal(
		state_load(path(".deploy/t.state.json"), "t", &s, &err), 0);
	assert_int_equal(state_save(s, &err), 0);
	before = slurp(s->path);
	state_resource_pending(s, "local", "host", "a-0", "a", "k");
	assert_int_equal(state_save(s, &err), 0);
	backup = slurp(path(".deploy/t.state.json.backup"));
	assert_string_equal(before, backup);
	assert_null(strstr(backup, "a-0"));
	free(before);
	free(backup);
	state_free(s);
}

static void test_corrupt_state_is_refused_and_left_alone(void **state)
{
	struct state *s;
	struct error err;
	const char *junk = "{\"version\": 1, \"lineage\": ";
	char *after;

	(void)state;
	error_init(&err);
	mkdir(path(".deploy"), 0700);
	write_text(path(".deploy/t.state.json"), junk);
	assert_int_equal(
		state_load(path(".deploy/t.state.json"), "t", &s, &err),
		DEPLOY_ERR_INVALID);
	assert_null(s);
	assert_non_null(strstr(err.msg, "state file is corrupt (not a JSON "
					"object): deploy will not use or "
					"overwrite it"));
	after = slurp(path(".deploy/t.state.json"));
	assert_string_equal(after, junk);
	free(after);
	error_clear(&err);
}

static void test_newer_version_is_refused(void **state)
{
	struct state *s;
	struct error err;

	(void)state;
	error_init(&err);
	mkdir(path(".deploy"), 0700);
	write_text(path(".deploy/t.state.json"),
		   "{\"version\": 7, \"lineage\": "
		   "\"00000000-0000-4000-8000-000000000000\", \"topology\": "
		   "\"t\"}");
	assert_int_equal(
		state_load(path(".deploy/t.state.json"), "t", &s, &err),
		DEPLOY_ERR_INVALID);
	assert_string_equal(err.msg,
			    "state file was written by a newer deploy (state "
			    "version 7; this deploy reads up to 1): upgrade "
			    "deploy; the file is left as it is");
	error_clear(&err);
}

static void test_serial_out_of_range_is_refused(void **state)
{
	static const char *const bad[] = { "2.5e63", "-1", "1.5", "\"3\"" };
	struct state *s;
	struct error err;
	char text[256];

	(void)state;
	mkdir(path(".deploy"), 0700);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_init(&err);
		snprintf(text, sizeof(text),
			 "{\"version\": 1, \"lineage\": "
			 "\"00000000-0000-4000-8000-000000000000\", "
			 "\"topology\": \"t\", \"serial\": %s}",
			 bad[i]);
		write_text(path(".deploy/t.state.json"), text);
		assert_int_equal(
			state_load(path(".deploy/t.state.json"), "t", &s, &err),
			DEPLOY_ERR_INVALID);
		assert_non_null(strstr(err.msg, "serial that is not a whole"));
		error_clear(&err);
	}
}

static void test_state_of_another_topology_is_refused(void **state)
{
	struct state *s;
	struct error err;

	(void)state;
	error_init(&err);
	assert_int_equal(
		state_load(path(".deploy/x.state.json"), "x", &s, &err), 0);
	assert_int_equal(state_save(s, &err), 0);
	state_free(s);
	assert_int_equal(
		state_load(path(".deploy/x.state.json"), "y", &s, &err),
		DEPLOY_ERR_INVALID);
	assert_string_equal(err.msg, "state file belongs to topology 'x', "
				     "not 'y'; deploy will not use it");
	error_clear(&err);
}

static void test_resources_are_found_and_removed(void **state)
{
	struct state *s;
	struct error err;
	struct state_resource *a, *b;

	(void)state;
	error_init(&err);
	assert_int_equal(state_load(path("n.json"), "t", &s, &err), 0);
	a = state_resource_pending(s, "aws", "vpc", "main", NULL, "tok-1");
	b = state_resource_pending(s, "aws", "vpc", "main", NULL, "tok-2");
	assert_ptr_equal(a, b);
	assert_string_equal(b->key, "tok-1");
	state_resource_pending(s, "aws", "subnet", "main-a", NULL, "tok-3");
	assert_int_equal(s->nr_resources, 2);
	state_resource_remove(s, state_resource_find(s, "aws", "vpc", "main"));
	assert_int_equal(s->nr_resources, 1);
	assert_null(state_resource_find(s, "aws", "vpc", "main"));
	assert_non_null(state_resource_find(s, "aws", "subnet", "main-a"));
	state_free(s);
}

static void test_lock_names_its_holder(void **state)
{
	struct state_lock *l, *l2;
	struct error err;
	char *holder;

	(void)state;
	error_init(&err);
	assert_int_equal(
		state_lock(path(".deploy/t.lock"), "deploy up", 0, &l, &err),
		0);
	holder = state_lock_holder(path(".deploy/t.lock"));
	assert_non_null(holder);
	assert_non_null(strstr(holder, "'deploy up', since "));
	free(holder);
	/* flock is per open file: a second open in this process conflicts. */
	assert_int_equal(
		state_lock(path(".deploy/t.lock"), "deploy down", 0, &l2, &err),
		DEPLOY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "another deploy holds the lock (pid "));
	assert_non_null(strstr(err.msg, "'deploy up'"));
	state_unlock(l);
	assert_null(state_lock_holder(path(".deploy/t.lock")));
	assert_int_equal(
		state_lock(path(".deploy/t.lock"), "deploy down", 0, &l2, &err),
		0);
	state_unlock(l2);
	error_clear(&err);
}

static void test_lock_timeout_waits_then_says_so(void **state)
{
	struct state_lock *l, *l2;
	struct error err;
	time_t start;

	(void)state;
	error_init(&err);
	assert_int_equal(
		state_lock(path(".deploy/t.lock"), "deploy up", 0, &l, &err),
		0);
	start = time(NULL);
	assert_int_equal(
		state_lock(path(".deploy/t.lock"), "deploy plan", 1, &l2, &err),
		DEPLOY_ERR_INVALID);
	assert_true(time(NULL) - start >= 1);
	assert_non_null(strstr(err.msg, "--lock-timeout passed"));
	state_unlock(l);
	assert_int_equal(state_lock_break(path(".deploy/t.lock"), &err), 0);
	assert_int_equal(access(path(".deploy/t.lock"), F_OK), -1);
	error_clear(&err);
}

/*
 * A file size limit makes write() short: the bytes up to the limit are
 * written, the next write fails with EFBIG. Run fn under a limit of `limit`
 * bytes (SIGXFSZ ignored, so the failure is an errno, not a signal).
 */
static int under_file_limit(rlim_t limit, int (*fn)(void *), void *arg)
{
	struct rlimit old, lim;
	void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
	int rc;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	/* A stale errno that the old code reported instead of the real one. */
	errno = ENOENT;
	rc = fn(arg);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, was);
	return rc;
}

struct save_call {
	struct state *s;
	struct error err;
};

static int save(void *arg)
{
	struct save_call *c = arg;

	return state_save(c->s, &c->err);
}

static size_t files_in(const char *d)
{
	DIR *dp = opendir(d);
	size_t n = 0;

	assert_non_null(dp);
	for (struct dirent *e; (e = readdir(dp));)
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}

static void test_short_write_is_reported_with_its_errno(void **state)
{
	struct save_call c;
	struct stat st;
	char *before, *after, name[32];

	(void)state;
	error_init(&c.err);
	assert_int_equal(
		state_load(path(".deploy/t.state.json"), "t", &c.s, &c.err), 0);
	assert_int_equal(state_save(c.s, &c.err), 0);
	before = slurp(c.s->path);
	assert_int_equal(stat(c.s->path, &st), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "host-%d", i);
		state_resource_pending(c.s, "local", "host", name, "r", name);
	}
	/* Room for more than the old state, less than the new one. */
	assert_int_equal(under_file_limit((rlim_t)st.st_size + 512, save, &c),
			 DEPLOY_ERR_IO);
	assert_non_null(strstr(c.err.msg, "cannot write the state"));
	assert_non_null(strstr(c.err.msg, strerror(EFBIG)));
	assert_int_equal(c.s->serial, 1);
	after = slurp(c.s->path);
	assert_string_equal(after, before);
	/* The temporary file is gone: only the state itself is left. */
	assert_int_equal(files_in(path(".deploy")), 1);
	/* Without the limit the same save goes through. */
	assert_int_equal(state_save(c.s, &c.err), 0);
	free(after);
	after = slurp(c.s->path);
	assert_non_null(strstr(after, "host-99"));
	free(before);
	free(after);
	state_free(c.s);
	error_clear(&c.err);
}

struct lock_call {
	struct state_lock *l;
	struct error err;
};

static int lock(void *arg)
{
	struct lock_call *c = arg;

	return state_lock(path(".deploy/t.lock"), "deploy up", 0, &c->l,
			  &c->err);
}

static void test_lock_note_short_write_is_reported_with_its_errno(void **state)
{
	struct lock_call c = { 0 };

	(void)state;
	error_init(&c.err);
	/* The holder's note is longer than 8 bytes. */
	assert_int_equal(under_file_limit(8, lock, &c), DEPLOY_ERR_IO);
	assert_non_null(strstr(c.err.msg, "cannot write the lock"));
	assert_non_null(strstr(c.err.msg, strerror(EFBIG)));
	assert_null(c.l);
	error_clear(&c.err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_is_beside_the_topology),
		cmocka_unit_test_setup_teardown(
			test_missing_file_is_a_new_state_with_a_lineage, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_save_and_load_round_trip,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_previous_copy_is_kept_as_backup, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_corrupt_state_is_refused_and_left_alone, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_serial_out_of_range_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_version_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_state_of_another_topology_is_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_resources_are_found_and_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_names_its_holder,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_lock_timeout_waits_then_says_so, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_short_write_is_reported_with_its_errno, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_lock_note_short_write_is_reported_with_its_errno,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
