/*
 * What an open image does when its volume goes away: sync and callback
 * reads fail with an error, within a bounded time, instead of hanging or
 * returning stale data; close still returns.  volume-gone.sh stops and
 * restarts the volume around the phases of this program:
 *   volume_gone open TARGET      read once, print OK, wait for "go" on stdin,
 *                                then read again (sync and aio) and report
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gluvirt/gluvirt.h>

static volatile int aio_done;
static volatile long long aio_result;

static void on_read(void *user_data, int64_t result)
{
    (void)user_data;
    aio_result = result;
    __atomic_store_n(&aio_done, 1, __ATOMIC_SEQ_CST);
}

static double seconds(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static char buf[65536];
    char line[16];
    gluvirt_image *image;
    ssize_t got;
    double start;
    int failures = 0;

    if (argc != 3 || strcmp(argv[1], "open") != 0) {
        fprintf(stderr, "usage: volume_gone open TARGET\n");
        return 2;
    }
    if (!(image = gluvirt_image_open(NULL, argv[2], NULL))) {
        fprintf(stderr, "open: %s\n", gluvirt_errmsg());
        return 1;
    }
    if (gluvirt_image_pread(image, buf, sizeof buf, 0) != (ssize_t)sizeof buf) {
        fprintf(stderr, "first read: %s\n", gluvirt_errmsg());
        return 1;
    }
    printf("OK\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        return 1;

    start = seconds();
    got = gluvirt_image_pread(image, buf, sizeof buf, 65536);
    printf("sync read after the volume stopped: %zd in %.2f s: %s\n", got, seconds() - start,
           got < 0 ? gluvirt_errmsg() : "(data)");
    if (got >= 0) {
        printf("FAIL: a read on a stopped volume succeeded\n");
        failures++;
    }

    start = seconds();
    if (gluvirt_image_aio_read(image, buf, sizeof buf, 0, on_read, NULL, NULL) < 0) {
        printf("aio submit failed at once: %s\n", gluvirt_errmsg());
    } else {
        while (!__atomic_load_n(&aio_done, __ATOMIC_SEQ_CST) && seconds() - start < 60) {
            struct timespec nap = {0, 10000000};

            nanosleep(&nap, NULL);
        }
        printf("aio read after the volume stopped: %lld in %.2f s\n", aio_result,
               seconds() - start);
        if (!aio_done || aio_result >= 0) {
            printf("FAIL: the callback read %s\n", aio_done ? "succeeded" : "never completed");
            failures++;
        }
    }
    start = seconds();
    gluvirt_image_close(image);
    printf("close returned in %.2f s\n", seconds() - start);
    printf("volume-gone: %d passed, %d failed\n", 2 - failures, failures);
    return failures ? 1 : 0;
}
