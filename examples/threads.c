/*
 * threads: many threads, one connection pool.  Each thread opens its own
 * handle on the image through the shared pool, as the I/O threads of a
 * hypervisor's guests do, and copies its share of the image (every
 * THREADS-th chunk) into a local file.
 *
 *   threads [-f raw|qcow2] TARGET THREADS OUTPUT
 *
 * All calls on a pool may run concurrently; the threads' first connects to
 * the volume are joined into one glfs_init.  The pool's counters show it at
 * the end: THREADS images opened, one connection made.
 *
 * Build: cc threads.c $(pkg-config --cflags --libs gluvirt) -pthread
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gluvirt/gluvirt.h>

#define CHUNK (128u << 10)
#define MAX_THREADS 64

struct job {
    gluvirt_pool *pool;                    /* shared by every thread */
    const gluvirt_open_options *options;   /* read-only, so shareable too */
    const char *target;
    int out_fd;
    unsigned index, count;                 /* this thread copies chunks index, index+count... */
    uint64_t copied;
    char error[512];
};

static void *copy_share(void *arg)
{
    struct job *job = arg;
    gluvirt_image *image = gluvirt_image_open(job->pool, job->target, job->options);
    char *buf = malloc(CHUNK);
    uint64_t offset;
    int64_t size;

    if (!image || !buf || (size = gluvirt_image_size(image)) < 0) {
        /* the message belongs to this thread: copy it before the next call */
        snprintf(job->error, sizeof job->error, "%s", buf ? gluvirt_errmsg() : "out of memory");
        goto out;
    }
    for (offset = (uint64_t)job->index * CHUNK; offset < (uint64_t)size;
         offset += (uint64_t)job->count * CHUNK) {
        ssize_t n = gluvirt_image_pread(image, buf, CHUNK, offset);

        if (n <= 0) {
            snprintf(job->error, sizeof job->error, "%s", n < 0 ? gluvirt_errmsg() : "short read");
            goto out;
        }
        if (pwrite(job->out_fd, buf, (size_t)n, (off_t)offset) != n) {
            snprintf(job->error, sizeof job->error, "writing the output: %s", strerror(errno));
            goto out;
        }
        job->copied += (uint64_t)n;
    }
out:
    if (gluvirt_image_close(image) < 0 && !job->error[0])
        snprintf(job->error, sizeof job->error, "%s", gluvirt_errmsg());
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    static struct job jobs[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    gluvirt_format format = GLUVIRT_FORMAT_RAW;
    gluvirt_open_options *options;
    gluvirt_pool *pool;
    uint64_t copied = 0;
    int count, status = 0, i, out_fd;

    if (argc > 2 && strcmp(argv[1], "-f") == 0) {
        if (strcmp(argv[2], "qcow2") == 0)
            format = GLUVIRT_FORMAT_QCOW2;
        else if (strcmp(argv[2], "raw") != 0)
            argc = 0; /* usage */
        argv += 2;
        argc -= 2;
    }
    if (argc != 4 || (count = atoi(argv[2])) < 1 || count > MAX_THREADS) {
        fprintf(stderr, "usage: threads [-f raw|qcow2] TARGET THREADS(1..%d) OUTPUT\n",
                MAX_THREADS);
        return 2;
    }
    out_fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd < 0) {
        perror(argv[3]);
        return 1;
    }
    pool = gluvirt_pool_new(NULL);
    options = gluvirt_open_options_new();
    if (!pool || !options || gluvirt_open_options_set_format(options, format) < 0) {
        fprintf(stderr, "threads: %s\n", gluvirt_errmsg());
        return 1;
    }

    for (i = 0; i < count; i++) {
        jobs[i] = (struct job){pool, options, argv[1], out_fd, (unsigned)i, (unsigned)count, 0,
                               ""};
        if (pthread_create(&threads[i], NULL, copy_share, &jobs[i]) != 0) {
            fprintf(stderr, "threads: cannot start thread %d\n", i);
            count = i;
            status = 1;
            break;
        }
    }
    for (i = 0; i < count; i++) {
        pthread_join(threads[i], NULL);
        if (jobs[i].error[0]) {
            fprintf(stderr, "threads: thread %d: %s\n", i, jobs[i].error);
            status = 1;
        }
        copied += jobs[i].copied;
    }
    fprintf(stderr, "threads: %d threads copied %" PRIu64 " bytes; pool: %" PRId64
            " connect(s) made, %" PRId64 " reused\n",
            count, copied, gluvirt_pool_stat(pool, GLUVIRT_POOL_INITS),
            gluvirt_pool_stat(pool, GLUVIRT_POOL_HITS));

    gluvirt_open_options_free(options);
    gluvirt_pool_free(pool);
    if (close(out_fd) < 0)
        status = 1;
    return status;
}
