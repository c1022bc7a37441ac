/* Timed waits on the monotonic clock: condition variables and deadlines. */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/internal.h"

#define NSEC_PER_SEC 1000000000L
#define NSEC_PER_MSEC 1000000L

int glv_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);

    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(cond, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (rc != 0) {
        glv_set_error(rc, "cannot make a condition variable that waits on the monotonic clock: "
                      "%s", strerror(rc));
        return -1;
    }
    return 0;
}

void glv_monotonic_now(struct timespec *now)
{
    clock_gettime(CLOCK_MONOTONIC, now);
}

void glv_deadline_after_ms(struct timespec *deadline, long ms)
{
    glv_monotonic_now(deadline);
    if (ms <= 0)
        return;
    deadline->tv_sec += ms / 1000;
    deadline->tv_nsec += (ms % 1000) * NSEC_PER_MSEC;
    if (deadline->tv_nsec >= NSEC_PER_SEC) {
        deadline->tv_sec++;
        deadline->tv_nsec -= NSEC_PER_SEC;
    }
}

long glv_ms_between(const struct timespec *from, const struct timespec *to)
{
    return (long)(to->tv_sec - from->tv_sec) * 1000L +
           (to->tv_nsec - from->tv_nsec) / NSEC_PER_MSEC;
}
