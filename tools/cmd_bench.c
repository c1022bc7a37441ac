/*
 * gluvirt bench: time a run of equal read or write requests through the
 * image's callback I/O, with 'qemu-img bench's options and its two lines of
 * output, so that the two tools can be run side by side on one image
 * (bench/run-image-bench.sh does).
 *
 * Like qemu-img, only the I/O phase is timed: from the first submission to
 * the callback of the last request.  Opening the image (and the volume's
 * connection) and closing it are not; the pool lets the command leave
 * without waiting for glfs_fini.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"
#include "size_arg.h"

/* qemu-img bench's defaults. */
#define DEFAULT_COUNT 75000
#define DEFAULT_DEPTH 64
#define DEFAULT_REQUEST_SIZE 4096

/* Buffers are aligned for O_DIRECT (-t none) whatever the cache mode. */
#define BUFFER_ALIGNMENT 4096

/*
 * A callback that refills the queue submits while its own request still
 * holds a slot of the image's queue (the slot is freed when the callback
 * returns), so the image is opened with one slot more than DEPTH.
 */
#define MAX_DEPTH 4095

/*
 * The completion mode used without --completion.  On the test cluster the
 * two ran within a few per cent of each other, THREAD ahead with small
 * requests and using less CPU time (bench/README.md, "Completion modes").
 */
#define DEFAULT_COMPLETION GLUVIRT_COMPLETION_THREAD

enum access_pattern { PATTERN_SEQUENTIAL, PATTERN_RANDOM };

struct bench_request;

struct bench {
    gluvirt_image *image;
    int writing;
    size_t request_size;
    uint64_t image_size;
    uint64_t step;
    uint64_t first_offset;
    enum access_pattern pattern;
    uint64_t random_state;
    uint64_t random_slots; /* rand: offsets first_offset + k * step, k < random_slots */

    /* Everything below changes during the run: callbacks (on the library's
     * thread in THREAD mode) and the first submissions (on the caller's
     * thread) both take the lock. */
    pthread_mutex_t lock;
    pthread_cond_t finished_cond;
    uint64_t next_offset;
    long count;
    long submitted;
    long in_flight;
    int finished;
    double end_time;
    int error;               /* errno value of the first failure, or 0 */
    uint64_t error_offset;
    char error_text[512];
};

struct bench_request {
    struct bench *bench;
    char *buffer;
    uint64_t offset;
};

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt bench [-c COUNT] [-d DEPTH] [-f FMT] [-o OFFSET] [-s SIZE]\n"
            "                     [-S STEP] [-t none|writeback] [-w] [--pattern seq|rand|BYTE]\n"
            "                     [--seed N] [--completion poll|thread] [--pool-verbose] [-U]\n"
            "                     TARGET\n"
            "Sends COUNT requests of SIZE bytes to TARGET (a gluster URI or a local path),\n"
            "DEPTH at a time, and prints how long they took, as 'qemu-img bench' does.\n"
            "Opening and closing the image are not timed.\n"
            "  -c COUNT      requests in all (default %d)\n"
            "  -d DEPTH      requests in flight at once, 1..%d (default %d)\n"
            "  -f FMT        the image's format (raw); without -f, its header decides\n"
            "  -o OFFSET     offset of the first request (default 0)\n"
            "  -s SIZE       bytes per request (default %d)\n"
            "  -S STEP       distance between the offsets of two requests (default SIZE);\n"
            "                an offset that would pass the end of the image wraps round\n"
            "  -t CACHE      none (direct I/O; raw images) or writeback (default)\n"
            "  -w            write requests instead of reads (the image must be writable)\n"
            "  --pattern P   seq: offsets advance by STEP (default); rand: each request\n"
            "                picks OFFSET + k * STEP at random (seeded, repeatable);\n"
            "                a number 0..255 sets the byte written by -w, as in qemu-img\n"
            "  --seed N      seed of --pattern rand (default 1)\n"
            "  --completion M  where callbacks run: poll (an event loop on this thread,\n"
            "                as QEMU's) or thread (the library's thread); default %s\n"
            "  --pool-verbose  the connection pool's counters and close time on stderr\n"
            FORCE_SHARE_USAGE
            "Sizes take the suffixes k, M, G, T, P, E (powers of 1024), as in qemu-img.\n",
            DEFAULT_COUNT, MAX_DEPTH, DEFAULT_DEPTH, DEFAULT_REQUEST_SIZE,
            DEFAULT_COMPLETION == GLUVIRT_COMPLETION_POLL ? "poll" : "thread");
}

static int parse_count(const char *text, long min, long max, long *out)
{
    char *end;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno || end == text || *end || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

static int size_option(const char *option, const char *text, uint64_t max, uint64_t *out)
{
    return size_arg("bench", option, text, max, out);
}

/* splitmix64: small, fast, and the same sequence for the same seed everywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/*
 * The offset after one at offset, for the sequential pattern.  QEMU 7.2's
 * rule is (offset + step) modulo the image size, which leaves a request
 * that crosses the end to fail with EIO; such an offset wraps here as newer
 * QEMU wraps every one, modulo (image size - request size).  So wherever
 * QEMU 7.2 completes a run, the two send the same offsets in the same order.
 */
static uint64_t following_offset(const struct bench *b, uint64_t offset)
{
    uint64_t next;

    if (b->image_size == 0)
        return 0;
    next = (offset + b->step) % b->image_size;
    if (next > b->image_size - b->request_size)
        next = b->image_size > b->request_size
                   ? next % (b->image_size - b->request_size) : 0;
    return next;
}

/* Called with the lock held. */
static uint64_t take_offset(struct bench *b)
{
    uint64_t offset;

    if (b->pattern == PATTERN_RANDOM)
        return b->first_offset + next_random(&b->random_state) % b->random_slots * b->step;
    offset = b->next_offset;
    b->next_offset = following_offset(b, offset);
    return offset;
}

/* Called with the lock held: the first failure is the one reported. */
static void note_failure(struct bench *b, int error, uint64_t offset, const char *text)
{
    if (b->error)
        return;
    b->error = error ? error : EIO;
    b->error_offset = offset;
    snprintf(b->error_text, sizeof b->error_text, "%s", text ? text : strerror(b->error));
}

/* Called with the lock held, and only when the run is over. */
static void finish(struct bench *b)
{
    b->end_time = seconds_now();
    b->finished = 1;
    pthread_cond_signal(&b->finished_cond);
}

static void request_complete(void *user_data, int64_t result);

/* Called with the lock held: send req again for the next offset, if any. */
static int submit(struct bench_request *req)
{
    struct bench *b = req->bench;
    int rc;

    if (b->error || b->submitted >= b->count)
        return 0;
    req->offset = take_offset(b);
    b->submitted++;
    b->in_flight++;
    rc = b->writing ? gluvirt_image_aio_write(b->image, req->buffer, b->request_size,
                                              req->offset, request_complete, req, NULL)
                    : gluvirt_image_aio_read(b->image, req->buffer, b->request_size,
                                             req->offset, request_complete, req, NULL);
    if (rc < 0) {
        b->in_flight--;
        note_failure(b, gluvirt_errno(), req->offset, gluvirt_errmsg());
        return -1;
    }
    return 1;
}

/* Runs where the image's completion mode says: on the library's thread, or
 * on ours inside gluvirt_image_dispatch. */
static void request_complete(void *user_data, int64_t result)
{
    struct bench_request *req = user_data;
    struct bench *b = req->bench;

    pthread_mutex_lock(&b->lock);
    b->in_flight--;
    if (result < 0)
        note_failure(b, (int)-result, req->offset, NULL);
    submit(req);
    if (b->in_flight == 0)
        finish(b);
    pthread_mutex_unlock(&b->lock);
}

/*
 * The timed phase: DEPTH requests, then one more from each callback until
 * COUNT were sent.  Returns the seconds it took, or -1 when a request
 * failed (b->error says why).
 */
static double run(struct bench *b, struct bench_request *requests, long depth,
                  gluvirt_completion_mode mode)
{
    int fd = mode == GLUVIRT_COMPLETION_POLL ? gluvirt_image_completion_fd(b->image) : -1;
    double start;
    long i;
    int finished;

    if (mode == GLUVIRT_COMPLETION_POLL && fd < 0) {
        pthread_mutex_lock(&b->lock);
        note_failure(b, gluvirt_errno(), 0, gluvirt_errmsg());
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    pthread_mutex_lock(&b->lock);
    start = seconds_now();
    for (i = 0; i < depth && submit(&requests[i]) > 0; i++)
        ;
    if (b->in_flight == 0)
        finish(b);
    if (mode == GLUVIRT_COMPLETION_THREAD) {
        while (!b->finished)
            pthread_cond_wait(&b->finished_cond, &b->lock);
        pthread_mutex_unlock(&b->lock);
    } else {
        /* A small event loop, as QEMU's main loop: wait for the fd, then run
         * the callbacks that are ready; they submit the next requests. */
        finished = b->finished;
        pthread_mutex_unlock(&b->lock);
        while (!finished) {
            struct pollfd p = {fd, POLLIN, 0};

            if (poll(&p, 1, -1) < 0 && errno != EINTR) {
                pthread_mutex_lock(&b->lock);
                note_failure(b, errno, 0, "poll on the image's completion fd failed");
                pthread_mutex_unlock(&b->lock);
                break; /* closing the image waits for what is still in flight */
            }
            if (gluvirt_image_dispatch(b->image) < 0) {
                pthread_mutex_lock(&b->lock);
                note_failure(b, gluvirt_errno(), 0, gluvirt_errmsg());
                pthread_mutex_unlock(&b->lock);
                break;
            }
            pthread_mutex_lock(&b->lock);
            finished = b->finished;
            pthread_mutex_unlock(&b->lock);
        }
    }
    return b->error ? -1 : b->end_time - start;
}

/* -t: qemu-img's cache modes that map onto an open option of ours. */
static int parse_cache(const char *mode, int *direct)
{
    if (!strcmp(mode, "none") || !strcmp(mode, "writeback")) {
        *direct = !strcmp(mode, "none");
        return 0;
    }
    fprintf(stderr, "gluvirt bench: -t %s: unsupported cache mode; use none (direct I/O) or "
                    "writeback (the default)\n", mode);
    return -1;
}

/*
 * Where the requests may go, checked before the run: qemu-img would start
 * and fail the first request past the end with EIO; this says why instead.
 */
static int check_range(struct bench *b, long count)
{
    if (count == 0)
        return 0;
    if (b->first_offset > b->image_size || b->image_size - b->first_offset < b->request_size) {
        fprintf(stderr, "gluvirt bench: a request of %zu bytes at offset %" PRIu64 " does not "
                        "fit in the image (%" PRIu64 " bytes); lower -o or -s\n",
                b->request_size, b->first_offset, b->image_size);
        return -1;
    }
    if (b->pattern == PATTERN_RANDOM)
        b->random_slots =
            b->step ? (b->image_size - b->request_size - b->first_offset) / b->step + 1 : 1;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    enum { OPT_PATTERN = 256, OPT_SEED, OPT_COMPLETION, OPT_POOL_VERBOSE };
    static const struct option options[] = {
        {"pattern", required_argument, NULL, OPT_PATTERN},
        {"seed", required_argument, NULL, OPT_SEED},
        {"completion", required_argument, NULL, OPT_COMPLETION},
        {"pool-verbose", no_argument, NULL, OPT_POOL_VERBOSE},
        {"force-share", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    gluvirt_completion_mode mode = DEFAULT_COMPLETION;
    gluvirt_format format = GLUVIRT_FORMAT_PROBE;
    long count = DEFAULT_COUNT, depth = DEFAULT_DEPTH, fill_byte = 0, seed = 1, i;
    uint64_t request_size = DEFAULT_REQUEST_SIZE, step = 0, offset = 0;
    int writing = 0, direct = 0, pool_verbose = 0, force_share = 0, c, status = EXIT_FAILED;
    enum access_pattern pattern = PATTERN_SEQUENTIAL;
    gluvirt_open_options *open_options = NULL;
    struct bench_request *requests = NULL;
    gluvirt_pool *pool = NULL;
    struct bench b;
    char *buffers = NULL;
    void *memory;
    int64_t size;
    double took, start;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:d:f:o:s:S:t:wUh", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (parse_count(optarg, 0, INT_MAX, &count) < 0) {
                fprintf(stderr, "gluvirt bench: -c %s: the request count must be a whole "
                                "number from 0 to %d\n", optarg, INT_MAX);
                return EXIT_USAGE;
            }
            break;
        case 'd':
            if (parse_count(optarg, 1, MAX_DEPTH, &depth) < 0) {
                fprintf(stderr, "gluvirt bench: -d %s: the queue depth must be a whole number "
                                "from 1 to %d\n", optarg, MAX_DEPTH);
                return EXIT_USAGE;
            }
            break;
        case 'f':
            if (parse_image_format("bench", optarg, &format) < 0)
                return EXIT_USAGE;
            break;
        case 'o':
            if (size_option("-o", optarg, INT64_MAX, &offset) < 0)
                return EXIT_USAGE;
            break;
        case 's':
            if (size_option("-s", optarg, INT_MAX, &request_size) < 0)
                return EXIT_USAGE;
            break;
        case 'S':
            if (size_option("-S", optarg, INT_MAX, &step) < 0)
                return EXIT_USAGE;
            break;
        case 't':
            if (parse_cache(optarg, &direct) < 0)
                return EXIT_USAGE;
            break;
        case 'w':
            writing = 1;
            break;
        case 'U':
            force_share = 1;
            break;
        case OPT_PATTERN:
            if (!strcmp(optarg, "seq")) {
                pattern = PATTERN_SEQUENTIAL;
            } else if (!strcmp(optarg, "rand")) {
                pattern = PATTERN_RANDOM;
            } else if (parse_count(optarg, 0, 255, &fill_byte) < 0) {
                fprintf(stderr, "gluvirt bench: --pattern %s: use seq, rand, or a byte value "
                                "0..255 to write (as qemu-img's --pattern)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_SEED:
            if (parse_count(optarg, 0, LONG_MAX, &seed) < 0) {
                fprintf(stderr, "gluvirt bench: --seed %s: not a whole number from 0 to %ld\n",
                        optarg, LONG_MAX);
                return EXIT_USAGE;
            }
            break;
        case OPT_COMPLETION:
            if (!strcmp(optarg, "poll")) {
                mode = GLUVIRT_COMPLETION_POLL;
            } else if (!strcmp(optarg, "thread")) {
                mode = GLUVIRT_COMPLETION_THREAD;
            } else {
                fprintf(stderr, "gluvirt bench: --completion %s: use poll or thread\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_POOL_VERBOSE:
            pool_verbose = 1;
            break;
        case 'h':
            bench_usage(stdout);
            return EXIT_OK;
        default:
            bench_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        bench_usage(stderr);
        return EXIT_USAGE;
    }
    if ((size_t)depth > SIZE_MAX / (request_size ? request_size : 1)) {
        fprintf(stderr, "gluvirt bench: -d %ld -s %" PRIu64 ": the buffers would not fit in "
                        "memory; lower one of them\n", depth, request_size);
        return EXIT_USAGE;
    }

    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.finished_cond, NULL);
    if (!(open_options = gluvirt_open_options_new()) ||
        gluvirt_open_options_set_format(open_options, format) < 0 ||
        gluvirt_open_options_set_writable(open_options, writing) < 0 ||
        gluvirt_open_options_set_direct(open_options, direct) < 0 ||
        gluvirt_open_options_set_force_share(open_options, force_share) < 0 ||
        gluvirt_open_options_set_completion(open_options, mode) < 0 ||
        gluvirt_open_options_set_queue_depth(open_options, (unsigned)depth + 1) < 0 ||
        !(pool = gluvirt_pool_new(NULL))) {
        report_library_error(NULL);
        goto out;
    }
    if (!(b.image = gluvirt_image_open(pool, argv[optind], open_options)) ||
        (size = gluvirt_image_size(b.image)) < 0) {
        report_library_error(NULL);
        goto out;
    }
    b.writing = writing;
    b.request_size = (size_t)request_size;
    b.image_size = (uint64_t)size;
    b.step = step ? step : request_size;
    b.first_offset = b.next_offset = offset;
    b.pattern = pattern;
    b.random_state = (uint64_t)seed;
    b.count = count;
    if (check_range(&b, count) < 0)
        goto out;

    printf("Sending %ld %s requests, %zu bytes each, %ld in parallel (starting at offset "
           "%" PRIu64 ", step size %" PRIu64 ")\n",
           count, writing ? "write" : "read", b.request_size, depth, offset, b.step);
    fflush(stdout);

    requests = calloc((size_t)depth, sizeof *requests);
    if (!requests || posix_memalign(&memory, BUFFER_ALIGNMENT,
                                    (size_t)depth * b.request_size + 1) != 0) {
        fprintf(stderr, "gluvirt bench: out of memory for %ld buffers of %zu bytes\n", depth,
                b.request_size);
        goto out;
    }
    buffers = memory;
    memset(buffers, (int)fill_byte, (size_t)depth * b.request_size);
    for (i = 0; i < depth; i++) {
        requests[i].bench = &b;
        requests[i].buffer = buffers + (size_t)i * b.request_size;
    }

    took = run(&b, requests, depth, mode);
    if (took < 0) {
        fprintf(stderr, "gluvirt bench: the %s at offset %" PRIu64 " failed: %s\n",
                writing ? "write" : "read", b.error_offset, b.error_text);
        if (direct && b.error == EINVAL)
            fprintf(stderr, "gluvirt bench: with -t none (direct I/O), -o, -s and -S must be "
                            "multiples of the storage's block size (4096 is safe)\n");
        goto out;
    }
    printf("Run completed in %3.3f seconds.\n", took);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gluvirt bench: standard output");
        goto out;
    }
    status = EXIT_OK;
out:
    /* Waits for any request still in flight after a failure. */
    if (gluvirt_image_close(b.image) < 0 && status == EXIT_OK) {
        report_library_error("closing the image");
        status = EXIT_FAILED;
    }
    if (pool && pool_verbose)
        print_pool_counters(pool);
    start = seconds_now();
    gluvirt_pool_free(pool);
    if (pool && pool_verbose)
        fprintf(stderr, "pool closed in %.3f s\n", seconds_now() - start);
    gluvirt_open_options_free(open_options);
    free(buffers);
    free(requests);
    pthread_cond_destroy(&b.finished_cond);
    pthread_mutex_destroy(&b.lock);
    return status;
}
