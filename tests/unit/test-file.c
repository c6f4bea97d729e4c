/* SPDX-License-Identifier: MIT */
/* util/file and util/path: write_all, atomic replace, ~, home, dir_of. */
#include "cmocka-setup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"

static char *scratch(void)
{
	char tmpl[] = "/tmp/deploy-test-file-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

static void rm_rf(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
	struct buf b = BUF_INIT;

	if (buf_read_file(&b, path))
		return NULL;
	return buf_release(&b);
}

static void test_home_dir_is_home_then_passwd(void **state)
{
	char *saved = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	(void)state;
	setenv("HOME", "/some/home", 1);
	assert_string_equal(home_dir(), "/some/home");
	setenv("HOME", "", 1);
	assert_string_not_equal(home_dir(), "");
	unsetenv("HOME");
	/* The password database's entry: never the current directory. */
	assert_true(home_dir()[0] == '/');
	if (saved)
		setenv("HOME", saved, 1);
	free(saved);
}

static void test_tilde_has_one_meaning(void **state)
{
	char *saved = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char *p;

	(void)state;
	setenv("HOME", "/h", 1);
	p = path_expand("~/x/y", "/topo");
	assert_string_equal(p, "/h/x/y");
	free(p);
	p = path_expand("~", "/topo");
	assert_string_equal(p, "/h");
	free(p);
	p = path_expand("rel/k", "/topo");
	assert_string_equal(p, "/topo/rel/k");
	free(p);
	p = path_expand("rel/k", ".");
	assert_string_equal(p, "rel/k");
	free(p);
	p = path_expand("/abs", "/topo");
	assert_string_equal(p, "/abs");
	free(p);
	p = path_expand("~user/x", NULL);
	assert_string_equal(p, "~user/x");
	free(p);
	/* HOME unset: the user's home from the password database, never
	 * DIR/~/x. */
	unsetenv("HOME");
	p = path_expand("~/x", "/topo");
	assert_true(p[0] == '/');
	assert_null(strstr(p, "~"));
	assert_null(strstr(p, "/topo"));
	free(p);
	if (saved)
		setenv("HOME", saved, 1);
	free(saved);
}

static void test_dir_of(void **state)
{
	char *d;

	(void)state;
	d = dir_of("a/b/c.yml");
	assert_string_equal(d, "a/b");
	free(d);
	d = dir_of("c.yml");
	assert_string_equal(d, ".");
	free(d);
	d = dir_of("/c.yml");
	assert_string_equal(d, "/");
	free(d);
}

static void test_replace_writes_all_and_keeps_backup(void **state)
{
	char *dir = scratch();
	char path[256], backup[256];
	struct error err;
	char *text;
	struct stat st;

	(void)state;
	error_init(&err);
	snprintf(path, sizeof(path), "%s/s.json", dir);
	snprintf(backup, sizeof(backup), "%s/s.json.backup", dir);
	assert_int_equal(
		file_replace(path, "one\n", 4, 0600, backup, "the state", &err),
		0);
	assert_int_equal(stat(backup, &st), -1); /* nothing to back up */
	assert_int_equal(
		file_replace(path, "two\n", 4, 0600, backup, "the state", &err),
		0);
	text = slurp(path);
	assert_string_equal(text, "two\n");
	free(text);
	text = slurp(backup);
	assert_string_equal(text, "one\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	rm_rf(dir);
	free(dir);
	error_clear(&err);
}

static void test_replace_failure_keeps_old_and_names_errno(void **state)
{
	char *dir = scratch();
	char path[256];
	struct error err;
	char *text;

	(void)state;
	error_init(&err);
	snprintf(path, sizeof(path), "%s/s.json", dir);
	assert_int_equal(file_replace(path, "old", 3, 0600, NULL, NULL, &err),
			 0);
	/* A directory that refuses new files (as root, a read-only
	 * directory does not: use a missing one). */
	snprintf(path, sizeof(path), "%s/missing/s.json", dir);
	assert_int_equal(
		file_replace(path, "new", 3, 0600, NULL, "the state", &err),
		DEPLOY_ERR_IO);
	assert_non_null(strstr(err.msg, "cannot write the state"));
	assert_non_null(strstr(err.msg, strerror(ENOENT)));
	snprintf(path, sizeof(path), "%s/s.json", dir);
	text = slurp(path);
	assert_string_equal(text, "old");
	free(text);
	rm_rf(dir);
	free(dir);
	error_clear(&err);
}

/* Byte i of the data the write_all tests send. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 % 251);
}

static volatile sig_atomic_t alarms;

static void count_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* The far end of the pipe: takes a little at a time, slowly, and exits 0
 * only if it got exactly len bytes of the pattern. */
static _Noreturn void slow_reader(int fd, size_t len)
{
	unsigned char chunk[512];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != pattern(have + (size_t)i))
				_exit(2);
		have += (size_t)n;
		usleep(200);
	}
	_exit(have == len ? 0 : 1);
}

/*
 * A pipe of one page, drained slowly by a child, and a timer whose signal
 * has no SA_RESTART: write() keeps returning short (the signal came after
 * some bytes went) or failing with EINTR (before any did). write_all must
 * deliver every byte in order.
 */
static void test_write_all_survives_short_writes_and_eintr(void **state)
{
	size_t len = 256 << 10;
	unsigned char *data = malloc(len);
	struct sigaction sa, old;
	struct itimerval tick = { { 0, 500 }, { 0, 500 } }, off = { 0 };
	int fds[2], status, rc;
	pid_t pid;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = pattern(i);
	assert_int_equal(pipe(fds), 0);
	assert_true(fcntl(fds[1], F_SETPIPE_SZ, 4096) > 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		slow_reader(fds[0], len);
	}
	close(fds[0]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_alarm; /* sa_flags 0: no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarms = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &tick, NULL), 0);
	rc = write_all(fds[1], data, len);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(rc, 0);
	assert_true(alarms > 0); /* the writes were interrupted */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(data);
}

/*
 * A failure after a short write reports the errno of the write that
 * failed, not a stale one: a full non-blocking pipe takes one page, then
 * says EAGAIN; a pipe nobody reads says EPIPE.
 */
static void test_write_all_keeps_errno(void **state)
{
	static char data[64 << 10];
	struct sigaction ign, old;
	int fds[2];

	(void)state;
	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	assert_true(fcntl(fds[1], F_SETPIPE_SZ, 4096) > 0);
	errno = ENOENT;
	assert_int_equal(write_all(fds[1], data, sizeof(data)), -1);
	assert_int_equal(errno, EAGAIN);
	close(fds[0]);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	errno = ENOENT;
	assert_int_equal(write_all(fds[1], data, sizeof(data)), -1);
	assert_int_equal(errno, EPIPE);
	sigaction(SIGPIPE, &old, NULL);
	close(fds[1]);
}

static void test_mkdir_p_makes_parents(void **state)
{
	char *dir = scratch();
	char path[256];
	struct error err;
	struct stat st;

	(void)state;
	error_init(&err);
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(mkdir_p(path, 0700, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(mkdir_p(path, 0700, &err), 0);
	rm_rf(dir);
	free(dir);
	error_clear(&err);
}

static void test_now_ms_is_monotonic(void **state)
{
	long long a = now_ms(), b = now_ms();

	(void)state;
	assert_true(a > 0);
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_dir_is_home_then_passwd),
		cmocka_unit_test(test_tilde_has_one_meaning),
		cmocka_unit_test(test_dir_of),
		cmocka_unit_test(test_replace_writes_all_and_keeps_backup),
		cmocka_unit_test(
			test_replace_failure_keeps_old_and_names_errno),
		cmocka_unit_test(
			test_write_all_survives_short_writes_and_eintr),
		cmocka_unit_test(test_write_all_keeps_errno),
		cmocka_unit_test(test_mkdir_p_makes_parents),
		cmocka_unit_test(test_now_ms_is_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
