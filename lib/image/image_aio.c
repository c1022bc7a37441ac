/*
 * Callback I/O on an image: the engine behind gluvirt_image_aio_*.
 *
 * A request goes from the submitter to whoever can run it without blocking
 * the caller: the storage's own asynchronous calls when the format maps
 * bytes one to one (raw on gluster), else a small pool of worker threads
 * that run the synchronous path.  Done requests wait in a completion queue
 * until their callbacks run: on the engine's dispatcher thread, or on the
 * caller's thread in gluvirt_image_dispatch, woken through an eventfd.  So
 * user code never runs on gfapi's threads, and close can wait for every
 * request (gfapi drops the callbacks of requests on a closed file).
 * Sequential reads of read-only images may be served by the read-ahead
 * (image_readahead.c), which completes them through the same queue.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "image/image_aio.h"
#include "image/image_internal.h"
#include "image/image_readahead.h"
#include "util/stats.h"

#define MAX_WORKERS 16

struct request_queue {
    struct aio_request *head, *tail;
};

struct glv_aio {
    pthread_mutex_t lock;
    pthread_cond_t work_ready;   /* workers */
    pthread_cond_t done_ready;   /* the dispatcher */
    pthread_cond_t slot_free;    /* submitters waiting for depth, and close */
    gluvirt_completion_mode mode;
    unsigned depth;
    unsigned in_flight;          /* submitted, callbacks not yet finished */
    struct request_queue work;   /* for the workers */
    struct request_queue done;   /* for the callbacks */
    pthread_t workers[MAX_WORKERS];
    unsigned worker_count;
    pthread_t dispatcher;
    int dispatcher_running;
    int dispatcher_waiting;      /* asleep on done_ready: only then is a signal needed */
    unsigned slot_waiters;       /* asleep on slot_free: only then is a broadcast needed */
    int event_fd;                /* POLL mode */
    int stopping;
    struct glv_readahead *readahead; /* read-only images' sequential reads */
};

static void push(struct request_queue *q, struct aio_request *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
}

static struct aio_request *pop(struct request_queue *q)
{
    struct aio_request *r = q->head;

    if (r) {
        q->head = r->next;
        if (!q->head)
            q->tail = NULL;
    }
    return r;
}

/*
 * Reads submitted by callbacks are held while the rest of that batch of
 * callbacks runs, then sent with neighbours they continue merged into one
 * storage read (a merged read that fails is sent again part by part, so
 * each request gets its own answer).  The plug belongs to the thread that
 * runs the batch and to one engine.
 */
#define MERGE_MAX_BYTES (1u << 20)
#define MERGE_MAX_REQUESTS 64

struct plug {
    struct glv_aio *aio;
    struct request_queue held;
};

static __thread struct plug *current_plug;

static void unplug(struct plug *plug);

/* ------------------------------------------------------------ completion */

/*
 * Any thread: queue the request's callback.  Everything happens under the
 * lock: once it is released the callback may run and close may free the
 * engine, so this thread must not touch the engine afterwards.  The wake-up
 * is paid only when someone sleeps: the dispatcher when it waits, the
 * caller's event loop when the queue turns non-empty (dispatch empties it).
 */
static void request_done(struct aio_request *r, int64_t result)
{
    struct glv_aio *aio = r->aio;
    uint64_t one = 1;
    int was_empty;

    r->result = result;
    pthread_mutex_lock(&aio->lock);
    was_empty = aio->done.head == NULL;
    push(&aio->done, r);
    if (aio->mode == GLUVIRT_COMPLETION_THREAD) {
        if (aio->dispatcher_waiting)
            pthread_cond_signal(&aio->done_ready);
    } else if (was_empty && write(aio->event_fd, &one, sizeof one) < 0) {
        /* Only a full counter fails, and then the fd is readable anyway. */
    }
    pthread_mutex_unlock(&aio->lock);
}

static void run_callback(struct aio_request *r)
{
    struct glv_aio *aio = r->aio;

    if (r->complete)
        r->complete(r->user_data, r->result);
    if (r->release)
        r->release(r->user_data);
    free(r);
    pthread_mutex_lock(&aio->lock);
    aio->in_flight--;
    if (aio->slot_waiters)
        pthread_cond_broadcast(&aio->slot_free);
    pthread_mutex_unlock(&aio->lock);
}

/* Called with the lock held: the whole completion queue, emptied. */
static struct aio_request *take_done(struct glv_aio *aio)
{
    struct aio_request *list = aio->done.head;

    aio->done.head = aio->done.tail = NULL;
    return list;
}

/* Run a list taken from the completion queue, in completion order; the
 * reads its callbacks submit go out when the last one has returned. */
static int run_list(struct glv_aio *aio, struct aio_request *r)
{
    struct plug plug = {aio, {NULL, NULL}}, *outer = current_plug;
    int ran = 0;

    current_plug = &plug;
    while (r) {
        struct aio_request *next = r->next;

        run_callback(r);
        r = next;
        ran++;
    }
    current_plug = outer;
    unplug(&plug);
    return ran;
}

static void *dispatcher_main(void *arg)
{
    struct glv_aio *aio = arg;
    struct aio_request *list;

    pthread_mutex_lock(&aio->lock);
    for (;;) {
        while (!(list = take_done(aio)) && !aio->stopping) {
            aio->dispatcher_waiting = 1;
            pthread_cond_wait(&aio->done_ready, &aio->lock);
            aio->dispatcher_waiting = 0;
        }
        if (!list)
            break;
        pthread_mutex_unlock(&aio->lock);
        run_list(aio, list);
        pthread_mutex_lock(&aio->lock);
    }
    pthread_mutex_unlock(&aio->lock);
    return NULL;
}

static int run_ready_callbacks(struct glv_aio *aio)
{
    struct aio_request *list;
    uint64_t count;
    int ran = 0;

    if (read(aio->event_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        return -1;
    for (;;) {
        pthread_mutex_lock(&aio->lock);
        list = take_done(aio);
        pthread_mutex_unlock(&aio->lock);
        if (!list)
            return ran;
        ran += run_list(aio, list);
    }
}

/* ------------------------------------------------------------ execution */

/* The synchronous path, on a worker thread. */
static int64_t run_sync(struct aio_request *r)
{
    struct glv_format *f = r->image->format;
    int rc;

    switch (r->op) {
    case AIO_READ: {
        struct iovec inside = {r->iov.iov_base, (size_t)r->length};

        rc = r->length ? f->ops->preadv(f, &inside, 1, r->offset) : 0;
        return rc < 0 ? -(int64_t)gluvirt_errno() : (int64_t)r->length;
    }
    case AIO_WRITE:
        rc = glv_image_write_now(r->image, &r->iov, 1, r->offset, r->flags);
        return rc < 0 ? -(int64_t)gluvirt_errno() : (int64_t)r->iov.iov_len;
    case AIO_FLUSH:
        rc = f->ops->flush(f);
        break;
    case AIO_DISCARD:
        rc = r->length ? f->ops->discard(f, r->offset, r->length) : 0;
        break;
    default:
        rc = glv_image_zero_now(r->image, r->offset, r->length, r->flags);
    }
    return rc < 0 ? -(int64_t)gluvirt_errno() : 0;
}

static void *worker_main(void *arg)
{
    struct glv_aio *aio = arg;
    struct aio_request *r;

    pthread_mutex_lock(&aio->lock);
    for (;;) {
        while (!(r = pop(&aio->work)) && !aio->stopping)
            pthread_cond_wait(&aio->work_ready, &aio->lock);
        if (!r)
            break;
        pthread_mutex_unlock(&aio->lock);
        request_done(r, run_sync(r));
        pthread_mutex_lock(&aio->lock);
    }
    pthread_mutex_unlock(&aio->lock);
    return NULL;
}

/* A read that got only got bytes met the end of the file: the rest of what
 * lies inside the image reads as zeros. */
static void zero_tail(struct aio_request *r, uint64_t got)
{
    if (got < r->length)
        memset((char *)r->iov.iov_base + got, 0, (size_t)(r->length - got));
}

/* Storage callback for the native path. */
static void native_done(void *arg, int64_t result)
{
    struct aio_request *r = arg;

    if (r->op == AIO_READ && result >= 0) {
        zero_tail(r, (uint64_t)result);
        result = (int64_t)r->length;
    } else if (r->op == AIO_WRITE && result >= 0 && (uint64_t)result != r->iov.iov_len) {
        result = -EIO; /* gfapi wrote part of it: say so rather than guess */
    }
    request_done(r, result);
}

/*
 * A read the format maps, from what it has cached, onto one run of stored
 * bytes (or zeros): straight to the storage's async call, no thread hop.
 * Returns 0 when under way, -1 when a worker must run it.
 */
static int start_mapped_read(struct aio_request *r)
{
    struct glv_format *f = r->image->format;
    struct iovec inside = {r->iov.iov_base, (size_t)r->length};
    struct glv_mapping m;

    if (f->ops->map(f, r->offset, r->length, 1, &m) < 0 || m.length < r->length)
        return -1;
    if (m.kind == GLV_MAP_ZERO || (m.kind == GLV_MAP_UNALLOCATED && !r->image->backing)) {
        memset(r->iov.iov_base, 0, (size_t)r->length);
        request_done(r, (int64_t)r->length);
        return 0;
    }
    if (!glv_mapping_reads_async(&m, r->length))
        return -1;
    return m.host->ops->aio_preadv(m.host, &inside, 1, m.host_offset, native_done, r);
}

/* Raw (or a mapped read) on a backend with its own async calls: no thread
 * hop on submission. */
static int start_native(struct aio_request *r)
{
    struct glv_storage *s = r->image->storage;
    struct glv_format *f = r->image->format;
    struct iovec inside = {r->iov.iov_base, (size_t)r->length};

    /* A FUA write flushes after it: the synchronous path does both. */
    if (r->length == 0 || r->length > GLV_STORAGE_MAX_TRANSFER || (r->flags & GLUVIRT_REQ_FUA))
        return -1;
    if (!glv_format_is_raw(f))
        return r->op == AIO_READ ? start_mapped_read(r) : -1;
    if (r->op == AIO_READ && s->ops->aio_preadv)
        return s->ops->aio_preadv(s, &inside, 1, r->offset, native_done, r);
    if (r->op == AIO_WRITE && s->ops->aio_pwritev)
        return s->ops->aio_pwritev(s, &r->iov, 1, r->offset, native_done, r);
    return -1;
}

/* ------------------------------------------------------------ merged reads */

struct merged_read {
    struct aio_request *first; /* the parts, chained through next */
    struct iovec iov[MERGE_MAX_REQUESTS];
};

static void run_on_worker(struct aio_request *r);

/* Storage callback: hand each part its bytes (past a short read, the end of
 * the file: zeros, as for a single read), or on failure send each part
 * again alone, through the workers' synchronous path. */
static void merged_done(void *arg, int64_t result)
{
    struct merged_read *m = arg;
    struct aio_request *r = m->first, *next;
    uint64_t left = result > 0 ? (uint64_t)result : 0;

    for (; r; r = next) {
        next = r->next;
        if (result < 0) {
            run_on_worker(r);
            continue;
        }
        zero_tail(r, left);
        left -= left < r->length ? left : r->length;
        request_done(r, (int64_t)r->length);
    }
    free(m);
}

/* One storage read for the chain first..(count parts, total bytes), if the
 * format maps it onto one run of stored bytes.  Returns 0 when under way. */
static int start_merged(struct aio_request *first, int count, uint64_t total)
{
    struct glv_format *f = first->image->format;
    struct glv_mapping map;
    struct merged_read *m;
    struct aio_request *r;
    int i = 0;

    if (f->ops->map(f, first->offset, total, 1, &map) < 0 ||
        !glv_mapping_reads_async(&map, total) || !(m = malloc(sizeof *m)))
        return -1;
    m->first = first;
    for (r = first; r; r = r->next, i++) {
        m->iov[i].iov_base = r->iov.iov_base;
        m->iov[i].iov_len = (size_t)r->length;
    }
    if (map.host->ops->aio_preadv(map.host, m->iov, count, map.host_offset, merged_done, m) ==
        0) {
        glv_stat_add(GLV_STAT_MERGED_READS, 1);
        glv_stat_add(GLV_STAT_MERGED_REQUESTS, (uint64_t)count);
        return 0;
    }
    free(m);
    return -1;
}

static void start_one(struct aio_request *r)
{
    if (start_native(r) != 0)
        run_on_worker(r);
}

/* Send what the plug held: runs of reads that continue each other merged. */
static void unplug(struct plug *plug)
{
    struct aio_request *r = plug->held.head, *last, *rest;

    while (r) {
        uint64_t total = r->length;
        int count = 1;

        for (last = r; last->next && count < MERGE_MAX_REQUESTS &&
                       last->next->offset == last->offset + last->length &&
                       total + last->next->length <= MERGE_MAX_BYTES;
             last = last->next, count++)
            total += last->next->length;
        rest = last->next;
        last->next = NULL;
        if (count == 1 || start_merged(r, count, total) != 0) {
            while (r) {
                struct aio_request *next = r->next;

                start_one(r);
                r = next;
            }
        }
        r = rest;
    }
}

/* Called with the lock held: one more worker while there is work and room. */
static void grow_workers(struct glv_aio *aio)
{
    if (aio->worker_count < MAX_WORKERS && aio->worker_count < aio->depth &&
        aio->worker_count < aio->in_flight &&
        pthread_create(&aio->workers[aio->worker_count], NULL, worker_main, aio) == 0)
        aio->worker_count++;
}

/* Any thread: hand a request (holding its slot) to the workers. */
static void run_on_worker(struct aio_request *r)
{
    struct glv_aio *aio = r->aio;

    pthread_mutex_lock(&aio->lock);
    push(&aio->work, r);
    grow_workers(aio);
    pthread_cond_signal(&aio->work_ready);
    pthread_mutex_unlock(&aio->lock);
}

/* The read-ahead's way back into the engine (image_readahead.h). */
static void readahead_complete(void *request, int64_t result)
{
    request_done(request, result);
}

static void readahead_fallback(void *request)
{
    run_on_worker(request);
}

static int start_dispatcher(struct glv_aio *aio)
{
    if (aio->mode != GLUVIRT_COMPLETION_THREAD || aio->dispatcher_running)
        return 0;
    if (pthread_create(&aio->dispatcher, NULL, dispatcher_main, aio) != 0) {
        glv_set_error(EAGAIN, "cannot start the image's completion thread");
        return -1;
    }
    aio->dispatcher_running = 1;
    return 0;
}

int glv_aio_submit(gluvirt_image *image, struct aio_request *r)
{
    struct glv_aio *aio = image->aio;
    struct glv_format *format = image->format;
    unsigned others;
    int prefetch = 0;

    pthread_mutex_lock(&aio->lock);
    if (start_dispatcher(aio) < 0) {
        pthread_mutex_unlock(&aio->lock);
        return -1;
    }
    while (aio->in_flight >= aio->depth) {
        /* Waiting on the callback thread would wait for itself. */
        if (aio->mode == GLUVIRT_COMPLETION_POLL ||
            (aio->dispatcher_running && pthread_equal(pthread_self(), aio->dispatcher))) {
            pthread_mutex_unlock(&aio->lock);
            glv_set_error(EAGAIN, "%u requests are in flight, the queue depth: run "
                          "gluvirt_image_dispatch, then submit again", aio->depth);
            return -1;
        }
        aio->slot_waiters++;
        pthread_cond_wait(&aio->slot_free, &aio->lock);
        aio->slot_waiters--;
    }
    others = aio->in_flight++;
    pthread_mutex_unlock(&aio->lock);

    /* r may be done (and freed) once the read-ahead takes it. */
    if (r->op == AIO_READ && aio->readahead && r->length > 0 &&
        glv_readahead_take(aio->readahead, format,
                           &(struct glv_readahead_read){r, r->iov.iov_base, r->offset, r->length},
                           others, &prefetch))
        return 0;
    if (r->op == AIO_READ && !prefetch && r->length > 0 && r->length <= MERGE_MAX_BYTES &&
        current_plug && current_plug->aio == aio)
        push(&current_plug->held, r);
    else
        start_one(r);
    /* After the read itself, which matters more; image may be closed once r
     * is done, but close waits for the reserved prefetch. */
    if (prefetch)
        glv_readahead_start(aio->readahead, format);
    return 0;
}

/* ------------------------------------------------------------ the engine */

struct glv_aio *glv_aio_new(gluvirt_completion_mode mode, unsigned depth, int readahead)
{
    struct glv_aio *aio = calloc(1, sizeof *aio);

    if (!aio) {
        glv_set_oom();
        return NULL;
    }
    aio->mode = mode;
    aio->depth = depth;
    aio->event_fd = -1;
    if (mode == GLUVIRT_COMPLETION_POLL &&
        (aio->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        glv_set_error(errno, "cannot create the image's completion eventfd");
        free(aio);
        return NULL;
    }
    if (readahead &&
        !(aio->readahead = glv_readahead_new(readahead_complete, readahead_fallback))) {
        if (aio->event_fd >= 0)
            close(aio->event_fd);
        free(aio);
        return NULL;
    }
    pthread_mutex_init(&aio->lock, NULL);
    pthread_cond_init(&aio->work_ready, NULL);
    pthread_cond_init(&aio->done_ready, NULL);
    pthread_cond_init(&aio->slot_free, NULL);
    return aio;
}

void glv_aio_free(struct glv_aio *aio)
{
    unsigned i;

    if (!aio)
        return;
    /* Every request in flight completes and has its callbacks run first. */
    pthread_mutex_lock(&aio->lock);
    while (aio->in_flight > 0) {
        if (aio->mode == GLUVIRT_COMPLETION_POLL) {
            struct pollfd p = {aio->event_fd, POLLIN, 0};

            pthread_mutex_unlock(&aio->lock);
            poll(&p, 1, 100);
            run_ready_callbacks(aio);
            pthread_mutex_lock(&aio->lock);
        } else {
            aio->slot_waiters++;
            pthread_cond_wait(&aio->slot_free, &aio->lock);
            aio->slot_waiters--;
        }
    }
    aio->stopping = 1;
    pthread_cond_broadcast(&aio->work_ready);
    pthread_cond_broadcast(&aio->done_ready);
    pthread_mutex_unlock(&aio->lock);
    for (i = 0; i < aio->worker_count; i++)
        pthread_join(aio->workers[i], NULL);
    if (aio->dispatcher_running)
        pthread_join(aio->dispatcher, NULL);
    /* A prefetch may still be on its way, for no request: its storage
     * callback must arrive before the file closes. */
    glv_readahead_free(aio->readahead);
    if (aio->event_fd >= 0)
        close(aio->event_fd);
    pthread_mutex_destroy(&aio->lock);
    pthread_cond_destroy(&aio->work_ready);
    pthread_cond_destroy(&aio->done_ready);
    pthread_cond_destroy(&aio->slot_free);
    free(aio);
}

/* ------------------------------------------------------------ public calls */

GLUVIRT_API int gluvirt_image_completion_fd(gluvirt_image *image)
{
    if (!image || image->aio->mode != GLUVIRT_COMPLETION_POLL) {
        glv_set_error(EINVAL, "gluvirt_image_completion_fd: %s",
                      image ? "the image completes on its own thread (open it with "
                              "GLUVIRT_COMPLETION_POLL)" : "the image is NULL");
        return -1;
    }
    return image->aio->event_fd;
}

GLUVIRT_API int gluvirt_image_dispatch(gluvirt_image *image)
{
    if (gluvirt_image_completion_fd(image) < 0)
        return -1;
    return run_ready_callbacks(image->aio);
}

GLUVIRT_API int gluvirt_image_in_flight(gluvirt_image *image)
{
    int n;

    if (!image) {
        glv_set_error(EINVAL, "gluvirt_image_in_flight: the image is NULL");
        return -1;
    }
    pthread_mutex_lock(&image->aio->lock);
    n = (int)image->aio->in_flight;
    pthread_mutex_unlock(&image->aio->lock);
    return n;
}
