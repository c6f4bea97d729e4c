/* SPDX-License-Identifier: MIT */
/* Pauses between attempts: a sleep a stop flag ends early, random jitter. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "util/pause.h"
#include "util/banned.h"

static int stopped(const volatile int *stop)
{
	return stop && *stop;
}

void pause_ms(long long ms, const volatile int *stop)
{
	while (ms > 0 && !stopped(stop)) {
		long slice = ms > 100 ? 100 : (long)ms;
		struct timespec ts = { slice / 1000,
				       (slice % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			if (stopped(stop))
				return;
		ms -= slice;
	}
}

unsigned long random_below(unsigned long n)
{
	unsigned long r = 0;

	if (n == 0)
		return 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned long)rand();
	return r % n;
}

long long backoff_ms(long base_ms, long cap_ms, int attempt)
{
	long long window = (long long)base_ms << (attempt < 16 ? attempt : 16);

	if (window > cap_ms || window <= 0)
		window = cap_ms;
	return (long long)random_below((unsigned long)window);
}
