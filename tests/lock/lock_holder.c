/*
 * lock_holder: opens images the way a test asks and keeps them open, so
 * that the lock tests (tests/lock/) can set QEMU and other gluvirt
 * processes against it.
 *
 *   lock_holder [-w] [-U] [-n] [-P] [-a] [-f raw|qcow2] TARGET...
 *
 *   -w  open writable        -U  force_share        -n  locking off
 *   -P  a pool of its own for each TARGET (default: one pool for all)
 *   -a  callback I/O: write a pattern to the first image through
 *       gluvirt_image_aio_write and read it back through
 *       gluvirt_image_aio_read before saying "ready"
 *   -f  the format (default qcow2)
 *
 * For each TARGET, in order, one line: "open N ok" or
 * "open N errno=E: MESSAGE".  Then "ready" (stdout is flushed), and the
 * images stay open until a line or end of file arrives on stdin.  Exit
 * status: 0 when every open worked, 3 when one failed with EBUSY (and none
 * otherwise), 1 for any other failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gluvirt/gluvirt.h>

#define MAX_TARGETS 8
#define AIO_BYTES 65536

struct aio_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int64_t result;
};

static void aio_complete(void *user_data, int64_t result)
{
    struct aio_wait *w = user_data;

    pthread_mutex_lock(&w->lock);
    w->result = result;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static int64_t aio_wait_for(struct aio_wait *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->lock);
    w->done = 0;
    pthread_mutex_unlock(&w->lock);
    return w->result;
}

/* Write a pattern and read it back, both through callbacks: 0 when the
 * bytes came back. */
static int aio_round_trip(gluvirt_image *image)
{
    static unsigned char out[AIO_BYTES], in[AIO_BYTES];
    struct aio_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

    memset(out, 0x5a, sizeof out);
    if (gluvirt_image_aio_write(image, out, sizeof out, 0, aio_complete, &w, NULL) < 0 ||
        aio_wait_for(&w) != AIO_BYTES ||
        gluvirt_image_aio_read(image, in, sizeof in, 0, aio_complete, &w, NULL) < 0 ||
        aio_wait_for(&w) != AIO_BYTES || memcmp(in, out, sizeof in) != 0) {
        fprintf(stderr, "lock_holder: callback write/read failed: %s\n", gluvirt_errmsg());
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int writable = 0, force_share = 0, locking_off = 0, own_pools = 0, aio = 0, c, status = 0;
    gluvirt_format format = GLUVIRT_FORMAT_QCOW2;
    gluvirt_image *images[MAX_TARGETS] = {NULL};
    gluvirt_pool *pools[MAX_TARGETS] = {NULL};
    gluvirt_open_options *options;
    char line[16];
    int count;

    while ((c = getopt(argc, argv, "wUnPaf:")) != -1) {
        switch (c) {
        case 'w': writable = 1; break;
        case 'U': force_share = 1; break;
        case 'n': locking_off = 1; break;
        case 'P': own_pools = 1; break;
        case 'a': aio = 1; break;
        case 'f': format = strcmp(optarg, "raw") ? GLUVIRT_FORMAT_QCOW2 : GLUVIRT_FORMAT_RAW; break;
        default: return 2;
        }
    }
    count = argc - optind;
    if (count < 1 || count > MAX_TARGETS) {
        fprintf(stderr, "usage: lock_holder [-w] [-U] [-n] [-P] [-a] [-f FMT] TARGET...\n");
        return 2;
    }
    options = gluvirt_open_options_new();
    if (!options || gluvirt_open_options_set_format(options, format) < 0 ||
        gluvirt_open_options_set_writable(options, writable) < 0 ||
        gluvirt_open_options_set_force_share(options, force_share) < 0 ||
        gluvirt_open_options_set_locking(options, locking_off ? GLUVIRT_LOCKING_OFF
                                                               : GLUVIRT_LOCKING_ON) < 0) {
        fprintf(stderr, "lock_holder: options: %s\n", gluvirt_errmsg());
        return 1;
    }
    for (int i = 0; i < count; i++) {
        gluvirt_pool *pool = NULL;

        if ((own_pools || i == 0) && !(pools[i] = gluvirt_pool_new(NULL))) {
            fprintf(stderr, "lock_holder: pool: %s\n", gluvirt_errmsg());
            return 1;
        }
        pool = own_pools ? pools[i] : pools[0];
        images[i] = gluvirt_image_open(pool, argv[optind + i], options);
        if (images[i]) {
            printf("open %d ok\n", i);
        } else {
            printf("open %d errno=%d: %s\n", i, gluvirt_errno(), gluvirt_errmsg());
            status = gluvirt_errno() == EBUSY && status != 1 ? 3 : 1;
        }
    }
    gluvirt_open_options_free(options);
    if (aio && images[0] && aio_round_trip(images[0]) < 0)
        status = 1;
    printf("ready\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        line[0] = 0;
    for (int i = 0; i < count; i++)
        if (gluvirt_image_close(images[i]) < 0)
            status = 1;
    for (int i = 0; i < count; i++)
        gluvirt_pool_free(pools[i]);
    return status;
}
