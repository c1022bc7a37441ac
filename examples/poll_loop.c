/*
 * poll_loop: an event loop that drives libgluvirt's callback I/O with
 * poll(), as a hypervisor's main loop does: it copies an image into a local
 * file with several reads in flight, on a single thread.
 *
 *   poll_loop [-f raw|qcow2] [-d DEPTH] TARGET OUTPUT
 *
 * The image is opened in GLUVIRT_COMPLETION_POLL mode: callbacks never run
 * on a thread of their own.  gluvirt_image_completion_fd() becomes readable
 * when requests have finished; the loop then calls gluvirt_image_dispatch(),
 * which runs their callbacks right here.  A callback may submit the next
 * request.  Other fds of the program (sockets, timers, signals) go into the
 * same poll() set.
 *
 * Build: cc poll_loop.c $(pkg-config --cflags --libs gluvirt)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gluvirt/gluvirt.h>

#define CHUNK (256u << 10)
#define MAX_DEPTH 64

struct copy;

/* One read slot: its buffer is reused for the next chunk. */
struct slot {
    struct copy *copy;
    char *buf;
    uint64_t offset;
};

struct copy {
    gluvirt_image *image;
    int out_fd;
    uint64_t size, next_offset, copied;
    int in_flight, failed;
    struct slot slots[MAX_DEPTH];
};

static void read_done(void *user_data, int64_t result);

/* Start the next read in slot s, if any is left; 0 or -1. */
static int submit_next(struct slot *s)
{
    struct copy *c = s->copy;
    uint64_t left;

    if (c->failed || c->next_offset >= c->size)
        return 0;
    left = c->size - c->next_offset;
    s->offset = c->next_offset;
    c->next_offset += left < CHUNK ? left : CHUNK;
    /* No release function: the slot outlives the request. */
    if (gluvirt_image_aio_read(c->image, s->buf, left < CHUNK ? left : CHUNK, s->offset,
                               read_done, s, NULL) < 0) {
        fprintf(stderr, "poll_loop: %s\n", gluvirt_errmsg());
        c->failed = 1;
        return -1;
    }
    c->in_flight++;
    return 0;
}

/* Runs inside gluvirt_image_dispatch(), on the loop's thread.  Errors come
 * as a negative errno in result, not through gluvirt_errmsg(). */
static void read_done(void *user_data, int64_t result)
{
    struct slot *s = user_data;
    struct copy *c = s->copy;

    c->in_flight--;
    if (result < 0) {
        fprintf(stderr, "poll_loop: read at %" PRIu64 ": %s\n", s->offset, strerror((int)-result));
        c->failed = 1;
        return;
    }
    if (pwrite(c->out_fd, s->buf, (size_t)result, (off_t)s->offset) != (ssize_t)result) {
        perror("poll_loop: writing the output");
        c->failed = 1;
        return;
    }
    c->copied += (uint64_t)result;
    submit_next(s);
}

/* The loop: wait for the completion fd, dispatch, until nothing is left. */
static int run_loop(struct copy *c)
{
    struct pollfd fds[1];

    fds[0].fd = gluvirt_image_completion_fd(c->image);
    fds[0].events = POLLIN;
    if (fds[0].fd < 0) {
        fprintf(stderr, "poll_loop: %s\n", gluvirt_errmsg());
        return -1;
    }
    while (c->in_flight > 0) {
        if (poll(fds, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll_loop: poll");
            return -1;
        }
        if ((fds[0].revents & POLLIN) && gluvirt_image_dispatch(c->image) < 0) {
            fprintf(stderr, "poll_loop: %s\n", gluvirt_errmsg());
            return -1;
        }
    }
    return c->failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    gluvirt_format format = GLUVIRT_FORMAT_RAW;
    gluvirt_open_options *options = NULL;
    struct copy c;
    int depth = 8, opt, status = 1, i;
    int64_t size;

    memset(&c, 0, sizeof c);
    c.out_fd = -1;
    while ((opt = getopt(argc, argv, "f:d:")) != -1) {
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "qcow2") == 0)
                format = GLUVIRT_FORMAT_QCOW2;
            else if (strcmp(optarg, "raw") != 0)
                goto usage;
            break;
        case 'd':
            depth = atoi(optarg);
            if (depth < 1 || depth > MAX_DEPTH)
                goto usage;
            break;
        default:
            goto usage;
        }
    }
    if (argc - optind != 2)
        goto usage;

    options = gluvirt_open_options_new();
    if (!options || gluvirt_open_options_set_format(options, format) < 0 ||
        gluvirt_open_options_set_completion(options, GLUVIRT_COMPLETION_POLL) < 0 ||
        /* a request keeps its queue slot while its callback runs, and our
         * callback submits the next read: one slot more than we keep busy */
        gluvirt_open_options_set_queue_depth(options, (unsigned)depth + 1) < 0 ||
        !(c.image = gluvirt_image_open(NULL, argv[optind], options)) ||
        (size = gluvirt_image_size(c.image)) < 0) {
        fprintf(stderr, "poll_loop: %s\n", gluvirt_errmsg());
        goto out;
    }
    c.size = (uint64_t)size;
    c.out_fd = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (c.out_fd < 0 || ftruncate(c.out_fd, (off_t)c.size) < 0) {
        perror(argv[optind + 1]);
        goto out;
    }
    for (i = 0; i < depth; i++) {
        c.slots[i].copy = &c;
        if (!(c.slots[i].buf = malloc(CHUNK))) {
            fprintf(stderr, "poll_loop: out of memory\n");
            goto out;
        }
    }
    for (i = 0; i < depth; i++)
        if (submit_next(&c.slots[i]) < 0)
            break;
    if (run_loop(&c) == 0 && c.copied == c.size) {
        fprintf(stderr, "poll_loop: copied %" PRIu64 " bytes with %d reads in flight\n",
                c.copied, depth);
        status = 0;
    }
out:
    /* Close waits for requests still in flight and runs their callbacks,
     * so the slots must still be there. */
    if (gluvirt_image_close(c.image) < 0)
        status = 1;
    for (i = 0; i < MAX_DEPTH; i++)
        free(c.slots[i].buf);
    if (c.out_fd >= 0 && close(c.out_fd) < 0)
        status = 1;
    gluvirt_open_options_free(options);
    return status;

usage:
    fprintf(stderr, "usage: poll_loop [-f raw|qcow2] [-d 1..%d] TARGET OUTPUT\n", MAX_DEPTH);
    return 2;
}
