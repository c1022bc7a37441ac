/*
 * The public calls that build callback requests and hand them to the
 * engine (image_aio.c): arguments checked, release run exactly once on
 * every failure.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "image/image_aio.h"
#include "image/image_internal.h"

/* What the caller gave to be told the result: the public calls' last three
 * arguments. */
struct aio_callback {
    gluvirt_complete_fn complete;
    void *user_data;
    gluvirt_release_fn release;
};

/* Build a request; on any failure run release and return NULL. */
static struct aio_request *new_request(gluvirt_image *image, enum aio_op op,
                                       struct aio_callback cb, const char *call)
{
    struct aio_request *r;

    if (!image) {
        glv_set_error(EINVAL, "%s: the image is NULL", call);
    } else if (op != AIO_READ && op != AIO_FLUSH &&
               glv_image_check_writable(image, call) < 0) {
        /* error set */
    } else if (!(r = calloc(1, sizeof *r))) {
        glv_set_oom();
    } else {
        r->aio = image->aio;
        r->image = image;
        r->op = op;
        r->complete = cb.complete;
        r->user_data = cb.user_data;
        r->release = cb.release;
        return r;
    }
    if (cb.release)
        cb.release(cb.user_data);
    return NULL;
}

static int fail_request(struct aio_request *r)
{
    if (r->release)
        r->release(r->user_data);
    free(r);
    return -1;
}

static int submit_or_fail(gluvirt_image *image, struct aio_request *r)
{
    return glv_aio_submit(image, r) < 0 ? fail_request(r) : 0;
}

GLUVIRT_API int gluvirt_image_aio_read(gluvirt_image *image, void *buf, size_t count,
                                       uint64_t offset, gluvirt_complete_fn complete,
                                       void *user_data, gluvirt_release_fn release)
{
    struct aio_request *r = new_request(image, AIO_READ, (struct aio_callback){complete, user_data, release},
                                        "gluvirt_image_aio_read");
    int64_t size;

    if (!r)
        return -1;
    if (!buf && count > 0) {
        glv_set_error(EINVAL, "gluvirt_image_aio_read: no buffer for %zu bytes", count);
        return fail_request(r);
    }
    size = image->format->ops->size(image->format);
    r->iov.iov_base = buf;
    r->iov.iov_len = count;
    r->offset = offset;
    r->length = offset >= (uint64_t)size ? 0
                : count < (uint64_t)size - offset ? count : (uint64_t)size - offset;
    return submit_or_fail(image, r);
}

static int submit_write(gluvirt_image *image, const void *buf, size_t count, uint64_t offset,
                        unsigned flags, struct aio_callback cb, const char *call)
{
    struct aio_request *r = new_request(image, AIO_WRITE, cb, call);

    if (!r)
        return -1;
    if (!buf && count > 0) {
        glv_set_error(EINVAL, "%s: no buffer for %zu bytes", call, count);
        return fail_request(r);
    }
    if (glv_image_check_flags(call, flags, GLV_WRITE_FLAGS) < 0 ||
        glv_image_check_range(image, call, offset, count) < 0)
        return fail_request(r);
    r->flags = flags;
    r->iov.iov_base = (void *)buf;
    r->iov.iov_len = count;
    r->offset = offset;
    r->length = count;
    return submit_or_fail(image, r);
}

GLUVIRT_API int gluvirt_image_aio_write(gluvirt_image *image, const void *buf, size_t count,
                                        uint64_t offset, gluvirt_complete_fn complete,
                                        void *user_data, gluvirt_release_fn release)
{
    return submit_write(image, buf, count, offset, 0,
                        (struct aio_callback){complete, user_data, release},
                        "gluvirt_image_aio_write");
}

GLUVIRT_API int gluvirt_image_aio_write_flags(gluvirt_image *image, const void *buf,
                                              size_t count, uint64_t offset, unsigned flags,
                                              gluvirt_complete_fn complete, void *user_data,
                                              gluvirt_release_fn release)
{
    return submit_write(image, buf, count, offset, flags,
                        (struct aio_callback){complete, user_data, release},
                        "gluvirt_image_aio_write_flags");
}

GLUVIRT_API int gluvirt_image_aio_flush(gluvirt_image *image, gluvirt_complete_fn complete,
                                        void *user_data, gluvirt_release_fn release)
{
    struct aio_request *r = new_request(image, AIO_FLUSH, (struct aio_callback){complete, user_data, release},
                                        "gluvirt_image_aio_flush");

    return r ? submit_or_fail(image, r) : -1;
}

static int submit_range(gluvirt_image *image, enum aio_op op, uint64_t offset, uint64_t length,
                        unsigned flags, struct aio_callback cb, const char *call)
{
    struct aio_request *r = new_request(image, op, cb, call);

    if (!r)
        return -1;
    if (glv_image_check_flags(call, flags, op == AIO_WRITE_ZEROES ? GLV_ZERO_FLAGS : 0) < 0 ||
        glv_image_check_range(image, call, offset, length) < 0)
        return fail_request(r);
    r->flags = flags;
    r->offset = offset;
    r->length = length;
    return submit_or_fail(image, r);
}

GLUVIRT_API int gluvirt_image_aio_discard(gluvirt_image *image, uint64_t offset,
                                          uint64_t length, gluvirt_complete_fn complete,
                                          void *user_data, gluvirt_release_fn release)
{
    return submit_range(image, AIO_DISCARD, offset, length, 0,
                        (struct aio_callback){complete, user_data, release},
                        "gluvirt_image_aio_discard");
}

GLUVIRT_API int gluvirt_image_aio_write_zeroes(gluvirt_image *image, uint64_t offset,
                                               uint64_t length, gluvirt_complete_fn complete,
                                               void *user_data, gluvirt_release_fn release)
{
    return submit_range(image, AIO_WRITE_ZEROES, offset, length,
                        image ? glv_image_plain_zero_flags(image) : 0,
                        (struct aio_callback){complete, user_data, release},
                        "gluvirt_image_aio_write_zeroes");
}

GLUVIRT_API int gluvirt_image_aio_write_zeroes_flags(gluvirt_image *image, uint64_t offset,
                                                     uint64_t length, unsigned flags,
                                                     gluvirt_complete_fn complete,
                                                     void *user_data,
                                                     gluvirt_release_fn release)
{
    return submit_range(image, AIO_WRITE_ZEROES, offset, length, flags,
                        (struct aio_callback){complete, user_data, release},
                        "gluvirt_image_aio_write_zeroes_flags");
}
