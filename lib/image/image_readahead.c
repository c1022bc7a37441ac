/*
 * Sequential read-ahead for callback reads (see image_readahead.h).
 *
 * One prefetch at a time, into one buffer: a read that follows the previous
 * one goes to the storage together with a prefetch of the range after it,
 * so two reads share one round trip; the next read is served from the
 * buffer (or waits for the prefetch, already on its way); the read after
 * that starts the pair again.  Starting the next prefetch right after a
 * read served from the buffer would leave that read waiting for it alone:
 * one round trip per read again.
 *
 * The storage callback of a prefetch runs on gfapi's thread: there it only
 * copies bytes and hands the waiting request back to the engine, which
 * queues it for the dispatcher (or for a worker, when the prefetch failed).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_readahead.h"
#include "util/stats.h"

/* Larger reads keep the storage busy by themselves; copying them out of a
 * prefetch cost more than it saved (1 MiB at QD1 measured 0.74x qemu-img
 * bench with it, 1.04x without). */
#define READAHEAD_MAX_LENGTH (256u << 10)
#define READAHEAD_ALIGNMENT 4096

enum readahead_state {
    READAHEAD_EMPTY,
    READAHEAD_IN_FLIGHT, /* the storage writes into the buffer */
    READAHEAD_READY,     /* the buffer holds [offset, offset + length) */
    READAHEAD_COPYING    /* a thread copies out of the buffer, without the lock */
};

struct glv_readahead {
    pthread_mutex_t lock;
    pthread_cond_t idle;        /* the state left IN_FLIGHT or COPYING: for free */
    enum readahead_state state;
    uint64_t offset, length;    /* the prefetch's range */
    int dropped;                /* IN_FLIGHT: another read came; throw the bytes away */
    void *waiter;               /* IN_FLIGHT: the request waiting for the bytes */
    void *waiter_buffer;
    uint64_t last_end;          /* where the last read ended */
    void *buffer;
    size_t buffer_size;
    glv_readahead_complete_fn complete;
    glv_readahead_fallback_fn fallback;
};

/* The state changes under the lock, but glv_readahead_take's fast path
 * peeks at it without the lock: every change is an atomic store. */
static void set_state(struct glv_readahead *ra, enum readahead_state state)
{
    __atomic_store_n(&ra->state, state, __ATOMIC_RELAXED);
}

struct glv_readahead *glv_readahead_new(glv_readahead_complete_fn complete,
                                        glv_readahead_fallback_fn fallback)
{
    struct glv_readahead *ra = calloc(1, sizeof *ra);

    if (!ra) {
        glv_set_oom();
        return NULL;
    }
    pthread_mutex_init(&ra->lock, NULL);
    pthread_cond_init(&ra->idle, NULL);
    set_state(ra, READAHEAD_EMPTY);
    ra->last_end = UINT64_MAX; /* the first read is not sequential */
    ra->complete = complete;
    ra->fallback = fallback;
    return ra;
}

void glv_readahead_free(struct glv_readahead *ra)
{
    if (!ra)
        return;
    pthread_mutex_lock(&ra->lock);
    while (ra->state == READAHEAD_IN_FLIGHT || ra->state == READAHEAD_COPYING)
        pthread_cond_wait(&ra->idle, &ra->lock);
    pthread_mutex_unlock(&ra->lock);
    pthread_mutex_destroy(&ra->lock);
    pthread_cond_destroy(&ra->idle);
    free(ra->buffer);
    free(ra);
}

/* Called with the lock held: the buffer is free again.  After the unlock
 * that follows, free may run: the caller must not touch ra then. */
static void become_empty(struct glv_readahead *ra)
{
    set_state(ra, READAHEAD_EMPTY);
    ra->dropped = 0;
    ra->waiter = ra->waiter_buffer = NULL;
    pthread_cond_broadcast(&ra->idle);
}

/* The storage callback of the prefetch, on gfapi's thread. */
static void prefetch_done(void *arg, int64_t result)
{
    struct glv_readahead *ra = arg;
    void *waiter, *destination;
    glv_readahead_complete_fn complete = ra->complete;
    glv_readahead_fallback_fn fallback = ra->fallback;
    uint64_t length;
    int whole;

    pthread_mutex_lock(&ra->lock);
    length = ra->length;
    whole = result == (int64_t)length && !ra->dropped;
    waiter = ra->waiter;
    destination = ra->waiter_buffer;
    if (!waiter) {
        if (whole)
            set_state(ra, READAHEAD_READY);
        else
            become_empty(ra);
        pthread_cond_broadcast(&ra->idle);
        pthread_mutex_unlock(&ra->lock);
        return;
    }
    set_state(ra, READAHEAD_COPYING); /* keeps the buffer and ra alive */
    ra->waiter = ra->waiter_buffer = NULL;
    pthread_mutex_unlock(&ra->lock);
    if (whole)
        memcpy(destination, ra->buffer, (size_t)length);
    pthread_mutex_lock(&ra->lock);
    become_empty(ra);
    pthread_mutex_unlock(&ra->lock);
    /* The waiter is still in flight in the engine, so the engine (and ra)
     * outlive these calls. */
    if (whole) {
        glv_stat_add(GLV_STAT_READAHEAD_HITS, 1);
        complete(waiter, (int64_t)length);
    } else
        fallback(waiter); /* the worker reports the real error, if any */
}

/* Whether [offset, offset + length) lies inside f's virtual size. */
static int fits_after(struct glv_format *f, uint64_t offset, uint64_t length)
{
    int64_t size = f->ops->size(f);

    return size >= 0 && length <= (uint64_t)size && offset <= (uint64_t)size - length;
}

int glv_readahead_take(struct glv_readahead *ra, struct glv_format *f,
                       const struct glv_readahead_read *rd, unsigned others, int *prefetch)
{
    void *request = rd->request, *buf = rd->buf;
    uint64_t offset = rd->offset, length = rd->length;
    int sequential;
    uint64_t next = offset + length;

    *prefetch = 0;
    /* Deep queues keep the storage busy without help: no lock for them
     * while nothing is prefetched (a stale look only delays the check). */
    if (others > 1 && __atomic_load_n(&ra->state, __ATOMIC_RELAXED) == READAHEAD_EMPTY)
        return 0;
    pthread_mutex_lock(&ra->lock);
    sequential = offset == ra->last_end;
    ra->last_end = next;
    if ((ra->state == READAHEAD_READY ||
         (ra->state == READAHEAD_IN_FLIGHT && !ra->dropped && !ra->waiter)) &&
        offset == ra->offset && length == ra->length) {
        if (ra->state == READAHEAD_IN_FLIGHT) {
            ra->waiter = request;
            ra->waiter_buffer = buf;
            pthread_mutex_unlock(&ra->lock);
            return 1;
        }
        set_state(ra, READAHEAD_COPYING);
        pthread_mutex_unlock(&ra->lock);
        memcpy(buf, ra->buffer, (size_t)length);
        pthread_mutex_lock(&ra->lock);
        become_empty(ra);
        pthread_mutex_unlock(&ra->lock);
        glv_stat_add(GLV_STAT_READAHEAD_HITS, 1);
        ra->complete(request, (int64_t)length);
        return 1;
    }
    /* Any other read: the prefetched bytes are not what the reader wants. */
    if (ra->state == READAHEAD_READY)
        become_empty(ra);
    else if (ra->state == READAHEAD_IN_FLIGHT && !ra->waiter)
        ra->dropped = 1;
    if (sequential && others <= 1 && length > 0 && length <= READAHEAD_MAX_LENGTH &&
        ra->state == READAHEAD_EMPTY && fits_after(f, next, length)) {
        /* Reserved now, so close waits for it even before it is sent. */
        set_state(ra, READAHEAD_IN_FLIGHT);
        ra->offset = next;
        ra->length = length;
        *prefetch = 1;
    }
    pthread_mutex_unlock(&ra->lock);
    return 0;
}

/* The buffer is the prefetch's (state IN_FLIGHT): size it for length. */
static int size_buffer(struct glv_readahead *ra, uint64_t length)
{
    void *buffer;

    if (ra->buffer_size == length)
        return 0;
    free(ra->buffer);
    ra->buffer = NULL;
    ra->buffer_size = 0;
    if (posix_memalign(&buffer, READAHEAD_ALIGNMENT, (size_t)length) != 0)
        return -1;
    ra->buffer = buffer;
    ra->buffer_size = (size_t)length;
    return 0;
}

void glv_readahead_start(struct glv_readahead *ra, struct glv_format *f)
{
    struct glv_mapping m;
    struct iovec iov;
    void *waiter;
    glv_readahead_fallback_fn fallback = ra->fallback;

    /* Only this thread touches the range and the buffer until the storage
     * call is sent: the state says IN_FLIGHT, so nobody else starts one. */
    if (f->ops->map(f, ra->offset, ra->length, 1, &m) == 0 &&
        glv_mapping_reads_async(&m, ra->length) && size_buffer(ra, ra->length) == 0) {
        iov.iov_base = ra->buffer;
        iov.iov_len = (size_t)ra->length;
        if (m.host->ops->aio_preadv(m.host, &iov, 1, m.host_offset, prefetch_done, ra) == 0) {
            glv_stat_add(GLV_STAT_READAHEAD_PREFETCHES, 1);
            return;
        }
    }
    /* No prefetch after all; a read that attached meanwhile runs its own way. */
    pthread_mutex_lock(&ra->lock);
    waiter = ra->waiter;
    become_empty(ra);
    pthread_mutex_unlock(&ra->lock);
    if (waiter)
        fallback(waiter);
}
