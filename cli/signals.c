/* SPDX-License-Identifier: MIT */
/* SIGINT and SIGTERM in up and down: stop new work, end after a grace. */
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/banned.h"

/*
 * up and down on SIGINT or SIGTERM: the first one stops new work (the
 * work under way finishes, and the state, saved after every change, stays
 * right) with a grace deadline; a second one, or the deadline, ends the
 * process at once with 130. The state is still right then: it is written
 * after every change.
 */

volatile int cli_stop;
static int grace = 30;
static bool installed;
/* What the first signal says: up and down save the state as they stop;
 * a command that only holds the signals for its downloads has none. */
static const char stop_words[] =
	"\ndeploy: interrupted: finishing what is under way and saving "
	"the state (again to stop at once)\n";
static const char fetch_words[] =
	"\ndeploy: interrupted: ending the downloads under way (again to "
	"stop at once)\n";
static const char *first_words = stop_words;
static struct sigaction before_int, before_term;

static void say(const char *s)
{
	ssize_t n = write(STDERR_FILENO, s, strlen(s));

	(void)n;
}

static void on_alarm(int sig)
{
	(void)sig;
	say("\ndeploy: grace period over: stopping now\n");
	_exit(130);
}

static void on_signal(int sig)
{
	struct sigaction now = { 0 };

	if (cli_stop) {
		say("\ndeploy: stopping now\n");
		_exit(130);
	}
	cli_stop = sig;
	say(first_words);
	now.sa_handler = on_alarm;
	sigaction(SIGALRM, &now, NULL);
	alarm((unsigned)grace);
}

void cli_signals_install(int grace_seconds)
{
	struct sigaction sa = { 0 };

	grace = grace_seconds > 0 ? grace_seconds : 30;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	installed = true;
}

/* The actions before are restored by cli_signals_release() (a shell
 * starts a background job with SIGINT ignored). */
bool cli_signals_hold(void)
{
	if (installed)
		return false;
	sigaction(SIGINT, NULL, &before_int);
	sigaction(SIGTERM, NULL, &before_term);
	first_words = fetch_words;
	cli_signals_install(30);
	return true;
}

void cli_signals_release(void)
{
	alarm(0);
	sigaction(SIGINT, &before_int, NULL);
	sigaction(SIGTERM, &before_term, NULL);
	installed = false;
	first_words = stop_words;
}
