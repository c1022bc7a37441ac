/*
 * Sequential read-ahead for callback reads on read-only images
 * (image_readahead.c), used by the callback engine (image_aio.c).
 *
 * At queue depth 1 every read waits one storage round trip.  When a read
 * starts where the previous one ended and little else is in flight, the
 * engine reads the next range of the same length at the same time, into a
 * buffer of its own; the read that then asks for exactly that range is
 * served from it, or waits for it.  Only read-only images: nothing in the
 * library can change the bytes under a prefetched buffer then.
 */
#ifndef GLUVIRT_IMAGE_READAHEAD_H
#define GLUVIRT_IMAGE_READAHEAD_H

#include <stdint.h>

#include "format/format.h"

struct glv_readahead;

/* How a request the read-ahead took ends (functions of the engine, called
 * on any thread, without the read-ahead's lock): complete(request, result)
 * queues its completion; fallback(request) runs it the ordinary way, on a
 * worker thread (the prefetch failed or came back short). */
typedef void (*glv_readahead_complete_fn)(void *request, int64_t result);
typedef void (*glv_readahead_fallback_fn)(void *request);

/* NULL (error set) when out of memory.  The buffer comes with the first
 * prefetch. */
struct glv_readahead *glv_readahead_new(glv_readahead_complete_fn complete,
                                        glv_readahead_fallback_fn fallback);

/* Wait for a prefetch in flight (its storage callback must not arrive after
 * this), then free.  Accepts NULL. */
void glv_readahead_free(struct glv_readahead *ra);

/* A read the engine asks the read-ahead to serve: [offset, offset + length)
 * (inside the virtual size of the format) into buf; request is what
 * complete is called with. */
struct glv_readahead_read {
    void *request;
    void *buf;
    uint64_t offset;
    uint64_t length;
};

/*
 * The read rd, on a read-only image of format f, while others other
 * requests of the engine are in flight.  Returns 1 when the read-ahead took request: served from the
 * prefetched bytes (complete has been called) or attached to the prefetch in
 * flight (complete or fallback runs when it arrives).  Returns 0 when the
 * caller must run the read; then, when *prefetch is set, the caller calls
 * glv_readahead_start once it has started its read.
 */
int glv_readahead_take(struct glv_readahead *ra, struct glv_format *f,
                       const struct glv_readahead_read *rd, unsigned others, int *prefetch);

/* Start the prefetch glv_readahead_take reserved, for the image of format f. */
void glv_readahead_start(struct glv_readahead *ra, struct glv_format *f);

#endif
