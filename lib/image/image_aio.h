/* Callback requests, shared by the engine (image_aio.c) and the calls that
 * build and submit them (image_aio_submit.c). */
#ifndef GLUVIRT_IMAGE_AIO_H
#define GLUVIRT_IMAGE_AIO_H

#include "image/image_internal.h"

enum aio_op { AIO_READ, AIO_WRITE, AIO_FLUSH, AIO_DISCARD, AIO_WRITE_ZEROES };

struct aio_request {
    struct aio_request *next;
    struct glv_aio *aio;
    gluvirt_image *image;
    enum aio_op op;
    unsigned flags;  /* GLUVIRT_REQ_*, checked: writes and zeroing */
    struct iovec iov;
    uint64_t offset;
    uint64_t length; /* reads: what lies inside the image */
    int64_t result;
    gluvirt_complete_fn complete;
    void *user_data;
    gluvirt_release_fn release;
};

/* Take a slot in image's engine (or fail: -1 with the error set, r not
 * taken), then run r one way or the other; its callbacks run once it is
 * done. */
int glv_aio_submit(gluvirt_image *image, struct aio_request *r);

#endif
