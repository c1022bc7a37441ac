/* The raw format: the virtual disk is the file, byte for byte. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "format/format.h"

struct raw_format {
    struct glv_format base;
    int64_t size; /* cached: every request checks it; truncate updates it */
};

static struct raw_format *raw(struct glv_format *f)
{
    return (struct raw_format *)f;
}

static int64_t raw_size(struct glv_format *f)
{
    return __atomic_load_n(&raw(f)->size, __ATOMIC_ACQUIRE);
}

static int raw_preadv(struct glv_format *f, const struct iovec *iov, int iovcnt, uint64_t offset)
{
    return f->storage->ops->preadv(f->storage, iov, iovcnt, offset);
}

static int raw_pwritev(struct glv_format *f, const struct iovec *iov, int iovcnt,
                       uint64_t offset)
{
    return f->storage->ops->pwritev(f->storage, iov, iovcnt, offset);
}

static int raw_flush(struct glv_format *f)
{
    return f->storage->ops->flush(f->storage);
}

static int raw_discard(struct glv_format *f, uint64_t offset, uint64_t length)
{
    return f->storage->ops->discard(f->storage, offset, length);
}

static int raw_write_zeroes(struct glv_format *f, uint64_t offset, uint64_t length,
                            unsigned flags)
{
    return f->storage->ops->write_zeroes(f->storage, offset, length, flags);
}

static int raw_truncate(struct glv_format *f, uint64_t size)
{
    if (f->storage->ops->truncate(f->storage, size) < 0)
        return -1;
    __atomic_store_n(&raw(f)->size, (int64_t)size, __ATOMIC_RELEASE);
    return 0;
}

/* Holes in the file read as zeros; asking costs a seek, so a caller that
 * must not wait (cached_only) is told it is all data. */
static int raw_map(struct glv_format *f, uint64_t offset, uint64_t length, int cached_only,
                   struct glv_mapping *m)
{
    struct glv_storage *s = f->storage;
    int data = 1;
    uint64_t run = length;

    if (!cached_only && s->ops->extent && s->ops->extent(s, offset, length, &data, &run) < 0)
        return -1;
    m->kind = data ? GLV_MAP_DATA : GLV_MAP_ZERO;
    m->length = run;
    m->host = s;
    m->host_offset = offset;
    return 0;
}

static void raw_close(struct glv_format *f)
{
    free(f);
}

static const struct glv_format_ops raw_ops = {
    .name = "raw",
    .size = raw_size,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .truncate = raw_truncate,
    .close = raw_close,
    .map = raw_map,
};

struct glv_format *glv_format_raw_open(struct glv_storage *storage)
{
    struct raw_format *r = calloc(1, sizeof *r);

    if (!r) {
        glv_set_oom();
        return NULL;
    }
    r->base.ops = &raw_ops;
    r->base.storage = storage;
    if ((r->size = storage->ops->size(storage)) < 0) {
        free(r);
        return NULL;
    }
    return &r->base;
}

int glv_format_is_raw(const struct glv_format *f)
{
    return f->ops == &raw_ops;
}
