/*
 * The image handle: picks the storage backend from the target, the format
 * driver from the caller's options, and checks every request against the
 * image's size and mode before a driver sees it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"
#include "uri/uri_internal.h"
#include "util/internal.h"

/* ------------------------------------------------------------ options */

GLUVIRT_API gluvirt_open_options *gluvirt_open_options_new(void)
{
    gluvirt_open_options *o = calloc(1, sizeof *o);

    if (!o) {
        glv_set_oom();
        return NULL;
    }
    o->queue_depth = GLV_DEFAULT_QUEUE_DEPTH;
    return o;
}

GLUVIRT_API void gluvirt_open_options_free(gluvirt_open_options *o)
{
    if (o)
        free(o->snapshot);
    free(o);
}

GLUVIRT_API int gluvirt_open_options_set_l2_cache_size(gluvirt_open_options *o, uint64_t bytes)
{
    if (!o) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_l2_cache_size: the options object is "
                      "NULL");
        return -1;
    }
    o->l2_cache_size = bytes;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_backing(gluvirt_open_options *o,
                                                 gluvirt_backing_policy policy)
{
    if (!o || (policy != GLUVIRT_BACKING_SAME_STORE && policy != GLUVIRT_BACKING_ANY &&
               policy != GLUVIRT_BACKING_NONE)) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_backing: %s",
                      o ? "unknown backing policy" : "the options object is NULL");
        return -1;
    }
    o->backing = policy;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_snapshot(gluvirt_open_options *o,
                                                  const char *name_or_id)
{
    char *copy = NULL;

    if (!o) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_snapshot: the options object is NULL");
        return -1;
    }
    if (name_or_id && !(copy = strdup(name_or_id))) {
        glv_set_oom();
        return -1;
    }
    free(o->snapshot);
    o->snapshot = copy;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_format(gluvirt_open_options *o, gluvirt_format format)
{
    if (!o || (format != GLUVIRT_FORMAT_RAW && format != GLUVIRT_FORMAT_QCOW2 &&
               format != GLUVIRT_FORMAT_PROBE)) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_format: %s",
                      o ? "unknown format" : "the options object is NULL");
        return -1;
    }
    o->format = format;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_writable(gluvirt_open_options *o, int writable)
{
    if (!o) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_writable: the options object is NULL");
        return -1;
    }
    o->writable = writable != 0;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_repair(gluvirt_open_options *o, int repair)
{
    if (!o) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_repair: the options object is NULL");
        return -1;
    }
    o->repair = repair != 0;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_completion(gluvirt_open_options *o,
                                                    gluvirt_completion_mode mode)
{
    if (!o || (mode != GLUVIRT_COMPLETION_THREAD && mode != GLUVIRT_COMPLETION_POLL)) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_completion: %s",
                      o ? "unknown completion mode" : "the options object is NULL");
        return -1;
    }
    o->completion = mode;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_queue_depth(gluvirt_open_options *o, unsigned depth)
{
    if (!o || depth < 1 || depth > GLV_MAX_QUEUE_DEPTH) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_queue_depth: %s",
                      o ? "the depth must be 1..4096" : "the options object is NULL");
        return -1;
    }
    o->queue_depth = depth;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_direct(gluvirt_open_options *o, int direct)
{
    if (!o) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_direct: the options object is NULL");
        return -1;
    }
    o->direct = direct != 0;
    return 0;
}

/* ------------------------------------------------------------ opening */

static const unsigned char qcow2_magic[4] = {'Q', 'F', 'I', 0xfb};

/* The format to read: what the caller said, or, only when asked to probe,
 * what the first bytes say. */
static int choose_format(struct glv_storage *storage, gluvirt_format asked, gluvirt_format *out)
{
    /* One aligned block, so that the read works with direct I/O too. */
    enum { PROBE_SIZE = 4096 };
    unsigned char *head;
    struct iovec iov;
    int rc;

    *out = asked;
    if (asked != GLUVIRT_FORMAT_PROBE)
        return 0;
    if (posix_memalign((void **)&head, PROBE_SIZE, PROBE_SIZE) != 0) {
        glv_set_oom();
        return -1;
    }
    iov.iov_base = head;
    iov.iov_len = PROBE_SIZE;
    rc = storage->ops->preadv(storage, &iov, 1, 0);
    if (rc == 0)
        *out = memcmp(head, qcow2_magic, sizeof qcow2_magic) == 0 ? GLUVIRT_FORMAT_QCOW2
                                                                   : GLUVIRT_FORMAT_RAW;
    free(head);
    return rc;
}

/* Everything one open needs; the top image and its backing files alike. */
struct open_request {
    gluvirt_pool *pool;       /* gluster: the chain's pool */
    gluvirt_pool *own_pool;   /* made for this chain; the image takes it over */
    const gluvirt_uri *uri;   /* gluster target, or NULL */
    const char *path;         /* local target, or NULL */
    gluvirt_format format;
    const gluvirt_open_options *options;
    const struct glv_open_context *parent; /* NULL for the image the caller opens */
};

static void image_destroy(gluvirt_image *image)
{
    gluvirt_image *backing = image->backing;

    glv_aio_free(image->aio);
    if (image->format)
        image->format->ops->close(image->format);
    gluvirt_image_close(backing);
    if (image->storage)
        image->storage->ops->close(image->storage);
    gluvirt_pool_free(image->own_pool);
    gluvirt_uri_free(image->uri);
    free(image->name);
    free(image->identity);
    free(image->backing_full_name);
    free(image);
}

/* A name that is the same for every way of reaching the file: what loop
 * detection compares. */
static char *file_identity(const struct open_request *req)
{
    struct glv_strbuf sb = {0};
    char *real;

    if (req->uri) {
        glv_strbuf_printf(&sb, "gluster:%s:/%s", req->uri->volume, req->uri->path);
        return glv_strbuf_finish(&sb);
    }
    if ((real = realpath(req->path, NULL)))
        return real;
    glv_set_error(errno, "cannot resolve the path %s: %s", req->path, strerror(errno));
    return NULL;
}

/* What messages and info call a gluster image: its URI, or with several
 * volfile servers (which one URI cannot hold) "json:" and QEMU's JSON. */
static char *uri_name(const gluvirt_uri *uri)
{
    return uri->server_count <= 1 ? gluvirt_uri_format(uri) : gluvirt_uri_to_qemu_json(uri);
}

static int open_format(gluvirt_image *image, const struct open_request *req,
                       struct glv_open_context *ctx)
{
    const gluvirt_open_options *o = req->options;
    const char *snapshot = req->parent ? NULL : o->snapshot;
    gluvirt_format format;

    if (choose_format(image->storage, req->format, &format) < 0)
        return -1;
    /* Locked before the driver reads metadata another writer may be
     * changing; backing files as readers; a repair open as a writer (it
     * writes metadata). */
    if (glv_image_lock(image->storage, image->name, o, image->writable || image->repairable,
                       format == GLUVIRT_FORMAT_QCOW2) < 0)
        return -1;
    if (format == GLUVIRT_FORMAT_QCOW2 && o->direct) {
        /* The driver reads and writes its metadata in pieces smaller than
         * a block, at offsets direct I/O refuses (EINVAL from the storage,
         * which would name no cause). */
        glv_set_error(ENOTSUP, "%s is a qcow2 image, which this version cannot open with direct "
                      "I/O (O_DIRECT, cache=none): open it without the direct option "
                      "(gluvirt: without -t none)", image->name);
        return -1;
    }
    if (format == GLUVIRT_FORMAT_QCOW2) {
        struct glv_qcow2_options q = {o->l2_cache_size, snapshot,
                                      glv_image_sibling_opener(ctx), image->writable};

        if (!(image->format = glv_format_qcow2_open(image->storage, &q)))
            return -1;
        return glv_image_open_backing(image, ctx);
    }
    if (snapshot) {
        glv_set_error(EINVAL, "%s is opened as a raw image, which has no snapshots; open it "
                      "as qcow2 to read snapshot '%s'", image->name, snapshot);
        return -1;
    }
    return (image->format = glv_format_raw_open(image->storage)) ? 0 : -1;
}

static gluvirt_image *open_image(struct open_request *req)
{
    /* Only the image asked for is written; its backing chain is read. */
    int writable = req->options->writable && !req->parent;
    int repairable = req->options->repair && !req->parent;
    struct glv_storage_flags flags = {writable || repairable, req->options->direct};
    struct glv_open_context ctx = {req->parent, NULL, req->options,
                                   req->parent ? req->parent->depth + 1 : 0};
    gluvirt_image *image = calloc(1, sizeof *image);

    if (!image) {
        glv_set_oom();
        gluvirt_pool_free(req->own_pool);
        return NULL;
    }
    ctx.image = image;
    image->own_pool = req->own_pool;
    image->pool = req->pool;
    image->writable = writable;
    if (!req->parent && glv_image_check_lock_options(req->options, req->uri ? req->uri->path
                                                                            : req->path) < 0)
        goto fail;
    image->repairable = repairable;
    if (req->uri) {
        if (!(image->uri = gluvirt_uri_dup(req->uri)) || !(image->name = uri_name(req->uri)))
            goto fail;
        image->storage = glv_storage_gluster_open(req->pool, req->uri, flags);
    } else {
        if (!(image->name = strdup(req->path))) {
            glv_set_oom();
            goto fail;
        }
        image->storage = glv_storage_local_open(req->path, flags);
    }
    if (!image->storage || !(image->identity = file_identity(req)) ||
        open_format(image, req, &ctx) < 0)
        goto fail;
    if (!(image->aio = glv_aio_new(req->options->completion, req->options->queue_depth,
                                   !image->writable && !image->repairable)))
        goto fail;
    glv_log(GLUVIRT_LOG_DEBUG, "%s: opened as %s, %s", image->name, image->format->ops->name,
            image->writable ? "writable" : "read-only");
    return image;
fail:
    image_destroy(image);
    return NULL;
}

static const gluvirt_open_options default_options = {
    GLUVIRT_FORMAT_RAW, 0, 0, GLUVIRT_COMPLETION_THREAD, GLV_DEFAULT_QUEUE_DEPTH, 0,
    GLUVIRT_BACKING_SAME_STORE, NULL, 0, GLUVIRT_LOCKING_ON, 0};

gluvirt_image *glv_image_open_in_chain(gluvirt_pool *pool, const gluvirt_uri *uri,
                                       const char *path, gluvirt_format format,
                                       const struct glv_open_context *parent)
{
    struct open_request req = {pool, NULL, uri, path, format, parent->options, parent};

    return open_image(&req);
}

GLUVIRT_API gluvirt_image *gluvirt_image_open_uri(gluvirt_pool *pool, const gluvirt_uri *uri,
                                                  const gluvirt_open_options *options)
{
    struct open_request req = {pool, NULL, uri, NULL, GLUVIRT_FORMAT_RAW,
                               options ? options : &default_options, NULL};

    if (!uri) {
        glv_set_error(EINVAL, "gluvirt_image_open_uri: the URI is NULL");
        return NULL;
    }
    req.format = req.options->format;
    /* One pool for the whole backing chain, so its files share connections. */
    if (!pool && !(req.pool = req.own_pool = gluvirt_pool_new(NULL)))
        return NULL;
    return open_image(&req);
}

GLUVIRT_API gluvirt_image *gluvirt_image_open(gluvirt_pool *pool, const char *target,
                                              const gluvirt_open_options *options)
{
    struct open_request req = {NULL, NULL, NULL, target, GLUVIRT_FORMAT_RAW,
                               options ? options : &default_options, NULL};
    gluvirt_image *image;
    gluvirt_uri *uri;

    if (!target || !*target) {
        glv_set_error(EINVAL, "gluvirt_image_open: no target given");
        return NULL;
    }
    req.format = req.options->format;
    if (!glv_uri_names_gluster(target))
        return open_image(&req);
    if (!(uri = gluvirt_uri_parse(target)))
        return NULL;
    image = gluvirt_image_open_uri(pool, uri, options);
    gluvirt_uri_free(uri);
    return image;
}

GLUVIRT_API int gluvirt_image_close(gluvirt_image *image)
{
    int rc = 0;

    if (!image)
        return 0;
    glv_aio_free(image->aio); /* every callback has run before anything closes */
    image->aio = NULL;
    if (image->writable)
        rc = image->format->ops->flush(image->format);
    if (rc < 0)
        glv_log(GLUVIRT_LOG_ERROR, "closing %s: %s", image->name, gluvirt_errmsg());
    else
        glv_log(GLUVIRT_LOG_DEBUG, "%s: closed", image->name);
    image_destroy(image);
    return rc;
}

/* ------------------------------------------------------------ requests */

static int check_image(gluvirt_image *image, const char *call)
{
    if (image)
        return 0;
    glv_set_error(EINVAL, "%s: the image is NULL", call);
    return -1;
}

int glv_image_check_writable(gluvirt_image *image, const char *call)
{
    if (check_image(image, call) < 0)
        return -1;
    if (image->writable)
        return 0;
    glv_set_error(EROFS, "%s: %s was opened read-only; open it with "
                  "gluvirt_open_options_set_writable to change it", call, image->storage->name);
    return -1;
}

/* Writes and zeroing stay inside the image. */
int glv_image_check_range(gluvirt_image *image, const char *call, uint64_t offset,
                          uint64_t length)
{
    int64_t size = image->format->ops->size(image->format);

    if (offset > (uint64_t)size || length > (uint64_t)size - offset) {
        glv_set_error(EINVAL, "%s: bytes %llu..%llu are past the end of %s (%lld bytes); "
                      "resize it first", call, (unsigned long long)offset,
                      (unsigned long long)(offset + length), image->storage->name,
                      (long long)size);
        return -1;
    }
    return 0;
}

GLUVIRT_API int64_t gluvirt_image_size(gluvirt_image *image)
{
    if (check_image(image, "gluvirt_image_size") < 0)
        return -1;
    return image->format->ops->size(image->format);
}

GLUVIRT_API const char *gluvirt_image_format(gluvirt_image *image)
{
    return image ? image->format->ops->name : NULL;
}

GLUVIRT_API ssize_t gluvirt_image_preadv(gluvirt_image *image, const struct iovec *iov,
                                         int iovcnt, uint64_t offset)
{
    int64_t length, size;
    uint64_t count;
    struct iovec *clipped;
    uint64_t clipped_len;
    int n, rc;

    if (check_image(image, "gluvirt_image_preadv") < 0 ||
        (length = glv_iov_length(iov, iovcnt)) < 0)
        return -1;
    if (length > SSIZE_MAX) {
        glv_set_error(EINVAL, "gluvirt_image_preadv: a read of more than SSIZE_MAX bytes");
        return -1;
    }
    size = image->format->ops->size(image->format);
    if (offset >= (uint64_t)size || length == 0)
        return 0;
    count = (uint64_t)length < (uint64_t)size - offset ? (uint64_t)length : (uint64_t)size - offset;
    if (count == (uint64_t)length)
        return image->format->ops->preadv(image->format, iov, iovcnt, offset) < 0 ? -1 : length;
    /* The end of the image: read only what lies before it. */
    if (!(clipped = malloc((size_t)iovcnt * sizeof *clipped))) {
        glv_set_oom();
        return -1;
    }
    n = glv_iov_slice(iov, iovcnt, 0, count, clipped, iovcnt, &clipped_len);
    rc = image->format->ops->preadv(image->format, clipped, n, offset);
    free(clipped);
    return rc < 0 ? -1 : (ssize_t)count;
}

GLUVIRT_API ssize_t gluvirt_image_pread(gluvirt_image *image, void *buf, size_t count,
                                        uint64_t offset)
{
    struct iovec iov = {buf, count};

    return gluvirt_image_preadv(image, &iov, 1, offset);
}

/* ------------------------------------------------------------ request flags */

_Static_assert(GLUVIRT_REQ_MAY_TRIM == GLV_ZERO_MAY_TRIM &&
               GLUVIRT_REQ_NO_FALLBACK == GLV_ZERO_NO_FALLBACK,
               "the drivers take the public zeroing flags as they are");

int glv_image_check_flags(const char *call, unsigned flags, unsigned allowed)
{
    if (!(flags & ~allowed))
        return 0;
    glv_set_error(EINVAL, "%s: flags 0x%x include 0x%x, which this call does not take "
                  "(it takes 0x%x: see the GLUVIRT_REQ_* flags in gluvirt/image.h)",
                  call, flags, flags & ~allowed, allowed);
    return -1;
}

unsigned glv_image_plain_zero_flags(const gluvirt_image *image)
{
    /* As 1.0 did: qcow2 frees the clusters it zeroes, raw storage keeps its
     * blocks allocated. */
    return glv_format_is_raw(image->format) ? 0 : GLV_ZERO_MAY_TRIM;
}

int glv_image_write_now(gluvirt_image *image, const struct iovec *iov, int iovcnt,
                        uint64_t offset, unsigned flags)
{
    struct glv_format *f = image->format;

    if (f->ops->pwritev(f, iov, iovcnt, offset) < 0)
        return -1;
    return (flags & GLUVIRT_REQ_FUA) ? f->ops->flush(f) : 0;
}

int glv_image_zero_now(gluvirt_image *image, uint64_t offset, uint64_t length, unsigned flags)
{
    struct glv_format *f = image->format;

    if (length && f->ops->write_zeroes(f, offset, length, flags & ~GLUVIRT_REQ_FUA) < 0)
        return -1;
    return (flags & GLUVIRT_REQ_FUA) ? f->ops->flush(f) : 0;
}

static ssize_t pwritev_flags(gluvirt_image *image, const struct iovec *iov, int iovcnt,
                             uint64_t offset, unsigned flags, const char *call)
{
    int64_t length;

    if (glv_image_check_writable(image, call) < 0 ||
        glv_image_check_flags(call, flags, GLV_WRITE_FLAGS) < 0 ||
        (length = glv_iov_length(iov, iovcnt)) < 0)
        return -1;
    if (length > SSIZE_MAX) {
        glv_set_error(EINVAL, "%s: a write of more than SSIZE_MAX bytes", call);
        return -1;
    }
    if (glv_image_check_range(image, call, offset, (uint64_t)length) < 0)
        return -1;
    if (length == 0)
        return 0;
    return glv_image_write_now(image, iov, iovcnt, offset, flags) < 0 ? -1 : length;
}

GLUVIRT_API ssize_t gluvirt_image_pwritev(gluvirt_image *image, const struct iovec *iov,
                                          int iovcnt, uint64_t offset)
{
    return pwritev_flags(image, iov, iovcnt, offset, 0, "gluvirt_image_pwritev");
}

GLUVIRT_API ssize_t gluvirt_image_pwritev_flags(gluvirt_image *image, const struct iovec *iov,
                                                int iovcnt, uint64_t offset, unsigned flags)
{
    return pwritev_flags(image, iov, iovcnt, offset, flags, "gluvirt_image_pwritev_flags");
}

GLUVIRT_API ssize_t gluvirt_image_pwrite(gluvirt_image *image, const void *buf, size_t count,
                                         uint64_t offset)
{
    struct iovec iov = {(void *)buf, count};

    return pwritev_flags(image, &iov, 1, offset, 0, "gluvirt_image_pwrite");
}

GLUVIRT_API ssize_t gluvirt_image_pwrite_flags(gluvirt_image *image, const void *buf,
                                               size_t count, uint64_t offset, unsigned flags)
{
    struct iovec iov = {(void *)buf, count};

    return pwritev_flags(image, &iov, 1, offset, flags, "gluvirt_image_pwrite_flags");
}

GLUVIRT_API int gluvirt_image_flush(gluvirt_image *image)
{
    if (check_image(image, "gluvirt_image_flush") < 0)
        return -1;
    if (!image->writable)
        return 0; /* nothing written, nothing to make durable */
    return image->format->ops->flush(image->format);
}

GLUVIRT_API int gluvirt_image_discard(gluvirt_image *image, uint64_t offset, uint64_t length)
{
    if (glv_image_check_writable(image, "gluvirt_image_discard") < 0 ||
        glv_image_check_range(image, "gluvirt_image_discard", offset, length) < 0)
        return -1;
    return length ? image->format->ops->discard(image->format, offset, length) : 0;
}

GLUVIRT_API int gluvirt_image_write_zeroes(gluvirt_image *image, uint64_t offset,
                                           uint64_t length)
{
    if (glv_image_check_writable(image, "gluvirt_image_write_zeroes") < 0 ||
        glv_image_check_range(image, "gluvirt_image_write_zeroes", offset, length) < 0)
        return -1;
    return glv_image_zero_now(image, offset, length, glv_image_plain_zero_flags(image));
}

GLUVIRT_API int gluvirt_image_write_zeroes_flags(gluvirt_image *image, uint64_t offset,
                                                 uint64_t length, unsigned flags)
{
    const char *call = "gluvirt_image_write_zeroes_flags";

    if (glv_image_check_writable(image, call) < 0 ||
        glv_image_check_flags(call, flags, GLV_ZERO_FLAGS) < 0 ||
        glv_image_check_range(image, call, offset, length) < 0)
        return -1;
    return glv_image_zero_now(image, offset, length, flags);
}

GLUVIRT_API int gluvirt_image_truncate(gluvirt_image *image, uint64_t size)
{
    if (glv_image_check_writable(image, "gluvirt_image_truncate") < 0)
        return -1;
    if (size > INT64_MAX) {
        glv_set_error(EINVAL, "gluvirt_image_truncate: size %llu is too large",
                      (unsigned long long)size);
        return -1;
    }
    return image->format->ops->truncate(image->format, size);
}
