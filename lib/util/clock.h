/*
 * Timed waits on the monotonic clock (clock.c).  A condition variable that
 * is waited on with a deadline is made with glv_cond_init_monotonic, and its
 * deadlines come from glv_deadline_after_ms: both on CLOCK_MONOTONIC, so a
 * step of the wall clock (an administrator, NTP, a VM resumed) neither
 * stalls such a wait nor ends it early.
 */
#ifndef GLUVIRT_UTIL_CLOCK_H
#define GLUVIRT_UTIL_CLOCK_H

#include <pthread.h>
#include <time.h>

/*
 * pthread_cond_init for a condition variable whose pthread_cond_timedwait
 * deadlines are on CLOCK_MONOTONIC.  Returns 0, or -1 with the error set.
 */
int glv_cond_init_monotonic(pthread_cond_t *cond);

/* The time now on CLOCK_MONOTONIC. */
void glv_monotonic_now(struct timespec *now);

/*
 * The CLOCK_MONOTONIC deadline ms milliseconds from now (now itself when
 * ms <= 0), for pthread_cond_timedwait on a glv_cond_init_monotonic
 * condition variable.
 */
void glv_deadline_after_ms(struct timespec *deadline, long ms);

/* Whole milliseconds from `from` to `to`, negative when `to` comes first. */
long glv_ms_between(const struct timespec *from, const struct timespec *to);

#endif
