/* SPDX-License-Identifier: MIT */
/* util/proc: what a local program deploy runs is given in its environment. */
#include "cmocka-setup.h"

#include <stdlib.h>
#include <string.h>

#include "util/proc.h"

/* The environment `env` prints when proc_run() runs it. */
static void run_env(struct proc_result *res, char *const extra[])
{
	char *argv[] = { "env", NULL };
	struct error err;

	error_init(&err);
	assert_int_equal(proc_run(argv, extra, 10000, 1 << 20, res, &err), 0);
	assert_int_equal(res->status, 0);
	error_clear(&err);
}

static void test_secrets_are_not_passed_on(void **state)
{
	char *extra[] = { "T_EXTRA=given", NULL };
	struct proc_result res;

	(void)state;
	/* The cloud credentials and the passphrase deploy reads, and a
	 * topology secret's variable once it is read as one. */
	setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value", 1);
	setenv("AWS_SESSION_TOKEN", "aws-token-value", 1);
	setenv("DIGITALOCEAN_TOKEN", "do-token-value", 1);
	setenv("DIGITALOCEAN_ACCESS_TOKEN", "do-token-value2", 1);
	setenv("DEPLOY_SSH_KEY_PASSPHRASE", "passphrase-value", 1);
	setenv("T_PROC_PW", "topology-secret-value", 1);
	setenv("T_PROC_PLAIN", "plain-value", 1);
	proc_env_hide("T_PROC_PW");
	run_env(&res, extra);
	assert_null(strstr(res.out.data, "secret-value"));
	assert_null(strstr(res.out.data, "token-value"));
	assert_null(strstr(res.out.data, "passphrase-value"));
	assert_null(strstr(res.out.data, "T_PROC_PW="));
	/* Everything else is, and what the caller adds. */
	assert_non_null(strstr(res.out.data, "T_PROC_PLAIN=plain-value\n"));
	assert_non_null(strstr(res.out.data, "T_EXTRA=given\n"));
	proc_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secrets_are_not_passed_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
