/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PAUSE_H
#define DEPLOY_PAUSE_H

/*
 * Pauses between attempts, as the cloud clients take them: a sleep that a
 * stop flag (SIGINT, SIGTERM) cuts short, and the random part of a
 * jittered backoff.
 */

/*
 * Sleep ms milliseconds, in slices of at most 100 ms, returning early once
 * *stop is set (stop may be NULL). Signals do not end it early otherwise.
 */
void pause_ms(long long ms, const volatile int *stop);

/* A random number in [0, n) (0 when n is 0), from getrandom(). */
unsigned long random_below(unsigned long n);

/*
 * The pause before retry number attempt (0 for the first), with full
 * jitter: anywhere in [0, min(cap_ms, base_ms * 2^attempt)).
 */
long long backoff_ms(long base_ms, long cap_ms, int attempt);

#endif
